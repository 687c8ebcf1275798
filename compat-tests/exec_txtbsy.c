// ETXTBSY: a running program's file cannot be written. open(2) of the own executable for
// writing (O_WRONLY, O_RDWR, even O_RDONLY|O_TRUNC) and truncate(2) of it fail with ETXTBSY,
// in a forked child too (it shares the image); execve(2) of a file (or a #! script) that is
// open for writing fails with ETXTBSY and succeeds once it is closed; while another process
// runs a copy of this program the copy cannot be written, and it can again once that process
// has exec'd something else or has exited. Reading the running file stays allowed.
#include "tst.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* tst_libc_err with errno read after the call (argument order is unspecified). */
#define LIBC_ERR(what, call, e_unused, want)                                                  \
	do {                                                                                   \
		long r_ = (call);                                                              \
		tst_libc_err((what), r_, errno, (want));                                       \
	} while (0)

/* The fds a held child reports on and waits on. */
#define READY_FD 10
#define RELEASE_FD 11

static char copy[64], script[64];

/* --hold: tells the parent it runs, then waits for the parent to close the pipe. */
static int hold(void)
{
	char c = 'x';

	if (write(READY_FD, &c, 1) != 1)
		return 2;
	while (read(RELEASE_FD, &c, 1) > 0)
		;
	return 0;
}

/* Copies this program's file to `copy`, mode 0755. */
static int make_copy(void)
{
	char buf[65536];
	ssize_t n;
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	return close(out);
}

struct held {
	pid_t pid;
	int release;
};

/* Starts a child that execs argv and waits in --hold; returns once it runs. */
static struct held start_held(char *const argv[])
{
	struct held h = { -1, -1 };
	int ready[2], release[2];
	char c;

	if (pipe(ready) || pipe(release))
		return h;
	fflush(stdout);
	h.pid = fork();
	if (h.pid == 0) {
		dup2(ready[1], READY_FD);
		dup2(release[0], RELEASE_FD);
		close(ready[0]);
		close(release[1]);
		execv(argv[0], argv);
		_exit(100 + errno);
	}
	close(ready[1]);
	close(release[0]);
	h.release = release[1];
	if (read(ready[0], &c, 1) != 1)
		h.pid = -1;
	close(ready[0]);
	return h;
}

