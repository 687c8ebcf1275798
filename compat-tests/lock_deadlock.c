// Deadlock detection for POSIX locks: process A holds byte 0 and waits (F_SETLKW) for byte 1,
// which process B holds; when B then asks for byte 0 with F_SETLKW, the two would wait for
// each other forever, so the request that closes the cycle fails with EDEADLK instead of
// waiting. Which one closes it depends on timing (B waits 200 ms for A to block first), so
// the test checks that exactly one gets EDEADLK and the other, once that one gives up and
// exits, gets its lock. F_SETLK never reports EDEADLK, only EAGAIN.
#include "tst_files.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static char path[96];
static int to_parent[2], to_child[2];

static int setlk(int fd, int cmd, short type, off_t start)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = 1;
	return fcntl(fd, cmd, &f);
}

/* B: lock byte 1, tell A, give A time to block, then ask for byte 0. */
static int process_b(void)
{
	struct timespec ts = { 0, 200 * 1000000L };
	int fd = open(path, O_RDWR);
	char c;
	int r;

	if (setlk(fd, F_SETLK, F_WRLCK, 1) != 0)
		return 10;
	if (setlk(fd, F_SETLK, F_WRLCK, 0) != -1 || errno != EAGAIN)
		return 11;
	write(to_parent[1], "x", 1);
	read(to_child[0], &c, 1);
	nanosleep(&ts, NULL);
	r = setlk(fd, F_SETLKW, F_WRLCK, 0);
	if (r == -1 && errno == EDEADLK)
		return 1;
	return r == 0 ? 0 : 12;
}

int main(void)
{
	int fd, r, e, rc;
	char c;
	pid_t pid;

	tst_tmp_path(path, sizeof(path), "lock-deadlock");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || pipe(to_parent) != 0 || pipe(to_child) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}
	TF_OK("A locks byte 0", setlk(fd, F_SETLK, F_WRLCK, 0));
	pid = tst_fork(process_b);
	if (read(to_parent[0], &c, 1) != 1)
		tfail("B did not start");
	TF_ERR("F_SETLK on B's byte fails with EAGAIN", setlk(fd, F_SETLK, F_WRLCK, 1), EAGAIN);
	write(to_child[1], "x", 1);
	r = setlk(fd, F_SETLKW, F_WRLCK, 1);
	e = errno;
	if (r == -1 && e == EDEADLK) {
		/* A closed the cycle: give up byte 0 so B gets it. */
		setlk(fd, F_SETLK, F_UNLCK, 0);
		rc = tst_wait(pid);
		tst_check(rc == 0, "exactly one waiter got EDEADLK; the other got its lock");
	} else if (r == 0) {
		rc = tst_wait(pid);
		tst_check(rc == 1, "exactly one waiter got EDEADLK; the other got its lock");
	} else {
		tfail("F_SETLKW: %s", tst_files_errname(e));
		tst_wait(pid);
	}
	close(fd);
	unlink(path);
	return tst_exit();
}
