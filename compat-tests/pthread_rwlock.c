// Reader-writer locks. With a read lock held, another thread's tryrdlock succeeds (readers
// share) and its trywrlock is EBUSY; with a write lock held both are EBUSY. Then 3 readers
// and 2 writers hammer one rwlock: a writer is always alone (no reader, no other writer
// inside), readers never see a half-written table (writers fill all 16 entries with one
// value, yielding halfway), and the writers' increments all land.
#include "tst_thread.h"

#include <sched.h>
#include <stdatomic.h>

#define NREADERS 3
#define NWRITERS 2
#define WRITES 1500
#define READS 3000
#define TABLE 16

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int readers_in, writers_in;
static volatile long table[TABLE];
static atomic_int writer_not_alone, reader_with_writer, torn;
static long writes_done;

static void *reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < READS; i++) {
		pthread_rwlock_rdlock(&rw);
		atomic_fetch_add(&readers_in, 1);
		if (atomic_load(&writers_in) != 0)
			atomic_store(&reader_with_writer, 1);
		long first = table[0];
		for (int k = 1; k < TABLE; k++)
			if (table[k] != first)
				atomic_store(&torn, 1);
		atomic_fetch_sub(&readers_in, 1);
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < WRITES; i++) {
		pthread_rwlock_wrlock(&rw);
		if (atomic_fetch_add(&writers_in, 1) != 0 || atomic_load(&readers_in) != 0)
			atomic_store(&writer_not_alone, 1);
		long v = table[0] + 1;
		for (int k = 0; k < TABLE; k++) {
			table[k] = v;
			if (k == TABLE / 2 && (i & 63) == 0)
				sched_yield();
		}
		writes_done++;
		atomic_fetch_sub(&writers_in, 1);
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static int try_rd, try_wr;

static void *try_both(void *arg)
{
	(void)arg;
	try_rd = pthread_rwlock_tryrdlock(&rw);
	if (try_rd == 0)
		pthread_rwlock_unlock(&rw);
	try_wr = pthread_rwlock_trywrlock(&rw);
	if (try_wr == 0)
		pthread_rwlock_unlock(&rw);
	return NULL;
}

static void try_from_thread(void)
{
	pthread_t t;

	try_rd = try_wr = -1;
	if (pthread_create(&t, NULL, try_both, NULL) == 0)
		pthread_join(t, NULL);
}

static void check_try(void)
{
	tst_check(pthread_rwlock_rdlock(&rw) == 0, "rdlock");
	try_from_thread();
	tst_check(try_rd == 0, "with a read lock held, another thread's tryrdlock succeeds");
	tst_pth_err("with a read lock held, another thread's trywrlock", try_wr, EBUSY);
	pthread_rwlock_unlock(&rw);
	tst_check(pthread_rwlock_wrlock(&rw) == 0, "wrlock");
	try_from_thread();
	tst_pth_err("with a write lock held, another thread's tryrdlock", try_rd, EBUSY);
	tst_pth_err("with a write lock held, another thread's trywrlock", try_wr, EBUSY);
	pthread_rwlock_unlock(&rw);
	try_from_thread();
	tst_check(try_rd == 0 && try_wr == 0, "unlocked: tryrdlock and trywrlock both succeed");
}

static void check_stress(void)
{
	pthread_t r[NREADERS], w[NWRITERS];
	int ok = 1;

	for (int i = 0; i < NWRITERS; i++)
		ok &= pthread_create(&w[i], NULL, writer, NULL) == 0;
	for (int i = 0; i < NREADERS; i++)
		ok &= pthread_create(&r[i], NULL, reader, NULL) == 0;
	tst_check(ok, "created 3 readers and 2 writers");
	if (!ok)
		return;
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(r[i], NULL);
	tst_check(!writer_not_alone, "a writer was always alone inside");
	tst_check(!reader_with_writer, "no reader was inside together with a writer");
	tst_check(!torn, "readers never saw a half-written table");
	tst_checkf(writes_done == NWRITERS * WRITES && table[0] == NWRITERS * WRITES,
		   "all %d writes landed", NWRITERS * WRITES);
}

int main(void)
{
	tst_watchdog(20, "pthread_rwlock");
	check_try();
	check_stress();
	return tst_exit();
}
