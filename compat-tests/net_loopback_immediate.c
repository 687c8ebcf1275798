// What a loopback send leaves for the very next call: right after send/sendto returns, the
// peer's FIONREAD counts the bytes, poll with timeout 0 shows POLLIN and recv with
// MSG_DONTWAIT takes them, for UDP and for TCP (TCP_NODELAY). Two threads do this at once
// on pairs of their own, 300 rounds each, so that on 2 vCPUs one thread's send often finds
// the other polling the network stack (oxv then hands its poll over: the receiving calls
// must still see the data).
#include "tst_net.h"

#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>

#define ROUNDS 300

/* What each round checks, counted per flow: the rounds where it held. */
enum { UDP_FIONREAD, UDP_POLL, UDP_RECV, TCP_FIONREAD, TCP_POLL, TCP_RECV, CHECKS };

static const char *const check_name[CHECKS] = {
	"FIONREAD counts each datagram right after sendto",
	"poll(0) shows POLLIN right after sendto",
	"recv(MSG_DONTWAIT) takes each datagram",
	"FIONREAD counts each TCP send right after it",
	"poll(0) shows POLLIN right after a TCP send",
	"recv(MSG_DONTWAIT) takes each TCP send whole",
};

struct result {
	int held[CHECKS];
	int setup;
};

/* A connected TCP pair on the loopback, TCP_NODELAY on the sender. */
static int tcp_pair(int *wr, int *rd)
{
	struct sockaddr_in a = lo4(0);
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0)
		return -1;
	a = lo4(bound_port(l));
	*wr = socket(AF_INET, SOCK_STREAM, 0);
	if (*wr < 0 || connect(*wr, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	*rd = accept(l, NULL, NULL);
	close(l);
	if (*rd < 0)
		return -1;
	return setsockopt(*wr, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Whether fd is readable now (poll, timeout 0). */
static int readable_now(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void *flow(void *arg)
{
	struct result *r = arg;
	struct sockaddr_in b;
	char out[64], in[128];
	int ua, ub, ta, tb, i;

	memset(r, 0, sizeof(*r));
	ua = socket(AF_INET, SOCK_DGRAM, 0);
	ub = socket(AF_INET, SOCK_DGRAM, 0);
	b = lo4(0);
	if (ua < 0 || ub < 0 || bind(ub, (struct sockaddr *)&b, sizeof(b)) != 0 ||
	    tcp_pair(&ta, &tb) != 0) {
		r->setup = 1;
		return NULL;
	}
	b = lo4(bound_port(ub));
	for (i = 0; i < ROUNDS; i++) {
		int len = 1 + i % 60, avail = -1;

		memset(out, 'a' + i % 26, len);
		if (sendto(ua, out, len, 0, (struct sockaddr *)&b, sizeof(b)) != len) {
			r->setup = 1;
			break;
		}
		r->held[UDP_FIONREAD] += ioctl(ub, FIONREAD, &avail) == 0 && avail == len;
		r->held[UDP_POLL] += readable_now(ub);
		r->held[UDP_RECV] += recv(ub, in, sizeof(in), MSG_DONTWAIT) == len &&
				     memcmp(in, out, len) == 0;

		if (send(ta, out, len, 0) != len) {
			r->setup = 1;
			break;
		}
		avail = -1;
		r->held[TCP_FIONREAD] += ioctl(tb, FIONREAD, &avail) == 0 && avail == len;
		r->held[TCP_POLL] += readable_now(tb);
		r->held[TCP_RECV] += recv(tb, in, sizeof(in), MSG_DONTWAIT) == len &&
				     memcmp(in, out, len) == 0;
	}
	close(ua);
	close(ub);
	close(ta);
	close(tb);
	return NULL;
}

int main(void)
{
	struct result r[2];
	pthread_t t;
	int i, c;

	tst_check(pthread_create(&t, NULL, flow, &r[1]) == 0, "pthread_create");
	flow(&r[0]);
	pthread_join(t, NULL);
	for (i = 0; i < 2; i++) {
		tst_checkf(!r[i].setup, "flow %d: sockets set up, every send complete", i);
		for (c = 0; c < CHECKS; c++)
			tst_checkf(r[i].held[c] == ROUNDS, "flow %d: %s (%d/%d)", i, check_name[c],
				   r[i].held[c], ROUNDS);
	}
	return tst_exit();
}
