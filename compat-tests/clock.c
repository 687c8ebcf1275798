// clock_gettime(2): every clock Linux always has answers with a normalized
// timespec; CLOCK_MONOTONIC never goes backwards and does advance; BOOTTIME is
// never behind MONOTONIC; REALTIME is after 2020-01-01; an unknown clock id is
// EINVAL and a bad timespec pointer EFAULT. Both the libc call (vDSO on the
// host when there is one) and the raw syscall are checked.
#include "tst.h"

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000L
#define Y2020 1577836800L /* 2020-01-01T00:00:00Z */

static int64_t ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static int normalized(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NSEC_PER_SEC;
}

static void check_clock(clockid_t id, const char *name)
{
	struct timespec ts = { -1, -1 };
	long r;

	if (clock_gettime(id, &ts) == 0 && normalized(&ts))
		tpass("clock_gettime(%s) gives a normalized timespec", name);
	else
		tfail("clock_gettime(%s): %s", name, tst_errname(errno));

	ts.tv_sec = ts.tv_nsec = -1;
	r = sys3(SYS_clock_gettime, id, &ts, 0);
	if (r == 0 && normalized(&ts))
		tpass("raw clock_gettime(%s) gives a normalized timespec", name);
	else
		tfail("raw clock_gettime(%s): %s", name, tst_errname(-r));
}

static void check_monotonic(void)
{
	struct timespec prev, cur, raw;
	int i, backwards = 0, advanced = 0;

	clock_gettime(CLOCK_MONOTONIC, &prev);
	for (i = 0; i < 20000; i++) {
		if (i % 2)
			clock_gettime(CLOCK_MONOTONIC, &cur);
		else
			sys3(SYS_clock_gettime, CLOCK_MONOTONIC, &cur, 0);
		if (ns(&cur) < ns(&prev))
			backwards++;
		if (ns(&cur) > ns(&prev))
			advanced = 1;
		prev = cur;
	}
	tst_check(!backwards, "CLOCK_MONOTONIC never decreases over 20000 reads (libc and raw)");
	tst_check(advanced, "CLOCK_MONOTONIC advances over 20000 reads");

	sys3(SYS_clock_gettime, CLOCK_MONOTONIC, &cur, 0);
	sys3(SYS_clock_gettime, CLOCK_BOOTTIME, &raw, 0);
	tst_check(ns(&raw) >= ns(&cur), "CLOCK_BOOTTIME >= CLOCK_MONOTONIC");
}

static void check_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tst_check(ts.tv_sec > Y2020, "CLOCK_REALTIME is after 2020-01-01");
	tst_check(time(NULL) > Y2020, "time() is after 2020-01-01");
}

static void check_errors(void)
{
	struct timespec ts;
	void *kernel = (void *)0xffff800000000000UL;
	long r;

	tst_raw_err("clock_gettime(1000)", sys3(SYS_clock_gettime, 1000, &ts, 0), EINVAL);
	tst_raw_err("clock_gettime(16) (MAX_CLOCKS)", sys3(SYS_clock_gettime, 16, &ts, 0), EINVAL);
	r = clock_gettime(1000, &ts);
	tst_libc_err("libc clock_gettime(1000)", r, errno, EINVAL);
	tst_raw_err("clock_gettime(MONOTONIC, NULL)",
		    sys3(SYS_clock_gettime, CLOCK_MONOTONIC, NULL, 0), EFAULT);
	tst_raw_err("clock_gettime(MONOTONIC, (void *)1)",
		    sys3(SYS_clock_gettime, CLOCK_MONOTONIC, 1, 0), EFAULT);
	tst_raw_err("clock_gettime(REALTIME, kernel address)",
		    sys3(SYS_clock_gettime, CLOCK_REALTIME, kernel, 0), EFAULT);
}

int main(void)
{
	check_clock(CLOCK_REALTIME, "REALTIME");
	check_clock(CLOCK_MONOTONIC, "MONOTONIC");
	check_clock(CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW");
	check_clock(CLOCK_REALTIME_COARSE, "REALTIME_COARSE");
	check_clock(CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE");
	check_clock(CLOCK_BOOTTIME, "BOOTTIME");
	check_monotonic();
	check_realtime();
	check_errors();
	return tst_exit();
}
