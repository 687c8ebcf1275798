// openat2(2): struct open_how versioning (EINVAL below 24 bytes, E2BIG above a page or for a
// nonzero tail, a zero tail accepted, EFAULT); flag and mode checks stricter than openat(2)
// (unknown flags or resolve bits, mode without O_CREAT, O_PATH with other flags, O_CREAT |
// O_DIRECTORY, O_TMPFILE without write access, BENEATH | IN_ROOT: EINVAL); the RESOLVE_*
// restrictions: NO_SYMLINKS (ELOOP), NO_MAGICLINKS (ELOOP for /proc/self/exe and fd links),
// NO_XDEV (EXDEV into or out of /proc), BENEATH (EXDEV for "..", absolute paths, absolute
// symlinks and magic links), IN_ROOT (dirfd is "/"; ".." stays in it), CACHED (EAGAIN for
// O_CREAT and O_TRUNC, a plain open of a recently used file works).
#include "tst.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
_Static_assert(sizeof(struct how) == 24, "struct open_how is 24 bytes");

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static char dir[64];

static long oa2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct how h = { flags, mode, resolve };

	return sys4(SYS_openat2, dirfd, path, &h, sizeof h);
}

/* Opens, checks it worked and closes. */
static void ok(const char *what, int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	long fd = oa2(dirfd, path, flags, 0, resolve);

	if (fd >= 0) {
		tpass("%s", what);
		close(fd);
	} else {
		tfail("%s: %s", what, tst_errname(-fd));
	}
}

static void err(const char *what, int dirfd, const char *path, uint64_t flags, uint64_t resolve,
		int e)
{
	long fd = oa2(dirfd, path, flags, 0, resolve);

	if (fd >= 0)
		close(fd);
	tst_raw_err(what, fd, e);
}

static void mk(const char *rel, int isdir)
{
	char p[128];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (isdir)
		mkdir(p, 0755);
	else
		close(open(p, O_CREAT | O_WRONLY, 0644));
}

static void ln(const char *target, const char *rel)
{
	char p[128];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (symlink(target, p) != 0)
		tfail("symlink %s: %s", rel, tst_errname(errno));
}

static void rm(const char *rel, int isdir)
{
	char p[128];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (isdir)
		rmdir(p);
	else
		unlink(p);
}

static void versions(int dfd)
{
	unsigned char big[64];
	struct how *h = (struct how *)big;
	long r;

	memset(big, 0, sizeof big);
	h->flags = O_RDONLY;
	tst_raw_err("size 0", sys4(SYS_openat2, dfd, "sub/file", big, 0), EINVAL);
	tst_raw_err("size 23", sys4(SYS_openat2, dfd, "sub/file", big, 23), EINVAL);
	tst_raw_err("size 4097", sys4(SYS_openat2, dfd, "sub/file", big, 4097), E2BIG);
	r = sys4(SYS_openat2, dfd, "sub/file", big, 64);
	tst_check(r >= 0, "size 64 with a zero tail works");
	if (r >= 0)
		close(r);
	big[40] = 1;
	tst_raw_err("size 64 with a nonzero tail", sys4(SYS_openat2, dfd, "sub/file", big, 64),
		    E2BIG);
	r = sys4(SYS_openat2, dfd, "sub/file", big, 40);
	tst_check(r >= 0, "size 40: the nonzero byte is past it");
	if (r >= 0)
		close(r);
	tst_raw_err("how unmapped", sys4(SYS_openat2, dfd, "sub/file", 8, 24), EFAULT);
	tst_raw_err("path unmapped", sys4(SYS_openat2, dfd, 8, h, 24), EFAULT);
	tst_raw_err("empty path", sys4(SYS_openat2, dfd, "", h, 24), ENOENT);
}

