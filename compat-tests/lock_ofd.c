// Open file description locks (F_OFD_SETLK, F_OFD_GETLK): owned by the open file, not the
// process, so two open(2)s of one file in one process conflict with each other, and with the
// process's own POSIX locks; F_OFD_GETLK reports l_pid -1; l_pid must be 0 on input (EINVAL);
// closing another fd of the file does not release them, closing the last fd of the open file
// does, and a fork child shares them (same open file description).
#include "tst_files.h"

#include <fcntl.h>
#include <unistd.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

static char path[96];

static struct flock lk(short type, off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return f;
}

static int ofd(int fd, short type, off_t start, off_t len)
{
	struct flock f = lk(type, start, len);

	return fcntl(fd, F_OFD_SETLK, &f);
}

static int posix(int fd, short type, off_t start, off_t len)
{
	struct flock f = lk(type, start, len);

	return fcntl(fd, F_SETLK, &f);
}

static int a;

static int child_shares(void)
{
	/* Same open file description: the OFD lock is ours too, so relocking works. */
	return ofd(a, F_WRLCK, 0, 10) == 0 ? 0 : 1;
}

int main(void)
{
	struct flock f;
	int b, c;
	pid_t pid;

	tst_tmp_path(path, sizeof(path), "lock-ofd");
	unlink(path);
	a = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	b = open(path, O_RDWR);
	if (a < 0 || b < 0) {
		tfail("create the file: %s", tst_files_errname(errno));
		return tst_exit();
	}

	TF_OK("F_OFD_SETLK write lock [0,9] through a", ofd(a, F_WRLCK, 0, 10));
	TF_ERR("another open file of the same process conflicts", ofd(b, F_WRLCK, 5, 1), EAGAIN);
	TF_ERR("and so does the process's POSIX lock", posix(b, F_RDLCK, 5, 1), EAGAIN);
	TF_OK("a POSIX read lock next to it", posix(b, F_RDLCK, 10, 10));
	TF_ERR("an OFD lock over the POSIX lock conflicts", ofd(a, F_WRLCK, 15, 1), EAGAIN);

	f = lk(F_WRLCK, 0, 0);
	TF_OK("F_OFD_GETLK through b", fcntl(b, F_OFD_GETLK, &f));
	tst_check(f.l_type == F_WRLCK && f.l_start == 0 && f.l_len == 10 && f.l_pid == -1,
		  "F_OFD_GETLK reports the OFD lock with l_pid -1");
	f = lk(F_WRLCK, 0, 0);
	TF_OK("F_GETLK (POSIX) through b", fcntl(b, F_GETLK, &f));
	tst_check(f.l_type == F_WRLCK && f.l_start == 0 && f.l_pid == -1,
		  "F_GETLK sees the OFD lock too, with l_pid -1");
	f = lk(F_WRLCK, 12, 1);
	fcntl(a, F_OFD_GETLK, &f);
	tst_check(f.l_type == F_RDLCK && f.l_start == 10 && f.l_len == 10 && f.l_pid == getpid(),
		  "F_OFD_GETLK reports a POSIX lock with its pid");

	f = lk(F_WRLCK, 100, 1);
	f.l_pid = 1;
	TF_ERR("F_OFD_SETLK with l_pid != 0", fcntl(a, F_OFD_SETLK, &f), EINVAL);
	f = lk(F_WRLCK, 100, 1);
	f.l_pid = 1;
	TF_ERR("F_OFD_GETLK with l_pid != 0", fcntl(a, F_OFD_GETLK, &f), EINVAL);
	f = lk(F_WRLCK, 100, 1);
	f.l_pid = 1;
	TF_ERR("F_OFD_SETLKW with l_pid != 0", fcntl(a, F_OFD_SETLKW, &f), EINVAL);

	posix(b, F_UNLCK, 0, 0);
	c = open(path, O_RDWR);
	close(c);
	TF_ERR("closing another fd does not release an OFD lock", ofd(b, F_WRLCK, 0, 1), EAGAIN);

	pid = tst_fork(child_shares);
	tst_check(tst_wait(pid) == 0, "a fork child shares the open file and its OFD locks");
	TF_ERR("the child's relock is still the same lock", ofd(b, F_WRLCK, 0, 1), EAGAIN);

	c = dup(a);
	close(a);
	TF_ERR("a dup keeps the open file (and its lock) alive", ofd(b, F_WRLCK, 0, 1), EAGAIN);
	close(c);
	TF_OK("closing the last fd of the open file releases its locks", ofd(b, F_WRLCK, 0, 1));
	TF_OK("OFD unlock", ofd(b, F_UNLCK, 0, 0));

	close(b);
	unlink(path);
	return tst_exit();
}
