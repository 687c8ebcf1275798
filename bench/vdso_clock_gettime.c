/* vdso_clock_gettime: clock_gettime(CLOCK_MONOTONIC) as glibc makes it (through
 * the vDSO when the kernel maps one, else the system call), ns per call.
 * argv[1]: calls. */
#include "bench.h"
#include <sys/auxv.h>

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 100000);
	struct timespec t;
	bench_boot_mark();
	for (long i = 0; i < n / 10; i++)
		clock_gettime(CLOCK_MONOTONIC, &t);
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &t);
	double t1 = bench_now_ns();
	if (getauxval(AT_SYSINFO_EHDR))
		bench_result("vdso_clock_gettime", (t1 - t0) / n, "ns");
	else
		bench_result_note("vdso_clock_gettime", (t1 - t0) / n, "ns",
				  "no vDSO (AT_SYSINFO_EHDR absent): each call is a system call");
	return 0;
}
