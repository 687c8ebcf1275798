// tee(2) between two pipes: the bytes are copied, not consumed (at most len; each input pipe
// buffer becomes one output buffer, so a one-page output takes only the first buffer);
// 0 when the input is empty without writers; EAGAIN with SPLICE_F_NONBLOCK or O_NONBLOCK for
// an empty input or a full output; EPIPE without a reader. Errors: unknown flags EINVAL,
// len 0 returns 0 first, EBADF for a closed fd or the wrong ends, EINVAL for the same pipe
// twice or a file that is not a pipe.
#include "tst_fd.h"
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

#define F_NONBLOCK 2 /* SPLICE_F_NONBLOCK */

static long tee_(int in, int out, long len, long flags)
{
	return sys4(SYS_tee, in, out, len, flags);
}

static char page[4096];

int main(void)
{
	int a[2], b[2], c[2], fd;
	char buf[8192], path[96];

	signal(SIGPIPE, SIG_IGN);
	if (pipe(a) != 0 || pipe(b) != 0 || pipe2(c, O_NONBLOCK) != 0) {
		tfail("pipe: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(write(a[1], "hello", 5) == 5, "write 5 bytes to the input");
	tst_check(tee_(a[0], b[1], 100, 0) == 5, "tee: 5");
	tst_check(read(b[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0,
		  "the output has them");
	tst_check(tee_(a[0], b[1], 3, 0) == 3, "tee len 3: 3");
	tst_check(read(b[0], buf, sizeof(buf)) == 3 && memcmp(buf, "hel", 3) == 0,
		  "the first 3 bytes");
	tst_check(read(a[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0,
		  "the input still has all 5");

	TST_RAW("empty input, SPLICE_F_NONBLOCK", tee_(a[0], b[1], 10, F_NONBLOCK), EAGAIN);
	TST_RAW("empty O_NONBLOCK input", tee_(c[0], b[1], 10, 0), EAGAIN);

	/* Buffer by buffer: 10 bytes, then a page; a one-page output takes the first. */
	tst_check(write(a[1], "0123456789", 10) == 10 && write(a[1], page, 4096) == 4096,
		  "10 bytes, then 4096");
	tst_check(fcntl(b[1], F_SETPIPE_SZ, 4096) == 4096, "a one-page output");
	tst_check(tee_(a[0], b[1], 10000, 0) == 10, "tee takes one buffer: 10");
	TST_RAW("the output is full, SPLICE_F_NONBLOCK", tee_(a[0], b[1], 10000, F_NONBLOCK),
		EAGAIN);
	fcntl(b[1], F_SETFL, O_NONBLOCK);
	TST_ERR("a write to the full output", write(b[1], "x", 1), EAGAIN);
	TST_RAW("tee into the full O_NONBLOCK output", tee_(a[0], b[1], 10000, 0), EAGAIN);
	fcntl(b[1], F_SETFL, 0);
	tst_check(read(b[0], buf, sizeof(buf)) == 10 && memcmp(buf, "0123456789", 10) == 0,
		  "the output has the 10 bytes");
	tst_check(read(a[0], buf, sizeof(buf)) == 4106, "the input still has 4106");

	/* Errors. */
	TST_RAW("unknown flag", tee_(a[0], b[1], 1, 0x10), EINVAL);
	tst_check(tee_(-1, -1, 0, 0) == 0, "len 0 returns 0 before the fds");
	TST_RAW("closed fd", tee_(-1, b[1], 1, 0), EBADF);
	TST_RAW("write end as input", tee_(a[1], b[1], 1, 0), EBADF);
	TST_RAW("read end as output", tee_(a[0], b[0], 1, 0), EBADF);
	TST_RAW("the same pipe", tee_(a[0], a[1], 1, 0), EINVAL);
	tst_tmp_path(path, sizeof(path), "tee");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TST_RAW("a file as output", tee_(a[0], fd, 1, 0), EINVAL);
	close(fd);
	unlink(path);

	tst_check(write(a[1], "z", 1) == 1, "one more byte");
	close(b[0]);
	TST_RAW("an output without reader", tee_(a[0], b[1], 1, 0), EPIPE);
	close(a[1]);
	tst_check(read(a[0], buf, sizeof(buf)) == 1, "drain the input");
	tst_check(tee_(a[0], c[1], 1, 0) == 0, "an empty input without writer: 0");
	return tst_exit();
}
