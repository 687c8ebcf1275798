// Blocking calls interrupted by a handled signal from another thread. nanosleep(1 s) fails
// with EINTR and writes the unslept time to rem (between 0 and 1 s), even with SA_RESTART
// (sleeps are never restarted); clock_nanosleep returns EINTR with rem, and leaves rem alone
// for TIMER_ABSTIME. An untimed FUTEX_WAIT fails with EINTR without SA_RESTART, and with
// SA_RESTART it is restarted: the handler runs, the wait goes on, and a later FUTEX_WAKE
// makes it return 0. A FUTEX_WAIT with a timeout is EINTR even with SA_RESTART (Linux
// restarts it through the restart block only when no handler ran).
#include "tst_thread.h"

#include <stdatomic.h>

static atomic_int handler_calls;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handler_calls, 1);
}

static void install(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&handler_calls, 0);
}

static pthread_t target;

static void *kick(void *arg)
{
	tst_sleep_ms((long)arg);
	pthread_kill(target, SIGUSR1);
	return NULL;
}

static int kick_later(pthread_t *t, pthread_t who, long ms)
{
	target = who;
	if (pthread_create(t, NULL, kick, (void *)ms) != 0) {
		tfail("pthread_create");
		return 0;
	}
	return 1;
}

static void check_sleeps(int flags, const char *how)
{
	struct timespec req = { 1, 0 }, rem = { 7, 7 };
	pthread_t t;
	int64_t t0, el;
	int r, e;

	install(flags);
	if (!kick_later(&t, pthread_self(), 30))
		return;
	t0 = tst_now_ns();
	r = nanosleep(&req, &rem);
	e = errno;
	el = tst_now_ns() - t0;
	pthread_join(t, NULL);
	tst_libc_err(how, r, e, EINTR);
	tst_check(el < 900000000, "it returned before the second was up");
	tst_check(atomic_load(&handler_calls) == 1, "the handler ran once");
	tst_check(rem.tv_sec == 0 && rem.tv_nsec > 0 && rem.tv_nsec < 1000000000 &&
			  rem.tv_nsec >= 1000000000 - el - 50000000,
		  "rem holds the unslept time");
}

static void check_clock_nanosleep(void)
{
	struct timespec req = { 1, 0 }, rem = { 7, 7 }, abs;
	pthread_t t;
	int r;

	install(SA_RESTART);
	if (!kick_later(&t, pthread_self(), 30))
		return;
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	pthread_join(t, NULL);
	tst_check(r == EINTR, "clock_nanosleep(MONOTONIC, 1 s) interrupted returns EINTR");
	tst_check(rem.tv_sec == 0 && rem.tv_nsec > 0, "and fills rem");

	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_sec += 1;
	rem.tv_sec = 7;
	rem.tv_nsec = 7;
	if (!kick_later(&t, pthread_self(), 30))
		return;
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, &rem);
	pthread_join(t, NULL);
	tst_check(r == EINTR, "clock_nanosleep(TIMER_ABSTIME) interrupted returns EINTR");
	tst_check(rem.tv_sec == 7 && rem.tv_nsec == 7, "and leaves rem untouched");
}

static uint32_t word;
static atomic_int waiting, returned;
static long wait_ret;
static long wait_timeout_ms;

static void *futex_waiter(void *arg)
{
	struct timespec ts = { wait_timeout_ms / 1000, (wait_timeout_ms % 1000) * 1000000L };

	(void)arg;
	atomic_store(&waiting, 1);
	wait_ret = sys4(SYS_futex, &word, 128 /* FUTEX_WAIT_PRIVATE */, 0,
			wait_timeout_ms ? &ts : NULL);
	atomic_store(&returned, 1);
	return NULL;
}

static void check_futex(int flags, long timeout_ms, const char *what, long want)
{
	pthread_t w;

	install(flags);
	word = 0;
	wait_timeout_ms = timeout_ms;
	atomic_store(&waiting, 0);
	atomic_store(&returned, 0);
	wait_ret = 1;
	if (pthread_create(&w, NULL, futex_waiter, NULL) != 0) {
		tfail("pthread_create");
		return;
	}
	while (!atomic_load(&waiting))
		tst_sleep_ms(1);
	tst_sleep_ms(30);
	pthread_kill(w, SIGUSR1);
	for (int i = 0; i < 200 && !atomic_load(&handler_calls); i++)
		tst_sleep_ms(5);
	tst_sleep_ms(30);
	tst_checkf(atomic_load(&handler_calls) == 1, "%s: the handler ran in the waiter", what);
	if (want == 0)
		tst_checkf(!atomic_load(&returned), "%s: the wait went on after the handler", what);
	/* Whatever happened, a waiter still blocked is woken, so a failure never hangs. */
	if (!atomic_load(&returned))
		sys3(SYS_futex, &word, 129 /* FUTEX_WAKE_PRIVATE */, 1);
	pthread_join(w, NULL);
	if (want == 0)
		tst_checkf(wait_ret == 0, "%s: a FUTEX_WAKE then ends it with 0", what);
	else
		tst_raw_err(what, wait_ret, EINTR);
}

int main(void)
{
	tst_watchdog(20, "signal_eintr");
	check_sleeps(0, "nanosleep(1 s) interrupted by a handled signal");
	check_sleeps(SA_RESTART, "nanosleep(1 s) interrupted, SA_RESTART handler");
	check_clock_nanosleep();
	check_futex(0, 0, "untimed FUTEX_WAIT, handler without SA_RESTART", EINTR);
	check_futex(SA_RESTART, 0, "untimed FUTEX_WAIT, SA_RESTART handler", 0);
	check_futex(SA_RESTART, 5000, "FUTEX_WAIT with a 5 s timeout, SA_RESTART handler", EINTR);
	return tst_exit();
}
