/* An OOM victim that is running, and touching its memory, when it is killed ends by
 * SIGKILL, never by a fault on the memory the OOM reaper took from it (the oom.rs guest test
 * `a_victim_killed_while_it_runs_ends_by_sigkill`).
 *
 * usage: oom_reap_running ROUNDS
 *
 * Each round, child A touches anonymous memory until less than 2 MiB of RAM is free, then
 * holds RAM full: it touches a new page whenever a frame is free and sleeps a millisecond
 * when none is, so it faults just when memory comes back. Child B (forked before A, pid
 * 2R; A is 2R + 1) then maps, touches and unmaps 1 MiB 64 times: B's fault finds no frame, and A, the largest, is killed while its
 * thread runs in ring 3 or waits to fault on another vCPU; its memory is reaped at once
 * and B finishes with it. The old kernel reaped the memory from under A's pending fault,
 * and A died of SIGSEGV in about one round in 13.
 *
 * Prints "round R: A killed by signal S, B exited with E" for each round; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1ul << 20)
#define PAGE 4096ul

/* Free RAM now, in bytes. */
static unsigned long long free_ram(void) {
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    return (unsigned long long)si.freeram * si.mem_unit;
}

static void child_a(int ready) {
    size_t len = 1ul << 30;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        _exit(5);
    size_t i = 0;
    while (i < len && (i % (8 * PAGE) != 0 || free_ram() > 2 * MIB)) {
        p[i] = 1;
        i += PAGE;
    }
    close(ready);
    for (; i < len; ) {
        if (free_ram() > 0) {
            p[i] = 1;
            i += PAGE;
        } else {
            usleep(1000);
        }
    }
    _exit(6);
}

static void child_b(void) {
    for (int k = 0; k < 64; k++) {
        char *q = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED)
            _exit(3);
        memset(q, 1, MIB);
        munmap(q, MIB);
    }
    _exit(0);
}

/* The harness failed (not the kernel's OOM handling): say where, exit 2. */
static int broken(const char *what) {
    printf("%s: %s\n", what, strerror(errno));
    fflush(stdout);
    return 2;
}

static void describe(char *out, size_t len, int status) {
    if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, len, "exited with %d", WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    for (int r = 1; r <= rounds; r++) {
        /* B is forked first and waits for `go`: a fork(2) while A holds RAM full can fail
         * (the new kernel stack is a contiguous block, which oxv takes without the OOM
         * killer). */
        int ready[2], go[2];
        if (pipe(ready) != 0 || pipe(go) != 0)
            return broken("pipe");
        pid_t b = fork();
        if (b < 0)
            return broken("fork B");
        if (b == 0) {
            char c;
            close(go[1]);
            close(ready[0]);
            close(ready[1]);
            if (read(go[0], &c, 1) != 1)
                _exit(4);
            child_b();
        }
        close(go[0]);
        pid_t a = fork();
        if (a < 0)
            return broken("fork A");
        if (a == 0) {
            close(go[1]);
            close(ready[0]);
            child_a(ready[1]);
        }
        close(ready[1]);
        char c;
        /* EOF once A holds RAM full. */
        (void)read(ready[0], &c, 1);
        close(ready[0]);
        if (write(go[1], "g", 1) != 1)
            return broken("write go");
        close(go[1]);
        int sa, sb;
        if (waitpid(b, &sb, 0) != b)
            return broken("waitpid B");
        /* A is dead already if the killer chose it; else this ends it (and the test fails
         * on its status). */
        kill(a, SIGTERM);
        if (waitpid(a, &sa, 0) != a)
            return broken("waitpid A");
        char da[40], db[40];
        describe(da, sizeof da, sa);
        describe(db, sizeof db, sb);
        printf("round %d: A %s, B %s\n", r, da, db);
        fflush(stdout);
    }
    return 0;
}
