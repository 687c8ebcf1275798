// lseek(2) SEEK_DATA and SEEK_HOLE on a sparse tmpfs file (/dev/shm): pages that were written
// are data, pages never written are holes, the end of the file is a hole; ENXIO at or past
// the end and for a negative offset; a file without holes is all data up to its end; an
// empty file has nothing.
#include "tst_files.h"

#include <fcntl.h>
#include <unistd.h>

#ifndef SEEK_DATA
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

static char path[96];

int main(void)
{
	int fd;

	tst_shm_path(path, sizeof(path), "seek-data");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		tfail("create: %s", tst_files_errname(errno));
		return tst_exit();
	}
	TF_ERR("SEEK_DATA in an empty file", lseek(fd, 0, SEEK_DATA), ENXIO);
	TF_ERR("SEEK_HOLE in an empty file", lseek(fd, 0, SEEK_HOLE), ENXIO);

	/* Pages: 0 hole, 1 data, 2 hole, 3 hole, 4 data (partly), size 4096*4 + 100. */
	pwrite(fd, "a", 1, 4096 + 10);
	pwrite(fd, "b", 1, 4 * 4096 + 99);
	TF_OKV("SEEK_DATA from 0 finds page 1", lseek(fd, 0, SEEK_DATA), 4096);
	TF_OKV("SEEK_HOLE from 0 is 0 (a hole)", lseek(fd, 0, SEEK_HOLE), 0);
	TF_OKV("SEEK_DATA inside data stays", lseek(fd, 5000, SEEK_DATA), 5000);
	TF_OKV("SEEK_HOLE from data finds page 2", lseek(fd, 5000, SEEK_HOLE), 8192);
	TF_OKV("SEEK_DATA from the hole finds page 4", lseek(fd, 8192, SEEK_DATA), 16384);
	TF_OKV("SEEK_HOLE in the last page is the end", lseek(fd, 16390, SEEK_HOLE), 16484);
	TF_OKV("the offset moved there", lseek(fd, 0, SEEK_CUR), 16484);
	TF_OKV("SEEK_DATA of the last byte", lseek(fd, 16483, SEEK_DATA), 16483);
	TF_ERR("SEEK_DATA at the end", lseek(fd, 16484, SEEK_DATA), ENXIO);
	TF_ERR("SEEK_HOLE at the end", lseek(fd, 16484, SEEK_HOLE), ENXIO);
	TF_ERR("SEEK_DATA past the end", lseek(fd, 100000, SEEK_DATA), ENXIO);
	TF_ERR("a negative offset", lseek(fd, -1, SEEK_DATA), ENXIO);

	ftruncate(fd, 0);
	pwrite(fd, "full", 4, 0);
	TF_OKV("no holes: SEEK_HOLE is the end", lseek(fd, 0, SEEK_HOLE), 4);
	TF_OKV("no holes: SEEK_DATA stays", lseek(fd, 2, SEEK_DATA), 2);
	ftruncate(fd, 10000);
	TF_OKV("growing by truncate leaves a hole after the data", lseek(fd, 0, SEEK_HOLE), 4096);
	TF_ERR("and no data in it", lseek(fd, 4096, SEEK_DATA), ENXIO);

	close(fd);
	unlink(path);
	return tst_exit();
}
