// epoll triggering modes: EPOLLET reports once per change (a new write is a new edge; what
// was not read does not report again); EPOLLONESHOT reports once and then nothing until
// EPOLL_CTL_MOD re-arms it (and MOD also updates data); EPOLLRDHUP is not set by pipes, but
// EPOLLHUP is, once the writer is gone, also with EPOLLET.
#include "tst_fd.h"

#include <sys/epoll.h>

int main(void)
{
	struct epoll_event ev, out[4];
	char buf[16];
	int ep, p[2], n;

	ep = epoll_create1(0);
	pipe(p);
	ev.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
	ev.data.u64 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ET: nothing yet");
	write(p[1], "ab", 2);
	n = epoll_wait(ep, out, 4, 0);
	tst_check(n == 1 && out[0].events == EPOLLIN, "ET: one report after a write");
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ET: no second report for the same data");
	read(p[0], buf, 1);
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ET: a partial read is not an edge");
	write(p[1], "c", 1);
	tst_check(epoll_wait(ep, out, 4, 0) == 1, "ET: another write is");
	close(p[1]);
	n = epoll_wait(ep, out, 4, 0);
	tst_check(n == 1 && out[0].events == (EPOLLIN | EPOLLHUP),
		  "ET: writer gone: EPOLLIN | EPOLLHUP, no EPOLLRDHUP for a pipe");
	close(p[0]);

	pipe(p);
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	write(p[1], "x", 1);
	n = epoll_wait(ep, out, 4, 0);
	tst_check(n == 1 && out[0].data.u64 == 2, "ONESHOT: reported once");
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ONESHOT: then disabled");
	write(p[1], "y", 1);
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ONESHOT: disabled for new data too");
	ev.data.u64 = 3;
	tst_check(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "ONESHOT: MOD re-arms");
	n = epoll_wait(ep, out, 4, 0);
	tst_check(n == 1 && out[0].data.u64 == 3, "ONESHOT: reported again, with the new data");
	close(p[1]);
	tst_check(epoll_wait(ep, out, 4, 0) == 0, "ONESHOT: not even EPOLLHUP while disabled");
	close(p[0]);
	close(ep);
	return tst_exit();
}
