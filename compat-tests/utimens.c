// utimensat(2) and friends set access and modification times (ctime becomes now): explicit
// times with nanoseconds, UTIME_NOW, UTIME_OMIT, a null times array (both now); both
// UTIME_OMIT returns 0 without looking at the file at all; futimens (null path with an fd);
// AT_SYMLINK_NOFOLLOW sets a symlink's own times; AT_EMPTY_PATH with an O_PATH fd; utimes(2)
// and futimesat(2) with microseconds; utime(2) with seconds; and the errors: bad
// nanoseconds or microseconds (EINVAL; nanoseconds are checked after the path walk), bad
// flags, flags with a null path, a null path with AT_FDCWD (EFAULT), EBADF, ENOENT.
#include "tst_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char path[96], link_path[96];

static long long ns(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ns(t);
}

/* File times come from a coarse clock: allow 50 ms either way. */
static int near(long long t, long long lo, long long hi)
{
	return t >= lo - 50000000LL && t <= hi + 50000000LL;
}

static struct stat st_of(const char *p, int follow)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (follow)
		stat(p, &st);
	else
		lstat(p, &st);
	return st;
}

static int times_are(const char *p, int follow, long long a, long long m)
{
	struct stat st = st_of(p, follow);

	return ns(st.st_atim) == a && ns(st.st_mtim) == m;
}

