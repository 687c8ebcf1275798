// rseq(2): registering a restartable-sequences area (the original 32-byte struct rseq), the
// errnos of a second registration and of unregistration, the CPU fields the kernel keeps,
// a critical section aborted by a signal (the handler's saved context never points into the
// section: the kernel moved it to the abort address first; a host kernel may also abort the
// section on preemption, so the test loops until the signal came),
// inheritance over fork, and SIGSEGV for an invalid section descriptor.
//
// glibc (2.35+) registers an area of its own for every thread at startup; the test first
// unregisters it (through glibc's __rseq_offset/__rseq_size, with glibc's signature), so
// that glibc and musl builds run the same checks. glibc's sched_getcpu falls back to the
// vDSO once the area reads "uninitialized".
#include "tst_thread.h"

#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>

#define RSEQ_SIG 0x53053053
#define RSEQ_FLAG_UNREGISTER 1
#define CPU_ID_UNINITIALIZED ((uint32_t)-1)

struct rseq_cs {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
} __attribute__((aligned(32)));

struct rseq_area {
	uint32_t cpu_id_start, cpu_id;
	uint64_t rseq_cs;
	uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static struct rseq_area area;
static struct rseq_area other;
static volatile sig_atomic_t alarms;
static volatile sig_atomic_t handler_saw_inside;

extern const char rseq_test_start[] __asm__("rseq_test_start");
extern const char rseq_test_end[] __asm__("rseq_test_end");

static long sys_rseq(void *a, uint32_t len, int flags, uint32_t sig)
{
	return sys4(SYS_rseq, a, len, flags, sig);
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_alarm_info(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t rip = (uintptr_t)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];

	(void)sig;
	(void)si;
	if (rip >= (uintptr_t)rseq_test_start && rip < (uintptr_t)rseq_test_end)
		handler_saw_inside = 1;
	alarms++;
}

/* Spins inside a critical section that never ends; returns once the kernel moved the thread
 * to the abort address (a signal's delivery: the handler runs first, then sigreturn lands
 * there; or, on Linux, a preemption). */
static __attribute__((noinline)) int spin_until_aborted(void)
{
	int aborted = 0;

	__asm__ volatile(".pushsection .data.rseq_test, \"aw\"\n"
			 ".balign 32\n"
			 "3: .long 0, 0\n"
			 ".quad 1f, 2f - 1f, 4f\n"
			 ".popsection\n"
			 "leaq 3b(%%rip), %%rax\n"
			 "movq %%rax, %[cs]\n"
			 "1:\n"
			 "rseq_test_start: jmp rseq_test_start\n"
			 "rseq_test_end:\n"
			 "2:\n"
			 ".pushsection .text.rseq_abort, \"ax\"\n"
			 ".long 0x53053053\n"
			 "4: movl $1, %[ab]\n"
			 "jmp 5f\n"
			 ".popsection\n"
			 "5:\n"
			 : [cs] "=m"(area.rseq_cs), [ab] "+m"(aborted)
			 :
			 : "rax", "memory");
	return aborted;
}

static void drop_libc_area(void)
{
	char *tp;

	if (&__rseq_size == NULL || __rseq_size == 0)
		return;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	long r = sys_rseq(tp + __rseq_offset, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
	if (r != 0)
		tfail("unregistering glibc's rseq area: %s", tst_errname(-r));
}

int main(void)
{
	cpu_set_t one;
	int cpu;

	tst_watchdog(60, "rseq");
	drop_libc_area();
	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	tst_check(sched_setaffinity(0, sizeof one, &one) == 0, "pinned to one CPU");

	tst_raw_err("rseq len 16", sys_rseq(&area, 16, 0, RSEQ_SIG), EINVAL);
	tst_raw_err("rseq misaligned", sys_rseq((char *)&area + 8, 32, 0, RSEQ_SIG), EINVAL);
	tst_raw_err("rseq unknown flag", sys_rseq(&area, 32, 2, RSEQ_SIG), EINVAL);
	tst_raw_err("unregister with none registered",
		    sys_rseq(&area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
	area.cpu_id = CPU_ID_UNINITIALIZED;
	tst_check(sys_rseq(&area, 32, 0, RSEQ_SIG) == 0, "rseq registers a 32-byte area");
	tst_checkf(area.cpu_id == (uint32_t)cpu && area.cpu_id_start == (uint32_t)cpu,
		   "cpu_id and cpu_id_start name the CPU once back in user space");
	tst_raw_err("same area again", sys_rseq(&area, 32, 0, RSEQ_SIG), EBUSY);
	tst_raw_err("another area", sys_rseq(&other, 32, 0, RSEQ_SIG), EINVAL);
	tst_raw_err("another signature", sys_rseq(&area, 32, 0, RSEQ_SIG + 1), EPERM);
	tst_raw_err("unregister another area",
		    sys_rseq(&other, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
	tst_raw_err("unregister with another signature",
		    sys_rseq(&area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1), EPERM);

	/* A signal interrupts a section that never ends. */
	struct sigaction sa = {0};
	sa.sa_sigaction = on_alarm_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
	int aborted = 0;
	while (!alarms)
		aborted |= spin_until_aborted();
	tst_check(aborted, "an interrupted critical section resumes at its abort address");
	tst_check(!handler_saw_inside,
		  "the signal handler's saved context points at the abort address, not the section");
	tst_check(area.rseq_cs == 0, "the kernel cleared rseq_cs");

	/* The child of fork keeps the registration; an invalid descriptor is SIGSEGV. */
	static struct rseq_cs bad = {.version = 1};
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, on_alarm);
		area.rseq_cs = (uint64_t)(uintptr_t)&bad;
		raise(SIGUSR1);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	tst_checkf(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		   "a forked child with a version-1 descriptor dies of SIGSEGV at its next signal");
	area.rseq_cs = 0;

	tst_check(sys_rseq(&area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0, "unregister");
	tst_check(area.cpu_id == CPU_ID_UNINITIALIZED && area.cpu_id_start == 0,
		  "unregistering resets cpu_id to uninitialized and cpu_id_start to 0");
	tst_check(sys_rseq(&area, 32, 0, RSEQ_SIG) == 0, "register again after unregistering");
	return tst_exit();
}
