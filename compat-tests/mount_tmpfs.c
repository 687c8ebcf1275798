// mount(2) and umount2(2) with a tmpfs on a fresh directory under /tmp: the new file system
// is empty, has the mode= of its options, its own st_dev, TMPFS_MAGIC and the mount flags in
// statfs(2), and a /proc/mounts line; MS_REMOUNT changes the flags (read-only: EROFS);
// umount2 is EBUSY while a file is open or a cwd is inside, and MNT_DETACH takes it away at
// once while an open fd still reads it; bind mounts show a directory elsewhere; and the
// errors: EINVAL (not a mount point, unknown flags, remount of a non-root), ENOENT, ENODEV
// (unknown type), ENOTBLK (ext2 on a regular file), ENOTDIR (a file as the target).
#include "tst_files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994
#define ST_RDONLY_ 1
#define ST_NOSUID_ 2
#define ST_NODEV_ 4
#define ST_NOEXEC_ 8

static char dir[96], path[160], path2[160];

static char *in(char *buf, const char *name)
{
	snprintf(buf, 160, "%s/%s", dir, name);
	return buf;
}

/* The options field of the /proc/mounts line of mount point `at` ("" if none), and its type. */
static int mounts_line(const char *at, char *type, char *opts)
{
	char line[512], src[256], mp[256];
	int found = 0;
	FILE *f = fopen("/proc/mounts", "r");

	type[0] = opts[0] = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s %255s", src, mp, type, opts) == 4 &&
		    strcmp(mp, at) == 0)
			found = 1;
		if (found)
			break;
	}
	fclose(f);
	if (!found)
		type[0] = opts[0] = 0;
	return found;
}

/*
 * The /proc/self/mountinfo line of mount point `at`: its root in the file system, device
 * numbers, per-mount options, type and source. 1 if found.
 */
