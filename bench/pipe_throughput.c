/* pipe_throughput: bytes through a pipe, MB/s (10^6 bytes). One thread writes
 * a chunk (non-blocking, as much as the pipe takes) and reads back all that is
 * in the pipe, over and over: the pipe's copy path without any scheduler in the
 * way. argv[1]: MiB to move; argv[2]: chunk size in KiB. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static char buf[1 << 20];

/* Moves `total` bytes; returns the bytes read. */
static long long move(int rd, int wr, long long total, size_t chunk)
{
	long long done = 0;
	while (done < total) {
		ssize_t w = write(wr, buf, chunk);
		if (w < 0 && errno != EAGAIN)
			bench_unsupported("pipe_throughput", "write", errno);
		for (;;) {
			ssize_t r = read(rd, buf, sizeof buf);
			if (r > 0) {
				done += r;
				continue;
			}
			if (r < 0 && errno != EAGAIN)
				bench_unsupported("pipe_throughput", "read", errno);
			break;
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	long long total = (long long)bench_arg(argc, argv, 1, 64) << 20;
	size_t chunk = (size_t)bench_arg(argc, argv, 2, 16) << 10;
	int fds[2];
	bench_boot_mark();
	if (chunk > sizeof buf)
		chunk = sizeof buf;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
		bench_unsupported("pipe_throughput", "pipe2", errno);
	move(fds[0], fds[1], total / 10, chunk);
	double t0 = bench_now_ns();
	long long done = move(fds[0], fds[1], total, chunk);
	double t1 = bench_now_ns();
	bench_result("pipe_throughput", (double)done / ((t1 - t0) / 1e9) / 1e6, "MB/s");
	return 0;
}
