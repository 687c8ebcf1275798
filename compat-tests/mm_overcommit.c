// Linux's default overcommit heuristic (vm.overcommit_memory=0): one request that would
// commit more memory than the machine has (1 TiB here, far beyond the RAM of both the host
// and the guest) fails with ENOMEM, whatever is free; memory that is not committed
// (PROT_NONE, read-only private, MAP_NORESERVE) is not refused. Judged per request: a
// mapping, an mprotect to writable, a brk growth, an mremap growth.
#include "tst_mm.h"

#include <sys/syscall.h>
#include <unistd.h>

#define TIB (1UL << 40)
#define MIB (1UL << 20)

static void *map(size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
}

static void expect_enomem(void *p, const char *what)
{
	if (p != MAP_FAILED) {
		tfail("%s: mapped", what);
		return;
	}
	tst_checkf(errno == ENOMEM, "%s: %s", what, tst_errname(errno));
}

static void expect_mapped(void *p, size_t len, const char *what)
{
	if (p == MAP_FAILED) {
		tfail("%s: %s", what, tst_errname(errno));
		return;
	}
	tpass("%s", what);
	munmap(p, len);
}

int main(void)
{
	expect_enomem(map(TIB, PROT_READ | PROT_WRITE, MAP_PRIVATE), "1 TiB private writable");
	expect_mapped(map(TIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE), TIB,
		      "1 TiB private writable, MAP_NORESERVE");
	expect_mapped(map(TIB, PROT_READ, MAP_PRIVATE), TIB, "1 TiB private read-only");
	expect_enomem(map(TIB, PROT_READ, MAP_SHARED), "1 TiB shared anonymous read-only");
	expect_mapped(map(TIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE), TIB,
		      "1 TiB shared anonymous, MAP_NORESERVE");

	// Reserve, then commit part of it, as allocators and language runtimes do.
	char *r = map(TIB, PROT_NONE, MAP_PRIVATE);
	if (r == MAP_FAILED) {
		tfail("1 TiB PROT_NONE: %s", tst_errname(errno));
	} else {
		tpass("1 TiB PROT_NONE");
		tst_checkf(mprotect(r, TIB, PROT_READ | PROT_WRITE) == -1 && errno == ENOMEM,
			   "mprotect 1 TiB writable: %s", tst_errname(errno));
		tst_checkf(mprotect(r, MIB, PROT_READ | PROT_WRITE) == 0,
			   "mprotect 1 MiB of it writable");
		r[0] = 1;
		r[MIB - 1] = 2;
		tst_check(r[0] == 1 && r[MIB - 1] == 2, "the committed part is usable");
		tst_checkf(mprotect(r + MIB, TIB - MIB, PROT_READ) == 0,
			   "the rest may become read-only");
		munmap(r, TIB);
	}

	// A failed growth leaves what was there.
	char *p = map(MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	char *q = MAP_FAILED;
	if (p == MAP_FAILED) {
		tfail("1 MiB: %s", tst_errname(errno));
		return tst_exit();
	}
	memset(p, 7, MIB);
	q = mremap(p, MIB, TIB, MREMAP_MAYMOVE);
	tst_checkf(q == MAP_FAILED && errno == ENOMEM, "mremap 1 MiB to 1 TiB: %s",
		   tst_errname(errno));
	tst_check(tst_all(p, MIB, 7), "the old mapping is still there");
	munmap(p, MIB);

	// The raw call: musl's sbrk refuses every increment by itself.
	unsigned long before = syscall(SYS_brk, 0);
	tst_check(syscall(SYS_brk, before + TIB) == (long)before, "brk(+1 TiB) leaves the break");
	tst_check(syscall(SYS_brk, before + MIB) == (long)(before + MIB), "brk(+1 MiB)");
	return tst_exit();
}
