// When POSIX record locks go away: closing *any* fd of the file releases all of the process's
// locks on it (a second open(2) of the same file, or a dup(2) of the locking fd), the fd used
// to lock does not matter; the locks of one process are not inherited by a fork(2) child and
// the child's own locks go when it exits; an fd of another file closing releases nothing.
#include "tst_files.h"

#include <fcntl.h>
#include <unistd.h>

static char path[96], other[96];

static int setlk(int fd, short type, off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return fcntl(fd, F_SETLK, &f);
}

/* 0 if [start, start+1) is free for a write lock of another process, 1 if locked. */
static int locked_for_others(off_t start)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct flock f;
		int fd = open(path, O_RDWR);

		memset(&f, 0, sizeof(f));
		f.l_type = F_WRLCK;
		f.l_whence = SEEK_SET;
		f.l_start = start;
		f.l_len = 1;
		if (fcntl(fd, F_GETLK, &f) != 0)
			_exit(2);
		_exit(f.l_type == F_UNLCK ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static int child_locks_and_checks(void)
{
	int fd = open(path, O_RDWR);

	/* The parent's lock on byte 0 is not ours: a fork child does not inherit locks. */
	if (setlk(fd, F_WRLCK, 0, 1) != -1 || errno != EAGAIN)
		return 1;
	/* Lock byte 50, and exit holding it. */
	return setlk(fd, F_WRLCK, 50, 1) == 0 ? 0 : 2;
}

int main(void)
{
	int fd, fd2, dupfd, ofd;
	pid_t pid;

	tst_tmp_path(path, sizeof(path), "lock-release");
	tst_tmp_path(other, sizeof(other), "lock-release-other");
	unlink(path);
	unlink(other);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ofd = open(other, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ofd < 0) {
		tfail("create the files: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("lock byte 0", setlk(fd, F_WRLCK, 0, 1));
	tst_check(locked_for_others(0) == 1, "another process sees byte 0 locked");
	TF_OK("lock another file", setlk(ofd, F_WRLCK, 0, 1));
	close(ofd);
	tst_check(locked_for_others(0) == 1, "closing an fd of another file releases nothing");

	fd2 = open(path, O_RDWR);
	close(fd2);
	tst_check(locked_for_others(0) == 0,
		  "closing a second, unrelated fd of the file releases the lock");

	TF_OK("lock byte 0 again", setlk(fd, F_WRLCK, 0, 1));
	dupfd = dup(fd);
	close(dupfd);
	tst_check(locked_for_others(0) == 0, "closing a dup of the locking fd releases it too");

	fd2 = open(path, O_RDWR);
	TF_OK("lock byte 0 through a second fd", setlk(fd2, F_WRLCK, 0, 1));
	TF_OK("and byte 1 through the first", setlk(fd, F_WRLCK, 1, 1));
	close(fd);
	tst_check(locked_for_others(0) == 0 && locked_for_others(1) == 0,
		  "closing the first fd releases the locks taken through either");
	fd = fd2;

	TF_OK("lock byte 0 for the fork test", setlk(fd, F_WRLCK, 0, 1));
	pid = tst_fork(child_locks_and_checks);
	tst_check(tst_wait(pid) == 0,
		  "a fork child does not hold the parent's locks and can take its own");
	tst_check(locked_for_others(50) == 0, "the child's lock went when it exited");
	tst_check(locked_for_others(0) == 1, "the parent's lock is still there");

	close(fd);
	unlink(path);
	unlink(other);
	return tst_exit();
}
