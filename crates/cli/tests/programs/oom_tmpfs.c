/* Grows a file in the root tmpfs a MiB at a time. Linux's tmpfs (size= half of RAM by
 * default) fails the write with ENOSPC, and so does oxv's: never an OOM kill or a panic.
 *
 * With "memfd": a memfd (no size limit) filled by one sendfile(2) of 2 GiB of holes, as a
 * random-syscall stress program did. oxv stops the copy short while the last 64th of RAM
 * is still free (the kernel's own), so the pipes and the thread made afterwards find
 * memory and the program ends 0; Linux would OOM-kill it instead. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

static char buf[1 << 20];

static void *nothing(void *arg) { return arg; }

static int fill_memfd(void) {
    int sparse = open("/tmp/sparse", O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (sparse < 0 || ftruncate(sparse, 1L << 40) != 0) {
        dprintf(1, "sparse file: %s\n", strerror(errno));
        return 2;
    }
    int m = memfd_create("fill", 0);
    off_t off = 0;
    ssize_t n = sendfile(m, sparse, &off, 0x7ffff000);
    dprintf(1, "sendfile: %s\n", n > 0 ? "short" : strerror(errno));
    if (n <= 0) return 4;
    /* Kernel memory after the fill: pipe buffers (heap) and a thread (kernel stack). */
    int p[16][2];
    for (int i = 0; i < 16; i++) {
        if (pipe(p[i]) != 0 || write(p[i][1], buf, 4096) != 4096) {
            dprintf(1, "pipe %d: %s\n", i, strerror(errno));
            return 5;
        }
    }
    pthread_t t;
    if (pthread_create(&t, 0, nothing, 0) != 0 || pthread_join(t, 0) != 0) {
        dprintf(1, "thread failed\n");
        return 6;
    }
    dprintf(1, "pipes and a thread after the fill: ok\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "memfd") == 0) return fill_memfd();
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
