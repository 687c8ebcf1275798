/* null_syscall: getppid(2) through syscall(3), ns per call. argv[1]: calls. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 100000);
	bench_boot_mark();
	for (long i = 0; i < n / 10; i++)
		syscall(SYS_getppid);
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	double t1 = bench_now_ns();
	bench_result("null_syscall", (t1 - t0) / n, "ns");
	return 0;
}
