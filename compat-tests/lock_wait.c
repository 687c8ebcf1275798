// F_SETLKW waits: a process asking for a lock another process holds sleeps until the holder
// unlocks (or exits), then gets it; a signal whose handler has no SA_RESTART ends the wait
// with EINTR and no lock; with SA_RESTART the call resumes and still gets the lock once free.
// The holder signals through a pipe when it has the lock and unlocks after a delay.
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char path[96];
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return fcntl(fd, cmd, &f);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A child that locks [0,9], tells the parent, holds it `ms` ms, then unlocks (or exits). */
static pid_t holder(long ms, int unlock_by_exit)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR);

		close(p[0]);
		if (setlk(fd, F_SETLK, F_WRLCK, 0, 10) != 0)
			_exit(1);
		write(p[1], "x", 1);
		sleep_ms(ms);
		if (!unlock_by_exit)
			setlk(fd, F_SETLK, F_UNLCK, 0, 10);
		sleep_ms(unlock_by_exit ? 0 : 200);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		tfail("the holder did not start");
	close(p[0]);
	return pid;
}

static void arm(long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	struct sigaction sa;
	int fd, r, e;
	pid_t pid;

	tst_tmp_path(path, sizeof(path), "lock-wait");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		tfail("create the file: %s", tst_files_errname(errno));
		return tst_exit();
	}

	pid = holder(200, 0);
	TF_ERR("F_SETLK on the held range fails at once", setlk(fd, F_SETLK, F_WRLCK, 5, 1),
	       EAGAIN);
	TF_OK("F_SETLKW waits until the holder unlocks, then locks",
	      setlk(fd, F_SETLKW, F_WRLCK, 5, 1));
	tst_check(tst_wait(pid) == 0, "the holder ran to the end");
	setlk(fd, F_SETLK, F_UNLCK, 0, 0);

	pid = holder(200, 1);
	TF_OK("F_SETLKW also ends when the holder exits", setlk(fd, F_SETLKW, F_RDLCK, 0, 1));
	tst_wait(pid);
	setlk(fd, F_SETLK, F_UNLCK, 0, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	pid = holder(600, 0);
	arm(100);
	r = setlk(fd, F_SETLKW, F_WRLCK, 0, 1);
	e = errno;
	tst_files_err("a signal without SA_RESTART interrupts F_SETLKW", r, e, EINTR);
	tst_check(alarms == 1, "the handler ran once");
	TF_ERR("no lock was taken", setlk(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN);
	tst_wait(pid);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	pid = holder(400, 0);
	arm(100);
	TF_OK("with SA_RESTART F_SETLKW resumes and gets the lock",
	      setlk(fd, F_SETLKW, F_WRLCK, 0, 1));
	tst_check(alarms == 2, "the handler ran");
	tst_wait(pid);

	close(fd);
	unlink(path);
	return tst_exit();
}
