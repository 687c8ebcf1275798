/* A heap allocation made under the scheduler lock that needs the heap's reserve: the OOM
 * kill it starts must not take that lock again (the oom.rs guest test
 * `an_allocation_under_the_scheduler_lock_defers_the_kill`).
 *
 * A child starts WAITERS threads that wait on one futex word (the kernel queues futex
 * waiters in one array per word, grown by doubling under the scheduler lock) and one more
 * thread that first reads a pipe. It then touches anonymous memory until less than
 * 192 KiB of RAM is free and writes to the pipe: that last thread's futex wait grows the
 * array from WAITERS to 2 * WAITERS entries (160 KiB), which the heap can only serve from
 * its emergency reserve, under the scheduler lock; the OOM killer then kills the child (the
 * largest process), which wakes its threads. The old kernel spun for ever there.
 *
 * The parent prints "child killed by signal S" (or "child exited with E"); exit status 0. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAITERS 2048

static uint32_t word;
static int fds[2];

static void *waiter(void *arg) {
    (void)arg;
    for (;;)
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *last_waiter(void *arg) {
    char c;
    if (read(fds[0], &c, 1) != 1)
        return NULL;
    return waiter(arg);
}

static unsigned long free_ram(void) {
    struct sysinfo si;
    sysinfo(&si);
    return si.freeram * si.mem_unit;
}

static int child(void) {
    if (pipe(fds) < 0)
        return 3;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    for (int i = 0; i < WAITERS; i++)
        if (pthread_create(&t, &attr, waiter, NULL) != 0)
            return 4;
    if (pthread_create(&t, &attr, last_waiter, NULL) != 0)
        return 4;
    /* Let every waiter reach its wait. */
    for (int i = 0; i < 200; i++)
        sched_yield();
    usleep(200000);
    for (;;) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 5;
        for (size_t off = 0; off < (1 << 20); off += 4096) {
            if (free_ram() < 192 * 1024)
                goto full;
            p[off] = 1;
        }
    }
full:
    if (write(fds[1], "x", 1) != 1)
        return 6;
    for (;;)
        pause();
}

int main(void) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(child());
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 1;
    if (WIFSIGNALED(status))
        printf("child killed by signal %d\n", WTERMSIG(status));
    else
        printf("child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
