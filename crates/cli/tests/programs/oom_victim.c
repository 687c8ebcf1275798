/* The OOM killer kills the largest process, not the one that ran out: child A touches
 * 28 MiB and sleeps; child B then touches 24 MiB, which a 48 MiB VM cannot hold with A's.
 * When B's page fault finds no frame, A (the largest) is killed and its memory freed at
 * once, B's fault is retried and B finishes. The parent reports both. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(size_t mib) {
    char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(3);
    memset(p, 0x5a, mib << 20);
}

static void report(const char *name, int status) {
    if (WIFSIGNALED(status))
        dprintf(1, "%s killed by signal %d\n", name, WTERMSIG(status));
    else
        dprintf(1, "%s exited with %d\n", name, WEXITSTATUS(status));
}

int main(void) {
    int ready[2];
    if (pipe(ready) < 0)
        return 2;
    pid_t a = fork();
    if (a == 0) {
        touch(28);
        write(ready[1], "a", 1);
        for (;;)
            pause();
    }
    char c;
    if (a < 0 || read(ready[0], &c, 1) != 1)
        return 2;
    pid_t b = fork();
    if (b == 0) {
        touch(24);
        _exit(0);
    }
    int sa, sb;
    if (b < 0 || waitpid(b, &sb, 0) != b)
        return 2;
    report("B", sb);
    kill(a, SIGTERM);
    if (waitpid(a, &sa, 0) != a)
        return 2;
    report("A", sa);
    return 0;
}
