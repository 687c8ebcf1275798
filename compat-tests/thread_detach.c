// oxv-exit: 3
//
// Detached threads: 4 created detached (attribute) and 2 detached after creation all run to
// the end, which main learns through a semaphore; pthread_detach of a thread that already
// finished succeeds. Then main calls exit(3) while other threads are still alive, asleep in
// nanosleep, blocked in FUTEX_WAIT and spinning on the CPU: exit_group ends them all at once
// and the status is main's 3 (no watchdog: the process must end by itself).
#include "tst_thread.h"

#include <semaphore.h>
#include <stdatomic.h>

#define NDETACHED 6

static sem_t done;
static atomic_int finished;
static atomic_int started_blockers;
static uint32_t never_woken;

static void *detached_worker(void *arg)
{
	tst_sleep_ms(1 + (long)arg % 3);
	atomic_fetch_add(&finished, 1);
	sem_post(&done);
	return NULL;
}

static void *quick(void *arg)
{
	return arg;
}

static void *sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started_blockers, 1);
	for (;;)
		tst_sleep_ms(100000);
	return NULL;
}

static void *futex_waiter(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started_blockers, 1);
	for (;;)
		sys4(SYS_futex, &never_woken, 0 /* FUTEX_WAIT */, 0, NULL);
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started_blockers, 1);
	for (volatile unsigned long n = 0;; n++)
		;
	return NULL;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int ok = 1;

	sem_init(&done, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < NDETACHED; i++) {
		if (i < 4) {
			ok &= pthread_create(&t, &attr, detached_worker, (void *)i) == 0;
		} else {
			ok &= pthread_create(&t, NULL, detached_worker, (void *)i) == 0;
			ok &= pthread_detach(t) == 0;
		}
	}
	tst_check(ok, "created 4 detached threads and detached 2 more");
	for (int i = 0; ok && i < NDETACHED; i++)
		sem_wait(&done);
	tst_check(atomic_load(&finished) == NDETACHED, "all 6 detached threads ran to the end");

	ok = pthread_create(&t, NULL, quick, NULL) == 0;
	tst_sleep_ms(20);
	tst_check(ok && pthread_detach(t) == 0, "pthread_detach of a thread that already returned");

	ok = pthread_create(&t, &attr, sleeper, NULL) == 0;
	ok &= pthread_create(&t, &attr, futex_waiter, NULL) == 0;
	ok &= pthread_create(&t, &attr, spinner, NULL) == 0;
	while (ok && atomic_load(&started_blockers) < 3)
		tst_sleep_ms(1);
	tst_sleep_ms(20);
	tst_check(ok, "3 threads sleep, wait on a futex and spin");
	tpass("exit(3) from main now ends them all");
	exit(3);
}
