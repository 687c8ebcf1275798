/* Writes a file larger than the VM's RAM, never calling fsync, then reads it back.
 * argv: PATH MIB MODE. MODE "write": write(2) in 1 MiB chunks; "mmap": the file is sized
 * with ftruncate and filled through MAP_SHARED windows of 1 MiB, each unmapped after use
 * (so its pages are dirty page-cache pages no mapping holds). Either way only writing
 * dirty data back lets the VM go on. Word i of the file is mix(i); the read back checks
 * every word and prints the first mismatch, else "read back N MiB: ok". */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WINDOW (1 << 20)

static uint64_t mix(uint64_t i) {
    uint64_t z = i * 0x9e3779b97f4a7c15ull + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(uint64_t *p, off_t off) {
    for (size_t i = 0; i < WINDOW / 8; i++)
        p[i] = mix(off / 8 + i);
}

int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    off_t size = (off_t)strtoul(argv[2], NULL, 10) << 20;
    int mapped = strcmp(argv[3], "mmap") == 0;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    static uint64_t buf[WINDOW / 8];
    if (mapped && ftruncate(fd, size) != 0) {
        perror("ftruncate");
        return 3;
    }
    for (off_t off = 0; off < size; off += WINDOW) {
        if (mapped) {
            uint64_t *p = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
            if (p == MAP_FAILED) {
                perror("mmap");
                return 3;
            }
            fill(p, off);
            munmap(p, WINDOW);
        } else {
            fill(buf, off);
            if (pwrite(fd, buf, WINDOW, off) != WINDOW) {
                perror("pwrite");
                return 3;
            }
        }
    }
    printf("wrote %s MiB with %s\n", argv[2], argv[3]);
    fflush(stdout);
    for (off_t off = 0; off < size; off += WINDOW) {
        if (pread(fd, buf, WINDOW, off) != WINDOW) {
            perror("pread");
            return 4;
        }
        for (size_t i = 0; i < WINDOW / 8; i++) {
            if (buf[i] != mix(off / 8 + i)) {
                printf("mismatch at byte %llu\n", (unsigned long long)(off + i * 8));
                return 5;
            }
        }
    }
    printf("read back %s MiB: ok\n", argv[2]);
    return 0;
}
