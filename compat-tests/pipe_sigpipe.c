// oxv-exit: 141
//
// Writing to a pipe whose read ends are all closed: EPIPE, and SIGPIPE to the writer. With
// SIGPIPE ignored the write just fails; with a handler, the handler runs once, with si_code
// SI_USER and si_pid the process's own, before write returns EPIPE; blocked, the signal stays
// pending. A read end kept by dup holds the pipe open. Last, with the default action, the
// process dies of SIGPIPE (exit status 128 + 13).
#include "tst_fd.h"

#include <fcntl.h>
#include <signal.h>

static volatile int calls, code, pid_ok;

static void on_pipe(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	calls++;
	code = si->si_code;
	pid_ok = si->si_pid == getpid();
}

static const char *ename(long e)
{
	return e == EPIPE ? "EPIPE" : tst_errname(e);
}

static void expect_epipe(const char *what, long r, int e)
{
	if (r == -1 && e == EPIPE)
		tpass("%s -> EPIPE", what);
	else
		tfail("%s: returned %ld (%s)", what, r, r == -1 ? ename(e) : "ok");
}

int main(void)
{
	struct sigaction sa;
	sigset_t s, pend;
	int p[2], r2;
	long r;

	if (pipe(p) != 0)
		return 1;
	r2 = dup(p[0]);
	close(p[0]);
	tst_check(write(p[1], "x", 1) == 1, "a dup'ed read end keeps the pipe writable");
	close(r2);

	signal(SIGPIPE, SIG_IGN);
	r = write(p[1], "x", 1);
	expect_epipe("write with SIGPIPE ignored", r, errno);
	r = write(p[1], "", 0);
	tst_check(r == 0, "a zero-length write returns 0 without EPIPE");

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_pipe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGPIPE, &sa, NULL);
	r = write(p[1], "x", 1);
	expect_epipe("write with a SIGPIPE handler", r, errno);
	tst_check(calls == 1, "the handler ran once");
	tst_check(code == SI_USER && pid_ok, "si_code SI_USER, si_pid is our pid");

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	sigprocmask(SIG_BLOCK, &s, NULL);
	r = write(p[1], "x", 1);
	expect_epipe("write with SIGPIPE blocked", r, errno);
	sigpending(&pend);
	tst_check(sigismember(&pend, SIGPIPE), "SIGPIPE is pending");
	signal(SIGPIPE, SIG_IGN); /* discards the pending one */
	sigprocmask(SIG_UNBLOCK, &s, NULL);

	signal(SIGPIPE, SIG_DFL);
	tpass("writing with the default action now: the process dies of SIGPIPE");
	r = write(p[1], "x", 1);
	tfail("still alive after write returned %ld", r);
	return tst_exit();
}
