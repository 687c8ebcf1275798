// Reproducer for bug 3 (fixed in c1d1c7e): a private mapping of a regular file must show the
// file's contents; oxv mapped zeros (the kernel built the request as anonymous memory).
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    int fd = open("/tmp/mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "hello, mapped file", 18) != 18) return perror("setup"), 2;
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return perror("mmap"), 2;
    printf("mapped: \"%.18s\"\n", p);
    return p[0] == 'h' ? 0 : 1;
}
