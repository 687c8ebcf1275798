// chmod(2), fchmod(2), fchmodat(2), fchmodat2(2): the mode becomes mode & 07777 (file type
// bits and bits above 16 are ignored: the kernel takes a umode_t); chmod follows a symlink;
// fchmodat2 with AT_SYMLINK_NOFOLLOW changes a regular file but is EOPNOTSUPP on a symlink
// (Linux 6.6+), AT_EMPTY_PATH works on an O_PATH fd, other flags are EINVAL before the path
// is walked; fchmod on an O_PATH fd is EBADF; ctime moves; ENOENT, ENOTDIR, EFAULT.
#include "tst_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static char path[96], nested[120], link_path[96];

static unsigned mode_of(const char *p, int follow)
{
	struct stat st;
	int r = follow ? stat(p, &st) : lstat(p, &st);

	return r == 0 ? st.st_mode & 07777 : 0xffff;
}

int main(void)
{
	struct timespec ms30 = { 0, 30 * 1000000L };
	struct stat st;
	long before;
	int fd, opath;

	tst_tmp_path(path, sizeof(path), "chmod");
	tst_tmp_path(link_path, sizeof(link_path), "chmod-link");
	snprintf(nested, sizeof(nested), "%s/x", path);
	unlink(path);
	unlink(link_path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || symlink(path, link_path) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("chmod 0640", chmod(path, 0640));
	tst_check(mode_of(path, 1) == 0640, "mode 0640");
	TF_OK("chmod 07777", chmod(path, 07777));
	tst_check(mode_of(path, 1) == 07777, "every permission bit, setuid/setgid/sticky too");
	TF_RAW("file type bits in the mode are ignored", sys3(SYS_chmod, path, S_IFDIR | 0611, 0),
	       0);
	tst_check(mode_of(path, 1) == 0611, "mode 0611, still a regular file");
	TF_RAW("bits above 16 are dropped", sys3(SYS_chmod, path, 0x10000 | 0604, 0), 0);
	tst_check(mode_of(path, 1) == 0604, "mode 0604");
	TF_OK("fchmod 0600", fchmod(fd, 0600));
	tst_check(mode_of(path, 1) == 0600, "fchmod took");
	TF_OK("chmod through the symlink", chmod(link_path, 0660));
	tst_check(mode_of(path, 1) == 0660 && mode_of(link_path, 0) == 0777,
		  "chmod followed the link; the link keeps 0777");
	TF_OK("fchmodat", fchmodat(AT_FDCWD, path, 0644, 0));
	tst_check(mode_of(path, 1) == 0644, "fchmodat took");
	TF_RAW("fchmodat2 AT_SYMLINK_NOFOLLOW on a regular file",
	       sys4(SYS_fchmodat2, AT_FDCWD, path, 0640, AT_SYMLINK_NOFOLLOW), 0);
	tst_check(mode_of(path, 1) == 0640, "it took");
	TF_RAW("fchmodat2 AT_SYMLINK_NOFOLLOW on a symlink",
	       sys4(SYS_fchmodat2, AT_FDCWD, link_path, 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	opath = open(path, O_PATH);
	TF_RAW("fchmodat2 AT_EMPTY_PATH on an O_PATH fd",
	       sys4(SYS_fchmodat2, opath, "", 0604, AT_EMPTY_PATH), 0);
	tst_check(mode_of(path, 1) == 0604, "it took");
	TF_RAW("fchmodat2 with flag 0x1", sys4(SYS_fchmodat2, AT_FDCWD, path, 0600, 1), EINVAL);
	TF_RAW("bad flags come before the path",
	       sys4(SYS_fchmodat2, AT_FDCWD, "/nonexistent", 0600, AT_REMOVEDIR), EINVAL);
	TF_RAW("an empty path without AT_EMPTY_PATH", sys4(SYS_fchmodat2, opath, "", 0600, 0),
	       ENOENT);
	TF_RAW("fchmod on an O_PATH fd (raw: musl falls back to /proc)", sys3(SYS_fchmod, opath, 0600, 0),
	       EBADF);
	TF_ERR("fchmod on fd -1", fchmod(-1, 0600), EBADF);
	TF_ERR("a missing file", chmod("/nonexistent/x", 0600), ENOENT);
	TF_ERR("a file used as a directory", chmod(nested, 0600), ENOTDIR);
	TF_RAW("a path that faults", sys3(SYS_chmod, 8, 0600, 0), EFAULT);

	stat(path, &st);
	before = st.st_ctim.tv_sec * 1000000000L + st.st_ctim.tv_nsec;
	nanosleep(&ms30, NULL);
	fchmod(fd, 0604);
	stat(path, &st);
	tst_check(st.st_ctim.tv_sec * 1000000000L + st.st_ctim.tv_nsec > before,
		  "chmod moves ctime, even to the same mode");

	close(opath);
	close(fd);
	unlink(path);
	unlink(link_path);
	return tst_exit();
}
