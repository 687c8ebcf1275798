// POSIX timers (timer_create and friends, raw syscalls so the kernel's timer ids are used).
// A CLOCK_MONOTONIC timer with SIGEV_SIGNAL delivers its signal with SI_TIMER and the
// sigev_value; timer_gettime counts down while it is armed and reads zero after a one-shot
// fired; a periodic one fires repeatedly until disarmed (timer_settime returns the old
// setting). An absolute expiry in the past fires at once. SIGEV_NONE counts down without a
// signal. SIGEV_THREAD_ID sends the signal to the named thread (the handler runs there).
// After timer_delete the id is EINVAL; a bad clock is EINVAL.
#include "tst_thread.h"

#include <stdatomic.h>

struct ksigevent {
	long value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};
_Static_assert(sizeof(struct ksigevent) == 64, "struct sigevent is 64 bytes");

struct kitimerspec {
	struct timespec interval, value;
};

#define OXV_SIGEV_SIGNAL 0
#define OXV_SIGEV_NONE 1
#define OXV_SIGEV_THREAD_ID 4
#define OXV_TIMER_ABSTIME 1
#define MS 1000000L

static atomic_int fired;
static volatile int fired_code, fired_value;
static volatile long fired_tid;

static void on_timer(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	fired_code = si->si_code;
	fired_value = si->si_value.sival_int;
	fired_tid = tst_gettid();
	atomic_fetch_add(&fired, 1);
}

static long create(int clock, int notify, int tid, int *id)
{
	struct ksigevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.value = 77;
	ev.signo = SIGRTMIN;
	ev.notify = notify;
	ev.tid = tid;
	return sys3(SYS_timer_create, clock, &ev, id);
}

static long arm(int id, int flags, long value_ns, long interval_ns, struct kitimerspec *old)
{
	struct kitimerspec its = { { interval_ns / 1000000000, interval_ns % 1000000000 },
				   { value_ns / 1000000000, value_ns % 1000000000 } };

	return sys4(SYS_timer_settime, id, flags, &its, old);
}

/* Waits up to 3 s for `n` firings. */
static int wait_fired(int n)
{
	for (int i = 0; i < 300 && atomic_load(&fired) < n; i++)
		tst_sleep_ms(10);
	return atomic_load(&fired);
}

