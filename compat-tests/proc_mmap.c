// Files whose contents are rendered on each read cannot be mapped: mmap(2) of procfs and
// sysfs files is ENODEV, as Linux's have no mmap operation (oxv rendered /proc/self/maps
// with the address space locked while a fault on such a mapping held the same lock).
#include "tst.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	const char *files[] = { "/proc/self/maps", "/proc/self/status", "/proc/self/stat",
				"/proc/sys/kernel/ostype", "/sys/devices/system/cpu/online" };

	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = open(files[i], O_RDONLY);
		void *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);

		tst_checkf(fd >= 0 && p == MAP_FAILED && errno == ENODEV, "mmap of %s: ENODEV",
			   files[i]);
		close(fd);
	}
	return tst_exit();
}
