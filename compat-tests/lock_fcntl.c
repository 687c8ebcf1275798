// fcntl(2) POSIX record locks seen from another process: a write lock makes the other
// process's conflicting F_SETLK fail with EAGAIN, read locks share, F_GETLK describes the
// first conflicting lock (type, SEEK_SET start, length with 0 for "to the end", the holder's
// pid) or answers F_UNLCK and leaves the rest of the struct as it was; a process's own locks
// never conflict: relocking part of a range with another type or unlocking its middle splits
// it; SEEK_CUR and SEEK_END ranges and negative lengths; and the argument errors in Linux's
// order (EBADF, EFAULT, EINVAL, EOVERFLOW, EBADF for the access mode).
#include "tst_files.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

static char path[96];
static pid_t parent;

static struct flock lk(short type, short whence, off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = whence;
	f.l_start = start;
	f.l_len = len;
	return f;
}

static int setlk(int fd, short type, off_t start, off_t len)
{
	struct flock f = lk(type, SEEK_SET, start, len);

	return fcntl(fd, F_SETLK, &f);
}

/* F_GETLK for a lock of `type` on [start, start+len); the answer in *out. */
static int getlk(int fd, short type, off_t start, off_t len, struct flock *out)
{
	*out = lk(type, SEEK_SET, start, len);
	return fcntl(fd, F_GETLK, out);
}

static int is_lock(const struct flock *f, short type, off_t start, off_t len)
{
	return f->l_type == type && f->l_whence == SEEK_SET && f->l_start == start &&
	       f->l_len == len && f->l_pid == parent;
}

/* The parent holds W [10,19] and R [100, end): what another process sees. */
static int child_conflicts(void)
{
	struct flock f;
	int fd = open(path, O_RDWR);

	TF_ERR("another process: F_SETLK write over a write lock", setlk(fd, F_WRLCK, 15, 1),
	       EAGAIN);
	TF_ERR("another process: F_SETLK read over a write lock", setlk(fd, F_RDLCK, 19, 5),
	       EAGAIN);
	TF_OK("another process: F_SETLK read over a read lock", setlk(fd, F_RDLCK, 100, 100));
	TF_ERR("another process: F_SETLK write over a read lock", setlk(fd, F_WRLCK, 300, 1),
	       EAGAIN);
	TF_OK("another process: F_SETLK write next to the locks", setlk(fd, F_WRLCK, 20, 80));
	TF_OK("F_GETLK succeeds", getlk(fd, F_WRLCK, 0, 0, &f));
	tst_check(is_lock(&f, F_WRLCK, 10, 10),
		  "F_GETLK reports the first conflict: F_WRLCK, SEEK_SET, 10, 10, the holder's pid");
	getlk(fd, F_WRLCK, 500, 1, &f);
	tst_check(is_lock(&f, F_RDLCK, 100, 0), "a read lock to the end has l_len 0");
	f = lk(F_RDLCK, SEEK_CUR, 150, 7);
	f.l_pid = 12345;
	fcntl(fd, F_GETLK, &f);
	tst_check(f.l_type == F_UNLCK && f.l_whence == SEEK_CUR && f.l_start == 150 &&
			  f.l_len == 7 && f.l_pid == 12345,
		  "no conflict: l_type F_UNLCK, the other fields as they were");
	getlk(fd, F_WRLCK, 20, 80, &f);
	tst_check(f.l_type == F_UNLCK, "F_GETLK ignores the caller's own locks");
	return tst_exit();
}

/* After the parent relocked and unlocked parts of W [0,29]: R [10,14], hole [15,19]. */
static int child_split(void)
{
	struct flock f;
	int fd = open(path, O_RDWR);

	getlk(fd, F_WRLCK, 0, 10, &f);
	tst_check(is_lock(&f, F_WRLCK, 0, 10), "the write lock's head [0,9] stays");
	getlk(fd, F_WRLCK, 10, 5, &f);
	tst_check(is_lock(&f, F_RDLCK, 10, 5), "the middle [10,14] became a read lock");
	TF_OK("a read lock of another process fits on the read part", setlk(fd, F_RDLCK, 10, 5));
	getlk(fd, F_WRLCK, 15, 5, &f);
	tst_check(f.l_type == F_UNLCK, "the unlocked hole [15,19] is free");
	TF_OK("another process locks the hole", setlk(fd, F_WRLCK, 15, 5));
	getlk(fd, F_RDLCK, 20, 100, &f);
	tst_check(is_lock(&f, F_WRLCK, 20, 10), "the write lock's tail [20,29] stays");
	return tst_exit();
}

/* The parent locked with SEEK_CUR/SEEK_END/negative lengths: see where. */
static int child_relative(void)
{
	struct flock f;
	int fd = open(path, O_RDWR);

	getlk(fd, F_WRLCK, 0, 0, &f);
	tst_check(is_lock(&f, F_WRLCK, 5, 5), "l_start 10, l_len -5 locks [5,9]");
	getlk(fd, F_WRLCK, 10, 0, &f);
	tst_check(is_lock(&f, F_WRLCK, 40, 2), "SEEK_CUR at 30 with l_start 10 locks [40,41]");
	getlk(fd, F_WRLCK, 42, 0, &f);
	tst_check(is_lock(&f, F_WRLCK, 96, 0),
		  "SEEK_END of 100 bytes with l_start -4 and l_len 0 locks from 96 to the end");
	return tst_exit();
}

static void run(int (*fn)(void), const char *what)
{
	pid_t pid = tst_fork(fn);

	if (tst_wait(pid) != 0)
		tfail("%s: the child's checks failed", what);
}

