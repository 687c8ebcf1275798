// futex(2) without contention, as libcs use it for locks and once-init: WAKE
// with no waiter wakes 0, WAIT on a changed value returns EAGAIN at once, WAIT
// with a timeout and nobody to wake it returns ETIMEDOUT after the timeout;
// unaligned address EINVAL, unreadable address EFAULT, unknown op ENOSYS.
#include "tst.h"

#include <stdint.h>
#include <time.h>

#define OXV_FUTEX_WAIT 0
#define OXV_FUTEX_WAKE 1
#define OXV_FUTEX_PRIVATE_FLAG 128

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
	static uint32_t word[2] = { 7, 0 };
	const long wait = OXV_FUTEX_WAIT, wake = OXV_FUTEX_WAKE;
	const long wait_p = wait | OXV_FUTEX_PRIVATE_FLAG, wake_p = wake | OXV_FUTEX_PRIVATE_FLAG;
	struct timespec timeout = { 0, 10 * 1000 * 1000 };
	int64_t t0, elapsed;
	long r;

	tst_check(sys3(SYS_futex, word, wake, 1) == 0, "FUTEX_WAKE with no waiter returns 0");
	tst_check(sys3(SYS_futex, word, wake_p, 0x7fffffff) == 0,
		  "FUTEX_WAKE_PRIVATE(INT_MAX) with no waiter returns 0");
	tst_raw_err("FUTEX_WAIT on a value that differs", sys4(SYS_futex, word, wait, 8, NULL),
		    EAGAIN);
	tst_raw_err("FUTEX_WAIT_PRIVATE on a value that differs",
		    sys4(SYS_futex, word, wait_p, 0, NULL), EAGAIN);

	t0 = now_ns();
	r = sys4(SYS_futex, word, wait_p, 7, &timeout);
	elapsed = now_ns() - t0;
	tst_raw_err("FUTEX_WAIT_PRIVATE with a 10 ms timeout, nobody waking", r, ETIMEDOUT);
	tst_check(elapsed >= 10 * 1000 * 1000, "the timed FUTEX_WAIT lasted at least 10 ms");
	tst_check(word[0] == 7, "the futex word is unchanged");

	tst_raw_err("FUTEX_WAIT on an unaligned address",
		    sys4(SYS_futex, (char *)word + 1, wait_p, 7, NULL), EINVAL);
	tst_raw_err("FUTEX_WAKE on an unaligned address",
		    sys3(SYS_futex, (char *)word + 2, wake_p, 1), EINVAL);
	tst_raw_err("FUTEX_WAIT on NULL", sys4(SYS_futex, NULL, wait_p, 0, NULL), EFAULT);
	tst_raw_err("FUTEX_WAIT on a kernel address",
		    sys4(SYS_futex, 0xffff800000000000UL, wait_p, 0, NULL), EFAULT);
	timeout.tv_nsec = 1000000000;
	tst_raw_err("FUTEX_WAIT with tv_nsec = 1e9", sys4(SYS_futex, word, wait_p, 7, &timeout),
		    EINVAL);
	tst_raw_err("futex op 99", sys3(SYS_futex, word, 99, 0), ENOSYS);
	return tst_exit();
}
