/* mount(2) and umount2(2) of the ext2 disk /dev/vda (the virtio.rs guest test; the disk is
 * attached without a mount point).
 *
 * Mounts it on /mnt2 (statfs says ext2, /proc/mounts shows the line), writes a file, finds
 * umount2 EBUSY while the file is open, unmounts; mounts it read-only (EROFS for a new file,
 * the first file reads back), unmounts; mounts it read-write again and writes a second file,
 * left mounted: the kernel writes it back at power-off. The host then reads both files with
 * debugfs and runs e2fsck -fn, which must find the file system clean. Prints
 * "mount ext2 ok". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %d %s (errno %d)\n", __LINE__, #c, errno); return 1; } } while (0)

#define EXT2_MAGIC 0xEF53

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int mounts_show(const char *needle) {
    char buf[4096];
    int fd = open("/proc/mounts", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return 0;
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

int main(void) {
    struct statfs sf;
    char buf[64];

    CHECK(mkdir("/mnt2", 0755) == 0);
    CHECK(mount("/dev/vda", "/mnt2", "ext2", 0, NULL) == 0);
    CHECK(statfs("/mnt2", &sf) == 0 && sf.f_type == EXT2_MAGIC);
    CHECK(mounts_show("/dev/vda /mnt2 ext2 rw"));

    CHECK(write_file("/mnt2/hello.txt", "from mount(2)\n") == 0);
    int fd = open("/mnt2/hello.txt", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(umount2("/mnt2", 0) == -1 && errno == EBUSY);
    close(fd);
    CHECK(umount2("/mnt2", 0) == 0);
    CHECK(!mounts_show("/mnt2"));
    CHECK(umount2("/mnt2", 0) == -1 && errno == EINVAL);

    CHECK(mount("/dev/vda", "/mnt2", "ext2", MS_RDONLY, NULL) == 0);
    CHECK(mounts_show("/dev/vda /mnt2 ext2 ro"));
    CHECK(open("/mnt2/new.txt", O_WRONLY | O_CREAT, 0644) == -1 && errno == EROFS);
    fd = open("/mnt2/hello.txt", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    CHECK(n == 14 && memcmp(buf, "from mount(2)\n", 14) == 0);
    CHECK(umount2("/mnt2", 0) == 0);

    CHECK(mount("/dev/vda", "/mnt2", "ext2", 0, NULL) == 0);
    CHECK(write_file("/mnt2/second.txt", "left mounted\n") == 0);
    printf("mount ext2 ok\n");
    return 0;
}
