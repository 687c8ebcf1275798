// pipe(2) and pipe2(2) basics: bytes come out in order and a read takes what is there; the
// read end reports O_RDONLY and the write end O_WRONLY in F_GETFL (plus O_NONBLOCK from
// pipe2, and no O_LARGEFILE), O_CLOEXEC sets FD_CLOEXEC on both; an empty pipe is EAGAIN
// when non-blocking; EOF once every writer is closed (a dup'ed write end keeps it open);
// fstat says S_IFIFO; lseek and pread are ESPIPE; FIONREAD counts bytes on both ends; the
// wrong direction is EBADF; bad flags are EINVAL and a bad array EFAULT (no fd is left open).
#include "tst_fd.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static void check_flags(void)
{
	int p[2], q[2];

	if (pipe(p) != 0) {
		tfail("pipe: %s", tst_errname(errno));
		return;
	}
	tst_check(fcntl(p[0], F_GETFL) == O_RDONLY, "pipe read end: F_GETFL == O_RDONLY");
	tst_check(fcntl(p[1], F_GETFL) == O_WRONLY, "pipe write end: F_GETFL == O_WRONLY");
	tst_check(fcntl(p[0], F_GETFD) == 0 && fcntl(p[1], F_GETFD) == 0,
		  "pipe: no FD_CLOEXEC");
	tst_check(p[1] == p[0] + 1, "pipe: the two lowest free fds, read end first");
	close(p[0]);
	close(p[1]);

	if (pipe2(q, O_CLOEXEC | O_NONBLOCK) != 0) {
		tfail("pipe2: %s", tst_errname(errno));
		return;
	}
	tst_check(fcntl(q[0], F_GETFL) == (O_RDONLY | O_NONBLOCK) &&
			  fcntl(q[1], F_GETFL) == (O_WRONLY | O_NONBLOCK),
		  "pipe2(O_NONBLOCK): both ends non-blocking");
	tst_check(fcntl(q[0], F_GETFD) == FD_CLOEXEC && fcntl(q[1], F_GETFD) == FD_CLOEXEC,
		  "pipe2(O_CLOEXEC): both ends close-on-exec");
	close(q[0]);
	close(q[1]);
}

static void check_data(void)
{
	int p[2], n, w2;
	char buf[64];
	struct stat st;

	if (pipe2(p, O_NONBLOCK) != 0)
		return;
	TST_ERR("read of an empty non-blocking pipe", read(p[0], buf, 8), EAGAIN);
	tst_check(write(p[1], "hello ", 6) == 6 && write(p[1], "world", 5) == 5,
		  "two writes");
	n = 0;
	tst_check(ioctl(p[0], FIONREAD, &n) == 0 && n == 11, "FIONREAD on the read end: 11");
	n = 0;
	tst_check(ioctl(p[1], FIONREAD, &n) == 0 && n == 11, "FIONREAD on the write end: 11");
	tst_check(read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0, "a short read");
	tst_check(read(p[0], buf, sizeof(buf)) == 8 && memcmp(buf, "lo world", 8) == 0,
		  "a long read takes what is there");
	tst_check(read(p[0], buf, 0) == 0, "a zero-length read returns 0");

	tst_check(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat: S_IFIFO");
	tst_check((st.st_mode & 0777) == 0600, "fstat: mode 0600");
	TST_ERR("lseek on a pipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
	TST_ERR("pread on a pipe", pread(p[0], buf, 1, 0), ESPIPE);
	TST_ERR("write to the read end", write(p[0], "x", 1), EBADF);
	TST_ERR("read from the write end", read(p[1], buf, 1), EBADF);

	w2 = dup(p[1]);
	write(p[1], "end", 3);
	close(p[1]);
	tst_check(read(p[0], buf, sizeof(buf)) == 3, "data written before close is read");
	TST_ERR("a dup'ed write end keeps the pipe open", read(p[0], buf, 1), EAGAIN);
	close(w2);
	tst_check(read(p[0], buf, sizeof(buf)) == 0, "EOF once every writer is closed");
	tst_check(read(p[0], buf, sizeof(buf)) == 0, "EOF stays EOF");
	close(p[0]);
}

static void check_errors(void)
{
	int p[2], probe;

	tst_raw_err("pipe2 with O_RDWR", sys3(SYS_pipe2, p, O_RDWR, 0), EINVAL);
	tst_raw_err("pipe2 with O_APPEND", sys3(SYS_pipe2, p, O_APPEND, 0), EINVAL);
	probe = dup(0);
	close(probe);
	tst_raw_err("pipe with a NULL array", sys3(SYS_pipe, 0, 0, 0), EFAULT);
	tst_raw_err("pipe2 with an unmapped array", sys3(SYS_pipe2, 8, 0, 0), EFAULT);
	tst_check(dup(0) == probe, "the faulted calls left no fd open");
	close(probe);
}

int main(void)
{
	check_flags();
	check_data();
	check_errors();
	return tst_exit();
}
