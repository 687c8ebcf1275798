// vmsplice(2) both ways. Into a pipe (a write end): the vector's bytes arrive in order;
// each piece of a segment that lies within one user page takes a pipe slot of its own that
// later writes do not append to (16 ten-byte segments fill a 16-slot pipe; a one-slot pipe
// takes only the part of a buffer before its page boundary); a full pipe is EAGAIN with
// SPLICE_F_NONBLOCK; SPLICE_F_GIFT is accepted; a bad segment after a good one gives a short
// count; no reader is EPIPE. Out of a pipe (a read end): as readv, EAGAIN with
// SPLICE_F_NONBLOCK when empty, 0 once the writer is gone, waits for a writer's data.
// Errors: unknown flags EINVAL; closed fd, O_PATH fd and a file that is not a pipe EBADF
// (but a vector of 0 bytes returns 0 first); more than 1024 segments and a negative length
// EINVAL; an unreadable vector or buffer EFAULT.
#include "tst_fd.h"
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

#define VMSPLICE_NR 278
#define F_NONBLOCK 2 /* SPLICE_F_NONBLOCK */
#define F_GIFT 8     /* SPLICE_F_GIFT */

static char pages[3 * 4096] __attribute__((aligned(4096)));
static char big[65536] __attribute__((aligned(4096)));

static long vms(int fd, const struct iovec *iov, long n, long flags)
{
	return sys4(VMSPLICE_NR, fd, iov, n, flags);
}

