/*
 * tst_net.h - helpers for the socket compat tests (net_*.c), on top of tst_fd.h:
 *
 *   tst_net_errname(e)    tst_fd_errname() plus the socket errors (ECONNREFUSED...)
 *   NET_ERR(what, call, E) a libc call must return -1 with errno E
 *   lo4(port), lo6(port)  loopback addresses
 *   bound_port(fd)        the port getsockname reports
 *
 * Tests use the loopback only and ephemeral ports (bind port 0, then getsockname), so that
 * the three variants can run at once on the host.
 */
#ifndef OXV_TST_NET_H
#define OXV_TST_NET_H

#include "tst_fd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

static inline const char *tst_net_errname(long e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ENOTCONN: return "ENOTCONN";
	case EISCONN: return "EISCONN";
	case EINPROGRESS: return "EINPROGRESS";
	case EALREADY: return "EALREADY";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EPROTOTYPE: return "EPROTOTYPE";
	case ENOTSOCK: return "ENOTSOCK";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENETUNREACH: return "ENETUNREACH";
	case EDOM: return "EDOM";
	case ECONNABORTED: return "ECONNABORTED";
	default: return tst_fd_errname(e);
	}
}

static inline void tst_net_err(const char *what, long ret, int saved_errno, int err)
{
	if (ret == -1 && saved_errno == err)
		tpass("%s -> %s", what, tst_net_errname(err));
	else if (ret == -1)
		tfail("%s: got %s, want %s", what, tst_net_errname(saved_errno),
		      tst_net_errname(err));
	else
		tfail("%s: succeeded (%ld), want %s", what, ret, tst_net_errname(err));
}

#define NET_ERR(what, call, err)                                                          \
	do {                                                                               \
		long tst_r_ = (long)(call);                                                \
		int tst_e_ = errno;                                                        \
		tst_net_err((what), tst_r_, tst_e_, (err));                                \
	} while (0)

static inline struct sockaddr_in lo4(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static inline struct sockaddr_in6 lo6(int port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_loopback;
	return a;
}

static inline int bound_port(int fd)
{
	struct sockaddr_storage s;
	socklen_t len = sizeof(s);

	if (getsockname(fd, (struct sockaddr *)&s, &len) != 0)
		return -1;
	if (s.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&s)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&s)->sin6_port);
}

/* A TCP listener on 127.0.0.1, ephemeral port; returns the fd and stores the port. */
static inline int tcp_listener(int *port, int backlog)
{
	struct sockaddr_in a = lo4(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, backlog) != 0)
		return -1;
	*port = bound_port(fd);
	return fd;
}

#endif /* OXV_TST_NET_H */
