// pthread_once: 8 threads race through one pthread_once whose init routine is slow (it
// sleeps and yields, so the others must block until it ends); it runs exactly once, and no
// thread returns from pthread_once before the init has finished. A second once control is
// independent of the first, and calling pthread_once again later does nothing.
#include "tst_thread.h"

#include <sched.h>
#include <stdatomic.h>

#define NTHREADS 8

static pthread_once_t once = PTHREAD_ONCE_INIT, once2 = PTHREAD_ONCE_INIT;
static atomic_int init_runs, init2_runs, init_done;
static atomic_int early_return;

static void init(void)
{
	atomic_fetch_add(&init_runs, 1);
	tst_sleep_ms(20);
	for (int i = 0; i < 10; i++)
		sched_yield();
	atomic_store(&init_done, 1);
}

static void init2(void)
{
	atomic_fetch_add(&init2_runs, 1);
}

static void *racer(void *arg)
{
	(void)arg;
	pthread_once(&once, init);
	if (!atomic_load(&init_done))
		atomic_store(&early_return, 1);
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	int ok = 1;

	tst_watchdog(20, "thread_once");
	for (int i = 0; i < NTHREADS; i++)
		ok &= pthread_create(&t[i], NULL, racer, NULL) == 0;
	tst_check(ok, "created 8 threads");
	if (!ok)
		return tst_exit();
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	tst_check(atomic_load(&init_runs) == 1, "the init routine ran exactly once");
	tst_check(!atomic_load(&early_return), "no thread returned before the init finished");
	tst_check(pthread_once(&once, init) == 0 && atomic_load(&init_runs) == 1,
		  "a later pthread_once does not run it again");
	tst_check(pthread_once(&once2, init2) == 0 && atomic_load(&init2_runs) == 1,
		  "a second once control runs its own init once");
	return tst_exit();
}
