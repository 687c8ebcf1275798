// The signal frame and sigreturn, seen from assembly. A tgkill to the thread itself is made
// with known values in every general register, in xmm0-15 (and ymm upper halves when AVX is
// usable), in the 128-byte red zone below rsp, with MXCSR set to round-toward-zero and the
// direction flag set. The handler, entered through an assembly stub, checks that rsp is
// 16-byte aligned as after a call (rsp % 16 == 8), that DF is clear and MXCSR is the default
// 0x1f80; the ucontext holds the registers, RIP just after the syscall, the caller's MXCSR
// and xmm values. The handler scribbles over the caller-saved registers (a kernel that does
// not restore them would leak this) and edits RAX, R12, xmm7 and MXCSR in the ucontext.
// After sigreturn the caller sees exactly its registers with those edits, its red zone
// intact and DF set again. With AVX, ymm9 and ymm15 survive a handler running vzeroall.
#include "tst_thread.h"

#include <stdint.h>
#include <ucontext.h>

struct regs_in {
	uint64_t tgid, tid, sig;
};

struct regs_out {
	uint64_t rbx, rbp, r8, r9, r10, r12, r13, r14, r15, rdi, rsi, rdx, rax;
	uint64_t redzone_diff, flags, pad;
	uint8_t xmm[16][16];
};
_Static_assert(__builtin_offsetof(struct regs_out, redzone_diff) == 104, "layout");
_Static_assert(__builtin_offsetof(struct regs_out, xmm) == 128, "layout");

/* Values the assembly puts in the registers before the syscall. */
#define V_RBX 0x1111111111111111ULL
#define V_RBP 0x2222222222222222ULL
#define V_R8 0x3333333333333333ULL
#define V_R9 0x4444444444444444ULL
#define V_R10 0x5555555555555555ULL
#define V_R12 0x6666666666666666ULL
#define V_R13 0x7777777777777777ULL
#define V_R14 0x1888888888888888ULL
#define V_R15 0x1999999999999999ULL
#define V_RED 0xa5a5a5a5a5a5a5a5ULL
/* xmmN holds the byte 0x10 + N in all 16 bytes. */

