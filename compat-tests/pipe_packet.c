// pipe2(O_DIRECT): packet mode. Each write is a packet; a read returns one packet, and what
// does not fit in the buffer is dropped; a write bigger than PIPE_BUF is split into packets
// of PIPE_BUF bytes. F_GETFL shows O_DIRECT on the write end only (Linux gives the read end
// just O_NONBLOCK).
#include "tst_fd.h"

#include <fcntl.h>

int main(void)
{
	static char big[4096 + 10];
	char buf[8192];
	int p[2];

	if (pipe2(p, O_DIRECT | O_NONBLOCK) != 0) {
		tfail("pipe2(O_DIRECT): %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(fcntl(p[0], F_GETFL) == (O_RDONLY | O_NONBLOCK) &&
			  fcntl(p[1], F_GETFL) == (O_WRONLY | O_NONBLOCK | O_DIRECT),
		  "F_GETFL: O_DIRECT on the write end only");
	write(p[1], "one", 3);
	write(p[1], "two!", 4);
	write(p[1], "three", 5);
	tst_check(read(p[0], buf, sizeof(buf)) == 3 && memcmp(buf, "one", 3) == 0,
		  "a read returns one packet");
	tst_check(read(p[0], buf, 2) == 2 && memcmp(buf, "tw", 2) == 0,
		  "a short read takes part of a packet");
	tst_check(read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "three", 5) == 0,
		  "and the rest of that packet is gone");
	TST_ERR("then the pipe is empty", read(p[0], buf, sizeof(buf)), EAGAIN);
	tst_check(write(p[1], big, sizeof(big)) == (long)sizeof(big), "write PIPE_BUF + 10");
	tst_check(read(p[0], buf, sizeof(buf)) == 4096, "first packet: PIPE_BUF bytes");
	tst_check(read(p[0], buf, sizeof(buf)) == 10, "second packet: 10 bytes");
	return tst_exit();
}
