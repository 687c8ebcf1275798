// eventfd(2): the counter adds up writes and a read takes it all (EFD_SEMAPHORE: one at a
// time); an empty counter is EAGAIN when non-blocking; reads and writes need 8 bytes
// (EINVAL); writing 0xffffffffffffffff is EINVAL; the counter holds at most 2^64 - 2, past
// that a write is EAGAIN; poll says POLLIN while non-zero and POLLOUT while 1 more fits;
// F_GETFL is O_RDWR (| O_NONBLOCK); EFD_CLOEXEC sets FD_CLOEXEC; bad flags are EINVAL; the
// old eventfd(2) has no flags.
#include "tst_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>

static uint64_t get(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, 8) != 8)
		return (uint64_t)-1;
	return v;
}

static int put(int fd, uint64_t v)
{
	return write(fd, &v, 8) == 8;
}

static short ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	uint64_t v;
	char small[4];
	int fd, s;

	fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		tfail("eventfd: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_check(fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK), "F_GETFL: O_RDWR | O_NONBLOCK");
	tst_check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC: FD_CLOEXEC");
	tst_check(put(fd, 4) && get(fd) == 7, "3 + 4: a read takes 7");
	TST_ERR("read of a zero counter", read(fd, &v, 8), EAGAIN);
	tst_check(ready(fd) == POLLOUT, "zero: POLLOUT only");
	put(fd, 1);
	tst_check(ready(fd) == (POLLIN | POLLOUT), "non-zero: POLLIN | POLLOUT");
	TST_ERR("read with a 4-byte buffer", read(fd, small, 4), EINVAL);
	TST_ERR("write with a 4-byte buffer", write(fd, small, 4), EINVAL);
	v = UINT64_MAX;
	TST_ERR("write of 0xffffffffffffffff", write(fd, &v, 8), EINVAL);
	tst_check(get(fd) == 1, "the failed calls changed nothing");

	tst_check(put(fd, UINT64_MAX - 1), "write 2^64 - 2");
	tst_check(ready(fd) == POLLIN, "full: POLLIN only");
	v = 1;
	TST_ERR("one more", write(fd, &v, 8), EAGAIN);
	tst_check(put(fd, 0), "adding 0 always fits");
	tst_check(get(fd) == UINT64_MAX - 1, "the read takes 2^64 - 2");
	close(fd);

	s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	tst_check(get(s) == 1 && get(s) == 1, "EFD_SEMAPHORE: reads take 1 each");
	TST_ERR("EFD_SEMAPHORE at zero", read(s, &v, 8), EAGAIN);
	close(s);

	TST_RAW("eventfd2 with O_RDWR as a flag", sys3(SYS_eventfd2, 0, O_RDWR, 0), EINVAL);
	TST_RAW("eventfd2 with O_APPEND", sys3(SYS_eventfd2, 0, O_APPEND, 0), EINVAL);
	fd = (int)sys3(SYS_eventfd, 5, 0, 0);
	tst_check(fd >= 0 && fcntl(fd, F_GETFL) == O_RDWR && fcntl(fd, F_GETFD) == 0,
		  "eventfd(2): blocking, no close-on-exec");
	tst_check(get(fd) == 5, "eventfd(2) starts at its initval");
	close(fd);
	return tst_exit();
}
