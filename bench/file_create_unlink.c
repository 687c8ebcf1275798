/* file_create_unlink: open(O_CREAT|O_EXCL) + close + unlink of an empty file in
 * /tmp (tmpfs-like in both guests), ns per cycle. argv[1]: cycles. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static void cycle(long i)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/oxv-bench-%ld", i);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_unsupported("file_create_unlink", "open(O_CREAT)", errno);
	close(fd);
	if (unlink(path) != 0)
		bench_unsupported("file_create_unlink", "unlink", errno);
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 10000);
	bench_boot_mark();
	for (long i = 0; i < n / 10; i++)
		cycle(i);
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		cycle(i);
	double t1 = bench_now_ns();
	bench_result("file_create_unlink", (t1 - t0) / n, "ns");
	return 0;
}
