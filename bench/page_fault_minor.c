/* page_fault_minor: first write to each 4 KiB page of a fresh anonymous private
 * mapping (transparent huge pages refused with MADV_NOHUGEPAGE where the kernel
 * has them), ns per fault. argv[1]: pages per round; argv[2]: rounds. */
#include "bench.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long pages = bench_arg(argc, argv, 1, 1024);
	long rounds = bench_arg(argc, argv, 2, 4);
	size_t len = (size_t)pages * 4096;
	double total = 0;
	bench_boot_mark();
	for (long r = 0; r <= rounds; r++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			bench_unsupported("page_fault_minor", "mmap", errno);
		/* Not every kernel knows the advice; the faults are measured either way. */
		madvise(p, len, MADV_NOHUGEPAGE);
		double t0 = bench_now_ns();
		for (long i = 0; i < pages; i++)
			p[i * 4096] = 1;
		double t1 = bench_now_ns();
		/* Round 0 warms up (translation caches, page-table pages). */
		if (r > 0)
			total += t1 - t0;
		munmap(p, len);
	}
	bench_result("page_fault_minor", total / (double)(pages * rounds), "ns");
	return 0;
}
