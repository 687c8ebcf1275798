// MAP_SHARED of a regular file: the mapping and read(2)/write(2)/pwrite(2) on the file see the
// same bytes both ways, two shared mappings see each other's writes, a MAP_PRIVATE mapping's
// writes reach neither, and what was written through the mapping stays in the file after
// munmap and after the fd is closed (the mapping keeps working without it). Growing the file
// with ftruncate shows zeros in the mapping. Errors: EACCES for a writable shared mapping of a
// file not opened for writing (and for mprotect adding PROT_WRITE to a read-only one; private
// mappings may), EACCES for an fd opened write-only, ENODEV for a directory and for a shared
// mapping of /proc/self/cmdline, EBADF for a closed fd.
#include "tst_mm.h"

static char path[64];

static int check_file(int fd, off_t at, const char *want)
{
	char buf[64];
	size_t n = strlen(want);

	return pread(fd, buf, n, at) == (ssize_t)n && memcmp(buf, want, n) == 0;
}

static void test_coherence(unsigned char *area)
{
	unsigned char *p, *q, *priv;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, "0123456789", 10) != 10 || ftruncate(fd, 2 * PAGE)) {
		tfail("create the file: %s", tst_errname(errno));
		return;
	}
	p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	q = mmap(area + 4 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	priv = mmap(area + 8 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		    0);
	if (p == MAP_FAILED || q == MAP_FAILED || priv == MAP_FAILED) {
		tfail("mmap the file: %s", tst_errname(errno));
		return;
	}
	tst_check(memcmp(p, "0123456789", 10) == 0 && tst_all(p + 10, 2 * PAGE - 10, 0),
		  "the mapping shows the file, zeros after its data");

	memcpy(p + 100, "via map", 7);
	tst_check(check_file(fd, 100, "via map"), "pread sees a write through the mapping");
	tst_check(memcmp(q + 100, "via map", 7) == 0, "a second shared mapping sees it");

	tst_check(pwrite(fd, "via pwrite", 10, 200) == 10 && memcmp(p + 200, "via pwrite", 10) == 0,
		  "the mapping sees pwrite");
	tst_check(lseek(fd, PAGE + 5, SEEK_SET) == (off_t)(PAGE + 5) &&
			  write(fd, "via write", 9) == 9 && memcmp(p + PAGE + 5, "via write", 9) == 0,
		  "the mapping sees write on the second page");

	memcpy(priv + 300, "private", 7);
	tst_check(!check_file(fd, 300, "private") && p[300] == 0,
		  "a write to a MAP_PRIVATE mapping reaches neither the file nor MAP_SHARED");

	tst_check(ftruncate(fd, 3 * PAGE) == 0, "grow the file");
	unsigned char *r = mmap(area + 12 * PAGE, 3 * PAGE, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, fd, 0);
	tst_check(r != MAP_FAILED && tst_all(r + 2 * PAGE, PAGE, 0), "the grown part maps as zeros");
	if (r != MAP_FAILED) {
		r[2 * PAGE + 1] = 'g';
		tst_check(check_file(fd, 2 * PAGE + 1, "g"), "and takes writes into the file");
		munmap(r, 3 * PAGE);
	}

	memcpy(q + 400, "before munmap", 13);
	munmap(q, 2 * PAGE);
	tst_check(check_file(fd, 400, "before munmap"), "munmap keeps what was written");

	/* Close the fd: the mapping still works and still reaches the file. */
	close(fd);
	memcpy(p + 500, "after close", 11);
	munmap(p, 2 * PAGE);
	munmap(priv, 2 * PAGE);
	fd = open(path, O_RDONLY);
	tst_check(fd >= 0 && check_file(fd, 500, "after close") && check_file(fd, 100, "via map"),
		  "a write after close(2) is in the file when it is opened again");
	if (fd >= 0)
		close(fd);
}

static void test_errors(unsigned char *area)
{
	unsigned char *p;
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY), dir = open("/tmp", O_RDONLY);
	int proc = open("/proc/self/cmdline", O_RDONLY);
	long rw = PROT_READ | PROT_WRITE;

	if (ro < 0 || wo < 0 || dir < 0 || proc < 0) {
		tfail("open the files: %s", tst_errname(errno));
		return;
	}
	tst_raw_err("MAP_SHARED with PROT_WRITE of a read-only fd",
		    sys6(SYS_mmap, (long)area, PAGE, rw, MAP_SHARED, ro, 0), EACCES);
	p = mmap(area, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0);
	tst_check(p != MAP_FAILED, "MAP_SHARED with PROT_READ of a read-only fd");
	if (p != MAP_FAILED) {
		tst_check(memcmp(p + 100, "via map", 7) == 0, "shows the file");
		tst_raw_err("mprotect adding PROT_WRITE to it", sys3(SYS_mprotect, p, PAGE, rw),
			    EACCES);
		munmap(p, PAGE);
	}
	p = mmap(area, PAGE, rw, MAP_PRIVATE | MAP_FIXED, ro, 0);
	tst_check(p != MAP_FAILED, "MAP_PRIVATE with PROT_WRITE of a read-only fd");
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	tst_raw_err("a write-only fd", sys6(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, wo, 0),
		    EACCES);
	tst_raw_err("a directory", sys6(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, dir, 0), ENODEV);
	tst_raw_err("MAP_SHARED of /proc/self/cmdline",
		    sys6(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, proc, 0), ENODEV);
	close(proc);
	close(dir);
	close(wo);
	close(ro);
	tst_raw_err("a closed fd", sys6(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, ro, 0), EBADF);
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	snprintf(path, sizeof(path), "/tmp/mm_shared_file_%d", (int)getpid());
	test_coherence(area);
	test_errors(area);
	unlink(path);
	return tst_exit();
}
