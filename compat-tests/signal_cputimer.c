// CPU-time interval timers: ITIMER_VIRTUAL (user CPU time) and ITIMER_PROF (user + system CPU
// time), each set to 200 ms one-shot, deliver SIGVTALRM and SIGPROF to a process that spins
// on the CPU; sleeping does not use them up (getitimer still shows time left after a 50 ms
// sleep). Each spin gives up after 3 s of wall time, so a kernel without CPU-time timers
// fails instead of hanging. The budget is 200 ms so that a busy host, which stalls the
// VM while its clock runs on, cannot use it up during the sleep.
#include "tst_thread.h"

#include <stdatomic.h>
#include <sys/time.h>

static atomic_int got_vtalrm, got_prof;

static void on_sig(int sig)
{
	if (sig == SIGVTALRM)
		atomic_fetch_add(&got_vtalrm, 1);
	else
		atomic_fetch_add(&got_prof, 1);
}

/* Spins until *flag is set or 3 s of wall time passed; returns whether it was set. */
static int spin_until(atomic_int *flag)
{
	int64_t t0 = tst_now_ns();
	unsigned long n = 0;

	while (!atomic_load(flag)) {
		if ((++n & 0xfff) == 0 && tst_now_ns() - t0 > 3000000000LL)
			return 0;
	}
	return 1;
}

static void check(int which, const char *name, atomic_int *flag, const char *sig)
{
	struct itimerval it = { { 0, 0 }, { 0, 200000 } }, cur;

	if (setitimer(which, &it, NULL) != 0) {
		tfail("setitimer(%s, 200 ms): %s", name, tst_errname(errno));
		return;
	}
	tpass("setitimer(%s, 200 ms)", name);
	tst_sleep_ms(50);
	tst_checkf(getitimer(which, &cur) == 0 && cur.it_value.tv_sec == 0 &&
			   cur.it_value.tv_usec > 0 && atomic_load(flag) == 0,
		   "%s: a 50 ms sleep does not use it up", name);
	tst_checkf(spin_until(flag), "%s: spinning on the CPU gets %s", name, sig);
	tst_checkf(atomic_load(flag) == 1, "%s: exactly one %s for a one-shot", name, sig);
	memset(&it, 0, sizeof(it));
	setitimer(which, &it, NULL);
}

int main(void)
{
	tst_watchdog(20, "signal_cputimer");
	signal(SIGVTALRM, on_sig);
	signal(SIGPROF, on_sig);
	check(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", &got_vtalrm, "SIGVTALRM");
	check(ITIMER_PROF, "ITIMER_PROF", &got_prof, "SIGPROF");
	return tst_exit();
}