static long drain(int fd)
{
	char buf[4096];
	long total = 0, n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

static int late_writer(int wfd)
{
	struct timespec ts = {0, 50 * 1000 * 1000};

	nanosleep(&ts, NULL);
	return write(wfd, "late", 4) == 4 ? 0 : 1;
}

static int child_wfd;

static int child_main(void)
{
	return late_writer(child_wfd);
}

int main(void)
{
	int p[2], fd, opath, efd, i;
	char buf[256], path[96];
	struct iovec iov[1100];
	long n;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_NONBLOCK) != 0) {
		tfail("pipe2: %s", tst_errname(errno));
		return tst_exit();
	}

	/* Into the pipe: two segments, in order, GIFT accepted. */
	iov[0].iov_base = "hello ";
	iov[0].iov_len = 6;
	iov[1].iov_base = "world";
	iov[1].iov_len = 5;
	tst_check(vms(p[1], iov, 2, F_GIFT) == 11, "vmsplice 2 segments with SPLICE_F_GIFT: 11");
	n = read(p[0], buf, sizeof(buf));
	tst_check(n == 11 && memcmp(buf, "hello world", 11) == 0, "the reader gets them in order");

	/* A whole page-aligned 64 KiB fills the pipe; then EAGAIN. */
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7);
	iov[0].iov_base = big;
	iov[0].iov_len = sizeof(big);
	tst_check(vms(p[1], iov, 1, F_NONBLOCK) == 65536, "64 KiB page-aligned fills the pipe");
	iov[0].iov_len = 1;
	TST_RAW("vmsplice into a full pipe, SPLICE_F_NONBLOCK", vms(p[1], iov, 1, F_NONBLOCK),
		EAGAIN);
	TST_ERR("write into the full pipe", write(p[1], "x", 1), EAGAIN);
	{
		static char back[65536];
		long got = 0;

		while ((n = read(p[0], back + got, sizeof(back) - got)) > 0)
			got += n;
		tst_check(got == 65536 && memcmp(back, big, sizeof(big)) == 0,
			  "the 64 KiB read back intact");
	}

	/* 16 ten-byte segments take the 16 slots: the pipe is full after 160 bytes. */
	for (i = 0; i < 16; i++) {
		iov[i].iov_base = pages + i * 10;
		iov[i].iov_len = 10;
	}
	tst_check(vms(p[1], iov, 16, F_NONBLOCK) == 160, "16 ten-byte segments: 160");
	TST_ERR("each took a slot of its own: a 1-byte write is EAGAIN", write(p[1], "x", 1),
		EAGAIN);
	tst_check(drain(p[0]) == 160, "160 bytes to read");

	/* 17 segments into 16 slots: 16 go in. */
	for (i = 0; i < 17; i++) {
		iov[i].iov_base = pages + i;
		iov[i].iov_len = 1;
	}
	tst_check(vms(p[1], iov, 17, F_NONBLOCK) == 16, "17 one-byte segments: 16 fit");
	tst_check(drain(p[0]) == 16, "16 bytes to read");

	/* A one-slot pipe takes only the part before the page boundary. */
	if (fcntl(p[1], F_SETPIPE_SZ, 4096) != 4096) {
		tfail("F_SETPIPE_SZ 4096: %s", tst_errname(errno));
	} else {
		memset(pages, 'a', 4096);
		memset(pages + 4096, 'b', 4096);
		iov[0].iov_base = pages + 4096 - 50;
		iov[0].iov_len = 100;
		tst_check(vms(p[1], iov, 1, F_NONBLOCK) == 50,
			  "100 bytes across a page boundary into one slot: 50");
		n = read(p[0], buf, sizeof(buf));
		tst_check(n == 50 && buf[0] == 'a' && buf[49] == 'a', "the 50 bytes before it");
		tst_check(vms(p[1], iov, 1, F_NONBLOCK) == 50, "and again 50");
		drain(p[0]);
		fcntl(p[1], F_SETPIPE_SZ, 65536);
	}

	/* A bad segment after a good one: the good one's count. */
	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 10;
	tst_check(vms(p[1], iov, 2, F_NONBLOCK) == 3, "good then unmapped segment: 3");
	drain(p[0]);
	TST_RAW("only an unmapped segment", vms(p[1], iov + 1, 1, F_NONBLOCK), EFAULT);

	/* Out of the pipe. */
	tst_check(write(p[1], "hello world", 11) == 11, "write 11 bytes");
	memset(buf, 0, sizeof(buf));
	iov[0].iov_base = buf;
	iov[0].iov_len = 5;
	iov[1].iov_base = buf + 100;
	iov[1].iov_len = 100;
	n = vms(p[0], iov, 2, 0);
	tst_check(n == 11 && memcmp(buf, "hello", 5) == 0 && memcmp(buf + 100, " world", 6) == 0,
		  "vmsplice from the read end into 2 segments: 11, split in order");
	TST_RAW("empty pipe with a writer, SPLICE_F_NONBLOCK", vms(p[0], iov, 2, F_NONBLOCK),
		EAGAIN);
	tst_check(write(p[1], "xyz", 3) == 3, "write 3 bytes");
	iov[0].iov_base = NULL;
	iov[0].iov_len = 3;
	TST_RAW("into an unmapped buffer", vms(p[0], iov, 1, F_NONBLOCK), EFAULT);
	iov[0].iov_base = buf;
	tst_check(vms(p[0], iov, 1, F_NONBLOCK) == 3 && memcmp(buf, "xyz", 3) == 0,
		  "the bytes stayed in the pipe");

	/* Errors. */
	iov[0].iov_base = buf;
	iov[0].iov_len = 1;
	TST_RAW("unknown flag 0x10", vms(p[1], iov, 1, 0x10), EINVAL);
	TST_RAW("fd -1", vms(-1, iov, 1, 0), EBADF);
	TST_RAW("more than 1024 segments", vms(p[1], iov, 1025, 0), EINVAL);
	TST_RAW("NULL vector", vms(p[1], NULL, 1, 0), EFAULT);
	iov[0].iov_len = (size_t)-1;
	TST_RAW("negative length", vms(p[1], iov, 1, 0), EINVAL);
	iov[0].iov_len = 1;
	for (i = 0; i < 1024; i++) {
		iov[i].iov_base = buf;
		iov[i].iov_len = 0;
	}
	tst_check(vms(p[1], iov, 1024, 0) == 0, "1024 empty segments: 0");

	tst_tmp_path(path, sizeof(path), "vmsplice");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		tfail("open %s", tst_errname(errno));
	} else {
		iov[0].iov_len = 1;
		TST_RAW("a regular file", vms(fd, iov, 1, 0), EBADF);
		tst_check(vms(fd, iov, 0, 0) == 0, "a regular file with 0 segments: 0");
		close(fd);
		opath = open(path, O_PATH);
		TST_RAW("an O_PATH fd", vms(opath, iov, 1, 0), EBADF);
		close(opath);
		unlink(path);
	}
	efd = sys3(SYS_eventfd2, 0, 0, 0);
	TST_RAW("an eventfd", vms(efd, iov, 1, 0), EBADF);
	close(efd);

	/* Waiting for a writer's data (blocking pipe). */
	close(p[0]);
	close(p[1]);
	if (pipe(p) != 0) {
		tfail("pipe: %s", tst_errname(errno));
		return tst_exit();
	}
	child_wfd = p[1];
	pid = tst_fork(child_main);
	iov[0].iov_base = buf;
	iov[0].iov_len = sizeof(buf);
	n = vms(p[0], iov, 1, 0);
	tst_check(n == 4 && memcmp(buf, "late", 4) == 0, "a blocking vmsplice waits for data");
	tst_check(tst_wait(pid) == 0, "the writer exited 0");
	close(p[1]);
	tst_check(vms(p[0], iov, 1, 0) == 0, "0 once the last writer is gone");

	/* No reader. */
	if (pipe(p) != 0) {
		tfail("pipe: %s", tst_errname(errno));
		return tst_exit();
	}
	close(p[0]);
	iov[0].iov_base = "x";
	iov[0].iov_len = 1;
	TST_RAW("a pipe without reader", vms(p[1], iov, 1, 0), EPIPE);
	close(p[1]);
	return tst_exit();
}
