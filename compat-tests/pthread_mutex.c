// pthread mutexes under contention, and their error cases. 4 threads each take one default
// mutex 20000 times to increment a shared counter with a non-atomic read-modify-write,
// yielding inside the critical section now and then so the others block in the kernel
// (futex WAIT/WAKE); the total must be exact and no two threads are ever inside at once.
// trylock on a held mutex is EBUSY; an error-checking mutex reports EDEADLK on relock and
// EPERM on unlock by a non-owner; a recursive mutex nests and needs as many unlocks.
#include "tst_thread.h"

#include <sched.h>

#define NTHREADS 4
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static volatile int inside, overlap;

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		if (inside++)
			overlap = 1;
		long v = counter;
		if ((i & 255) == 0)
			sched_yield();
		counter = v + 1;
		inside--;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static pthread_mutex_t *target;
static int result;

static void *try_lock(void *arg)
{
	(void)arg;
	result = pthread_mutex_trylock(target);
	if (result == 0)
		pthread_mutex_unlock(target);
	return NULL;
}

static void *unlock_foreign(void *arg)
{
	(void)arg;
	result = pthread_mutex_unlock(target);
	return NULL;
}

/* Runs fn in a new thread on m and returns what it stored in result. */
static int in_thread(void *(*fn)(void *), pthread_mutex_t *m)
{
	pthread_t t;

	target = m;
	result = -1;
	if (pthread_create(&t, NULL, fn, NULL) != 0)
		return -2;
	pthread_join(t, NULL);
	return result;
}

static void check_contention(void)
{
	pthread_t t[NTHREADS];
	int created = 0;

	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, incrementer, NULL) == 0)
			created++;
	tst_checkf(created == NTHREADS, "created %d threads", NTHREADS);
	for (int i = 0; i < created; i++)
		pthread_join(t[i], NULL);
	tst_checkf(counter == (long)created * ITERS, "the counter is exactly %d x %d",
		   NTHREADS, ITERS);
	tst_check(!overlap, "no two threads were inside the critical section at once");
}

static void check_normal(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	tst_check(pthread_mutex_lock(&m) == 0, "lock a default mutex");
	tst_pth_err("trylock by the owner of a default mutex", pthread_mutex_trylock(&m), EBUSY);
	tst_pth_err("trylock by another thread", in_thread(try_lock, &m), EBUSY);
	tst_check(pthread_mutex_unlock(&m) == 0, "unlock it");
	tst_check(in_thread(try_lock, &m) == 0, "trylock by another thread after the unlock");
	pthread_mutex_destroy(&m);
}

static void check_errorcheck(void)
{
	pthread_mutexattr_t a;
	pthread_mutex_t m;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
	tst_pth_err("unlock an unlocked error-checking mutex", pthread_mutex_unlock(&m), EPERM);
	tst_check(pthread_mutex_lock(&m) == 0, "lock an error-checking mutex");
	tst_pth_err("relock it by its owner", pthread_mutex_lock(&m), EDEADLK);
	tst_pth_err("unlock it from another thread", in_thread(unlock_foreign, &m), EPERM);
	tst_pth_err("trylock from another thread", in_thread(try_lock, &m), EBUSY);
	tst_check(pthread_mutex_unlock(&m) == 0, "unlock by its owner");
	pthread_mutex_destroy(&m);
}

static void check_recursive(void)
{
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	int r = 0;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
	for (int i = 0; i < 3; i++)
		r |= pthread_mutex_lock(&m);
	r |= pthread_mutex_trylock(&m);
	tst_check(r == 0, "a recursive mutex locks 4 times in its owner");
	tst_pth_err("another thread's trylock", in_thread(try_lock, &m), EBUSY);
	for (int i = 0; i < 3; i++)
		pthread_mutex_unlock(&m);
	tst_pth_err("after 3 of 4 unlocks another thread's trylock", in_thread(try_lock, &m),
		    EBUSY);
	pthread_mutex_unlock(&m);
	tst_check(in_thread(try_lock, &m) == 0, "after the 4th unlock another thread locks it");
	pthread_mutex_destroy(&m);
}

int main(void)
{
	tst_watchdog(20, "pthread_mutex");
	check_contention();
	check_normal();
	check_errorcheck();
	check_recursive();
	return tst_exit();
}