int main(void)
{
	struct flock f;
	int fd, ro, wo, opath;
	char buf[100];

	parent = getpid();
	tst_tmp_path(path, sizeof(path), "lock-fcntl");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	memset(buf, 'x', sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != 100) {
		tfail("create a 100-byte file: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("F_SETLK write lock [10,19]", setlk(fd, F_WRLCK, 10, 10));
	TF_OK("F_SETLK read lock [100, end)", setlk(fd, F_RDLCK, 100, 0));
	TF_OK("relocking the same range is fine", setlk(fd, F_WRLCK, 10, 10));
	run(child_conflicts, "conflicts");

	TF_OK("unlock everything", setlk(fd, F_UNLCK, 0, 0));
	TF_OK("F_SETLK write lock [0,29]", setlk(fd, F_WRLCK, 0, 30));
	TF_OK("turn [10,19] into a read lock", setlk(fd, F_RDLCK, 10, 10));
	TF_OK("unlock [15,19]", setlk(fd, F_UNLCK, 15, 5));
	TF_OK("unlocking a range with no lock succeeds", setlk(fd, F_UNLCK, 500, 10));
	run(child_split, "split");

	setlk(fd, F_UNLCK, 0, 0);
	f = lk(F_WRLCK, SEEK_SET, 10, -5);
	TF_OK("a negative length locks the bytes before l_start", fcntl(fd, F_SETLK, &f));
	lseek(fd, 30, SEEK_SET);
	f = lk(F_WRLCK, SEEK_CUR, 10, 2);
	TF_OK("SEEK_CUR is relative to the file offset", fcntl(fd, F_SETLK, &f));
	f = lk(F_WRLCK, SEEK_END, -4, 0);
	TF_OK("SEEK_END is relative to the size", fcntl(fd, F_SETLK, &f));
	run(child_relative, "relative ranges");

	/* Errors. */
	f = lk(F_WRLCK, SEEK_SET, 0, 1);
	TF_ERR("F_SETLK on fd -1", fcntl(-1, F_SETLK, &f), EBADF);
	opath = open(path, O_PATH);
	TF_ERR("F_SETLK on an O_PATH fd", fcntl(opath, F_SETLK, &f), EBADF);
	TF_ERR("F_GETLK on an O_PATH fd", fcntl(opath, F_GETLK, &f), EBADF);
	TF_RAW("F_SETLK with a bad pointer", sys3(SYS_fcntl, fd, F_SETLK, 8), EFAULT);
	TF_RAW("F_GETLK with a bad pointer", sys3(SYS_fcntl, fd, F_GETLK, 8), EFAULT);
	f = lk(F_WRLCK, 5, 0, 1);
	TF_ERR("l_whence 5", fcntl(fd, F_SETLK, &f), EINVAL);
	f = lk(7, SEEK_SET, 0, 1);
	TF_ERR("l_type 7", fcntl(fd, F_SETLK, &f), EINVAL);
	f = lk(F_WRLCK, SEEK_SET, -1, 1);
	TF_ERR("a start before byte 0", fcntl(fd, F_SETLK, &f), EINVAL);
	f = lk(F_WRLCK, SEEK_END, -101, 1);
	TF_ERR("SEEK_END before byte 0", fcntl(fd, F_SETLK, &f), EINVAL);
	f = lk(F_WRLCK, SEEK_SET, 3, -5);
	TF_ERR("a negative length reaching before byte 0", fcntl(fd, F_SETLK, &f), EINVAL);
	f = lk(F_WRLCK, SEEK_SET, LLONG_MAX, 2);
	TF_ERR("a range past OFFSET_MAX", fcntl(fd, F_SETLK, &f), EOVERFLOW);
	f = lk(F_WRLCK, SEEK_CUR, LLONG_MAX, 1);
	TF_ERR("SEEK_CUR past OFFSET_MAX", fcntl(fd, F_SETLK, &f), EOVERFLOW);
	f = lk(7, SEEK_SET, LLONG_MAX, 2);
	TF_ERR("EOVERFLOW comes before a bad l_type", fcntl(fd, F_SETLK, &f), EOVERFLOW);
	f = lk(F_WRLCK, SEEK_SET, LLONG_MAX, 1);
	TF_OK("the last byte can be locked", fcntl(fd, F_SETLK, &f));
	f = lk(F_UNLCK, SEEK_SET, 0, 1);
	TF_ERR("F_GETLK with F_UNLCK", fcntl(fd, F_GETLK, &f), EINVAL);
	f = lk(F_RDLCK, 9, 0, 1);
	TF_ERR("F_GETLK with l_whence 9", fcntl(fd, F_GETLK, &f), EINVAL);

	ro = open(path, O_RDONLY);
	wo = open(path, O_WRONLY);
	f = lk(F_WRLCK, SEEK_SET, 200, 1);
	TF_ERR("a write lock through a read-only fd", fcntl(ro, F_SETLK, &f), EBADF);
	f = lk(F_RDLCK, SEEK_SET, 200, 1);
	TF_ERR("a read lock through a write-only fd", fcntl(wo, F_SETLK, &f), EBADF);
	f = lk(F_RDLCK, 9, 200, 1);
	TF_ERR("a bad l_whence comes before the access check", fcntl(wo, F_SETLK, &f), EINVAL);
	f = lk(F_UNLCK, SEEK_SET, 200, 1);
	TF_OK("unlocking through a read-only fd", fcntl(ro, F_SETLK, &f));
	f = lk(F_RDLCK, SEEK_SET, 200, 1);
	TF_OK("F_GETLK through a write-only fd", fcntl(wo, F_GETLK, &f));
	tst_check(f.l_type == F_UNLCK, "nothing conflicts with the caller's own locks");

	close(opath);
	close(ro);
	close(wo);
	close(fd);
	unlink(path);
	return tst_exit();
}
