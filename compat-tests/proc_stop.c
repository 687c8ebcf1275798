// Job control: SIGSTOP stops a child (its counter in shared memory stops moving) and
// waitpid(WUNTRACED) reports WIFSTOPPED with WSTOPSIG SIGSTOP once; SIGCONT continues it
// (the counter moves again) and waitpid(WCONTINUED) reports WIFCONTINUED; the parent's
// SIGCHLD handler sees CLD_STOPPED and CLD_CONTINUED; SIGKILL ends a stopped child; a
// SIGTSTP with a handler runs the handler instead of stopping; waitid(WSTOPPED) reports
// CLD_STOPPED with the signal.
#include "tst.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int codes[8];
static atomic_int ncodes;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
	int i = atomic_fetch_add(&ncodes, 1);

	(void)sig;
	(void)ctx;
	if (i < 8)
		codes[i] = si->si_code;
}

static volatile sig_atomic_t tstp_seen;

static void on_tstp(int sig)
{
	(void)sig;
	tstp_seen = 1;
}

/* Whether the counter moves within 2 s (a busy host may not run the child at once). */
static int moves(volatile long *counter)
{
	long a = *counter;

	for (int i = 0; i < 200 && *counter == a; i++)
		usleep(10 * 1000);
	return *counter != a;
}

/* Whether the counter stays still for 50 ms. */
static int still(volatile long *counter)
{
	long a = *counter;

	usleep(50 * 1000);
	return *counter == a;
}

int main(void)
{
	volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa;
	siginfo_t si;
	pid_t pid;
	int st, r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		signal(SIGTSTP, on_tstp);
		for (;;) {
			(*counter)++;
			if (tstp_seen)
				counter[1] = 1;
		}
	}
	while (*counter == 0)
		usleep(1000);
	tst_check(moves(counter), "the child runs");
	kill(pid, SIGSTOP);
	r = waitpid(pid, &st, WUNTRACED);
	tst_check(r == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP,
		  "waitpid(WUNTRACED) reports WIFSTOPPED with SIGSTOP");
	tst_check(still(counter), "the stopped child does not run");
	r = waitpid(pid, &st, WUNTRACED | WNOHANG);
	tst_check(r == 0, "the stop is reported once");
	kill(pid, SIGCONT);
	r = waitpid(pid, &st, WCONTINUED);
	tst_check(r == pid && WIFCONTINUED(st), "waitpid(WCONTINUED) reports WIFCONTINUED");
	tst_check(moves(counter), "the continued child runs again");
	tst_check(atomic_load(&ncodes) >= 2 && codes[0] == CLD_STOPPED && codes[1] == CLD_CONTINUED,
		  "SIGCHLD came with CLD_STOPPED, then CLD_CONTINUED");

	kill(pid, SIGTSTP);
	for (int i = 0; i < 200 && counter[1] == 0; i++)
		usleep(10 * 1000);
	tst_check(counter[1] == 1 && moves(counter),
		  "SIGTSTP with a handler runs the handler and does not stop");

	kill(pid, SIGSTOP);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WSTOPPED);
	tst_check(r == 0 && si.si_pid == pid && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP,
		  "waitid(WSTOPPED) reports CLD_STOPPED with SIGSTOP");
	kill(pid, SIGKILL);
	r = waitpid(pid, &st, 0);
	tst_check(r == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "SIGKILL ends the stopped child");
	return tst_exit();
}
