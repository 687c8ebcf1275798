// vfork(2), posix_spawn(3) and many children: a vfork child runs in the parent's memory (its
// write to a variable is seen by the parent) and the parent resumes only after the child
// execs or exits; posix_spawn runs this program with file actions (dup2 of a pipe onto
// stdout) and reports its pid; 20 children, reaped by wait in any order, return each their
// own status.
#include "tst.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	static char self[4096];
	volatile int shared = 0;
	posix_spawn_file_actions_t fa;
	char buf[64] = { 0 };
	int fds[2], st, sum = 0, count = 0;
	pid_t pid, w;

	if (argc > 1) {
		/* The spawned copy: print to stdout (a pipe to the parent) and exit 9. */
		printf("spawned %s", argv[1]);
		return 9;
	}
	readlink("/proc/self/exe", self, sizeof(self) - 1);

	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		shared = 42;
		_exit(4);
	}
	tst_check(shared == 42, "the vfork child wrote the parent's memory before the parent ran");
	waitpid(pid, &st, 0);
	tst_check(WIFEXITED(st) && WEXITSTATUS(st) == 4, "the vfork child's status arrives");

	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		char *args[] = { self, "by-vfork", NULL };

		close(1);
		execve(self, args, environ);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	tst_check(WIFEXITED(st) && WEXITSTATUS(st) == 9, "vfork then execve runs the program");

	pipe(fds);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	{
		char *args[] = { self, "by-posix_spawn", NULL };
		int r = posix_spawn(&pid, self, &fa, NULL, args, environ);

		tst_check(r == 0 && pid > 0, "posix_spawn succeeds and reports a pid");
	}
	close(fds[1]);
	read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	waitpid(pid, &st, 0);
	tst_check(strcmp(buf, "spawned by-posix_spawn") == 0 && WEXITSTATUS(st) == 9,
		  "the spawned program wrote to the pipe dup2'ed onto its stdout and exited 9");
	posix_spawn_file_actions_destroy(&fa);

	fflush(stdout);
	for (int i = 0; i < 20; i++) {
		if (fork() == 0) {
			usleep((20 - i) * 2000);
			_exit(i);
		}
	}
	while ((w = wait(&st)) > 0) {
		count++;
		sum += WEXITSTATUS(st);
	}
	tst_check(count == 20 && sum == 190 && errno == ECHILD,
		  "20 children reaped, statuses 0..19, then ECHILD");
	return tst_exit();
}
