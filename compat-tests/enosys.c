// A syscall number the kernel does not know returns -ENOSYS, raises no signal
// (no SIGSYS) and leaves the process running; the libc syscall(2) wrapper
// turns it into -1/ENOSYS. Numbers tried: 0x1ff (just below the x32 range
// 512-547), 1000, 4096, 0x7fffffff, and -1 (the register holds
// 0xffffffffffffffff). Not the gap 335-423: Linux 6.11+ put uretprobe at 335
// (SIGILL when called directly) and new syscalls may land there.
#include "tst.h"

static const struct {
	const char *name;
	long nr;
} numbers[] = {
	{ "0x1ff", 0x1ff }, { "1000", 1000 }, { "4096", 4096 }, { "0x7fffffff", 0x7fffffff },
	{ "-1", -1 },
};
#define NNUMBERS (sizeof(numbers) / sizeof(numbers[0]))

int main(void)
{
	char what[96];
	size_t i;
	long r;

	for (i = 0; i < NNUMBERS; i++) {
		snprintf(what, sizeof(what), "raw syscall %s", numbers[i].name);
		tst_raw_err(what, sys6(numbers[i].nr, 1, 2, 3, 4, 5, 6), ENOSYS);
	}
	for (i = 0; i < NNUMBERS; i++) {
		errno = 0;
		r = syscall(numbers[i].nr, 1, 2, 3);
		snprintf(what, sizeof(what), "libc syscall(%s)", numbers[i].name);
		tst_libc_err(what, r, errno, ENOSYS);
	}
	/* Arguments full of bad pointers change nothing. */
	tst_raw_err("raw syscall 1000 with pointer-like arguments",
		    sys6(1000, -1, (long)0xffff800000000000UL, 0, 1, -1, 0), ENOSYS);
	/* A known syscall still works afterwards. */
	tst_check(sys3(SYS_getpid, 0, 0, 0) > 0, "getpid works after the unknown syscalls");
	tpass("process survived every unknown syscall");
	return tst_exit();
}
