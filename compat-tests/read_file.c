// oxv-file: data/read_file.txt
// oxv-args: @DATA@/read_file.txt @DATA@
//
// Reading a regular file: open/read to EOF, lseek (SEEK_SET/CUR/END, past the
// end, errors), pread64 (offset untouched), readv, fstat/newfstatat/statx
// sizes, stdio, the lowest free fd is reused; and the errors of open(2) and
// read(2): ENOENT, ENOTDIR (O_DIRECTORY on a file, "file/"), EISDIR (read on a
// directory), EBADF (write on O_RDONLY, closed fd).
// The data file is 150 lines "line NNNN abcdefghijklmnopqrstuvwxyz\n" (5550
// bytes, so it spans two pages); the test regenerates it to compare.
#include "tst.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define LINE 37
#define NLINES 150
#define SIZE (LINE * NLINES)

/* struct statx from statx(2); musl 1.2.3 has none, so pin the layout here. */
struct oxv_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	uint64_t rest[24];
};
_Static_assert(sizeof(struct oxv_statx) == 256, "struct statx is 256 bytes");
_Static_assert(__builtin_offsetof(struct oxv_statx, stx_size) == 40, "stx_size at 40");
#define OXV_STATX_TYPE 0x1U
#define OXV_STATX_SIZE 0x200U
#define OXV_STATX_BASIC_STATS 0x7ffU
#define OXV_AT_EMPTY_PATH 0x1000

static char expected[SIZE + 1];

static void make_expected(void)
{
	int i;

	for (i = 0; i < NLINES; i++)
		snprintf(expected + i * LINE, LINE + 1, "line %04d abcdefghijklmnopqrstuvwxyz\n", i);
}

static void check_bytes(const char *what, const char *got, long n, long off, long want_n)
{
	if (n != want_n)
		tfail("%s: got %ld bytes, want %ld", what, n, want_n);
	else if (memcmp(got, expected + off, (size_t)n) != 0)
		tfail("%s: contents differ", what);
	else
		tpass("%s", what);
}

static void check_stat(const char *path, int fd)
{
	struct stat st;
	struct oxv_statx stx;
	long r;

	tst_check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "fstat: regular file");
	tst_check(st.st_size == SIZE, "fstat: st_size == 5550");
	tst_check(st.st_nlink >= 1, "fstat: st_nlink >= 1");

	memset(&st, 0, sizeof(st));
	r = sys4(SYS_newfstatat, AT_FDCWD, path, &st, 0);
	tst_check(r == 0 && S_ISREG(st.st_mode) && st.st_size == SIZE,
		  "newfstatat(path): regular file of 5550 bytes");
	memset(&st, 0, sizeof(st));
	r = sys4(SYS_newfstatat, fd, "", &st, OXV_AT_EMPTY_PATH);
	tst_check(r == 0 && st.st_size == SIZE, "newfstatat(fd, \"\", AT_EMPTY_PATH): 5550 bytes");

	memset(&stx, 0, sizeof(stx));
	r = sys6(SYS_statx, AT_FDCWD, (long)path, 0, OXV_STATX_BASIC_STATS, (long)&stx, 0);
	tst_check(r == 0, "statx(path) succeeds");
	tst_check((stx.stx_mask & (OXV_STATX_TYPE | OXV_STATX_SIZE)) ==
			  (OXV_STATX_TYPE | OXV_STATX_SIZE),
		  "statx: mask has STATX_TYPE and STATX_SIZE");
	tst_check(S_ISREG(stx.stx_mode) && stx.stx_size == SIZE, "statx: regular file of 5550 bytes");
	memset(&stx, 0, sizeof(stx));
	r = sys6(SYS_statx, fd, (long)"", OXV_AT_EMPTY_PATH, OXV_STATX_BASIC_STATS, (long)&stx, 0);
	tst_check(r == 0 && stx.stx_size == SIZE, "statx(fd, \"\", AT_EMPTY_PATH): 5550 bytes");
}

static void check_read_all(int fd)
{
	static char buf[SIZE + 100];
	long total = 0, n;
	int reads = 0;

	do {
		n = read(fd, buf + total, 1000);
		if (n > 0)
			total += n;
		reads++;
	} while (n > 0 && total < SIZE + 100 && reads < 100);
	tst_check(n == 0, "read in 1000-byte chunks ends with 0 at EOF");
	check_bytes("read whole file matches", buf, total, 0, SIZE);
	tst_check(read(fd, buf, 10) == 0, "read at EOF returns 0 again");
}

static void check_lseek(int fd)
{
	char buf[128];
	long n;

	tst_check(lseek(fd, 100, SEEK_SET) == 100, "lseek(100, SEEK_SET) == 100");
	n = read(fd, buf, 10);
	check_bytes("read 10 at offset 100", buf, n, 100, 10);
	tst_check(lseek(fd, -5, SEEK_CUR) == 105, "lseek(-5, SEEK_CUR) == 105");
	n = read(fd, buf, 5);
	check_bytes("read 5 at offset 105", buf, n, 105, 5);
	tst_check(lseek(fd, 0, SEEK_CUR) == 110, "lseek(0, SEEK_CUR) reports 110");
	tst_check(lseek(fd, 0, SEEK_END) == SIZE, "lseek(0, SEEK_END) == size");
	tst_check(lseek(fd, -LINE, SEEK_END) == SIZE - LINE, "lseek(-37, SEEK_END)");
	n = read(fd, buf, sizeof(buf));
	check_bytes("read past EOF is short: the last line", buf, n, SIZE - LINE, LINE);
	tst_check(lseek(fd, 4090, SEEK_SET) == 4090, "lseek(4090, SEEK_SET)");
	n = read(fd, buf, 20);
	check_bytes("read across the page boundary at 4096", buf, n, 4090, 20);
	tst_check(lseek(fd, 10000, SEEK_SET) == 10000, "lseek past the end is allowed");
	tst_check(read(fd, buf, 10) == 0, "read past the end returns 0");
	tst_raw_err("lseek to a negative offset", sys3(SYS_lseek, fd, -1, SEEK_SET), EINVAL);
	tst_raw_err("lseek(-size-1, SEEK_END)", sys3(SYS_lseek, fd, -SIZE - 1, SEEK_END), EINVAL);
	tst_raw_err("lseek with whence 7", sys3(SYS_lseek, fd, 0, 7), EINVAL);
	tst_check(lseek(fd, 0, SEEK_CUR) == 10000, "failed lseeks leave the offset alone");
}

