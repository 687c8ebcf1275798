// oxv-file: data/read_file.txt
// oxv-args: @DATA@/read_file.txt
// oxv-stdin: input\n
//
// fstat(2), newfstatat(AT_EMPTY_PATH), statx(AT_EMPTY_PATH) and the terminal
// ioctls on fds 0-2. On the host these fds are pipes, in oxv stdout is the
// console (a character device, a terminal), so only what holds for both is
// asserted: fstat works, the type is a stream (FIFO, character device,
// socket) or a regular file, the three stat calls agree, TCGETS/TIOCGWINSZ
// either succeed or fail with ENOTTY and isatty(3) agrees with TCGETS. What
// the type is and whether the fd is a terminal is never printed. A regular
// file gives ENOTTY, a closed fd EBADF.
#include "tst.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

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
#define OXV_STATX_BASIC_STATS 0x7ffU
#define OXV_AT_EMPTY_PATH 0x1000

static void check_fd(int fd)
{
	struct stat st, st2;
	struct oxv_statx stx;
	unsigned char termios[64], winsize[8];
	long tc, ws;
	int stream;

	if (fstat(fd, &st) != 0) {
		tfail("fstat(%d): %s", fd, tst_errname(errno));
		return;
	}
	tpass("fstat(%d) succeeds", fd);
	stream = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode) ||
		 S_ISREG(st.st_mode);
	tst_checkf(stream, "fd %d is a pipe, character device, socket or file", fd);

	memset(&st2, 0, sizeof(st2));
	if (sys4(SYS_newfstatat, fd, "", &st2, OXV_AT_EMPTY_PATH) == 0 &&
	    st2.st_dev == st.st_dev && st2.st_ino == st.st_ino && st2.st_mode == st.st_mode &&
	    st2.st_rdev == st.st_rdev)
		tpass("newfstatat(%d, \"\", AT_EMPTY_PATH) agrees with fstat", fd);
	else
		tfail("newfstatat(%d, \"\", AT_EMPTY_PATH) differs from fstat or fails", fd);

	memset(&stx, 0, sizeof(stx));
	if (sys6(SYS_statx, fd, (long)"", OXV_AT_EMPTY_PATH, OXV_STATX_BASIC_STATS, (long)&stx,
		 0) == 0 &&
	    stx.stx_mode == st.st_mode && stx.stx_ino == st.st_ino)
		tpass("statx(%d, \"\", AT_EMPTY_PATH) agrees with fstat on mode and inode", fd);
	else
		tfail("statx(%d, \"\", AT_EMPTY_PATH) differs from fstat or fails", fd);

	tc = sys3(SYS_ioctl, fd, TCGETS, termios);
	ws = sys3(SYS_ioctl, fd, TIOCGWINSZ, winsize);
	tst_checkf(tc == 0 || tc == -ENOTTY, "ioctl(%d, TCGETS): success or ENOTTY", fd);
	tst_checkf(ws == 0 || ws == -ENOTTY, "ioctl(%d, TIOCGWINSZ): success or ENOTTY", fd);
	tst_checkf((tc == 0) == (isatty(fd) == 1), "isatty(%d) agrees with TCGETS", fd);
	tst_checkf(tc != 0 || S_ISCHR(st.st_mode), "a terminal fd %d is a character device", fd);
}

int main(int argc, char **argv)
{
	unsigned char termios[64];
	struct stat st;
	int fd, r;

	check_fd(0);
	check_fd(1);
	check_fd(2);

	tst_raw_err("fstat(100)", sys3(SYS_fstat, 100, &st, 0), EBADF);
	tst_raw_err("fstat(-1)", sys3(SYS_fstat, -1, &st, 0), EBADF);
	tst_raw_err("ioctl(100, TCGETS)", sys3(SYS_ioctl, 100, TCGETS, termios), EBADF);

	if (argc != 2) {
		tfail("usage: fstat_stdio FILE");
		return tst_exit();
	}
	fd = open(argv[1], O_RDONLY);
	tst_check(fd >= 0, "open the data file");
	tst_raw_err("ioctl(file, TCGETS)", sys3(SYS_ioctl, fd, TCGETS, termios), ENOTTY);
	errno = 0;
	r = isatty(fd);
	tst_check(r == 0 && errno == ENOTTY, "isatty(file) is 0 with errno ENOTTY");
	close(fd);
	return tst_exit();
}
