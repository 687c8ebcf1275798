// timerfd(2): a relative one-shot timer expires once (read blocks until it does, returns 1,
// then EAGAIN when non-blocking); a periodic timer counts every period (several after a
// sleep) and read zeroes the count; gettime reports the time left (0 when disarmed or
// spent) and the interval; settime returns the old setting and zeroes the count; absolute
// times on CLOCK_MONOTONIC and CLOCK_REALTIME (a past one expires at once); poll says POLLIN
// once expired; bad clocks, flags, times, fds and buffers give EINVAL/EBADF/EFAULT.
#include "tst_thread.h"
#include "tst_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/timerfd.h>

static struct itimerspec its(long vs, long vns, long is, long ins)
{
	struct itimerspec t = { { is, ins }, { vs, vns } };
	return t;
}

static uint64_t ticks(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, 8) != 8)
		return 0;
	return n;
}

static void check_errors(void)
{
	struct itimerspec t = its(1, 0, 0, 0), bad = its(0, 1000000000, 0, 0);
	int fd = timerfd_create(CLOCK_MONOTONIC, 0), file;
	char small[4];

	TST_ERR("timerfd_create with CLOCK_PROCESS_CPUTIME_ID",
		timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	TST_ERR("timerfd_create with clock 99", timerfd_create(99, 0), EINVAL);
	TST_ERR("timerfd_create with flag O_APPEND", timerfd_create(CLOCK_MONOTONIC, O_APPEND),
		EINVAL);
	TST_ERR("timerfd_settime with flags 4", timerfd_settime(fd, 4, &t, NULL), EINVAL);
	TST_ERR("timerfd_settime with tv_nsec 1e9", timerfd_settime(fd, 0, &bad, NULL), EINVAL);
	bad = its(-1, 0, 0, 0);
	TST_ERR("timerfd_settime with a negative time", timerfd_settime(fd, 0, &bad, NULL),
		EINVAL);
	TST_ERR("timerfd_settime on fd 999", timerfd_settime(999, 0, &t, NULL), EBADF);
	file = open("/proc/self/exe", O_RDONLY);
	TST_ERR("timerfd_settime on a file", timerfd_settime(file, 0, &t, NULL), EINVAL);
	TST_ERR("timerfd_gettime on a file", timerfd_gettime(file, &t), EINVAL);
	close(file);
	TST_RAW("timerfd_settime with a NULL new value",
		sys4(SYS_timerfd_settime, fd, 0, 0, 0), EFAULT);
	TST_RAW("timerfd_gettime with a NULL result", sys3(SYS_timerfd_gettime, fd, 0, 0),
		EFAULT);
	TST_ERR("read with a 4-byte buffer", read(fd, small, 4), EINVAL);
	TST_ERR("write to a timerfd", write(fd, "12345678", 8), EINVAL);
	close(fd);
}

int main(void)
{
	struct itimerspec t, old;
	struct timespec now;
	struct pollfd p;
	int64_t t0, armed[2], read_at[2];
	uint64_t n;
	int fd;

	tst_watchdog(10, "timerfd_basic");
	check_errors();

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	tst_check(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC && fcntl(fd, F_GETFL) == O_RDWR,
		  "timerfd_create(TFD_CLOEXEC): O_RDWR, close-on-exec");
	timerfd_gettime(fd, &t);
	tst_check(t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0 && t.it_interval.tv_sec == 0,
		  "a new timer is disarmed");
	t = its(0, 30000000, 0, 0);
	t0 = tst_now_ns();
	tst_check(timerfd_settime(fd, 0, &t, &old) == 0 && old.it_value.tv_nsec == 0,
		  "arm for 30 ms; the old setting was disarmed");
	timerfd_gettime(fd, &t);
	tst_check(t.it_value.tv_sec == 0 && t.it_value.tv_nsec > 0 &&
			  t.it_value.tv_nsec <= 30000000,
		  "gettime: 0 < time left <= 30 ms");
	tst_check(ticks(fd) == 1 && tst_now_ns() - t0 >= 30000000,
		  "read blocks until the expiry, then returns 1");
	timerfd_gettime(fd, &t);
	tst_check(t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0, "a spent one-shot: 0 left");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	TST_ERR("read of a spent one-shot timer", read(fd, &n, 8), EAGAIN);

	t = its(0, 10000000, 0, 10000000);
	armed[0] = tst_now_ns();
	timerfd_settime(fd, 0, &t, NULL);
	armed[1] = tst_now_ns();
	tst_sleep_ms(55);
	read_at[0] = tst_now_ns();
	n = ticks(fd);
	read_at[1] = tst_now_ns();
	/* A busy host may stretch the sleep: the count must match the time that really went
	 * by between arming and reading (one period of slack each way), and be at least 4. */
	tst_checkf(n >= 4 && (int64_t)n + 1 >= (read_at[0] - armed[1]) / 10000000 &&
			   (int64_t)n <= (read_at[1] - armed[0]) / 10000000 + 1,
		   "a 10 ms periodic timer after 55 ms or more: the periods that went by");
	timerfd_gettime(fd, &t);
	tst_check(t.it_interval.tv_nsec == 10000000 && t.it_value.tv_nsec <= 10000000,
		  "gettime: the interval, and at most one period left");
	p.fd = fd;
	p.events = POLLIN;
	tst_sleep_ms(15);
	tst_check(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "poll: POLLIN once expired");
	t = its(5, 0, 0, 0);
	tst_check(timerfd_settime(fd, 0, &t, &old) == 0 && old.it_interval.tv_nsec == 10000000,
		  "settime returns the old interval");
	TST_ERR("settime zeroes the count", read(fd, &n, 8), EAGAIN);
	t = its(0, 0, 0, 0);
	timerfd_settime(fd, 0, &t, &old);
	tst_check(old.it_value.tv_sec >= 4 && old.it_value.tv_sec <= 5, "old value: about 5 s");
	close(fd);

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_nsec += 20000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	t = its(now.tv_sec, now.tv_nsec, 0, 0);
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
	TST_ERR("absolute CLOCK_MONOTONIC, not yet", read(fd, &n, 8), EAGAIN);
	tst_sleep_ms(30);
	tst_check(ticks(fd) == 1, "absolute CLOCK_MONOTONIC: expired once");
	close(fd);

	fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	clock_gettime(CLOCK_REALTIME, &now);
	t = its(now.tv_sec - 10, 0, 0, 0);
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
	tst_check(ticks(fd) == 1, "absolute CLOCK_REALTIME in the past: expired at once");
	t = its(now.tv_sec + 1, now.tv_nsec, 0, 0);
	tst_check(timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL) == 0,
		  "TFD_TIMER_CANCEL_ON_SET is accepted");
	close(fd);

	fd = timerfd_create(CLOCK_BOOTTIME, 0);
	t = its(0, 1000000, 0, 0);
	timerfd_settime(fd, 0, &t, NULL);
	tst_check(ticks(fd) == 1, "CLOCK_BOOTTIME works");
	close(fd);
	return tst_exit();
}
