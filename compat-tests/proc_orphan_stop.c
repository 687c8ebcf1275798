// Stop signals and orphaned process groups (signal(7), credentials(7)): SIGTSTP, SIGTTIN and
// SIGTTOU at their default action stop a process whose group has a member with a parent in
// another group of the session, and are discarded (the process runs on, nothing stays
// pending, the parent sees no stop) once the group is orphaned; SIGSTOP stops it all the
// same.
//
// A session leader M runs a control child in a new group (not orphaned while M lives), then
// forks C in a new group and exits: C's parent is now outside the session, so C's group is
// orphaned. C reports its verdict through a pipe, which the test waits for before it prints.
#include "tst.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int pending(int sig)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, sig);
}

static void block(int sig, int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(how, &set, NULL);
}

/* In the session leader: a child in a new group of this session stops on SIGTSTP. */
static void attached_group_stops(void)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		raise(SIGTSTP);
		_exit(3);
	}
	setpgid(pid, pid);
	tst_check(waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) &&
			  WSTOPSIG(st) == SIGTSTP,
		  "SIGTSTP at its default stops a group whose parent is in the session");
	kill(pid, SIGCONT);
	tst_check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3,
		  "SIGCONT continues it");
}

/* In C, once its group is orphaned. */
static void orphaned_checks(void)
{
	static const int sigs[] = { SIGTSTP, SIGTTIN, SIGTTOU };
	static const char *const names[] = { "SIGTSTP", "SIGTTIN", "SIGTTOU" };
	int st;
	pid_t pid;

	for (int i = 0; i < 3; i++) {
		tst_checkf(raise(sigs[i]) == 0 && !pending(sigs[i]),
			   "%s to itself in an orphaned group is discarded; it runs on", names[i]);
	}
	block(SIGTSTP, SIG_BLOCK);
	raise(SIGTSTP);
	tst_check(pending(SIGTSTP), "a blocked SIGTSTP stays pending");
	block(SIGTSTP, SIG_UNBLOCK);
	tst_check(!pending(SIGTSTP), "and is discarded when unblocked");

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		raise(SIGTSTP);
		_exit(5);
	}
	tst_check(waitpid(pid, &st, WUNTRACED) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5,
		  "a child in the orphaned group runs on past SIGTSTP; its parent sees no stop");

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(6);
	}
	tst_check(waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) &&
			  WSTOPSIG(st) == SIGSTOP,
		  "SIGSTOP still stops a process of an orphaned group");
	kill(pid, SIGCONT);
	tst_check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 6,
		  "and SIGCONT continues it");
}

int main(void)
{
	int fds[2];
	int st;
	char verdict = 0;
	pid_t leader;

	if (pipe(fds) != 0) {
		tfail("pipe: %s", tst_errname(errno));
		return tst_exit();
	}
	fflush(stdout);
	leader = fork();
	if (leader == 0) {
		pid_t me = getpid(), child;

		close(fds[0]);
		if (setsid() < 0)
			_exit(10);
		attached_group_stops();
		fflush(stdout);
		child = fork();
		if (child == 0) {
			setpgid(0, 0);
			/* Until the leader has exited and this process was reparented. */
			for (int i = 0; i < 2000 && getppid() == me; i++)
				usleep(1000);
			if (getppid() == me) {
				tfail("the session leader did not exit");
			} else {
				orphaned_checks();
			}
			verdict = tst_exit() == 0 ? 'P' : 'F';
			fflush(stdout);
			if (write(fds[1], &verdict, 1) != 1)
				_exit(1);
			_exit(0);
		}
		setpgid(child, child);
		_exit(tst_exit());
	}
	close(fds[1]);
	/* The orphaned child's verdict first: nothing is printed here while it prints. */
	while (read(fds[0], &verdict, 1) == 1 && verdict != 'P' && verdict != 'F')
		;
	tst_check(waitpid(leader, &st, 0) == leader && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the session leader passed its checks");
	tst_check(verdict == 'P', "the orphaned group passed its checks");
	/* Reparented to this process in oxv (pid 1); not a child on Linux. */
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
	return tst_exit();
}
