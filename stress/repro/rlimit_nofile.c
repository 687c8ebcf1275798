// Reproducer for bug 2: after setrlimit(RLIMIT_NOFILE, {3, 3}), open(2) must fail with
// EMFILE (fds 0-2 are open); oxv returns fd 3 (the limit never reaches the fd table).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(void) {
    struct rlimit r = {3, 3};
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) return perror("setrlimit"), 2;
    int fd = open("/dev/null", O_RDONLY);
    printf("open after RLIMIT_NOFILE=3: %d (%s)\n", fd, fd < 0 ? strerror(errno) : "no error");
    return fd < 0 && errno == EMFILE ? 0 : 1;
}
