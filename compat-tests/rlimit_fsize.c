// RLIMIT_FSIZE (setrlimit(2), write(2)): a write to a regular file that crosses the soft
// limit is cut short at it, without a signal; one that starts at or past it fails with EFBIG
// and sends SIGXFSZ to the caller (counted by a handler; still EFBIG when the signal is
// ignored; its default action kills). The same for pwrite, writev, O_APPEND writes;
// ftruncate/fallocate growing a file past the limit are EFBIG + SIGXFSZ (up to it, or
// shrinking, is fine); an empty write at the limit is 0 without a signal; a pipe has no
// limit; sendfile, copy_file_range and splice into a file stop at the limit and are EFBIG +
// SIGXFSZ at it (sendfile and splice also send SIGXFSZ when cut short, copy_file_range does
// not); RLIM_INFINITY lifts the limit.
#include "tst_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#define LIMIT 5000

static volatile sig_atomic_t xfsz;
static char src_path[96], dst_path[96], cfr_path[96], spl_path[96];
static char data[8000];

static void on_xfsz(int sig)
{
	(void)sig;
	xfsz++;
}

static void set_limit(rlim_t soft)
{
	struct rlimit r;

	getrlimit(RLIMIT_FSIZE, &r);
	r.rlim_cur = soft;
	if (setrlimit(RLIMIT_FSIZE, &r) != 0)
		tfail("setrlimit: %s", tst_files_errname(errno));
}

static void expect_signals(int n, const char *what)
{
	tst_checkf(xfsz == n, "%s: %d SIGXFSZ so far", what, n);
}

static int killed_by_default(void)
{
	struct rlimit nocore = {0, 0};
	int m = memfd_create("dfl", 0);

	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGXFSZ, SIG_DFL);
	if (m < 0 || ftruncate(m, LIMIT) != 0 || lseek(m, LIMIT, SEEK_SET) != LIMIT)
		return 2;
	write(m, "x", 1);
	return 3;
}

static int memfd_checks(void)
{
	struct iovec iov[2] = {{data, 3}, {data, 5}};
	int m = memfd_create("fsize", 0);

	if (m < 0) {
		tfail("memfd_create: %s", tst_files_errname(errno));
		return -1;
	}
	TF_OKV("write below the limit: whole", write(m, data, 3000), 3000);
	TF_OKV("write crossing the limit: cut at it", write(m, data, 3000), 2000);
	expect_signals(0, "a short write");
	TF_ERR("write at the limit", write(m, data, 10), EFBIG);
	expect_signals(1, "write at the limit");
	TF_OKV("empty write at the limit: 0", write(m, data, 0), 0);
	expect_signals(1, "empty write");
	TF_ERR("pwrite past the limit", pwrite(m, data, 10, 6000), EFBIG);
	expect_signals(2, "pwrite past the limit");
	TF_OKV("pwrite crossing the limit: cut", pwrite(m, data, 100, 4990), 10);
	TF_OK("shrink below the limit", ftruncate(m, 4995));
	TF_OKV("lseek", lseek(m, 4995, SEEK_SET), 4995);
	TF_OKV("writev crossing the limit: cut", writev(m, iov, 2), 5);
	TF_ERR("writev at the limit", writev(m, iov, 2), EFBIG);
	TF_ERR("pwritev past the limit", pwritev(m, iov, 2, 7000), EFBIG);
	expect_signals(4, "writev and pwritev");
	TF_OK("O_APPEND on", fcntl(m, F_SETFL, O_APPEND));
	TF_OKV("lseek to 0", lseek(m, 0, SEEK_SET), 0);
	TF_ERR("O_APPEND write to a file at the limit", write(m, data, 1), EFBIG);
	TF_ERR("O_APPEND pwrite below the limit still appends", pwrite(m, data, 1, 0), EFBIG);
	expect_signals(6, "O_APPEND writes");
	TF_OK("O_APPEND off", fcntl(m, F_SETFL, 0));
	TF_OK("ftruncate to exactly the limit", ftruncate(m, LIMIT));
	TF_ERR("ftruncate past the limit", ftruncate(m, LIMIT + 1), EFBIG);
	expect_signals(7, "ftruncate past the limit");
	TF_OK("ftruncate down", ftruncate(m, 100));
	TF_ERR("fallocate past the limit", fallocate(m, 0, 4000, 2000), EFBIG);
	TF_ERR("fallocate KEEP_SIZE past the limit", fallocate(m, FALLOC_FL_KEEP_SIZE, 6000, 10),
	       EFBIG);
	expect_signals(9, "fallocate past the limit");
	TF_OK("fallocate up to the limit", fallocate(m, 0, 0, LIMIT));
	expect_signals(9, "fallocate up to the limit");

	signal(SIGXFSZ, SIG_IGN);
	TF_ERR("SIGXFSZ ignored: write at the limit still EFBIG", pwrite(m, data, 1, LIMIT), EFBIG);
	TF_ERR("SIGXFSZ ignored: ftruncate still EFBIG", ftruncate(m, LIMIT * 2), EFBIG);
	signal(SIGXFSZ, on_xfsz);
	expect_signals(9, "ignored");
	return m;
}

