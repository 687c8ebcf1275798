// Reproducer for bug 1: read(2) into a private mapping of the same tmpfs file, before the
// mapping's page was touched. Linux prints "read 4096" and exits 0; oxv hangs: tmpfs holds
// the inode lock while it copies out, the copy faults the page in, and filling the page reads
// the same file, spinning on that lock forever (hosted reproducer:
// fuzz/regressions/bug1-read-into-own-mapping.bin). Run with --timeout.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = open("/tmp/deadlock", O_RDWR | O_CREAT | O_TRUNC, 0600);
    static char page[4096];
    memset(page, 'x', sizeof page);
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page) return perror("setup"), 2;
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return perror("mmap"), 2;
    ssize_t n;
    if (argc > 1 && !strcmp(argv[1], "write"))
        n = pwrite(fd, p, 100, 0);  // the other direction: the copy in faults
    else
        n = pread(fd, p, 4096, 0);  // the copy out faults
    printf("%s %zd\n", argc > 1 ? argv[1] : "read", n);
    return n < 0;
}
