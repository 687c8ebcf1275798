/* Makes the kernel allocate: opens as many pipes as RLIMIT_NOFILE allows, each grown to
 * 1 MiB (F_SETPIPE_SZ, allowed for root) and filled, until the kernel's heap cannot grow.
 * The pipe buffers are kernel memory charged to nobody's RSS: the OOM killer then kills the
 * process with the largest RSS, this one (the only one). Writes are of 64 KiB, or of 1 MiB
 * with the argument `big`: one write(2) that goes on allocating after the kill. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv) {
    size_t chunk = argc > 1 && strcmp(argv[1], "big") == 0 ? sizeof buf : 65536;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    memset(buf, 0xa5, sizeof buf);
    size_t total = 0;
    for (int n = 0;; n++) {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK) < 0) {
            dprintf(1, "pipe failed after %d pipes, %zu MiB: %s\n", n, total >> 20, strerror(errno));
            return 3;
        }
        fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
        for (;;) {
            ssize_t w = write(fds[1], buf, chunk);
            if (w < 0) {
                if (errno == EAGAIN)
                    break;
                dprintf(1, "write failed after %zu MiB: %s\n", total >> 20, strerror(errno));
                return 4;
            }
            total += (size_t)w;
        }
        if (n % 8 == 0)
            dprintf(1, "%d pipes, %zu MiB\n", n + 1, total >> 20);
    }
}
