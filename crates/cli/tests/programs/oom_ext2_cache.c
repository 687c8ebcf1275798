/* Clean file pages are given back before anyone is killed: the file (larger than the VM's
 * free RAM, on an ext2 disk) is read twice through read-only mappings of 1 MiB windows,
 * each unmapped after use, with the file kept open (so its page cache stays). Then the app
 * touches most of RAM as anonymous memory. Only reclaiming the clean, unmapped page-cache
 * pages lets both the second half of each pass and the anonymous memory find frames.
 * Prints the checksum of each pass (FNV-1a over 64-bit words) and how much was touched. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW (1 << 20)

static uint64_t pass(int fd, off_t size) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (off_t off = 0; off < size; off += WINDOW) {
        size_t len = size - off < WINDOW ? (size_t)(size - off) : WINDOW;
        const uint64_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, off);
        if (p == MAP_FAILED) {
            perror("mmap");
            exit(3);
        }
        for (size_t i = 0; i < len / 8; i++)
            h = (h ^ p[i]) * 0x100000001b3ull;
        munmap((void *)p, len);
    }
    return h;
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        return 2;
    }
    for (int i = 1; i <= 2; i++)
        printf("pass %d: %016llx\n", i, (unsigned long long)pass(fd, st.st_size));
    fflush(stdout);
    size_t mib = strtoul(argv[2], NULL, 10);
    char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 4;
    memset(p, 0x5a, mib << 20);
    printf("touched %zu MiB\n", mib);
    return 0;
}