static int mountinfo_line(const char *at, char *root, unsigned *maj, unsigned *min, char *opts,
			  char *type, char *src)
{
	char line[768], mp[256];
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");
		if (dash && sscanf(line, "%*u %*u %u:%u %255s %255s %255s", maj, min, root, mp, opts) == 5 &&
		    strcmp(mp, at) == 0 && sscanf(dash, " - %63s %255s", type, src) == 2)
			found = 1;
	}
	fclose(f);
	return found;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int main(void)
{
	struct stat st, parent;
	struct statfs sfs;
	char type[64], opts[256], buf[16];
	int fd;

	tst_tmp_path(dir, sizeof(dir), "mnt");
	mkdir(dir, 0755);
	stat(dir, &parent);

	TF_OK("mount tmpfs nosuid,nodev mode=0700",
	      mount("none", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=1m"));
	tst_check(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "root has mode= 0700");
	tst_check(st.st_dev != parent.st_dev, "the mount has its own st_dev");
	tst_check(statfs(dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_, "statfs f_type TMPFS_MAGIC");
	tst_checkf((sfs.f_flags & (ST_RDONLY_ | ST_NOSUID_ | ST_NODEV_ | ST_NOEXEC_)) ==
			   (ST_NOSUID_ | ST_NODEV_),
		   "statfs f_flags nosuid,nodev");
	tst_check(mounts_line(dir, type, opts) && strcmp(type, "tmpfs") == 0,
		  "/proc/mounts has the tmpfs line");
	tst_checkf(starts(opts, "rw,nosuid,nodev"), "/proc/mounts options rw,nosuid,nodev");
	{
		char root[256], src[256];
		unsigned maj = 0, min = 0;
		int ok = mountinfo_line(dir, root, &maj, &min, opts, type, src);
		tst_check(ok, "/proc/self/mountinfo has the mount");
		tst_check(ok && strcmp(root, "/") == 0 && strcmp(type, "tmpfs") == 0 &&
				  strcmp(src, "none") == 0 && starts(opts, "rw,nosuid,nodev"),
			  "mountinfo: root /, tmpfs, source none, rw,nosuid,nodev");
		tst_check(ok && makedev(maj, min) == st.st_dev, "mountinfo: major:minor is st_dev");
	}

	fd = open(in(path, "f"), O_CREAT | O_RDWR, 0644);
	tst_check(fd >= 0 && write(fd, "hello", 5) == 5, "a file is written in the tmpfs");
	TF_ERR("umount2 with a file open", umount2(dir, 0), EBUSY);
	TF_ERR("umount2 MNT_FORCE with a file open", umount2(dir, MNT_FORCE), EBUSY);
	close(fd);

	TF_OK("chdir into the mount", chdir(dir));
	TF_ERR("umount2 with the cwd inside", umount2(dir, 0), EBUSY);
	TF_OK("chdir /", chdir("/"));

	mkdir(in(path, "sub"), 0755);
	TF_ERR("umount2 of a directory that is not a mount point", umount2(path, 0), EINVAL);
	TF_ERR("umount2 unknown flag", umount2(dir, 0x100), EINVAL);
	TF_ERR("umount2 missing path", umount2(in(path, "nope"), 0), ENOENT);
	TF_ERR("remount of a directory that is not a mount root",
	       mount("none", in(path, "sub"), NULL, MS_REMOUNT | MS_RDONLY, NULL), EINVAL);
	TF_ERR("mount unknown type", mount("none", in(path, "sub"), "nosuchfs", 0, NULL), ENODEV);
	TF_ERR("mount ext2 from a regular file", mount(in(path2, "f"), in(path, "sub"), "ext2", 0, NULL),
	       ENOTBLK);
	TF_ERR("mount on a regular file", mount("none", in(path, "f"), "tmpfs", 0, NULL), ENOTDIR);
	TF_ERR("mount on a missing path", mount("none", in(path, "nope"), "tmpfs", 0, NULL), ENOENT);
	TF_ERR("mount bad tmpfs option", mount("none", in(path, "sub"), "tmpfs", 0, "bogus=1"), EINVAL);

	TF_OK("remount read-only", mount("none", dir, NULL, MS_REMOUNT | MS_RDONLY, NULL));
	TF_ERR("create on the read-only mount", open(in(path, "g"), O_CREAT | O_RDWR, 0644), EROFS);
	tst_check(statfs(dir, &sfs) == 0 && (sfs.f_flags & ST_RDONLY_), "statfs f_flags ST_RDONLY");
	tst_checkf(mounts_line(dir, type, opts) && starts(opts, "ro,"), "/proc/mounts shows ro");
	TF_OK("remount read-write", mount("none", dir, NULL, MS_REMOUNT, NULL));
	tst_checkf(mounts_line(dir, type, opts) && starts(opts, "rw,") && !strstr(opts, "nosuid"),
		   "remount without nosuid clears it");

	/* A bind mount of a directory of the tmpfs onto another. */
	mkdir(in(path, "src"), 0755);
	mkdir(in(path, "dst"), 0755);
	close(open(in(path, "src/x"), O_CREAT | O_RDWR, 0644));
	TF_OK("bind mount", mount(in(path, "src"), in(path2, "dst"), NULL, MS_BIND, NULL));
	tst_check(stat(in(path, "dst/x"), &st) == 0, "the bound directory shows at the target");
	{
		char root[256], src[256];
		unsigned maj, min;
		tst_check(mountinfo_line(in(path, "dst"), root, &maj, &min, opts, type, src) &&
				  strcmp(root, "/src") == 0 && strcmp(type, "tmpfs") == 0,
			  "mountinfo: the bind mount's root is /src of the tmpfs");
	}
	TF_OK("umount the bind mount", umount2(in(path, "dst"), 0));
	tst_check(stat(in(path, "dst/x"), &st) == -1 && errno == ENOENT, "the bind mount is gone");

	/* MNT_DETACH with an open fd. */
	fd = open(in(path, "f"), O_RDONLY);
	TF_OK("umount2 MNT_DETACH with a file open", umount2(dir, MNT_DETACH));
	tst_check(stat(in(path, "f"), &st) == -1 && errno == ENOENT, "the path no longer reaches it");
	tst_check(!mounts_line(dir, type, opts), "/proc/mounts no longer lists it");
	memset(buf, 0, sizeof(buf));
	tst_check(fd >= 0 && pread(fd, buf, sizeof(buf), 0) == 5 && memcmp(buf, "hello", 5) == 0,
		  "the open fd still reads the detached file");
	close(fd);
	TF_ERR("umount2 again", umount2(dir, 0), EINVAL);

	rmdir(dir);
	return tst_exit();
}
