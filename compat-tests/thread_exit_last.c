// The main thread may leave first: after main calls pthread_exit (the kernel's exit, not
// exit_group) the process keeps running; a second thread still runs, sees the same pid, and
// can create and join a thread of its own. When the last thread returns, libc ends the
// process with status 0. (No watchdog: its thread would keep the process alive.)
#include "tst_thread.h"

static pid_t main_pid;
static volatile int main_gone;

static void *grandchild(void *arg)
{
	return arg;
}

static void *survivor(void *arg)
{
	pthread_t t;
	void *ret = NULL;

	(void)arg;
	/* Give main time to get through pthread_exit. */
	while (!main_gone)
		tst_sleep_ms(1);
	tst_sleep_ms(30);
	tst_check(getpid() == main_pid, "after main's pthread_exit a thread still runs, same pid");
	tst_check(tst_gettid() != main_pid, "and its tid is not the pid");
	tst_check(pthread_create(&t, NULL, grandchild, (void *)9L) == 0 &&
			  pthread_join(t, &ret) == 0 && ret == (void *)9L,
		  "it creates and joins a thread");
	tpass("the last thread returns now; the exit status must be 0");
	return NULL;
}

int main(void)
{
	pthread_t t;

	main_pid = getpid();
	if (pthread_create(&t, NULL, survivor, NULL) != 0) {
		tfail("pthread_create");
		return tst_exit();
	}
	tpass("main calls pthread_exit");
	main_gone = 1;
	pthread_exit(NULL);
}