static void flag_checks(int dfd)
{
	long r;

	err("flags bit 32", dfd, "sub/file", 1ULL << 32, 0, EINVAL);
	err("unknown resolve bit", dfd, "sub/file", O_RDONLY, 0x40, EINVAL);
	err("BENEATH | IN_ROOT", dfd, "sub/file", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT,
	    EINVAL);
	r = oa2(dfd, "sub/file", O_RDONLY, 0644, 0);
	tst_raw_err("mode without O_CREAT", r, EINVAL);
	r = oa2(dfd, "new", O_CREAT | O_WRONLY, 010644, 0);
	tst_raw_err("mode with S_IFREG bits", r, EINVAL);
	err("O_PATH | O_RDWR", dfd, "sub/file", O_PATH | O_RDWR, 0, EINVAL);
	ok("O_PATH | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY", dfd, "sub", O_PATH | O_NOFOLLOW |
	   O_CLOEXEC | O_DIRECTORY, 0);
	err("O_CREAT | O_DIRECTORY", dfd, "new", O_CREAT | O_DIRECTORY, 0, EINVAL);
	err("O_TMPFILE read-only", dfd, ".", O_TMPFILE | O_RDONLY, 0, EINVAL);
	err("bad dirfd", 999, "sub/file", O_RDONLY, 0, EBADF);

	r = oa2(dfd, "created", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640, 0);
	if (r >= 0) {
		struct stat st;

		tst_check(fcntl(r, F_GETFD) == FD_CLOEXEC, "O_CLOEXEC sets FD_CLOEXEC");
		tst_checkf(fstat(r, &st) == 0 && (st.st_mode & 07777) == (0640 & ~022),
			   "created with mode & ~umask");
		close(r);
	} else {
		tfail("create: %s", tst_errname(-r));
	}
	rm("created", 0);
}

