// A SIGSEGV handler (SA_SIGINFO) sees why and where a memory access faulted, and leaves with
// siglongjmp: SEGV_MAPERR and the exact address for a read of an unmapped page and of NULL,
// and for a user read of a kernel address; SEGV_ACCERR for a write to a PROT_READ page, a read
// of a PROT_NONE page and a jump into a page without PROT_EXEC (si_addr is the jump target);
// SI_KERNEL and si_addr 0 for a non-canonical address (a #GP, not a page fault). SIGSEGV is
// blocked while its handler runs and siglongjmp(env, 1) restores the mask, so faults keep
// being caught. A handler that mprotects the page and returns makes the faulting write
// retry and succeed.
#include "tst_thread.h"

#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile int faults, fix_page;
static volatile int code, signo, blocked_in_handler;
static void *volatile addr;
static void *volatile fix_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	sigset_t cur;

	(void)ctx;
	faults++;
	signo = si->si_signo;
	code = si->si_code;
	addr = si->si_addr;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	blocked_in_handler = sigismember(&cur, sig);
	if (fix_page) {
		mprotect(fix_addr, 4096, PROT_READ | PROT_WRITE);
		return;
	}
	siglongjmp(env, 1);
}

static const char *code_name(int c)
{
	switch (c) {
	case SEGV_MAPERR: return "SEGV_MAPERR";
	case SEGV_ACCERR: return "SEGV_ACCERR";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "another code";
	}
}

enum access { READ, WRITE, EXEC };

/* Performs the access and checks the SIGSEGV it must raise. */
static void fault(const char *what, enum access how, uintptr_t where, int want_code,
		  uintptr_t want_addr)
{
	/* volatile: the compiler must neither see a constant NULL nor drop the access. */
	volatile uintptr_t target = where;
	int before = faults;

	signo = code = 0;
	addr = (void *)1;
	if (sigsetjmp(env, 1) == 0) {
		if (how == READ)
			(void)*(volatile int *)target;
		else if (how == WRITE)
			*(volatile int *)target = 1;
		else
			((void (*)(void))target)();
		tfail("%s: no SIGSEGV", what);
		return;
	}
	if (faults != before + 1 || signo != SIGSEGV) {
		tfail("%s: the handler did not see one SIGSEGV", what);
		return;
	}
	if (code == want_code)
		tpass("%s: si_code %s", what, code_name(want_code));
	else
		tfail("%s: si_code %s (%d), want %s", what, code_name(code), code,
		      code_name(want_code));
	tst_checkf((uintptr_t)addr == want_addr, "%s: si_addr is %s", what,
		   want_addr ? "the faulting address" : "0");
}

int main(void)
{
	struct sigaction sa;
	sigset_t cur;
	char *p;

	tst_watchdog(20, "signal_segv");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	tst_check(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction(SIGSEGV, SA_SIGINFO)");

	p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		tfail("mmap");
		return tst_exit();
	}
	munmap(p + 3 * 4096, 4096);
	fault("read of an unmapped page", READ, (uintptr_t)p + 3 * 4096 + 16, SEGV_MAPERR,
	      (uintptr_t)p + 3 * 4096 + 16);
	tst_check(blocked_in_handler, "SIGSEGV is blocked while its handler runs");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	tst_check(!sigismember(&cur, SIGSEGV), "siglongjmp(env, 1) restored the mask");
	fault("read of NULL", READ, 0, SEGV_MAPERR, 0);
	fault("read of a kernel address", READ, 0xffff800000000000UL, SEGV_MAPERR,
	      0xffff800000000000UL);
	fault("read of a non-canonical address", READ, 0x8000000000000000UL, SI_KERNEL, 0);

	mprotect(p, 4096, PROT_READ);
	fault("write to a PROT_READ page", WRITE, (uintptr_t)p + 8, SEGV_ACCERR, (uintptr_t)p + 8);
	tst_check(p[8] == 0, "the faulting write did not land");
	mprotect(p + 4096, 4096, PROT_NONE);
	fault("read of a PROT_NONE page", READ, (uintptr_t)p + 4096 + 100, SEGV_ACCERR,
	      (uintptr_t)p + 4096 + 100);
	p[2 * 4096] = (char)0xc3; /* ret */
	fault("a call into a page without PROT_EXEC", EXEC, (uintptr_t)p + 2 * 4096, SEGV_ACCERR,
	      (uintptr_t)p + 2 * 4096);
	tst_check(faults == 7, "7 faults, each caught once");

	fix_page = 1;
	fix_addr = p;
	faults = 0;
	*(volatile char *)(p + 100) = 42;
	tst_check(faults == 1 && p[100] == 42,
		  "a handler that mprotects the page and returns: the write retries and lands");
	return tst_exit();
}
