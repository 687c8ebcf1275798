// Waiting in epoll_wait with threads: a thread blocked in epoll_wait wakes when another
// thread writes to a watched pipe; epoll_pwait with a mask that unblocks SIGUSR1 is
// interrupted by it (EINTR, even with SA_RESTART: epoll_wait is never restarted) and the
// mask is back afterwards; epoll_pwait2 takes a timespec timeout (a bad one is EINVAL) and
// a NULL timeout waits for an event; a bad sigsetsize is EINVAL.
#include "tst_thread.h"
#include "tst_fd.h"

#include <stdatomic.h>
#include <sys/epoll.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static int p[2];
static atomic_int handled;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void *later_write(void *arg)
{
	(void)arg;
	tst_sleep_ms(30);
	write(p[1], "x", 1);
	return NULL;
}

static void *later_signal(void *arg)
{
	(void)arg;
	tst_sleep_ms(30);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 5 }, out[4];
	struct timespec ts;
	struct sigaction sa;
	sigset_t block, none, now;
	pthread_t t;
	int64_t t0;
	char c;
	int ep, n, e;

	tst_watchdog(10, "epoll_block");
	main_thread = pthread_self();
	ep = epoll_create1(0);
	pipe(p);
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);

	t0 = tst_now_ns();
	pthread_create(&t, NULL, later_write, NULL);
	n = epoll_wait(ep, out, 4, -1);
	tst_check(n == 1 && out[0].data.u64 == 5 && tst_now_ns() - t0 >= 20000000,
		  "a blocked epoll_wait wakes with another thread's write");
	pthread_join(t, NULL);
	read(p[0], &c, 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);
	pthread_create(&t, NULL, later_signal, NULL);
	n = epoll_pwait(ep, out, 4, 5000, &none);
	e = errno;
	tst_check(n == -1 && e == EINTR && atomic_load(&handled) == 1,
		  "epoll_pwait: the mask lets SIGUSR1 in; EINTR after the handler");
	pthread_join(t, NULL);
	sigprocmask(SIG_BLOCK, NULL, &now);
	tst_check(sigismember(&now, SIGUSR1), "the old mask is back");

	ts.tv_sec = 0;
	ts.tv_nsec = 20000000;
	t0 = tst_now_ns();
	n = (int)sys6(SYS_epoll_pwait2, ep, (long)out, 4, (long)&ts, 0, 0);
	tst_check(n == 0 && tst_now_ns() - t0 >= 20000000, "epoll_pwait2: a 20 ms timeout");
	ts.tv_nsec = 1000000000;
	TST_RAW("epoll_pwait2 with tv_nsec 1e9",
		sys6(SYS_epoll_pwait2, ep, (long)out, 4, (long)&ts, 0, 0), EINVAL);
	pthread_create(&t, NULL, later_write, NULL);
	n = (int)sys6(SYS_epoll_pwait2, ep, (long)out, 4, 0, 0, 0);
	tst_check(n == 1, "epoll_pwait2 with a NULL timeout waits for the event");
	pthread_join(t, NULL);
	TST_RAW("epoll_pwait with sigsetsize 4",
		sys6(SYS_epoll_pwait, ep, (long)out, 4, 0, (long)&none, 4), EINVAL);
	return tst_exit();
}
