// Terminal job control (termios(3) "TOSTOP", tty_ioctl(4), credentials(7)): a child makes a
// new session with a pty slave as its controlling terminal; grandchildren in a background
// process group touch the terminal. A background read raises SIGTTIN on the group (EINTR
// after a handler, SI_KERNEL), or fails with EIO when SIGTTIN is ignored or blocked. A
// background write proceeds, unless TOSTOP is set: then SIGTTOU (a write with SIGTTOU ignored
// or blocked proceeds). tcsetattr (on the slave or the master), tcsetpgrp and tcflush from the
// background raise SIGTTOU; with SIGTTOU blocked or ignored they proceed. With the default
// action a background read stops the group; once it is the foreground group, SIGCONT restarts
// the read. A background group that is orphaned gets EIO (ENOTTY from tcsetpgrp) and no
// signal.
#include "tst.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static int master, slave;
static volatile sig_atomic_t got_sig, got_code;

static void on_sig(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	got_code = si->si_code;
}

enum how { DEFAULT, IGNORE, HANDLE, BLOCK };

/* Sets how this process takes `sig` (a handler without SA_RESTART: calls fail with EINTR). */
static void take(int sig, enum how how)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = how == IGNORE ? SIG_IGN : SIG_DFL;
	if (how == HANDLE) {
		sa.sa_sigaction = on_sig;
		sa.sa_flags = SA_SIGINFO;
	}
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(how == BLOCK ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	got_sig = 0;
	got_code = 0;
}

static int pending(int sig)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, sig);
}

/* Whether a call failed with EINTR after the handler took `sig` from the terminal. */
static int signalled(long ret, int err, int sig)
{
	return ret == -1 && err == EINTR && got_sig == sig && got_code == SI_KERNEL;
}

static void bg_read_handled(void)
{
	char c;
	long n;

	take(SIGTTIN, HANDLE);
	n = read(slave, &c, 1);
	tst_check(signalled(n, errno, SIGTTIN), "background read: SIGTTIN (SI_KERNEL), EINTR");
	tst_check(tcgetpgrp(slave) != getpgrp(), "tcgetpgrp works from the background");
}

static void bg_read_ignored(void)
{
	char c;
	long n;

	take(SIGTTIN, IGNORE);
	n = read(slave, &c, 1);
	tst_libc_err("background read with SIGTTIN ignored", n, errno, EIO);
	take(SIGTTIN, BLOCK);
	n = read(slave, &c, 1);
	tst_libc_err("background read with SIGTTIN blocked", n, errno, EIO);
	tst_check(!pending(SIGTTIN), "and SIGTTIN is not sent");
}

static void bg_write(void)
{
	long n = write(slave, "w", 1);

	tst_check(n == 1, "background write without TOSTOP proceeds");
}

static void bg_write_tostop(void)
{
	long n;

	take(SIGTTOU, HANDLE);
	n = write(slave, "w", 1);
	tst_check(signalled(n, errno, SIGTTOU), "background write with TOSTOP: SIGTTOU, EINTR");
	take(SIGTTOU, IGNORE);
	tst_check(write(slave, "w", 1) == 1, "with SIGTTOU ignored the write proceeds");
	take(SIGTTOU, BLOCK);
	tst_check(write(slave, "w", 1) == 1, "with SIGTTOU blocked the write proceeds");
	tst_check(pending(SIGTTOU) == 0, "and SIGTTOU is not sent");
}

