// poll(2) and ppoll(2) on pipes: POLLOUT on an empty pipe's write end, POLLIN once data is
// there; POLLHUP on the read end once the writer is gone (with POLLIN while data is left);
// POLLERR on the write end once the reader is gone; a blocked poll wakes when another thread
// writes; ppoll with a mask that unblocks SIGUSR1 is interrupted by it (EINTR) and puts the
// old mask back; ppoll writes back the time left, and a bad sigsetsize is EINVAL.
#include "tst_thread.h"
#include "tst_fd.h"

#include <poll.h>
#include <stdatomic.h>

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

static short revents(int fd, short events)
{
	struct pollfd pf = { .fd = fd, .events = events };

	poll(&pf, 1, 0);
	return pf.revents;
}

int main(void)
{
	struct pollfd pf[2];
	struct timespec ts;
	struct sigaction sa;
	sigset_t block, none, now;
	pthread_t t;
	int64_t t0;
	char buf[4];
	int n, e;

	tst_watchdog(10, "poll_pipe");
	(void)e;
	main_thread = pthread_self();
	pipe(p);
	tst_check(revents(p[1], POLLIN | POLLOUT) == POLLOUT, "empty: the write end is POLLOUT");
	tst_check(revents(p[0], POLLIN | POLLOUT) == 0, "empty: the read end is nothing");
	write(p[1], "ab", 2);
	tst_check(revents(p[0], POLLIN | POLLRDNORM) == (POLLIN | POLLRDNORM),
		  "data: POLLIN | POLLRDNORM");
	close(p[1]);
	tst_check(revents(p[0], POLLIN) == (POLLIN | POLLHUP), "writer gone, data left: POLLIN | POLLHUP");
	read(p[0], buf, 2);
	tst_check(revents(p[0], POLLIN) == POLLHUP, "writer gone, drained: POLLHUP");
	tst_check(revents(p[0], 0) == POLLHUP, "POLLHUP comes unasked");
	close(p[0]);
	pipe(p);
	close(p[0]);
	tst_check(revents(p[1], POLLOUT) == (POLLOUT | POLLERR), "reader gone: POLLOUT | POLLERR");
	close(p[1]);

	pipe(p);
	pf[0].fd = p[0];
	pf[0].events = POLLIN;
	pf[1].fd = p[0];
	pf[1].events = POLLPRI;
	t0 = tst_now_ns();
	pthread_create(&t, NULL, later_write, NULL);
	n = poll(pf, 2, 5000);
	tst_check(n == 1 && pf[0].revents == POLLIN && pf[1].revents == 0 &&
			  tst_now_ns() - t0 >= 20000000,
		  "a blocked poll wakes with another thread's write");
	pthread_join(t, NULL);
	read(p[0], buf, 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);
	pthread_create(&t, NULL, later_signal, NULL);
	ts.tv_sec = 5;
	ts.tv_nsec = 0;
	/* Raw: the libc wrappers pass a copy of the timeout. */
	n = (int)sys6(SYS_ppoll, (long)pf, 1, (long)&ts, (long)&none, 8, 0);
	tst_check(n == -EINTR && atomic_load(&handled) == 1,
		  "ppoll: the mask lets SIGUSR1 in; EINTR after the handler");
	tst_check(ts.tv_sec < 5 && ts.tv_sec >= 4, "ppoll wrote back the time left");
	pthread_join(t, NULL);
	sigprocmask(SIG_BLOCK, NULL, &now);
	tst_check(sigismember(&now, SIGUSR1), "the old mask is back");

	raise(SIGUSR1);
	n = ppoll(pf, 1, NULL, &none);
	e = errno;
	tst_check(n == -1 && e == EINTR && atomic_load(&handled) == 2,
		  "ppoll with a pending signal the mask unblocks: EINTR at once");
	ts.tv_sec = 0;
	ts.tv_nsec = 10000000;
	TST_RAW("ppoll with sigsetsize 4", sys6(SYS_ppoll, (long)pf, 1, (long)&ts, (long)&none, 4, 0),
		EINVAL);
	return tst_exit();
}
