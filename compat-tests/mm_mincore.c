// mincore(2): a byte per page, 1 when the page is in memory. Untouched private anonymous
// pages are not; touched ones are, PROT_NONE or not, until MADV_DONTNEED drops them. A file
// page that was written is in the page cache before any mapping touches it; a hole in the
// file is not. Errors: EINVAL for an unaligned start, ENOMEM for a range that is not (wholly)
// mapped, EFAULT for a bad vector.
#include "tst_mm.h"

static long incore(void *p, size_t len, unsigned char *vec)
{
	return sys3(SYS_mincore, p, len, vec);
}

static void test_anonymous(unsigned char *area)
{
	unsigned char vec[4];
	unsigned char *p = mmap(area, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
		return;
	}
	tst_check(incore(p, 4 * PAGE, vec) == 0 && !vec[0] && !vec[1] && !vec[2] && !vec[3],
		  "untouched anonymous pages are not resident");
	p[0] = 1;
	p[2 * PAGE] = 1;
	tst_check(incore(p, 4 * PAGE, vec) == 0 && (vec[0] & 1) && !vec[1] && (vec[2] & 1) &&
			  !vec[3],
		  "written pages are resident, the others not");
	tst_check(incore(p, 3 * PAGE - 100, vec) == 0 && (vec[2] & 1),
		  "a length ending inside a page covers that page");
	mprotect(p, PAGE, PROT_NONE);
	tst_check(incore(p, PAGE, vec) == 0 && (vec[0] & 1), "a PROT_NONE page stays resident");
	madvise(p + 2 * PAGE, PAGE, MADV_DONTNEED);
	tst_check(incore(p + 2 * PAGE, PAGE, vec) == 0 && !vec[0],
		  "MADV_DONTNEED makes the page non-resident");

	tst_raw_err("unaligned start", incore(p + 1, PAGE, vec), EINVAL);
	tst_raw_err("a bad vector", incore(p, PAGE, NULL), EFAULT);
	tst_raw_err("an unmapped range", incore(area + 16 * PAGE, PAGE, vec), ENOMEM);
	tst_raw_err("a range running past the mapping", incore(p, 5 * PAGE, vec), ENOMEM);
	tst_check(incore(p, 0, vec) == 0, "length 0 succeeds");
	munmap(p, 4 * PAGE);
}

static void test_file(unsigned char *area)
{
	char path[64], page[PAGE];
	unsigned char vec[2];
	unsigned char *p;
	int fd;

	snprintf(path, sizeof(path), "/tmp/mm_mincore_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		tfail("create the file: %s", tst_errname(errno));
		return;
	}
	unlink(path);
	memset(page, 'x', sizeof(page));
	if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page) || ftruncate(fd, 2 * PAGE)) {
		tfail("fill the file");
		close(fd);
		return;
	}
	p = mmap(area, 2 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		tfail("mmap the file: %s", tst_errname(errno));
		close(fd);
		return;
	}
	tst_check(incore(p, 2 * PAGE, vec) == 0 && (vec[0] & 1) && !vec[1],
		  "a written file page is resident before it is touched, a hole is not");
	munmap(p, 2 * PAGE);
	close(fd);
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	test_anonymous(area);
	test_file(area);
	return tst_exit();
}
