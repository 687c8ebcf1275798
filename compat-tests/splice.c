// splice(2) between a pipe and a file, both ways, and between two pipes: from a file into a
// pipe it moves what the pipe has room for (at most len), with or without an offset pointer
// (the file offset moves only without one); from a pipe into a file it moves what the pipe
// holds (at most len), 0 once the pipe is empty and has no writer, EAGAIN with
// SPLICE_F_NONBLOCK while it is empty; pipe to pipe moves the bytes in order. Errors: len 0
// returns 0 first; unknown flags EINVAL; EBADF; ESPIPE for an offset on a pipe side; EBADF
// for the wrong access mode; EINVAL with no pipe, for a pipe spliced to itself, for an
// O_APPEND output and a negative offset; EPIPE when the output pipe has no reader.
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static char path[96], out_path[96];

int main(void)
{
	char data[6000], buf[8000];
	int fd, out, p[2], q[2], r[2], app, i;
	loff_t off;
	long n;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = 'A' + i % 26;
	tst_tmp_path(path, sizeof(path), "splice");
	tst_tmp_path(out_path, sizeof(out_path), "splice-out");
	unlink(path);
	unlink(out_path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	out = open(out_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || out < 0 || write(fd, data, sizeof(data)) != sizeof(data) || pipe(p) != 0 ||
	    pipe(q) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}
	lseek(fd, 0, SEEK_SET);

	TF_OKV("file to pipe, 1000 bytes", splice(fd, NULL, p[1], NULL, 1000, 0), 1000);
	TF_OKV("the file offset moved", lseek(fd, 0, SEEK_CUR), 1000);
	off = 5000;
	TF_OKV("with an offset: up to the end of the file", splice(fd, &off, p[1], NULL, 4000, 0),
	       1000);
	tst_check(off == 6000, "*off moved");
	TF_OKV("the file offset did not", lseek(fd, 0, SEEK_CUR), 1000);
	TF_OKV("at the end of the file: 0", splice(fd, &off, p[1], NULL, 10, 0), 0);

	TF_OKV("pipe to file: what the pipe holds, up to len", splice(p[0], NULL, out, NULL, 1500, 0),
	       1500);
	TF_OKV("the output offset moved", lseek(out, 0, SEEK_CUR), 1500);
	off = 100;
	TF_OKV("pipe to file at an offset", splice(p[0], NULL, out, &off, 5000, 0), 500);
	tst_check(off == 600, "*off moved");
	n = pread(out, buf, sizeof(buf), 0);
	tst_check(n == 1500 && memcmp(buf, data, 100) == 0 && memcmp(buf + 100, data + 5500, 500) == 0 &&
			  memcmp(buf + 600, data + 600, 400) == 0 &&
			  memcmp(buf + 1000, data + 5000, 500) == 0,
		  "the output file holds the right bytes in the right places");
	TF_ERR("an empty pipe with SPLICE_F_NONBLOCK", splice(p[0], NULL, out, NULL, 10,
	       SPLICE_F_NONBLOCK), EAGAIN);

	write(p[1], "pipe-to-pipe", 12);
	TF_OKV("pipe to pipe", splice(p[0], NULL, q[1], NULL, 100, 0), 12);
	TF_OKV("the bytes arrived", read(q[0], buf, sizeof(buf)), 12);
	tst_check(memcmp(buf, "pipe-to-pipe", 12) == 0, "in order");
	if (pipe(r) == 0) {
		close(r[1]);
		TF_OKV("from an empty pipe without writers: 0", splice(r[0], NULL, out, NULL, 10, 0),
		       0);
		close(r[0]);
	}

	TF_OKV("len 0 returns 0 before any check", splice(-1, NULL, -1, NULL, 0, 0xff), 0);
	TF_ERR("unknown flags", splice(fd, NULL, p[1], NULL, 1, 0x100), EINVAL);
	TF_ERR("fd_in -1", splice(-1, NULL, p[1], NULL, 1, 0), EBADF);
	TF_ERR("fd_out -1", splice(fd, NULL, -1, NULL, 1, 0), EBADF);
	off = 0;
	TF_ERR("an offset for the pipe side", splice(p[0], &off, out, NULL, 1, 0), ESPIPE);
	TF_ERR("an offset for the pipe output", splice(fd, NULL, p[1], &off, 1, 0), ESPIPE);
	TF_ERR("a pipe's write end as input", splice(p[1], NULL, out, NULL, 1, 0), EBADF);
	TF_ERR("no pipe at all", splice(fd, NULL, out, NULL, 1, 0), EINVAL);
	TF_ERR("a pipe to itself", splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL);
	write(p[1], "x", 1);
	app = open(out_path, O_WRONLY | O_APPEND);
	TF_ERR("an O_APPEND output", splice(p[0], NULL, app, NULL, 1, 0), EINVAL);
	off = -1;
	TF_ERR("a negative offset", splice(fd, &off, p[1], NULL, 1, 0), EINVAL);
	TF_RAW("an offset pointer that faults", sys6(SYS_splice, fd, 8, p[1], 0, 1, 0), EFAULT);
	close(q[0]);
	TF_ERR("into a pipe without readers", splice(fd, NULL, q[1], NULL, 1, 0), EPIPE);

	close(app);
	close(fd);
	close(out);
	unlink(path);
	unlink(out_path);
	return tst_exit();
}
