// futex(2) with real waiters (threads blocked in FUTEX_WAIT, given time to get there): WAKE
// wakes exactly as many as asked and returns that count (private and shared); REQUEUE and
// CMP_REQUEUE wake some and move the rest to a second futex (the return counts both; the
// moved ones then answer a WAKE on the second address, not the first); CMP_REQUEUE with a
// stale value is EAGAIN and moves nobody; WAKE_OP applies its operation to the second word
// and wakes there only when the comparison with the old value holds; WAIT_BITSET and
// WAKE_BITSET match on bits (a plain WAIT matches any); bitset 0 is EINVAL; a waiter woken
// before its timeout returns 0; absolute WAIT_BITSET timeouts on MONOTONIC and REALTIME.
#include "tst_thread.h"

#include <limits.h>
#include <stdatomic.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                        \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) |             \
	 ((cmparg) & 0xfff))

static long futex(uint32_t *uaddr, int op, uint32_t val, long timeout_or_val2, uint32_t *uaddr2,
		  uint32_t val3)
{
	return sys6(SYS_futex, (long)uaddr, op, val, timeout_or_val2, (long)uaddr2, val3);
}

struct waiter {
	pthread_t thread;
	uint32_t *addr;
	uint32_t val;
	int op;               /* FUTEX_WAIT or FUTEX_WAIT_BITSET, with flags */
	uint32_t bitset;
	long timeout_ms;      /* 0: none */
	long ret;
	atomic_int done;
};

static atomic_int started;

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct timespec ts = { w->timeout_ms / 1000, (w->timeout_ms % 1000) * 1000000L };

	atomic_fetch_add(&started, 1);
	w->ret = futex(w->addr, w->op, w->val, w->timeout_ms ? (long)&ts : 0, NULL, w->bitset);
	atomic_store(&w->done, 1);
	return NULL;
}

/* Starts n waiters and gives them time to block. */
static int start(struct waiter *w, int n)
{
	atomic_store(&started, 0);
	for (int i = 0; i < n; i++) {
		atomic_store(&w[i].done, 0);
		w[i].ret = -1;
		if (pthread_create(&w[i].thread, NULL, wait_thread, &w[i]) != 0) {
			tfail("pthread_create");
			return 0;
		}
	}
	while (atomic_load(&started) < n)
		tst_sleep_ms(1);
	tst_sleep_ms(30);
	return 1;
}

/*
 * The number of waiters that have returned: waits (up to 2 s) until at least `expect` have,
 * then a little longer so that one too many would be seen too.
 */
static int done_count(struct waiter *w, int n, int expect)
{
	int c = 0;

	for (int tries = 0; tries < 200; tries++) {
		c = 0;
		for (int i = 0; i < n; i++)
			c += atomic_load(&w[i].done);
		if (c >= expect)
			break;
		tst_sleep_ms(10);
	}
	tst_sleep_ms(20);
	c = 0;
	for (int i = 0; i < n; i++)
		c += atomic_load(&w[i].done);
	return c;
}

/* Wakes whatever is left on the given words, joins all, and says if all returned 0. */
static int finish(struct waiter *w, int n, uint32_t *a, uint32_t *b)
{
	int zero = 1;

	for (int i = 0; i < n; i++) {
		while (!atomic_load(&w[i].done)) {
			futex(a, FUTEX_WAKE, INT_MAX, 0, NULL, 0);
			futex(a, FUTEX_WAKE | FUTEX_PRIVATE, INT_MAX, 0, NULL, 0);
			futex(b, FUTEX_WAKE | FUTEX_PRIVATE, INT_MAX, 0, NULL, 0);
			tst_sleep_ms(5);
		}
		pthread_join(w[i].thread, NULL);
		zero &= w[i].ret == 0;
	}
	return zero;
}

static uint32_t A, B;

static void check_wake(int private_flag, const char *kind)
{
	struct waiter w[3];
	int wait = FUTEX_WAIT | private_flag, wake = FUTEX_WAKE | private_flag;

	A = 0;
	for (int i = 0; i < 3; i++)
		w[i] = (struct waiter){ .addr = &A, .val = 0, .op = wait };
	if (!start(w, 3))
		return;
	tst_checkf(done_count(w, 3, 0) == 0, "%s: 3 threads block in FUTEX_WAIT", kind);
	tst_checkf(futex(&A, wake, 2, 0, NULL, 0) == 2,
		   "%s: FUTEX_WAKE(2) with 3 waiters returns 2", kind);
	tst_checkf(done_count(w, 3, 2) == 2, "%s: exactly 2 waiters returned", kind);
	tst_checkf(futex(&A, wake, INT_MAX, 0, NULL, 0) == 1, "%s: FUTEX_WAKE(INT_MAX) returns 1",
		   kind);
	tst_checkf(finish(w, 3, &A, &B), "%s: every woken FUTEX_WAIT returned 0", kind);
}

