// epoll_wait(2) on pipes and eventfds, level-triggered: an item is reported (with its data)
// while its file is ready and every time; maxevents limits a call and the rest come next;
// a zero timeout returns 0 at once and a 20 ms one after at least 20 ms; closing the last fd
// of a file removes its item, while a dup keeps it; EPOLLHUP and EPOLLERR come unasked;
// epoll_wait errors: maxevents 0 or huge (EINVAL), a kernel-half buffer (EFAULT), a bad
// epfd (EBADF), not an epoll (EINVAL); an epoll fd is readable (poll) while it has events.
#include "tst_thread.h"
#include "tst_fd.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static int add(int ep, int fd, unsigned events, unsigned long data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(void)
{
	struct epoll_event out[8];
	struct pollfd pf;
	int ep, p[2], e1, e2, e3, d, n;
	uint64_t one = 1, v;
	int64_t t0;

	ep = epoll_create1(0);
	pipe(p);
	e1 = eventfd(0, EFD_NONBLOCK);
	e2 = eventfd(0, EFD_NONBLOCK);
	e3 = eventfd(0, EFD_NONBLOCK);

	tst_check(epoll_wait(ep, out, 8, 0) == 0, "an empty epoll: 0 at once");
	t0 = tst_now_ns();
	tst_check(epoll_wait(ep, out, 8, 20) == 0 && tst_now_ns() - t0 >= 20000000,
		  "a 20 ms timeout waits 20 ms");

	add(ep, p[0], EPOLLIN, 100);
	add(ep, p[1], EPOLLOUT, 101);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 1 && out[0].events == EPOLLOUT && out[0].data.u64 == 101,
		  "an empty pipe: only the write end, with its data");
	write(p[1], "abc", 3);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 2, "after a write both ends are ready");
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 2, "level-triggered: reported again");
	epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
	read(p[0], &v, 3);
	tst_check(epoll_wait(ep, out, 8, 0) == 0, "drained: nothing");

	pf.fd = ep;
	pf.events = POLLIN;
	tst_check(poll(&pf, 1, 0) == 0, "poll on the epoll fd: not readable");
	add(ep, e1, EPOLLIN, 1);
	add(ep, e2, EPOLLIN, 2);
	add(ep, e3, EPOLLIN, 3);
	write(e1, &one, 8);
	write(e2, &one, 8);
	write(e3, &one, 8);
	tst_check(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "poll on the epoll fd: POLLIN");
	n = epoll_wait(ep, out, 2, 0);
	tst_check(n == 2, "maxevents 2 of 3 ready");
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 3, "then all three");

	d = dup(e1);
	close(e1);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 3, "a dup keeps the item of a closed fd");
	close(d);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 2, "closing the last copy removes it");

	epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL);
	epoll_ctl(ep, EPOLL_CTL_DEL, e3, NULL);
	add(ep, p[1], 0, 7);
	tst_check(epoll_wait(ep, out, 8, 0) == 0, "events 0 on a writable pipe: nothing");
	close(p[0]);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 1 && out[0].events == EPOLLERR && out[0].data.u64 == 7,
		  "read end closed: EPOLLERR comes unasked");
	epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
	pipe(p);
	add(ep, p[0], 0, 8);
	close(p[1]);
	n = epoll_wait(ep, out, 8, 0);
	tst_check(n == 1 && out[0].events == EPOLLHUP, "write end closed: EPOLLHUP comes unasked");

	TST_ERR("maxevents 0", epoll_wait(ep, out, 0, 0), EINVAL);
	TST_RAW("maxevents -1", sys4(SYS_epoll_wait, ep, out, -1, 0), EINVAL);
	TST_RAW("maxevents INT_MAX", sys4(SYS_epoll_wait, ep, out, 0x7fffffff, 0), EINVAL);
	TST_RAW("a kernel-half buffer", sys4(SYS_epoll_wait, ep, 0xffff800000000000UL, 8, 0),
		EFAULT);
	TST_ERR("a bad epfd", epoll_wait(999, out, 8, 0), EBADF);
	TST_ERR("not an epoll", epoll_wait(e2, out, 8, 0), EINVAL);
	close(ep);
	return tst_exit();
}
