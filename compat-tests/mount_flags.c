// Mount flags that act on files, on a tmpfs under /tmp and a bind mount of /dev:
// - a remount read-only is EBUSY while a file is open for writing through the mount (also
//   with MS_BIND, and while only a shared writable mapping of it is left), and works once
//   the writer is gone or when files are open only for reading;
// - noexec: execve of a program there is EACCES, an mmap of it with PROT_EXEC is EPERM (a
//   PROT_READ one works, private or shared, but mprotect adding PROT_EXEC to it is EACCES:
//   Linux's mmap leaves such a mapping without VM_MAYEXEC; an anonymous one still may), and
//   after a remount without noexec the program runs;
// - nodev: a device node there does not open (EACCES; O_PATH does), the same node through
//   /dev still does;
// - statfs f_flags shows ST_RDONLY, ST_NOSUID, ST_NODEV and ST_NOEXEC as mounted.
#include "tst_files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define ST_RDONLY_ 1
#define ST_NOSUID_ 2
#define ST_NODEV_ 4
#define ST_NOEXEC_ 8
#define ST_ALL_ (ST_RDONLY_ | ST_NOSUID_ | ST_NODEV_ | ST_NOEXEC_)

static char dir[96], devdir[96], path[160], prog[160];

static char *in(char *buf, const char *name)
{
	snprintf(buf, 160, "%s/%s", dir, name);
	return buf;
}

static long st_flags(const char *at)
{
	struct statfs sfs;

	if (statfs(at, &sfs) != 0)
		return -1;
	return sfs.f_flags & ST_ALL_;
}

/* Copies the running program (argv[0]) to `to`, mode 0755. */
static int copy_self(const char *self, const char *to)
{
	static char buf[65536];
	int in_fd = open(self, O_RDONLY), out_fd = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	long n;
	int ok = in_fd >= 0 && out_fd >= 0;

	while (ok && (n = read(in_fd, buf, sizeof(buf))) > 0)
		ok = write(out_fd, buf, n) == n;
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	return ok;
}

