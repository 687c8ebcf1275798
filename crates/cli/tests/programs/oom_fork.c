/* The OOM killer picks the largest process: a child that touches anonymous memory until
 * none is left is killed (SIGKILL), and the parent, small, survives and reports it. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        const size_t chunk = 1 << 20;
        for (;;) {
            char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                _exit(3);
            memset(p, 0x5a, chunk);
        }
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return 2;
    }
    if (WIFSIGNALED(status))
        dprintf(1, "child killed by signal %d\n", WTERMSIG(status));
    else
        dprintf(1, "child exited with %d\n", WEXITSTATUS(status));
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 1;
}
