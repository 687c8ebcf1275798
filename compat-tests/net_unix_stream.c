// AF_UNIX stream sockets by path: bind makes a socket node (S_IFSOCK) in /tmp; binding the
// path again is EADDRINUSE; listen, connect, accept; getsockname/getpeername show the path on
// both sides (accept's address is the unnamed client: the family alone); data flows both
// ways; closing the peer gives end of file, then EPIPE (with MSG_NOSIGNAL); once the
// listener is closed, connect to the path is ECONNREFUSED; a path that is no socket is
// ECONNREFUSED too, a missing one ENOENT. An abstract name (leading NUL) works the same
// way and leaves no file behind.
#include "tst_net.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

static socklen_t unix_addr(struct sockaddr_un *a, const char *path, int abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		a->sun_path[0] = 0;
		memcpy(a->sun_path + 1, path, strlen(path));
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
	}
	strcpy(a->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void exchange(const char *what, struct sockaddr_un *a, socklen_t alen)
{
	struct sockaddr_un got;
	socklen_t len;
	char buf[16];
	int l, c, s;

	l = socket(AF_UNIX, SOCK_STREAM, 0);
	tst_checkf(bind(l, (struct sockaddr *)a, alen) == 0, "%s: bind", what);
	tst_checkf(listen(l, 4) == 0, "%s: listen", what);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	tst_checkf(connect(c, (struct sockaddr *)a, alen) == 0, "%s: connect", what);
	len = sizeof(got);
	s = accept(l, (struct sockaddr *)&got, &len);
	tst_checkf(s >= 0 && len == sizeof(sa_family_t) && got.sun_family == AF_UNIX,
		   "%s: accept; the client is unnamed", what);
	len = sizeof(got);
	tst_checkf(getpeername(c, (struct sockaddr *)&got, &len) == 0 && len == alen &&
			   memcmp(&got, a, alen) == 0,
		   "%s: getpeername of the client is the name", what);
	len = sizeof(got);
	tst_checkf(getsockname(s, (struct sockaddr *)&got, &len) == 0 && len == alen &&
			   memcmp(&got, a, alen) == 0,
		   "%s: getsockname of the accepted socket is the name", what);
	tst_checkf(write(c, "ping", 4) == 4 && read(s, buf, sizeof(buf)) == 4 &&
			   memcmp(buf, "ping", 4) == 0, "%s: client to server", what);
	tst_checkf(write(s, "pong!", 5) == 5 && read(c, buf, sizeof(buf)) == 5 &&
			   memcmp(buf, "pong!", 5) == 0, "%s: server to client", what);
	close(s);
	tst_checkf(read(c, buf, sizeof(buf)) == 0, "%s: end of file when the peer closes", what);
	NET_ERR("send to a closed peer", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);
	close(l);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	NET_ERR("connect after the listener closed", connect(c, (struct sockaddr *)a, alen),
		ECONNREFUSED);
	close(c);
}

int main(void)
{
	struct sockaddr_un a, b;
	struct stat st;
	char path[64], name[80];
	socklen_t alen, alen2;
	int s, t, fd;

	snprintf(path, sizeof(path), "/tmp/oxv-net-unix-%d", (int)getpid());
	alen = unix_addr(&a, path, 0);
	exchange("path", &a, alen);
	tst_check(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "the path is a socket node");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	NET_ERR("bind an existing path", bind(s, (struct sockaddr *)&a, alen), EADDRINUSE);
	unlink(path);
	tst_check(bind(s, (struct sockaddr *)&a, alen) == 0, "bind again after unlink");
	NET_ERR("bind a bound socket to its own path", bind(s, (struct sockaddr *)&a, alen),
		EADDRINUSE);
	snprintf(name, sizeof(name), "%s-2", path);
	alen2 = unix_addr(&b, name, 0);
	NET_ERR("bind a bound socket to a new path", bind(s, (struct sockaddr *)&b, alen2),
		EINVAL);
	tst_check(access(name, F_OK) != 0, "and the new path was not left behind");
	t = socket(AF_UNIX, SOCK_STREAM, 0);
	NET_ERR("connect to a socket that does not listen", connect(t, (struct sockaddr *)&a,
								   alen), ECONNREFUSED);
	close(s);
	unlink(path);

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	NET_ERR("connect to a regular file", connect(t, (struct sockaddr *)&a, alen),
		ECONNREFUSED);
	unlink(path);
	NET_ERR("connect to a missing path", connect(t, (struct sockaddr *)&a, alen), ENOENT);
	close(t);

	snprintf(name, sizeof(name), "oxv-net-abstract-%d", (int)getpid());
	alen = unix_addr(&a, name, 1);
	exchange("abstract", &a, alen);
	return tst_exit();
}
