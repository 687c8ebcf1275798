// epoll_ctl(2) and epoll_create(2) errors, in Linux's order: epoll_create(0) and
// epoll_create1 with unknown flags are EINVAL; epoll_ctl copies the event first (EFAULT,
// except for EPOLL_CTL_DEL), then EBADF for either fd, EPERM for a regular file, EINVAL when
// epfd is not an epoll fd or is the target, EEXIST for a second ADD, ENOENT for MOD/DEL of
// what is not there, EINVAL for an unknown op and for misused EPOLLEXCLUSIVE. The same file
// under two fds is two items. EPOLL_CLOEXEC sets FD_CLOEXEC.
#include "tst_fd.h"

#include <fcntl.h>
#include <sys/epoll.h>

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, ep2, p[2], file, d;

	/* Raw: musl's epoll_create ignores its size and calls epoll_create1. */
	TST_RAW("epoll_create(0)", sys3(SYS_epoll_create, 0, 0, 0), EINVAL);
	TST_RAW("epoll_create(-1)", sys3(SYS_epoll_create, -1, 0, 0), EINVAL);
	TST_ERR("epoll_create1(O_NONBLOCK)", epoll_create1(O_NONBLOCK), EINVAL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tst_check(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC && fcntl(ep, F_GETFL) == O_RDWR,
		  "epoll_create1(EPOLL_CLOEXEC): O_RDWR, close-on-exec");
	ep2 = epoll_create(1);
	tst_check(ep2 >= 0 && fcntl(ep2, F_GETFD) == 0, "epoll_create(1)");
	pipe(p);
	file = open("/proc/self/exe", O_RDONLY);

	TST_RAW("ADD with a NULL event", sys4(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], 0), EFAULT);
	TST_RAW("NULL event beats a bad epfd", sys4(SYS_epoll_ctl, 999, EPOLL_CTL_ADD, p[0], 0),
		EFAULT);
	TST_ERR("DEL needs no event", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
	TST_ERR("bad epfd", epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev), EBADF);
	TST_ERR("bad target fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	TST_ERR("a regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev), EPERM);
	TST_ERR("EPERM comes before 'epfd is not an epoll'",
		epoll_ctl(p[0], EPOLL_CTL_ADD, file, &ev), EPERM);
	TST_ERR("epfd that is not an epoll", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	TST_ERR("an epoll watching itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	TST_ERR("unknown op 7", epoll_ctl(ep, 7, p[0], &ev), EINVAL);
	TST_ERR("MOD of nothing", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), ENOENT);

	tst_check(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "ADD");
	TST_ERR("ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	d = dup(p[0]);
	tst_check(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev) == 0,
		  "the same file under another fd is another item");
	ev.events = EPOLLOUT;
	tst_check(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "MOD");
	tst_check(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "DEL");
	TST_ERR("DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);

	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	tst_check(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "ADD with EPOLLEXCLUSIVE");
	TST_ERR("MOD with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
	ev.events = EPOLLIN;
	TST_ERR("MOD of an exclusive item", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	TST_ERR("EPOLLEXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev),
		EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	TST_ERR("EPOLLEXCLUSIVE on an epoll fd", epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), EINVAL);
	close(file);
	close(d);
	close(p[0]);
	close(p[1]);
	close(ep);
	close(ep2);
	return tst_exit();
}
