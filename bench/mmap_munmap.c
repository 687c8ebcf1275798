/* mmap_munmap: mmap of one 4 KiB anonymous private page, then munmap, without
 * touching it, ns per pair. argv[1]: pairs. */
#include "bench.h"
#include <sys/mman.h>

static void pair(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		bench_unsupported("mmap_munmap", "mmap", errno);
	if (munmap(p, 4096) != 0)
		bench_unsupported("mmap_munmap", "munmap", errno);
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 20000);
	bench_boot_mark();
	for (long i = 0; i < n / 10; i++)
		pair();
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		pair();
	double t1 = bench_now_ns();
	bench_result("mmap_munmap", (t1 - t0) / n, "ns");
	return 0;
}
