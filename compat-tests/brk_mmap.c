// brk(2), mmap(2), munmap(2), mprotect(2) on anonymous private memory.
//
// brk: grows and shrinks with contents kept below the break, refuses to go
// below the start of the heap. mmap: zero-filled, writable, MAP_FIXED
// replaces, partial munmap leaves the rest, mprotect toggles write access.
// Whether a page is mapped or writable is probed with syscalls that take a
// user pointer (EFAULT instead of a crash): openat(2) reads a path from it,
// clock_gettime(2) writes a timespec to it. Errno cases match mmap(2) and
// munmap(2). brk goes through the raw syscall: musl's brk()/sbrk(n) refuse
// to move the break at all.
#include "tst.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

/* EFAULT when addr is not mapped readable, ENOENT for a readable "" path. */
static long probe_read(void *addr)
{
	return sys4(SYS_openat, AT_FDCWD, addr, O_RDONLY, 0);
}

/* 0 when 16 bytes at addr are writable, EFAULT otherwise. */
static long probe_write(void *addr)
{
	return sys3(SYS_clock_gettime, CLOCK_MONOTONIC, addr, 0);
}

static int all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void test_brk(void)
{
	uintptr_t start = (uintptr_t)sys3(SYS_brk, 0, 0, 0);
	uintptr_t base, got;
	unsigned char *p;

	tst_check(start != 0 && start < (1UL << 47), "brk(0) returns the current break");
	/*
	 * Printing may have made malloc move the break (stdout's buffer): take it
	 * afresh, and move it only above this point, back here at the end.
	 */
	start = (uintptr_t)sys3(SYS_brk, 0, 0, 0);
	base = (start + PAGE - 1) & ~(PAGE - 1);
	p = (unsigned char *)base;
	tst_check((uintptr_t)sys3(SYS_brk, 0, 0, 0) == start, "brk(0) twice returns the same");

	got = (uintptr_t)sys3(SYS_brk, base + 16 * PAGE, 0, 0);
	tst_check(got == base + 16 * PAGE, "brk grows by 16 pages");
	if (got != base + 16 * PAGE)
		return;
	tst_check(all_bytes(p, 16 * PAGE, 0), "new brk memory is zero-filled");
	memset(p, 0x5a, 16 * PAGE);
	tst_check(all_bytes(p, 16 * PAGE, 0x5a), "brk memory is writable");

	got = (uintptr_t)sys3(SYS_brk, base + 64 * PAGE, 0, 0);
	tst_check(got == base + 64 * PAGE, "brk grows again to 64 pages");
	tst_check(all_bytes(p, 16 * PAGE, 0x5a), "contents kept across brk growth");
	tst_check(all_bytes(p + 16 * PAGE, 48 * PAGE, 0), "second growth is zero-filled");

	got = (uintptr_t)sys3(SYS_brk, base + 4 * PAGE, 0, 0);
	tst_check(got == base + 4 * PAGE, "brk shrinks to 4 pages");
	tst_check(all_bytes(p, 4 * PAGE, 0x5a), "contents below the break kept after shrink");
	tst_raw_err("openat on a path beyond the shrunk break", probe_read(p + 8 * PAGE), EFAULT);

	got = (uintptr_t)sys3(SYS_brk, base + 8 * PAGE, 0, 0);
	tst_check(got == base + 8 * PAGE && all_bytes(p + 4 * PAGE, 4 * PAGE, 0),
		  "regrowing brk gives zero-filled pages again");

	got = (uintptr_t)sys3(SYS_brk, 0x1000, 0, 0);
	tst_check(got == base + 8 * PAGE, "brk below the heap start fails, returns the old break");

	got = (uintptr_t)sys3(SYS_brk, start, 0, 0);
	tst_check(got == start, "brk back to the start");
}

