/*
 * tst_files.h - helpers for the compat tests of file locks, extended attributes, metadata
 * and data-movement calls, on top of tst.h:
 *
 *   tst_files_errname(e)     tst_errname() plus EDEADLK, EOPNOTSUPP, ENODATA, EXDEV, ENXIO...
 *   TF_ERR(what, call, E)    a libc call must return -1 with errno E (errno read right after
 *                            the call)
 *   TF_RAW(what, call, E)    a raw syscall (sys6...) must return -E
 *   TF_OK(what, call)        a call must return 0 (or, for TF_OKV, the value v)
 *   tst_tmp_path(buf, tag)   a /tmp path with the pid in it (never printed)
 *   tst_shm_path(buf, tag)   the same under /dev/shm, a tmpfs on Linux and in oxv
 *   tst_fork(fn)             fork, run fn in the child and _exit with its result
 *   tst_wait(pid)            the child's exit status (-1 if it did not exit normally)
 */
#ifndef OXV_TST_FILES_H
#define OXV_TST_FILES_H

#include "tst.h"

#include <stdlib.h>
#include <sys/wait.h>

static inline const char *tst_files_errname(long e)
{
	switch (e) {
	case EDEADLK: return "EDEADLK";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODATA: return "ENODATA";
	case EXDEV: return "EXDEV";
	case ENXIO: return "ENXIO";
	case ENOLCK: return "ENOLCK";
	case ENODEV: return "ENODEV";
	case EFBIG: return "EFBIG";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EPIPE: return "EPIPE";
	case ELOOP: return "ELOOP";
	case EBUSY: return "EBUSY";
	case ENOSPC: return "ENOSPC";
	case ETXTBSY: return "ETXTBSY";
	default: return tst_errname(e);
	}
}

static inline void tst_files_err(const char *what, long ret, int saved_errno, int err)
{
	if (ret == -1 && saved_errno == err)
		tpass("%s -> %s", what, tst_files_errname(err));
	else if (ret == -1)
		tfail("%s: got %s, want %s", what, tst_files_errname(saved_errno),
		      tst_files_errname(err));
	else
		tfail("%s: succeeded (%ld), want %s", what, ret, tst_files_errname(err));
}

static inline void tst_files_raw(const char *what, long ret, int err)
{
	if (ret == -err)
		tpass("%s -> %s", what, tst_files_errname(err));
	else if (ret < 0 && ret > -4096)
		tfail("%s: got %s, want %s", what, tst_files_errname(-ret), tst_files_errname(err));
	else
		tfail("%s: succeeded (%ld), want %s", what, ret, tst_files_errname(err));
}

static inline void tst_files_ok(const char *what, long ret, int saved_errno, long want)
{
	if (ret == want)
		tpass("%s", what);
	else if (ret == -1)
		tfail("%s: failed with %s", what, tst_files_errname(saved_errno));
	else
		tfail("%s: got %ld, want %ld", what, ret, want);
}

#define TF_ERR(what, call, err)                                                           \
	do {                                                                               \
		long tf_r_ = (long)(call);                                                 \
		int tf_e_ = errno;                                                         \
		tst_files_err((what), tf_r_, tf_e_, (err));                                \
	} while (0)

#define TF_RAW(what, call, err) tst_files_raw((what), (long)(call), (err))

#define TF_OKV(what, call, want)                                                          \
	do {                                                                               \
		long tf_r_ = (long)(call);                                                 \
		int tf_e_ = errno;                                                         \
		tst_files_ok((what), tf_r_, tf_e_, (want));                                \
	} while (0)

#define TF_OK(what, call) TF_OKV(what, call, 0)

static inline char *tst_tmp_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/oxv-compat-%s-%ld", tag, (long)getpid());
	return buf;
}

static inline char *tst_shm_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/dev/shm/oxv-compat-%s-%ld", tag, (long)getpid());
	return buf;
}

static inline pid_t tst_fork(int (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn());
	return pid;
}

static inline int tst_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#endif /* OXV_TST_FILES_H */
