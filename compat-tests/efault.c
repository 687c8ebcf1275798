// oxv-file: data/read_file.txt
// oxv-args: @DATA@/read_file.txt
//
// A bad user pointer makes a syscall fail with EFAULT, nothing else happens
// and the process goes on (no signal, no crash). Pointers tried: NULL, 1 (an
// unmapped user page), the start of the kernel half 0xffff800000000000, and a
// non-canonical address; NULL is skipped where it means "no argument"
// (sigaction, sigprocmask, prlimit). Raw syscalls only, so libc never touches
// them. read(2) is tried on a file, not on stdin: on an empty pipe Linux
// returns 0 before it touches the buffer.
#include "tst.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>

static const struct {
	const char *name;
	long addr;
} bad[] = {
	{ "NULL", 0 },
	{ "(void *)1", 1 },
	{ "kernel 0xffff800000000000", (long)0xffff800000000000UL },
	{ "non-canonical 0x8000000000000000", (long)0x8000000000000000UL },
};
#define NBAD (sizeof(bad) / sizeof(bad[0]))

int main(int argc, char **argv)
{
	char what[160];
	char buf[64];
	struct iovec iov;
	size_t i;
	int fd;

	if (argc != 2) {
		tfail("usage: efault FILE");
		return tst_exit();
	}
	fd = open(argv[1], O_RDONLY);
	tst_check(fd >= 0, "open the data file");

	for (i = 0; i < NBAD; i++) {
		long p = bad[i].addr;
		const char *n = bad[i].name;

#define EXPECT(call, ...)                                                 \
	do {                                                              \
		snprintf(what, sizeof(what), call, n);                    \
		tst_raw_err(what, __VA_ARGS__, EFAULT);                   \
	} while (0)

		EXPECT("write(1, %s, 10)", sys3(SYS_write, 1, p, 10));
		EXPECT("read(file, %s, 10)", sys3(SYS_read, fd, p, 10));
		EXPECT("pread64(file, %s, 10, 0)", sys4(SYS_pread64, fd, p, 10, 0));
		EXPECT("writev(1, iov = %s, 1)", sys3(SYS_writev, 1, p, 1));
		EXPECT("readv(file, iov = %s, 1)", sys3(SYS_readv, fd, p, 1));
		iov.iov_base = (void *)p;
		iov.iov_len = 10;
		EXPECT("writev(1, {%s, 10}, 1)", sys3(SYS_writev, 1, &iov, 1));
		EXPECT("readv(file, {%s, 10}, 1)", sys3(SYS_readv, fd, &iov, 1));
		EXPECT("openat(AT_FDCWD, path = %s)", sys4(SYS_openat, AT_FDCWD, p, O_RDONLY, 0));
		EXPECT("clock_gettime(MONOTONIC, %s)", sys3(SYS_clock_gettime, CLOCK_MONOTONIC, p, 0));
		EXPECT("uname(%s)", sys3(SYS_uname, p, 0, 0));
		EXPECT("fstat(1, %s)", sys3(SYS_fstat, 1, p, 0));
		EXPECT("fstat(file, %s)", sys3(SYS_fstat, fd, p, 0));
		EXPECT("newfstatat(AT_FDCWD, path = %s)", sys4(SYS_newfstatat, AT_FDCWD, p, buf, 0));
		EXPECT("getcwd(%s, 64)", sys3(SYS_getcwd, p, 64, 0));
		EXPECT("readlinkat(/proc/self/exe, buf = %s)",
		       sys4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", p, 64));
		EXPECT("getrandom(%s, 16, 0)", sys3(SYS_getrandom, p, 16, 0));
		EXPECT("sched_getaffinity(0, 128, %s)", sys3(SYS_sched_getaffinity, 0, 128, p));
		EXPECT("poll(%s, 1, 0)", sys3(SYS_poll, p, 1, 0));
		if (p == 0)
			continue; /* For the calls below NULL means "no argument". */
		EXPECT("rt_sigaction(SIGUSR1, act = %s)", sys4(SYS_rt_sigaction, SIGUSR1, p, 0, 8));
		EXPECT("rt_sigaction(SIGUSR1, NULL, oldact = %s)",
		       sys4(SYS_rt_sigaction, SIGUSR1, 0, p, 8));
		EXPECT("rt_sigprocmask(SIG_BLOCK, set = %s)", sys4(SYS_rt_sigprocmask, SIG_BLOCK, p, 0, 8));
		EXPECT("rt_sigprocmask(SIG_BLOCK, NULL, old = %s)",
		       sys4(SYS_rt_sigprocmask, SIG_BLOCK, 0, p, 8));
		EXPECT("prlimit64(0, RLIMIT_STACK, NULL, old = %s)",
		       sys4(SYS_prlimit64, 0, RLIMIT_STACK, 0, p));
#undef EXPECT
	}

	/* Nothing above may have written to stdout or changed the file offset. */
	tst_check(lseek(fd, 0, SEEK_CUR) == 0, "failed reads left the file offset at 0");
	tst_check(read(fd, buf, 5) == 5 && memcmp(buf, "line ", 5) == 0,
		  "the file still reads normally");
	tst_check(close(fd) == 0, "close the data file");
	tpass("process survived every bad pointer");
	return tst_exit();
}
