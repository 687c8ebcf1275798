// flock(2): whole-file locks owned by the open file description. Shared locks share,
// an exclusive one excludes (LOCK_NB -> EWOULDBLOCK) even between two open(2)s of the same
// file in one process, while dup(2)s and fork(2) children share the lock; converting a lock
// replaces it; LOCK_UN releases; closing the last fd of the open file releases; a blocking
// request waits for the holder; flock and fcntl locks do not see each other; bad operations
// are EINVAL before the fd is looked at, then EBADF; LOCK_MAND is ignored.
#include "tst_files.h"

#include <fcntl.h>
#include <sys/file.h>

#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif
#include <time.h>
#include <unistd.h>

#ifndef LOCK_MAND
#define LOCK_MAND 32
#endif

static char path[96];
static int a;

static int child_shares(void)
{
	/* Our copy of a is the same open file: unlocking it unlocks the parent's lock. */
	return flock(a, LOCK_UN) == 0 ? 0 : 1;
}

static int child_holds(void)
{
	struct timespec ts = { 0, 300 * 1000000L };
	int fd = open(path, O_RDONLY);

	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return 1;
	nanosleep(&ts, NULL);
	return 0;
}

int main(void)
{
	struct timespec ts = { 0, 100 * 1000000L };
	struct flock f;
	int b, d, r, opath;
	pid_t pid;

	tst_tmp_path(path, sizeof(path), "lock-flock");
	unlink(path);
	a = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	b = open(path, O_RDONLY);
	if (a < 0 || b < 0) {
		tfail("create the file: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("LOCK_SH through a", flock(a, LOCK_SH));
	TF_OK("LOCK_SH through b (shared locks share)", flock(b, LOCK_SH | LOCK_NB));
	TF_ERR("LOCK_EX through a while b shares", flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	TF_OK("the failed conversion dropped a's shared lock: b converts to LOCK_EX",
	      flock(b, LOCK_EX | LOCK_NB));
	TF_OK("LOCK_UN through b", flock(b, LOCK_UN));
	TF_OK("LOCK_SH through a again", flock(a, LOCK_SH | LOCK_NB));
	TF_OK("LOCK_UN through a", flock(a, LOCK_UN));
	TF_OK("now b takes LOCK_EX", flock(b, LOCK_EX | LOCK_NB));
	TF_ERR("another open file of the same process is excluded", flock(a, LOCK_SH | LOCK_NB),
	       EWOULDBLOCK);
	TF_OK("relocking with the lock already held succeeds", flock(b, LOCK_EX | LOCK_NB));
	TF_OK("LOCK_UN without LOCK_NB", flock(b, LOCK_UN));
	TF_OK("LOCK_UN with nothing locked", flock(b, LOCK_UN));

	TF_OK("LOCK_EX through a", flock(a, LOCK_EX));
	d = dup(a);
	TF_OK("a dup shares the lock: relocking through it succeeds", flock(d, LOCK_EX | LOCK_NB));
	close(a);
	TF_ERR("closing one fd keeps the lock while a dup is open", flock(b, LOCK_SH | LOCK_NB),
	       EWOULDBLOCK);
	close(d);
	TF_OK("closing the last fd releases it", flock(b, LOCK_SH | LOCK_NB));
	flock(b, LOCK_UN);

	a = open(path, O_RDWR);
	TF_OK("LOCK_EX again", flock(a, LOCK_EX));
	pid = tst_fork(child_shares);
	tst_check(tst_wait(pid) == 0, "a fork child unlocks the shared open file");
	TF_OK("so b can lock", flock(b, LOCK_EX | LOCK_NB));
	flock(b, LOCK_UN);

	TF_OK("flock LOCK_EX", flock(a, LOCK_EX));
	memset(&f, 0, sizeof(f));
	f.l_type = F_RDLCK;
	f.l_whence = SEEK_SET;
	TF_OK("an fcntl lock through another open file does not see it", fcntl(b, F_OFD_SETLK, &f));
	f.l_type = F_UNLCK;
	fcntl(b, F_OFD_SETLK, &f);
	flock(a, LOCK_UN);

	pid = tst_fork(child_holds);
	nanosleep(&ts, NULL);
	r = flock(a, LOCK_SH | LOCK_NB);
	tst_files_err("while a child holds LOCK_EX, LOCK_NB fails", r, errno, EWOULDBLOCK);
	TF_OK("a blocking LOCK_SH waits until the child's lock goes", flock(a, LOCK_SH));
	tst_check(tst_wait(pid) == 0, "the child held the lock");
	flock(a, LOCK_UN);

	TF_ERR("operation 0", flock(a, 0), EINVAL);
	TF_ERR("LOCK_SH|LOCK_EX", flock(a, LOCK_SH | LOCK_EX), EINVAL);
	TF_ERR("LOCK_NB alone", flock(a, LOCK_NB), EINVAL);
	TF_ERR("an unknown bit", flock(a, LOCK_SH | 16), EINVAL);
	TF_ERR("a bad operation on a bad fd is EINVAL first", flock(-1, 0), EINVAL);
	TF_ERR("fd -1", flock(-1, LOCK_SH), EBADF);
	opath = open(path, O_PATH);
	TF_ERR("an O_PATH fd", flock(opath, LOCK_SH), EBADF);
	TF_ERR("an O_PATH fd, unlocking", flock(opath, LOCK_UN), EBADF);
	TF_OK("LOCK_MAND is ignored", flock(-1, LOCK_MAND | LOCK_SH));

	close(opath);
	close(a);
	close(b);
	unlink(path);
	return tst_exit();
}
