// select(2) and pselect6(2) on pipes: readable and writable sets come back with the ready
// fds only and the count of set bits; a zero timeout returns 0 at once and clears the sets;
// a timeout that runs out returns 0 and is written back as 0; a blocked select wakes when
// another thread writes, with the time left written back; a writer gone makes the read end
// readable (EOF); a set bit for a closed fd is EBADF; negative nfds and a negative timeout
// are EINVAL, tv_usec past a second is carried; pselect6's mask lets a signal in (EINTR).
#include "tst_thread.h"
#include "tst_fd.h"

#include <stdatomic.h>
#include <sys/select.h>

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
	fd_set r, w;
	struct timeval tv;
	struct timespec ts;
	struct sigaction sa;
	sigset_t block, none;
	pthread_t t;
	int64_t t0;
	int n, e, nfds;
	char c;

	tst_watchdog(10, "select_basic");
	main_thread = pthread_self();
	pipe(p);
	nfds = p[1] + 1;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[1], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	n = select(nfds, &r, &w, NULL, &tv);
	tst_check(n == 1 && !FD_ISSET(p[0], &r) && !FD_ISSET(p[1], &r) && FD_ISSET(p[1], &w),
		  "empty pipe: only the write end is writable");
	write(p[1], "a", 1);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[0], &w);
	FD_SET(p[1], &w);
	n = select(nfds, &r, &w, NULL, NULL);
	tst_check(n == 2 && FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &w),
		  "with data: read end readable, write end writable, count 2");
	read(p[0], &c, 1);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	t0 = tst_now_ns();
	/* Raw: musl's select passes a copy of the timeout. */
	n = (int)sys6(SYS_select, nfds, (long)&r, 0, 0, (long)&tv, 0);
	tst_check(n == 0 && !FD_ISSET(p[0], &r) && tst_now_ns() - t0 >= 20000000,
		  "a 20 ms timeout: 0, the set cleared");
	tst_check(tv.tv_sec == 0 && tv.tv_usec == 0, "the time left written back: 0");

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	pthread_create(&t, NULL, later_write, NULL);
	n = (int)sys6(SYS_select, nfds, (long)&r, 0, 0, (long)&tv, 0);
	tst_check(n == 1 && FD_ISSET(p[0], &r), "a blocked select wakes with another thread's write");
	tst_check(tv.tv_sec == 4 && tv.tv_usec > 0, "the time left written back: about 4.97 s");
	pthread_join(t, NULL);
	read(p[0], &c, 1);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(nfds + 3, &r);
	TST_ERR("a set bit for a closed fd", select(nfds + 4, &r, NULL, NULL, NULL), EBADF);
	TST_RAW("negative nfds", sys6(SYS_select, -1, 0, 0, 0, 0, 0), EINVAL);
	tv.tv_sec = -1;
	tv.tv_usec = 0;
	TST_RAW("a negative timeout", sys6(SYS_select, 0, 0, 0, 0, (long)&tv, 0), EINVAL);
	tv.tv_sec = 0;
	tv.tv_usec = 1000001;
	t0 = tst_now_ns();
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	n = (int)sys6(SYS_select, nfds, 0, (long)&w, 0, (long)&tv, 0);
	tst_check(n == 1, "tv_usec past a second is carried, not EINVAL");

	close(p[1]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	n = select(nfds, &r, NULL, NULL, NULL);
	tst_check(n == 1 && FD_ISSET(p[0], &r) && read(p[0], &c, 1) == 0,
		  "writer gone: the read end is readable, at EOF");
	close(p[0]);

	pipe(p);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ts.tv_sec = 5;
	ts.tv_nsec = 0;
	pthread_create(&t, NULL, later_signal, NULL);
	n = pselect(p[1] + 1, &r, NULL, NULL, &ts, &none);
	e = errno;
	tst_check(n == -1 && e == EINTR && atomic_load(&handled) == 1,
		  "pselect: the mask lets SIGUSR1 in; EINTR after the handler");
	pthread_join(t, NULL);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000;
	TST_ERR("pselect with tv_nsec 1e9", pselect(p[1] + 1, &r, NULL, NULL, &ts, NULL), EINVAL);
	return tst_exit();
}
