// Waiting for signals. rt_sigtimedwait takes a blocked, pending signal without running its
// handler and reports its siginfo; with nothing pending it is EAGAIN at once for a zero
// timeout and after the timeout otherwise; queued real-time signals come back one per call
// in sending order; it blocks until another thread's kill() arrives (with a 5 s timeout, so a
// process-directed signal that never reaches the waiter fails instead of hanging), and
// sigwaitinfo and sigwait block until another thread's pthread_kill() arrives. sigsuspend
// runs the handler of a signal its mask lets through, returns EINTR and puts the old mask
// back; in the handler uc_sigmask is the mask from before sigsuspend. It also blocks until a
// signal from another thread arrives. Bad timeouts and sigset sizes are EINVAL.
#include "tst_thread.h"

#include <ucontext.h>

static volatile int handler_calls;
static volatile int uc_has_usr1;

static void on_sig(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	handler_calls++;
	uc_has_usr1 = sigismember(&uc->uc_sigmask, SIGUSR1);
}

static pthread_t main_thread;
static int send_how, send_sig;

static void *sender(void *arg)
{
	(void)arg;
	tst_sleep_ms(30);
	if (send_how == 0)
		kill(getpid(), send_sig);
	else
		pthread_kill(main_thread, send_sig);
	return NULL;
}

static int start_sender(pthread_t *t, int how, int sig)
{
	send_how = how;
	send_sig = sig;
	if (pthread_create(t, NULL, sender, NULL) != 0) {
		tfail("pthread_create");
		return 0;
	}
	return 1;
}

static void one(sigset_t *s, int sig)
{
	sigemptyset(s);
	sigaddset(s, sig);
}

static void check_timedwait(void)
{
	struct timespec zero = { 0, 0 }, twenty = { 0, 20000000 }, bad = { 0, 1000000000 };
	siginfo_t si;
	sigset_t s, p;
	union sigval v;
	int64_t t0, el;
	int r, e, order = 1;

	one(&s, SIGUSR1);
	raise(SIGUSR1);
	memset(&si, 0, sizeof(si));
	/* Raw: glibc's sigtimedwait rewrites SI_TKILL to SI_USER. */
	r = (int)sys4(SYS_rt_sigtimedwait, &s, &si, &zero, 8);
	tst_check(r == SIGUSR1, "rt_sigtimedwait takes a pending blocked SIGUSR1");
	tst_check(si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == getpid(),
		  "its siginfo has si_signo, SI_TKILL and si_pid");
	tst_check(handler_calls == 0, "the handler did not run");
	sigpending(&p);
	tst_check(!sigismember(&p, SIGUSR1), "the signal is no longer pending");

	r = sigtimedwait(&s, &si, &zero);
	e = errno;
	tst_libc_err("sigtimedwait with nothing pending and a zero timeout", r, e, EAGAIN);
	t0 = tst_now_ns();
	r = sigtimedwait(&s, &si, &twenty);
	e = errno;
	el = tst_now_ns() - t0;
	tst_libc_err("sigtimedwait with nothing pending and a 20 ms timeout", r, e, EAGAIN);
	tst_check(el >= 20000000, "it waited at least 20 ms");

	one(&s, SIGRTMIN);
	for (int i = 1; i <= 3; i++) {
		v.sival_int = 10 * i;
		sigqueue(getpid(), SIGRTMIN, v);
	}
	for (int i = 1; i <= 3; i++) {
		r = sigtimedwait(&s, &si, &zero);
		order &= r == SIGRTMIN && si.si_code == SI_QUEUE && si.si_value.sival_int == 10 * i;
	}
	tst_check(order, "3 queued SIGRTMIN come back from sigtimedwait in order with values");
	r = sigtimedwait(&s, &si, &zero);
	tst_check(r == -1 && errno == EAGAIN, "and then none is left");

	tst_raw_err("rt_sigtimedwait with tv_nsec = 1e9",
		    sys4(SYS_rt_sigtimedwait, &s, NULL, &bad, 8), EINVAL);
	tst_raw_err("rt_sigtimedwait with sigsetsize 4",
		    sys4(SYS_rt_sigtimedwait, &s, NULL, &zero, 4), EINVAL);
}

static void check_blocking_wait(void)
{
	struct timespec five = { 5, 0 };
	pthread_t t;
	siginfo_t si;
	sigset_t s;
	int sig = 0, r;

	one(&s, SIGUSR2);
	if (!start_sender(&t, 0, SIGUSR2))
		return;
	memset(&si, 0, sizeof(si));
	r = sigtimedwait(&s, &si, &five);
	pthread_join(t, NULL);
	tst_check(r == SIGUSR2 && si.si_code == SI_USER && si.si_pid == getpid(),
		  "sigtimedwait blocks until another thread's kill(getpid(), SIGUSR2): SI_USER");

	if (!start_sender(&t, 1, SIGUSR2))
		return;
	memset(&si, 0, sizeof(si));
	r = sigwaitinfo(&s, &si);
	pthread_join(t, NULL);
	tst_check(r == SIGUSR2 && si.si_pid == getpid(),
		  "sigwaitinfo blocks until another thread's pthread_kill");

	if (!start_sender(&t, 1, SIGUSR2))
		return;
	r = sigwait(&s, &sig);
	pthread_join(t, NULL);
	tst_check(r == 0 && sig == SIGUSR2, "sigwait blocks until another thread's pthread_kill");
	tst_check(handler_calls == 0, "no handler ran for signals taken by waiting");
}

static void check_suspend(void)
{
	sigset_t s, empty, cur;
	pthread_t t;
	int r, e;

	sigemptyset(&empty);
	raise(SIGUSR1); /* blocked: stays pending */
	handler_calls = 0;
	r = sigsuspend(&empty);
	e = errno;
	tst_libc_err("sigsuspend with SIGUSR1 pending and let through", r, e, EINTR);
	tst_check(handler_calls == 1, "the SIGUSR1 handler ran once");
	tst_check(uc_has_usr1, "in the handler uc_sigmask is the mask from before sigsuspend");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	tst_check(sigismember(&cur, SIGUSR1), "after sigsuspend SIGUSR1 is blocked again");

	handler_calls = 0;
	if (!start_sender(&t, 1, SIGUSR1))
		return;
	one(&s, SIGUSR2);
	r = sigsuspend(&s);
	e = errno;
	pthread_join(t, NULL);
	tst_libc_err("sigsuspend until another thread's pthread_kill(SIGUSR1)", r, e, EINTR);
	tst_check(handler_calls == 1, "the SIGUSR1 handler ran once");
}

int main(void)
{
	struct sigaction sa;
	sigset_t s;

	tst_watchdog(20, "signal_wait");
	main_thread = pthread_self();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	/* Blocked before any thread is made, so every thread (sender included) blocks them. */
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &s, NULL);

	check_timedwait();
	check_blocking_wait();
	check_suspend();
	return tst_exit();
}