static void resolve_checks(int dfd)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);
	int root = open("/", O_RDONLY | O_DIRECTORY);
	char fdlink[64];

	/* NO_SYMLINKS */
	ok("NO_SYMLINKS: plain path", dfd, "sub/file", O_RDONLY, RESOLVE_NO_SYMLINKS);
	err("NO_SYMLINKS: last component", dfd, "link_rel", O_RDONLY, RESOLVE_NO_SYMLINKS, ELOOP);
	err("NO_SYMLINKS: in the middle", dfd, "link_dir/file", O_RDONLY, RESOLVE_NO_SYMLINKS,
	    ELOOP);
	ok("NO_SYMLINKS: O_PATH | O_NOFOLLOW opens the link", dfd, "link_rel",
	   O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
	ok("symlinks without restrictions", dfd, "link_dir/file", O_RDONLY, 0);

	/* NO_MAGICLINKS */
	err("NO_MAGICLINKS: /proc/self/exe", AT_FDCWD, "/proc/self/exe", O_RDONLY,
	    RESOLVE_NO_MAGICLINKS, ELOOP);
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", dfd);
	err("NO_MAGICLINKS: /proc/self/fd/N", AT_FDCWD, fdlink, O_RDONLY, RESOLVE_NO_MAGICLINKS,
	    ELOOP);
	ok("NO_MAGICLINKS: /proc/self is an ordinary symlink", AT_FDCWD, "/proc/self/cmdline",
	   O_RDONLY, RESOLVE_NO_MAGICLINKS);
	ok("NO_MAGICLINKS: ordinary symlinks", dfd, "link_rel", O_RDONLY, RESOLVE_NO_MAGICLINKS);
	err("NO_SYMLINKS covers magic links", AT_FDCWD, "/proc/self/exe", O_RDONLY,
	    RESOLVE_NO_SYMLINKS, ELOOP);

	/* NO_XDEV */
	ok("NO_XDEV: within one mount", dfd, "sub/file", O_RDONLY, RESOLVE_NO_XDEV);
	err("NO_XDEV: into /proc", root, "proc/self/cmdline", O_RDONLY, RESOLVE_NO_XDEV, EXDEV);
	err("NO_XDEV: absolute path into /proc", AT_FDCWD, "/proc/self/cmdline", O_RDONLY,
	    RESOLVE_NO_XDEV, EXDEV);
	err("NO_XDEV: .. out of /proc", proc, "../proc", O_RDONLY, RESOLVE_NO_XDEV, EXDEV);
	ok("NO_XDEV: / itself", AT_FDCWD, "/", O_RDONLY, RESOLVE_NO_XDEV);

	/* BENEATH */
	ok("BENEATH: below", dfd, "sub/file", O_RDONLY, RESOLVE_BENEATH);
	ok("BENEATH: .. that stays below", dfd, "sub/../sub/file", O_RDONLY, RESOLVE_BENEATH);
	ok("BENEATH: relative symlink", dfd, "link_rel", O_RDONLY, RESOLVE_BENEATH);
	err("BENEATH: .. above", dfd, "../x", O_RDONLY, RESOLVE_BENEATH, EXDEV);
	err("BENEATH: .. above through a symlink", dfd, "link_up", O_RDONLY, RESOLVE_BENEATH,
	    EXDEV);
	err("BENEATH: absolute path", dfd, "/tmp", O_RDONLY, RESOLVE_BENEATH, EXDEV);
	err("BENEATH: absolute path, bad dirfd", 999, "/tmp", O_RDONLY, RESOLVE_BENEATH, EXDEV);
	err("BENEATH: absolute symlink", dfd, "link_abs", O_RDONLY, RESOLVE_BENEATH, EXDEV);
	err("BENEATH: magic link", proc, "self/exe", O_RDONLY, RESOLVE_BENEATH, EXDEV);
	ok("BENEATH: O_CREAT below", dfd, "sub/made", O_CREAT | O_WRONLY, RESOLVE_BENEATH);
	rm("sub/made", 0);

	/* IN_ROOT */
	ok("IN_ROOT: absolute path from the dirfd", dfd, "/sub/file", O_RDONLY, RESOLVE_IN_ROOT);
	ok("IN_ROOT: .. stays at the dirfd", dfd, "../../sub/file", O_RDONLY, RESOLVE_IN_ROOT);
	ok("IN_ROOT: absolute symlink resolves in the dirfd", dfd, "link_in_root", O_RDONLY,
	   RESOLVE_IN_ROOT);
	err("IN_ROOT: absolute symlink to the real path", dfd, "link_abs", O_RDONLY,
	    RESOLVE_IN_ROOT, ENOENT);
	err("IN_ROOT: magic link", proc, "self/exe", O_RDONLY, RESOLVE_IN_ROOT, EXDEV);
	err("IN_ROOT: bad dirfd", 999, "/sub/file", O_RDONLY, RESOLVE_IN_ROOT, EBADF);

	/* CACHED */
	err("CACHED: O_CREAT", dfd, "sub/file", O_CREAT | O_RDWR, RESOLVE_CACHED, EAGAIN);
	err("CACHED: O_TRUNC", dfd, "sub/file", O_TRUNC | O_RDWR, RESOLVE_CACHED, EAGAIN);
	ok("CACHED: a file just opened", dfd, "sub/file", O_RDONLY, RESOLVE_CACHED);

	close(proc);
	close(root);
}

int main(void)
{
	char target[128];
	int dfd;

	snprintf(dir, sizeof dir, "/tmp/oxv-openat2-%d", getpid());
	if (mkdir(dir, 0755) != 0) {
		tfail("mkdir: %s", tst_errname(errno));
		return tst_exit();
	}
	mk("sub", 1);
	mk("sub/file", 0);
	ln("sub/file", "link_rel");
	ln("sub", "link_dir");
	ln("../x", "link_up");
	snprintf(target, sizeof target, "%s/sub/file", dir);
	ln(target, "link_abs");
	ln("/sub/file", "link_in_root");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);

	versions(dfd);
	flag_checks(dfd);
	resolve_checks(dfd);

	close(dfd);
	rm("link_rel", 0);
	rm("link_dir", 0);
	rm("link_up", 0);
	rm("link_abs", 0);
	rm("link_in_root", 0);
	rm("sub/file", 0);
	rm("sub", 1);
	rm("", 1);
	return tst_exit();
}
