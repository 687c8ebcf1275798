// alarm(2) and setitimer(ITIMER_REAL) deliver SIGALRM. alarm returns the seconds left on the
// previous alarm (rounded), alarm(0) cancels; alarm(1) interrupts pause() after about a
// second with a SIGALRM handler run once, si_code SI_KERNEL. A one-shot 50 ms ITIMER_REAL
// shows in getitimer counting down, fires once, and reads back as zero afterwards; a periodic
// 20 ms one fires repeatedly until setitimer disarms it (which returns the old setting), and
// then never again. Bad `which` and tv_usec >= 1e6 are EINVAL.
#include "tst_thread.h"

#include <stdatomic.h>
#include <sys/time.h>

static atomic_int alarms;
static volatile int alarm_code;

static void on_alrm(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	alarm_code = si->si_code;
	atomic_fetch_add(&alarms, 1);
}

/* Waits in sigsuspend (SIGALRM blocked outside it) until `n` alarms arrived or 3 s passed. */
static int wait_alarms(int n)
{
	sigset_t none;
	int64_t t0 = tst_now_ns();

	sigemptyset(&none);
	while (atomic_load(&alarms) < n && tst_now_ns() - t0 < 3000000000LL) {
		struct itimerval cur;

		/* Nothing armed (or no getitimer) would make sigsuspend wait forever. */
		if (getitimer(ITIMER_REAL, &cur) != 0 ||
		    (!cur.it_value.tv_sec && !cur.it_value.tv_usec && atomic_load(&alarms) < n))
			break;
		sigsuspend(&none);
	}
	return atomic_load(&alarms);
}

static void check_alarm(void)
{
	unsigned left;
	int64_t t0, el;
	int r, e, works;

	tst_check(alarm(5) == 0, "alarm(5) with no alarm pending returns 0");
	left = alarm(3);
	tst_check(left == 5, "alarm(3) returns the 5 s left on the previous alarm");
	works = left == 5;
	left = alarm(0);
	tst_check(left == 3, "alarm(0) cancels it and returns 3");
	tst_check(alarm(0) == 0, "after cancelling nothing is left");
	if (!works) {
		/* pause() would wait for the watchdog. */
		tfail("alarm does not keep time: not waiting for alarm(1)");
		return;
	}

	atomic_store(&alarms, 0);
	t0 = tst_now_ns();
	alarm(1);
	r = pause();
	e = errno;
	el = tst_now_ns() - t0;
	tst_libc_err("pause() until alarm(1) fires", r, e, EINTR);
	tst_check(atomic_load(&alarms) == 1, "the SIGALRM handler ran once");
	tst_check(alarm_code == SI_KERNEL, "its si_code is SI_KERNEL");
	tst_check(el >= 990000000 && el < 3000000000LL, "it fired after about one second");
}

static void check_itimer(void)
{
	struct itimerval it, cur, old;
	sigset_t alrm;
	long r;

	tst_raw_err("setitimer(which = 5)", sys3(SYS_setitimer, 5, &it, NULL), EINVAL);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 1000000;
	tst_raw_err("setitimer with tv_usec = 1000000", sys3(SYS_setitimer, ITIMER_REAL, &it, NULL),
		    EINVAL);
	tst_raw_err("getitimer(which = 5)", sys3(SYS_getitimer, 5, &cur, 0), EINVAL);

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);

	atomic_store(&alarms, 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50000;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		tfail("setitimer(ITIMER_REAL, 50 ms one-shot): %s", tst_errname(errno));
		return;
	}
	tpass("setitimer(ITIMER_REAL, 50 ms one-shot)");
	tst_check(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
			  cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 50000 &&
			  cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 0,
		  "getitimer shows it counting down, no interval");
	tst_check(wait_alarms(1) == 1, "it fired once");
	tst_sleep_ms(60);
	tst_check(atomic_load(&alarms) == 1, "and not again");
	tst_check(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
			  cur.it_value.tv_usec == 0,
		  "getitimer reads zero after it fired");

	atomic_store(&alarms, 0);
	it.it_value.tv_usec = 20000;
	it.it_interval.tv_usec = 20000;
	setitimer(ITIMER_REAL, &it, NULL);
	tst_check(wait_alarms(3) >= 3, "a periodic 20 ms ITIMER_REAL fired 3 times");
	memset(&it, 0, sizeof(it));
	tst_check(setitimer(ITIMER_REAL, &it, &old) == 0 && old.it_interval.tv_sec == 0 &&
			  old.it_interval.tv_usec == 20000,
		  "disarming returns the old setting with its 20 ms interval");
	/* A last one may be pending already: take it, then nothing more may come. */
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	r = atomic_load(&alarms);
	tst_sleep_ms(60);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	tst_check(atomic_load(&alarms) == r, "after disarming no SIGALRM comes");
}

int main(void)
{
	struct sigaction sa;

	tst_watchdog(20, "signal_timer");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_alrm;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	check_alarm();
	check_itimer();
	return tst_exit();
}
