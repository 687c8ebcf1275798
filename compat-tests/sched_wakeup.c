// Wake-up preemption: a thread that sleeps gets its CPU back soon after its timer fires even
// when a CPU-bound thread shares that CPU (Linux's CFS preempts the spinner for the woken
// thread; a scheduler that only switches at the end of a full time slice makes it wait for
// that). Main and a spinner are pinned to one CPU; main sleeps 1 ms 21 times to absolute
// deadlines and checks that at least a quarter of the sleeps end less than 5 ms late. A
// 10 ms slice with no wake-up preemption makes every sleep about 9 ms late; a loaded host
// (vCPU threads waiting for a host CPU) only adds lateness to some sleeps, hence a quarter
// rather than the median, the loose bound, and up to ROUNDS tries of the 21 sleeps (a
// scheduler without preemption fails every round; a busy host rarely spoils three).
//
// SPINNERS (default 1) sets how many threads spin; sched_wakeup_crowded.c runs it with 3, so
// that CPU-bound threads also wait in the CPU's run queue when the sleeper wakes: it must be
// placed ahead of them (CFS's sleeper credit), not behind (a FIFO queue makes every sleep
// wait two more 10 ms slices).
#include "tst_thread.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#ifndef SPINNERS
#define SPINNERS 1
#endif
#define SLEEPS 21
#define SLEEP_NS 1000000LL
#define BOUND_NS 5000000LL
#define LIMIT_NS 10000000000LL
#define ROUNDS 3

static atomic_int stop;
static atomic_long spins;
static cpu_set_t one_cpu;

static void *spinner(void *arg)
{
	int64_t t0 = tst_now_ns();

	(void)arg;
	sched_setaffinity(0, sizeof one_cpu, &one_cpu);
	for (unsigned long n = 1; !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
		atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
		if ((n & 0xffff) == 0 && tst_now_ns() - t0 > LIMIT_NS)
			break;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	cpu_set_t allowed;
	pthread_t t[SPINNERS];
	int64_t late[SLEEPS];
	int cpu = -1;

	tst_watchdog(60, "sched_wakeup");
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
		tfail("sched_getaffinity");
		return tst_exit();
	}
	for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++)
		if (CPU_ISSET(c, &allowed))
			cpu = c;
	CPU_ZERO(&one_cpu);
	CPU_SET(cpu, &one_cpu);
	tst_check(sched_setaffinity(0, sizeof one_cpu, &one_cpu) == 0,
		  "main pinned to its first allowed CPU");
	for (int i = 0; i < SPINNERS; i++) {
		if (pthread_create(&t[i], NULL, spinner, NULL) != 0) {
			tfail("pthread_create");
			return tst_exit();
		}
	}
	while (atomic_load(&spins) == 0)
		sched_yield();
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < SLEEPS; i++) {
			int64_t deadline = tst_now_ns() + SLEEP_NS;
			struct timespec ts = {deadline / 1000000000LL, deadline % 1000000000LL};
			int err;

			while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
						      NULL)) == EINTR)
				;
			late[i] = tst_now_ns() - deadline;
			if (err != 0 || late[i] < 0) {
				tfail("clock_nanosleep to an absolute deadline returns after it");
				break;
			}
		}
		qsort(late, SLEEPS, sizeof late[0], cmp_i64);
		if (late[SLEEPS / 4] < BOUND_NS)
			break;
		fprintf(stderr, "round %d lateness (ns, sorted):", round + 1);
		for (int i = 0; i < SLEEPS; i++)
			fprintf(stderr, " %lld", (long long)late[i]);
		fprintf(stderr, "\n");
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < SPINNERS; i++)
		pthread_join(t[i], NULL);
	tst_checkf(late[SLEEPS / 4] < BOUND_NS,
		   "a 1 ms sleeper sharing its CPU with %d spinning thread(s) wakes within %lld ms "
		   "(a quarter of %d sleeps at least, in one of %d rounds)",
		   SPINNERS, BOUND_NS / 1000000, SLEEPS, ROUNDS);
	return tst_exit();
}
