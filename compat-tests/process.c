// The per-process state every libc and language runtime sets up or queries
// at startup: getcwd (the runner starts tests in "/"), readlink of
// /proc/self/exe, prlimit64, sched_getaffinity, arch_prctl(ARCH_GET_FS),
// set_tid_address, set_robust_list, rt_sigaction, rt_sigprocmask and
// sigaltstack (state only: no signal is raised here). Values are asserted,
// never printed, except ones Linux fixes ("/").
#include "tst.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

#define OXV_ARCH_SET_FS 0x1002
#define OXV_ARCH_GET_FS 0x1003

static void on_usr1(int sig)
{
	(void)sig;
}

static void check_cwd(void)
{
	char buf[64];
	long r;

	if (getcwd(buf, sizeof(buf)) && strcmp(buf, "/") == 0)
		tpass("getcwd() == \"/\"");
	else
		tfail("getcwd(): not \"/\"");
	r = sys3(SYS_getcwd, buf, sizeof(buf), 0);
	tst_check(r == 2 && strcmp(buf, "/") == 0, "raw getcwd returns 2 (length with the NUL)");
	tst_raw_err("getcwd with size 1", sys3(SYS_getcwd, buf, 1, 0), ERANGE);
	tst_raw_err("getcwd with size 0", sys3(SYS_getcwd, buf, 0, 0), ERANGE);
}

static void check_self_exe(const char *argv0)
{
	char buf[4096];
	const char *base = strrchr(argv0, '/');
	long n;

	memset(buf, 'Z', sizeof(buf));
	n = sys4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, sizeof(buf) - 1);
	tst_check(n > 1 && buf[0] == '/', "readlink(/proc/self/exe) is an absolute path");
	tst_check(n > 0 && n < (long)sizeof(buf) - 1 && buf[n] == 'Z',
		  "readlink does not NUL-terminate");
	if (n > 0 && base) {
		buf[n] = '\0';
		tst_check(strcmp(strrchr(buf, '/'), base) == 0,
			  "/proc/self/exe has the basename of argv[0]");
	}
	n = sys4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, 4);
	tst_check(n == 4, "readlink into a 4-byte buffer truncates to 4");
	tst_raw_err("readlink with bufsiz 0",
		    sys4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, 0), EINVAL);
}

static void check_rlimits(void)
{
	struct rlimit lim, raw;
	long r;

	r = sys4(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &raw);
	tst_check(r == 0 && raw.rlim_cur > 0 && raw.rlim_cur <= raw.rlim_max,
		  "prlimit64(RLIMIT_STACK): 0 < cur <= max");
	tst_check(getrlimit(RLIMIT_STACK, &lim) == 0 && lim.rlim_cur == raw.rlim_cur &&
			  lim.rlim_max == raw.rlim_max,
		  "getrlimit(RLIMIT_STACK) agrees with prlimit64");
	r = sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &raw);
	tst_check(r == 0 && raw.rlim_cur >= 3 && raw.rlim_cur <= raw.rlim_max,
		  "prlimit64(RLIMIT_NOFILE): 3 <= cur <= max");
	tst_raw_err("prlimit64 of resource 1000", sys4(SYS_prlimit64, 0, 1000, NULL, &raw), EINVAL);
}

static void check_affinity(void)
{
	unsigned long mask[16];
	cpu_set_t set;
	long r;
	int bits = 0;
	size_t i;

	memset(mask, 0, sizeof(mask));
	r = sys3(SYS_sched_getaffinity, 0, sizeof(mask), mask);
	tst_check(r > 0 && r <= (long)sizeof(mask) && r % 8 == 0,
		  "sched_getaffinity returns a size in bytes, a multiple of 8");
	for (i = 0; i < sizeof(mask) / sizeof(mask[0]); i++)
		bits += __builtin_popcountl(mask[i]);
	tst_check(bits >= 1, "the affinity mask has at least one CPU");
	CPU_ZERO(&set);
	tst_check(sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == bits,
		  "libc sched_getaffinity agrees");
	tst_raw_err("sched_getaffinity with size 1", sys3(SYS_sched_getaffinity, 0, 1, mask),
		    EINVAL);
}

static void check_tls_and_tid(void)
{
	uintptr_t fs = 0, self;
	int tid_word = 0;
	struct {
		void *next;
		long futex_offset;
		void *pending;
	} head;
	long r;

	r = sys3(SYS_arch_prctl, OXV_ARCH_GET_FS, &fs, 0);
	/* glibc and musl both keep the thread pointer itself at %fs:0. */
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	tst_check(r == 0 && fs != 0 && fs == self, "arch_prctl(ARCH_GET_FS) == the TLS self pointer");
	tst_raw_err("arch_prctl(ARCH_GET_FS, NULL)", sys3(SYS_arch_prctl, OXV_ARCH_GET_FS, 0, 0),
		    EFAULT);
	tst_raw_err("arch_prctl with code 0x9999", sys3(SYS_arch_prctl, 0x9999, &fs, 0), EINVAL);
	tst_check(sys3(SYS_arch_prctl, OXV_ARCH_SET_FS, fs, 0) == 0,
		  "arch_prctl(ARCH_SET_FS) with the same base");

	r = sys3(SYS_set_tid_address, &tid_word, 0, 0);
	tst_check(r == sys3(SYS_gettid, 0, 0, 0), "set_tid_address returns the tid");

	head.next = &head;
	head.futex_offset = 0;
	head.pending = NULL;
	tst_check(sys3(SYS_set_robust_list, &head, sizeof(head), 0) == 0,
		  "set_robust_list with a 24-byte head");
	tst_raw_err("set_robust_list with length 23", sys3(SYS_set_robust_list, &head, 23, 0),
		    EINVAL);
}

