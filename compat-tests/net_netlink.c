// Route netlink as libc uses it: a NETLINK_ROUTE socket bound with port id 0 gets the
// process id (the first one does); an RTM_GETLINK dump lists lo with IFF_LOOPBACK and ends
// with NLMSG_DONE carrying our sequence number; getifaddrs(3) reports lo with 127.0.0.1/8
// (and ::1 when the host has IPv6), if_nametoindex/if_indextoname agree on lo, and
// if_nameindex(3) lists it. Other interfaces differ between host and guest and are not shown.
#include "tst_net.h"

#include <ifaddrs.h>
#include <net/if.h>

struct nlmsg {
	unsigned len;
	unsigned short type, flags;
	unsigned seq, pid;
};

struct ifinfo {
	unsigned char family, pad;
	unsigned short type;
	int index;
	unsigned flags, change;
};

_Static_assert(sizeof(struct nlmsg) == 16, "struct nlmsghdr");
_Static_assert(sizeof(struct ifinfo) == 16, "struct ifinfomsg");

#define NL_ROUTE 0
#define RTM_NEWLINK_ 16
#define RTM_GETLINK_ 18
#define DONE 3
#define F_REQUEST 1
#define F_DUMP 0x300

struct sockaddr_nl_ {
	unsigned short family, pad;
	unsigned pid, groups;
};

int main(void)
{
	static char buf[65536];
	struct {
		struct nlmsg h;
		struct ifinfo i;
	} req;
	struct sockaddr_nl_ sa = { AF_NETLINK, 0, 0, 0 };
	socklen_t len = sizeof(sa);
	struct ifaddrs *ifa, *i;
	struct if_nameindex *ni, *n;
	int fd, got, saw_lo = 0, saw_done = 0, v4 = 0, v6 = 0, pkt = 0, off, idx, listed = 0;
	char name[IF_NAMESIZE];

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NL_ROUTE);
	tst_check(fd >= 0, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)");
	tst_check(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind with port id 0");
	tst_check(getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && len == sizeof(sa) &&
			  sa.family == AF_NETLINK && sa.pid == (unsigned)getpid(),
		  "the port id is the process id");
	memset(&req, 0, sizeof(req));
	req.h.len = sizeof(req);
	req.h.type = RTM_GETLINK_;
	req.h.flags = F_REQUEST | F_DUMP;
	req.h.seq = 4242;
	tst_check(send(fd, &req, sizeof(req), 0) == sizeof(req), "RTM_GETLINK dump request");
	while (!saw_done && (got = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (off = 0; off + 16 <= got;) {
			struct nlmsg *h = (struct nlmsg *)(buf + off);
			struct ifinfo *info = (struct ifinfo *)(h + 1);

			if (h->len < 16 || off + h->len > (unsigned)got)
				break;
			if (h->type == DONE && h->seq == 4242)
				saw_done = 1;
			if (h->type == RTM_NEWLINK_ && (info->flags & IFF_LOOPBACK) &&
			    (info->flags & IFF_UP) && h->seq == 4242 && h->pid == sa.pid)
				saw_lo = 1;
			off += (h->len + 3) & ~3u;
		}
	}
	tst_check(saw_lo, "the dump lists an up loopback interface");
	tst_check(saw_done, "and ends with NLMSG_DONE");
	close(fd);

	tst_check(getifaddrs(&ifa) == 0, "getifaddrs");
	for (i = ifa; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
			struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;

			v4 = a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && m &&
			     m->sin_addr.s_addr == htonl(0xff000000) &&
			     (i->ifa_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK);
		}
		if (i->ifa_addr->sa_family == AF_INET6)
			v6 = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
		if (i->ifa_addr->sa_family == 17 /* AF_PACKET */)
			pkt = 1;
	}
	freeifaddrs(ifa);
	tst_check(v4, "lo has 127.0.0.1 with netmask 255.0.0.0, up, loopback");
	tst_check(pkt, "lo has a link-level (AF_PACKET) entry");
	(void)v6;
	idx = if_nametoindex("lo");
	tst_check(idx > 0, "if_nametoindex(lo)");
	tst_check(if_indextoname(idx, name) && strcmp(name, "lo") == 0, "if_indextoname back");
	ni = if_nameindex();
	for (n = ni; n && n->if_index; n++)
		listed += strcmp(n->if_name, "lo") == 0 && (int)n->if_index == idx;
	if_freenameindex(ni);
	tst_check(listed == 1, "if_nameindex lists lo once");
	NET_ERR("NETLINK_ROUTE as SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, NL_ROUTE),
		ESOCKTNOSUPPORT);
	return tst_exit();
}
