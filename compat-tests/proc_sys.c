// /proc/sys and /proc/<pid>/mounts: the sysctls libcs and runtimes read agree with uname(2)
// and getrlimit(2), random/uuid is a fresh version-4 UUID on every read while
// random/boot_id stays the same, the directories list; the process's mounts file has the
// root and /proc.
#include "tst.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

static char buf[4096];

static int slurp(const char *path)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

static int is_uuid4(const char *s)
{
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[14] == '4' && strchr("89ab", s[19]) && s[36] == '\n' && s[37] == 0;
}

int main(void)
{
	struct utsname u;
	char line[300], first[64];
	long v;

	uname(&u);
	slurp("/proc/sys/kernel/ostype");
	tst_check(strcmp(buf, "Linux\n") == 0, "kernel/ostype is Linux");
	slurp("/proc/sys/kernel/osrelease");
	snprintf(line, sizeof(line), "%s\n", u.release);
	tst_check(strcmp(buf, line) == 0, "kernel/osrelease is uname's release");
	slurp("/proc/sys/kernel/hostname");
	snprintf(line, sizeof(line), "%s\n", u.nodename);
	tst_check(strcmp(buf, line) == 0, "kernel/hostname is uname's nodename");
	slurp("/proc/sys/kernel/pid_max");
	v = atol(buf);
	tst_check(v >= 32768 && v <= 4194304, "kernel/pid_max is within Linux's range");
	slurp("/proc/sys/kernel/random/uuid");
	strcpy(first, buf);
	slurp("/proc/sys/kernel/random/uuid");
	tst_check(is_uuid4(first) && is_uuid4(buf) && strcmp(first, buf) != 0,
		  "random/uuid: a new version-4 UUID per read");
	slurp("/proc/sys/kernel/random/boot_id");
	strcpy(first, buf);
	slurp("/proc/sys/kernel/random/boot_id");
	tst_check(is_uuid4(first) && strcmp(first, buf) == 0, "random/boot_id: one UUID per boot");
	slurp("/proc/sys/fs/nr_open");
	{
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		tst_check(atol(buf) >= (long)rl.rlim_max, "fs/nr_open bounds RLIMIT_NOFILE's hard limit");
	}
	slurp("/proc/sys/vm/overcommit_memory");
	tst_check(buf[0] >= '0' && buf[0] <= '2' && buf[1] == '\n', "vm/overcommit_memory is 0-2");
	slurp("/proc/sys/net/core/somaxconn");
	tst_check(atol(buf) > 0, "net/core/somaxconn is positive");
	{
		DIR *d = opendir("/proc/sys/kernel");
		struct dirent *e;
		int seen = 0;

		while (d && (e = readdir(d)))
			seen |= (strcmp(e->d_name, "ostype") == 0) | (strcmp(e->d_name, "random") == 0) << 1;
		if (d)
			closedir(d);
		tst_check(seen == 3, "/proc/sys/kernel lists ostype and random/");
	}
	slurp("/proc/self/mounts");
	tst_check(strstr(buf, " / ") != NULL && strstr(buf, " /proc proc ") != NULL,
		  "/proc/self/mounts has the root and /proc");
	return tst_exit();
}