static void check_sigaction(void)
{
	struct sigaction sa, old;
	long r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	memset(&old, 0x55, sizeof(old));
	tst_check(sigaction(SIGUSR1, &sa, &old) == 0, "sigaction(SIGUSR1, handler)");
	tst_check(old.sa_handler == SIG_DFL, "the old SIGUSR1 action was SIG_DFL");
	memset(&old, 0, sizeof(old));
	tst_check(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == on_usr1 &&
			  (old.sa_flags & SA_RESTART) && sigismember(&old.sa_mask, SIGUSR2) &&
			  !sigismember(&old.sa_mask, SIGINT),
		  "sigaction reads back the handler, SA_RESTART and the mask");
	sa.sa_handler = SIG_DFL;
	tst_check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction(SIGUSR1, SIG_DFL)");

	r = sigaction(SIGKILL, &sa, NULL);
	tst_libc_err("sigaction(SIGKILL)", r, errno, EINVAL);
	r = sigaction(SIGSTOP, &sa, NULL);
	tst_libc_err("sigaction(SIGSTOP)", r, errno, EINVAL);
	tst_raw_err("rt_sigaction(0)", sys4(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL);
	tst_raw_err("rt_sigaction(65)", sys4(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL);
	tst_raw_err("rt_sigaction with sigsetsize 4",
		    sys4(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);
}

static void check_sigprocmask(void)
{
	uint64_t set, old, cur;
	const uint64_t usr1 = 1ULL << (SIGUSR1 - 1), kill = 1ULL << (SIGKILL - 1),
		       stop = 1ULL << (SIGSTOP - 1);

	tst_check(sys4(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &old, 8) == 0,
		  "rt_sigprocmask reads the mask");
	set = usr1 | kill | stop;
	tst_check(sys4(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8) == 0,
		  "rt_sigprocmask(SIG_BLOCK, USR1|KILL|STOP)");
	sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8);
	tst_check((cur & usr1) != 0, "SIGUSR1 is blocked");
	tst_check((cur & (kill | stop)) == 0, "SIGKILL and SIGSTOP are silently not blocked");
	set = usr1;
	sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, NULL, 8);
	sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8);
	tst_check(cur == old, "SIG_UNBLOCK restores the original mask");
	tst_raw_err("rt_sigprocmask how = 99", sys4(SYS_rt_sigprocmask, 99, &set, NULL, 8), EINVAL);
	tst_raw_err("rt_sigprocmask sigsetsize 4",
		    sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 4), EINVAL);
}

static void check_sigaltstack(void)
{
	static char stack[256 * 1024];
	stack_t ss, old;
	int r;

	memset(&old, 0, sizeof(old));
	tst_check(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE,
		  "no alternate signal stack at start (SS_DISABLE)");
	ss.ss_sp = stack;
	ss.ss_size = sizeof(stack);
	ss.ss_flags = 0;
	tst_check(sigaltstack(&ss, NULL) == 0, "sigaltstack sets a 256 KiB stack");
	memset(&old, 0, sizeof(old));
	tst_check(sigaltstack(NULL, &old) == 0 && old.ss_sp == stack &&
			  old.ss_size == sizeof(stack) && old.ss_flags == 0,
		  "sigaltstack reads back base, size, flags 0");
	ss.ss_size = 1024;
	r = sigaltstack(&ss, NULL);
	tst_libc_err("sigaltstack smaller than MINSIGSTKSZ", r, errno, ENOMEM);
	ss.ss_size = sizeof(stack);
	ss.ss_flags = 0x1234;
	r = sigaltstack(&ss, NULL);
	tst_libc_err("sigaltstack with flags 0x1234", r, errno, EINVAL);
	ss.ss_flags = SS_DISABLE;
	tst_check(sigaltstack(&ss, NULL) == 0, "sigaltstack(SS_DISABLE)");
	memset(&old, 0, sizeof(old));
	tst_check(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE,
		  "disabled alternate stack reads back SS_DISABLE");
}

int main(int argc, char **argv)
{
	(void)argc;
	check_cwd();
	check_self_exe(argv[0]);
	check_rlimits();
	check_affinity();
	check_tls_and_tid();
	check_sigaction();
	check_sigprocmask();
	check_sigaltstack();
	return tst_exit();
}
