// Process groups and sessions: a child starts in the parent's group and session; setpgid(0, 0)
// makes it a group leader; kill(-pgid) reaches every member of a group and no one else; kill(0)
// reaches the caller's own group; setsid fails with EPERM for a group leader and makes a
// non-leader the leader of a new session and group; getpgid/getsid of another process; the
// errors of setpgid (ESRCH for a missing process, EINVAL for a negative group) and kill (ESRCH for
// a pid that does not exist, EINVAL for a bad signal).
#include "tst.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_sleeper(pid_t pgid)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (pgid >= 0)
			setpgid(0, pgid);
		for (;;)
			pause();
	}
	if (pgid >= 0)
		setpgid(pid, pgid); /* both sides, as shells do: no race */
	return pid;
}

static int status_of(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int main(void)
{
	pid_t a, b, c, pid;
	int st, r;

	tst_check(getpgrp() == getpgid(0) && getsid(0) == getsid(getpid()),
		  "getpgrp and getpgid(0), getsid(0) and getsid(getpid()) agree");

	a = spawn_sleeper(0);
	b = spawn_sleeper(a);
	c = spawn_sleeper(-1);
	tst_check(getpgid(a) == a && getpgid(b) == a, "a leads a new group that b joined");
	tst_check(getpgid(c) == getpgrp() && getsid(c) == getsid(0),
		  "c stays in the parent's group and session");
	r = kill(-a, SIGTERM);
	tst_check(r == 0, "kill(-pgid) succeeds");
	tst_check(status_of(a) == 128 + SIGTERM && status_of(b) == 128 + SIGTERM,
		  "both members of the group got SIGTERM");
	r = waitpid(c, &st, WNOHANG);
	tst_check(r == 0, "the process outside the group still runs");
	kill(c, SIGKILL);
	tst_check(status_of(c) == 128 + SIGKILL, "then SIGKILL ends it");

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int ok = 1;
		pid_t leader;

		ok &= setsid() == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
		leader = getpid();
		errno = 0;
		ok &= setsid() == -1 && errno == EPERM;
		/* A new group in the new session; kill(0) reaches only it. */
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			for (;;)
				pause();
		}
		signal(SIGUSR1, SIG_IGN);
		kill(0, SIGUSR1);
		ok &= status_of(pid) == 128 + SIGUSR1;
		ok &= getsid(0) == leader;
		_exit(ok ? 0 : 1);
	}
	tst_check(status_of(pid) == 0,
		  "setsid makes a new session; a second setsid is EPERM; kill(0) reaches the group");

	r = setpgid(0x3ffffffe, 0);
	tst_libc_err("setpgid of a process that does not exist", r, errno, ESRCH);
	r = setpgid(0, -1);
	tst_libc_err("setpgid to a negative group", r, errno, EINVAL);
	r = kill(0x3fffffff, 0);
	tst_libc_err("kill of a pid that does not exist", r, errno, ESRCH);
	r = kill(getpid(), 65);
	tst_libc_err("kill with signal 65", r, errno, EINVAL);
	r = kill(getpid(), 0);
	tst_check(r == 0, "kill(self, 0) checks existence");
	return tst_exit();
}
