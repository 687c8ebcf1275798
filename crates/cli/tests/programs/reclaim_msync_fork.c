/* msync(MS_SYNC) in one process must write-protect a shared file page in every process that
 * maps it: a child writes "first" through a MAP_SHARED mapping of PATH, the parent (which
 * maps it too) msyncs it, then the child writes "second". Nobody syncs again: the kernel
 * writes dirty pages back when the VM stops, so the disk must hold "second" (before, the
 * child's second write went through a still-writable entry, the page stayed clean, and
 * "first" was what reached the disk). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) {
        perror(argv[1]);
        return 2;
    }
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 3;
    }
    int to_parent[2], to_child[2];
    char c;
    if (pipe(to_parent) != 0 || pipe(to_child) != 0)
        return 4;
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(p, "first ");
        write(to_parent[1], "w", 1);
        read(to_child[0], &c, 1);
        strcpy(p, "second");
        _exit(0);
    }
    read(to_parent[0], &c, 1);
    if (msync(p, 4096, MS_SYNC) != 0) {
        perror("msync");
        return 5;
    }
    write(to_child[1], "g", 1);
    int st;
    waitpid(pid, &st, 0);
    printf("mapped: %.6s\n", p);
    return 0;
}
