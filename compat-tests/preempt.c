// Preemption: threads that never block or yield must still share the CPU. Two threads each
// spin (no syscalls in the hot loop) until both counters passed a mark, so on one CPU each
// must be preempted for the other to progress; then two threads pass a turn back and forth
// 6 times purely by spinning; then a sleeping main thread keeps waking on time while a
// thread spins. Every spin is bounded (about 5 s, read from the clock every 64K steps), so a
// kernel without preemption fails these checks instead of hanging.
#include "tst_thread.h"

#include <stdatomic.h>

#define LIMIT_NS 5000000000LL
#define MARK 200000

static atomic_long count[2];
static atomic_int timed_out[2];

static void *spin_counter(void *arg)
{
	int me = (int)(long)arg, other = !me;
	int64_t t0 = tst_now_ns();

	for (unsigned long n = 1;; n++) {
		atomic_fetch_add_explicit(&count[me], 1, memory_order_relaxed);
		if (atomic_load_explicit(&count[me], memory_order_relaxed) >= MARK &&
		    atomic_load_explicit(&count[other], memory_order_relaxed) >= MARK)
			break;
		if ((n & 0xffff) == 0 && tst_now_ns() - t0 > LIMIT_NS) {
			atomic_store(&timed_out[me], 1);
			break;
		}
	}
	return NULL;
}

#define HANDOFFS 6

static atomic_int turn;
static atomic_int turn_timed_out;

static void *spin_turns(void *arg)
{
	int me = (int)(long)arg;
	int64_t t0 = tst_now_ns();

	for (int i = 0; i < HANDOFFS; i++) {
		unsigned long n = 0;

		while (atomic_load(&turn) != me) {
			if ((++n & 0xffff) == 0 && tst_now_ns() - t0 > LIMIT_NS) {
				atomic_store(&turn_timed_out, 1);
				atomic_store(&turn, !me); /* let the other one finish too */
				return NULL;
			}
		}
		atomic_store(&turn, !me);
	}
	return NULL;
}

static atomic_int stop;

static void *spin_until_stopped(void *arg)
{
	int64_t t0 = tst_now_ns();
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop))
		if ((++n & 0xffff) == 0 && tst_now_ns() - t0 > LIMIT_NS)
			break;
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	int64_t t0, el;

	tst_watchdog(30, "preempt");
	if (pthread_create(&a, NULL, spin_counter, (void *)0L) != 0 ||
	    pthread_create(&b, NULL, spin_counter, (void *)1L) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	tst_check(!timed_out[0] && !timed_out[1],
		  "two spinning threads both progress past the mark (each waited for the other)");

	if (pthread_create(&a, NULL, spin_turns, (void *)0L) != 0 ||
	    pthread_create(&b, NULL, spin_turns, (void *)1L) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	tst_checkf(!turn_timed_out, "two spinning threads pass a turn back and forth %d times",
		   HANDOFFS);

	if (pthread_create(&a, NULL, spin_until_stopped, NULL) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	t0 = tst_now_ns();
	for (int i = 0; i < 5; i++)
		tst_sleep_ms(10);
	el = tst_now_ns() - t0;
	atomic_store(&stop, 1);
	pthread_join(a, NULL);
	tst_check(el >= 50000000 && el < 2000000000LL,
		  "5 sleeps of 10 ms in main end in under 2 s while a thread spins");
	return tst_exit();
}
