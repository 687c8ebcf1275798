// execve(2): a child execs this same program with new arguments and environment, which it
// reads back (argv[0] as given, envp replaced, fds without FD_CLOEXEC kept and those with it
// closed, caught signals reset to SIG_DFL, ignored ones kept, the pid kept); a #! script
// naming this program as its interpreter runs it with [interpreter, its argument, script,
// args...]; and the errors: ENOENT for a missing file, EACCES for a directory and for a file
// without execute permission, ENOEXEC for a non-ELF file without #!, E2BIG for an argument
// over 128 KiB.
#include "tst.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char self[4096];

static void on_usr1(int sig)
{
	(void)sig;
}

/* The exec'd side: checks what survived the exec and exits with a bit mask of failures. */
static int execd(int argc, char **argv)
{
	int bad = 0;
	struct sigaction sa;

	if (argc != 4 || strcmp(argv[2], "two words") != 0 || strcmp(argv[3], "") != 0)
		bad |= 1;
	if (!getenv("OXV_ONLY") || strcmp(getenv("OXV_ONLY"), "yes") != 0 || getenv("HOME"))
		bad |= 2;
	if (fcntl(10, F_GETFD) != 0 || fcntl(11, F_GETFD) != -1 || errno != EBADF)
		bad |= 4;
	sigaction(SIGUSR1, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		bad |= 8;
	sigaction(SIGUSR2, NULL, &sa);
	if (sa.sa_handler != SIG_IGN)
		bad |= 16;
	if (atoi(argv[1]) != getpid())
		bad |= 32;
	return bad;
}

/* The script side: argv = [self, "--from-script", script, "arg"]. */
static int scripted(int argc, char **argv)
{
	return argc == 4 && strcmp(argv[1], "--from-script") == 0 && strstr(argv[2], "oxv-script") &&
			       strcmp(argv[3], "arg") == 0
		       ? 0
		       : 1;
}

static int run(char *const argv[], char *const envp[])
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, envp);
		_exit(100 + errno);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exec_err(const char *path, char *const argv[])
{
	char *envp[] = { NULL };
	int r = execve(path, argv, envp);

	return r == -1 ? errno : 0;
}

int main(int argc, char **argv)
{
	char pidbuf[16], script[64], plain[64], *big;
	char *envp[] = { "OXV_ONLY=yes", NULL };
	int fd, st;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "--from-script") == 0)
		return scripted(argc, argv);
	if (argc > 1)
		return execd(argc, argv);

	if (readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0) {
		tfail("readlink /proc/self/exe: %s", tst_errname(errno));
		return tst_exit();
	}

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_usr1 };
		char *args[] = { self, pidbuf, "two words", "", NULL };

		sigaction(SIGUSR1, &sa, NULL);
		signal(SIGUSR2, SIG_IGN);
		dup2(1, 10);
		fd = dup2(1, 11);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		snprintf(pidbuf, sizeof(pidbuf), "%d", getpid());
		execve(self, args, envp);
		_exit(100);
	}
	waitpid(pid, &st, 0);
	tst_checkf(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "the exec'd program got its args and env, kept fds and ignored signals (status %d)",
		   WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	snprintf(script, sizeof(script), "/tmp/oxv-script-%d", (int)getpid());
	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	dprintf(fd, "#!%s --from-script\n", self);
	close(fd);
	{
		char *args[] = { script, "arg", NULL };
		tst_check(run(args, envp) == 0, "a #! script runs its interpreter with its argument");
	}

	{
		char *args[] = { "/nonexistent/oxv", NULL };
		tst_check(exec_err(args[0], args) == ENOENT, "execve of a missing file: ENOENT");
		tst_check(exec_err("/tmp", args) == EACCES, "execve of a directory: EACCES");
	}
	snprintf(plain, sizeof(plain), "/tmp/oxv-plain-%d", (int)getpid());
	fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "just text\n", 10);
	close(fd);
	{
		char *args[] = { plain, NULL };
		tst_check(exec_err(plain, args) == EACCES, "execve of a file without x bits: EACCES");
		unlink(plain);
		fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0755);
		write(fd, "just text\n", 10);
		close(fd);
		tst_check(exec_err(plain, args) == ENOEXEC, "execve of a text file without #!: ENOEXEC");
	}
	big = malloc(200 * 1024);
	memset(big, 'x', 200 * 1024 - 1);
	big[200 * 1024 - 1] = 0;
	{
		char *args[] = { self, big, NULL };
		tst_check(exec_err(self, args) == E2BIG, "an argument over 128 KiB: E2BIG");
	}
	unlink(script);
	unlink(plain);
	return tst_exit();
}