static void bg_ioctls(void)
{
	struct termios t;
	long r;

	tst_check(tcgetattr(slave, &t) == 0, "tcgetattr works from the background");
	take(SIGTTOU, HANDLE);
	r = tcsetattr(slave, TCSANOW, &t);
	tst_check(signalled(r, errno, SIGTTOU), "background tcsetattr: SIGTTOU, EINTR");
	take(SIGTTOU, HANDLE);
	r = tcsetattr(master, TCSANOW, &t);
	tst_check(signalled(r, errno, SIGTTOU), "background tcsetattr on the master: SIGTTOU");
	take(SIGTTOU, HANDLE);
	r = tcsetpgrp(slave, getpgrp());
	tst_check(signalled(r, errno, SIGTTOU), "background tcsetpgrp: SIGTTOU, EINTR");
	take(SIGTTOU, HANDLE);
	r = tcflush(slave, TCIFLUSH);
	tst_check(signalled(r, errno, SIGTTOU), "background tcflush: SIGTTOU, EINTR");
	take(SIGTTOU, HANDLE);
	r = ioctl(slave, TIOCSWINSZ, &(struct winsize){24, 80, 0, 0});
	tst_check(r == 0 && got_sig == 0, "background TIOCSWINSZ proceeds");
	take(SIGTTOU, BLOCK);
	tst_check(tcsetattr(slave, TCSANOW, &t) == 0, "with SIGTTOU blocked tcsetattr proceeds");
	take(SIGTTOU, IGNORE);
	tst_check(tcsetattr(slave, TCSANOW, &t) == 0, "with SIGTTOU ignored tcsetattr proceeds");
}

static void bg_read_stops(void)
{
	char buf[8];
	long n;

	take(SIGTTIN, DEFAULT);
	n = read(slave, buf, sizeof(buf));
	tst_check(n == 2 && memcmp(buf, "x\n", 2) == 0,
		  "after SIGCONT in the foreground the read restarts and reads");
}

/* Runs `fn` in a new background process group; returns its pid (reaped by the caller). */
static pid_t background(void (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		fn();
		fflush(stdout);
		_exit(tst_exit());
	}
	setpgid(pid, pid);
	return pid;
}

static void run_background(void (*fn)(void))
{
	int st;
	pid_t pid = background(fn);

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		tfail("a background child failed");
}

/* The session leader: owns the terminal, runs the background children. */
static int leader(const char *name)
{
	struct termios t;
	char c;
	int st;
	long r;
	pid_t pid;

	if (setsid() < 0)
		return 10;
	slave = open(name, O_RDWR);
	if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
		return 11;
	tst_check(tcgetpgrp(slave) == getpgrp(), "the session leader is the foreground group");

	run_background(bg_read_handled);
	run_background(bg_read_ignored);
	run_background(bg_write);
	tcgetattr(slave, &t);
	t.c_lflag |= TOSTOP;
	tst_check(tcsetattr(slave, TCSANOW, &t) == 0, "the foreground sets TOSTOP");
	run_background(bg_write_tostop);
	run_background(bg_ioctls);

	pid = background(bg_read_stops);
	tst_check(waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTIN,
		  "a background read with SIGTTIN at its default stops the group");
	tst_check(tcsetpgrp(slave, pid) == 0, "the foreground hands the terminal to it");
	tst_check(write(master, "x\n", 2) == 2, "types a line");
	fflush(stdout);
	kill(pid, SIGCONT);
	tst_check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the continued child passed its checks");

	/* Now this process is in the background, and its group is orphaned: its parent is in
	   another session. */
	r = read(slave, &c, 1);
	tst_libc_err("orphaned background read", r, errno, EIO);
	r = write(slave, "w", 1);
	tst_libc_err("orphaned background write with TOSTOP", r, errno, EIO);
	r = tcsetattr(slave, TCSANOW, &t);
	tst_libc_err("orphaned background tcsetattr", r, errno, EIO);
	r = tcsetpgrp(slave, getpgrp());
	tst_libc_err("orphaned background tcsetpgrp", r, errno, ENOTTY);
	take(SIGTTOU, BLOCK);
	tst_check(tcsetpgrp(slave, getpgrp()) == 0 && tcgetpgrp(slave) == getpgrp(),
		  "with SIGTTOU blocked a background tcsetpgrp takes the terminal back");
	take(SIGTTOU, DEFAULT);
	tst_check(write(slave, "w", 1) == 1, "and the foreground writes with TOSTOP");
	return tst_exit();
}

int main(void)
{
	int st;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		tfail("posix_openpt: %s", tst_errname(errno));
		return tst_exit();
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(leader(ptsname(master)));
	tst_check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the session leader passed its checks");
	return tst_exit();
}