static void check_pread_readv(int fd)
{
	char a[10], b[27], buf[64];
	struct iovec iov[3];
	long n;

	lseek(fd, 7, SEEK_SET);
	n = pread(fd, buf, 20, 4090);
	check_bytes("pread64 20 bytes at 4090", buf, n, 4090, 20);
	tst_check(lseek(fd, 0, SEEK_CUR) == 7, "pread64 leaves the file offset alone");
	tst_check(pread(fd, buf, 20, SIZE + 10) == 0, "pread64 past the end returns 0");
	n = pread(fd, buf, 64, SIZE - 5);
	check_bytes("pread64 at size-5 is short", buf, n, SIZE - 5, 5);
	tst_raw_err("pread64 at a negative offset", sys4(SYS_pread64, fd, buf, 1, -1), EINVAL);

	lseek(fd, LINE, SEEK_SET);
	iov[0].iov_base = a;
	iov[0].iov_len = sizeof(a);
	iov[1].iov_base = buf;
	iov[1].iov_len = 0;
	iov[2].iov_base = b;
	iov[2].iov_len = sizeof(b);
	n = readv(fd, iov, 3);
	tst_check(n == LINE, "readv into 10+0+27 bytes returns 37");
	tst_check(memcmp(a, expected + LINE, 10) == 0 && memcmp(b, expected + LINE + 10, 27) == 0,
		  "readv fills the iovecs in order");
	tst_check(lseek(fd, 0, SEEK_CUR) == 2 * LINE, "readv advances the offset");
}

static void check_stdio(const char *path)
{
	static char buf[SIZE + 10];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		tfail("fopen: %s", tst_errname(errno));
		return;
	}
	n = fread(buf, 1, sizeof(buf), f);
	check_bytes("fread of the whole file", buf, (long)n, 0, SIZE);
	tst_check(feof(f) && !ferror(f), "fread reaches EOF without error");
	tst_check(fclose(f) == 0, "fclose");
}

static void check_errors(const char *path, const char *dir)
{
	char p[4096];
	char buf[16];
	struct stat st;
	int fd, r;

	snprintf(p, sizeof(p), "%s/does-not-exist.txt", dir);
	fd = open(p, O_RDONLY);
	tst_libc_err("open of a missing file", fd, errno, ENOENT);
	snprintf(p, sizeof(p), "%s/no-such-dir/x", dir);
	fd = open(p, O_RDONLY);
	tst_libc_err("open under a missing directory", fd, errno, ENOENT);
	fd = open(path, O_RDONLY | O_DIRECTORY);
	tst_libc_err("open(file, O_DIRECTORY)", fd, errno, ENOTDIR);
	snprintf(p, sizeof(p), "%s/", path);
	fd = open(p, O_RDONLY);
	tst_libc_err("open(\"file/\")", fd, errno, ENOTDIR);
	snprintf(p, sizeof(p), "%s/x", path);
	fd = open(p, O_RDONLY);
	tst_libc_err("open(\"file/x\")", fd, errno, ENOTDIR);

	fd = open(dir, O_RDONLY | O_DIRECTORY);
	tst_check(fd >= 0, "open(dir, O_DIRECTORY)");
	if (fd >= 0) {
		tst_check(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "fstat(dir fd): a directory");
		tst_raw_err("read on a directory fd", sys3(SYS_read, fd, buf, sizeof(buf)), EISDIR);
		close(fd);
	}

	fd = open(path, O_RDONLY);
	tst_raw_err("write on an O_RDONLY fd", sys3(SYS_write, fd, "x", 1), EBADF);
	tst_check(close(fd) == 0, "close");
	r = close(fd);
	tst_libc_err("close of a closed fd", r, errno, EBADF);
	tst_raw_err("read on a closed fd", sys3(SYS_read, fd, buf, 1), EBADF);
	tst_raw_err("lseek on a closed fd", sys3(SYS_lseek, fd, 0, SEEK_SET), EBADF);
	tst_raw_err("fstat on a closed fd", sys3(SYS_fstat, fd, &st, 0), EBADF);
}

static void check_lowest_fd(const char *path)
{
	int a = open(path, O_RDONLY);
	int b = open(path, O_RDONLY);
	int c;

	tst_check(a >= 3 && b == a + 1, "open returns the lowest free fds, in order");
	close(a);
	c = open(path, O_RDONLY);
	tst_check(c == a, "a closed fd number is reused first");
	close(b);
	close(c);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3) {
		tfail("usage: read_file FILE DIR");
		return tst_exit();
	}
	make_expected();
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		tfail("open data file: %s", tst_errname(errno));
		return tst_exit();
	}
	tpass("open data file O_RDONLY");
	check_stat(argv[1], fd);
	check_read_all(fd);
	check_lseek(fd);
	check_pread_readv(fd);
	close(fd);
	check_stdio(argv[1]);
	check_errors(argv[1], argv[2]);
	check_lowest_fd(argv[1]);
	return tst_exit();
}
