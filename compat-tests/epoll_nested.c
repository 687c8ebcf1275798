// Nested epoll: an epoll fd watched by another reports EPOLLIN when an item inside it is
// ready, and stops when that is drained; adding the outer one to the inner one is ELOOP, as
// is a chain of epolls more than 5 deep (EP_MAX_NESTS = 4 levels of nesting).
#include "tst_fd.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	int outer, inner, e, chain[7], n, i, r = 0;
	uint64_t one = 1;

	outer = epoll_create1(0);
	inner = epoll_create1(0);
	e = eventfd(0, EFD_NONBLOCK);
	ev.data.u64 = 10;
	epoll_ctl(inner, EPOLL_CTL_ADD, e, &ev);
	ev.data.u64 = 20;
	tst_check(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) == 0, "an epoll inside another");
	tst_check(epoll_wait(outer, out, 4, 0) == 0, "nothing ready inside: nothing outside");
	write(e, &one, 8);
	n = epoll_wait(outer, out, 4, 0);
	tst_check(n == 1 && out[0].data.u64 == 20 && out[0].events == EPOLLIN,
		  "ready inside: the inner epoll is readable");
	n = epoll_wait(inner, out, 4, 0);
	tst_check(n == 1 && out[0].data.u64 == 10, "the inner epoll has the event");
	read(e, &one, 8);
	tst_check(epoll_wait(outer, out, 4, 0) == 0, "drained: the inner epoll is not readable");
	ev.data.u64 = 30;
	TST_ERR("a cycle", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev), ELOOP);

	for (i = 0; i < 7; i++)
		chain[i] = epoll_create1(0);
	for (i = 0; i < 6; i++) {
		r = epoll_ctl(chain[i], EPOLL_CTL_ADD, chain[i + 1], &ev);
		if (r != 0)
			break;
	}
	tst_checkf(r == -1 && errno == ELOOP && i == 4,
		   "a chain of epolls: the 5th link is ELOOP (i = %d)", i);
	return tst_exit();
}
