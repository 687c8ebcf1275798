// A regular file an app makes in /dev (devfs, a tmpfs): fallocate(2) of 2^56 bytes, then of
// 1 TiB, then writes until they stop. On Linux (devtmpfs: half of RAM) each ends with ENOSPC.
// oxv's devfs kept such data on the kernel heap without a limit: the fallocate was a kernel
// panic (`memory allocation ... failed` in tmpfs's undo), docs/robustness.md bug 26.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void)
{
	int fd = open("/dev/big", O_CREAT | O_RDWR, 0600);
	long written = 0;
	int bad = 0;

	if (fd < 0) {
		perror("open /dev/big");
		return 1;
	}
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1LL << 56) == 0 || errno != ENOSPC) {
		printf("fallocate 2^56: %s, want ENOSPC\n", strerror(errno));
		bad = 1;
	}
	if (fallocate(fd, 0, 0, 1LL << 40) == 0 || errno != ENOSPC) {
		printf("fallocate 1 TiB: %s, want ENOSPC\n", strerror(errno));
		bad = 1;
	}
	memset(buf, 1, sizeof(buf));
	for (;;) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno != ENOSPC) {
				printf("write: %s, want ENOSPC\n", strerror(errno));
				bad = 1;
			}
			break;
		}
		written += n;
	}
	printf("wrote %ld MiB into /dev/big\n", written >> 20);
	if (unlink("/dev/big") != 0) {
		perror("unlink");
		bad = 1;
	}
	puts(bad ? "FAILED" : "PASSED");
	return bad;
}
