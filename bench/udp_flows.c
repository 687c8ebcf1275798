/* udp_flows_2cpu: bytes through two UDP flows on 127.0.0.1 at once, MB/s
 * (10^6 bytes, both flows together). Each flow is a writer thread sending 8 KiB
 * datagrams and a reader thread receiving them with blocking recv(2); a writer
 * keeps at most 8 datagrams unread (it yields while the reader is behind), so
 * no datagram is dropped for a full receive buffer. argv[1]: MiB per flow. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name = "udp_flows_2cpu";
enum { DGRAM = 8 << 10, AHEAD = 8, FLOWS = 2 };

struct flow {
	int tx, rx;
	long long count;
	atomic_llong taken;
	char buf[DGRAM];
};

static struct flow flows[FLOWS];

static void *writer(void *arg)
{
	struct flow *f = arg;
	static char data[DGRAM];
	for (long long i = 0; i < f->count; i++) {
		while (i - atomic_load(&f->taken) >= AHEAD)
			sched_yield();
		if (send(f->tx, data, sizeof data, 0) != (ssize_t)sizeof data)
			bench_unsupported(name, "send", errno);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct flow *f = arg;
	for (long long i = 0; i < f->count; i++) {
		ssize_t r = recv(f->rx, f->buf, sizeof f->buf, 0);
		if (r < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (r != DGRAM)
			bench_unsupported(name, "recv", r < 0 ? errno : EMSGSIZE);
		atomic_fetch_add(&f->taken, 1);
	}
	return NULL;
}

static void open_flow(struct flow *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in b = a;
	socklen_t len = sizeof a;
	int bufsz = 1 << 20;
	f->tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->tx < 0 || f->rx < 0)
		bench_unsupported(name, "socket", errno);
	setsockopt(f->rx, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	if (bind(f->rx, (struct sockaddr *)&b, sizeof b) != 0 ||
	    getsockname(f->rx, (struct sockaddr *)&b, &len) != 0)
		bench_unsupported(name, "bind 127.0.0.1", errno);
	if (connect(f->tx, (struct sockaddr *)&b, sizeof b) != 0)
		bench_unsupported(name, "connect", errno);
}

/* Moves `count` datagrams through every flow at once. */
static void run(long long count)
{
	pthread_t t[2 * FLOWS];
	for (int i = 0; i < FLOWS; i++) {
		flows[i].count = count;
		atomic_store(&flows[i].taken, 0);
		if (pthread_create(&t[2 * i], NULL, reader, &flows[i]) != 0 ||
		    pthread_create(&t[2 * i + 1], NULL, writer, &flows[i]) != 0)
			bench_unsupported(name, "pthread_create", errno);
	}
	for (int i = 0; i < 2 * FLOWS; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	long long per_flow = (long long)bench_arg(argc, argv, 1, 64) << 20;
	long long count = per_flow / DGRAM;
	bench_boot_mark();
	for (int i = 0; i < FLOWS; i++)
		open_flow(&flows[i]);
	run(count / 10);
	double t0 = bench_now_ns();
	run(count);
	double t1 = bench_now_ns();
	bench_result(name, (double)(FLOWS * count * DGRAM) / ((t1 - t0) / 1e9) / 1e6, "MB/s");
	return 0;
}