int main(void)
{
	struct timespec t[2];
	struct timeval tv[2];
	long utb[2];
	long long lo, hi;
	struct stat st;
	int fd, opath;

	tst_shm_path(path, sizeof(path), "utimens");
	tst_shm_path(link_path, sizeof(link_path), "utimens-link");
	unlink(path);
	unlink(link_path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || symlink(path, link_path) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}

	t[0] = (struct timespec){ 1000000000, 123456789 };
	t[1] = (struct timespec){ 1200000000, 987654321 };
	lo = now_ns();
	TF_OK("utimensat with two explicit times", utimensat(AT_FDCWD, path, t, 0));
	hi = now_ns();
	st = st_of(path, 1);
	tst_check(times_are(path, 1, 1000000000123456789LL, 1200000000987654321LL),
		  "atime and mtime are exactly those, nanoseconds included");
	tst_check(near(ns(st.st_ctim), lo, hi), "ctime became now");

	t[0] = (struct timespec){ 5, UTIME_OMIT };
	t[1] = (struct timespec){ 7, 0 };
	TF_OK("UTIME_OMIT keeps atime", utimensat(AT_FDCWD, path, t, 0));
	tst_check(times_are(path, 1, 1000000000123456789LL, 7000000000LL), "only mtime changed");
	t[0] = (struct timespec){ 0, UTIME_NOW };
	t[1] = (struct timespec){ 0, UTIME_OMIT };
	lo = now_ns();
	TF_OK("UTIME_NOW for atime", utimensat(AT_FDCWD, path, t, 0));
	hi = now_ns();
	st = st_of(path, 1);
	tst_check(near(ns(st.st_atim), lo, hi) && ns(st.st_mtim) == 7000000000LL,
		  "atime is now, mtime kept");
	t[0] = (struct timespec){ 0, UTIME_OMIT };
	t[1] = (struct timespec){ 0, UTIME_OMIT };
	TF_OK("both UTIME_OMIT on a missing file and a bad fd still returns 0",
	      utimensat(-1, "/nonexistent/x", t, 0xff));
	lo = now_ns();
	TF_OK("a null times array", utimensat(AT_FDCWD, path, NULL, 0));
	hi = now_ns();
	st = st_of(path, 1);
	tst_check(near(ns(st.st_atim), lo, hi) && near(ns(st.st_mtim), lo, hi),
		  "both times are now");

	t[0] = (struct timespec){ 10, 1 };
	t[1] = (struct timespec){ 20, 2 };
	TF_OK("futimens", futimens(fd, t));
	tst_check(times_are(path, 1, 10000000001LL, 20000000002LL), "futimens took");
	t[0].tv_sec = 30;
	TF_OK("AT_SYMLINK_NOFOLLOW sets the link's own times",
	      utimensat(AT_FDCWD, link_path, t, AT_SYMLINK_NOFOLLOW));
	tst_check(times_are(link_path, 0, 30000000001LL, 20000000002LL) &&
			  times_are(path, 1, 10000000001LL, 20000000002LL),
		  "the link changed, its target did not");
	opath = open(path, O_PATH);
	t[0].tv_sec = 40;
	TF_OK("AT_EMPTY_PATH on an O_PATH fd", utimensat(opath, "", t, AT_EMPTY_PATH));
	tst_check(times_are(path, 1, 40000000001LL, 20000000002LL), "it took");
	t[0].tv_sec = -100;
	t[0].tv_nsec = 0;
	TF_OK("a time before the epoch", utimensat(AT_FDCWD, path, t, 0));
	tst_check(st_of(path, 1).st_atim.tv_sec == -100, "atime -100");

	tv[0] = (struct timeval){ 50, 5 };
	tv[1] = (struct timeval){ 60, 999999 };
	TF_OK("utimes", utimes(path, tv));
	tst_check(times_are(path, 1, 50000005000LL, 60999999000LL), "microseconds kept");
	tv[0].tv_sec = 70;
	TF_OK("futimesat", futimesat(AT_FDCWD, path, tv));
	tst_check(times_are(path, 1, 70000005000LL, 60999999000LL), "futimesat took");
	utb[0] = 80;
	utb[1] = 90;
	TF_RAW("utime", sys3(SYS_utime, path, utb, 0), 0);
	tst_check(times_are(path, 1, 80000000000LL, 90000000000LL), "whole seconds");
	lo = now_ns();
	TF_RAW("utime with null times", sys3(SYS_utime, path, 0, 0), 0);
	hi = now_ns();
	tst_check(near(ns(st_of(path, 1).st_mtim), lo, hi), "mtime is now");

	t[0] = (struct timespec){ 1, 1000000000 };
	t[1] = (struct timespec){ 1, 0 };
	TF_ERR("tv_nsec 1000000000", utimensat(AT_FDCWD, path, t, 0), EINVAL);
	t[0].tv_nsec = -1;
	TF_ERR("tv_nsec -1", utimensat(AT_FDCWD, path, t, 0), EINVAL);
	TF_ERR("bad nanoseconds are checked after the path", utimensat(AT_FDCWD, "/nonexistent",
	       t, 0), ENOENT);
	TF_ERR("flags 0x1", utimensat(AT_FDCWD, path, NULL, 1), EINVAL);
	TF_RAW("a null path with flags", sys4(SYS_utimensat, fd, 0, 0, AT_SYMLINK_NOFOLLOW), EINVAL);
	TF_RAW("a null path with AT_FDCWD", sys4(SYS_utimensat, AT_FDCWD, 0, 0, 0), EFAULT);
	TF_RAW("a null path with fd -1", sys4(SYS_utimensat, -1, 0, 0, 0), EBADF);
	TF_RAW("a null path with an O_PATH fd", sys4(SYS_utimensat, opath, 0, 0, 0), EBADF);
	TF_RAW("times that fault", sys4(SYS_utimensat, AT_FDCWD, path, 8, 0), EFAULT);
	tv[0].tv_usec = 1000000;
	TF_RAW("tv_usec 1000000 (raw utimes: libc may convert first)", sys3(SYS_utimes, path, tv, 0),
	       EINVAL);
	TF_RAW("bad microseconds are checked before the path", sys3(SYS_utimes, "/nonexistent", tv, 0),
	       EINVAL);
	tv[0].tv_usec = -1;
	TF_RAW("futimesat with tv_usec -1", sys3(SYS_futimesat, AT_FDCWD, path, tv), EINVAL);
	TF_ERR("a missing file", utimensat(AT_FDCWD, "/nonexistent/x", NULL, 0), ENOENT);

	close(opath);
	close(fd);
	unlink(path);
	unlink(link_path);
	return tst_exit();
}
