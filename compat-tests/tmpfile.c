// A writable /tmp: create a file with O_CREAT|O_EXCL, write, read back,
// O_EXCL on an existing name is EEXIST, O_TRUNC empties, O_APPEND writes at
// the end whatever the offset, unlink removes the name (ENOENT afterwards) and
// an fd still open keeps the data. The name has the pid in it so host runs
// in parallel do not collide; it is never printed.
#include "tst.h"

#include <fcntl.h>
#include <sys/stat.h>

static char path[64];

static long file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

int main(void)
{
	static const char text[] = "hello from the compat tests\n";
	char buf[128];
	struct stat st;
	int fd, fd2, r;
	long n;

	snprintf(path, sizeof(path), "/tmp/oxv-compat-tmpfile-%ld", (long)getpid());
	unlink(path);

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		tfail("open(O_RDWR|O_CREAT|O_EXCL) under /tmp: %s", tst_errname(errno));
		return tst_exit();
	}
	tpass("create a file under /tmp with O_CREAT|O_EXCL");
	tst_check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0,
		  "new file: regular, size 0");
	tst_check((st.st_mode & 0777) == 0600, "new file has mode 0600 (umask 022 or less)");

	n = write(fd, text, sizeof(text) - 1);
	tst_check(n == (long)sizeof(text) - 1, "write returns the length");
	tst_check(file_size(fd) == (long)sizeof(text) - 1, "fstat size follows the write");
	tst_check(lseek(fd, 0, SEEK_SET) == 0, "lseek back to 0");
	n = read(fd, buf, sizeof(buf));
	tst_check(n == (long)sizeof(text) - 1 && memcmp(buf, text, (size_t)n) == 0,
		  "read back what was written");

	/* Write past the end: the gap reads as zeros. */
	tst_check(lseek(fd, 100, SEEK_SET) == 100, "lseek past the end");
	tst_check(write(fd, "X", 1) == 1, "write at offset 100");
	tst_check(file_size(fd) == 101, "size becomes 101");
	n = pread(fd, buf, sizeof(buf), 0);
	tst_check(n == 101 && buf[sizeof(text) - 1] == 0 && buf[99] == 0 && buf[100] == 'X',
		  "the gap reads as zeros");

	r = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	tst_libc_err("O_CREAT|O_EXCL on an existing file", r, errno, EEXIST);
	fd2 = open(path, O_RDONLY);
	tst_check(fd2 >= 0, "open the existing file without O_CREAT");
	n = read(fd2, buf, 5);
	tst_check(n == 5 && memcmp(buf, "hello", 5) == 0, "a second fd has its own offset");
	tst_raw_err("write on the O_RDONLY fd", sys3(SYS_write, fd2, "x", 1), EBADF);
	close(fd2);

	fd2 = open(path, O_WRONLY | O_TRUNC);
	tst_check(fd2 >= 0 && file_size(fd) == 0, "O_TRUNC empties the file");
	close(fd2);
	fd2 = open(path, O_WRONLY | O_APPEND);
	tst_check(fd2 >= 0, "open O_APPEND");
	tst_check(write(fd2, "ab", 2) == 2 && lseek(fd2, 0, SEEK_SET) == 0 &&
			  write(fd2, "cd", 2) == 2,
		  "two writes on O_APPEND, lseek to 0 between them");
	n = pread(fd, buf, sizeof(buf), 0);
	tst_check(n == 4 && memcmp(buf, "abcd", 4) == 0, "O_APPEND writes went to the end");
	close(fd2);

	tst_check(unlink(path) == 0, "unlink");
	r = open(path, O_RDONLY);
	tst_libc_err("open after unlink", r, errno, ENOENT);
	r = unlink(path);
	tst_libc_err("unlink again", r, errno, ENOENT);
	n = pread(fd, buf, sizeof(buf), 0);
	tst_check(n == 4 && memcmp(buf, "abcd", 4) == 0, "an open fd still reads after unlink");
	tst_check(close(fd) == 0, "close");

	r = open("/tmp", O_RDONLY | O_DIRECTORY);
	tst_check(r >= 0, "/tmp opens as a directory");
	if (r >= 0)
		close(r);
	r = open("/tmp/oxv-compat-no-such-dir/x", O_RDWR | O_CREAT, 0600);
	tst_libc_err("O_CREAT under a missing directory", r, errno, ENOENT);
	return tst_exit();
}