/* Runs `prog child` in a child: its exit status, or 128 + the execve errno if it failed. */
static int run_prog(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *args[] = {prog, "child", NULL};
		char *envp[] = {NULL};
		execve(prog, args, envp);
		_exit(128 + errno);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	int fd, fd2;
	void *p;

	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return 7;

	tst_tmp_path(dir, sizeof(dir), "mflags");
	tst_tmp_path(devdir, sizeof(devdir), "mflags-dev");
	mkdir(dir, 0755);
	mkdir(devdir, 0755);
	TF_OK("mount tmpfs", mount("none", dir, "tmpfs", 0, "mode=0755"));

	/* Remount read-only against writers. */
	fd = open(in(path, "w"), O_CREAT | O_RDWR, 0644);
	tst_check(fd >= 0, "a file open O_RDWR");
	TF_ERR("remount read-only with it open",
	       mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
	tst_check(st_flags(dir) == 0, "the mount stayed read-write");
	fd2 = open(in(path, "w2"), O_CREAT | O_RDWR, 0644);
	tst_check(fd2 >= 0, "and still creates files");
	close(fd2);
	TF_ERR("MS_REMOUNT|MS_BIND read-only with it open",
	       mount("none", dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), EBUSY);
	close(fd);
	fd = open(in(path, "w"), O_WRONLY);
	TF_ERR("remount read-only with a file open O_WRONLY",
	       mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
	close(fd);
	fd = open(in(path, "w"), O_RDONLY);
	TF_OK("remount read-only with a file open only for reading",
	      mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL));
	tst_check(st_flags(dir) == ST_RDONLY_, "statfs f_flags ST_RDONLY");
	TF_ERR("open for writing on it", open(in(path, "w"), O_RDWR), EROFS);
	TF_OK("remount read-write", mount("none", dir, NULL, MS_REMOUNT, NULL));
	close(fd);

	fd = open(in(path, "w"), O_RDWR);
	tst_check(fd >= 0 && ftruncate(fd, 4096) == 0, "a 4 KiB file open O_RDWR");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	tst_check(p != MAP_FAILED, "mapped shared and writable");
	close(fd);
	TF_ERR("remount read-only with only the mapping left",
	       mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	TF_OK("remount read-only once it is unmapped",
	      mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL));
	TF_OK("remount read-write", mount("none", dir, NULL, MS_REMOUNT, NULL));
	TF_OK("remount read-only with MS_BIND",
	      mount("none", dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	TF_OK("and back with MS_BIND", mount("none", dir, NULL, MS_REMOUNT | MS_BIND, NULL));

	/* noexec. */
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	tst_check(copy_self(argv[0], prog), "the test program copied into the tmpfs");
	tst_check(run_prog() == 7, "it runs from there");
	TF_OK("remount noexec,nosuid",
	      mount("none", dir, NULL, MS_REMOUNT | MS_NOEXEC | MS_NOSUID, NULL));
	tst_check(st_flags(dir) == (ST_NOEXEC_ | ST_NOSUID_), "statfs f_flags ST_NOEXEC|ST_NOSUID");
	tst_check(run_prog() == 128 + EACCES, "execve on the noexec mount -> EACCES");
	fd = open(prog, O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	TF_ERR("mmap PROT_EXEC of it", p == MAP_FAILED ? -1 : 0, EPERM);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	tst_check(p != MAP_FAILED && memcmp(p, "\177ELF", 4) == 0, "mmap PROT_READ of it works");
	if (p != MAP_FAILED) {
		/* The mapping never may execute (no VM_MAYEXEC): EACCES, not EPERM. */
		TF_ERR("mprotect PROT_EXEC of that mapping", mprotect(p, 4096, PROT_READ | PROT_EXEC),
		       EACCES);
		TF_OK("mprotect PROT_READ|PROT_WRITE of it", mprotect(p, 4096, PROT_READ | PROT_WRITE));
		munmap(p, 4096);
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	tst_check(p != MAP_FAILED, "mmap MAP_SHARED PROT_READ of it works");
	if (p != MAP_FAILED) {
		TF_ERR("mprotect PROT_EXEC of the shared mapping",
		       mprotect(p, 4096, PROT_READ | PROT_EXEC), EACCES);
		munmap(p, 4096);
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	tst_check(p != MAP_FAILED, "an anonymous mapping");
	if (p != MAP_FAILED) {
		TF_OK("mprotect PROT_EXEC of the anonymous mapping",
		      mprotect(p, 4096, PROT_READ | PROT_EXEC));
		munmap(p, 4096);
	}
	close(fd);
	TF_OK("remount without noexec", mount("none", dir, NULL, MS_REMOUNT, NULL));
	tst_check(st_flags(dir) == 0, "statfs f_flags clear");
	tst_check(run_prog() == 7, "it runs again");

	/* nodev, on a bind mount of /dev. */
	TF_OK("bind mount /dev", mount("/dev", devdir, NULL, MS_BIND, NULL));
	snprintf(path, sizeof(path), "%s/null", devdir);
	fd = open(path, O_RDWR);
	tst_check(fd >= 0, "its null opens");
	close(fd);
	TF_OK("remount the bind mount nodev",
	      mount("none", devdir, NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL));
	tst_check(st_flags(devdir) == ST_NODEV_, "statfs f_flags ST_NODEV");
	TF_ERR("open its null for reading", open(path, O_RDONLY), EACCES);
	TF_ERR("open its null for writing", open(path, O_WRONLY), EACCES);
	fd = open(path, O_PATH);
	tst_check(fd >= 0, "O_PATH still opens it");
	close(fd);
	fd = open("/dev/null", O_RDWR);
	tst_check(fd >= 0, "/dev/null itself still opens");
	close(fd);
	TF_OK("umount the bind mount", umount2(devdir, 0));

	TF_OK("remount with all four",
	      mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		    NULL));
	tst_check(st_flags(dir) == ST_ALL_, "statfs f_flags all four");

	TF_OK("umount", umount2(dir, 0));
	rmdir(dir);
	rmdir(devdir);
	return tst_exit();
}
