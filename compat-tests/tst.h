/*
 * tst.h - the few helpers every oxv compat test shares (LTP style).
 *
 * A test prints one line per check:
 *   TPASS: <what>
 *   TFAIL: <what>: <details>
 *   TCONF: <why the check does not apply>
 * and returns tst_exit() from main: 0 when no check failed, 1 otherwise.
 *
 * Each line is flushed as it is printed, so the output up to a crash is
 * visible and the stdout seen by the runner does not depend on whether libc
 * decided that stdout is line buffered (a console in oxv) or fully buffered
 * (a pipe on the host).
 *
 * sys6() makes a raw syscall with the `syscall` instruction so that libc
 * wrappers (vDSO fast paths, argument checks done in libc, errno) do not
 * stand between the test and the kernel. It returns what the kernel put in
 * rax: a value >= 0, or -errno.
 *
 * Works with glibc and musl; uses no Linux UAPI headers (musl-gcc has none).
 */
#ifndef OXV_TST_H
#define OXV_TST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int tst_failures;

static inline void tst_line(const char *tag, const char *fmt, va_list ap)
{
	fputs(tag, stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A check held: `TPASS: <what>`. */
static inline __attribute__((format(printf, 1, 2))) void tpass(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tst_line("TPASS: ", fmt, ap);
	va_end(ap);
}

/* A check failed: `TFAIL: <what>: <details>`. Makes tst_exit() return 1. */
static inline __attribute__((format(printf, 1, 2))) void tfail(const char *fmt, ...)
{
	va_list ap;
	tst_failures++;
	va_start(ap, fmt);
	tst_line("TFAIL: ", fmt, ap);
	va_end(ap);
}

/* A check does not apply here: `TCONF: <why>`. */
static inline __attribute__((format(printf, 1, 2))) void tconf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tst_line("TCONF: ", fmt, ap);
	va_end(ap);
}

/* The exit status for main: 0 when no check failed, else 1. */
static inline int tst_exit(void)
{
	return tst_failures ? 1 : 0;
}

/*
 * Symbolic name of an errno value. Printed instead of strerror() text,
 * which differs between glibc and musl.
 */
static inline const char *tst_errname(long e)
{
	static char other[24];

	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EOVERFLOW: return "EOVERFLOW";
	default:
		snprintf(other, sizeof(other), "errno %ld", e);
		return other;
	}
}

/* Raw six-argument syscall; returns the kernel's rax (>= 0 or -errno). */
static inline long sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Shorthands for raw syscalls with fewer arguments (unused ones are 0). */
#define sys3(nr, a1, a2, a3) sys6((nr), (long)(a1), (long)(a2), (long)(a3), 0, 0, 0)
#define sys4(nr, a1, a2, a3, a4) sys6((nr), (long)(a1), (long)(a2), (long)(a3), (long)(a4), 0, 0)

/* Check that a raw syscall result is -err. */
static inline void tst_raw_err(const char *what, long ret, int err)
{
	if (ret == -err)
		tpass("%s -> %s", what, tst_errname(err));
	else if (ret < 0 && ret > -4096)
		tfail("%s: got %s, want %s", what, tst_errname(-ret), tst_errname(err));
	else
		tfail("%s: succeeded (%s), want %s", what, ret == 0 ? "0" : "nonzero",
		      tst_errname(err));
}

/* Check that a libc call returned -1 with errno == err (pass ret and errno). */
static inline void tst_libc_err(const char *what, long ret, int saved_errno, int err)
{
	if (ret == -1 && saved_errno == err)
		tpass("%s -> %s", what, tst_errname(err));
	else if (ret == -1)
		tfail("%s: got %s, want %s", what, tst_errname(saved_errno), tst_errname(err));
	else
		tfail("%s: succeeded, want %s", what, tst_errname(err));
}

/* Check a condition whose failure needs no further detail. */
static inline void tst_check(int cond, const char *what)
{
	if (cond)
		tpass("%s", what);
	else
		tfail("%s: condition is false", what);
}

/* tst_check with a printf-formatted description. */
static inline __attribute__((format(printf, 2, 3))) void tst_checkf(int cond, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tst_check(cond, what);
}

#endif /* OXV_TST_H */