__asm__(".text\n"
	".p2align 4\n"
	"oxv_regs_kill:\n" /* void oxv_regs_kill(struct regs_in *in, struct regs_out *out) */
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	push %rsi\n"
	"	sub $8, %rsp\n"
	"	movabs $0xa5a5a5a5a5a5a5a5, %rax\n"
	"	mov %rax, -8(%rsp)\n	mov %rax, -16(%rsp)\n	mov %rax, -24(%rsp)\n"
	"	mov %rax, -32(%rsp)\n	mov %rax, -40(%rsp)\n	mov %rax, -48(%rsp)\n"
	"	mov %rax, -56(%rsp)\n	mov %rax, -64(%rsp)\n	mov %rax, -72(%rsp)\n"
	"	mov %rax, -80(%rsp)\n	mov %rax, -88(%rsp)\n	mov %rax, -96(%rsp)\n"
	"	mov %rax, -104(%rsp)\n	mov %rax, -112(%rsp)\n	mov %rax, -120(%rsp)\n"
	"	mov %rax, -128(%rsp)\n"
	"	movabs $0x1010101010101010, %rax\n"
	"	movq %rax, %xmm0\n"
	"	punpcklqdq %xmm0, %xmm0\n"
	"	movabs $0x1111111111111111, %rax\n"
	"	movq %rax, %xmm1\n"
	"	punpcklqdq %xmm1, %xmm1\n"
	"	movabs $0x1212121212121212, %rax\n"
	"	movq %rax, %xmm2\n"
	"	punpcklqdq %xmm2, %xmm2\n"
	"	movabs $0x1313131313131313, %rax\n"
	"	movq %rax, %xmm3\n"
	"	punpcklqdq %xmm3, %xmm3\n"
	"	movabs $0x1414141414141414, %rax\n"
	"	movq %rax, %xmm4\n"
	"	punpcklqdq %xmm4, %xmm4\n"
	"	movabs $0x1515151515151515, %rax\n"
	"	movq %rax, %xmm5\n"
	"	punpcklqdq %xmm5, %xmm5\n"
	"	movabs $0x1616161616161616, %rax\n"
	"	movq %rax, %xmm6\n"
	"	punpcklqdq %xmm6, %xmm6\n"
	"	movabs $0x1717171717171717, %rax\n"
	"	movq %rax, %xmm7\n"
	"	punpcklqdq %xmm7, %xmm7\n"
	"	movabs $0x1818181818181818, %rax\n"
	"	movq %rax, %xmm8\n"
	"	punpcklqdq %xmm8, %xmm8\n"
	"	movabs $0x1919191919191919, %rax\n"
	"	movq %rax, %xmm9\n"
	"	punpcklqdq %xmm9, %xmm9\n"
	"	movabs $0x1a1a1a1a1a1a1a1a, %rax\n"
	"	movq %rax, %xmm10\n"
	"	punpcklqdq %xmm10, %xmm10\n"
	"	movabs $0x1b1b1b1b1b1b1b1b, %rax\n"
	"	movq %rax, %xmm11\n"
	"	punpcklqdq %xmm11, %xmm11\n"
	"	movabs $0x1c1c1c1c1c1c1c1c, %rax\n"
	"	movq %rax, %xmm12\n"
	"	punpcklqdq %xmm12, %xmm12\n"
	"	movabs $0x1d1d1d1d1d1d1d1d, %rax\n"
	"	movq %rax, %xmm13\n"
	"	punpcklqdq %xmm13, %xmm13\n"
	"	movabs $0x1e1e1e1e1e1e1e1e, %rax\n"
	"	movq %rax, %xmm14\n"
	"	punpcklqdq %xmm14, %xmm14\n"
	"	movabs $0x1f1f1f1f1f1f1f1f, %rax\n"
	"	movq %rax, %xmm15\n"
	"	punpcklqdq %xmm15, %xmm15\n"
	"	mov 16(%rdi), %rdx\n"
	"	mov 8(%rdi), %rsi\n"
	"	mov 0(%rdi), %rdi\n"
	"	movabs $0x1111111111111111, %rbx\n"
	"	movabs $0x2222222222222222, %rbp\n"
	"	movabs $0x3333333333333333, %r8\n"
	"	movabs $0x4444444444444444, %r9\n"
	"	movabs $0x5555555555555555, %r10\n"
	"	movabs $0x6666666666666666, %r12\n"
	"	movabs $0x7777777777777777, %r13\n"
	"	movabs $0x1888888888888888, %r14\n"
	"	movabs $0x1999999999999999, %r15\n"
	"	std\n"
	"	mov $234, %eax\n" /* tgkill */
	"	syscall\n"
	"oxv_after_syscall:\n"
	"	mov 8(%rsp), %r11\n"
	"	mov %rbx, 0(%r11)\n	mov %rbp, 8(%r11)\n	mov %r8, 16(%r11)\n"
	"	mov %r9, 24(%r11)\n	mov %r10, 32(%r11)\n	mov %r12, 40(%r11)\n"
	"	mov %r13, 48(%r11)\n	mov %r14, 56(%r11)\n	mov %r15, 64(%r11)\n"
	"	mov %rdi, 72(%r11)\n	mov %rsi, 80(%r11)\n	mov %rdx, 88(%r11)\n"
	"	mov %rax, 96(%r11)\n"
	"	movabs $0xa5a5a5a5a5a5a5a5, %rcx\n"
	"	xor %eax, %eax\n"
	"	mov -8(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -16(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -24(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -32(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -40(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -48(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -56(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -64(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -72(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -80(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -88(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -96(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -104(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -112(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -120(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov -128(%rsp), %rdx\n	xor %rcx, %rdx\n	or %rdx, %rax\n"
	"	mov %rax, 104(%r11)\n"
	"	pushf\n"
	"	pop %rcx\n"
	"	cld\n"
	"	mov %rcx, 112(%r11)\n"
	"	movdqu %xmm0, 128(%r11)\n	movdqu %xmm1, 144(%r11)\n"
	"	movdqu %xmm2, 160(%r11)\n	movdqu %xmm3, 176(%r11)\n"
	"	movdqu %xmm4, 192(%r11)\n	movdqu %xmm5, 208(%r11)\n"
	"	movdqu %xmm6, 224(%r11)\n	movdqu %xmm7, 240(%r11)\n"
	"	movdqu %xmm8, 256(%r11)\n	movdqu %xmm9, 272(%r11)\n"
	"	movdqu %xmm10, 288(%r11)\n	movdqu %xmm11, 304(%r11)\n"
	"	movdqu %xmm12, 320(%r11)\n	movdqu %xmm13, 336(%r11)\n"
	"	movdqu %xmm14, 352(%r11)\n	movdqu %xmm15, 368(%r11)\n"
	"	add $8, %rsp\n"
	"	pop %rsi\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	/* The handler's first instructions: note rsp % 16 and the flags, then the C part. */
	".p2align 4\n"
	"oxv_handler_entry:\n"
	"	mov %rsp, %rax\n"
	"	and $15, %rax\n"
	"	mov %rax, oxv_entry_rsp_mod(%rip)\n"
	"	pushf\n"
	"	pop %rax\n"
	"	mov %rax, oxv_entry_flags(%rip)\n"
	"	jmp oxv_handler_c\n"
	/* AVX: ymm9 and ymm15 from in[0..63], tgkill(in[64..]), ymm9/ymm15 to out. */
	".p2align 4\n"
	/* void oxv_avx_kill(const uint8_t in[64], struct regs_in *k, uint8_t out[64]) */
	"oxv_avx_kill:\n"
	"	vmovdqu 0(%rdi), %ymm9\n"
	"	vmovdqu 32(%rdi), %ymm15\n"
	"	mov %rdx, %r11\n"
	"	mov 16(%rsi), %rdx\n"
	"	mov 0(%rsi), %rdi\n"
	"	mov 8(%rsi), %rsi\n"
	"	mov %r11, %r8\n" /* r8 survives the syscall */
	"	mov $234, %eax\n"
	"	syscall\n"
	"	vmovdqu %ymm9, 0(%r8)\n"
	"	vmovdqu %ymm15, 32(%r8)\n"
	"	vzeroupper\n"
	"	ret\n");

