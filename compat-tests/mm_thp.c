// Transparent huge pages: a 2 MiB aligned, private anonymous region marked MADV_HUGEPAGE and
// touched gets a 2 MiB page (smaps AnonHugePages: 2048 kB; THPeligible: 1); unmapping half of
// it splits the page, keeping the other half's contents (AnonHugePages: 0 kB). Where the host
// has THP turned off (/sys/kernel/mm/transparent_hugepage/enabled is [never]) the sizes are
// not checked, only the contents; the printed lines are the same either way.
#include "tst_mm.h"

#define HUGE (2UL << 20)

static int thp_off(void)
{
	char *s = tst_read_file("/sys/kernel/mm/transparent_hugepage/enabled");
	int off = s && strstr(s, "[never]");

	free(s);
	return off;
}

int main(void)
{
	unsigned char *area = tst_free_area(2 * HUGE), *p;
	int any = thp_off();
	long huge_kb, after_kb;

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	p = mmap(area, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p != area) {
		tfail("mmap 2 MiB at a 2 MiB boundary: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(madvise(p, HUGE, MADV_HUGEPAGE) == 0, "madvise(MADV_HUGEPAGE)");
	tst_check(tst_smaps_kb(p, "THPeligible:") == 1 || any, "smaps says THPeligible: 1");
	memset(p, 0x3c, HUGE);
	huge_kb = tst_smaps_kb(p, "AnonHugePages:");
	tst_check(huge_kb == 2048 || (any && huge_kb >= 0),
		  "after touching it, AnonHugePages is 2048 kB");
	tst_check(tst_smaps_kb(p, "Rss:") == 2048, "Rss is 2048 kB");

	tst_check(munmap(p + HUGE / 2, HUGE / 2) == 0, "munmap the upper half");
	after_kb = tst_smaps_kb(p, "AnonHugePages:");
	tst_check(after_kb == 0, "the huge page is split: AnonHugePages is 0 kB");
	tst_check(tst_smaps_kb(p, "Rss:") == 1024, "Rss is 1024 kB");
	tst_check(tst_all(p, HUGE / 2, 0x3c), "the lower half keeps its contents");
	tst_check(!tst_readable(p + HUGE / 2), "the upper half is unmapped");
	p[0] = 1;
	tst_check(p[0] == 1 && p[1] == 0x3c, "and stays writable");
	munmap(p, HUGE / 2);
	return tst_exit();
}
