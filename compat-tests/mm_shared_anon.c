// MAP_SHARED | MAP_ANONYMOUS memory: zero-filled; a second view of the same pages made with
// mremap(old_size 0) sees every write either way; MADV_DONTNEED does not lose shared data;
// the pages outlive munmap of one view. /proc/self/maps shows both views as "rw-s" lines of
// "/dev/zero (deleted)" with the same inode; touching a page past the object's size after
// growing a view with mremap raises SIGBUS.
#include "tst_mm.h"

#include <setjmp.h>
#include <signal.h>

static sigjmp_buf env;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

/* The maps line for the mapping at addr: its perms, device, inode and path. */
static int maps_line(void *addr, char *perms, char *dev, unsigned long *ino, char *name)
{
	char *all = tst_read_file("/proc/self/maps"), *line, *save = NULL;
	int found = 0;

	if (!all)
		return 0;
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long lo, hi, off;
		int n = 0;

		if (sscanf(line, "%lx-%lx %4s %lx %5s %lu %n", &lo, &hi, perms, &off, dev, ino, &n) >=
			    6 &&
		    lo == (uintptr_t)addr) {
			snprintf(name, 64, "%s", line + n);
			found = 1;
			break;
		}
	}
	free(all);
	return found;
}

int main(void)
{
	unsigned char *area = tst_free_area(64 * PAGE);
	unsigned char *p, *q;
	char perms[8], dev[8], name[64], perms2[8], dev2[8], name2[64];
	unsigned long ino, ino2;
	long r;

	if (!area) {
		tfail("no free area");
		return tst_exit();
	}
	p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0);
	if (p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(tst_all(p, 2 * PAGE, 0), "shared anonymous memory is zero-filled");
	memset(p, 0x21, PAGE);
	r = sys6(SYS_mremap, (long)p, 0, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
		 (long)(area + 8 * PAGE), 0);
	tst_check(r == (long)(area + 8 * PAGE), "mremap(old_size 0) makes a second view");
	q = area + 8 * PAGE;
	tst_check(tst_all(q, PAGE, 0x21), "the second view shows the first one's writes");
	memset(q + PAGE, 0x43, PAGE);
	tst_check(tst_all(p + PAGE, PAGE, 0x43), "and the first view the second one's");

	if (maps_line(p, perms, dev, &ino, name) && maps_line(q, perms2, dev2, &ino2, name2)) {
		tst_check(strcmp(perms, "rw-s") == 0 && strcmp(perms2, "rw-s") == 0,
			  "both views are rw-s in /proc/self/maps");
		tst_check(strcmp(name, "/dev/zero (deleted)") == 0 && strcmp(name, name2) == 0,
			  "both are named /dev/zero (deleted)");
		tst_check(ino == ino2 && ino != 0 && strcmp(dev, dev2) == 0,
			  "both show the same device and inode");
	} else {
		tfail("no /proc/self/maps lines for the views");
	}

	tst_check(madvise(p, 2 * PAGE, MADV_DONTNEED) == 0 && tst_all(p, PAGE, 0x21) &&
			  tst_all(q + PAGE, PAGE, 0x43),
		  "MADV_DONTNEED keeps shared data");
	munmap(p, 2 * PAGE);
	tst_check(tst_all(q, PAGE, 0x21), "the pages outlive munmap of the other view");

	/* Grow the view past the object: the new page is beyond its end. */
	r = sys6(SYS_mremap, (long)q, 2 * PAGE, 3 * PAGE, 0, 0, 0);
	tst_check(r == (long)q, "mremap grows the view in place");
	signal(SIGBUS, on_bus);
	if (sigsetjmp(env, 1) == 0) {
		(void)*(volatile unsigned char *)(q + 2 * PAGE);
		tfail("a page past the object: no SIGBUS");
	} else {
		tpass("a page past the object raises SIGBUS");
	}
	signal(SIGBUS, SIG_DFL);
	munmap(q, 3 * PAGE);
	return tst_exit();
}
