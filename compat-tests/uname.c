// uname(2): sysname is "Linux" and machine "x86_64" (programs and libcs test
// these), every field is NUL-terminated within its 65 bytes, release looks
// like a Linux version ("<digit>...<dot>..."), and the raw syscall agrees with
// libc. release, version and nodename are checked but never printed: they
// differ between the host and oxv.
#include "tst.h"

#include <ctype.h>
#include <sys/utsname.h>

static int terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

int main(void)
{
	struct utsname u, raw;
	long r;

	memset(&u, 0x7f, sizeof(u));
	if (uname(&u) != 0) {
		tfail("uname: %s", tst_errname(errno));
		return tst_exit();
	}
	tpass("uname succeeds");

	tst_check(terminated(u.sysname, sizeof(u.sysname)), "sysname is NUL-terminated");
	tst_check(terminated(u.nodename, sizeof(u.nodename)), "nodename is NUL-terminated");
	tst_check(terminated(u.release, sizeof(u.release)), "release is NUL-terminated");
	tst_check(terminated(u.version, sizeof(u.version)), "version is NUL-terminated");
	tst_check(terminated(u.machine, sizeof(u.machine)), "machine is NUL-terminated");
#ifdef _GNU_SOURCE
	tst_check(terminated(u.domainname, sizeof(u.domainname)), "domainname is NUL-terminated");
#endif
	if (!terminated(u.sysname, sizeof(u.sysname)) || !terminated(u.machine, sizeof(u.machine)))
		return tst_exit();

	if (strcmp(u.sysname, "Linux") == 0)
		tpass("sysname == \"Linux\"");
	else
		tfail("sysname: got \"%s\", want \"Linux\"", u.sysname);
	if (strcmp(u.machine, "x86_64") == 0)
		tpass("machine == \"x86_64\"");
	else
		tfail("machine: got \"%s\", want \"x86_64\"", u.machine);
	tst_check(terminated(u.release, sizeof(u.release)) && isdigit((unsigned char)u.release[0]) &&
			  strchr(u.release, '.') != NULL,
		  "release starts with a digit and has a '.'");
	tst_check(terminated(u.version, sizeof(u.version)) && u.version[0] != '\0',
		  "version is not empty");

	memset(&raw, 0x7f, sizeof(raw));
	r = sys3(SYS_uname, &raw, 0, 0);
	tst_check(r == 0, "raw uname returns 0");
	tst_check(r == 0 && memcmp(&raw, &u, sizeof(u)) == 0, "raw uname fills the same bytes as libc");
	return tst_exit();
}
