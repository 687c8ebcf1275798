// fallocate(2) on tmpfs (/dev/shm): mode 0 allocates and grows the file (st_blocks counts the
// pages), FALLOC_FL_KEEP_SIZE allocates past the end without growing it, PUNCH_HOLE|KEEP_SIZE
// frees whole pages and zeroes partial ones (the data around stays), any of them moves mtime
// and ctime; and the errors in Linux's order: EBADF, EINVAL (offset, length), EOPNOTSUPP
// (unknown modes, PUNCH_HOLE without KEEP_SIZE, modes tmpfs lacks), EBADF (not writable),
// ESPIPE (pipe), ENODEV (/dev/null), EFBIG (past the largest size).
#include "tst_files.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 2
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 8
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 16
#endif

static char path[96];

static long long size_of(int fd, long long *blocks)
{
	struct stat st;

	fstat(fd, &st);
	*blocks = st.st_blocks;
	return st.st_size;
}

static int fall(int fd, int mode, long long off, long long len)
{
	return (int)sys4(SYS_fallocate, fd, mode, off, len);
}

int main(void)
{
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	unsigned char buf[8192];
	long long size, blocks;
	struct stat st;
	int fd, ro, p[2], null, opath, i, ok;

	tst_shm_path(path, sizeof(path), "fallocate");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || pipe(p) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	futimens(fd, old);
	TF_RAW("allocate [0, 8192)", fall(fd, 0, 0, 8192), 0);
	size = size_of(fd, &blocks);
	tst_checkf(size == 8192 && blocks == 16, "size 8192, 16 blocks (got %lld, %lld)", size,
		   blocks);
	fstat(fd, &st);
	tst_check(st.st_mtime != 1000, "allocation moves mtime");
	TF_OKV("it reads as zeros", pread(fd, buf, sizeof(buf), 0), 8192);
	for (i = 0, ok = 1; i < 8192; i++)
		ok &= buf[i] == 0;
	tst_check(ok, "all zeros");

	TF_RAW("KEEP_SIZE allocates [8192, 16384) past the end",
	       fall(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192), 0);
	size = size_of(fd, &blocks);
	tst_checkf(size == 8192 && blocks == 32, "size stays 8192, 32 blocks (got %lld, %lld)",
		   size, blocks);
	TF_RAW("allocating inside the file", fall(fd, 0, 100, 10), 0);
	tst_check(size_of(fd, &blocks) == 8192, "does not change the size");

	memset(buf, 'x', sizeof(buf));
	pwrite(fd, buf, 8192, 0);
	futimens(fd, old);
	TF_RAW("punch a hole over [100, 4196)", fall(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						     100, 4096), 0);
	size = size_of(fd, &blocks);
	tst_checkf(size == 8192 && blocks == 32,
		   "no whole page in it: nothing freed, size kept (got %lld, %lld)", size, blocks);
	pread(fd, buf, 8192, 0);
	for (i = 0, ok = 1; i < 8192; i++)
		ok &= buf[i] == ((i >= 100 && i < 4196) ? 0 : 'x');
	tst_check(ok, "the range reads as zeros, the rest is intact");
	fstat(fd, &st);
	tst_check(st.st_mtime != 1000, "punching moves mtime");
	TF_RAW("punch [4096, 16384)", fall(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
					   12288), 0);
	size = size_of(fd, &blocks);
	tst_checkf(size == 8192 && blocks == 8, "three pages freed, size kept (got %lld, %lld)",
		   size, blocks);
	TF_RAW("punching past the end", fall(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     100000, 10), 0);
	tst_check(size_of(fd, &blocks) == 8192, "does not grow the file");

	TF_RAW("fd -1", fall(-1, 0, 0, 1), EBADF);
	opath = open(path, O_PATH);
	TF_RAW("an O_PATH fd", fall(opath, 0, 0, 1), EBADF);
	TF_RAW("a negative offset", fall(fd, 0, -1, 1), EINVAL);
	TF_RAW("a length of 0", fall(fd, 0, 0, 0), EINVAL);
	TF_RAW("a negative length", fall(fd, 0, 0, -5), EINVAL);
	TF_RAW("an unknown mode bit", fall(fd, 0x100, 0, 1), EOPNOTSUPP);
	TF_RAW("FALLOC_FL_NO_HIDE_STALE", fall(fd, 4, 0, 1), EOPNOTSUPP);
	TF_RAW("PUNCH_HOLE without KEEP_SIZE", fall(fd, FALLOC_FL_PUNCH_HOLE, 0, 1), EOPNOTSUPP);
	TF_RAW("COLLAPSE_RANGE with KEEP_SIZE",
	       fall(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), EOPNOTSUPP);
	TF_RAW("two operations at once", fall(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
					      FALLOC_FL_KEEP_SIZE, 0, 1), EOPNOTSUPP);
	TF_RAW("ZERO_RANGE: tmpfs does not do it", fall(fd, FALLOC_FL_ZERO_RANGE, 0, 4096),
	       EOPNOTSUPP);
	ro = open(path, O_RDONLY);
	TF_RAW("a read-only fd", fall(ro, 0, 0, 1), EBADF);
	TF_RAW("a read-only fd with a bad length is EINVAL first", fall(ro, 0, 0, 0), EINVAL);
	TF_RAW("a mode tmpfs lacks on a read-only fd is EBADF first",
	       fall(ro, FALLOC_FL_ZERO_RANGE, 0, 1), EBADF);
	TF_RAW("a pipe", fall(p[1], 0, 0, 1), ESPIPE);
	null = open("/dev/null", O_WRONLY);
	TF_RAW("/dev/null", fall(null, 0, 0, 1), ENODEV);
	TF_RAW("offset + length overflows", fall(fd, 0, INT64_MAX, 2), EFBIG);
	TF_RAW("offset + length just past the limit", fall(fd, 0, INT64_MAX - 4095, 4097), EFBIG);

	close(null);
	close(ro);
	close(opath);
	close(fd);
	unlink(path);
	return tst_exit();
}
