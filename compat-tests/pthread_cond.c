// Condition variables: a bounded queue (8 slots) between 2 producers and 2 consumers, each
// producer putting 1500 distinct items; every item must be consumed exactly once and the sum
// must match, and the queue never over- or underflows. Then pthread_cond_broadcast wakes
// all of 4 threads waiting on one condvar, and pthread_cond_signal wakes them one at a time.
#include "tst_thread.h"

#define QCAP 8
#define NPROD 2
#define NCONS 2
#define PER_PROD 1500
#define NITEMS (NPROD * PER_PROD)

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], head, count, produced_done;
static int bad_count;
static unsigned char seen[NITEMS];
static long sum_consumed;

static void *producer(void *arg)
{
	int base = (int)(long)arg * PER_PROD;

	for (int i = 0; i < PER_PROD; i++) {
		pthread_mutex_lock(&qlock);
		while (count == QCAP)
			pthread_cond_wait(&not_full, &qlock);
		queue[(head + count) % QCAP] = base + i;
		count++;
		if (count > QCAP)
			bad_count = 1;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qlock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		int item;

		pthread_mutex_lock(&qlock);
		while (count == 0 && produced_done < NITEMS)
			pthread_cond_wait(&not_empty, &qlock);
		if (count == 0) {
			pthread_mutex_unlock(&qlock);
			return NULL;
		}
		item = queue[head];
		head = (head + 1) % QCAP;
		count--;
		if (count < 0)
			bad_count = 1;
		produced_done++;
		if (item >= 0 && item < NITEMS)
			seen[item]++;
		sum_consumed += item;
		if (produced_done == NITEMS)
			pthread_cond_broadcast(&not_empty); /* the other consumer may be waiting */
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qlock);
	}
}

static void check_queue(void)
{
	pthread_t prod[NPROD], cons[NCONS];
	int ok = 1, once = 1;
	long want = 0;

	for (int i = 0; i < NCONS; i++)
		ok &= pthread_create(&cons[i], NULL, consumer, NULL) == 0;
	for (int i = 0; i < NPROD; i++)
		ok &= pthread_create(&prod[i], NULL, producer, (void *)(long)i) == 0;
	tst_check(ok, "created 2 producers and 2 consumers");
	if (!ok)
		return;
	for (int i = 0; i < NPROD; i++)
		pthread_join(prod[i], NULL);
	for (int i = 0; i < NCONS; i++)
		pthread_join(cons[i], NULL);
	for (int i = 0; i < NITEMS; i++) {
		want += i;
		once &= seen[i] == 1;
	}
	tst_checkf(produced_done == NITEMS, "%d items consumed", NITEMS);
	tst_check(once, "every item was consumed exactly once");
	tst_check(sum_consumed == want, "the sum of consumed items matches");
	tst_check(!bad_count && count == 0, "the queue never overflowed and ends empty");
}

#define NWAITERS 4

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static int waiting, tickets, woken;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wlock);
	waiting++;
	while (tickets == 0)
		pthread_cond_wait(&wcond, &wlock);
	tickets--;
	woken++;
	pthread_mutex_unlock(&wlock);
	return NULL;
}

static int woken_now(void)
{
	int n;

	pthread_mutex_lock(&wlock);
	n = woken;
	pthread_mutex_unlock(&wlock);
	return n;
}

/* Waits up to 5 s for woken to reach n. */
static int wait_woken(int n)
{
	for (int i = 0; i < 500 && woken_now() < n; i++)
		tst_sleep_ms(10);
	return woken_now();
}

static void check_wakeups(void)
{
	pthread_t t[NWAITERS];
	int ok = 1, n;

	for (int round = 0; round < 2; round++) {
		waiting = woken = tickets = 0;
		for (int i = 0; i < NWAITERS; i++)
			ok &= pthread_create(&t[i], NULL, waiter, NULL) == 0;
		if (!ok) {
			tfail("pthread_create failed");
			return;
		}
		/* All are waiting once they counted themselves and the lock is free. */
		while (1) {
			pthread_mutex_lock(&wlock);
			n = waiting;
			pthread_mutex_unlock(&wlock);
			if (n == NWAITERS)
				break;
			tst_sleep_ms(1);
		}
		tst_sleep_ms(20);
		tst_check(woken_now() == 0, "4 threads wait on a condvar nobody signalled");
		if (round == 0) {
			pthread_mutex_lock(&wlock);
			tickets = NWAITERS;
			pthread_cond_broadcast(&wcond);
			pthread_mutex_unlock(&wlock);
			tst_check(wait_woken(NWAITERS) == NWAITERS,
				  "pthread_cond_broadcast wakes all 4");
		} else {
			int steps = 1;

			for (int i = 1; i <= NWAITERS; i++) {
				pthread_mutex_lock(&wlock);
				tickets++;
				pthread_cond_signal(&wcond);
				pthread_mutex_unlock(&wlock);
				steps &= wait_woken(i) == i;
			}
			tst_check(steps,
				  "4 pthread_cond_signal calls wake the 4 waiters one by one");
		}
		for (int i = 0; i < NWAITERS; i++)
			pthread_join(t[i], NULL);
	}
}

int main(void)
{
	tst_watchdog(20, "pthread_cond");
	check_queue();
	check_wakeups();
	return tst_exit();
}
