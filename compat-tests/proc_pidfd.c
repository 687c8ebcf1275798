// pidfds: pidfd_open(2) on a child and its errors; poll(2) on the pidfd becomes readable when
// the child ends (not before); waitid(P_PIDFD) reaps exactly that child, and with a
// non-blocking pidfd a live child is EAGAIN; pidfd_send_signal(2) delivers (and checks its
// siginfo); pidfd_getfd(2) duplicates a child's fd close-on-exec; clone(CLONE_PIDFD)
// returns a pidfd through parent_tid; a pidfd of a reaped process is ESRCH.
#include "tst.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static long pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static long pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static long pidfd_getfd(int fd, int target, unsigned flags)
{
	return syscall(SYS_pidfd_getfd, fd, target, flags);
}

/* A child that waits for a byte on `in` and exits with `code`. */
static pid_t waiting_child(int p[2], int code)
{
	pid_t pid;

	pipe(p);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char c;

		close(p[1]);
		read(p[0], &c, 1);
		_exit(code);
	}
	close(p[0]);
	return pid;
}

static int readable(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	return poll(&pf, 1, ms) == 1 && (pf.revents & POLLIN);
}

int main(void)
{
	int p[2], fd, nfd, st;
	pid_t pid;
	siginfo_t si;

	/* Errors. */
	tst_check(pidfd_open(getpid(), ~0u) == -1 && errno == EINVAL, "pidfd_open bad flags: EINVAL");
	tst_check(pidfd_open(0, 0) == -1 && errno == EINVAL, "pidfd_open pid 0: EINVAL");
	tst_check(pidfd_open(-1, 0) == -1 && errno == EINVAL, "pidfd_open pid -1: EINVAL");
	tst_check(pidfd_open(4000000, 0) == -1 && errno == ESRCH, "pidfd_open no such pid: ESRCH");
	tst_check(pidfd_send_signal(0, 0, NULL, 0) == -1 && errno == EBADF,
		  "pidfd_send_signal on a non-pidfd: EBADF");
	tst_check(pidfd_send_signal(99, 0, NULL, 0) == -1 && errno == EBADF,
		  "pidfd_send_signal on a closed fd: EBADF");

	/* A pidfd is close-on-exec, polls not ready while the child lives, ready after. */
	pid = waiting_child(p, 7);
	fd = pidfd_open(pid, 0);
	tst_check(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "pidfd_open: a close-on-exec fd");
	tst_check(!readable(fd, 50), "a live child's pidfd is not readable");
	tst_check(pidfd_send_signal(fd, SIGUSR1, NULL, 0x100) == -1 && errno == EINVAL,
		  "pidfd_send_signal flags: EINVAL");
	tst_check(pidfd_send_signal(fd, 0, NULL, 0) == 0, "pidfd_send_signal 0: the child exists");
	tst_check(pidfd_send_signal(fd, 1000, NULL, 0) == -1 && errno == EINVAL,
		  "pidfd_send_signal bad signal: EINVAL");
	{
		siginfo_t info = { 0 };

		info.si_signo = SIGUSR2;
		info.si_code = SI_QUEUE;
		tst_check(pidfd_send_signal(fd, SIGUSR1, &info, 0) == -1 && errno == EINVAL,
			  "pidfd_send_signal siginfo for another signal: EINVAL");
		info.si_signo = SIGUSR1;
		info.si_code = SI_USER;
		tst_check(pidfd_send_signal(fd, SIGUSR1, &info, 0) == -1 && errno == EPERM,
			  "pidfd_send_signal kernel-only si_code to another process: EPERM");
	}
	/* pidfd_getfd: the child's stdout (fd 1), close-on-exec here. */
	nfd = pidfd_getfd(fd, 1, 0);
	tst_check(nfd >= 0 && fcntl(nfd, F_GETFD) == FD_CLOEXEC, "pidfd_getfd: a close-on-exec dup");
	close(nfd);
	tst_check(pidfd_getfd(fd, 77, 0) == -1 && errno == EBADF, "pidfd_getfd of a closed fd: EBADF");
	tst_check(pidfd_getfd(fd, 1, 1) == -1 && errno == EINVAL, "pidfd_getfd flags: EINVAL");

	write(p[1], "x", 1);
	close(p[1]);
	tst_check(readable(fd, 10000), "the pidfd becomes readable when the child exits");
	memset(&si, 0, sizeof(si));
	tst_check(waitid(P_PIDFD, fd, &si, WEXITED) == 0 && si.si_pid == pid &&
			  si.si_code == CLD_EXITED && si.si_status == 7,
		  "waitid(P_PIDFD) reaps that child with its status");
	tst_check(pidfd_send_signal(fd, SIGTERM, NULL, 0) == -1 && errno == ESRCH,
		  "pidfd_send_signal to a reaped process: ESRCH");
	tst_check(readable(fd, 0), "a reaped process's pidfd stays readable");
	close(fd);

	/* A signal through the pidfd kills the child. */
	pid = waiting_child(p, 0);
	fd = pidfd_open(pid, PIDFD_NONBLOCK);
	tst_check(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK), "PIDFD_NONBLOCK sets O_NONBLOCK");
	tst_check(waitid(P_PIDFD, fd, &si, WEXITED) == -1 && errno == EAGAIN,
		  "waitid on a non-blocking pidfd of a live child: EAGAIN");
	tst_check(pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0, "pidfd_send_signal SIGKILL");
	tst_check(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "the child died of SIGKILL");
	close(p[1]);
	close(fd);

	/* clone(CLONE_PIDFD): the pidfd comes back through parent_tid. */
	{
		int pidfd = -1;

		fflush(stdout);
		pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, &pidfd, NULL, NULL);
		if (pid == 0)
			_exit(5);
		tst_check(pid > 0 && pidfd >= 0 && fcntl(pidfd, F_GETFD) == FD_CLOEXEC,
			  "clone(CLONE_PIDFD) stores a close-on-exec pidfd");
		tst_check(readable(pidfd, 10000), "that pidfd becomes readable at exit");
		memset(&si, 0, sizeof(si));
		tst_check(waitid(P_PIDFD, pidfd, &si, WEXITED) == 0 && si.si_pid == pid &&
				  si.si_status == 5,
			  "waitid(P_PIDFD) on it");
		close(pidfd);
		tst_check(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, NULL,
				  &pidfd, NULL, NULL) == -1 &&
				  errno == EINVAL,
			  "CLONE_PIDFD with CLONE_PARENT_SETTID: EINVAL");
	}
	tst_check(waitid(P_PIDFD, 0, &si, WEXITED) == -1 && errno == EBADF,
		  "waitid(P_PIDFD) on a non-pidfd: EBADF");
	return tst_exit();
}
