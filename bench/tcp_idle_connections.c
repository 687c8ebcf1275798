/* tcp_idle_connections: ns per 1-byte TCP round trip on 127.0.0.1 while N other
 * established loopback connections sit idle. One thread sends a byte on one end,
 * receives it on the other, sends it back and receives it again (blocking
 * sockets; on loopback the byte has arrived when send returns). It measures with
 * no idle connection first, then opens N idle ones and measures again: the
 * result is the figure with N idle connections, the note gives both, so a cost
 * that grows with the connections a program merely holds open shows.
 * argv[1]: round trips per measurement; argv[2]: N. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name = "tcp_idle_connections";

/* A connected pair through listener `lsn` (bound to `addr`): *cli and *srv. */
static void pair(int lsn, const struct sockaddr_in *addr, int *cli, int *srv)
{
	int one = 1;
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cli < 0)
		bench_unsupported(name, "socket", errno);
	/* Idle connections need no large buffers (oxv allocates them up front). */
	int small = 4096;
	setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	setsockopt(*cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	if (connect(*cli, (const struct sockaddr *)addr, sizeof *addr) != 0)
		bench_unsupported(name, "connect", errno);
	*srv = accept(lsn, NULL, NULL);
	if (*srv < 0)
		bench_unsupported(name, "accept", errno);
	setsockopt(*cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(*srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void hop(int from, int to)
{
	char c = 'x';
	if (send(from, &c, 1, 0) != 1)
		bench_unsupported(name, "send", errno);
	ssize_t r = recv(to, &c, 1, 0);
	if (r != 1)
		bench_unsupported(name, r == 0 ? "recv (end of stream)" : "recv",
				  r == 0 ? EPIPE : errno);
}

/* ns per round trip over `n` round trips, after n/10 to warm up. */
static double round_trips(int a, int b, long n)
{
	for (long i = 0; i < n / 10; i++) {
		hop(a, b);
		hop(b, a);
	}
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		hop(a, b);
		hop(b, a);
	}
	return (bench_now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 5000);
	long idle = bench_arg(argc, argv, 2, 400);
	bench_boot_mark();
	/* Two descriptors per idle connection, plus a few. */
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (rlim_t)(2 * idle + 16)) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	int lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsn < 0)
		bench_unsupported(name, "socket", errno);
	int small = 4096;
	setsockopt(lsn, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	setsockopt(lsn, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	if (bind(lsn, (struct sockaddr *)&addr, sizeof addr) != 0)
		bench_unsupported(name, "bind 127.0.0.1", errno);
	if (listen(lsn, 16) != 0 || getsockname(lsn, (struct sockaddr *)&addr, &len) != 0)
		bench_unsupported(name, "listen", errno);
	int a, b;
	pair(lsn, &addr, &a, &b);
	double none = round_trips(a, b, n);
	for (long i = 0; i < idle; i++) {
		int c, s;
		pair(lsn, &addr, &c, &s);
	}
	double busy = round_trips(a, b, n);
	char note[160];
	snprintf(note, sizeof note,
		 "%.0f ns per round trip with no idle connection, %.0f with %ld (x%.2f)", none,
		 busy, idle, busy / none);
	bench_result_note(name, busy, "ns", note);
	return 0;
}
