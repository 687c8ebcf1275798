/* MAP_SHARED on a file of the ext2 disk mounted on /mnt (the virtio.rs guest test).
 *
 * Maps a 64 KiB sparse file shared, writes a pattern through the mapping (filling its holes
 * on the write faults), checks read(2) sees it and that a pwrite(2) shows through the
 * mapping, msyncs a part, then munmaps, closes and exits: the rest reaches the disk at
 * unmount. A second mapping after close checks the data is still there. Then a second file,
 * mapped, is truncated: its pages past the new end raise SIGBUS, and zeros after it grows
 * again. The host then reads the first file with debugfs and runs e2fsck -fn. Prints
 * "mmap ext2 ok". */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %d %s (errno %d)\n", __LINE__, #c, errno); return 1; } } while (0)

#define LEN (64 * 1024)

static unsigned char expected(unsigned i) { return (unsigned char)(i * 31 + 7); }

static sigjmp_buf env;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    bus_code = si->si_code;
    siglongjmp(env, 1);
}

/* 1 if reading *p raises SIGBUS with BUS_ADRERR. */
static int bus(volatile unsigned char *p) {
    bus_code = 0;
    if (sigsetjmp(env, 1) == 0) {
        (void)*p;
        return 0;
    }
    return bus_code == BUS_ADRERR;
}

int main(void) {
    int fd = open("/mnt/shared.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, LEN) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_blocks == 0);
    unsigned char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(p[100] == 0);
    for (unsigned i = 0; i < LEN; i++) p[i] = expected(i);
    CHECK(fstat(fd, &st) == 0 && st.st_blocks >= LEN / 512);
    /* read(2) sees the mapping's bytes. */
    unsigned char buf[4096];
    CHECK(pread(fd, buf, sizeof buf, 8192) == sizeof buf);
    for (unsigned i = 0; i < sizeof buf; i++) CHECK(buf[i] == expected(8192 + i));
    /* write(2) shows through the mapping. */
    CHECK(pwrite(fd, "via write", 9, 30000) == 9);
    CHECK(memcmp(p + 30000, "via write", 9) == 0);
    CHECK(msync(p, 16384, MS_SYNC) == 0);
    p[5] = 'M'; /* after msync: noticed again */
    CHECK(munmap(p, LEN) == 0);
    CHECK(close(fd) == 0);

    fd = open("/mnt/shared.bin", O_RDONLY);
    CHECK(fd >= 0);
    p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(p[5] == 'M' && memcmp(p + 30000, "via write", 9) == 0 && p[LEN - 1] == expected(LEN - 1));
    CHECK(munmap(p, LEN) == 0);
    close(fd);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
    fd = open("/mnt/trunc.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 4 * 4096) == 0);
    p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'T', 4 * 4096);
    CHECK(ftruncate(fd, 4096 + 10) == 0);
    CHECK(p[4096 + 9] == 'T' && p[4096 + 10] == 0);
    CHECK(bus(p + 2 * 4096) && bus(p + 3 * 4096 + 5));
    CHECK(ftruncate(fd, 4 * 4096) == 0);
    CHECK(p[3 * 4096] == 0);
    p[3 * 4096] = 'U';
    CHECK(pread(fd, buf, 1, 3 * 4096) == 1 && buf[0] == 'U');
    CHECK(munmap(p, 4 * 4096) == 0 && close(fd) == 0);
    printf("mmap ext2 ok\n");
    return 0;
}
