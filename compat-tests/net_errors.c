// The socket calls' error cases, in Linux's order: socket(2) with an unknown family
// (EAFNOSUPPORT), unknown type flags (EINVAL), a type the family lacks (ESOCKTNOSUPPORT), a
// protocol the type lacks (EPROTONOSUPPORT); calls on a non-socket fd (ENOTSOCK) and a
// closed one (EBADF); address lengths (EINVAL) and families (EAFNOSUPPORT); listen on UDP
// (EOPNOTSUPP), accept on a socket that does not listen (EINVAL), accept4 flags (EINVAL);
// socket options: SO_TYPE/SO_DOMAIN/SO_PROTOCOL/SO_ACCEPTCONN read back, an unknown option
// is ENOPROTOOPT, a short value EINVAL, the read-only ones ENOPROTOOPT on set; SO_RCVBUF is
// doubled; SO_RCVTIMEO makes a blocking recv fail with EAGAIN; TCP_NODELAY reads back.
#include "tst_net.h"

#include <sys/time.h>

static int get_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) != 0 || len != sizeof(v))
		return -12345;
	return v;
}

int main(void)
{
	struct sockaddr_in a = lo4(0);
	struct sockaddr_in6 a6 = lo6(0);
	struct timeval tv = { 0, 40000 }, got_tv;
	socklen_t len;
	char buf[8];
	int t, u, fd, p[2], one = 1, v;

	NET_ERR("socket(AF_APPLETALK)", socket(5, SOCK_STREAM, 0), EAFNOSUPPORT);
	NET_ERR("socket(4242)", socket(4242, SOCK_STREAM, 0), EAFNOSUPPORT);
	NET_ERR("unknown type flag", socket(AF_INET, SOCK_STREAM | 0x100, 0), EINVAL);
	NET_ERR("AF_INET SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	NET_ERR("SOCK_STREAM with IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP),
		EPROTONOSUPPORT);
	NET_ERR("SOCK_DGRAM with IPPROTO_TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP),
		EPROTONOSUPPORT);
	NET_ERR("AF_UNIX protocol 7", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);

	t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	tst_check(t >= 0 && u >= 0, "TCP and UDP sockets");
	pipe(p);
	NET_ERR("bind on a pipe", bind(p[0], (struct sockaddr *)&a, sizeof(a)), ENOTSOCK);
	NET_ERR("listen on a pipe", listen(p[0], 1), ENOTSOCK);
	NET_ERR("getsockopt on a pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &len), ENOTSOCK);
	NET_ERR("connect on fd 999", connect(999, (struct sockaddr *)&a, sizeof(a)), EBADF);
	NET_ERR("bind with addrlen 15", bind(t, (struct sockaddr *)&a, 15), EINVAL);
	NET_ERR("bind with addrlen -1", bind(t, (struct sockaddr *)&a, -1), EINVAL);
	NET_ERR("bind with addrlen 129", bind(t, (struct sockaddr *)&a, 129), EINVAL);
	NET_ERR("bind AF_INET6 address to AF_INET", bind(t, (struct sockaddr *)&a6, sizeof(a6)),
		EAFNOSUPPORT);
	NET_ERR("bind to a foreign address", bind(u, (struct sockaddr *)&(struct sockaddr_in){
		.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201) }, sizeof(a)),
		EADDRNOTAVAIL);
	NET_ERR("connect with addrlen 0", connect(t, (struct sockaddr *)&a, 0), EINVAL);
	NET_ERR("listen on UDP", listen(u, 1), EOPNOTSUPP);
	NET_ERR("accept on a socket that does not listen", accept(t, NULL, NULL), EINVAL);
	NET_ERR("accept4 with a bad flag", accept4(t, NULL, NULL, 0x1), EINVAL);
	NET_ERR("recv on unconnected TCP", recv(t, buf, sizeof(buf), MSG_DONTWAIT), ENOTCONN);
	len = sizeof(a);
	NET_ERR("getpeername on unconnected TCP", getpeername(t, (struct sockaddr *)&a, &len),
		ENOTCONN);

	tst_check(get_int(t, SOL_SOCKET, SO_TYPE) == SOCK_STREAM, "SO_TYPE stream");
	tst_check(get_int(u, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM, "SO_TYPE dgram");
	tst_check(get_int(t, SOL_SOCKET, SO_DOMAIN) == AF_INET, "SO_DOMAIN");
	tst_check(get_int(t, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP, "SO_PROTOCOL tcp");
	tst_check(get_int(u, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDP, "SO_PROTOCOL udp");
	tst_check(get_int(t, SOL_SOCKET, SO_ACCEPTCONN) == 0, "SO_ACCEPTCONN 0");
	tst_check(get_int(t, SOL_SOCKET, SO_ERROR) == 0, "SO_ERROR 0");
	tst_check(get_int(t, SOL_SOCKET, SO_REUSEADDR) == 0, "SO_REUSEADDR off");
	tst_check(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
			  get_int(t, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR on");
	tst_check(setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0 &&
			  get_int(t, SOL_SOCKET, SO_KEEPALIVE) == 1, "SO_KEEPALIVE on");
	tst_check(setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
			  get_int(t, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY on");
	v = 10000;
	tst_check(setsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0 &&
			  get_int(u, SOL_SOCKET, SO_RCVBUF) == 20000, "SO_RCVBUF doubles");
	NET_ERR("unknown SOL_SOCKET option", setsockopt(t, SOL_SOCKET, 4242, &one, sizeof(one)),
		ENOPROTOOPT);
	NET_ERR("getsockopt unknown option", getsockopt(t, SOL_SOCKET, 4242, &v, &len),
		ENOPROTOOPT);
	NET_ERR("unknown TCP option", setsockopt(t, IPPROTO_TCP, 4242, &one, sizeof(one)),
		ENOPROTOOPT);
	NET_ERR("SO_REUSEADDR with optlen 2", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 2),
		EINVAL);
	NET_ERR("set SO_TYPE", setsockopt(t, SOL_SOCKET, SO_TYPE, &one, sizeof(one)), ENOPROTOOPT);
	NET_ERR("IPV6_V6ONLY on AF_INET", setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one,
						     sizeof(one)), ENOPROTOOPT);
	len = 2;
	v = 0;
	tst_check(getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && len == 2,
		  "getsockopt with a short buffer copies what fits");
	len = -1;
	NET_ERR("getsockopt optlen -1", getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	tst_check(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
		  "SO_RCVTIMEO 40 ms");
	len = sizeof(got_tv);
	tst_check(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got_tv, &len) == 0 &&
			  got_tv.tv_sec == 0 && got_tv.tv_usec == 40000, "reads back");
	NET_ERR("blocking recv times out", recv(fd, buf, sizeof(buf), 0), EAGAIN);
	tv.tv_usec = 1000000;
	NET_ERR("SO_RCVTIMEO usec out of range", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
							    sizeof(tv)), EDOM);
	close(fd);
	close(t);
	close(u);
	close(p[0]);
	close(p[1]);
	return tst_exit();
}
