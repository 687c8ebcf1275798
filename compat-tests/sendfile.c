// sendfile(2): copies from a file to another file, a pipe, /dev/null or stdout. With an offset
// pointer the input's own offset stays and *offset moves; without, the input's offset moves;
// the output's offset always moves; the copy stops at the end of the input; into a pipe it
// moves what the pipe has room for (EAGAIN on a full O_NONBLOCK pipe). Errors in Linux's
// order: EFAULT for the offset pointer first, EBADF (input), ESPIPE (offset on a pipe input),
// EINVAL (negative offset or count), EBADF (output), EINVAL (a pipe or directory as input, an
// O_APPEND output, an eventfd output).
#include "tst_files.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <unistd.h>

static char src[96], dst[96];

int main(void)
{
	char data[10000], buf[10000];
	int in, out, ro, p[2], big[2], null, app, ev, dir, opath, i;
	off_t off;
	long n;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = 'a' + i % 26;
	tst_tmp_path(src, sizeof(src), "sendfile-src");
	tst_tmp_path(dst, sizeof(dst), "sendfile-dst");
	unlink(src);
	unlink(dst);
	in = open(src, O_RDWR | O_CREAT | O_EXCL, 0600);
	out = open(dst, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (in < 0 || out < 0 || write(in, data, sizeof(data)) != sizeof(data) || pipe(p) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return tst_exit();
	}
	lseek(in, 0, SEEK_SET);

	TF_OKV("sendfile 3000 bytes", sendfile(out, in, NULL, 3000), 3000);
	TF_OKV("the input offset moved", lseek(in, 0, SEEK_CUR), 3000);
	TF_OKV("the output offset moved", lseek(out, 0, SEEK_CUR), 3000);
	off = 9000;
	TF_OKV("with an offset: to the end of the input", sendfile(out, in, &off, 5000), 1000);
	tst_check(off == 10000, "*offset moved to the end");
	TF_OKV("the input's own offset stayed", lseek(in, 0, SEEK_CUR), 3000);
	TF_OKV("at the end: 0", sendfile(out, in, &off, 10), 0);
	n = pread(out, buf, sizeof(buf), 0);
	tst_check(n == 4000 && memcmp(buf, data, 3000) == 0 &&
			  memcmp(buf + 3000, data + 9000, 1000) == 0,
		  "the output holds exactly the bytes sent");
	off = 0;
	TF_OKV("a count of 0", sendfile(out, in, &off, 0), 0);

	TF_OKV("into a pipe", sendfile(p[1], in, NULL, 100), 100);
	TF_OKV("the pipe holds them", read(p[0], buf, sizeof(buf)), 100);
	tst_check(memcmp(buf, data + 3000, 100) == 0, "in order");
	if (pipe(big) == 0) {
		fcntl(big[1], F_SETFL, O_NONBLOCK);
		fcntl(big[1], F_SETPIPE_SZ, 4096);
		off = 0;
		TF_OKV("into a one-page pipe: one page", sendfile(big[1], in, &off, 10000), 4096);
		TF_ERR("into the full O_NONBLOCK pipe", sendfile(big[1], in, &off, 10), EAGAIN);
		close(big[0]);
		close(big[1]);
	}
	null = open("/dev/null", O_WRONLY);
	off = 0;
	TF_OKV("into /dev/null", sendfile(null, in, &off, 500), 500);

	TF_RAW("an offset pointer that faults, before the fds", sys4(SYS_sendfile, -1, -1, 8, 1),
	       EFAULT);
	TF_ERR("input fd -1", sendfile(out, -1, NULL, 1), EBADF);
	opath = open(src, O_PATH);
	TF_ERR("an O_PATH input", sendfile(out, opath, NULL, 1), EBADF);
	TF_ERR("a write-only input", sendfile(out, null, NULL, 1), EBADF);
	off = 0;
	TF_ERR("an offset on a pipe input", sendfile(out, p[0], &off, 1), ESPIPE);
	off = -1;
	TF_ERR("a negative offset", sendfile(out, in, &off, 1), EINVAL);
	TF_ERR("a count that is negative as ssize_t", sendfile(out, in, NULL, (size_t)-1), EINVAL);
	TF_ERR("output fd -1", sendfile(-1, in, NULL, 1), EBADF);
	ro = open(src, O_RDONLY);
	TF_ERR("a read-only output", sendfile(ro, in, NULL, 1), EBADF);
	close(ro);
	write(p[1], "x", 1);
	TF_ERR("a pipe as input", sendfile(out, p[0], NULL, 1), EINVAL);
	dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	TF_ERR("a directory as input", sendfile(out, dir, NULL, 1), EINVAL);
	app = open(dst, O_WRONLY | O_APPEND);
	off = 0;
	TF_ERR("an O_APPEND output", sendfile(app, in, &off, 1), EINVAL);
	ev = eventfd(0, 0);
	off = 0;
	TF_ERR("an eventfd output", sendfile(ev, in, &off, 1), EINVAL);

	close(ev);
	close(app);
	close(dir);
	close(opath);
	close(null);
	close(in);
	close(out);
	unlink(src);
	unlink(dst);
	return tst_exit();
}
