/* fork_exit_wait: fork(2), the child _exit(0)s at once, the parent waitpid(2)s
 * for it; ns per iteration. The whole cost of a short-lived child of a small
 * static program: copying the address space copy-on-write, creating and
 * scheduling the child, its exit, reaping the zombie. argv[1]: iterations. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static void fork_exit_wait(void)
{
	pid_t pid = fork();
	if (pid < 0)
		bench_unsupported("fork_exit_wait", "fork", errno);
	if (pid == 0)
		_exit(0);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		bench_unsupported("fork_exit_wait", "waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("fork_exit_wait: child status %#x, expected exit 0\n", status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 1000);
	bench_boot_mark();
	/* Nothing buffered may be copied into the children (they _exit, but keep
	 * the parent's output in order on every kernel). */
	fflush(stdout);
	for (long i = 0; i < n / 10; i++)
		fork_exit_wait();
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		fork_exit_wait();
	double t1 = bench_now_ns();
	bench_result("fork_exit_wait", (t1 - t0) / n, "ns");
	return 0;
}