/* Lets a held child end; returns its exit status. */
static int end_held(struct held h)
{
	int st;

	close(h.release);
	if (waitpid(h.pid, &st, 0) != h.pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_write_denied(const char *what, const char *path)
{
	char line[128];
	int fd;

	snprintf(line, sizeof line, "%s: open O_WRONLY", what);
	fd = open(path, O_WRONLY);
	LIBC_ERR(line, fd, errno, ETXTBSY);
	snprintf(line, sizeof line, "%s: open O_RDWR", what);
	fd = open(path, O_RDWR);
	LIBC_ERR(line, fd, errno, ETXTBSY);
	snprintf(line, sizeof line, "%s: open O_RDONLY|O_TRUNC", what);
	fd = open(path, O_RDONLY | O_TRUNC);
	LIBC_ERR(line, fd, errno, ETXTBSY);
	snprintf(line, sizeof line, "%s: truncate", what);
	LIBC_ERR(line, truncate(path, 0), errno, ETXTBSY);
}

int main(int argc, char **argv)
{
	struct stat st;
	struct held h;
	int fd, r, status;
	pid_t pid;

	/* As a script's interpreter: [copy, "--hold", script]. */
	if (argc >= 2 && strcmp(argv[1], "--hold") == 0)
		return hold();
	if (argc == 3 && strcmp(argv[1], "--reexec") == 0) {
		char *args[] = { argv[2], "--hold", NULL };

		execv(argv[2], args);
		return 100 + errno;
	}
	if (argc != 1)
		return 99;

	/* The running program itself. */
	check_write_denied("own executable", "/proc/self/exe");
	fd = open("/proc/self/exe", O_RDONLY);
	tst_check(fd >= 0, "own executable: open O_RDONLY works");
	tst_check(fstat(fd, &st) == 0 && st.st_size > 0, "own executable: not truncated");
	close(fd);

	/* A forked child runs the same image. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(open("/proc/self/exe", O_WRONLY) == -1 && errno == ETXTBSY ? 0 : 1);
	waitpid(pid, &status, 0);
	tst_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "forked child: own executable open O_WRONLY -> ETXTBSY");

	/* A copy of this program, held open for writing. */
	snprintf(copy, sizeof copy, "/tmp/oxv-txtbsy-%d", getpid());
	snprintf(script, sizeof script, "/tmp/oxv-txtbsy-%d.sh", getpid());
	if (make_copy() != 0) {
		tfail("copy of the program: %s", tst_errname(errno));
		return tst_exit();
	}
	fd = open(copy, O_WRONLY);
	tst_check(fd >= 0, "copy: open O_WRONLY while nothing runs it");
	{
		char *args[] = { copy, "--hold", NULL };

		r = execv(copy, args);
		LIBC_ERR("execve of a file open for writing", r, errno, ETXTBSY);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execv(copy, args);
			_exit(errno == ETXTBSY ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		tst_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "execve in a forked child of a file open for writing -> ETXTBSY");
	}

	/* A script open for writing cannot be exec'd either. */
	{
		char text[128];
		char *args[] = { script, NULL };
		int sfd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
		int n = snprintf(text, sizeof text, "#!%s --hold\n", copy);

		tst_check(sfd >= 0 && write(sfd, text, n) == n, "script written");
		r = execv(script, args);
		LIBC_ERR("execve of a script open for writing", r, errno, ETXTBSY);
		close(sfd);
	}

	/* The interpreter of a script, open for writing. */
	{
		char *args[] = { script, NULL };

		r = execv(script, args);
		LIBC_ERR("execve of a script whose interpreter is open for writing", r, errno,
			     ETXTBSY);
	}
	close(fd);

	/* Closed: it runs, and while it runs it cannot be written. */
	{
		char *args[] = { copy, "--hold", NULL };

		h = start_held(args);
		tst_check(h.pid > 0, "copy runs once closed");
		check_write_denied("copy run by a child", copy);
		fd = open(copy, O_RDONLY);
		tst_check(fd >= 0, "copy run by a child: open O_RDONLY works");
		close(fd);
		tst_check(end_held(h) == 0, "child running the copy exits 0");
		fd = open(copy, O_WRONLY);
		tst_check(fd >= 0, "copy: open O_WRONLY after the child exited");
		close(fd);
	}

	/* Exec'd through the script: the interpreter (the copy) is the running program. */
	{
		char *args[] = { script, NULL };

		h = start_held(args);
		tst_check(h.pid > 0, "script runs");
		fd = open(copy, O_WRONLY);
		LIBC_ERR("copy run as a script's interpreter: open O_WRONLY", fd, errno,
			     ETXTBSY);
		fd = open(script, O_WRONLY);
		tst_check(fd >= 0, "the script itself can be opened for writing while it runs");
		close(fd);
		tst_check(end_held(h) == 0, "script exits 0");
	}

	/* A process that exec'd something else no longer holds the copy. */
	{
		char *args[] = { copy, "--reexec", argv[0], NULL };

		h = start_held(args);
		tst_check(h.pid > 0, "copy re-execs the original");
		fd = open(copy, O_WRONLY);
		tst_check(fd >= 0, "copy: open O_WRONLY after its process exec'd another file");
		close(fd);
		tst_check(end_held(h) == 0, "re-exec'd child exits 0");
	}

	/* Now it can be truncated. */
	tst_check(truncate(copy, 0) == 0 && stat(copy, &st) == 0 && st.st_size == 0,
		  "copy: truncate after every user is gone");
	unlink(copy);
	unlink(script);
	return tst_exit();
}
