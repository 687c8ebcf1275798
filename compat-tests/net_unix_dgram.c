// AF_UNIX datagram sockets by path: a bound receiver gets each datagram whole with the
// sender's path as its address (an unbound sender has none: address length 0); a connected
// socket sends without an address; a socket connected to another may not be sent to by a
// third (EPERM); sending to a path with no socket is ECONNREFUSED, to a missing path ENOENT;
// SO_PASSCRED delivers the sender's credentials as SCM_CREDENTIALS.
#include "tst_net.h"

#include <stddef.h>

static socklen_t named(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void)
{
	struct sockaddr_un ra, sa, from;
	char rpath[64], spath[64], buf[32], cbuf[CMSG_SPACE(sizeof(struct ucred))];
	socklen_t rlen, slen, len;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m;
	struct cmsghdr *c;
	struct ucred cred;
	int r, s, anon, third, one = 1, n, got_cred = 0;

	snprintf(rpath, sizeof(rpath), "/tmp/oxv-net-dgr-%d", (int)getpid());
	snprintf(spath, sizeof(spath), "/tmp/oxv-net-dgs-%d", (int)getpid());
	rlen = named(&ra, rpath);
	slen = named(&sa, spath);
	r = socket(AF_UNIX, SOCK_DGRAM, 0);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	tst_check(bind(r, (struct sockaddr *)&ra, rlen) == 0, "bind the receiver");
	tst_check(bind(s, (struct sockaddr *)&sa, slen) == 0, "bind the sender");

	tst_check(sendto(s, "hello", 5, 0, (struct sockaddr *)&ra, rlen) == 5, "sendto a path");
	len = sizeof(from);
	n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	tst_check(n == 5 && len == slen && strcmp(from.sun_path, spath) == 0,
		  "received whole, from the sender's path");
	sendto(anon, "anon", 4, 0, (struct sockaddr *)&ra, rlen);
	len = sizeof(from);
	n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	tst_check(n == 4 && len == 0, "an unbound sender has no address");

	tst_check(connect(s, (struct sockaddr *)&ra, rlen) == 0, "connect the sender");
	tst_check(send(s, "again", 5, 0) == 5 && recv(r, buf, sizeof(buf), 0) == 5,
		  "send without an address");
	tst_check(connect(r, (struct sockaddr *)&sa, slen) == 0, "connect the receiver back");
	third = socket(AF_UNIX, SOCK_DGRAM, 0);
	NET_ERR("a third socket sends to it", sendto(third, "x", 1, 0, (struct sockaddr *)&ra, rlen),
		EPERM);

	setsockopt(r, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	send(s, "creds", 5, 0);
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	n = recvmsg(r, &m, 0);
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			got_cred = cred.pid == getpid() && cred.uid == getuid();
		}
	}
	tst_check(n == 5 && got_cred, "SO_PASSCRED: SCM_CREDENTIALS with our pid and uid");

	close(r);
	NET_ERR("sendto a path whose socket is closed",
		sendto(third, "x", 1, 0, (struct sockaddr *)&ra, rlen), ECONNREFUSED);
	unlink(rpath);
	NET_ERR("sendto a missing path", sendto(third, "x", 1, 0, (struct sockaddr *)&ra, rlen),
		ENOENT);
	close(s);
	close(anon);
	close(third);
	unlink(spath);
	return tst_exit();
}
