// Blocking eventfd with threads: a read of a zero counter sleeps until another thread
// writes; a write that would overflow sleeps until another thread reads; in semaphore mode
// two blocked readers are both served by one write of 2.
#include "tst_thread.h"
#include "tst_fd.h"

#include <stdatomic.h>
#include <sys/eventfd.h>

static int efd;

static void *later_put(void *arg)
{
	uint64_t v = (uint64_t)(long)arg;

	tst_sleep_ms(30);
	write(efd, &v, 8);
	return NULL;
}

static void *later_get(void *arg)
{
	uint64_t v;

	(void)arg;
	tst_sleep_ms(30);
	read(efd, &v, 8);
	return (void *)(long)(v == UINT64_MAX - 1);
}

static atomic_int served;

static void *sem_reader(void *arg)
{
	uint64_t v;

	(void)arg;
	if (read(efd, &v, 8) == 8 && v == 1)
		atomic_fetch_add(&served, 1);
	return NULL;
}

int main(void)
{
	pthread_t t, r1, r2;
	uint64_t v;
	int64_t t0;
	void *ok;

	tst_watchdog(10, "eventfd_block");
	efd = eventfd(0, 0);
	t0 = tst_now_ns();
	pthread_create(&t, NULL, later_put, (void *)9L);
	tst_check(read(efd, &v, 8) == 8 && v == 9 && tst_now_ns() - t0 >= 20000000,
		  "a blocked read wakes with another thread's write");
	pthread_join(t, NULL);

	v = UINT64_MAX - 1;
	write(efd, &v, 8);
	pthread_create(&t, NULL, later_get, NULL);
	v = 5;
	t0 = tst_now_ns();
	tst_check(write(efd, &v, 8) == 8 && tst_now_ns() - t0 >= 20000000,
		  "a write that does not fit waits for a read");
	pthread_join(t, &ok);
	tst_check(ok != NULL, "the reader got the full counter");
	tst_check(read(efd, &v, 8) == 8 && v == 5, "then the write's value is there");
	close(efd);

	efd = eventfd(0, EFD_SEMAPHORE);
	pthread_create(&r1, NULL, sem_reader, NULL);
	pthread_create(&r2, NULL, sem_reader, NULL);
	tst_sleep_ms(30);
	v = 2;
	write(efd, &v, 8);
	pthread_join(r1, NULL);
	pthread_join(r2, NULL);
	tst_check(atomic_load(&served) == 2, "one write of 2 serves two blocked semaphore readers");
	close(efd);
	return tst_exit();
}
