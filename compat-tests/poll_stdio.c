// oxv-stdin: x\n
//
// poll(2) on the standard fds: stdout and stderr are writable at once, stdin
// with data pending is readable; an fd that is not open reports POLLNVAL (and
// counts as ready), a negative fd is ignored, events 0 reports nothing, nfds 0
// just sleeps for the timeout, and bad arguments give EINVAL/EFAULT.
#include "tst.h"

#include <poll.h>
#include <stdint.h>
#include <time.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_out(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r = poll(&p, 1, 0);

	if (r == 1 && p.revents == POLLOUT)
		tpass("poll fd %d POLLOUT: ready at once, revents == POLLOUT", fd);
	else
		tfail("poll fd %d POLLOUT: returned %d, revents 0x%x", fd, r, (unsigned)p.revents);
}

int main(void)
{
	struct pollfd p[3];
	char buf[8];
	int64_t t0;
	int r;

	check_out(1);
	check_out(2);

	p[0].fd = 0;
	p[0].events = POLLIN;
	p[0].revents = 0;
	r = poll(p, 1, 2000);
	tst_check(r == 1 && (p[0].revents & POLLIN) && !(p[0].revents & (POLLERR | POLLNVAL)),
		  "poll fd 0 POLLIN with input pending: readable");
	tst_check(read(0, buf, sizeof(buf)) == 2 && memcmp(buf, "x\n", 2) == 0,
		  "the pending input reads back");

	p[0].fd = 1;
	p[0].events = 0;
	p[0].revents = -1;
	r = poll(p, 1, 0);
	tst_check(r == 0 && p[0].revents == 0, "poll fd 1 with events 0: nothing to report");

	p[0].fd = 100;
	p[0].events = POLLIN;
	p[0].revents = 0;
	r = poll(p, 1, 0);
	if (r == 1 && p[0].revents == POLLNVAL)
		tpass("poll on a closed fd: returns 1, revents == POLLNVAL");
	else
		tfail("poll on a closed fd: returned %d, revents 0x%x", r, (unsigned)p[0].revents);

	p[0].fd = -1;
	p[0].events = POLLIN;
	p[0].revents = -1;
	r = poll(p, 1, 0);
	tst_check(r == 0 && p[0].revents == 0, "poll ignores a negative fd and clears revents");

	p[0].fd = 1;
	p[0].events = POLLOUT;
	p[1].fd = 100;
	p[1].events = POLLOUT;
	p[2].fd = -5;
	p[2].events = POLLIN;
	p[0].revents = p[1].revents = p[2].revents = -1;
	r = poll(p, 3, 0);
	if (r == 2 && p[0].revents == POLLOUT && p[1].revents == POLLNVAL && p[2].revents == 0)
		tpass("poll of {stdout, closed fd, -5}: 2 ready, POLLOUT / POLLNVAL / 0");
	else
		tfail("poll of {stdout, closed fd, -5}: returned %d, revents 0x%x 0x%x 0x%x", r,
		      (unsigned)p[0].revents, (unsigned)p[1].revents, (unsigned)p[2].revents);

	tst_check(poll(NULL, 0, 0) == 0, "poll(NULL, 0, 0) returns 0");
	t0 = now_ms();
	r = poll(NULL, 0, 20);
	tst_check(r == 0 && now_ms() - t0 >= 20, "poll(NULL, 0, 20) sleeps at least 20 ms");

	tst_raw_err("poll with nfds 0x7fffffff", sys3(SYS_poll, p, 0x7fffffff, 0), EINVAL);
	tst_raw_err("poll with fds = (void *)1", sys3(SYS_poll, 1, 1, 0), EFAULT);
	return tst_exit();
}
