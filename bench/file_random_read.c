/* file_random_read: pread of 4 KiB at a random page-aligned offset of a file
 * already read once (so every read is served from memory: the page cache on
 * Linux, tmpfs pages on oxv), ns per read. The file is made in /tmp. The
 * offsets come from a fixed xorshift sequence, computed before the clock
 * starts. argv[1]: file size in MiB; argv[2]: reads. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define PAGE 4096

static char page[PAGE];

int main(int argc, char **argv)
{
	long mib = bench_arg(argc, argv, 1, 16);
	long n = bench_arg(argc, argv, 2, 20000);
	long pages = mib * (1 << 20) / PAGE;
	char path[64];

	bench_boot_mark();
	snprintf(path, sizeof path, "/tmp/oxv-bench-rr-%d", (int)getpid());
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_unsupported("file_random_read", "open(O_CREAT)", errno);
	unlink(path);
	for (long p = 0; p < pages; p++) {
		memset(page, (int)(p & 0xff), PAGE);
		if (write(fd, page, PAGE) != PAGE)
			bench_unsupported("file_random_read", "write", errno);
	}
	/* Read it once, in order: every page is now in memory. */
	for (long p = 0; p < pages; p++)
		if (pread(fd, page, PAGE, (off_t)p * PAGE) != PAGE)
			bench_unsupported("file_random_read", "pread", errno);

	off_t *offsets = malloc((size_t)n * sizeof *offsets);
	if (!offsets)
		bench_unsupported("file_random_read", "malloc", ENOMEM);
	unsigned long long x = 0x9e3779b97f4a7c15ull;
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		offsets[i] = (off_t)(x % (unsigned long long)pages) * PAGE;
	}
	for (long i = 0; i < n / 10; i++)
		pread(fd, page, PAGE, offsets[i]);
	unsigned sum = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		if (pread(fd, page, PAGE, offsets[i]) != PAGE)
			bench_unsupported("file_random_read", "pread", errno);
		sum += (unsigned char)page[0];
	}
	double t1 = bench_now_ns();
	/* The bytes read are the page numbers written: a wrong read shows here. */
	unsigned want = 0;
	for (long i = 0; i < n; i++)
		want += (unsigned)((offsets[i] / PAGE) & 0xff);
	if (sum != want)
		bench_unsupported("file_random_read", "pread returned wrong data", EIO);
	bench_result("file_random_read", (t1 - t0) / n, "ns");
	close(fd);
	return 0;
}
