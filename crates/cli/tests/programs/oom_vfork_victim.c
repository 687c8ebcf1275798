/* A faulting process that is not the OOM victim does not die, even when the victim's
 * memory cannot be freed at once. Child A touches 28 MiB, then vfork(2)s child C, which
 * shares A's memory and sleeps; A waits for C (a vfork parent). Child B then touches
 * 24 MiB, which a 48 MiB VM cannot hold with A's. The killer kills A, but cannot reap A's
 * memory (C shares it); A's vfork wait ends (the kill reaches it, as on Linux) and A dies,
 * but its memory stays with C; B's fault waits and retries, the killer finds nothing came
 * back and kills C, their memory comes back and B finishes. (Before the kill reached vfork
 * waits, A could not die while it waited for C, and the killer gave up on A after a while.)
 * The parent reports B and A. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char *touch(size_t mib) {
    char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(3);
    memset(p, 0x5a, mib << 20);
    return p;
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
        if (vfork() == 0) {
            /* C: A's memory, shared; only system calls until it is killed. */
            write(ready[1], "c", 1);
            for (;;)
                pause();
        }
        _exit(5);
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
    kill(a, SIGKILL);
    if (waitpid(a, &sa, 0) != a)
        return 2;
    report("A", sa);
    return 0;
}
