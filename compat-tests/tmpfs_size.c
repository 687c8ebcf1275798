// tmpfs size limits (man 5 tmpfs; Linux's mm/shmem.c) on a tmpfs mounted with
// size=1m,nr_inodes=8 under /tmp: statfs(2) shows the limits and what is free (4 KiB blocks);
// a write past the limit is short, then ENOSPC; truncation and hole punching give pages back;
// a fallocate(2) past the limit is ENOSPC and takes nothing; a MAP_SHARED fault that needs a
// page when none is left is SIGBUS; creating an inode (or a hard link) past nr_inodes is
// ENOSPC; a remount changes the limits, EINVAL below what is in use or to limit an unlimited
// one; size=0 is unlimited (statfs shows 0); the default is half of RAM for blocks and
// inodes, size=N% a share of RAM. /dev/shm is a tmpfs with a size.
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994
#define KEEP_SIZE_ 1
#define PUNCH_HOLE_ 2
#define PAGE 4096L

static char dir[96], path[160];
static char buf[2 << 20];
static char *map;

static char *in(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int fall(int fd, int mode, long off, long len)
{
	return (int)sys4(SYS_fallocate, fd, mode, off, len);
}

/* statfs(dir) must show these blocks, free blocks (= available), inodes and free inodes. */
static void df(const char *what, unsigned long blocks, unsigned long bfree, unsigned long files,
	       unsigned long ffree)
{
	struct statfs s;

	if (statfs(dir, &s) != 0) {
		tfail("%s: statfs failed: %s", what, tst_files_errname(errno));
		return;
	}
	if (s.f_type == TMPFS_MAGIC_ && s.f_bsize == PAGE && s.f_blocks == blocks &&
	    s.f_bfree == bfree && s.f_bavail == bfree && s.f_files == files && s.f_ffree == ffree)
		tpass("%s: statfs blocks %lu free %lu, inodes %lu free %lu", what, blocks, bfree,
		      files, ffree);
	else
		tfail("%s: statfs blocks %lu free %lu avail %lu, inodes %lu free %lu (bsize %ld)",
		      what, (unsigned long)s.f_blocks, (unsigned long)s.f_bfree,
		      (unsigned long)s.f_bavail, (unsigned long)s.f_files,
		      (unsigned long)s.f_ffree, (long)s.f_bsize);
}

static int touch_hole(void)
{
	map[0] = 1; /* page 0 is a hole and the tmpfs is full: SIGBUS */
	return 0;
}

static int touch_page(void)
{
	map[128 * PAGE] = 1; /* the file has this page */
	return map[128 * PAGE] == 1 ? 0 : 1;
}

/* How the child running fn ended: its exit status, or 128 + the signal that killed it. */
static int child_end(int (*fn)(void))
{
	int st;
	pid_t pid = tst_fork(fn);

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int main(void)
{
	struct stat st;
	struct statfs s;
	struct sysinfo si;
	int fd, made, i;

	tst_tmp_path(dir, sizeof(dir), "tmpfs-size");
	mkdir(dir, 0755);
	TF_OK("mount tmpfs size=1m,nr_inodes=8",
	      mount("none", dir, "tmpfs", 0, "size=1m,nr_inodes=8"));
	df("fresh", 256, 256, 8, 7);

	/* Writes. */
	memset(buf, 'x', sizeof(buf));
	fd = open(in("f"), O_CREAT | O_RDWR, 0644);
	TF_OKV("a 2 MiB write stops short at 1 MiB", write(fd, buf, 2 << 20), 1 << 20);
	TF_ERR("another write", write(fd, buf, 1), ENOSPC);
	df("full", 256, 0, 8, 6);
	TF_OK("ftruncate to 0", ftruncate(fd, 0));
	df("truncated", 256, 256, 8, 6);
	TF_OK("ftruncate to 4 MiB (a hole)", ftruncate(fd, 4 << 20));
	df("a hole costs nothing", 256, 256, 8, 6);
	TF_OKV("a write into the hole", pwrite(fd, buf, 3 * PAGE, 3 << 20), 3 * PAGE);
	df("the written pages", 256, 253, 8, 6);
	TF_OK("ftruncate to 0 again", ftruncate(fd, 0));

	/* fallocate. */
	TF_RAW("fallocate 2 MiB", fall(fd, 0, 0, 2 << 20), ENOSPC);
	tst_check(fstat(fd, &st) == 0 && st.st_size == 0 && st.st_blocks == 0,
		  "the failed fallocate took nothing and kept the size");
	df("after the failed fallocate", 256, 256, 8, 6);
	TF_OK("fallocate 1 MiB", fall(fd, 0, 0, 1 << 20));
	df("fallocated", 256, 0, 8, 6);
	TF_RAW("fallocate one page more", fall(fd, 0, 1 << 20, PAGE), ENOSPC);
	TF_OK("punch a 512 KiB hole", fall(fd, PUNCH_HOLE_ | KEEP_SIZE_, 0, 512 << 10));
	df("punched", 256, 128, 8, 6);

	/* Remount. */
	TF_ERR("remount size=256k below the 512 KiB in use",
	       mount("none", dir, NULL, MS_REMOUNT, "size=256k"), EINVAL);
	TF_ERR("remount nr_inodes=1 below the 2 in use",
	       mount("none", dir, NULL, MS_REMOUNT, "nr_inodes=1"), EINVAL);
	df("the failed remounts changed nothing", 256, 128, 8, 6);
	TF_OK("remount size=2m", mount("none", dir, NULL, MS_REMOUNT, "size=2m"));
	df("grown", 512, 384, 8, 6);
	TF_OK("remount nr_blocks=256", mount("none", dir, NULL, MS_REMOUNT, "nr_blocks=256"));
	df("shrunk", 256, 128, 8, 6);

	/* A shared mapping's fault needs a page and none is left: SIGBUS. */
	TF_OK("fallocate KEEP_SIZE the last 512 KiB",
	      fall(fd, KEEP_SIZE_, 1 << 20, 512 << 10));
	df("full again", 256, 0, 8, 6);
	TF_OK("ftruncate to 2 MiB", ftruncate(fd, 2 << 20));
	map = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	tst_check(map != MAP_FAILED, "mmap MAP_SHARED");
	if (map != MAP_FAILED) {
		tst_checkf(child_end(touch_hole) == 128 + SIGBUS,
			   "a store to a hole of the full tmpfs is SIGBUS");
		tst_checkf(child_end(touch_page) == 0, "a store to a page the file has works");
		munmap(map, 2 << 20);
	}
	df("the fault took nothing", 256, 0, 8, 6);
	close(fd);

	/* Inodes. */
	made = 0;
	for (i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", i);
		fd = open(in(name), O_CREAT | O_RDWR, 0644);
		if (fd < 0)
			break;
		close(fd);
		made++;
	}
	tst_checkf(made == 6 && errno == ENOSPC, "6 more files, then ENOSPC (nr_inodes=8)");
	TF_ERR("mkdir past nr_inodes", mkdir(in("d"), 0755), ENOSPC);
	{
		char other[160];
		snprintf(other, sizeof(other), "%s/g0", dir);
		TF_ERR("a hard link past nr_inodes", link(other, in("l")), ENOSPC);
		unlink(in("g1"));
		TF_OK("a hard link once an inode is free", link(other, in("l")));
	}
	df("inodes", 256, 0, 8, 0);
	unlink(in("l"));
	df("the extra link gave its inode back", 256, 0, 8, 1);

	/* size=0: unlimited, and no way back. */
	TF_OK("remount size=0,nr_inodes=0",
	      mount("none", dir, NULL, MS_REMOUNT, "size=0,nr_inodes=0"));
	df("unlimited", 0, 0, 0, 0);
	TF_ERR("remount size=1m of an unlimited tmpfs",
	       mount("none", dir, NULL, MS_REMOUNT, "size=1m"), EINVAL);
	TF_ERR("remount nr_inodes=100 of an unlimited tmpfs",
	       mount("none", dir, NULL, MS_REMOUNT, "nr_inodes=100"), EINVAL);
	TF_ERR("remount size=1x", mount("none", dir, NULL, MS_REMOUNT, "size=1x"), EINVAL);
	TF_OK("umount2", umount2(dir, 0));

	/* The defaults: half of RAM. */
	TF_OK("mount tmpfs without options", mount("none", dir, "tmpfs", 0, NULL));
	if (sysinfo(&si) == 0 && statfs(dir, &s) == 0) {
		unsigned long long ram = (unsigned long long)si.totalram * si.mem_unit / PAGE;
		unsigned long long quarter = (25ULL * PAGE * ram / 100 + PAGE - 1) / PAGE;
		tst_checkf(s.f_blocks == ram / 2 && s.f_bfree == ram / 2,
			   "the default size is half of RAM (sysinfo totalram)");
		tst_checkf(s.f_files == ram / 2 && s.f_ffree == ram / 2 - 1,
			   "the default nr_inodes is half of RAM in pages");
		TF_OK("remount size=25%", mount("none", dir, NULL, MS_REMOUNT, "size=25%"));
		tst_checkf(statfs(dir, &s) == 0 && s.f_blocks == quarter,
			   "size=25%% is a quarter of RAM");
	} else {
		tfail("sysinfo or statfs failed");
	}
	TF_OK("umount2 again", umount2(dir, 0));
	rmdir(dir);

	tst_check(statfs("/dev/shm", &s) == 0 && s.f_type == TMPFS_MAGIC_ && s.f_blocks > 0 &&
			  s.f_bfree <= s.f_blocks && s.f_files > 0,
		  "/dev/shm is a tmpfs with a size");
	return tst_exit();
}
