// memfd_create(2) and sealing: a memfd is an anonymous regular file, read-write, with
// O_LARGEFILE; it can be written, read back, truncated and mapped (MAP_SHARED writes are
// seen by read). Without MFD_ALLOW_SEALING it carries F_SEAL_SEAL and no seal can be added
// (EPERM); with it, F_SEAL_GROW/SHRINK/WRITE refuse growth, shrinking and writes (EPERM),
// F_SEAL_SEAL freezes the set; unknown seal bits are EINVAL; seals on a non-memfd are EINVAL;
// bad flags and a 250-byte name are EINVAL; MFD_CLOEXEC sets FD_CLOEXEC.
#include "tst_fd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#define MFD_ALLOW_SEALING 2U
#endif

static int memfd(const char *name, unsigned flags)
{
	return (int)sys3(SYS_memfd_create, name, flags, 0);
}

int main(void)
{
	char name[251], buf[16];
	struct stat st;
	int fd, plain, file;
	char *m;

	fd = memfd("oxv-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	tst_check(fd >= 0, "memfd_create");
	tst_check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC: FD_CLOEXEC");
	tst_check((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "open read-write");
	tst_check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0,
		  "an empty regular file");
	tst_check(write(fd, "hello", 5) == 5 && pread(fd, buf, 5, 0) == 5 &&
			  memcmp(buf, "hello", 5) == 0,
		  "write then read back");
	tst_check(ftruncate(fd, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 4096,
		  "ftruncate to a page");
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		tfail("mmap MAP_SHARED: %s", tst_errname(errno));
	} else {
		memcpy(m + 100, "mapped", 6);
		tst_check(pread(fd, buf, 6, 100) == 6 && memcmp(buf, "mapped", 6) == 0,
			  "a MAP_SHARED write is seen by read");
		munmap(m, 4096);
	}

	tst_check(fcntl(fd, F_GET_SEALS) == 0, "MFD_ALLOW_SEALING: no seals yet");
	tst_check(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0, "add GROW | SHRINK");
	tst_check(fcntl(fd, F_GET_SEALS) == (F_SEAL_GROW | F_SEAL_SHRINK), "F_GET_SEALS shows them");
	TST_ERR("growing with a write", pwrite(fd, "x", 1, 4096), EPERM);
	TST_ERR("growing with ftruncate", ftruncate(fd, 8192), EPERM);
	TST_ERR("shrinking with ftruncate", ftruncate(fd, 10), EPERM);
	tst_check(pwrite(fd, "HE", 2, 0) == 2, "writing inside the file is fine");
	TST_ERR("unknown seal bits", fcntl(fd, F_ADD_SEALS, 0x100000), EINVAL);
	tst_check(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0, "add WRITE");
	TST_ERR("writing at all", pwrite(fd, "x", 1, 0), EPERM);
	tst_check(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0, "add SEAL");
	TST_ERR("no more seals", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM);

	plain = memfd("", 0);
	tst_check(plain >= 0 && fcntl(plain, F_GETFD) == 0, "an empty name, no flags");
	tst_check(fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL, "without MFD_ALLOW_SEALING: F_SEAL_SEAL");
	TST_ERR("adding to it", fcntl(plain, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	file = open("/proc/self/exe", O_RDONLY);
	TST_ERR("F_GET_SEALS on a file", fcntl(file, F_GET_SEALS), EINVAL);
	close(file);

	memset(name, 'n', 250);
	name[250] = 0;
	TST_RAW("a 250-byte name", sys3(SYS_memfd_create, name, 0, 0), EINVAL);
	name[249] = 0;
	file = memfd(name, 0);
	tst_check(file >= 0, "a 249-byte name is fine");
	close(file);
	TST_RAW("flags 0x100", sys3(SYS_memfd_create, "x", 0x100, 0), EINVAL);
	TST_RAW("a NULL name", sys3(SYS_memfd_create, 0, 0, 0), EFAULT);
	close(plain);
	close(fd);
	return tst_exit();
}