static void test_mmap(void)
{
	const size_t len = 8 * PAGE;
	unsigned char *p, *q;
	long ret;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		tfail("mmap anonymous RW 8 pages: %s", tst_errname(errno));
		return;
	}
	tpass("mmap anonymous RW 8 pages");
	tst_check(((uintptr_t)p & (PAGE - 1)) == 0, "mmap result is page aligned");
	tst_check(all_bytes(p, len, 0), "anonymous memory is zero-filled");
	memset(p, 0xa5, len);
	tst_check(all_bytes(p, len, 0xa5), "anonymous memory is writable");

	/* MAP_FIXED over the middle replaces those pages with fresh zero pages. */
	q = mmap(p + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	tst_check(q == p + 2 * PAGE, "MAP_FIXED maps at exactly the given address");
	tst_check(all_bytes(p + 2 * PAGE, 2 * PAGE, 0), "MAP_FIXED replaced pages are zero");
	tst_check(all_bytes(p, 2 * PAGE, 0xa5) && all_bytes(p + 4 * PAGE, 4 * PAGE, 0xa5),
		  "pages around the MAP_FIXED mapping keep their contents");

	/* Punch a hole: the rest stays mapped. */
	tst_check(munmap(p + 5 * PAGE, PAGE) == 0, "munmap of one page in the middle");
	tst_raw_err("openat on a path in the unmapped page", probe_read(p + 5 * PAGE), EFAULT);
	tst_check(all_bytes(p + 4 * PAGE, PAGE, 0xa5) && all_bytes(p + 6 * PAGE, 2 * PAGE, 0xa5),
		  "pages next to the hole keep their contents");
	tst_check(munmap(p + 5 * PAGE, PAGE) == 0, "munmap of an already unmapped range succeeds");

	/* mprotect: read-only, then read-write again. p[0] = 0 makes p an empty path. */
	p[0] = 0;
	tst_check(mprotect(p, PAGE, PROT_READ) == 0, "mprotect(PROT_READ)");
	tst_raw_err("kernel write into a PROT_READ page", probe_write(p), EFAULT);
	tst_check(p[0] == 0 && p[PAGE - 1] == 0xa5, "PROT_READ page is still readable");
	tst_raw_err("openat reads an empty path from a PROT_READ page", probe_read(p), ENOENT);
	tst_check(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect back to RW");
	ret = probe_write(p);
	tst_check(ret == 0, "kernel write into the page after mprotect RW");
	p[0] = 1;
	tst_check(p[0] == 1 && all_bytes(p + 16, PAGE - 16, 0xa5), "contents kept across mprotect");

	tst_check(mprotect(p, PAGE, PROT_NONE) == 0, "mprotect(PROT_NONE)");
	tst_raw_err("openat on a path in a PROT_NONE page", probe_read(p), EFAULT);
	tst_check(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect PROT_NONE back to RW");

	tst_raw_err("mprotect of an unaligned address",
		    sys3(SYS_mprotect, p + 1, PAGE, PROT_READ), EINVAL);
	tst_raw_err("mprotect with an unknown prot bit",
		    sys3(SYS_mprotect, p, PAGE, 0x100), EINVAL);
	tst_raw_err("mprotect of an unmapped range", sys3(SYS_mprotect, p + 5 * PAGE, PAGE,
							  PROT_READ), ENOMEM);

	tst_check(munmap(p, len) == 0, "munmap of the whole range, hole included");
	tst_raw_err("openat on a path in the unmapped range", probe_read(p), EFAULT);
}

static void test_mmap_errors(void)
{
	const long anon = MAP_PRIVATE | MAP_ANONYMOUS;
	const long rw = PROT_READ | PROT_WRITE;

	tst_raw_err("mmap with length 0", sys6(SYS_mmap, 0, 0, rw, anon, -1, 0), EINVAL);
	tst_raw_err("mmap without MAP_PRIVATE or MAP_SHARED",
		    sys6(SYS_mmap, 0, PAGE, rw, MAP_ANONYMOUS, -1, 0), EINVAL);
	tst_raw_err("mmap MAP_FIXED at an unaligned address",
		    sys6(SYS_mmap, 0x10000001, PAGE, rw, anon | MAP_FIXED, -1, 0), EINVAL);
	tst_raw_err("mmap with an unaligned offset", sys6(SYS_mmap, 0, PAGE, rw, anon, -1, 1),
		    EINVAL);
	tst_raw_err("mmap of 2^48 bytes", sys6(SYS_mmap, 0, 1L << 48, rw, anon, -1, 0), ENOMEM);
	tst_raw_err("munmap of an unaligned address", sys3(SYS_munmap, 0x10000001, PAGE, 0),
		    EINVAL);
	tst_raw_err("munmap with length 0", sys3(SYS_munmap, 0x10000000, 0, 0), EINVAL);
}

static void test_mmap_hint(void)
{
	/* A non-fixed, unaligned hint is only a hint: the call still succeeds. */
	long r = sys6(SYS_mmap, 0x10000001, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (r < 0 && r > -4096) {
		tfail("mmap with an unaligned hint: %s", tst_errname(-r));
		return;
	}
	tst_check((r & (long)(PAGE - 1)) == 0, "mmap with an unaligned hint returns an aligned address");
	tst_check(sys3(SYS_munmap, r, PAGE, 0) == 0, "munmap of that mapping");
}

int main(void)
{
	test_brk();
	test_mmap();
	test_mmap_errors();
	test_mmap_hint();
	return tst_exit();
}
