// Signals and threads. pthread_kill (tgkill) to a sleeping thread runs the handler in that
// thread (gettid in the handler is its tid), not in the sender. A process-directed kill()
// goes to the one thread that does not block the signal. A signal pthread_kill'ed to a thread
// that blocks it is pending in that thread only (sigpending in another thread does not show
// it) and runs there when it unblocks; a process-directed one is pending for every thread
// and runs in whichever unblocks it first. tgkill with another tgid, or to a thread that has
// exited, is ESRCH; signal 0 probes a live thread.
#include "tst_thread.h"

#include <stdatomic.h>

static volatile long handler_tid;
static atomic_int handler_calls;

static void on_sig(int sig)
{
	(void)sig;
	handler_tid = tst_gettid();
	atomic_fetch_add(&handler_calls, 1);
}

struct worker {
	pthread_t thread;
	atomic_long tid;
	atomic_int unblock; /* 1: unblock SIGUSR2 now */
	atomic_int stop;
	atomic_int pending_usr1, pending_usr2, checked;
	atomic_int check_pending;
};

static struct worker w;

static int pending(int sig)
{
	sigset_t p;

	sigemptyset(&p);
	sigpending(&p);
	return sigismember(&p, sig);
}

static void *worker_main(void *arg)
{
	sigset_t s;

	(void)arg;
	atomic_store(&w.tid, tst_gettid());
	while (!atomic_load(&w.stop)) {
		if (atomic_exchange(&w.check_pending, 0)) {
			atomic_store(&w.pending_usr1, pending(SIGUSR1));
			atomic_store(&w.pending_usr2, pending(SIGUSR2));
			atomic_store(&w.checked, 1);
		}
		if (atomic_exchange(&w.unblock, 0)) {
			sigemptyset(&s);
			sigaddset(&s, SIGUSR1);
			sigaddset(&s, SIGUSR2);
			pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		}
		tst_sleep_ms(2);
	}
	return NULL;
}

/* Waits (up to 5 s) until the handler has run n times in total. */
static int wait_calls(int n)
{
	for (int i = 0; i < 500 && atomic_load(&handler_calls) < n; i++)
		tst_sleep_ms(10);
	tst_sleep_ms(10);
	return atomic_load(&handler_calls);
}

static int worker_pending(int *usr1, int *usr2)
{
	atomic_store(&w.checked, 0);
	atomic_store(&w.check_pending, 1);
	for (int i = 0; i < 500 && !atomic_load(&w.checked); i++)
		tst_sleep_ms(10);
	*usr1 = atomic_load(&w.pending_usr1);
	*usr2 = atomic_load(&w.pending_usr2);
	return atomic_load(&w.checked);
}

static void block(int how, int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, NULL);
}

int main(void)
{
	int u1, u2;
	long dead_tid;

	tst_watchdog(20, "signal_thread");
	signal(SIGUSR1, on_sig);
	signal(SIGUSR2, on_sig);

	/* The first worker starts with nothing blocked; main blocks SIGUSR2 afterwards. */
	if (pthread_create(&w.thread, NULL, worker_main, NULL) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	while (!atomic_load(&w.tid))
		tst_sleep_ms(1);
	block(SIG_BLOCK, SIGUSR2);

	tst_check(pthread_kill(w.thread, 0) == 0, "pthread_kill(thread, 0) probes a live thread");
	handler_tid = 0;
	tst_check(pthread_kill(w.thread, SIGUSR1) == 0, "pthread_kill(thread, SIGUSR1)");
	tst_check(wait_calls(1) == 1, "the handler ran once");
	tst_check(handler_tid == atomic_load(&w.tid),
		  "it ran in the target thread (gettid in the handler is the thread's)");

	handler_tid = 0;
	kill(getpid(), SIGUSR2);
	tst_check(wait_calls(2) == 2,
		  "kill(getpid(), SIGUSR2) blocked in main: the handler ran once");
	tst_check(handler_tid == atomic_load(&w.tid), "it ran in the only thread not blocking it");

	/* A second worker, created while main blocks both, inherits that mask. */
	block(SIG_BLOCK, SIGUSR1);
	atomic_store(&handler_calls, 0);
	atomic_store(&w.stop, 1);
	pthread_join(w.thread, NULL);
	memset((void *)&w, 0, sizeof(w));
	if (pthread_create(&w.thread, NULL, worker_main, NULL) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	while (!atomic_load(&w.tid))
		tst_sleep_ms(1);

	pthread_kill(w.thread, SIGUSR1);
	tst_check(worker_pending(&u1, &u2) && u1 && !u2,
		  "SIGUSR1 sent to a thread that blocks it is pending in that thread");
	tst_check(!pending(SIGUSR1), "...and not in main's sigpending");
	kill(getpid(), SIGUSR2);
	tst_check(pending(SIGUSR2),
		  "a process-directed SIGUSR2 all threads block: pending in main");
	tst_check(worker_pending(&u1, &u2) && u2, "...and in the worker's sigpending");
	tst_check(atomic_load(&handler_calls) == 0, "no handler ran while all block them");
	handler_tid = 0;
	atomic_store(&w.unblock, 1);
	tst_check(wait_calls(2) == 2, "the worker unblocks both: 2 handler runs");
	tst_check(handler_tid == atomic_load(&w.tid), "in the worker");
	tst_check(!pending(SIGUSR2), "the process-directed one is no longer pending in main");

	dead_tid = atomic_load(&w.tid);
	tst_raw_err("tgkill(getpid() + 1, live tid)", sys3(SYS_tgkill, getpid() + 1, dead_tid, 0),
		    ESRCH);
	atomic_store(&w.stop, 1);
	pthread_join(w.thread, NULL);
	tst_sleep_ms(20);
	tst_raw_err("tgkill to a thread that exited", sys3(SYS_tgkill, getpid(), dead_tid, SIGUSR1),
		    ESRCH);
	block(SIG_UNBLOCK, SIGUSR1);
	block(SIG_UNBLOCK, SIGUSR2);
	return tst_exit();
}
