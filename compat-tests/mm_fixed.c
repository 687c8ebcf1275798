// MAP_FIXED over existing mappings and munmap across several: a MAP_FIXED anonymous mapping
// laid over part of a file mapping, a hole and part of an anonymous mapping replaces all of
// it with zero pages and leaves the parts outside alone; MAP_FIXED_NOREPLACE fails with EEXIST
// over anything mapped and works in free space; one munmap removes several mappings and the
// holes between them.
#include "tst_mm.h"

int main(void)
{
	unsigned char *area = tst_free_area(16 * PAGE), *p;
	char path[64], page[2 * PAGE];
	int fd;

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	snprintf(path, sizeof(path), "/tmp/mm_fixed_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(page, 'F', sizeof(page));
	if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		tfail("create the file: %s", tst_errname(errno));
		return tst_exit();
	}
	unlink(path);
	/* [0,2) file, [2,3) hole, [3,6) anonymous 0x22. */
	p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	tst_check(p == area, "map 2 pages of a file");
	p = mmap(area + 3 * PAGE, 3 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	tst_check(p == area + 3 * PAGE, "map 3 anonymous pages after a one-page hole");
	memset(area + 3 * PAGE, 0x22, 3 * PAGE);

	p = mmap(area + PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	tst_check(p == area + PAGE, "MAP_FIXED over file, hole and anonymous pages");
	tst_check(tst_all(area + PAGE, 4 * PAGE, 0), "the replaced range reads zeros");
	tst_check(tst_all(area, PAGE, 'F'), "the file page before it is kept");
	tst_check(tst_all(area + 5 * PAGE, PAGE, 0x22), "the anonymous page after it is kept");

	tst_raw_err("MAP_FIXED_NOREPLACE over a mapped page",
		    sys6(SYS_mmap, (long)(area + 5 * PAGE), 2 * PAGE, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
		    EEXIST);
	tst_check(tst_all(area + 5 * PAGE, PAGE, 0x22), "which is left alone");
	p = mmap(area + 8 * PAGE, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	tst_check(p == area + 8 * PAGE, "MAP_FIXED_NOREPLACE in free space maps there");

	tst_check(munmap(area, 10 * PAGE) == 0, "one munmap over all of them and the holes");
	tst_check(!tst_readable(area) && !tst_readable(area + 5 * PAGE) &&
			  !tst_readable(area + 8 * PAGE),
		  "everything in the range is unmapped");
	close(fd);
	return tst_exit();
}
