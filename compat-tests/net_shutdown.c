// shutdown(2) on a TCP loopback connection: SHUT_WR sends end of file after the data already
// sent, and the other direction keeps working; send after SHUT_WR is EPIPE, with SIGPIPE
// (once per call) unless MSG_NOSIGNAL; SHUT_RD makes reads return 0; a bad `how` is EINVAL;
// an unconnected socket is ENOTCONN. Closing with unread data resets the connection: the
// peer's read fails with ECONNRESET, its next send with EPIPE.
#include "tst_net.h"

#include <signal.h>

static volatile int pipes;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

static int pair(int l, int port, int *s)
{
	struct sockaddr_in a = lo4(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	connect(c, (struct sockaddr *)&a, sizeof(a));
	*s = accept(l, NULL, NULL);
	return c;
}

int main(void)
{
	char buf[16];
	int port, l, c, s, n, fresh;

	signal(SIGPIPE, on_pipe);
	l = tcp_listener(&port, 4);
	c = pair(l, port, &s);
	tst_check(c >= 0 && s >= 0, "connected over the loopback");

	tst_check(send(c, "data", 4, 0) == 4, "send before shutdown");
	tst_check(shutdown(c, SHUT_WR) == 0, "shutdown(SHUT_WR)");
	n = recv(s, buf, sizeof(buf), MSG_WAITALL);
	tst_check(n == 4 && memcmp(buf, "data", 4) == 0, "the peer reads the data");
	tst_check(recv(s, buf, sizeof(buf), 0) == 0, "then end of file");
	tst_check(recv(s, buf, sizeof(buf), 0) == 0, "end of file again");
	tst_check(send(s, "back", 4, 0) == 4, "the other direction still works");
	tst_check(recv(c, buf, sizeof(buf), 0) == 4, "and is read");

	NET_ERR("send after SHUT_WR, MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	tst_check(pipes == 0, "no SIGPIPE with MSG_NOSIGNAL");
	NET_ERR("send after SHUT_WR", send(c, "x", 1, 0), EPIPE);
	tst_check(pipes == 1, "SIGPIPE without it");
	NET_ERR("write after SHUT_WR", write(c, "x", 1), EPIPE);
	tst_check(pipes == 2, "write(2) raises SIGPIPE too");

	tst_check(shutdown(s, SHUT_RD) == 0, "shutdown(SHUT_RD)");
	tst_check(recv(s, buf, sizeof(buf), 0) == 0, "reads return 0");
	NET_ERR("shutdown how=3", shutdown(s, 3), EINVAL);
	NET_ERR("shutdown how=-1", shutdown(s, -1), EINVAL);
	close(c);
	close(s);

	fresh = socket(AF_INET, SOCK_STREAM, 0);
	NET_ERR("shutdown of an unconnected socket", shutdown(fresh, SHUT_RDWR), ENOTCONN);
	close(fresh);

	c = pair(l, port, &s);
	send(c, "unread", 6, 0);
	recv(s, buf, 1, 0);
	close(s);
	NET_ERR("read after the peer closed with unread data", recv(c, buf, sizeof(buf), 0),
		ECONNRESET);
	NET_ERR("send after the reset", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);
	close(l);
	return tst_exit();
}