static void pipe_checks(void)
{
	int p[2];
	char buf[sizeof(data)];

	if (pipe(p) != 0) {
		tfail("pipe: %s", tst_files_errname(errno));
		return;
	}
	TF_OKV("a pipe write past the limit: whole", write(p[1], data, 6000), 6000);
	TF_OKV("and all of it reads back", read(p[0], buf, sizeof(buf)), 6000);
	expect_signals(9, "pipe");
	close(p[0]);
	close(p[1]);
}

static void copy_checks(void)
{
	int src, dst, cfr, spl, p[2];
	off_t off;
	loff_t oi, oo;
	char buf[2000];

	tst_tmp_path(src_path, sizeof(src_path), "fsize-src");
	tst_tmp_path(dst_path, sizeof(dst_path), "fsize-dst");
	tst_tmp_path(cfr_path, sizeof(cfr_path), "fsize-cfr");
	tst_tmp_path(spl_path, sizeof(spl_path), "fsize-spl");
	src = open(src_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dst = open(dst_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cfr = open(cfr_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	spl = open(spl_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (src < 0 || dst < 0 || cfr < 0 || spl < 0 || pipe(p) != 0) {
		tfail("set up: %s", tst_files_errname(errno));
		return;
	}
	/* The source is written with no limit, then the limit goes back on. */
	set_limit(RLIM_INFINITY);
	TF_OKV("source written", write(src, data, sizeof(data)), (long)sizeof(data));
	set_limit(LIMIT);

	off = 0;
	TF_OKV("sendfile into a file: stops at the limit", sendfile(dst, src, &off, 8000), LIMIT);
	tst_check(off == LIMIT, "sendfile moved the offset by what it wrote");
	/* Linux's splice writer tries the rest, at the limit: the short count comes with
	 * SIGXFSZ. */
	expect_signals(10, "sendfile cut at the limit");
	TF_ERR("sendfile at the limit", sendfile(dst, src, &off, 8000), EFBIG);
	expect_signals(11, "sendfile at the limit");

	oi = 0;
	oo = 0;
	TF_OKV("copy_file_range: stops at the limit",
	       sys6(SYS_copy_file_range, src, (long)&oi, cfr, (long)&oo, 8000, 0), LIMIT);
	/* copy_file_range cuts its count first: no signal. */
	expect_signals(11, "copy_file_range to the limit");
	TF_RAW("copy_file_range at the limit",
	       sys6(SYS_copy_file_range, src, (long)&oi, cfr, (long)&oo, 8000, 0), EFBIG);
	oi = sizeof(data);
	TF_RAW("copy_file_range at the limit, nothing to copy",
	       sys6(SYS_copy_file_range, src, (long)&oi, cfr, (long)&oo, 8000, 0), EFBIG);
	expect_signals(13, "copy_file_range at the limit");

	TF_OKV("pipe filled", write(p[1], data, 6000), 6000);
	oo = 0;
	TF_OKV("splice into a file: stops at the limit",
	       splice(p[0], NULL, spl, &oo, 6000, 0), LIMIT);
	expect_signals(14, "splice cut at the limit");
	TF_ERR("splice at the limit", splice(p[0], NULL, spl, &oo, 6000, 0), EFBIG);
	expect_signals(15, "splice at the limit");
	TF_OKV("the rest stayed in the pipe", read(p[0], buf, sizeof(buf)), 1000);

	close(p[0]);
	close(p[1]);
	close(src);
	close(dst);
	close(cfr);
	close(spl);
	unlink(src_path);
	unlink(dst_path);
	unlink(cfr_path);
	unlink(spl_path);
}

int main(void)
{
	struct sigaction sa;
	struct rlimit old;
	pid_t pid;
	int st, m;

	memset(data, 'd', sizeof(data));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_xfsz;
	sigaction(SIGXFSZ, &sa, NULL);
	if (getrlimit(RLIMIT_FSIZE, &old) != 0 || old.rlim_max != RLIM_INFINITY) {
		tfail("the hard RLIMIT_FSIZE is not RLIM_INFINITY");
		return tst_exit();
	}
	set_limit(LIMIT);

	m = memfd_checks();
	pipe_checks();
	copy_checks();

	pid = tst_fork(killed_by_default);
	tst_checkf(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ,
		   "SIGXFSZ at its default kills the writer");

	set_limit(RLIM_INFINITY);
	if (m >= 0) {
		TF_OKV("RLIM_INFINITY: write past the old limit", pwrite(m, data, 100, 6000), 100);
		TF_OK("RLIM_INFINITY: ftruncate past it", ftruncate(m, 1 << 20));
		close(m);
	}
	expect_signals(15, "after RLIM_INFINITY");
	return tst_exit();
}
