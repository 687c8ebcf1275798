/* posix_spawn_wait: posix_spawn(3) of this program with the argument --child
 * (which returns at once), then waitpid(2); ns per iteration. glibc spawns with
 * clone(CLONE_VM | CLONE_VFORK) and execve, so this is the cost of starting a
 * static program from scratch and reaping it. argv[1]: iterations. */
#include "bench.h"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void spawn_wait(char *self)
{
	char *child_argv[] = {self, "--child", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, self, NULL, NULL, child_argv, environ);
	if (err != 0)
		bench_unsupported("posix_spawn_wait", "posix_spawn", err);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		bench_unsupported("posix_spawn_wait", "waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("posix_spawn_wait: child status %#x, expected exit 0\n", status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return 0;
	long n = bench_arg(argc, argv, 1, 300);
	bench_boot_mark();
	fflush(stdout);
	for (long i = 0; i < n / 10; i++)
		spawn_wait(argv[0]);
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		spawn_wait(argv[0]);
	double t1 = bench_now_ns();
	bench_result("posix_spawn_wait", (t1 - t0) / n, "ns");
	return 0;
}
