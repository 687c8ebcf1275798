/* The static hello of the `boot`, `boot_guest` and `min_ram_hello` metrics. */
#include "bench.h"

int main(void)
{
	bench_boot_mark();
	printf("hello from oxv-bench\n");
	return 0;
}
