/* Grows a file in the root tmpfs a MiB at a time. Linux's tmpfs (size= half of RAM by
 * default) fails the write with ENOSPC, and so does oxv's: never an OOM kill or a panic. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void) {
    memset(buf, 0x3c, sizeof buf);
    int fd = open("/tmp/big", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        dprintf(1, "open: %s\n", strerror(errno));
        return 2;
    }
    size_t total = 0;
    for (;;) {
        ssize_t w = write(fd, buf, sizeof buf);
        if (w < 0) {
            dprintf(1, "write failed after %zu MiB: %s\n", total >> 20, strerror(errno));
            return 3;
        }
        total += (size_t)w;
        if ((total >> 20) % 8 == 0)
            dprintf(1, "wrote %zu MiB\n", total >> 20);
    }
}
