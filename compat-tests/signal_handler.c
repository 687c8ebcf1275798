// Signal handlers installed with sigaction run, in the sending thread, before the call that
// sent the signal to the process itself returns. An SA_SIGINFO handler sees si_signo, the
// si_code of the sender (SI_TKILL for raise() and tgkill, SI_USER for kill, SI_QUEUE with
// the value for sigqueue), si_pid = getpid() and si_uid = getuid(), and a non-NULL
// ucontext. A plain sa_handler gets the signal number. After the handler returns, the
// interrupted code goes on with its locals intact. sigaction reads back the installed
// handler; ignored signals and signals whose default is to ignore (SIGURG, SIGWINCH,
// SIGCHLD) run nothing and do no harm; signal 0 and out-of-range numbers are refused.
#include "tst_thread.h"

struct seen {
	int calls;
	int signo, arg_signo, code;
	pid_t pid;
	uid_t uid;
	int value;
	int has_ctx;
	long tid;
};

static volatile struct seen seen;

static void on_info(int sig, siginfo_t *si, void *ctx)
{
	seen.calls++;
	seen.arg_signo = sig;
	seen.signo = si->si_signo;
	seen.code = si->si_code;
	seen.pid = si->si_pid;
	seen.uid = si->si_uid;
	seen.value = si->si_value.sival_int;
	seen.has_ctx = ctx != NULL;
	seen.tid = tst_gettid();
}

static volatile int plain_calls, plain_sig;

static void on_plain(int sig)
{
	plain_calls++;
	plain_sig = sig;
}

static void reset(void)
{
	memset((void *)&seen, 0, sizeof(seen));
}

static int install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static const char *code_name(int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "another code";
	}
}

static void expect(const char *how, int sig, int code)
{
	tst_checkf(seen.calls == 1, "%s: the handler ran once before the call returned", how);
	tst_checkf(seen.arg_signo == sig && seen.signo == sig,
		   "%s: the handler's signal number and si_signo are the signal", how);
	if (seen.code == code)
		tpass("%s: si_code is %s", how, code_name(code));
	else
		tfail("%s: si_code is %s (%d), want %s", how, code_name(seen.code), seen.code,
		      code_name(code));
	tst_checkf(seen.pid == getpid() && seen.uid == getuid(),
		   "%s: si_pid is getpid() and si_uid getuid()", how);
	tst_checkf(seen.has_ctx, "%s: the handler got a ucontext", how);
	tst_checkf(seen.tid == tst_gettid(), "%s: the handler ran in the sending thread", how);
}

int main(void)
{
	struct sigaction old;
	volatile long local = 0x5eed;
	union sigval v;
	long r;

	tst_watchdog(20, "signal_handler");
	tst_check(install(SIGUSR1) == 0 && install(SIGUSR2) == 0 && install(SIGRTMIN) == 0,
		  "sigaction(SA_SIGINFO) for SIGUSR1, SIGUSR2 and SIGRTMIN");
	tst_check(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_sigaction == on_info &&
			  (old.sa_flags & SA_SIGINFO),
		  "sigaction reads back the handler and SA_SIGINFO");

	reset();
	r = raise(SIGUSR1);
	tst_check(r == 0, "raise(SIGUSR1) returns 0");
	expect("raise(SIGUSR1)", SIGUSR1, SI_TKILL);
	tst_check(local == 0x5eed, "locals are intact after the handler returned");

	reset();
	r = kill(getpid(), SIGUSR2);
	tst_check(r == 0, "kill(getpid(), SIGUSR2) returns 0");
	expect("kill(getpid(), SIGUSR2)", SIGUSR2, SI_USER);

	reset();
	r = sys3(SYS_tgkill, getpid(), tst_gettid(), SIGUSR1);
	tst_check(r == 0, "tgkill(getpid(), gettid(), SIGUSR1) returns 0");
	expect("tgkill", SIGUSR1, SI_TKILL);

	reset();
	r = sys3(SYS_tkill, tst_gettid(), SIGUSR2, 0);
	tst_check(r == 0, "tkill(gettid(), SIGUSR2) returns 0");
	expect("tkill", SIGUSR2, SI_TKILL);

	reset();
	v.sival_int = 4242;
	r = sigqueue(getpid(), SIGRTMIN, v);
	tst_check(r == 0, "sigqueue(getpid(), SIGRTMIN, 4242) returns 0");
	expect("sigqueue", SIGRTMIN, SI_QUEUE);
	tst_check(seen.value == 4242, "sigqueue: si_value is 4242");

	tst_check(signal(SIGUSR1, on_plain) != SIG_ERR, "signal(SIGUSR1, plain handler)");
	raise(SIGUSR1);
	raise(SIGUSR1);
	tst_check(plain_calls == 2 && plain_sig == SIGUSR1,
		  "the plain handler ran for each of 2 raises with the signal number");

	reset();
	signal(SIGUSR2, SIG_IGN);
	tst_check(raise(SIGUSR2) == 0 && seen.calls == 0, "a SIG_IGN signal runs nothing");
	signal(SIGURG, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	tst_check(raise(SIGURG) == 0 && raise(SIGWINCH) == 0 && raise(SIGCHLD) == 0,
		  "SIGURG, SIGWINCH and SIGCHLD with the default action are ignored");

	tst_raw_err("rt_sigaction(0)", sys4(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL);
	tst_raw_err("rt_sigaction(65)", sys4(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL);
	tst_raw_err("rt_sigaction(SIGKILL) with a handler",
		    sigaction(SIGKILL, &old, NULL) == -1 ? -errno : 0, EINVAL);
	tst_raw_err("rt_sigaction(SIGSTOP) with a handler",
		    sigaction(SIGSTOP, &old, NULL) == -1 ? -errno : 0, EINVAL);
	return tst_exit();
}
