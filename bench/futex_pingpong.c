/* futex_pingpong_same_cpu / futex_pingpong_cross_cpu: two threads hand a token
 * back and forth with FUTEX_WAIT/FUTEX_WAKE, ns per round trip (two wakes, two
 * waits). argv[1]: `same` (both threads on CPU 0) or `cross` (CPUs 0 and 1);
 * argv[2]: round trips. */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Whose move it is: 1 the partner's, 0 main's. */
static _Atomic int turn;
static long total;
static int partner_cpu;

static void wait_while(int value)
{
	while (atomic_load(&turn) == value)
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void pass(int to)
{
	atomic_store(&turn, to);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

static void *partner(void *arg)
{
	(void)arg;
	pin(partner_cpu);
	for (long i = 0; i < total; i++) {
		wait_while(0);
		pass(0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int cross = argc > 1 && strcmp(argv[1], "cross") == 0;
	const char *name = cross ? "futex_pingpong_cross_cpu" : "futex_pingpong_same_cpu";
	long n = bench_arg(argc, argv, 2, 10000);
	long warm = n / 10;
	bench_boot_mark();
	if (cross && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("oxv-bench name=%s unsupported reason=needs 2 CPUs, %ld online\n", name,
		       sysconf(_SC_NPROCESSORS_ONLN));
		return 0;
	}
	int err = pin(0);
	if (err)
		bench_unsupported(name, "sched_setaffinity", err);
	partner_cpu = cross ? 1 : 0;
	total = warm + n;
	pthread_t thread;
	err = pthread_create(&thread, NULL, partner, NULL);
	if (err)
		bench_unsupported(name, "pthread_create", err);
	for (long i = 0; i < warm; i++) {
		pass(1);
		wait_while(1);
	}
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		pass(1);
		wait_while(1);
	}
	double t1 = bench_now_ns();
	pthread_join(thread, NULL);
	bench_result(name, (t1 - t0) / n, "ns");
	return 0;
}