static void check_signal_timer(void)
{
	struct kitimerspec cur, old;
	struct timespec now;
	int id = -1;
	long r;

	r = create(CLOCK_MONOTONIC, OXV_SIGEV_SIGNAL, 0, &id);
	if (r != 0) {
		tfail("timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN): %s", tst_errname(-r));
		return;
	}
	tpass("timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN)");
	atomic_store(&fired, 0);
	tst_check(arm(id, 0, 50 * MS, 0, NULL) == 0, "timer_settime: one-shot in 50 ms");
	tst_check(sys3(SYS_timer_gettime, id, &cur, 0) == 0 && cur.value.tv_sec == 0 &&
			  cur.value.tv_nsec > 0 && cur.value.tv_nsec <= 50 * MS &&
			  cur.interval.tv_sec == 0 && cur.interval.tv_nsec == 0,
		  "timer_gettime shows it counting down");
	tst_check(wait_fired(1) == 1, "it fired");
	tst_check(fired_code == SI_TIMER && fired_value == 77,
		  "the handler saw SI_TIMER and the sigev_value 77");
	tst_sleep_ms(60);
	tst_check(atomic_load(&fired) == 1, "a one-shot fires once");
	tst_check(sys3(SYS_timer_gettime, id, &cur, 0) == 0 && cur.value.tv_sec == 0 &&
			  cur.value.tv_nsec == 0,
		  "timer_gettime reads zero after it fired");

	atomic_store(&fired, 0);
	arm(id, 0, 10 * MS, 10 * MS, NULL);
	tst_check(wait_fired(3) >= 3, "a periodic 10 ms timer fired 3 times");
	tst_check(arm(id, 0, 0, 0, &old) == 0 && old.interval.tv_sec == 0 &&
			  old.interval.tv_nsec == 10 * MS,
		  "disarming returns the old setting with its 10 ms interval");
	tst_sleep_ms(30);
	r = atomic_load(&fired);
	tst_sleep_ms(50);
	tst_check(atomic_load(&fired) == r, "after disarming it no longer fires");

	atomic_store(&fired, 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Half of the time since boot: in the past, and not 0 (which disarms) on a VM up for
	 * less than a second. */
	tst_check(arm(id, OXV_TIMER_ABSTIME, (now.tv_sec * 1000000000L + now.tv_nsec) / 2, 0,
		      NULL) == 0 &&
			  wait_fired(1) == 1,
		  "an absolute expiry in the past fires at once");

	tst_check(sys3(SYS_timer_delete, id, 0, 0) == 0, "timer_delete");
	tst_raw_err("timer_gettime of a deleted timer", sys3(SYS_timer_gettime, id, &cur, 0),
		    EINVAL);
	tst_raw_err("timer_delete of a deleted timer", sys3(SYS_timer_delete, id, 0, 0), EINVAL);
}

static void check_sigev_none(void)
{
	struct kitimerspec cur;
	int id = -1;
	long r, left;

	atomic_store(&fired, 0);
	r = create(CLOCK_REALTIME, OXV_SIGEV_NONE, 0, &id);
	if (r != 0) {
		tfail("timer_create(CLOCK_REALTIME, SIGEV_NONE): %s", tst_errname(-r));
		return;
	}
	arm(id, 0, 2000 * MS, 0, NULL);
	tst_sleep_ms(20);
	r = sys3(SYS_timer_gettime, id, &cur, 0);
	left = cur.value.tv_sec * 1000000000L + cur.value.tv_nsec;
	tst_check(r == 0 && left > 0 && left < 2000 * MS,
		  "a SIGEV_NONE timer counts down in timer_gettime");
	arm(id, 0, 10 * MS, 0, NULL);
	tst_sleep_ms(40);
	tst_check(atomic_load(&fired) == 0 && sys3(SYS_timer_gettime, id, &cur, 0) == 0 &&
			  cur.value.tv_sec == 0 && cur.value.tv_nsec == 0,
		  "when it expires no signal is sent and it reads zero");
	sys3(SYS_timer_delete, id, 0, 0);
}

static atomic_long worker_tid;
static atomic_int worker_stop;

static void *worker(void *arg)
{
	(void)arg;
	atomic_store(&worker_tid, tst_gettid());
	while (!atomic_load(&worker_stop))
		tst_sleep_ms(2);
	return NULL;
}

static void check_thread_id(void)
{
	pthread_t t;
	int id = -1;
	long r;

	if (pthread_create(&t, NULL, worker, NULL) != 0) {
		tfail("pthread_create");
		return;
	}
	while (!atomic_load(&worker_tid))
		tst_sleep_ms(1);
	atomic_store(&fired, 0);
	fired_tid = 0;
	r = create(CLOCK_MONOTONIC, OXV_SIGEV_THREAD_ID | OXV_SIGEV_SIGNAL,
		   (int)atomic_load(&worker_tid), &id);
	tst_check(r == 0, "timer_create(SIGEV_THREAD_ID, the worker's tid)");
	if (r == 0) {
		arm(id, 0, 20 * MS, 0, NULL);
		tst_check(wait_fired(1) == 1, "it fired");
		tst_check(fired_tid == atomic_load(&worker_tid),
			  "the handler ran in the named thread");
		sys3(SYS_timer_delete, id, 0, 0);
	}
	atomic_store(&worker_stop, 1);
	pthread_join(t, NULL);
	tst_raw_err("SIGEV_THREAD_ID with a tid that is not ours",
		    create(CLOCK_MONOTONIC, OXV_SIGEV_THREAD_ID, 0x3fffffff, &id), EINVAL);
}

int main(void)
{
	struct sigaction sa;
	int id;

	tst_watchdog(20, "posix_timer");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	check_signal_timer();
	check_sigev_none();
	check_thread_id();
	tst_raw_err("timer_create with clock 99", create(99, OXV_SIGEV_SIGNAL, 0, &id), EINVAL);
	return tst_exit();
}
