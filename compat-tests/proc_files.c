// procfs for several processes: /proc/self names the caller; /proc/<pid> exists for a live
// child and for a zombie (State Z) and disappears once reaped; status, stat, cmdline,
// environ, limits, fd/ and cwd agree with what the process knows of itself (getppid,
// getpgid, argv, the environment it was exec'd with, getrlimit, its open files); the system
// files have the fields libcs and tools parse.
#include "tst.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[16384];

/* Reads all of `path` into buf (NULs kept); returns its length or -errno. */
static int slurp(const char *path)
{
	int fd = open(path, O_RDONLY), n = 0, r;

	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

/* The number after `key` in buf ("Key:\t123"), or -1. */
static long field(const char *key)
{
	char *at = strstr(buf, key);

	return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

static char state_of(pid_t pid)
{
	char path[64], *at;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (slurp(path) < 0)
		return '?';
	at = strstr(buf, "State:\t");
	return at ? at[7] : '?';
}

static int execd(void)
{
	/* The environment exec gave us is what /proc/self/environ shows. */
	int n = slurp("/proc/self/environ");

	return n == 14 && memcmp(buf, "OXV_PROC=env1\0", 14) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char path[128], link[256], self[256], name[64];
	struct rlimit rl;
	ssize_t n;
	pid_t child, me = getpid();
	int p[2], fd, st, found;
	DIR *d;
	struct dirent *e;

	if (argc > 1 && strcmp(argv[1], "--execd") == 0)
		return execd();

	n = readlink("/proc/self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	tst_check(n > 0 && atoi(link) == me, "/proc/self links to the pid");

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	tst_check(n > 0 && self[0] == '/' && access(self, X_OK) == 0,
		  "/proc/self/exe is an absolute path to an executable");

	chdir("/tmp");
	n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	tst_checkf(strcmp(link, "/tmp") == 0, "/proc/self/cwd follows chdir (%s)", link);

	/* cmdline: argv with each string NUL-terminated. */
	n = slurp("/proc/self/cmdline");
	tst_check(n == (ssize_t)strlen(argv[0]) + 1 && strcmp(buf, argv[0]) == 0,
		  "cmdline holds argv NUL-terminated");

	/* status and stat agree with the process's own view. */
	slurp("/proc/self/status");
	tst_check(field("Pid:\t") == me && field("PPid:\t") == getppid() &&
			  field("Tgid:\t") == me,
		  "status: Pid, Tgid and PPid");
	tst_check(strstr(buf, "State:\tR (running)") != NULL, "status: the reader is running");
	tst_check(field("Threads:\t") == 1, "status: one thread");
	tst_check(field("VmRSS:\t") > 0, "status: VmRSS is counted");
	slurp("/proc/self/stat");
	{
		int pid, ppid, pgrp, sid;
		char comm[64], state;

		tst_check(sscanf(buf, "%d (%63[^)]) %c %d %d %d", &pid, comm, &state, &ppid, &pgrp,
				 &sid) == 6 &&
				  pid == me && ppid == getppid() && pgrp == getpgrp() &&
				  sid == getsid(0) && state == 'R',
			  "stat: pid, comm, state, ppid, pgrp and session");
	}

	/* limits: the soft/hard NOFILE limits as getrlimit reports them. */
	rl.rlim_cur = 321;
	rl.rlim_max = 654;
	setrlimit(RLIMIT_NOFILE, &rl);
	slurp("/proc/self/limits");
	{
		char *at = strstr(buf, "Max open files");
		long soft = -1, hard = -1;

		if (at)
			sscanf(at + 14, "%ld %ld", &soft, &hard);
		tst_checkf(soft == 321 && hard == 654, "limits: Max open files %ld %ld", soft,
			   hard);
	}

	/* fd/: an open file links to its path, a pipe to pipe:[ino]. */
	/* Per-pid name: the three builds' host runs go in parallel. */
	snprintf(name, sizeof(name), "/tmp/oxv-procfd-%d", (int)getpid());
	fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0600);
	pipe(p);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	/* The pid differs between host and oxv: show the link only when it is wrong. */
	tst_checkf(strcmp(link, name) == 0, "fd link names the file%s%s",
		   strcmp(link, name) ? ": " : "", strcmp(link, name) ? link : "");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	{
		struct stat sb;
		char want[64];

		fstat(p[0], &sb);
		snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)sb.st_ino);
		tst_check(strcmp(link, want) == 0, "pipe fd link is pipe:[st_ino]");
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", 99);
	tst_check(readlink(path, link, sizeof(link)) == -1 && errno == ENOENT,
		  "a closed fd has no entry: ENOENT");
	unlink(name);
	close(fd);

	/* A child: its directory appears, its status names its parent, its zombie shows Z. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		char c;

		close(p[1]);
		read(p[0], &c, 1);
		_exit(3);
	}
	close(p[0]);
	found = 0;
	d = opendir("/proc");
	while ((e = readdir(d)))
		found |= atoi(e->d_name) == child;
	closedir(d);
	tst_check(found, "/proc lists the child's pid");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	slurp(path);
	tst_check(field("PPid:\t") == me && field("Pid:\t") == child, "the child's status");
	write(p[1], "x", 1);
	close(p[1]);
	{
		siginfo_t si;

		waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	}
	tst_checkf(state_of(child) == 'Z', "an unreaped child is a zombie (%c)", state_of(child));
	waitpid(child, &st, 0);
	snprintf(path, sizeof(path), "/proc/%d", (int)child);
	tst_check(access(path, F_OK) == -1 && errno == ENOENT, "a reaped child's directory is gone");

	/* environ: what execve passed. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		char *args[] = { self, "--execd", NULL };
		char *envp[] = { "OXV_PROC=env1", NULL };

		execve(self, args, envp);
		_exit(100);
	}
	waitpid(child, &st, 0);
	tst_checkf(WIFEXITED(st) && WEXITSTATUS(st) == 0, "environ holds the exec'd environment (%d)",
		   WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	/* System files. */
	slurp("/proc/meminfo");
	tst_check(field("MemTotal:") > 0 && field("MemFree:") > 0 &&
			  field("MemFree:") <= field("MemTotal:"),
		  "meminfo: MemTotal and MemFree");
	{
		double up = -1, idle = -1;

		slurp("/proc/uptime");
		tst_check(sscanf(buf, "%lf %lf", &up, &idle) == 2 && up > 0, "uptime: two numbers");
	}
	{
		double a, b, c;
		int run, total;

		slurp("/proc/loadavg");
		tst_check(sscanf(buf, "%lf %lf %lf %d/%d", &a, &b, &c, &run, &total) == 5 &&
				  run >= 1 && total >= 1,
			  "loadavg: three averages and running/total");
	}
	slurp("/proc/version");
	tst_check(strncmp(buf, "Linux version ", 14) == 0, "version starts 'Linux version '");
	slurp("/proc/stat");
	tst_check(strncmp(buf, "cpu ", 4) == 0 && strstr(buf, "\nbtime ") != NULL,
		  "stat: cpu line and btime");
	slurp("/proc/cpuinfo");
	tst_check(strncmp(buf, "processor\t: 0", 13) == 0 && strstr(buf, "vendor_id") != NULL,
		  "cpuinfo: processor 0 and vendor_id");
	slurp("/proc/mounts");
	tst_check(strstr(buf, " / ") != NULL && strstr(buf, " /proc proc ") != NULL,
		  "mounts: the root and /proc");
	slurp("/proc/filesystems");
	tst_check(strstr(buf, "\tproc\n") != NULL && strstr(buf, "\ttmpfs\n") != NULL,
		  "filesystems: proc and tmpfs");
	return tst_exit();
}