void oxv_regs_kill(struct regs_in *in, struct regs_out *out);
void oxv_avx_kill(const uint8_t in[64], struct regs_in *k, uint8_t out[64]);
void oxv_handler_entry(int, siginfo_t *, void *);
extern const char oxv_after_syscall[];

uint64_t oxv_entry_rsp_mod, oxv_entry_flags;

static volatile int calls, avx_mode;
static volatile uint64_t seen_greg[32];
static uint8_t seen_xmm[16][16];
static volatile unsigned handler_mxcsr, seen_mxcsr;

static unsigned get_mxcsr(void)
{
	unsigned v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

void oxv_handler_c(int sig, siginfo_t *si, void *ctx);

void oxv_handler_c(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	calls++;
	handler_mxcsr = get_mxcsr();
	if (avx_mode) {
		/* Zero every ymm register: the kernel must bring back the caller's. */
		__asm__ volatile("vzeroall"
				 :
				 :
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
				   "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
				   "xmm14", "xmm15");
		return;
	}
	for (int i = 0; i < (int)NGREG && i < 32; i++)
		seen_greg[i] = (uint64_t)uc->uc_mcontext.gregs[i];
	memcpy(seen_xmm, (void *)uc->uc_mcontext.fpregs->_xmm, sizeof(seen_xmm));
	seen_mxcsr = uc->uc_mcontext.fpregs->mxcsr;

	/* Scribble over what a C function may clobber; a kernel that skips restoring it shows. */
	set_mxcsr(0x3f80);
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
			 "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
			 "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
			 "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
			 "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
			 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
			 "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
			 "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
			 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
			 "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15\n\t"
			 :
			 :
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0",
			   "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");

	/* Edits the caller must see after sigreturn. */
	uc->uc_mcontext.gregs[REG_RAX] = 12345;
	uc->uc_mcontext.gregs[REG_R12] ^= 0xff;
	uc->uc_mcontext.fpregs->_xmm[7].element[0] = 0xdeadbeef;
	uc->uc_mcontext.fpregs->mxcsr = 0x5f80; /* round up */
}

static int xmm_is(const uint8_t *x, int n)
{
	for (int i = 0; i < 16; i++)
		if (x[i] != 0x10 + n)
			return 0;
	return 1;
}

