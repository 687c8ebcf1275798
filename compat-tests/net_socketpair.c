// socketpair(2) for AF_UNIX stream, datagram and seqpacket: both ends connected, unnamed
// (getsockname/getpeername give the family alone, recvfrom an empty address); a stream
// joins writes, a datagram or seqpacket socket keeps each message whole and truncates with
// MSG_TRUNC; closing one end gives the other end of file (stream, seqpacket) and EPIPE on
// send; SOCK_CLOEXEC/SOCK_NONBLOCK apply to both ends; SO_PEERCRED names this process;
// FIONREAD counts what is queued; AF_INET has no pairs (EOPNOTSUPP).
#include "tst_net.h"

#include <fcntl.h>
#include <sys/ioctl.h>

int main(void)
{
	struct sockaddr_un a;
	struct ucred cr;
	socklen_t len;
	char buf[32];
	int sv[2], n, avail = -1, type = -1;

	tst_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0,
		  "stream pair");
	tst_check((fcntl(sv[0], F_GETFD) & FD_CLOEXEC) && (fcntl(sv[1], F_GETFD) & FD_CLOEXEC),
		  "both ends close on exec");
	tst_check((fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[1], F_GETFL) & O_NONBLOCK),
		  "both ends non-blocking");
	len = sizeof(a);
	tst_check(getsockname(sv[0], (struct sockaddr *)&a, &len) == 0 &&
			  len == sizeof(sa_family_t) && a.sun_family == AF_UNIX,
		  "getsockname: unnamed");
	len = sizeof(a);
	tst_check(getpeername(sv[0], (struct sockaddr *)&a, &len) == 0 &&
			  len == sizeof(sa_family_t), "getpeername: unnamed");
	write(sv[0], "abc", 3);
	write(sv[0], "def", 3);
	tst_check(ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 6, "FIONREAD: 6 bytes queued");
	n = read(sv[1], buf, sizeof(buf));
	tst_check(n == 6 && memcmp(buf, "abcdef", 6) == 0, "a stream joins writes");
	NET_ERR("nothing left", read(sv[1], buf, sizeof(buf)), EAGAIN);
	len = sizeof(cr);
	tst_check(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
			  len == sizeof(cr) && cr.pid == getpid() && cr.uid == getuid() &&
			  cr.gid == getgid(), "SO_PEERCRED is this process");
	len = sizeof(type);
	tst_check(getsockopt(sv[1], SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
			  type == SOCK_STREAM, "SO_TYPE");
	close(sv[0]);
	tst_check(read(sv[1], buf, sizeof(buf)) == 0, "end of file once the peer is closed");
	NET_ERR("send to the closed peer", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	close(sv[1]);

	tst_check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "datagram pair");
	send(sv[0], "one", 3, 0);
	send(sv[0], "two!", 4, 0);
	tst_check(ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 3, "FIONREAD: the next datagram");
	len = sizeof(a);
	n = recvfrom(sv[1], buf, sizeof(buf), 0, (struct sockaddr *)&a, &len);
	tst_check(n == 3 && len == 0, "one datagram per read; the sender has no name");
	n = recv(sv[1], buf, 2, MSG_TRUNC);
	tst_check(n == 4 && memcmp(buf, "tw", 2) == 0, "MSG_TRUNC: the real length, the rest lost");
	NET_ERR("queue empty", recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	tst_check(send(sv[0], "", 0, 0) == 0 && recv(sv[1], buf, sizeof(buf), 0) == 0,
		  "an empty datagram");
	close(sv[0]);
	close(sv[1]);

	tst_check(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "seqpacket pair");
	send(sv[0], "rec1", 4, 0);
	send(sv[0], "record2", 7, 0);
	n = recv(sv[1], buf, sizeof(buf), 0);
	tst_check(n == 4 && memcmp(buf, "rec1", 4) == 0, "records keep their boundaries");
	{
		struct iovec iov = { buf, 3 };
		struct msghdr m;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		n = recvmsg(sv[1], &m, 0);
		tst_check(n == 3 && (m.msg_flags & MSG_TRUNC), "a short buffer truncates a record");
	}
	close(sv[0]);
	tst_check(recv(sv[1], buf, sizeof(buf), 0) == 0, "end of file after the peer closes");
	close(sv[1]);

	NET_ERR("AF_INET pair", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	NET_ERR("bad type flag", socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv), EINVAL);
	return tst_exit();
}
