/* Disk and network I/O while another process eats all of RAM (the dma_pressure.rs guest test).
 *
 * usage: dma_pressure DIR DISK ROUNDS
 *
 * DIR is an ext2 disk mounted read-write holding BIG (8 MiB; the 64-bit word at byte
 * offset o is (o / 8) * 0x9e3779b97f4a7c15 + 1); DISK is a second ext2 disk attached
 * without a mount point, holding a file "hello".
 *
 * An I/O child (pid 2) loops until the parent says stop: it writes DIR/out (256 KiB, a
 * pattern new each pass) and fsyncs it, reads BIG and checks every word, mounts DISK on
 * /m2, reads hello, unmounts, and sends a UDP datagram to the host (10.0.2.2). Every disk
 * request bounces a few bytes for the device (its header and status live on a kernel
 * stack), and the mount reads the superblock into one: before the bounce pool, that took a
 * frame each time, and with none left the kernel panicked. Meanwhile, ROUNDS times, a hog
 * child touches anonymous memory until no frame is free, holds RAM full for 1.5 s by taking
 * every frame that comes free, then touches on until the OOM killer kills it.
 *
 * Prints one line per round ("round R: hog killed by signal 9"), then the I/O child's
 * totals and "io exited with 0" ("io killed by signal S" if it was killed: a failure).
 * Exit status 0 when all went so; the I/O child exits 3 on a data mismatch, 4 on an I/O
 * error (with the errno printed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_BYTES (8 << 20)
#define OUT_BYTES (256 << 10)
#define CHUNK (64 << 10)

static uint64_t chunk[CHUNK / 8];
static uint64_t out[OUT_BYTES / 8];

static int fail(const char *what, const char *path) {
    printf("io: %s %s: %s\n", what, path, strerror(errno));
    fflush(stdout);
    return 4;
}

/* Whether the parent closed its end of `stop` (readable at EOF). */
static int told_to_stop(int stop) {
    struct pollfd p = {.fd = stop, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static int io_child(const char *dir, const char *disk, int stop, int ready) {
    char big[256], outp[256];
    snprintf(big, sizeof big, "%s/big", dir);
    snprintf(outp, sizeof outp, "%s/out", dir);
    if (mkdir("/m2", 0755) != 0 && errno != EEXIST)
        return fail("mkdir", "/m2");
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0)
        return fail("socket", "udp");
    struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "10.0.2.2", &host.sin_addr);
    unsigned long passes = 0, verified = 0, sent = 0, mounts = 0;
    do {
        /* Write a fresh pattern and make it durable: write requests and a flush. */
        for (size_t i = 0; i < OUT_BYTES / 8; i++)
            out[i] = (passes << 32) ^ i;
        int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            return fail("open", outp);
        if (write(fd, out, OUT_BYTES) != OUT_BYTES)
            return fail("write", outp);
        if (fsync(fd) != 0)
            return fail("fsync", outp);
        close(fd);
        /* Small synchronous writes: many requests (data, metadata, flush) for little memory. */
        fd = open(outp, O_WRONLY);
        if (fd < 0)
            return fail("open", outp);
        for (size_t k = 0; k < 64; k++) {
            size_t at = (k * 37 % (OUT_BYTES / 4096)) * 4096;
            if (pwrite(fd, (char *)out + at, 4096, (off_t)at) != 4096)
                return fail("pwrite", outp);
            if (k % 16 == 15 && fdatasync(fd) != 0)
                return fail("fdatasync", outp);
        }
        close(fd);
        /* Read it back. */
        fd = open(outp, O_RDONLY);
        if (fd < 0)
            return fail("open", outp);
        memset(out, 0, sizeof out);
        if (read(fd, out, OUT_BYTES) != OUT_BYTES)
            return fail("read", outp);
        close(fd);
        for (size_t i = 0; i < OUT_BYTES / 8; i++) {
            if (out[i] != ((passes << 32) ^ i)) {
                printf("io: %s: word %zu is %#llx\n", outp, i, (unsigned long long)out[i]);
                return 3;
            }
        }
        /* Read a quarter of the big file, a different one each pass: under pressure its
         * cached pages go, so this reads the disk. */
        fd = open(big, O_RDONLY);
        if (fd < 0)
            return fail("open", big);
        uint64_t from = passes % 4 * (BIG_BYTES / 4);
        for (uint64_t off = from; off < from + BIG_BYTES / 4; off += CHUNK) {
            ssize_t n = pread(fd, chunk, CHUNK, (off_t)off);
            if (n != CHUNK)
                return fail("read", big);
            for (size_t i = 0; i < CHUNK / 8; i++) {
                uint64_t want = (off / 8 + i) * 0x9e3779b97f4a7c15ull + 1;
                if (chunk[i] != want) {
                    printf("io: %s: word at %llu is %#llx, not %#llx\n", big,
                           (unsigned long long)(off + i * 8), (unsigned long long)chunk[i],
                           (unsigned long long)want);
                    return 3;
                }
            }
            verified += CHUNK;
        }
        close(fd);
        /* mount(2) reads the superblock into a buffer on a kernel stack. */
        if (mount(disk, "/m2", "ext2", MS_RDONLY, NULL) == 0) {
            char hello[32] = {0};
            fd = open("/m2/hello", O_RDONLY);
            if (fd < 0 || read(fd, hello, sizeof hello - 1) < 0)
                return fail("read", "/m2/hello");
            close(fd);
            if (strcmp(hello, "hello\n") != 0) {
                printf("io: /m2/hello holds \"%s\"\n", hello);
                return 3;
            }
            if (umount2("/m2", 0) != 0)
                return fail("umount2", "/m2");
            mounts++;
        } else if (errno != ENOMEM) {
            return fail("mount", disk);
        }
        /* And the NIC: the datagram and the ARP exchange before it. */
        char datagram[1200];
        memset(datagram, (int)passes, sizeof datagram);
        if (sendto(sock, datagram, sizeof datagram, 0, (struct sockaddr *)&host, sizeof host) ==
            (ssize_t)sizeof datagram)
            sent++;
        if (passes++ == 0) {
            /* The parent starts the hogs once I/O is under way. */
            close(ready);
        }
    } while (!told_to_stop(stop));
    printf("io: %lu passes, %lu KiB of big verified, %lu mounts, %lu datagrams\n", passes,
           verified >> 10, mounts, sent);
    fflush(stdout);
    return 0;
}