static void check_requeue(void)
{
	struct waiter w[3];
	const int wait = FUTEX_WAIT | FUTEX_PRIVATE;
	const int wake = FUTEX_WAKE | FUTEX_PRIVATE;

	A = 0;
	B = 0;
	for (int i = 0; i < 3; i++)
		w[i] = (struct waiter){ .addr = &A, .val = 0, .op = wait };
	if (!start(w, 3))
		return;
	tst_check(futex(&A, FUTEX_REQUEUE | FUTEX_PRIVATE, 1, 1, &B, 0) == 2,
		  "FUTEX_REQUEUE(wake 1, requeue 1) of 3 waiters returns 2");
	tst_check(done_count(w, 3, 1) == 1, "FUTEX_REQUEUE woke exactly 1");
	tst_check(futex(&A, wake, INT_MAX, 0, NULL, 0) == 1, "1 waiter is left on the first futex");
	tst_check(futex(&B, wake, INT_MAX, 0, NULL, 0) == 1,
		  "the requeued one wakes through the second futex");
	tst_check(done_count(w, 3, 3) == 3, "all 3 have returned");
	tst_check(finish(w, 3, &A, &B), "every requeued or woken waiter returned 0");

	for (int i = 0; i < 2; i++)
		w[i] = (struct waiter){ .addr = &A, .val = 0, .op = wait };
	if (!start(w, 2))
		return;
	tst_raw_err("FUTEX_CMP_REQUEUE with a stale value",
		    futex(&A, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE, 1, 1, &B, 1), EAGAIN);
	tst_check(done_count(w, 2, 0) == 0, "the failed FUTEX_CMP_REQUEUE woke nobody");
	tst_check(futex(&A, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE, 0, INT_MAX, &B, 0) == 2,
		  "FUTEX_CMP_REQUEUE(wake 0, requeue all) returns 2");
	tst_check(done_count(w, 2, 0) == 0, "requeueing woke nobody");
	tst_check(futex(&A, wake, INT_MAX, 0, NULL, 0) == 0,
		  "no waiter is left on the first futex");
	tst_check(futex(&B, wake, 1, 0, NULL, 0) == 1 && futex(&B, wake, 1, 0, NULL, 0) == 1,
		  "both wake one by one through the second futex");
	tst_check(finish(w, 2, &A, &B), "both requeued waiters returned 0");
}

static void check_wake_op(void)
{
	struct waiter w[2];
	const int wait = FUTEX_WAIT | FUTEX_PRIVATE;
	const int wake_op = FUTEX_WAKE_OP | FUTEX_PRIVATE;
	long r;

	A = 0;
	B = 0;
	w[0] = (struct waiter){ .addr = &A, .val = 0, .op = wait };
	w[1] = (struct waiter){ .addr = &B, .val = 0, .op = wait };
	if (!start(w, 2))
		return;
	r = futex(&A, wake_op, 1, 1, &B, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0));
	tst_check(r == 2, "FUTEX_WAKE_OP(ADD 5, old == 0) wakes on both words: returns 2");
	tst_check(B == 5, "FUTEX_WAKE_OP added 5 to the second word");
	tst_check(done_count(w, 2, 2) == 2, "both waiters returned");
	tst_check(finish(w, 2, &A, &B), "both returned 0");

	w[0] = (struct waiter){ .addr = &A, .val = 0, .op = wait };
	w[1] = (struct waiter){ .addr = &B, .val = 5, .op = wait };
	if (!start(w, 2))
		return;
	r = futex(&A, wake_op, 1, 1, &B, FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_LT, 5));
	tst_check(r == 1, "FUTEX_WAKE_OP(SET 9, old < 5) with old 5 wakes only on the first word");
	tst_check(B == 9, "the operation was applied although the comparison failed");
	tst_check(done_count(w, 2, 1) == 1 && atomic_load(&w[0].done),
		  "only the first waiter returned");
	tst_check(futex(&B, FUTEX_WAKE | FUTEX_PRIVATE, 1, 0, NULL, 0) == 1,
		  "the second waiter still waits");
	finish(w, 2, &A, &B);

	r = futex(&A, wake_op, 1, 1, &B,
		  FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 9));
	tst_check(r == 0 && B == (9 | 16), "FUTEX_WAKE_OP(OR 1<<4) without waiters returns 0");
}

