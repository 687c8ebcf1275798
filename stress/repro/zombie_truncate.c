// Reproducer of robustness bug 13 (docs/robustness.md), fixed: truncating a file that has a
// mapping object while a zombie (an ended, not yet reaped child) exists panicked oxv
// ("only Drop takes the address space"): the walk that unmaps the truncated pages from
// every process's address space reached the zombie, whose address space had been swapped
// for an empty placeholder. Found by the stress program's thread churn (a forked child
// ending while another thread ran reset_files). Prints "ok" and exits 0, on Linux and now
// in oxv.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fd = open("/tmp/zombie-truncate", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 8192) != 0) return 2;
    char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return 2;
    m[0] = 1;
    m[4096] = 2;
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    // Wait for the child to end without reaping it: it stays a zombie.
    siginfo_t info;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0) return 3;
    if (ftruncate(fd, 4096) != 0) return 4;  // unmaps page 1 from every address space
    if (m[0] != 1) return 5;
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return 6;
    printf("ok\n");
    return 0;
}
