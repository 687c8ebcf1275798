// mremap(2) on private anonymous memory: growing in place keeps the contents and adds zero
// pages; shrinking unmaps the tail; growing into an occupied range fails with ENOMEM unless
// MREMAP_MAYMOVE, which moves the pages (the old range becomes unmapped); MREMAP_FIXED moves
// to a chosen address, replacing what was there; MREMAP_DONTUNMAP leaves the old range mapped
// but empty. Errors in Linux's order: EINVAL for bad flags, alignment, size 0, FIXED without
// MAYMOVE, overlapping ranges and old_size 0 on a private mapping; EFAULT for an unmapped
// old address or a range running past its mapping. Raw syscalls: libc wrappers check some
// arguments themselves.
#include "tst_mm.h"

static long remap(void *old, size_t old_len, size_t new_len, long flags, void *new_addr)
{
	return sys6(SYS_mremap, (long)old, (long)old_len, (long)new_len, flags, (long)new_addr, 0);
}

static unsigned char *map_at(unsigned char *at, size_t len, unsigned char fill)
{
	unsigned char *p = mmap(at, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, fill, len);
	return p;
}

static void test_resize(unsigned char *area)
{
	unsigned char *p = map_at(area, 2 * PAGE, 0x11);
	long r;

	if (!p) {
		tfail("mmap 2 pages: %s", tst_errname(errno));
		return;
	}
	r = remap(p, 2 * PAGE, 4 * PAGE, 0, NULL);
	tst_check(r == (long)p, "growing into free space stays in place");
	tst_check(tst_all(p, 2 * PAGE, 0x11), "grown mapping keeps its contents");
	tst_check(tst_all(p + 2 * PAGE, 2 * PAGE, 0), "grown pages are zero-filled");
	memset(p + 2 * PAGE, 0x22, 2 * PAGE);

	r = remap(p, 4 * PAGE, PAGE + 1, 0, NULL);
	tst_check(r == (long)p, "shrinking stays in place (the size rounds up to 2 pages)");
	tst_check(tst_readable(p + PAGE) && !tst_readable(p + 2 * PAGE),
		  "shrinking unmaps the tail");
	tst_check(remap(p, 2 * PAGE, 2 * PAGE, 0, NULL) == (long)p, "same size is a no-op");

	/* An occupied page right above: growing needs MREMAP_MAYMOVE. */
	if (!map_at(p + 2 * PAGE, PAGE, 0x33)) {
		tfail("mmap the blocking page: %s", tst_errname(errno));
		return;
	}
	tst_raw_err("growing into a mapped page without MREMAP_MAYMOVE",
		    remap(p, 2 * PAGE, 3 * PAGE, 0, NULL), ENOMEM);
	tst_check(tst_all(p, 2 * PAGE, 0x11), "a failed mremap changes nothing");
	r = remap(p, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, NULL);
	if (r < 0 && r > -4096) {
		tfail("growing with MREMAP_MAYMOVE: %s", tst_errname(-r));
		return;
	}
	tst_check(r != (long)p && (r & (long)(PAGE - 1)) == 0,
		  "growing with MREMAP_MAYMOVE moves the mapping");
	tst_check(tst_all((void *)r, 2 * PAGE, 0x11) && tst_all((unsigned char *)r + 2 * PAGE,
								 6 * PAGE, 0),
		  "moved mapping keeps its pages, the rest is zero");
	tst_check(!tst_readable(p) && !tst_readable(p + PAGE), "the old range is unmapped");
	tst_check(tst_all(p + 2 * PAGE, PAGE, 0x33), "the blocking page is untouched");

	/* MREMAP_FIXED: to a chosen address, replacing what is there. */
	r = remap((void *)r, 8 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE);
	tst_check(r == (long)(p + PAGE), "MREMAP_FIXED moves to the given address");
	tst_check(tst_all(p + PAGE, 2 * PAGE, 0x11), "MREMAP_FIXED replaced the page that was there");
	tst_check(!tst_readable(p), "the page below the target stays unmapped");

	/* MREMAP_DONTUNMAP: the old range stays mapped, empty. */
	r = remap(p + PAGE, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (r < 0 && r > -4096) {
		tfail("MREMAP_DONTUNMAP: %s", tst_errname(-r));
	} else {
		tst_check(tst_all((void *)r, 2 * PAGE, 0x11), "MREMAP_DONTUNMAP moves the pages");
		tst_check(tst_all(p + PAGE, 2 * PAGE, 0),
			  "MREMAP_DONTUNMAP leaves the old range mapped and zero");
		munmap((void *)r, 2 * PAGE);
	}
	munmap(p, 8 * PAGE);
}

static void test_errors(unsigned char *area)
{
	unsigned char *p = map_at(area, 2 * PAGE, 0x44);
	unsigned char *hole = area + 4 * PAGE;

	if (!p) {
		tfail("mmap 2 pages: %s", tst_errname(errno));
		return;
	}
	tst_raw_err("unaligned old address", remap(p + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL),
		    EINVAL);
	tst_raw_err("unknown flag", remap(p, PAGE, 2 * PAGE, 0x80, NULL), EINVAL);
	tst_raw_err("new size 0", remap(p, PAGE, 0, MREMAP_MAYMOVE, NULL), EINVAL);
	tst_raw_err("MREMAP_FIXED without MREMAP_MAYMOVE",
		    remap(p, PAGE, PAGE, MREMAP_FIXED, hole), EINVAL);
	tst_raw_err("MREMAP_FIXED to an unaligned address",
		    remap(p, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, hole + 1), EINVAL);
	tst_raw_err("MREMAP_FIXED onto the old range",
		    remap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE), EINVAL);
	tst_raw_err("MREMAP_DONTUNMAP with a resize",
		    remap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), EINVAL);
	tst_raw_err("old_size 0 of a private mapping",
		    remap(p, 0, PAGE, MREMAP_MAYMOVE, NULL), EINVAL);
	tst_raw_err("old address not mapped", remap(hole, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL),
		    EFAULT);
	tst_raw_err("old range running past its mapping",
		    remap(p, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, NULL), EFAULT);
	tst_check(tst_all(p, 2 * PAGE, 0x44), "failed calls leave the mapping alone");
	munmap(p, 2 * PAGE);
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	test_resize(area);
	test_errors(area);
	return tst_exit();
}
