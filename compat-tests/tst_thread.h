/*
 * tst_thread.h - helpers for the compat tests with threads and signals, on
 * top of tst.h:
 *
 *   tst_now_ns()        CLOCK_MONOTONIC in nanoseconds (for bounds, never printed)
 *   tst_sleep_ms(ms)    sleep at least ms milliseconds, resuming after EINTR
 *   tst_watchdog(s, w)  a thread that, if the test is still running after s
 *                       seconds, prints "TFAIL: <w>: ..." and _exit(1)s, so a
 *                       kernel that never wakes a waiter fails instead of hanging
 *   tst_errname2(e)     tst_errname() plus the errnos pthread calls return
 *   tst_pth_err(w, r, e) a pthread_* result (an error number) must be e
 *   tst_gettid()        the raw gettid (glibc < 2.30 and musl < 1.2.2 lack gettid())
 *
 * The watchdog blocks every signal, so signals sent to the process are never
 * delivered to it, and it does nothing but sleep until it fires.
 */
#ifndef OXV_TST_THREAD_H
#define OXV_TST_THREAD_H

#include "tst.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t tst_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void tst_sleep_ms(long ms)
{
	struct timespec req = { ms / 1000, (ms % 1000) * 1000000L }, rem;

	while (nanosleep(&req, &rem) != 0 && errno == EINTR)
		req = rem;
}

static inline long tst_gettid(void)
{
	return sys3(SYS_gettid, 0, 0, 0);
}

static inline const char *tst_errname2(long e)
{
	switch (e) {
	case EBUSY: return "EBUSY";
	case EDEADLK: return "EDEADLK";
	case EOWNERDEAD: return "EOWNERDEAD";
	case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
	case ENOTSUP: return "ENOTSUP";
	default: return tst_errname(e);
	}
}

/* Check that a pthread_* call (which returns an error number) returned err. */
static inline void tst_pth_err(const char *what, int ret, int err)
{
	if (ret == err)
		tpass("%s -> %s", what, tst_errname2(err));
	else
		tfail("%s: got %s, want %s", what, tst_errname2(ret), tst_errname2(err));
}

static unsigned tst_watchdog_secs;
static const char *tst_watchdog_what;

static void *tst_watchdog_main(void *arg)
{
	char line[256];
	int n;

	(void)arg;
	tst_sleep_ms(tst_watchdog_secs * 1000L);
	n = snprintf(line, sizeof(line), "TFAIL: %s: still running after %u s (watchdog)\n",
		     tst_watchdog_what, tst_watchdog_secs);
	if (n > 0)
		(void)!write(1, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	_exit(1);
}

/* Starts the watchdog; call it from main before anything that could hang. */
static inline void tst_watchdog(unsigned secs, const char *what)
{
	sigset_t all, old;
	pthread_t t;
	int r;

	tst_watchdog_secs = secs;
	tst_watchdog_what = what;
	/* Created with every signal blocked, so it inherits that mask from birth. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, NULL, tst_watchdog_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		tfail("watchdog: pthread_create: %s", tst_errname2(r));
	else
		pthread_detach(t);
}

#endif /* OXV_TST_THREAD_H */
