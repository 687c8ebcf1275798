// oxv-compare: stdout,stderr,status
//
// Interleaved writes to fd 1 and fd 2 through write(2), writev(2) and stdio
// arrive complete and in order on each stream; write/writev return the byte
// count; zero-length writes, a bad fd and bad iovec counts behave as on Linux.
#include "tst.h"

#include <limits.h>
#include <sys/uio.h>

static void check_write(int fd, const char *s, const char *what)
{
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);

	if (n == (ssize_t)len)
		tpass("%s returns its length %zu", what, len);
	else
		tfail("%s: returned %zd, want %zu", what, n, len);
}

int main(void)
{
	struct iovec iov[4];
	long ret;
	ssize_t n;
	int i;

	check_write(1, "out: 1 via write\n", "write(1)");
	check_write(2, "err: 1 via write\n", "write(2)");

	iov[0].iov_base = "out: 2 ";
	iov[0].iov_len = 7;
	iov[1].iov_base = "(unused)";
	iov[1].iov_len = 0;
	iov[2].iov_base = "via ";
	iov[2].iov_len = 4;
	iov[3].iov_base = "writev\n";
	iov[3].iov_len = 7;
	n = writev(1, iov, 4);
	if (n == 18)
		tpass("writev(1) with a zero-length iovec returns 18");
	else
		tfail("writev(1): returned %zd, want 18", n);

	iov[0].iov_base = "err: 2 ";
	iov[2].iov_base = "via ";
	iov[3].iov_base = "writev\n";
	n = writev(2, iov, 4);
	if (n == 18)
		tpass("writev(2) with a zero-length iovec returns 18");
	else
		tfail("writev(2): returned %zd, want 18", n);

	for (i = 3; i <= 6; i++) {
		printf("out: %d via printf\n", i);
		fflush(stdout);
		fprintf(stderr, "err: %d via fprintf (stderr is unbuffered)\n", i);
	}

	/* A long line, larger than any small console buffer. */
	for (i = 0; i < 3000; i++)
		fputc('a' + i % 26, stderr);
	fputc('\n', stderr);
	for (i = 0; i < 3000; i++)
		putchar('z' - i % 26);
	putchar('\n');
	fflush(stdout);

	tst_check(write(1, "", 0) == 0, "write(1, buf, 0) returns 0");
	tst_check(write(2, "", 0) == 0, "write(2, buf, 0) returns 0");
	ret = sys3(SYS_writev, 1, iov, 0);
	tst_check(ret == 0, "writev(1, iov, 0) returns 0");
	tst_raw_err("write(99) on a closed fd", sys3(SYS_write, 99, "x", 1), EBADF);
	tst_raw_err("write(-1)", sys3(SYS_write, -1, "x", 1), EBADF);
	tst_raw_err("writev(1, iov, IOV_MAX + 1)", sys3(SYS_writev, 1, iov, IOV_MAX + 1), EINVAL);
	tst_raw_err("writev(1, iov, -1)", sys3(SYS_writev, 1, iov, -1), EINVAL);

	fputs("err: last line\n", stderr);
	return tst_exit();
}
