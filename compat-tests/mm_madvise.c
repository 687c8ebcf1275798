// madvise(2): MADV_DONTNEED zeroes private anonymous memory and makes a private file mapping
// read the file again; MADV_FREE may drop pages (each page reads back whole or zero);
// MADV_WILLNEED, MADV_HUGEPAGE/NOHUGEPAGE, MADV_DONTFORK/DOFORK are accepted. Errors as Linux
// checks them: EINVAL for an unknown advice (even with length 0), an unaligned start, MADV_FREE
// on a file mapping, MADV_DONTNEED on locked memory, MADV_REMOVE on private memory; length 0 is
// a no-op; a range with an unmapped hole is ENOMEM after the advice was applied around it.
#include "tst_mm.h"

static long advise(void *p, size_t len, long advice)
{
	return sys3(SYS_madvise, p, len, advice);
}

static void test_anonymous(unsigned char *area)
{
	unsigned char *p = mmap(area, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int i, ok = 1;

	if (p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
		return;
	}
	memset(p, 0x5a, 4 * PAGE);
	tst_check(advise(p + PAGE, 2 * PAGE, MADV_DONTNEED) == 0, "MADV_DONTNEED");
	tst_check(tst_all(p + PAGE, 2 * PAGE, 0), "MADV_DONTNEED zeroes private anonymous pages");
	tst_check(tst_all(p, PAGE, 0x5a) && tst_all(p + 3 * PAGE, PAGE, 0x5a),
		  "pages outside the range keep their contents");
	p[PAGE] = 1;
	tst_check(p[PAGE] == 1, "the range stays mapped and writable");

	memset(p, 0x6b, 4 * PAGE);
	tst_check(advise(p, 4 * PAGE, MADV_FREE) == 0, "MADV_FREE");
	for (i = 0; i < 4; i++)
		ok &= tst_all(p + i * PAGE, PAGE, 0x6b) || tst_all(p + i * PAGE, PAGE, 0);
	tst_check(ok, "after MADV_FREE each page reads back whole or zero");
	memset(p, 0x6c, PAGE);
	tst_check(tst_all(p, PAGE, 0x6c), "writing after MADV_FREE keeps the data");

	tst_check(advise(p, 4 * PAGE, MADV_WILLNEED) == 0, "MADV_WILLNEED");
	tst_check(advise(p, 4 * PAGE, MADV_NORMAL) == 0, "MADV_NORMAL");
	tst_check(advise(p, 4 * PAGE, MADV_RANDOM) == 0, "MADV_RANDOM");
	tst_check(advise(p, 4 * PAGE, MADV_SEQUENTIAL) == 0, "MADV_SEQUENTIAL");
	tst_check(advise(p, PAGE, MADV_DONTFORK) == 0 && advise(p, PAGE, MADV_DOFORK) == 0,
		  "MADV_DONTFORK and MADV_DOFORK");
	tst_check(advise(p, 4 * PAGE, MADV_HUGEPAGE) == 0, "MADV_HUGEPAGE");
	tst_check(advise(p, 4 * PAGE, MADV_NOHUGEPAGE) == 0, "MADV_NOHUGEPAGE");
	tst_check(tst_all(p, PAGE, 0x6c), "hints leave the contents alone");

	tst_raw_err("unknown advice", advise(p, PAGE, 12345), EINVAL);
	tst_raw_err("unknown advice with length 0", advise(p, 0, 12345), EINVAL);
	tst_raw_err("unaligned start", advise(p + 1, PAGE, MADV_DONTNEED), EINVAL);
	tst_raw_err("MADV_REMOVE on private memory", advise(p, PAGE, MADV_REMOVE), EINVAL);
	tst_check(advise(area + 64 * PAGE, 0, MADV_DONTNEED) == 0,
		  "length 0 succeeds even where nothing is mapped");
	tst_raw_err("an unmapped range", advise(area + 32 * PAGE, PAGE, MADV_WILLNEED), ENOMEM);

	/* A hole in the middle: ENOMEM, but the pages around it got the advice. */
	memset(p, 0x7d, 4 * PAGE);
	munmap(p + PAGE, PAGE);
	tst_raw_err("a range with a hole", advise(p, 4 * PAGE, MADV_DONTNEED), ENOMEM);
	tst_check(tst_all(p, PAGE, 0) && tst_all(p + 2 * PAGE, 2 * PAGE, 0),
		  "MADV_DONTNEED still zeroed the pages around the hole");

	if (mlock(p, PAGE) == 0) {
		tst_raw_err("MADV_DONTNEED on locked memory", advise(p, PAGE, MADV_DONTNEED), EINVAL);
		munlock(p, PAGE);
	} else {
		tfail("mlock: %s", tst_errname(errno));
	}
	munmap(p, 4 * PAGE);
}

static void test_file(unsigned char *area)
{
	char path[64];
	unsigned char buf[PAGE];
	unsigned char *p;
	int fd;

	snprintf(path, sizeof(path), "/tmp/mm_madvise_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		tfail("create %s: %s", "the file", tst_errname(errno));
		return;
	}
	unlink(path);
	memset(buf, 'f', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		tfail("write the file");
		close(fd);
		return;
	}
	p = mmap(area, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		tfail("mmap the file: %s", tst_errname(errno));
		close(fd);
		return;
	}
	memset(p, 'w', 16);
	tst_check(p[0] == 'w' && p[16] == 'f', "a private file page takes writes");
	tst_check(advise(p, PAGE, MADV_DONTNEED) == 0, "MADV_DONTNEED on a private file mapping");
	tst_check(tst_all(p, PAGE, 'f'), "the private file page reads the file again");
	tst_check(advise(p, PAGE, MADV_WILLNEED) == 0, "MADV_WILLNEED on a file mapping");
	tst_raw_err("MADV_FREE on a file mapping", advise(p, PAGE, MADV_FREE), EINVAL);
	munmap(p, PAGE);
	close(fd);
}

int main(void)
{
	unsigned char *area = tst_free_area(128 * PAGE);

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	test_anonymous(area);
	test_file(area);
	return tst_exit();
}
