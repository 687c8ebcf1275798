// msync(2): MS_SYNC on a shared file mapping makes the written bytes the file's (read(2) of
// the file sees them, before and after munmap); MS_ASYNC and MS_INVALIDATE succeed; private and
// anonymous memory have nothing to write. Errors in Linux's order: EINVAL for unknown flags,
// MS_ASYNC together with MS_SYNC, and an unaligned start; ENOMEM for a range that is not
// (wholly) mapped; EBUSY for MS_INVALIDATE on locked memory. Length 0 succeeds.
#include "tst_mm.h"

static long sync_range(void *p, size_t len, long flags)
{
	return sys3(SYS_msync, p, len, flags);
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);
	char path[64], buf[16];
	unsigned char *p, *anon;
	int fd;

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	snprintf(path, sizeof(path), "/tmp/mm_msync_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 2 * PAGE)) {
		tfail("create the file: %s", tst_errname(errno));
		return tst_exit();
	}
	unlink(path);
	p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		tfail("mmap the file: %s", tst_errname(errno));
		return tst_exit();
	}
	memcpy(p + 100, "through the map", 15);
	memcpy(p + PAGE, "second page", 11);
	tst_check(sync_range(p, 2 * PAGE, MS_SYNC) == 0, "msync(MS_SYNC) of a shared file mapping");
	tst_check(pread(fd, buf, 15, 100) == 15 && memcmp(buf, "through the map", 15) == 0,
		  "read(2) sees the bytes written through the mapping");
	tst_check(pread(fd, buf, 11, PAGE) == 11 && memcmp(buf, "second page", 11) == 0,
		  "on the second page too");
	memcpy(p + 200, "again", 5);
	tst_check(sync_range(p, PAGE, MS_ASYNC) == 0, "msync(MS_ASYNC)");
	tst_check(sync_range(p, PAGE, MS_SYNC | MS_INVALIDATE) == 0, "msync(MS_SYNC | MS_INVALIDATE)");
	tst_check(pread(fd, buf, 5, 200) == 5 && memcmp(buf, "again", 5) == 0,
		  "a second write is seen too");
	tst_check(sync_range(p + PAGE, 0, MS_SYNC) == 0, "length 0");

	tst_raw_err("MS_ASYNC | MS_SYNC", sync_range(p, PAGE, MS_ASYNC | MS_SYNC), EINVAL);
	tst_raw_err("an unknown flag", sync_range(p, PAGE, 8), EINVAL);
	tst_raw_err("an unaligned start", sync_range(p + 1, PAGE, MS_SYNC), EINVAL);
	tst_raw_err("an unmapped range", sync_range(area + 32 * PAGE, PAGE, MS_SYNC), ENOMEM);
	tst_raw_err("a range running past the mapping", sync_range(p, 3 * PAGE, MS_SYNC), ENOMEM);
	tst_raw_err("MS_ASYNC over an unmapped range", sync_range(area + 32 * PAGE, PAGE, MS_ASYNC),
		    ENOMEM);

	anon = mmap(area + 8 * PAGE, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (anon == MAP_FAILED) {
		tfail("mmap anonymous: %s", tst_errname(errno));
	} else {
		tst_check(sync_range(anon, PAGE, MS_SYNC) == 0, "msync of anonymous memory");
		if (mlock(anon, PAGE) == 0) {
			tst_raw_err("MS_INVALIDATE on locked memory",
				    sync_range(anon, PAGE, MS_INVALIDATE), EBUSY);
			munlock(anon, PAGE);
		} else {
			tfail("mlock: %s", tst_errname(errno));
		}
		munmap(anon, PAGE);
	}

	memcpy(p + 300, "unmapped", 8);
	munmap(p, 2 * PAGE);
	tst_check(pread(fd, buf, 8, 300) == 8 && memcmp(buf, "unmapped", 8) == 0,
		  "munmap without msync keeps the written bytes");
	close(fd);
	return tst_exit();
}
