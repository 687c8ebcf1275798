// Pipe capacity and write atomicity: a new pipe holds 64 KiB (F_GETPIPE_SZ), then a
// non-blocking write is EAGAIN; reading one page makes room for one page. Writes of at most
// PIPE_BUF bytes are all or nothing: with 100 bytes of room in the last page, 60 bytes go in,
// 200 bytes are EAGAIN. F_SETPIPE_SZ rounds up to a power of two pages (0 -> 4096, 5000 ->
// 8192, 3 pages -> 4), refuses to shrink below the data held (EBUSY), and is EBADF on a file.
#include "tst_fd.h"

#include <fcntl.h>
#include <limits.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

static char page[65536];

static long fill(int fd)
{
	long total = 0, n;

	while ((n = write(fd, page, 4096)) > 0)
		total += n;
	return total;
}

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int main(void)
{
	int p[2], fd;
	char buf[8192];

	if (pipe2(p, O_NONBLOCK) != 0) {
		tfail("pipe2: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(fcntl(p[0], F_GETPIPE_SZ) == 65536 && fcntl(p[1], F_GETPIPE_SZ) == 65536,
		  "F_GETPIPE_SZ on both ends: 65536");
	tst_check(fill(p[1]) == 65536, "a new pipe holds exactly 64 KiB");
	TST_ERR("write to a full pipe", write(p[1], "x", 1), EAGAIN);
	tst_check(read(p[0], buf, 4096) == 4096, "read one page");
	tst_check(write(p[1], page, 4096) == 4096, "room for one page again");
	TST_ERR("and not a byte more", write(p[1], "x", 1), EAGAIN);
	drain(p[0]);

	tst_check(write(p[1], page, 65436) == 65436, "write 64 KiB - 100 at once");
	TST_ERR("200 bytes (<= PIPE_BUF) into 100 bytes of room: all or nothing",
		write(p[1], page, 200), EAGAIN);
	tst_check(write(p[1], page, 60) == 60, "60 bytes fit in the last page");
	tst_check(PIPE_BUF == 4096, "PIPE_BUF is 4096");
	drain(p[0]);

	tst_check(fcntl(p[1], F_SETPIPE_SZ, 0) == 4096, "F_SETPIPE_SZ 0 -> 4096");
	tst_check(fcntl(p[0], F_GETPIPE_SZ) == 4096, "seen from the other end");
	tst_check(fcntl(p[1], F_SETPIPE_SZ, 5000) == 8192, "F_SETPIPE_SZ 5000 -> 8192");
	tst_check(fcntl(p[1], F_SETPIPE_SZ, 3 * 4096) == 16384, "F_SETPIPE_SZ 3 pages -> 4");
	tst_check(fill(p[1]) == 16384, "the new size holds");
	TST_ERR("shrinking below the data held", fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
	tst_check(fcntl(p[1], F_SETPIPE_SZ, 65536) == 65536, "growing back to 64 KiB");
	tst_check(write(p[1], page, 4096) == 4096, "growing makes room");
	fd = open("/proc/self/exe", O_RDONLY);
	TST_ERR("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ), EBADF);
	TST_ERR("F_SETPIPE_SZ on a file", fcntl(fd, F_SETPIPE_SZ, 4096), EBADF);
	close(fd);
	close(p[0]);
	close(p[1]);
	return tst_exit();
}
