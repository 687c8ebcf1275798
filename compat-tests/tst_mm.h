/*
 * tst_mm.h - helpers the mm_*.c compat tests share: probing whether memory is mapped
 * without crashing, checking contents, reading /proc/self/maps and smaps.
 *
 * Probes go through system calls that take a user pointer, so an unmapped or protected
 * page gives EFAULT instead of a signal: openat(2) reads a path (EFAULT when unreadable,
 * ENOENT for an empty path), clock_gettime(2) writes a timespec.
 */
#ifndef OXV_TST_MM_H
#define OXV_TST_MM_H

#include "tst.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* 1 when the byte at addr is readable (the kernel can read a path there), else 0. */
static inline int tst_readable(const void *addr)
{
	long r = sys4(SYS_openat, AT_FDCWD, addr, O_RDONLY, 0);

	if (r >= 0)
		close((int)r);
	return r != -EFAULT;
}

/* 1 when 16 bytes at addr are writable by the kernel, else 0. */
static inline int tst_writable(void *addr)
{
	return sys3(SYS_clock_gettime, CLOCK_MONOTONIC, addr, 0) == 0;
}

/* 1 when all len bytes at p are v. */
static inline int tst_all(const void *p, size_t len, unsigned char v)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

/*
 * A free, 2 MiB aligned stretch of `len` bytes: reserved PROT_NONE, then unmapped, so that
 * MAP_FIXED mappings can be placed in it at known offsets.
 */
static inline unsigned char *tst_free_area(size_t len)
{
	size_t slack = 2UL << 20;
	unsigned char *p = mmap(NULL, len + slack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + slack - 1) & ~(slack - 1);
	munmap(p, len + slack);
	return (unsigned char *)a;
}

/* Reads a whole /proc file into a malloc'd, NUL-terminated buffer (NULL on failure). */
static inline char *tst_read_file(const char *path)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * The value in kB of `field` (e.g. "AnonHugePages:") in the smaps entry of the mapping that
 * contains addr; -1 if there is none.
 */
static inline long tst_smaps_kb(const void *addr, const char *field)
{
	char *all = tst_read_file("/proc/self/smaps"), *line, *save = NULL;
	int in = 0;
	long v = -1;

	if (!all)
		return -1;
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	}
	free(all);
	return v;
}

#endif /* OXV_TST_MM_H */
