/* Touches anonymous memory a MiB at a time until the kernel runs out of frames. Under Linux
 * (overcommit on) mmap keeps succeeding and the OOM killer ends the process with SIGKILL;
 * oxv must do the same. Prints its progress so the test sees it got far. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    const size_t chunk = 1 << 20;
    size_t total = 0;
    for (;;) {
        char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            dprintf(1, "mmap failed after %zu MiB\n", total >> 20);
            return 3;
        }
        memset(p, 0x5a, chunk);
        total += chunk;
        if ((total >> 20) % 8 == 0)
            dprintf(1, "touched %zu MiB\n", total >> 20);
    }
}