static void check_bitset(void)
{
	struct waiter w[3];
	const int waitb = FUTEX_WAIT_BITSET | FUTEX_PRIVATE;
	const int wakeb = FUTEX_WAKE_BITSET | FUTEX_PRIVATE;

	A = 0;
	w[0] = (struct waiter){ .addr = &A, .val = 0, .op = waitb, .bitset = 1 };
	w[1] = (struct waiter){ .addr = &A, .val = 0, .op = waitb, .bitset = 2 };
	w[2] = (struct waiter){ .addr = &A, .val = 0, .op = FUTEX_WAIT | FUTEX_PRIVATE };
	if (!start(w, 3))
		return;
	tst_check(futex(&A, wakeb, INT_MAX, 0, NULL, 2) == 2,
		  "FUTEX_WAKE_BITSET(0x2) wakes the 0x2 waiter and the plain FUTEX_WAIT");
	tst_check(done_count(w, 3, 2) == 2 && !atomic_load(&w[0].done),
		  "the 0x1 waiter still waits");
	tst_check(futex(&A, wakeb, INT_MAX, 0, NULL, 4) == 0,
		  "FUTEX_WAKE_BITSET(0x4) wakes nobody");
	tst_check(futex(&A, FUTEX_WAKE | FUTEX_PRIVATE, INT_MAX, 0, NULL, 0) == 1,
		  "a plain FUTEX_WAKE wakes the 0x1 waiter");
	tst_check(finish(w, 3, &A, &B), "all bitset waiters returned 0");
	tst_raw_err("FUTEX_WAKE_BITSET with bitset 0", futex(&A, wakeb, 1, 0, NULL, 0), EINVAL);
	tst_raw_err("FUTEX_WAIT_BITSET with bitset 0", futex(&A, waitb, 0, 0, NULL, 0), EINVAL);
}

/* The time on clk ms milliseconds from now. */
static struct timespec after_ms(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

/* Whether clk has reached the time ts. */
static int reached(clockid_t clk, struct timespec ts)
{
	struct timespec now;

	clock_gettime(clk, &now);
	return now.tv_sec > ts.tv_sec || (now.tv_sec == ts.tv_sec && now.tv_nsec >= ts.tv_nsec);
}

static void check_timeouts(void)
{
	struct waiter w[1];
	struct timespec ts;
	long r;

	A = 0;
	w[0] = (struct waiter){ .addr = &A, .val = 0, .op = FUTEX_WAIT | FUTEX_PRIVATE,
				.timeout_ms = 5000 };
	if (!start(w, 1))
		return;
	tst_check(futex(&A, FUTEX_WAKE | FUTEX_PRIVATE, 1, 0, NULL, 0) == 1,
		  "a FUTEX_WAIT with a 5 s timeout is woken after ~30 ms");
	tst_check(finish(w, 1, &A, &B), "it returns 0, not ETIMEDOUT");

	ts = after_ms(CLOCK_MONOTONIC, 10);
	r = futex(&A, FUTEX_WAIT_BITSET | FUTEX_PRIVATE, 0, (long)&ts, NULL, ~0u);
	tst_raw_err("FUTEX_WAIT_BITSET until MONOTONIC now + 10 ms", r, ETIMEDOUT);
	tst_check(reached(CLOCK_MONOTONIC, ts),
		  "it returned no earlier than the MONOTONIC deadline (read on that clock)");

	ts = after_ms(CLOCK_REALTIME, 10);
	r = futex(&A, FUTEX_WAIT_BITSET | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME, 0, (long)&ts, NULL,
		  ~0u);
	tst_raw_err("FUTEX_WAIT_BITSET|CLOCK_REALTIME until REALTIME now + 10 ms", r, ETIMEDOUT);
	tst_check(reached(CLOCK_REALTIME, ts),
		  "it returned no earlier than the REALTIME deadline (read on that clock)");

	ts.tv_sec = 1;
	ts.tv_nsec = 0;
	r = futex(&A, FUTEX_WAIT_BITSET | FUTEX_PRIVATE, 0, (long)&ts, NULL, ~0u);
	tst_raw_err("FUTEX_WAIT_BITSET with an absolute deadline in the past", r, ETIMEDOUT);
}

int main(void)
{
	tst_watchdog(30, "futex_ops");
	check_wake(FUTEX_PRIVATE, "private");
	check_wake(0, "shared");
	check_requeue();
	check_wake_op();
	check_bitset();
	check_timeouts();
	return tst_exit();
}
