// Extended-attribute errors in Linux's order: flags other than XATTR_CREATE/REPLACE (EINVAL),
// then the name (EFAULT; empty or 256 bytes and longer: ERANGE), then a value over 64 KiB
// (E2BIG) or unreadable (EFAULT), then the file (ENOENT, EBADF, O_PATH fds are EBADF), then
// the namespace: tmpfs keeps user., trusted. and security.; another prefix is EOPNOTSUPP and
// a bare "user." EINVAL; files without xattr support (pipes) refuse user.* with EPERM/ENODATA
// and the rest with EOPNOTSUPP, and list nothing.
#include "tst_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <unistd.h>

static char path[96];

int main(void)
{
	char buf[300], name[300];
	char *big;
	int fd, opath, p[2];

	tst_shm_path(path, sizeof(path), "xattr-errors");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	big = calloc(1, 65537);
	if (fd < 0 || pipe(p) != 0 || big == NULL) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_ERR("setxattr flags 4", setxattr(path, "user.a", "x", 1, 4), EINVAL);
	TF_ERR("bad flags come before a bad name", setxattr(path, "", "x", 1, 4), EINVAL);
	TF_RAW("a name pointer that faults", sys6(SYS_setxattr, (long)path, 8, (long)"x", 1, 0, 0),
	       EFAULT);
	TF_ERR("an empty name", setxattr(path, "", "x", 1, 0), ERANGE);
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[256] = 0;
	TF_ERR("a 256-byte name", setxattr(path, name, "x", 1, 0), ERANGE);
	TF_ERR("getxattr of a 256-byte name", getxattr(path, name, buf, 10), ERANGE);
	name[255] = 0;
	TF_OK("a 255-byte name", setxattr(path, name, "x", 1, 0));
	TF_ERR("a 65537-byte value", setxattr(path, "user.big", big, 65537, 0), E2BIG);
	TF_ERR("E2BIG comes before the path", setxattr("/nonexistent", "user.a", big, 65537, 0),
	       E2BIG);
	TF_RAW("a value pointer that faults",
	       sys6(SYS_setxattr, (long)path, (long)"user.a", 8, 4, 0, 0), EFAULT);
	TF_OK("a 65536-byte value", setxattr(path, "user.big", big, 65536, 0));
	TF_OKV("read back in full", getxattr(path, "user.big", big, 65537), 65536);
	TF_ERR("an empty name is refused before the path is walked",
	       getxattr("/nonexistent", "", buf, 10), ERANGE);
	TF_ERR("a missing path", getxattr("/nonexistent/x", "user.a", buf, 10), ENOENT);
	TF_ERR("fd -1", fgetxattr(-1, "user.a", buf, 10), EBADF);
	TF_ERR("the name is checked before the fd", fgetxattr(-1, "", buf, 10), ERANGE);
	TF_ERR("flistxattr on fd -1", flistxattr(-1, buf, 10), EBADF);
	opath = open(path, O_PATH);
	TF_ERR("fgetxattr on an O_PATH fd", fgetxattr(opath, "user.a", buf, 10), EBADF);
	TF_ERR("fsetxattr on an O_PATH fd", fsetxattr(opath, "user.a", "x", 1, 0), EBADF);

	TF_ERR("another namespace", setxattr(path, "oxv.a", "x", 1, 0), EOPNOTSUPP);
	TF_ERR("getxattr in another namespace", getxattr(path, "oxv.a", buf, 10), EOPNOTSUPP);
	TF_ERR("system.* other than ACLs", setxattr(path, "system.oxv", "x", 1, 0), EOPNOTSUPP);
	TF_ERR("a bare namespace prefix", setxattr(path, "user.", "x", 1, 0), EINVAL);
	TF_ERR("removexattr of a bare prefix", removexattr(path, "trusted."), EINVAL);
	TF_ERR("a missing attribute with a huge buffer", getxattr(path, "user.none", big, 65537),
	       ENODATA);

	TF_ERR("no POSIX ACL: system.posix_acl_access is absent",
	       getxattr(path, "system.posix_acl_access", buf, 10), ENODATA);
	TF_OK("removing an absent ACL succeeds", removexattr(path, "system.posix_acl_access"));
	TF_ERR("procfs keeps no attributes", getxattr("/proc", "trusted.a", buf, 10),
	       EOPNOTSUPP);
	TF_OKV("and lists none", listxattr("/proc", buf, sizeof(buf)), 0);

	TF_ERR("fsetxattr user.* on a pipe", fsetxattr(p[0], "user.a", "x", 1, 0), EPERM);
	TF_ERR("fgetxattr user.* on a pipe", fgetxattr(p[0], "user.a", buf, 10), ENODATA);
	TF_ERR("fsetxattr trusted.* on a pipe", fsetxattr(p[0], "trusted.a", "x", 1, 0),
	       EOPNOTSUPP);
	TF_ERR("fgetxattr trusted.* on a pipe", fgetxattr(p[0], "trusted.a", buf, 10), EOPNOTSUPP);
	TF_OKV("flistxattr on a pipe lists nothing", flistxattr(p[0], buf, sizeof(buf)), 0);

	close(opath);
	close(fd);
	unlink(path);
	free(big);
	return tst_exit();
}
