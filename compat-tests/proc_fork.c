// fork(2) and wait: the child sees copies of the parent's memory (heap, stack, globals) and its
// writes stay private (copy-on-write both ways); getppid in the child is the parent; exit codes
// and fatal signals come back through waitpid as WIFEXITED/WEXITSTATUS and
// WIFSIGNALED/WTERMSIG; WNOHANG returns 0 while the child runs; a reaped child is gone
// (ECHILD); wait4 fills a struct rusage; waitid reports CLD_EXITED/CLD_KILLED with si_pid
// and si_status, and WNOWAIT leaves the child waitable.
#include "tst.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int global = 1;
static pid_t parent;

static pid_t child(int (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn());
	return pid;
}

static int *heap;

static int cow_child(void)
{
	int stack = 5;
	int ok = global == 1 && heap[0] == 10 && heap[999] == 999 && getppid() == parent;

	global = 2;
	heap[0] = 20;
	stack = 6;
	return ok && global == 2 && heap[0] == 20 && stack == 6 ? 0 : 1;
}

static int exit_42(void)
{
	return 42;
}

static int segv(void)
{
	*(volatile int *)8 = 1;
	return 0;
}

static int sleeper(void)
{
	pause();
	return 0;
}

int main(void)
{
	int st, r;
	pid_t pid, w;
	struct rusage ru;
	siginfo_t si;

	parent = getpid();
	heap = malloc(1000 * sizeof(int));
	for (int i = 0; i < 1000; i++)
		heap[i] = i;
	heap[0] = 10;

	pid = child(cow_child);
	tst_check(pid > 0, "fork returns the child's pid to the parent");
	w = waitpid(pid, &st, 0);
	tst_check(w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the child saw the parent's memory and changed its own copy");
	tst_check(global == 1 && heap[0] == 10, "the parent's memory is unchanged");

	pid = child(exit_42);
	w = waitpid(pid, &st, 0);
	tst_check(w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42, "exit status 42 arrives");
	r = waitpid(pid, &st, 0);
	tst_libc_err("waitpid of a reaped child", r, errno, ECHILD);

	pid = child(segv);
	w = waitpid(pid, &st, 0);
	tst_check(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WIFEXITED(st),
		  "a child killed by SIGSEGV is WIFSIGNALED with WTERMSIG SIGSEGV");

	pid = child(sleeper);
	r = waitpid(pid, &st, WNOHANG);
	tst_check(r == 0, "WNOHANG while the child runs returns 0");
	kill(pid, SIGKILL);
	w = wait4(pid, &st, 0, &ru);
	tst_check(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "SIGKILL kills a child in pause()");

	pid = child(exit_42);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	tst_check(r == 0 && si.si_pid == pid && si.si_signo == SIGCHLD && si.si_code == CLD_EXITED &&
			  si.si_status == 42,
		  "waitid(WNOWAIT) reports CLD_EXITED, si_pid and si_status 42");
	memset(&si, 0, sizeof(si));
	r = waitid(P_ALL, 0, &si, WEXITED);
	tst_check(r == 0 && si.si_pid == pid && si.si_status == 42,
		  "the child is still waitable after WNOWAIT; waitid(P_ALL) reaps it");

	pid = child(sleeper);
	kill(pid, SIGTERM);
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, pid, &si, WEXITED);
	tst_check(r == 0 && si.si_code == CLD_KILLED && si.si_status == SIGTERM,
		  "waitid reports CLD_KILLED with the signal in si_status");

	r = wait(&st);
	tst_libc_err("wait with no children", r, errno, ECHILD);
	r = waitpid(-1, &st, WNOHANG);
	tst_libc_err("waitpid(WNOHANG) with no children", r, errno, ECHILD);
	r = waitpid(-1, &st, 0x10000000);
	tst_libc_err("waitpid with an unknown option", r, errno, EINVAL);
	r = waitid(P_ALL, 0, &si, WNOHANG);
	tst_libc_err("waitid without WEXITED/WSTOPPED/WCONTINUED", r, errno, EINVAL);
	return tst_exit();
}
