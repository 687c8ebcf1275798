// chown(2), fchown(2), lchown(2), fchownat(2) as root: any owner and group can be given; -1
// leaves an id alone; chown follows a symlink and lchown changes the link itself; fchownat
// with AT_SYMLINK_NOFOLLOW and with AT_EMPTY_PATH (an O_PATH fd works there, while fchown on
// one is EBADF); on a regular file any chown clears the set-user-ID bit, and the
// set-group-ID bit only with group execute, but not on a directory; ctime moves; and the
// errors: bad flags EINVAL, ENOENT, ENOTDIR, an empty path, EBADF.
#include "tst_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char path[96], nested[120], link_path[96], dir[96];

static int ids(const char *p, int follow, uid_t *u, gid_t *g)
{
	struct stat st;
	int r = follow ? stat(p, &st) : lstat(p, &st);

	*u = st.st_uid;
	*g = st.st_gid;
	return r;
}

static int has_ids(const char *p, int follow, uid_t u, gid_t g)
{
	uid_t su;
	gid_t sg;

	return ids(p, follow, &su, &sg) == 0 && su == u && sg == g;
}

static unsigned mode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_mode & 07777 : 0xffff;
}

int main(void)
{
	struct timespec ms30 = { 0, 30 * 1000000L };
	struct stat st;
	long before;
	int fd, opath;

	tst_tmp_path(path, sizeof(path), "chown");
	tst_tmp_path(link_path, sizeof(link_path), "chown-link");
	tst_tmp_path(dir, sizeof(dir), "chown-dir");
	snprintf(nested, sizeof(nested), "%s/x", path);
	unlink(path);
	unlink(link_path);
	rmdir(dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || symlink(path, link_path) != 0 || mkdir(dir, 0755) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("chown to 1000:2000", chown(path, 1000, 2000));
	tst_check(has_ids(path, 1, 1000, 2000), "stat shows 1000:2000");
	TF_OK("chown -1:3000 changes only the group", chown(path, -1, 3000));
	tst_check(has_ids(path, 1, 1000, 3000), "owner kept, group 3000");
	TF_OK("chown 4000:-1 changes only the owner", chown(path, 4000, -1));
	tst_check(has_ids(path, 1, 4000, 3000), "owner 4000, group kept");
	TF_OK("fchown 5:6", fchown(fd, 5, 6));
	tst_check(has_ids(path, 1, 5, 6), "fchown took");
	TF_OK("chown through the symlink", chown(link_path, 7, 8));
	tst_check(has_ids(path, 1, 7, 8) && has_ids(link_path, 0, 0, 0),
		  "chown followed the link; the link is still root's");
	TF_OK("lchown the symlink", lchown(link_path, 9, 10));
	tst_check(has_ids(link_path, 0, 9, 10) && has_ids(path, 1, 7, 8),
		  "lchown changed the link, not its target");
	TF_OK("fchownat AT_SYMLINK_NOFOLLOW", fchownat(AT_FDCWD, link_path, 11, 12,
						       AT_SYMLINK_NOFOLLOW));
	tst_check(has_ids(link_path, 0, 11, 12), "the link changed");
	opath = open(path, O_PATH);
	TF_OK("fchownat AT_EMPTY_PATH on an O_PATH fd", fchownat(opath, "", 13, 14, AT_EMPTY_PATH));
	tst_check(has_ids(path, 1, 13, 14), "the file changed");
	TF_RAW("fchown on an O_PATH fd (raw: musl falls back to /proc)", sys3(SYS_fchown, opath, 0, 0),
	       EBADF);
	TF_OK("chown back to root", chown(path, 0, 0));

	chmod(path, 06755);
	TF_OK("chown -1:-1 of a setuid/setgid executable", chown(path, -1, -1));
	tst_checkf(mode_of(path) == 0755, "both bits cleared (mode %04o)", mode_of(path));
	chmod(path, 02745);
	chown(path, 0, 0);
	tst_checkf(mode_of(path) == 02745,
		   "set-group-ID without group execute stays (mode %04o)", mode_of(path));
	chmod(path, 04700);
	fchown(fd, 0, 0);
	tst_checkf(mode_of(path) == 0700, "fchown clears set-user-ID too (mode %04o)",
		   mode_of(path));
	chmod(dir, 07755);
	chown(dir, 0, 0);
	tst_checkf(mode_of(dir) == 07755, "a directory keeps its bits (mode %04o)", mode_of(dir));

	stat(path, &st);
	before = st.st_ctim.tv_sec * 1000000000L + st.st_ctim.tv_nsec;
	nanosleep(&ms30, NULL);
	chown(path, -1, -1);
	stat(path, &st);
	tst_check(st.st_ctim.tv_sec * 1000000000L + st.st_ctim.tv_nsec > before,
		  "chown moves ctime, even when nothing changes");

	TF_ERR("fchownat with flag 0x1", fchownat(AT_FDCWD, path, 0, 0, 1), EINVAL);
	TF_ERR("fchownat with AT_REMOVEDIR", fchownat(AT_FDCWD, path, 0, 0, AT_REMOVEDIR), EINVAL);
	TF_ERR("bad flags come before the path", fchownat(AT_FDCWD, "/nonexistent", 0, 0, 1),
	       EINVAL);
	TF_ERR("a missing file", chown("/nonexistent/x", 0, 0), ENOENT);
	TF_ERR("a file used as a directory", chown(nested, 0, 0), ENOTDIR);
	TF_ERR("an empty path", chown("", 0, 0), ENOENT);
	TF_ERR("an empty path without AT_EMPTY_PATH", fchownat(fd, "", 0, 0, 0), ENOENT);
	TF_ERR("fchown on fd -1", fchown(-1, 0, 0), EBADF);
	TF_RAW("a path that faults", sys3(SYS_chown, 8, 0, 0), EFAULT);

	close(opath);
	close(fd);
	unlink(path);
	unlink(link_path);
	rmdir(dir);
	return tst_exit();
}
