// oxv-exit: 142
//
// SIGALRM with the default disposition terminates the process: a 20 ms one-shot
// setitimer(ITIMER_REAL) ends a sigsuspend() with death by signal 14, status 128 + 14 = 142.
// SIGALRM is blocked until the line is printed (so a slow guest cannot die before printing
// it), and the line printed and flushed before the wait must still come out.
#include "tst.h"

#include <signal.h>
#include <sys/time.h>

int main(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	sigset_t alrm, none;

	signal(SIGALRM, SIG_DFL);
	sigemptyset(&none);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		tfail("setitimer(ITIMER_REAL, 20 ms): %s", tst_errname(errno));
		return tst_exit(); /* sigsuspend() would never return */
	}
	tpass("setitimer(ITIMER_REAL, 20 ms)");
	sigsuspend(&none);
	tfail("sigsuspend() returned instead of SIGALRM killing the process");
	return tst_exit();
}
