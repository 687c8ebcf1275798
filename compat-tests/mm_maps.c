// /proc/self/maps in Linux's format, for mappings the test makes in an area of its own: a
// PROT_NONE reservation with an anonymous read-write mapping inside it, one page of which is
// made read-only, and a private read-only mapping of a file at an offset. Each line inside the
// area is printed with its addresses as page offsets into the area; the file's line must show
// the file's device (major:minor of st_dev), inode and path, which are checked, not printed.
// Also checked: the program's own text is mapped from argv[0], and there is a [stack] line.
#include "tst_mm.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

static void print_area(const unsigned char *area, size_t len, const char *file,
		       const struct stat *st)
{
	char *all = tst_read_file("/proc/self/maps"), *line, *save = NULL;
	uintptr_t lo_area = (uintptr_t)area, hi_area = lo_area + len;

	if (!all) {
		tfail("read /proc/self/maps");
		return;
	}
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long lo, hi, off, ino;
		unsigned int major, minor;
		char perms[8];
		int n = 0;

		if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &major,
			   &minor, &ino, &n) < 7 ||
		    hi <= lo_area || lo >= hi_area)
			continue;
		/* Linux may merge a reservation with a neighbour outside the area: clamp. */
		if (lo < lo_area)
			lo = lo_area;
		if (hi > hi_area)
			hi = hi_area;
		printf("%3lu-%3lu %s %08lx", (lo - lo_area) / PAGE, (hi - lo_area) / PAGE, perms,
		       off);
		if (ino == 0) {
			printf(" %02x:%02x 0 \"%s\"\n", major, minor, line + n);
		} else {
			printf(" dev %s, inode %s, path %s\n",
			       major == major(st->st_dev) && minor == minor(st->st_dev) ? "ok" : "WRONG",
			       ino == st->st_ino ? "ok" : "WRONG",
			       strcmp(line + n, file) == 0 ? "ok" : "WRONG");
		}
	}
	fflush(stdout);
	free(all);
}

static void check_program(const char *argv0)
{
	char *all = tst_read_file("/proc/self/maps"), *line, *save = NULL;
	int text = 0, stack = 0;

	if (!all) {
		tfail("read /proc/self/maps");
		return;
	}
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line), n = strlen(argv0);

		if (len > n && strcmp(line + len - n, argv0) == 0 && strstr(line, " r-xp "))
			text = 1;
		if (len > 7 && strcmp(line + len - 7, "[stack]") == 0 && strstr(line, " rw-p "))
			stack = 1;
	}
	free(all);
	tst_check(text, "the program's text is mapped r-xp from argv[0]");
	tst_check(stack, "there is an rw-p [stack] line");
}

int main(int argc, char **argv)
{
	unsigned char *area = tst_free_area(16 * PAGE), *p;
	char path[64];
	struct stat st;
	int fd;

	(void)argc;
	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	snprintf(path, sizeof(path), "/tmp/mm_maps_%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 * PAGE) || fstat(fd, &st)) {
		tfail("create the file: %s", tst_errname(errno));
		return tst_exit();
	}
	p = mmap(area, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	tst_check(p == area, "reserve 16 pages PROT_NONE");
	p = mmap(area + 2 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	tst_check(p == area + 2 * PAGE, "map 4 pages read-write inside it");
	tst_check(mprotect(area + 3 * PAGE, PAGE, PROT_READ) == 0, "make one of them read-only");
	p = mmap(area + 9 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, PAGE);
	tst_check(p == area + 9 * PAGE, "map 2 pages of the file at offset 4096");
	print_area(area, 16 * PAGE, path, &st);

	munmap(area + 9 * PAGE, 2 * PAGE);
	munmap(area + 4 * PAGE, PAGE);
	tst_check(1, "unmap the file and one anonymous page");
	print_area(area, 16 * PAGE, path, &st);

	check_program(argv[0]);
	munmap(area, 16 * PAGE);
	close(fd);
	unlink(path);
	return tst_exit();
}
