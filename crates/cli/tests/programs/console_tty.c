// The console as the app's controlling terminal, typed on: the host test puts a pty in raw
// mode on oxv's stdin and types each key once the program says it is ready. A typed ^C, ^Z
// and ^\ raise SIGINT, SIGTSTP and SIGQUIT on the foreground group while it computes (it
// never reads); without ISIG ^C is a byte; a background group's read stops it with SIGTTIN
// and its tcsetattr with SIGTTOU.
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static volatile sig_atomic_t got;
static int fails;

static void on_signal(int sig)
{
	got = sig;
}

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fflush(stdout);
	if (!ok)
		fails++;
}

/* Says `prompt`, then computes (no read) until a signal comes, for at most 60 s. */
static int busy_until_signal(const char *prompt)
{
	time_t end = time(NULL) + 60;

	got = 0;
	printf("%s\n", prompt);
	fflush(stdout);
	while (!got && time(NULL) < end)
		;
	return got;
}

static void read_stdin(void)
{
	char c;

	if (read(0, &c, 1) < 0)
		_exit(2);
}

static void set_attributes(void)
{
	struct termios t;

	tcgetattr(0, &t);
	tcsetattr(0, TCSANOW, &t);
}

/* Runs `fn` in a child in a background group: the signal that stopped it, or 0. */
static int stopped_by(void (*fn)(void))
{
	int st, sig;
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		fn();
		_exit(0);
	}
	setpgid(pid, pid);
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
		return 0;
	sig = WSTOPSIG(st);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return sig;
}

int main(void)
{
	struct termios t;
	char c = 0;

	check(isatty(0), "stdin is a terminal");
	check(getpid() == 1 && tcgetpgrp(0) == getpgrp(), "the app's group is in the foreground");
	check(tcgetsid(0) == getsid(0), "the console is the controlling terminal of its session");
	signal(SIGINT, on_signal);
	signal(SIGTSTP, on_signal);
	signal(SIGQUIT, on_signal);
	check(busy_until_signal("ready-intr") == SIGINT, "a typed ^C raises SIGINT on a busy app");
	check(busy_until_signal("ready-susp") == SIGTSTP, "a typed ^Z raises SIGTSTP");
	check(busy_until_signal("ready-quit") == SIGQUIT, "a typed ^\\ raises SIGQUIT");
	tcgetattr(0, &t);
	t.c_lflag &= ~ISIG;
	check(tcsetattr(0, TCSANOW, &t) == 0, "ISIG off");
	printf("ready-raw\n");
	fflush(stdout);
	check(read(0, &c, 1) == 1 && c == 3, "without ISIG a typed ^C is a byte");
	check(stopped_by(read_stdin) == SIGTTIN, "a background read stops its group with SIGTTIN");
	check(stopped_by(set_attributes) == SIGTTOU,
	      "a background tcsetattr stops its group with SIGTTOU");
	return fails ? 1 : 0;
}
