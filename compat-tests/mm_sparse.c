// A 1 GiB private anonymous mapping touched sparsely: one page in a hundred (10 MiB in all)
// is written and read back; the rest costs nothing, so this runs in a VM with 128 MiB of RAM.
// Untouched pages read as zeros. MAP_NORESERVE, as a sparse allocator would ask.
#include "tst_mm.h"

#define GIB (1UL << 30)
#define STRIDE 100

int main(void)
{
	unsigned char *p = mmap(NULL, GIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long pages = GIB / PAGE, i, touched = 0, bad = 0;

	if (p == MAP_FAILED) {
		tfail("mmap 1 GiB: %s", tst_errname(errno));
		return tst_exit();
	}
	tpass("mmap 1 GiB");
	for (i = 0; i < pages; i += STRIDE) {
		unsigned long *w = (unsigned long *)(p + i * PAGE);

		w[0] = i;
		w[PAGE / sizeof(*w) - 1] = ~i;
		touched++;
	}
	tst_checkf(touched == (pages + STRIDE - 1) / STRIDE, "wrote %lu pages (1%%)", touched);
	for (i = 0; i < pages; i += STRIDE) {
		unsigned long *w = (unsigned long *)(p + i * PAGE);

		if (w[0] != i || w[PAGE / sizeof(*w) - 1] != ~i || w[1] != 0)
			bad++;
	}
	tst_check(bad == 0, "every written page reads back");
	tst_check(tst_all(p + PAGE, PAGE, 0) && tst_all(p + GIB - PAGE, PAGE, 0),
		  "untouched pages read zeros");
	tst_check(munmap(p, GIB) == 0, "munmap 1 GiB");
	return tst_exit();
}