/* Free RAM now, in bytes. */
static unsigned long long free_ram(void) {
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    return (unsigned long long)si.freeram * si.mem_unit;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Touches anonymous memory until the kernel has (almost) no free frame, keeps it that way
 * for a while by taking every frame that comes free (the I/O child's disk requests run
 * meanwhile), then touches on until killed. */
static void hog(int round) {
    /* Each round leaves a different few frames free, so the I/O child meets RAM full in
     * different ways. */
    unsigned long long spare = round % 4 == 0 ? 8 << 10 : 0;
    size_t len = (size_t)1 << 30;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        _exit(5);
    size_t i = 0;
    while (i < len && (i % (8 << 12) != 0 || free_ram() > (512 << 10))) {
        p[i] = 1;
        i += 4096;
    }
    fprintf(stderr, "hog: filled %zu KiB, free %llu KiB\n", i >> 10, free_ram() >> 10);
    double until = now() + 2.0;
    while (i < len && now() < until) {
        if (free_ram() > spare) {
            p[i] = 1;
            i += 4096;
        } else {
            usleep(1000);
        }
    }
    fprintf(stderr, "hog: held, %zu KiB, free %llu KiB\n", i >> 10, free_ram() >> 10);
    for (; i < len; i += 4096)
        p[i] = 1;
    _exit(6);
}

int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    int rounds = atoi(argv[3]);
    int stop[2], ready[2];
    if (pipe(stop) != 0 || pipe(ready) != 0)
        return 2;
    pid_t io = fork();
    if (io < 0)
        return 2;
    if (io == 0) {
        close(stop[1]);
        close(ready[0]);
        _exit(io_child(argv[1], argv[2], stop[0], ready[1]));
    }
    close(stop[0]);
    close(ready[1]);
    char c;
    /* EOF once the I/O child finished its first pass (or died). */
    (void)read(ready[0], &c, 1);
    int status;
    for (int r = 1; r <= rounds; r++) {
        pid_t h = fork();
        if (h < 0)
            return 2;
        if (h == 0)
            hog(r);
        if (waitpid(h, &status, 0) != h)
            return 2;
        if (WIFSIGNALED(status))
            printf("round %d: hog killed by signal %d\n", r, WTERMSIG(status));
        else
            printf("round %d: hog exited with %d\n", r, WEXITSTATUS(status));
        fflush(stdout);
    }
    close(stop[1]);
    if (waitpid(io, &status, 0) != io)
        return 2;
    if (WIFSIGNALED(status)) {
        printf("io killed by signal %d\n", WTERMSIG(status));
        return 1;
    }
    printf("io exited with %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status) == 0 ? 0 : 1;
}
