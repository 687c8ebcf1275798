// SCM_RIGHTS over a Unix socketpair: a pipe's write end and an open file sent in one
// message arrive as new fds in the receiver (their own fd numbers, the same open files: the
// file offset is shared); MSG_CMSG_CLOEXEC marks them close-on-exec; a control buffer with
// room for one fd of two gets one, MSG_CTRUNC, and the other is closed; a closed fd in the
// message is EBADF; on an AF_INET socket SCM_RIGHTS is ignored (Linux keeps it for AF_UNIX).
#include "tst_net.h"

#include <fcntl.h>

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { "F", 1 };
	struct msghdr m;
	struct cmsghdr *c;

	memset(&m, 0, sizeof(m));
	memset(cbuf, 0, sizeof(cbuf));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(sock, &m, 0);
}

/* Receives into fds; returns how many arrived, or -1; *flags gets msg_flags. */
static int recv_fds(int sock, int *fds, size_t room, int rflags, int *flags)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], data[4];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m;
	struct cmsghdr *c;
	int n = 0;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = room;
	if (recvmsg(sock, &m, rflags) != 1)
		return -1;
	*flags = m.msg_flags;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		}
	}
	return n;
}

int main(void)
{
	char path[64], buf[16];
	int sv[2], p[2], f, fds[2], got[4] = { -1, -1, -1, -1 }, flags = 0, n, in;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(p);
	snprintf(path, sizeof(path), "/tmp/oxv-net-scm-%d", (int)getpid());
	f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	write(f, "0123456789", 10);
	lseek(f, 2, SEEK_SET);

	fds[0] = p[1];
	fds[1] = f;
	tst_check(send_fds(sv[0], fds, 2) == 1, "sendmsg with two fds");
	n = recv_fds(sv[1], got, CMSG_SPACE(2 * sizeof(int)), MSG_CMSG_CLOEXEC, &flags);
	tst_check(n == 2 && !(flags & MSG_CTRUNC), "both fds arrive");
	tst_check(n == 2 && got[0] != p[1] && got[1] != f && got[0] >= 0 && got[1] >= 0,
		  "as new fd numbers");
	tst_check(n == 2 && (fcntl(got[0], F_GETFD) & FD_CLOEXEC) &&
			  (fcntl(got[1], F_GETFD) & FD_CLOEXEC), "MSG_CMSG_CLOEXEC");
	tst_check(write(got[0], "via", 3) == 3 && read(p[0], buf, sizeof(buf)) == 3 &&
			  memcmp(buf, "via", 3) == 0, "the received pipe end writes into the pipe");
	tst_check(read(got[1], buf, 3) == 3 && memcmp(buf, "234", 3) == 0,
		  "the received file shares the offset (reads from 2)");
	tst_check(lseek(f, 0, SEEK_CUR) == 5, "and moves the sender's offset");
	close(got[0]);
	close(got[1]);

	tst_check(send_fds(sv[0], fds, 2) == 1, "send two again");
	got[0] = got[1] = -1;
	n = recv_fds(sv[1], got, CMSG_LEN(sizeof(int)), 0, &flags);
	tst_check(n == 1 && (flags & MSG_CTRUNC), "room for one: one fd and MSG_CTRUNC");
	tst_check(n == 1 && !(fcntl(got[0], F_GETFD) & FD_CLOEXEC), "no CLOEXEC without the flag");
	close(got[0]);
	close(p[1]);
	tst_check(read(p[0], buf, sizeof(buf)) == 0,
		  "the fd that did not fit was closed: the pipe has no writer left");

	in = p[1];
	NET_ERR("a closed fd in SCM_RIGHTS", send_fds(sv[0], &in, 1), EBADF);
	{
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = lo4(9);

		connect(s, (struct sockaddr *)&a, sizeof(a));
		tst_check(send_fds(s, &in, 1) == 1, "SCM_RIGHTS on AF_INET is ignored");
		close(s);
	}
	close(f);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	unlink(path);
	return tst_exit();
}
