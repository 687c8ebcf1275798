// connect(2) to a loopback port nobody listens on (a port just bound and released): a
// blocking connect fails with ECONNREFUSED; a non-blocking one says EINPROGRESS, then poll
// reports POLLOUT|POLLERR|POLLHUP, SO_ERROR is ECONNREFUSED once and 0 after; the next
// connect reports the failed attempt as ECONNABORTED (the error was taken), and the one after
// starts afresh (to a listener this time): EINPROGRESS, POLLOUT, then 0 once it reports the
// connection, then EISCONN.
#include "tst_net.h"

#include <poll.h>

static int closed_port(void)
{
	struct sockaddr_in a = lo4(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	port = bound_port(fd);
	close(fd);
	return port;
}

int main(void)
{
	struct sockaddr_in a = lo4(closed_port());
	struct pollfd p;
	socklen_t len;
	int fd, err = -1, lport, l, r;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	NET_ERR("blocking connect", connect(fd, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	NET_ERR("non-blocking connect", connect(fd, (struct sockaddr *)&a, sizeof(a)),
		EINPROGRESS);
	p.fd = fd;
	p.events = POLLOUT | POLLIN;
	r = poll(&p, 1, 5000);
	tst_check(r == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP)) ==
				    (POLLOUT | POLLERR | POLLHUP),
		  "poll: POLLOUT|POLLERR|POLLHUP");
	len = sizeof(err);
	tst_check(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNREFUSED,
		  "SO_ERROR is ECONNREFUSED");
	len = sizeof(err);
	tst_check(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0,
		  "SO_ERROR is 0 the second time");

	l = tcp_listener(&lport, 4);
	a = lo4(lport);
	NET_ERR("connect after SO_ERROR took the error", connect(fd, (struct sockaddr *)&a,
								  sizeof(a)), ECONNABORTED);
	NET_ERR("connect again", connect(fd, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);
	p.events = POLLOUT;
	tst_check(poll(&p, 1, 5000) == 1 && p.revents == POLLOUT, "then POLLOUT alone");
	tst_check(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
		  "connect again reports the connection");
	NET_ERR("and then", connect(fd, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	close(fd);
	close(l);
	return tst_exit();
}
