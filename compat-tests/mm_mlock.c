// The mlock(2) family on a process that may lock memory (root): mlock populates and locks a
// range (smaps "Locked:"), munlock undoes it, mlock2(MLOCK_ONFAULT) locks without populating,
// mlockall(MCL_CURRENT | MCL_FUTURE) locks what exists and what is mapped later, munlockall
// ends both. Errors: EINVAL for unknown mlock2 flags and for mlockall flags that are 0,
// unknown or MCL_ONFAULT alone; ENOMEM for ranges that are not mapped. The start rounds down
// to a page and the length up.
#include "tst_mm.h"

static void test_range(unsigned char *area)
{
	unsigned char vec[4];
	unsigned char *p = mmap(area, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
		return;
	}
	tst_check(sys3(SYS_mlock, p + 10, 2 * PAGE - 20, 0) == 0,
		  "mlock of an unaligned range inside the mapping");
	tst_check(mincore(p, 4 * PAGE, vec) == 0 && (vec[0] & 1) && (vec[1] & 1) && !vec[2],
		  "mlock populates exactly the pages it covers");
	tst_check(tst_smaps_kb(p, "Locked:") == 8, "smaps shows 8 kB locked");
	tst_check(sys3(SYS_munlock, p, 4 * PAGE, 0) == 0, "munlock");
	tst_check(tst_smaps_kb(p, "Locked:") == 0, "smaps shows nothing locked after munlock");

	tst_check(sys3(SYS_mlock2, p + 2 * PAGE, PAGE, MLOCK_ONFAULT) == 0,
		  "mlock2(MLOCK_ONFAULT)");
	tst_check(mincore(p + 2 * PAGE, PAGE, vec) == 0 && !vec[0],
		  "MLOCK_ONFAULT does not populate");
	p[2 * PAGE] = 1;
	tst_check(tst_smaps_kb(p + 2 * PAGE, "Locked:") == 4,
		  "an MLOCK_ONFAULT page counts once touched");
	tst_check(sys3(SYS_munlock, p + 2 * PAGE, PAGE, 0) == 0, "munlock of it");
	tst_raw_err("mlock2 with an unknown flag", sys3(SYS_mlock2, p, PAGE, 2), EINVAL);

	munmap(p + PAGE, PAGE);
	tst_raw_err("mlock over a hole", sys3(SYS_mlock, p, 4 * PAGE, 0), ENOMEM);
	tst_raw_err("munlock over a hole", sys3(SYS_munlock, p, 4 * PAGE, 0), ENOMEM);
	tst_raw_err("mlock of an unmapped range", sys3(SYS_mlock, area + 32 * PAGE, PAGE, 0), ENOMEM);
	tst_check(sys3(SYS_mlock, p, 0, 0) == 0, "mlock of length 0");
	sys3(SYS_munlock, p, PAGE, 0);
	munmap(p, 4 * PAGE);
}

static void test_all(unsigned char *area)
{
	unsigned char *p;

	tst_raw_err("mlockall(0)", sys3(SYS_mlockall, 0, 0, 0), EINVAL);
	tst_raw_err("mlockall(MCL_ONFAULT) alone", sys3(SYS_mlockall, MCL_ONFAULT, 0, 0), EINVAL);
	tst_raw_err("mlockall with an unknown flag", sys3(SYS_mlockall, MCL_CURRENT | 0x100, 0, 0),
		    EINVAL);
	tst_check(sys3(SYS_mlockall, MCL_CURRENT | MCL_FUTURE, 0, 0) == 0,
		  "mlockall(MCL_CURRENT | MCL_FUTURE)");
	p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0);
	if (p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
	} else {
		tst_check(tst_smaps_kb(p, "Locked:") == 8,
			  "after MCL_FUTURE a new mapping is locked and populated");
		tst_check(tst_all(p, 2 * PAGE, 0), "and zero-filled");
	}
	tst_check(sys3(SYS_munlockall, 0, 0, 0) == 0, "munlockall");
	if (p != MAP_FAILED) {
		tst_check(tst_smaps_kb(p, "Locked:") == 0, "munlockall unlocks it");
		munmap(p, 2 * PAGE);
	}
	p = mmap(area, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p != MAP_FAILED) {
		tst_check(tst_smaps_kb(p, "Rss:") == 0, "after munlockall new mappings are lazy again");
		munmap(p, PAGE);
	}
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	test_range(area);
	test_all(area);
	return tst_exit();
}
