// Extended attributes on tmpfs (/dev/shm): set, get (a size-0 buffer asks for the size, a small
// one is ERANGE), XATTR_CREATE (EEXIST) and XATTR_REPLACE (ENODATA), empty values, list
// (NUL-separated, in tmpfs's descending name order; size 0 asks for the size, small is ERANGE), remove (ENODATA once
// gone), the fd forms through a read-only fd, getxattr following a symlink and lgetxattr not,
// user.* refused on a symlink (EPERM to set, ENODATA to get) while trusted.* works there,
// user.* on a directory, and ctime moving on a change.
#include "tst_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static char path[96], link_path[96], dir[96];

static long ctime_ns(const char *p)
{
	struct stat st;

	stat(p, &st);
	return (long)st.st_ctim.tv_sec * 1000000000L + st.st_ctim.tv_nsec;
}

int main(void)
{
	struct timespec ms30 = { 0, 30 * 1000000L };
	char buf[256];
	long n, before;
	int fd;

	tst_shm_path(path, sizeof(path), "xattr");
	tst_shm_path(link_path, sizeof(link_path), "xattr-link");
	tst_shm_path(dir, sizeof(dir), "xattr-dir");
	unlink(path);
	unlink(link_path);
	rmdir(dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || symlink(path, link_path) != 0 || mkdir(dir, 0700) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OKV("a new file lists no attributes", listxattr(path, buf, sizeof(buf)), 0);
	TF_ERR("getxattr of a missing attribute", getxattr(path, "user.a", buf, sizeof(buf)),
	       ENODATA);
	TF_OK("setxattr user.a", setxattr(path, "user.a", "hello", 5, 0));
	memset(buf, 0, sizeof(buf));
	TF_OKV("getxattr returns the size", getxattr(path, "user.a", buf, sizeof(buf)), 5);
	tst_check(memcmp(buf, "hello", 5) == 0, "and the value");
	TF_OKV("a size-0 buffer asks for the size", getxattr(path, "user.a", NULL, 0), 5);
	TF_ERR("a buffer one byte short", getxattr(path, "user.a", buf, 4), ERANGE);
	TF_ERR("XATTR_CREATE on an existing attribute",
	       setxattr(path, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	TF_ERR("XATTR_REPLACE on a missing attribute",
	       setxattr(path, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	TF_ERR("XATTR_CREATE|XATTR_REPLACE on an existing one",
	       setxattr(path, "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE), EEXIST);
	TF_ERR("XATTR_CREATE|XATTR_REPLACE on a missing one",
	       setxattr(path, "user.b", "x", 1, XATTR_CREATE | XATTR_REPLACE), ENODATA);
	TF_OK("XATTR_REPLACE on an existing one", setxattr(path, "user.a", "hi", 2, XATTR_REPLACE));
	TF_OKV("the value was replaced", getxattr(path, "user.a", buf, sizeof(buf)), 2);
	TF_OK("XATTR_CREATE of user.b", setxattr(path, "user.b", "", 0, XATTR_CREATE));
	TF_OKV("an empty value exists, of size 0", getxattr(path, "user.b", buf, sizeof(buf)), 0);
	TF_OK("trusted.t", setxattr(path, "trusted.t", "tt", 2, 0));
	TF_OK("security.oxvtest", setxattr(path, "security.oxvtest", "s", 1, 0));

	n = listxattr(path, buf, sizeof(buf));
	tst_check(n == 41 && memcmp(buf, "user.b\0user.a\0trusted.t\0security.oxvtest\0", 41) == 0,
		  "listxattr: every name, NUL-terminated, in descending order (tmpfs's)");
	TF_OKV("listxattr with size 0 gives the size", listxattr(path, NULL, 0), 41);
	TF_ERR("listxattr with a small buffer", listxattr(path, buf, 40), ERANGE);

	TF_OK("removexattr user.b", removexattr(path, "user.b"));
	TF_ERR("it is gone", getxattr(path, "user.b", buf, sizeof(buf)), ENODATA);
	TF_ERR("removing it again", removexattr(path, "user.b"), ENODATA);

	close(fd);
	fd = open(path, O_RDONLY);
	TF_OK("fsetxattr through a read-only fd", fsetxattr(fd, "user.f", "fd", 2, 0));
	TF_OKV("fgetxattr", fgetxattr(fd, "user.f", buf, sizeof(buf)), 2);
	TF_OKV("flistxattr", flistxattr(fd, buf, sizeof(buf)), 41);
	TF_OK("fremovexattr", fremovexattr(fd, "user.f"));

	TF_OKV("getxattr follows a symlink", getxattr(link_path, "user.a", buf, sizeof(buf)), 2);
	TF_ERR("lgetxattr of user.* on the symlink itself", lgetxattr(link_path, "user.a", buf,
	       sizeof(buf)), ENODATA);
	TF_ERR("lsetxattr of user.* on a symlink", lsetxattr(link_path, "user.a", "x", 1, 0),
	       EPERM);
	TF_OK("lsetxattr of trusted.* on a symlink", lsetxattr(link_path, "trusted.l", "l", 1, 0));
	TF_OKV("llistxattr lists the symlink's own", llistxattr(link_path, buf, sizeof(buf)), 10);
	TF_OK("lremovexattr", lremovexattr(link_path, "trusted.l"));
	TF_OK("user.* on a directory", setxattr(dir, "user.d", "d", 1, 0));
	TF_OKV("read back", getxattr(dir, "user.d", buf, sizeof(buf)), 1);

	before = ctime_ns(path);
	nanosleep(&ms30, NULL);
	setxattr(path, "user.c", "c", 1, 0);
	tst_check(ctime_ns(path) > before, "setting an attribute changes ctime");
	before = ctime_ns(path);
	nanosleep(&ms30, NULL);
	removexattr(path, "user.c");
	tst_check(ctime_ns(path) > before, "removing one changes ctime");

	close(fd);
	unlink(path);
	unlink(link_path);
	rmdir(dir);
	return tst_exit();
}
