// Signals from a pseudo-terminal to its foreground process group. A child makes a new
// session, takes the slave as its controlling terminal (TIOCSCTTY) and is the foreground
// group; the parent types on the master. With ISIG, ^C, ^\ and ^Z raise SIGINT, SIGQUIT and
// SIGTSTP and throw away the partial line (not with NOFLSH); without ISIG ^C is a byte.
// TIOCSWINSZ with a new size raises SIGWINCH, with the same size nothing. Closing the master
// sends SIGHUP to the session.
#include "tst.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static int master, sync_rd, sync_wr;

/* Child: tells the parent it is ready for the next keys. */
static void ready(void)
{
	if (write(sync_wr, "R", 1) != 1)
		_exit(3);
}

/* Child: the first of the blocked signals to arrive within a second (0 if none). */
static int wait_signal(void)
{
	sigset_t set;
	struct timespec ts = {1, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGHUP);
	int s = sigtimedwait(&set, NULL, &ts);
	return s < 0 ? 0 : s;
}

/* Child: whether any of the blocked signals is pending. */
static int none_pending(void)
{
	sigset_t set;

	sigpending(&set);
	return !sigismember(&set, SIGINT) && !sigismember(&set, SIGWINCH);
}

/* Child: reads one canonical line from the slave. */
static int read_line(int fd, char *buf, int len)
{
	int n = read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	return n;
}

static int child(const char *name)
{
	sigset_t set;
	struct termios t;
	struct winsize ws = {24, 80, 0, 0};
	char buf[64];
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	close(master);
	if (setsid() < 0)
		return 10;
	fd = open(name, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) != 0)
		return 11;
	tst_check(tcgetpgrp(fd) == getpgrp(), "the child's group is the foreground group");

	ready(); /* "abc^C" */
	tst_check(wait_signal() == SIGINT, "^C raises SIGINT");
	ready(); /* "x\n" */
	tst_check(read_line(fd, buf, sizeof(buf)) == 2 && strcmp(buf, "x\n") == 0,
		  "the partial line before ^C was thrown away");
	ready(); /* "^\" */
	tst_check(wait_signal() == SIGQUIT, "^\\ raises SIGQUIT");
	ready(); /* "^Z" */
	tst_check(wait_signal() == SIGTSTP, "^Z raises SIGTSTP");

	tcgetattr(fd, &t);
	t.c_lflag |= NOFLSH;
	tcsetattr(fd, TCSANOW, &t);
	ready(); /* "ab^C" */
	tst_check(wait_signal() == SIGINT, "^C with NOFLSH raises SIGINT");
	ready(); /* "c\n" */
	tst_check(read_line(fd, buf, sizeof(buf)) == 4 && strcmp(buf, "abc\n") == 0,
		  "with NOFLSH the line is kept");

	t.c_lflag &= ~(tcflag_t)(ISIG | NOFLSH);
	tcsetattr(fd, TCSANOW, &t);
	ready(); /* "^C\n" */
	tst_check(read_line(fd, buf, sizeof(buf)) == 2 && buf[0] == 3 && buf[1] == '\n',
		  "without ISIG ^C is read as a byte");
	tst_check(none_pending(), "and raises nothing");

	tst_check(ioctl(fd, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ 24x80");
	tst_check(wait_signal() == SIGWINCH, "a new size raises SIGWINCH");
	tst_check(ioctl(fd, TIOCSWINSZ, &ws) == 0 && none_pending(),
		  "the same size again raises nothing");
	ws.ws_col = 100;
	ready(); /* the parent resizes through the master */
	tst_check(wait_signal() == SIGWINCH, "a resize through the master raises SIGWINCH");
	ready(); /* the parent closes the master */
	tst_check(wait_signal() == SIGHUP, "closing the master hangs up the session: SIGHUP");
	return tst_exit();
}

int main(void)
{
	static const char *keys[] = {"abc\003", "x\n", "\034", "\032", "ab\003", "c\n", "\003\n",
				     NULL};
	struct winsize ws = {24, 100, 0, 0};
	int sync[2], st, i;
	char c;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || pipe(sync) != 0) {
		tfail("posix_openpt: %s", tst_errname(errno));
		return tst_exit();
	}
	sync_rd = sync[0];
	sync_wr = sync[1];
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child(ptsname(master)));
	close(sync_wr);
	for (i = 0; keys[i]; i++) {
		if (read(sync_rd, &c, 1) != 1)
			break;
		if (write(master, keys[i], strlen(keys[i])) != (ssize_t)strlen(keys[i]))
			tfail("write keys %d: %s", i, tst_errname(errno));
	}
	if (read(sync_rd, &c, 1) == 1)
		ioctl(master, TIOCSWINSZ, &ws);
	if (read(sync_rd, &c, 1) != 1)
		tfail("the child stopped early");
	close(master);
	tst_check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the child passed its checks");
	return tst_exit();
}
