// Reproducer of robustness bug 7 (docs/robustness.md), fixed: a running program's own
// executable could be truncated (Linux: ETXTBSY), after which its not-yet-touched text pages
// faulted. Exits 0 when open(2) refuses with ETXTBSY, as on Linux and now in oxv.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int fd = open("/proc/self/exe", O_WRONLY | O_TRUNC);
    if (fd < 0) {
        printf("open(/proc/self/exe, O_WRONLY|O_TRUNC): %s (expected ETXTBSY)\n", strerror(errno));
        return errno == ETXTBSY ? 0 : 1;
    }
    // Linux never gets here. Touch code that has not run yet (printf's float path).
    printf("opened for writing: the executable is now %ld bytes; still running: %.1f\n",
           (long)lseek(fd, 0, SEEK_END), 1.5);
    return 1;
}
