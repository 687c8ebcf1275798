/* wakeup_latency: how late a sleeping thread runs again while another thread
 * keeps the CPU busy. One thread spins in user space; main sleeps ~1 ms at a
 * time (clock_nanosleep to an absolute CLOCK_MONOTONIC deadline) and records
 * how long after the deadline it got the CPU back. Both are pinned to CPU 0, so
 * the wake-up always finds the spinner on its CPU: the figure is the wake-up
 * preemption delay plus the timer's own lateness. Prints the median oversleep
 * in ns, with the 99th percentile and the maximum in the note.
 * argv[1]: sleeps measured. argv[2]: spinning threads (default 1). With more
 * than one (reported as wakeup_latency_crowded), CPU-bound threads also wait in
 * CPU 0's queue when the sleeper wakes: the figure then shows whether a woken
 * thread is placed ahead of them (CFS-style virtual run time) or behind them. */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define SLEEP_NS 1000000L

static _Atomic int stop;
static _Atomic long spins;

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

static void *spinner(void *arg)
{
	(void)arg;
	pin(0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static struct timespec to_timespec(double ns)
{
	struct timespec t;
	t.tv_sec = (time_t)(ns / 1e9);
	t.tv_nsec = (long)(ns - (double)t.tv_sec * 1e9);
	return t;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 300);
	long spinners = bench_arg(argc, argv, 2, 1);
	const char *name = spinners > 1 ? "wakeup_latency_crowded" : "wakeup_latency";
	if (spinners < 1 || spinners > 8)
		bench_unsupported(name, "argv[2] spinners in 1..8", EINVAL);
	long warm = n / 10 + 1;
	bench_boot_mark();
	int err = pin(0);
	if (err)
		bench_unsupported(name, "sched_setaffinity", err);
	double *late = malloc(sizeof(double) * (size_t)n);
	if (!late)
		bench_unsupported(name, "malloc", ENOMEM);
	pthread_t threads[8];
	for (long i = 0; i < spinners; i++) {
		err = pthread_create(&threads[i], NULL, spinner, NULL);
		if (err)
			bench_unsupported(name, "pthread_create", err);
	}
	/* Let the spinners get going: they must hold the CPU when the first sleep ends. */
	while (atomic_load(&spins) == 0)
		sched_yield();
	for (long i = -warm; i < n; i++) {
		double deadline = bench_now_ns() + SLEEP_NS;
		struct timespec ts = to_timespec(deadline);
		while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
			;
		if (err)
			bench_unsupported(name, "clock_nanosleep", err);
		double woke = bench_now_ns();
		if (i >= 0)
			late[i] = woke > deadline ? woke - deadline : 0;
	}
	atomic_store(&stop, 1);
	for (long i = 0; i < spinners; i++)
		pthread_join(threads[i], NULL);
	qsort(late, (size_t)n, sizeof late[0], cmp_double);
	char note[128];
	snprintf(note, sizeof note, "p99 %.0f ns, max %.0f ns over %ld sleeps of 1 ms, %ld spinning",
		 late[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], late[n - 1], n, spinners);
	bench_result_note(name, late[n / 2], "ns", note);
	return 0;
}
