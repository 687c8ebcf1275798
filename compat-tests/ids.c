// getpid/gettid/getppid and the uid/gid family: stable, consistent with each
// other (one thread: tid == pid; not setuid: real == effective ids), equal
// through libc and the raw syscall. No id is printed: pids and the user the
// host runner uses are not the same as in oxv.
#include "tst.h"

#include <sys/types.h>

int main(void)
{
	pid_t pid = getpid();
	long raw;

	tst_check(pid > 0, "getpid() > 0");
	tst_check(getpid() == pid, "getpid() is stable");
	raw = sys3(SYS_getpid, 0, 0, 0);
	tst_check(raw == pid, "raw getpid == libc getpid");
	raw = sys3(SYS_gettid, 0, 0, 0);
	tst_check(raw == pid, "gettid == getpid in a single-threaded process");
	tst_check(getppid() >= 0, "getppid() >= 0");
	tst_check(getppid() != pid, "getppid() != getpid()");
	raw = sys3(SYS_getppid, 0, 0, 0);
	tst_check(raw == getppid(), "raw getppid == libc getppid");

	tst_check(getuid() == geteuid(), "getuid() == geteuid()");
	tst_check(getgid() == getegid(), "getgid() == getegid()");
	tst_check(sys3(SYS_getuid, 0, 0, 0) == (long)getuid(), "raw getuid == libc getuid");
	tst_check(sys3(SYS_geteuid, 0, 0, 0) == (long)geteuid(), "raw geteuid == libc geteuid");
	tst_check(sys3(SYS_getgid, 0, 0, 0) == (long)getgid(), "raw getgid == libc getgid");
	tst_check(sys3(SYS_getegid, 0, 0, 0) == (long)getegid(), "raw getegid == libc getegid");
	tst_check(getuid() != (uid_t)-1 && getgid() != (gid_t)-1, "uid and gid are not -1");
	return tst_exit();
}
