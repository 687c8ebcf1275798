// close_range(2): closes every open fd in [first, last] (~0U: all the rest), leaving fds
// outside alone; CLOSE_RANGE_CLOEXEC only marks them close-on-exec; first > last and unknown
// flags are EINVAL; a range with nothing open is fine.
#include "tst_fd.h"

#include <fcntl.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

int main(void)
{
	int base = dup(0), i;

	for (i = 1; i < 6; i++)
		dup2(base, base + i);
	tst_check(sys3(SYS_close_range, base + 1, base + 2, 0) == 0, "close_range(b+1, b+2)");
	tst_check(is_open(base) && !is_open(base + 1) && !is_open(base + 2) && is_open(base + 3),
		  "exactly those two are closed");
	tst_check(sys3(SYS_close_range, base + 4, ~0U, CLOSE_RANGE_CLOEXEC) == 0,
		  "CLOSE_RANGE_CLOEXEC to the end");
	tst_check(is_open(base + 4) && fcntl(base + 4, F_GETFD) == FD_CLOEXEC &&
			  fcntl(base + 5, F_GETFD) == FD_CLOEXEC && fcntl(base + 3, F_GETFD) == 0,
		  "they stay open, marked close-on-exec");
	TST_RAW("first > last", sys3(SYS_close_range, 10, 5, 0), EINVAL);
	TST_RAW("unknown flag 1", sys3(SYS_close_range, base, base, 1), EINVAL);
	tst_check(sys3(SYS_close_range, 900, 1000, 0) == 0, "a range with nothing open");
	tst_check(sys3(SYS_close_range, base, ~0U, 0) == 0, "close everything from base");
	tst_check(!is_open(base) && !is_open(base + 5) && is_open(0) && is_open(2),
		  "all closed, fds 0-2 untouched");
	return tst_exit();
}
