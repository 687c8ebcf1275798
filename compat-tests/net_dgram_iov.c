// readv(2)/writev(2) on datagram sockets take one datagram across all the buffers (Linux's
// sock_read_iter/sock_write_iter), on AF_UNIX and UDP; readv with no buffers takes nothing;
// sendto(2) with an address of length 0 is a send without one on AF_UNIX (connected) and
// EINVAL on UDP.
#include "tst_net.h"

#include <sys/uio.h>

static void check_iov(const char *what, int tx, int rx)
{
	char a[] = "abc", b[] = "defgh", c[] = "second", x[2], y[16];
	struct iovec w[2] = { { a, 3 }, { b, 5 } };
	struct iovec r[2] = { { x, 2 }, { y, sizeof(y) } };
	ssize_t n;

	n = writev(tx, w, 2);
	tst_checkf(n == 8, "%s: writev of 3+5 bytes sends 8 (got %zd)", what, n);
	n = write(tx, c, 6);
	tst_checkf(n == 6, "%s: a second datagram of 6 (got %zd)", what, n);
	n = readv(rx, r, 0);
	tst_checkf(n == 0, "%s: readv with no buffers returns 0 (got %zd)", what, n);
	n = readv(rx, r, 2);
	tst_checkf(n == 8 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cdefgh", 6) == 0,
		   "%s: readv into 2+16 bytes gets the first datagram whole (got %zd)", what, n);
	n = readv(rx, r, 2);
	tst_checkf(n == 6 && memcmp(x, "se", 2) == 0 && memcmp(y, "cond", 4) == 0,
		   "%s: the next readv gets the second datagram (got %zd)", what, n);
	n = recv(rx, y, sizeof(y), MSG_DONTWAIT);
	tst_libc_err("nothing left", n, errno, EAGAIN);
}

int main(void)
{
	int sv[2], u, v;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char one[4];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) {
		tfail("socketpair: %s", strerror(errno));
		return tst_exit();
	}
	check_iov("unix", sv[0], sv[1]);
	n = sendto(sv[0], "z", 1, 0, (struct sockaddr *)&a, 0);
	tst_checkf(n == 1, "unix: sendto with an address of length 0 sends (got %zd)", n);
	n = recv(sv[1], one, sizeof(one), MSG_DONTWAIT);
	tst_checkf(n == 1, "unix: and the peer gets it (got %zd)", n);

	u = socket(AF_INET, SOCK_DGRAM, 0);
	v = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || v < 0 || bind(v, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(v, (struct sockaddr *)&a, &alen) < 0 ||
	    connect(u, (struct sockaddr *)&a, sizeof(a)) < 0) {
		tfail("udp setup: %s", strerror(errno));
		return tst_exit();
	}
	check_iov("udp", u, v);
	n = sendto(u, "z", 1, 0, (struct sockaddr *)&a, 0);
	tst_libc_err("udp: sendto with an address of length 0", n, errno, EINVAL);
	return tst_exit();
}
