// Blocking and pending signals. A blocked SIGUSR1 raised 3 times runs no handler, shows in
// sigpending, and unblocking delivers it exactly once (standard signals do not queue),
// before sigprocmask returns; pending both for the thread and for the process, it is
// delivered twice (Linux keeps the two pending sets apart). Real-time signals queue:
// SIGRTMIN sent 3 times with sigqueue while blocked runs 3 times on unblock, values in
// sending order, and the lower-numbered SIGRTMIN comes before a pending SIGRTMIN+1. Setting
// SIG_IGN discards a pending signal. SIG_BLOCK, SIG_UNBLOCK and SIG_SETMASK combine as
// documented; SIGKILL and SIGSTOP are never blocked; a bad `how` or sigsetsize is EINVAL. A
// new thread inherits its creator's mask, and a thread's mask changes are its own.
#include "tst_thread.h"

static volatile int usr1_calls, usr2_calls, rt_n;
static volatile int rt_order[8], rt_values[8];

static void on_usr1(int sig)
{
	(void)sig;
	usr1_calls++;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_calls++;
}

static void on_rt(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (rt_n < 8) {
		rt_order[rt_n] = sig;
		rt_values[rt_n] = si->si_value.sival_int;
	}
	rt_n++;
}

static int blocked(int sig)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

static int pending(int sig)
{
	sigset_t p;

	sigemptyset(&p);
	sigpending(&p);
	return sigismember(&p, sig);
}

static void one(sigset_t *s, int sig)
{
	sigemptyset(s);
	sigaddset(s, sig);
}

static void check_coalesce(void)
{
	sigset_t s;

	one(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	/* All three to the thread: Linux keeps a thread's and the process's pending sets apart. */
	raise(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	tst_check(usr1_calls == 0, "a blocked SIGUSR1 raised 3 times runs no handler");
	tst_check(pending(SIGUSR1), "sigpending shows it");
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	tst_check(usr1_calls == 1,
		  "unblocking delivers it exactly once, before sigprocmask returns");
	tst_check(!pending(SIGUSR1), "it is no longer pending");

	usr1_calls = 0;
	sigprocmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	tst_check(usr1_calls == 2,
		  "pending for the thread (raise) and the process (kill) it is delivered twice");
}

static void check_rt_queue(void)
{
	struct sigaction sa;
	sigset_t s;
	union sigval v;
	int order = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	/* Both blocked in the handler, so one runs at a time and the order is the queue's. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGRTMIN);
	sigaddset(&sa.sa_mask, SIGRTMIN + 1);
	sigaction(SIGRTMIN, &sa, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	v.sival_int = 99;
	sigqueue(getpid(), SIGRTMIN + 1, v);
	for (int i = 1; i <= 3; i++) {
		v.sival_int = i;
		sigqueue(getpid(), SIGRTMIN, v);
	}
	tst_check(rt_n == 0 && pending(SIGRTMIN) && pending(SIGRTMIN + 1),
		  "blocked real-time signals are pending, no handler ran");
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	tst_check(rt_n == 4, "unblocking runs the handler 4 times (real-time signals queue)");
	for (int i = 0; i < 3; i++)
		order &= rt_order[i] == SIGRTMIN && rt_values[i] == i + 1;
	tst_check(order, "SIGRTMIN's 3 instances came first, values 1, 2, 3 in sending order");
	tst_check(rt_order[3] == SIGRTMIN + 1 && rt_values[3] == 99,
		  "then SIGRTMIN+1 with its value");
}

static void check_ignore_discards(void)
{
	sigset_t s;

	one(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR2);
	tst_check(pending(SIGUSR2), "a blocked SIGUSR2 is pending");
	signal(SIGUSR2, SIG_IGN);
	tst_check(!pending(SIGUSR2), "setting SIG_IGN discards it");
	signal(SIGUSR2, on_usr2);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	tst_check(usr2_calls == 0, "unblocking later delivers nothing");
}

static void check_how(void)
{
	sigset_t s, old, all;
	long r;

	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	one(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	one(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, &old);
	tst_check(sigismember(&old, SIGUSR1) && !sigismember(&old, SIGUSR2),
		  "SIG_BLOCK adds and returns the old mask");
	tst_check(blocked(SIGUSR1) && blocked(SIGUSR2), "both are blocked");
	one(&s, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	tst_check(!blocked(SIGUSR1) && blocked(SIGUSR2), "SIG_UNBLOCK removes only SIGUSR1");
	one(&s, SIGTERM);
	sigprocmask(SIG_SETMASK, &s, NULL);
	tst_check(blocked(SIGTERM) && !blocked(SIGUSR2), "SIG_SETMASK replaces the mask");
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	tst_check(!blocked(SIGKILL) && !blocked(SIGSTOP),
		  "blocking everything leaves SIGKILL and SIGSTOP unblocked");
	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	r = sys4(SYS_rt_sigprocmask, 3, &s, NULL, 8);
	tst_raw_err("rt_sigprocmask with how = 3", r, EINVAL);
	r = sys4(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4);
	tst_raw_err("rt_sigprocmask with sigsetsize 4", r, EINVAL);
	r = sys4(SYS_rt_sigpending, &s, 16, 0, 0);
	tst_raw_err("rt_sigpending with sigsetsize 16", r, EINVAL);
}

static volatile int child_inherited, child_changed;

static void *mask_child(void *arg)
{
	sigset_t s;

	(void)arg;
	child_inherited = blocked(SIGUSR1) && !blocked(SIGUSR2);
	one(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	one(&s, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	child_changed = blocked(SIGUSR2) && !blocked(SIGUSR1);
	return NULL;
}

static void check_threads(void)
{
	pthread_t t;
	sigset_t s;

	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	one(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	if (pthread_create(&t, NULL, mask_child, NULL) != 0) {
		tfail("pthread_create");
		return;
	}
	pthread_join(t, NULL);
	tst_check(child_inherited, "a new thread inherits its creator's mask");
	tst_check(child_changed, "the thread changed its own mask");
	tst_check(blocked(SIGUSR1) && !blocked(SIGUSR2), "the creator's mask is unchanged");
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

int main(void)
{
	tst_watchdog(20, "signal_mask");
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	check_coalesce();
	check_rt_queue();
	check_ignore_discards();
	check_how();
	check_threads();
	return tst_exit();
}
