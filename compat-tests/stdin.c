// oxv-stdin: line one\nsecond\tline, tab\n\xff\xfe\x01 bytes \\ backslash\n\xc3\xa9t\xc3\xa9 UTF-8\nno newline at the end
//
// stdin delivers exactly the bytes given, 8-bit clean (0xff, 0x01, UTF-8, a
// backslash, a tab, no final newline), in order, through reads of any size;
// then EOF: read returns 0, and again 0 on every later read and readv.
// Prints the length, the FNV-1a hash and the newline count of what was read.
#include "tst.h"

#include <stdint.h>
#include <sys/uio.h>

#define WANT_LEN 81
#define WANT_FNV 0x95c4efacU

int main(void)
{
	unsigned char buf[256], spare[8];
	struct iovec iov[2];
	uint32_t fnv = 0x811c9dc5U;
	long total = 0, n, i;
	int lines = 0, has_ff = 0, reads = 0, err = 0;

	/* Odd-sized reads so that the data does not arrive in one piece. */
	for (;;) {
		n = read(0, buf + total, 7);
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0 || ++reads > 100)
			break;
		total += n;
		if (total > (long)sizeof(buf) - 7)
			break;
	}
	if (err)
		tfail("read(0): %s", tst_errname(err));
	for (i = 0; i < total; i++) {
		fnv = (fnv ^ buf[i]) * 0x01000193U;
		lines += buf[i] == '\n';
		has_ff |= buf[i] == 0xff;
	}
	printf("stdin: %ld bytes, fnv1a %08x, %d newlines\n", total, (unsigned)fnv, lines);
	tst_check(total == WANT_LEN, "stdin length is 81");
	tst_check(fnv == WANT_FNV, "stdin bytes are exact (FNV-1a 95c4efac)");
	tst_check(has_ff, "a 0xff byte passes through");
	tst_check(total >= 7 && memcmp(buf + total - 7, "the end", 7) == 0,
		  "the last bytes, without a newline, arrive");

	tst_check(read(0, buf, sizeof(buf)) == 0, "read at EOF returns 0");
	tst_check(read(0, buf, sizeof(buf)) == 0, "read after EOF returns 0 again");
	tst_check(read(0, buf, 0) == 0, "read of 0 bytes returns 0");
	iov[0].iov_base = buf;
	iov[0].iov_len = 4;
	iov[1].iov_base = spare;
	iov[1].iov_len = sizeof(spare);
	tst_check(readv(0, iov, 2) == 0, "readv at EOF returns 0");
	return tst_exit();
}
