// EPOLLEXCLUSIVE: two epoll instances watch one eventfd exclusively, a thread blocked in
// epoll_wait on each; one write wakes exactly one of them (the other times out), where
// without EPOLLEXCLUSIVE both would wake.
#include "tst_thread.h"
#include "tst_fd.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

static int efd;

static void *waiter(void *arg)
{
	struct epoll_event out;
	int ep = (int)(long)arg;

	return (void *)(long)epoll_wait(ep, &out, 1, 300);
}

static int woken(unsigned extra)
{
	struct epoll_event ev = { .events = EPOLLIN | extra };
	pthread_t t1, t2;
	void *r1, *r2;
	uint64_t one = 1;
	int e1, e2;

	efd = eventfd(0, EFD_NONBLOCK);
	e1 = epoll_create1(0);
	e2 = epoll_create1(0);
	epoll_ctl(e1, EPOLL_CTL_ADD, efd, &ev);
	epoll_ctl(e2, EPOLL_CTL_ADD, efd, &ev);
	pthread_create(&t1, NULL, waiter, (void *)(long)e1);
	pthread_create(&t2, NULL, waiter, (void *)(long)e2);
	tst_sleep_ms(50);
	write(efd, &one, 8);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	close(e1);
	close(e2);
	close(efd);
	return (int)(long)r1 + (int)(long)r2;
}

int main(void)
{
	int n;

	tst_watchdog(10, "epoll_exclusive");
	n = woken(0);
	tst_checkf(n == 2, "without EPOLLEXCLUSIVE both waiters wake (%d)", n);
	n = woken(EPOLLEXCLUSIVE);
	tst_checkf(n == 1, "with EPOLLEXCLUSIVE exactly one wakes (%d)", n);
	return tst_exit();
}
