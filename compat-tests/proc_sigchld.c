// SIGCHLD: an SA_SIGINFO handler learns of a child's exit with si_code CLD_EXITED, si_pid
// and si_status; a child killed by a signal gives CLD_KILLED; with SIGCHLD ignored, or with
// SA_NOCLDWAIT, children are reaped automatically and wait() reports ECHILD; a wait blocked
// while the SIGCHLD handler runs is restarted with SA_RESTART. (Orphans are not tested: they
// go to the app itself in oxv, the app being pid 1, and to the host's init or subreaper on the
// host.)
#include "tst.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int got;
static volatile int code, status;
static volatile pid_t from;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	code = si->si_code;
	status = si->si_status;
	from = si->si_pid;
	atomic_fetch_add(&got, 1);
}

static pid_t child_exiting(int status_code, int delay_ms)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (delay_ms)
			usleep(delay_ms * 1000);
		_exit(status_code);
	}
	return pid;
}

int main(void)
{
	struct sigaction sa;
	sigset_t block, old;
	pid_t pid;
	int st, r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = child_exiting(7, 0);
	waitid(P_PID, pid, NULL, WEXITED | WNOWAIT);
	sigprocmask(SIG_SETMASK, &old, NULL);
	tst_check(atomic_load(&got) == 1 && code == CLD_EXITED && status == 7 && from == pid,
		  "SIGCHLD with CLD_EXITED, si_status 7 and the child's si_pid");
	waitpid(pid, &st, 0);

	atomic_store(&got, 0);
	pid = child_exiting(3, 50);
	r = waitpid(pid, &st, 0);
	tst_check(r == pid && WEXITSTATUS(st) == 3 && atomic_load(&got) == 1,
		  "a wait interrupted by the SIGCHLD handler restarts (SA_RESTART) and reaps");

	atomic_store(&got, 0);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	kill(pid, SIGKILL);
	waitid(P_PID, pid, NULL, WEXITED | WNOWAIT);
	sigprocmask(SIG_SETMASK, &old, NULL);
	tst_check(atomic_load(&got) == 1 && code == CLD_KILLED && status == SIGKILL,
		  "a killed child gives CLD_KILLED with the signal");
	waitpid(pid, &st, 0);

	signal(SIGCHLD, SIG_IGN);
	pid = child_exiting(1, 0);
	usleep(100 * 1000);
	r = waitpid(-1, &st, 0);
	tst_libc_err("wait after a child exits with SIGCHLD ignored (auto-reaped)", r, errno, ECHILD);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	pid = child_exiting(1, 0);
	usleep(100 * 1000);
	r = waitpid(-1, &st, 0);
	tst_libc_err("wait with SA_NOCLDWAIT (auto-reaped)", r, errno, ECHILD);

	return tst_exit();
}
