/* memfd_create files live on an unlimited tmpfs (as Linux's internal shm mount), bounded by RAM
 * only: a fallocate(2) larger than RAM, or than RAM can spare, fails at once with ENOSPC (where
 * Linux would OOM-kill), takes nothing, and the VM keeps working afterwards.
 * Also: /dev/shm is a tmpfs of half of RAM, and a write to /tmp stops at its size. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failed = 1;
}

/* fallocate(fd, 0, 0, len): 0 or the errno. */
static int fall(int fd, long long len)
{
    return syscall(SYS_fallocate, fd, 0, 0LL, len) == 0 ? 0 : errno;
}

static unsigned long long free_ram(void)
{
    struct sysinfo si;
    sysinfo(&si);
    return (unsigned long long)si.freeram * si.mem_unit;
}

int main(void)
{
    struct sysinfo si;
    struct stat st;
    struct statfs s;
    setvbuf(stdout, NULL, _IONBF, 0);
    sysinfo(&si);
    unsigned long long ram = (unsigned long long)si.totalram * si.mem_unit;
    int fd = memfd_create("big", 0);
    check(fd >= 0, "memfd_create");

    int e = fall(fd, 64LL << 50);
    printf("64 PB: %s\n", strerror(e));
    check(e == ENOSPC, "a 64 PB memfd fallocate is ENOSPC");
    check(fall(fd, (long long)(2 * ram)) == ENOSPC, "twice RAM is ENOSPC");

    unsigned long long before = free_ram();
    /* As much as RAM: more than RAM can spare, since the kernel holds some of it. */
    e = fall(fd, (long long)ram);
    printf("all of RAM: %s\n", strerror(e));
    check(e == ENOSPC, "all of RAM is ENOSPC");
    check(fstat(fd, &st) == 0 && st.st_size == 0 && st.st_blocks == 0,
          "the failed fallocate kept nothing");
    unsigned long long after = free_ram();
    check(after + (2 << 20) >= before, "its pages went back to free RAM");

    check(fall(fd, 4 << 20) == 0, "a 4 MiB memfd fallocate works");
    char *p = malloc(8 << 20);
    if (p)
        memset(p, 1, 8 << 20);
    check(p != NULL, "8 MiB of anonymous memory afterwards");
    free(p);
    close(fd);

    check(statfs("/dev/shm", &s) == 0 && s.f_type == 0x01021994 &&
              s.f_blocks == ram / 4096 / 2 && s.f_files == ram / 4096 / 2,
          "/dev/shm: half of RAM");
    unsigned long long tmp_limit = 0;
    check(statfs("/tmp", &s) == 0 && s.f_blocks >= ram / 4096 / 2, "/tmp: half of RAM or more");
    tmp_limit = s.f_bfree;

    /* Fill /tmp: the writes stop at its size with ENOSPC. */
    static char buf[1 << 16];
    memset(buf, 7, sizeof buf);
    int t = open("/tmp/fill", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    unsigned long long total = 0;
    ssize_t w;
    while ((w = write(t, buf, sizeof buf)) > 0)
        total += w;
    e = errno;
    check(w < 0 && e == ENOSPC, "/tmp fills up with ENOSPC");
    check(total == tmp_limit * 4096, "/tmp held exactly its free blocks");
    check(statfs("/tmp", &s) == 0 && s.f_bfree == 0, "statfs /tmp: nothing free");
    unlink("/tmp/fill");
    close(t);
    check(statfs("/tmp", &s) == 0 && s.f_bfree == tmp_limit, "unlink gave it all back");
    printf("%s\n", failed ? "FAILED" : "PASSED");
    return failed;
}
