// TCP echo of 1 MiB over the loopback, all non-blocking and driven by epoll: the client's
// connect is EINPROGRESS, then EPOLLOUT with SO_ERROR 0; the server accepts with
// SOCK_NONBLOCK and echoes what it reads, waiting for EPOLLOUT when the peer's window is
// full; the client checks every byte that comes back, shuts down its writing half, and sees
// end of file once the server has echoed everything and shut down too.
#include "tst_net.h"

#include <fcntl.h>
#include <sys/epoll.h>

#define TOTAL (1 << 20)
#define CLIENT 1
#define SERVER 2
#define LISTENER 3

static unsigned char pattern(long i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

static void watch(int ep, int op, int fd, unsigned events, unsigned tag)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.u32 = tag;
	epoll_ctl(ep, op, fd, &ev);
}

int main(void)
{
	static unsigned char out_buf[65536], echo[65536], in_buf[65536];
	struct epoll_event evs[8];
	struct sockaddr_in a, peer, me;
	socklen_t alen;
	long sent = 0, got = 0, pending = 0, pend_off = 0;
	int port, l, c, s = -1, ep, err = -1, connected = 0, bad = 0, client_eof = 0;
	int server_eof = 0, rounds = 0, i, n;

	l = tcp_listener(&port, 16);
	tst_check(l >= 0 && port > 0, "listener on 127.0.0.1, ephemeral port");
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a = lo4(port);
	NET_ERR("non-blocking connect", connect(c, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);

	ep = epoll_create1(EPOLL_CLOEXEC);
	watch(ep, EPOLL_CTL_ADD, l, EPOLLIN, LISTENER);
	watch(ep, EPOLL_CTL_ADD, c, EPOLLOUT, CLIENT);
	while ((s < 0 || !connected) && rounds++ < 100) {
		n = epoll_wait(ep, evs, 8, 10000);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == LISTENER && s < 0)
				s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (evs[i].data.u32 == CLIENT && (evs[i].events & EPOLLOUT)) {
				alen = sizeof(err);
				getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &alen);
				connected = 1;
			}
		}
	}
	tst_check(connected && err == 0, "EPOLLOUT on the client, SO_ERROR 0");
	tst_check(s >= 0, "the listener was readable and accept4 gave a socket");
	tst_check(s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "accept4 SOCK_NONBLOCK");
	tst_check(s >= 0 && (fcntl(s, F_GETFD) & FD_CLOEXEC), "accept4 SOCK_CLOEXEC");
	alen = sizeof(peer);
	getpeername(s, (struct sockaddr *)&peer, &alen);
	alen = sizeof(me);
	getsockname(c, (struct sockaddr *)&me, &alen);
	tst_check(peer.sin_port == me.sin_port && peer.sin_addr.s_addr == me.sin_addr.s_addr,
		  "the server's peer is the client's own address");
	if (s < 0 || !connected)
		return tst_exit();

	watch(ep, EPOLL_CTL_DEL, l, 0, LISTENER);
	watch(ep, EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT, CLIENT);
	watch(ep, EPOLL_CTL_ADD, s, EPOLLIN, SERVER);
	rounds = 0;
	while (!client_eof && rounds++ < 1000000) {
		n = epoll_wait(ep, evs, 8, 10000);
		if (n <= 0) {
			tfail("epoll_wait timed out: sent %ld, echoed %ld", sent, got);
			break;
		}
		for (i = 0; i < n; i++) {
			unsigned tag = evs[i].data.u32, e = evs[i].events;

			if (tag == CLIENT && (e & EPOLLOUT) && sent < TOTAL) {
				long k, want = TOTAL - sent < 65536 ? TOTAL - sent : 65536;

				for (k = 0; k < want; k++)
					out_buf[k] = pattern(sent + k);
				k = send(c, out_buf, want, MSG_NOSIGNAL);
				if (k > 0)
					sent += k;
				if (sent == TOTAL) {
					shutdown(c, SHUT_WR);
					watch(ep, EPOLL_CTL_MOD, c, EPOLLIN, CLIENT);
				}
			}
			if (tag == CLIENT && (e & (EPOLLIN | EPOLLHUP))) {
				long k = recv(c, in_buf, sizeof(in_buf), 0);

				if (k == 0)
					client_eof = 1;
				for (long j = 0; j < k; j++)
					bad += in_buf[j] != pattern(got + j);
				if (k > 0)
					got += k;
			}
			if (tag == SERVER && pending == 0 && (e & (EPOLLIN | EPOLLHUP))) {
				long k = read(s, echo, sizeof(echo));

				if (k == 0 && !server_eof) {
					server_eof = 1;
					shutdown(s, SHUT_WR);
					watch(ep, EPOLL_CTL_DEL, s, 0, SERVER);
				} else if (k > 0) {
					pending = k;
					pend_off = 0;
				}
			}
			if (tag == SERVER && pending > 0) {
				long k = write(s, echo + pend_off, pending);

				if (k > 0) {
					pending -= k;
					pend_off += k;
				}
				watch(ep, EPOLL_CTL_MOD, s, pending ? EPOLLOUT : EPOLLIN, SERVER);
			}
		}
	}
	tst_check(sent == TOTAL, "the client sent 1 MiB");
	tst_check(got == TOTAL, "1 MiB came back");
	tst_check(bad == 0, "every byte came back unchanged, in order");
	tst_check(server_eof, "the server saw the client's end of file");
	tst_check(client_eof, "the client saw the server's end of file");
	close(c);
	close(s);
	close(l);
	close(ep);
	return tst_exit();
}
