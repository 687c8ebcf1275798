// copy_file_range(2) within one file system: copies up to len bytes, cut at the end of the
// input; with offset pointers the files' own offsets stay and the pointers move, without
// them the offsets move; copying inside one file works when the ranges do not overlap. Errors
// in Linux's order: EBADF (either fd), EFAULT (offset pointers), EINVAL (flags), EISDIR, EINVAL
// (not a regular file), EBADF (access modes, O_APPEND output), EXDEV (another file system),
// EOVERFLOW (an offset that wraps), EINVAL (overlap in one file, negative offsets).
#include "tst_files.h"

#include <fcntl.h>
#include <unistd.h>

static char a_path[96], b_path[96], other[96];

static long cfr(int in, loff_t *oi, int out, loff_t *oo, size_t len, unsigned flags)
{
	return sys6(SYS_copy_file_range, in, (long)oi, out, (long)oo, (long)len, flags);
}

int main(void)
{
	char buf[100];
	int a, b, ro, app, dir, p[2], shm;
	loff_t oi, oo;

	tst_tmp_path(a_path, sizeof(a_path), "cfr-a");
	tst_tmp_path(b_path, sizeof(b_path), "cfr-b");
	tst_shm_path(other, sizeof(other), "cfr-other");
	unlink(a_path);
	unlink(b_path);
	unlink(other);
	a = open(a_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	b = open(b_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	shm = open(other, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (a < 0 || b < 0 || shm < 0 || write(a, "0123456789", 10) != 10 || pipe(p) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}
	lseek(a, 2, SEEK_SET);

	TF_OKV("copy 5 bytes from a's offset to b's", cfr(a, NULL, b, NULL, 5, 0), 5);
	TF_OKV("a's offset moved", lseek(a, 0, SEEK_CUR), 7);
	TF_OKV("b's offset moved", lseek(b, 0, SEEK_CUR), 5);
	oi = 6;
	oo = 20;
	TF_OKV("with offset pointers: cut at the end of a", cfr(a, &oi, b, &oo, 100, 0), 4);
	tst_check(oi == 10 && oo == 24, "the pointers moved");
	TF_OKV("a's own offset stayed", lseek(a, 0, SEEK_CUR), 7);
	TF_OKV("at the end of the input: 0", cfr(a, &oi, b, &oo, 100, 0), 0);
	memset(buf, '?', sizeof(buf));
	TF_OKV("b has 24 bytes", pread(b, buf, sizeof(buf), 0), 24);
	tst_check(memcmp(buf, "23456", 5) == 0 && memcmp(buf + 5, "\0\0\0", 3) == 0 &&
			  memcmp(buf + 20, "6789", 4) == 0,
		  "the bytes landed where asked, with a hole between");
	oi = 0;
	oo = 10;
	TF_OKV("inside one file, no overlap", cfr(a, &oi, a, &oo, 5, 0), 5);
	TF_OKV("a grew", pread(a, buf, sizeof(buf), 0), 15);
	tst_check(memcmp(buf, "012345678901234", 15) == 0, "a holds its copy");
	oi = 0;
	oo = 3;
	TF_RAW("overlapping ranges of one file", cfr(a, &oi, a, &oo, 5, 0), EINVAL);
	oi = 0;
	oo = 0;
	TF_OKV("len 0", cfr(a, &oi, b, &oo, 0, 0), 0);

	TF_RAW("fd_in -1", cfr(-1, NULL, b, NULL, 1, 0), EBADF);
	TF_RAW("fd_out -1", cfr(a, NULL, -1, NULL, 1, 0), EBADF);
	TF_RAW("an offset pointer that faults", sys6(SYS_copy_file_range, a, 8, b, 0, 1, 0),
	       EFAULT);
	TF_RAW("flags 1", cfr(a, NULL, b, NULL, 1, 1), EINVAL);
	dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	TF_RAW("a directory", cfr(dir, NULL, b, NULL, 1, 0), EISDIR);
	TF_RAW("a pipe", cfr(p[0], NULL, b, NULL, 1, 0), EINVAL);
	ro = open(b_path, O_RDONLY);
	TF_RAW("a read-only output", cfr(a, NULL, ro, NULL, 1, 0), EBADF);
	app = open(b_path, O_WRONLY | O_APPEND);
	TF_RAW("an O_APPEND output", cfr(a, NULL, app, NULL, 1, 0), EBADF);
	TF_RAW("a write-only input", cfr(app, NULL, b, NULL, 1, 0), EBADF);
	oi = 0;
	TF_RAW("another file system", cfr(a, &oi, shm, NULL, 1, 0), EXDEV);
	oi = -1;
	oo = 0;
	TF_RAW("a negative offset that wraps with len", cfr(a, &oi, b, &oo, 1, 0), EOVERFLOW);
	oi = -5;
	TF_RAW("a negative offset that does not wrap", cfr(a, &oi, b, &oo, 1, 0), EINVAL);

	close(dir);
	close(ro);
	close(app);
	close(a);
	close(b);
	close(shm);
	unlink(a_path);
	unlink(b_path);
	unlink(other);
	return tst_exit();
}
