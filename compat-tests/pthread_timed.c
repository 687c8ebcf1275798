// Timed waits in pthreads: pthread_cond_timedwait with nobody signalling returns ETIMEDOUT no
// earlier than its absolute deadline, on CLOCK_REALTIME (the default) and on a condvar set to
// CLOCK_MONOTONIC, and returns with the mutex held; signalled before its deadline it returns
// 0. pthread_mutex_timedlock on a mutex another thread holds returns ETIMEDOUT after the
// deadline, and 0 once the holder lets go in time. sem_timedwait on a zero semaphore is
// ETIMEDOUT, and 0 after a sem_post from another thread.
#include "tst_thread.h"

#include <semaphore.h>

#define MS 1000000L

static struct timespec deadline(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * MS;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static int64_t ts_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts_ns(ts);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int flag;

static void check_cond(pthread_cond_t *c, clockid_t clk, const char *name)
{
	struct timespec ts = deadline(clk, 20);
	int r, busy;

	pthread_mutex_lock(&m);
	r = pthread_cond_timedwait(c, &m, &ts);
	tst_pth_err(name, r, ETIMEDOUT);
	tst_checkf(clock_ns(clk) >= ts_ns(ts), "%s returned no earlier than its deadline", name);
	busy = pthread_mutex_trylock(&m);
	tst_checkf(busy == EBUSY || busy == EDEADLK, "%s returned with the mutex held", name);
	pthread_mutex_unlock(&m);
}

static void *signal_later(void *arg)
{
	tst_sleep_ms(20);
	pthread_mutex_lock(&m);
	flag = 1;
	pthread_cond_signal((pthread_cond_t *)arg);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void check_cond_signalled(pthread_cond_t *c, clockid_t clk, const char *name)
{
	pthread_t t;
	struct timespec ts = deadline(clk, 5000);
	int r = 0;

	flag = 0;
	pthread_mutex_lock(&m);
	if (pthread_create(&t, NULL, signal_later, c) != 0) {
		pthread_mutex_unlock(&m);
		tfail("pthread_create");
		return;
	}
	while (!flag && r == 0)
		r = pthread_cond_timedwait(c, &m, &ts);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	tst_checkf(r == 0 && flag, "%s signalled before its 5 s deadline returns 0", name);
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;
static long hold_ms;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	holding = 1;
	tst_sleep_ms(hold_ms);
	pthread_mutex_unlock(&held);
	return NULL;
}

static void check_timedlock(void)
{
	pthread_t t;
	struct timespec ts;
	int r;

	for (int round = 0; round < 2; round++) {
		holding = 0;
		hold_ms = round == 0 ? 200 : 20;
		if (pthread_create(&t, NULL, holder, NULL) != 0) {
			tfail("pthread_create");
			return;
		}
		while (!holding)
			tst_sleep_ms(1);
		ts = deadline(CLOCK_REALTIME, round == 0 ? 20 : 5000);
		r = pthread_mutex_timedlock(&held, &ts);
		if (round == 0) {
			tst_pth_err("pthread_mutex_timedlock on a mutex held by another thread", r,
				    ETIMEDOUT);
			tst_check(clock_ns(CLOCK_REALTIME) >= ts_ns(ts),
				  "pthread_mutex_timedlock returned no earlier than its deadline");
		} else {
			tst_check(r == 0, "pthread_mutex_timedlock gets the mutex when the holder "
					  "unlocks before the deadline");
			if (r == 0)
				pthread_mutex_unlock(&held);
		}
		pthread_join(t, NULL);
	}
}

static sem_t sem;

static void *post_later(void *arg)
{
	(void)arg;
	tst_sleep_ms(20);
	sem_post(&sem);
	return NULL;
}

static void check_sem(void)
{
	struct timespec ts = deadline(CLOCK_REALTIME, 20);
	pthread_t t;
	int r, e;

	sem_init(&sem, 0, 0);
	r = sem_timedwait(&sem, &ts);
	e = errno;
	tst_libc_err("sem_timedwait on a zero semaphore", r, e, ETIMEDOUT);
	tst_check(clock_ns(CLOCK_REALTIME) >= ts_ns(ts),
		  "sem_timedwait returned no earlier than its deadline");
	if (pthread_create(&t, NULL, post_later, NULL) != 0) {
		tfail("pthread_create");
		return;
	}
	ts = deadline(CLOCK_REALTIME, 5000);
	do
		r = sem_timedwait(&sem, &ts);
	while (r != 0 && errno == EINTR);
	tst_check(r == 0, "sem_timedwait returns 0 after a sem_post from another thread");
	pthread_join(t, NULL);
}

int main(void)
{
	pthread_condattr_t ca;
	pthread_cond_t mono;

	tst_watchdog(20, "pthread_timed");
	pthread_condattr_init(&ca);
	tst_check(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0,
		  "pthread_condattr_setclock(CLOCK_MONOTONIC)");
	pthread_cond_init(&mono, &ca);
	check_cond(&cv, CLOCK_REALTIME, "pthread_cond_timedwait (REALTIME)");
	check_cond(&mono, CLOCK_MONOTONIC, "pthread_cond_timedwait (MONOTONIC)");
	check_cond_signalled(&cv, CLOCK_REALTIME, "pthread_cond_timedwait (REALTIME)");
	check_cond_signalled(&mono, CLOCK_MONOTONIC, "pthread_cond_timedwait (MONOTONIC)");
	check_timedlock();
	check_sem();
	return tst_exit();
}
