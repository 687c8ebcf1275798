/*
 * tst_fd.h - helpers for the compat tests of pipes, event files and readiness (epoll, poll,
 * select), on top of tst.h:
 *
 *   tst_fd_errname(e)          tst_errname() plus EPIPE, EBUSY, ELOOP, ECANCELED, EPERM...
 *   TST_ERR(what, call, E)     a libc call must return -1 with errno E; errno is read right
 *                              after the call (C leaves the order of arguments unspecified)
 *   TST_RAW(what, call, E)     a raw syscall (sys6...) must return -E
 */
#ifndef OXV_TST_FD_H
#define OXV_TST_FD_H

#include "tst.h"

static inline const char *tst_fd_errname(long e)
{
	switch (e) {
	case EPIPE: return "EPIPE";
	case EBUSY: return "EBUSY";
	case ELOOP: return "ELOOP";
	case ECANCELED: return "ECANCELED";
	case ENOPKG: return "ENOPKG";
	default: return tst_errname(e);
	}
}

static inline void tst_fd_err(const char *what, long ret, int saved_errno, int err)
{
	if (ret == -1 && saved_errno == err)
		tpass("%s -> %s", what, tst_fd_errname(err));
	else if (ret == -1)
		tfail("%s: got %s, want %s", what, tst_fd_errname(saved_errno),
		      tst_fd_errname(err));
	else
		tfail("%s: succeeded (%ld), want %s", what, ret, tst_fd_errname(err));
}

static inline void tst_fd_raw(const char *what, long ret, int err)
{
	if (ret == -err)
		tpass("%s -> %s", what, tst_fd_errname(err));
	else if (ret < 0 && ret > -4096)
		tfail("%s: got %s, want %s", what, tst_fd_errname(-ret), tst_fd_errname(err));
	else
		tfail("%s: succeeded (%ld), want %s", what, ret, tst_fd_errname(err));
}

#define TST_ERR(what, call, err)                                                          \
	do {                                                                               \
		long tst_r_ = (long)(call);                                                \
		int tst_e_ = errno;                                                        \
		tst_fd_err((what), tst_r_, tst_e_, (err));                                 \
	} while (0)

#define TST_RAW(what, call, err) tst_fd_raw((what), (long)(call), (err))

#endif /* OXV_TST_FD_H */
