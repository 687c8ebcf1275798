// Synchronous signals from CPU exceptions, caught by SA_SIGINFO handlers that repair the
// ucontext and return: ud2 raises SIGILL with ILL_ILLOPN and si_addr at the instruction (the
// handler steps RIP over it); an integer division by zero and INT_MIN / -1 raise SIGFPE with
// FPE_INTDIV and si_addr at the idiv (the handler sets RAX and steps over it, and the caller
// sees that RAX); int3 raises SIGTRAP with SI_KERNEL, si_addr 0 and RIP just after it. So
// sigreturn must restore RIP and RAX from the ucontext the handler edited. (No SSE #XM
// check: QEMU's TCG never raises unmasked SIMD floating-point exceptions.)
#include "tst_thread.h"

#include <limits.h>
#include <stdint.h>
#include <ucontext.h>

/* Small functions whose faulting instruction has a label the test can compare with. */
__asm__(".text\n"
	".p2align 4\n"
	"oxv_ill_fn:\n"
	"	movl $1, %eax\n"
	"oxv_ill_insn:\n"
	"	ud2\n"
	"	movl $2, %eax\n"
	"	ret\n"
	".p2align 4\n"
	"oxv_div_fn:\n"
	"	movl %edi, %eax\n"
	"	cltd\n"
	"oxv_div_insn:\n"
	"	idivl %esi\n"
	"	ret\n"
	".p2align 4\n"
	"oxv_trap_fn:\n"
	"	int3\n"
	"oxv_after_trap:\n"
	"	movl $3, %eax\n"
	"	ret\n");

int oxv_ill_fn(void);
int oxv_div_fn(int a, int b);
int oxv_trap_fn(void);
extern const char oxv_ill_insn[], oxv_div_insn[], oxv_after_trap[];

static volatile int calls, signo, code;
static volatile uintptr_t addr, rip;

static void record(int sig, siginfo_t *si, ucontext_t *uc)
{
	calls++;
	signo = sig == si->si_signo ? sig : -1;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

static void on_ill(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	record(sig, si, uc);
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 is 0f 0b */
}

static void on_fpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	record(sig, si, uc);
	uc->uc_mcontext.gregs[REG_RAX] = 77;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* idivl %esi is f7 fe */
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	record(sig, si, ctx);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		tfail("sigaction(%d)", sig);
}

static void expect(const char *what, int sig, int want_code, const char *code_name,
		   uintptr_t want_addr, uintptr_t want_rip)
{
	tst_checkf(calls == 1 && signo == sig, "%s: the handler ran once for the signal", what);
	if (code == want_code)
		tpass("%s: si_code %s", what, code_name);
	else
		tfail("%s: si_code %d, want %s", what, code, code_name);
	tst_checkf(addr == want_addr, "%s: si_addr is %s", what,
		   want_addr ? "the faulting instruction" : "0");
	tst_checkf(rip == want_rip, "%s: the ucontext RIP is %s", what,
		   want_rip == want_addr ? "the faulting instruction" : "after the instruction");
}

int main(void)
{
	int r;

	tst_watchdog(20, "signal_fault");
	install(SIGILL, on_ill);
	install(SIGFPE, on_fpe);
	install(SIGTRAP, on_trap);

	calls = 0;
	r = oxv_ill_fn();
	expect("ud2", SIGILL, ILL_ILLOPN, "ILL_ILLOPN", (uintptr_t)oxv_ill_insn,
	       (uintptr_t)oxv_ill_insn);
	tst_check(r == 2, "ud2: execution resumed after it at the RIP the handler set");

	calls = 0;
	r = oxv_div_fn(10, 0);
	expect("10 / 0", SIGFPE, FPE_INTDIV, "FPE_INTDIV", (uintptr_t)oxv_div_insn,
	       (uintptr_t)oxv_div_insn);
	tst_check(r == 77, "10 / 0: the caller sees the RAX the handler set");
	calls = 0;
	r = oxv_div_fn(INT_MIN, -1);
	expect("INT_MIN / -1", SIGFPE, FPE_INTDIV, "FPE_INTDIV", (uintptr_t)oxv_div_insn,
	       (uintptr_t)oxv_div_insn);
	tst_check(r == 77, "INT_MIN / -1: the caller sees the RAX the handler set");

	calls = 0;
	r = oxv_trap_fn();
	expect("int3", SIGTRAP, SI_KERNEL, "SI_KERNEL", 0, (uintptr_t)oxv_after_trap);
	tst_check(r == 3, "int3: execution continued after it");
	return tst_exit();
}
