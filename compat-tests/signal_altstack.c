// sigaltstack: an SA_ONSTACK handler runs on the alternate stack (a local's address lies
// inside it) and sigaltstack there reports SS_ONSTACK, and changing the alternate stack from
// it is EPERM; a handler without SA_ONSTACK stays on the normal stack; after SS_DISABLE an
// SA_ONSTACK handler runs on the normal stack. A new thread starts with no alternate stack.
// A thread with a 128 KiB stack recurses without bound: the guard page below its stack makes
// a SIGSEGV whose SA_ONSTACK handler runs on that thread's alternate stack, sees si_addr just
// below the deepest frame, and siglongjmps out; the thread then returns normally. Sizes below
// the kernel's MINSIGSTKSZ (2048) are ENOMEM, unknown flags EINVAL.
#include "tst_thread.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

#define ALT_SIZE (64 * 1024)
#define THREAD_STACK (128 * 1024)

static char *alt;
static volatile int calls, on_alt, onstack_flag, eperm;

static int in_alt(const void *p, const char *base)
{
	return (const char *)p >= base && (const char *)p < base + ALT_SIZE;
}

static void on_usr(int sig, siginfo_t *si, void *ctx)
{
	volatile char local;
	stack_t cur, other;

	(void)sig;
	(void)si;
	(void)ctx;
	calls++;
	on_alt = in_alt((const void *)&local, alt);
	onstack_flag = sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_ONSTACK);
	other.ss_sp = alt;
	other.ss_size = ALT_SIZE;
	other.ss_flags = 0;
	eperm = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* The stack-overflow thread. */
static char *thread_alt;
static sigjmp_buf overflow_env;
static volatile uintptr_t deepest, top, fault_addr;
static volatile int segv_calls, segv_on_alt, thread_had_no_alt, ran_away, after_jump_not_on;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	volatile char local;

	(void)sig;
	(void)ctx;
	segv_calls++;
	segv_on_alt = in_alt((const void *)&local, thread_alt);
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(overflow_env, 1);
}

static int __attribute__((noinline)) recurse(int depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	deepest = (uintptr_t)pad;
	/* Bounded, so a missing guard page fails the test instead of trashing memory. */
	if (top - (uintptr_t)pad > 8 * THREAD_STACK) {
		ran_away = 1;
		return 0;
	}
	return recurse(depth + 1) + pad[0]; /* not a tail call */
}

static void *overflow_thread(void *arg)
{
	volatile char base;
	stack_t ss;

	(void)arg;
	thread_had_no_alt = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE);
	ss.ss_sp = thread_alt;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0)
		return (void *)1;
	top = (uintptr_t)&base;
	if (sigsetjmp(overflow_env, 1) == 0)
		recurse(0);
	after_jump_not_on = sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_ONSTACK);
	return NULL;
}

static void check_overflow(void)
{
	pthread_attr_t attr;
	pthread_t t;
	void *ret = (void *)2;

	thread_alt = malloc(ALT_SIZE);
	install(SIGSEGV, on_segv, SA_ONSTACK);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (pthread_create(&t, &attr, overflow_thread, NULL) != 0) {
		tfail("pthread_create");
		return;
	}
	pthread_join(t, &ret);
	pthread_attr_destroy(&attr);
	tst_check(thread_had_no_alt, "a new thread starts with no alternate stack (SS_DISABLE)");
	tst_check(ret == NULL, "the thread set up its alternate stack and returned normally");
	tst_check(!ran_away, "unbounded recursion on a 128 KiB thread stack hit its guard page");
	tst_check(segv_calls == 1, "the stack overflow raised one SIGSEGV");
	tst_check(segv_on_alt, "the SIGSEGV handler ran on the thread's alternate stack");
	tst_check(fault_addr < deepest && fault_addr + 4096 > deepest,
		  "si_addr is just below the deepest frame");
	tst_check(after_jump_not_on, "after siglongjmp out the thread is no longer on it");
}

int main(void)
{
	stack_t ss, old;

	tst_watchdog(20, "signal_altstack");
	alt = malloc(ALT_SIZE);
	tst_check(sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE),
		  "initially there is no alternate stack");
	ss.ss_sp = alt;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	tst_check(sigaltstack(&ss, NULL) == 0, "sigaltstack installs a 64 KiB stack");
	tst_check(sigaltstack(NULL, &old) == 0 && old.ss_sp == alt && old.ss_size == ALT_SIZE &&
			  old.ss_flags == 0,
		  "sigaltstack reads it back, not SS_ONSTACK outside a handler");

	install(SIGUSR1, on_usr, SA_ONSTACK);
	calls = on_alt = onstack_flag = eperm = 0;
	raise(SIGUSR1);
	tst_check(calls == 1, "the SA_ONSTACK handler ran");
	tst_check(on_alt, "it ran on the alternate stack");
	tst_check(onstack_flag, "sigaltstack in it reports SS_ONSTACK");
	tst_check(eperm, "changing the alternate stack while on it is EPERM");

	install(SIGUSR2, on_usr, 0);
	calls = 0;
	on_alt = 1;
	raise(SIGUSR2);
	tst_check(calls == 1 && !on_alt, "a handler without SA_ONSTACK runs on the normal stack");

	ss.ss_flags = SS_DISABLE;
	tst_check(sigaltstack(&ss, NULL) == 0, "sigaltstack(SS_DISABLE)");
	calls = 0;
	on_alt = 1;
	raise(SIGUSR1);
	tst_check(calls == 1 && !on_alt,
		  "with it disabled the SA_ONSTACK handler uses the normal stack");

	ss.ss_flags = 0;
	/* Raw: glibc's MINSIGSTKSZ is sysconf(_SC_MINSIGSTKSZ), the kernel's is 2048. */
	ss.ss_size = 2047;
	tst_raw_err("sigaltstack with ss_size 2047", sys3(SYS_sigaltstack, &ss, NULL, 0), ENOMEM);
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0x1234;
	tst_raw_err("sigaltstack with unknown flags", sigaltstack(&ss, NULL) == -1 ? -errno : 0,
		    EINVAL);

	check_overflow();
	return tst_exit();
}