static void check_avx(void)
{
	uint8_t in[64], out[64];
	struct regs_in k = { (uint64_t)getpid(), (uint64_t)tst_gettid(), SIGUSR1 };
	int ok;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx")) {
		/* Same line either way: the host and the guest CPU may differ. */
		tpass("ymm registers survive a handler that zeroes them (or no AVX here)");
		return;
	}
	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)(0x40 + i);
	memset(out, 0, sizeof(out));
	avx_mode = 1;
	calls = 0;
	oxv_avx_kill(in, &k, out);
	avx_mode = 0;
	ok = calls == 1 && memcmp(in, out, 64) == 0;
	if (ok)
		tpass("ymm registers survive a handler that zeroes them (or no AVX here)");
	else
		tfail("ymm registers survive a handler that zeroes them: %s",
		      calls != 1 ? "the handler did not run once" : "ymm9/ymm15 changed");
}

int main(void)
{
	struct regs_in in = { (uint64_t)getpid(), (uint64_t)tst_gettid(), SIGUSR1 };
	struct regs_out out;
	struct sigaction sa;
	unsigned after_mxcsr;
	int xmm_ok = 1, seen_xmm_ok = 1;

	tst_watchdog(20, "signal_context");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = oxv_handler_entry;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	memset(&out, 0, sizeof(out));
	set_mxcsr(0x7f80); /* round toward zero, all exceptions masked */
	oxv_regs_kill(&in, &out);
	after_mxcsr = get_mxcsr();
	set_mxcsr(0x1f80);

	tst_check(calls == 1, "the handler ran once on the tgkill's return");
	tst_check(oxv_entry_rsp_mod == 8,
		  "the handler is entered with rsp % 16 == 8, as after a call");
	tst_check(!(oxv_entry_flags & 0x400), "the handler is entered with DF clear");
	tst_check(handler_mxcsr == 0x1f80, "the handler starts with the default MXCSR 0x1f80");

	tst_check(seen_greg[REG_RBX] == V_RBX && seen_greg[REG_RBP] == V_RBP &&
			  seen_greg[REG_R8] == V_R8 && seen_greg[REG_R9] == V_R9 &&
			  seen_greg[REG_R10] == V_R10 && seen_greg[REG_R12] == V_R12 &&
			  seen_greg[REG_R13] == V_R13 && seen_greg[REG_R14] == V_R14 &&
			  seen_greg[REG_R15] == V_R15,
		  "the ucontext holds the caller's rbx, rbp, r8-r10, r12-r15");
	tst_check(seen_greg[REG_RDI] == in.tgid && seen_greg[REG_RSI] == in.tid &&
			  seen_greg[REG_RDX] == SIGUSR1 && seen_greg[REG_RAX] == 0,
		  "the ucontext holds the syscall's arguments and its result 0 in rax");
	tst_check(seen_greg[REG_RIP] == (uint64_t)oxv_after_syscall,
		  "the ucontext RIP is just after the syscall instruction");
	tst_check(seen_greg[REG_EFL] & 0x400, "the ucontext flags have the caller's DF set");
	for (int i = 0; i < 16; i++)
		seen_xmm_ok &= xmm_is(seen_xmm[i], i);
	tst_check(seen_xmm_ok, "the ucontext holds the caller's xmm0-15");
	tst_check(seen_mxcsr == 0x7f80, "the ucontext holds the caller's MXCSR");

	tst_check(out.rax == 12345,
		  "after sigreturn rax is the value the handler put in the ucontext");
	tst_check(out.r12 == (V_R12 ^ 0xff), "...and r12 too");
	tst_check(out.rbx == V_RBX && out.rbp == V_RBP && out.r8 == V_R8 && out.r9 == V_R9 &&
			  out.r10 == V_R10 && out.r13 == V_R13 && out.r14 == V_R14 &&
			  out.r15 == V_R15 && out.rdi == in.tgid && out.rsi == in.tid &&
			  out.rdx == SIGUSR1,
		  "every other general register is the caller's again");
	for (int i = 0; i < 16; i++) {
		if (i == 7) {
			uint8_t want[16];
			uint32_t edited = 0xdeadbeef;

			memset(want, 0x17, sizeof(want));
			memcpy(want, &edited, 4);
			xmm_ok &= memcmp(out.xmm[7], want, 16) == 0;
		} else {
			xmm_ok &= xmm_is(out.xmm[i], i);
		}
	}
	tst_check(xmm_ok, "xmm0-15 are the caller's again, with the handler's edit of xmm7");
	tst_check(out.redzone_diff == 0, "the 128-byte red zone below rsp is intact");
	tst_check(out.flags & 0x400, "DF is set again after sigreturn");
	tst_check(after_mxcsr == 0x5f80, "MXCSR is the value the handler put in the ucontext");
	check_avx();
	return tst_exit();
}
