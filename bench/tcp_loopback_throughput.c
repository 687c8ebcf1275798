/* tcp_loopback_throughput: bytes through a TCP connection on 127.0.0.1, MB/s
 * (10^6 bytes). One thread sends a chunk (non-blocking, as much as the socket
 * takes) and receives all that has arrived, over and over: the TCP/IP path
 * without any scheduler in the way. argv[1]: MiB to move; argv[2]: chunk KiB.
 *
 * With argv[3] = `threads` (tcp_stream_2cpu): a sender thread write(2)s
 * chunks and a receiver thread read(2)s them, both blocking, so each wakes the
 * other through the socket; on 2 vCPUs the scheduler decides where they run. */
#include "bench.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name = "tcp_loopback_throughput";
static char buf[1 << 20];
static char send_buf[1 << 20];

struct stream {
	int fd;
	long long total;
	size_t chunk;
};

/* The sending thread: `total` bytes in `chunk`-byte writes. */
static void *sender(void *arg)
{
	struct stream *s = arg;
	long long done = 0;
	while (done < s->total) {
		size_t n = s->chunk;
		if ((long long)n > s->total - done)
			n = (size_t)(s->total - done);
		ssize_t w = write(s->fd, send_buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			bench_unsupported(name, "write", errno);
		}
		done += w;
	}
	return NULL;
}

/* Receives `total` bytes on `rd` with blocking reads while a thread sends them on `wr`. */
static long long stream(int rd, int wr, long long total, size_t chunk)
{
	struct stream s = {.fd = wr, .total = total, .chunk = chunk};
	pthread_t t;
	if (pthread_create(&t, NULL, sender, &s) != 0)
		bench_unsupported(name, "pthread_create", errno);
	long long done = 0;
	while (done < total) {
		ssize_t r = read(rd, buf, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			bench_unsupported(name, "read", errno);
		if (r == 0)
			bench_unsupported(name, "read (end of stream)", EPIPE);
		done += r;
	}
	pthread_join(t, NULL);
	return done;
}

static long long move(int rd, int wr, long long total, size_t chunk)
{
	long long done = 0;
	while (done < total) {
		ssize_t w = send(wr, buf, chunk, MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN)
			bench_unsupported(name, "send", errno);
		for (;;) {
			ssize_t r = recv(rd, buf, sizeof buf, MSG_DONTWAIT);
			if (r > 0) {
				done += r;
				continue;
			}
			if (r == 0)
				bench_unsupported(name, "recv (end of stream)", EPIPE);
			if (errno != EAGAIN)
				bench_unsupported(name, "recv", errno);
			break;
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	long long total = (long long)bench_arg(argc, argv, 1, 64) << 20;
	size_t chunk = (size_t)bench_arg(argc, argv, 2, 64) << 10;
	int one = 1;
	bench_boot_mark();
	if (chunk > sizeof buf)
		chunk = sizeof buf;
	int lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsn < 0)
		bench_unsupported(name, "socket", errno);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	if (bind(lsn, (struct sockaddr *)&addr, sizeof addr) != 0)
		bench_unsupported(name, "bind 127.0.0.1", errno);
	if (listen(lsn, 1) != 0 || getsockname(lsn, (struct sockaddr *)&addr, &len) != 0)
		bench_unsupported(name, "listen", errno);
	int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cli < 0)
		bench_unsupported(name, "socket", errno);
	if (connect(cli, (struct sockaddr *)&addr, sizeof addr) != 0)
		bench_unsupported(name, "connect", errno);
	int srv = accept(lsn, NULL, NULL);
	if (srv < 0)
		bench_unsupported(name, "accept", errno);
	setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int threads = argc > 3 && strcmp(argv[3], "threads") == 0;
	if (threads)
		name = "tcp_stream_2cpu";
	long long (*run)(int, int, long long, size_t) = threads ? stream : move;
	run(srv, cli, total / 10, chunk);
	double t0 = bench_now_ns();
	long long done = run(srv, cli, total, chunk);
	double t1 = bench_now_ns();
	bench_result(name, (double)done / ((t1 - t0) / 1e9) / 1e6, "MB/s");
	return 0;
}
