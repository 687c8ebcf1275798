// futex_waitv(2): a thread waits on several futex words (private and shared, up to 128) and
// an ordinary FUTEX_WAKE on any one of them wakes it, returning that word's index; a word
// whose value differs is EAGAIN; an absolute timeout on CLOCK_MONOTONIC or CLOCK_REALTIME
// expires with ETIMEDOUT; EINVAL for flags, a count of 0 or over 128, a null array, an
// entry with a size other than FUTEX2_SIZE_U32, unknown flags, a nonzero reserved field, a
// value wider than 32 bits, a misaligned word, a clock other than the two, a bad timespec;
// EFAULT for a bad array, word or timeout pointer.
#include "tst_thread.h"

#include <stdatomic.h>
#include <sys/mman.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE 128
#define FUTEX2_SIZE_U8 0x00
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_SIZE_U64 0x03
#define FUTEX2_PRIVATE 128
#define FUTEX_WAITV_MAX 128

struct futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t __reserved;
};
_Static_assert(sizeof(struct futex_waitv) == 24, "struct futex_waitv");

static long waitv(struct futex_waitv *w, unsigned n, unsigned flags, const struct timespec *ts,
		  int clock)
{
	return sys6(SYS_futex_waitv, (long)w, n, flags, (long)ts, clock, 0);
}

static long wake(uint32_t *uaddr, int private)
{
	return sys6(SYS_futex, (long)uaddr, FUTEX_WAKE | (private ? FUTEX_PRIVATE : 0), 1, 0, 0, 0);
}

static struct timespec in_ms(clockid_t clock, long ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static uint32_t words[FUTEX_WAITV_MAX];
static struct futex_waitv vec[FUTEX_WAITV_MAX + 1];

static void set(int i, uint32_t *addr, uint64_t val, uint32_t flags)
{
	vec[i] = (struct futex_waitv){ .val = val, .uaddr = (uint64_t)(uintptr_t)addr, .flags = flags };
}

/* Waits on vec[0..n) in a thread. */
struct waiter {
	pthread_t t;
	unsigned n;
	long ret;
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;

	w->ret = waitv(vec, w->n, 0, NULL, 0);
	return NULL;
}

/* Wakes word `addr` once the waiter blocks there (a wake that finds nobody is retried). */
static long wake_when_blocked(uint32_t *addr, int private)
{
	long r;

	for (int i = 0; i < 3000; i++) {
		r = wake(addr, private);
		if (r != 0)
			return r;
		tst_sleep_ms(1);
	}
	return 0;
}

static void woken_by(const char *what, unsigned n, uint32_t *addr, int private, long want)
{
	struct waiter w = { .n = n, .ret = -1 };

	pthread_create(&w.t, NULL, wait_main, &w);
	long r = wake_when_blocked(addr, private);
	pthread_join(w.t, NULL);
	tst_checkf(r == 1 && w.ret == want, "%s: FUTEX_WAKE wakes 1 and futex_waitv returns %ld", what,
		   want);
}

int main(void)
{
	struct timespec ts;

	tst_watchdog(30, "futex_waitv");

	for (int i = 0; i < 3; i++)
		set(i, &words[i], 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);

	/* Arguments. */
	tst_raw_err("flags 1", waitv(vec, 3, 1, NULL, 0), EINVAL);
	tst_raw_err("0 futexes", waitv(vec, 0, 0, NULL, 0), EINVAL);
	tst_raw_err("129 futexes", waitv(vec, FUTEX_WAITV_MAX + 1, 0, NULL, 0), EINVAL);
	tst_raw_err("a null array", waitv(NULL, 1, 0, NULL, 0), EINVAL);
	tst_raw_err("a bad array", waitv((void *)8, 1, 0, NULL, 0), EFAULT);
	ts = in_ms(CLOCK_MONOTONIC, 1000);
	tst_raw_err("CLOCK_BOOTTIME", waitv(vec, 3, 0, &ts, CLOCK_BOOTTIME), EINVAL);
	tst_raw_err("a bad timeout pointer", waitv(vec, 3, 0, (void *)8, CLOCK_MONOTONIC), EFAULT);
	ts.tv_nsec = -1;
	tst_raw_err("tv_nsec -1", waitv(vec, 3, 0, &ts, CLOCK_MONOTONIC), EINVAL);

	set(1, &words[1], 0, FUTEX2_SIZE_U8);
	tst_raw_err("an entry of FUTEX2_SIZE_U8", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, &words[1], 0, FUTEX2_SIZE_U64);
	tst_raw_err("an entry of FUTEX2_SIZE_U64", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, &words[1], 0, FUTEX2_SIZE_U32 | 0x40);
	tst_raw_err("an entry with an unknown flag", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, &words[1], 0, FUTEX2_SIZE_U32);
	vec[1].__reserved = 1;
	tst_raw_err("an entry with __reserved set", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, &words[1], 1ull << 32, FUTEX2_SIZE_U32);
	tst_raw_err("an entry whose value needs 33 bits", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, (uint32_t *)((char *)&words[1] + 2), 0, FUTEX2_SIZE_U32);
	tst_raw_err("a misaligned word", waitv(vec, 3, 0, NULL, 0), EINVAL);
	set(1, (uint32_t *)8, 0, FUTEX2_SIZE_U32);
	tst_raw_err("a bad word address", waitv(vec, 3, 0, NULL, 0), EFAULT);
	set(1, &words[1], 5, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
	tst_raw_err("the second word differs", waitv(vec, 3, 0, NULL, 12345), EAGAIN);
	set(1, &words[1], 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);

	/* Timeouts. */
	ts = in_ms(CLOCK_MONOTONIC, 50);
	tst_raw_err("an absolute CLOCK_MONOTONIC timeout", waitv(vec, 3, 0, &ts, CLOCK_MONOTONIC),
		    ETIMEDOUT);
	ts = in_ms(CLOCK_REALTIME, 50);
	tst_raw_err("an absolute CLOCK_REALTIME timeout", waitv(vec, 3, 0, &ts, CLOCK_REALTIME),
		    ETIMEDOUT);
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	tst_raw_err("a timeout in the past", waitv(vec, 3, 0, &ts, CLOCK_MONOTONIC), ETIMEDOUT);

	/* Wakes. */
	woken_by("a wake on the third of 3 private words", 3, &words[2], 1, 2);
	woken_by("a wake on the first of 3 private words", 3, &words[0], 1, 0);

	uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		tfail("mmap MAP_SHARED");
		return tst_exit();
	}
	shared[3] = 7;
	set(1, &shared[3], 7, FUTEX2_SIZE_U32);
	woken_by("a shared wake on a shared word among private ones", 3, &shared[3], 0, 1);

	for (int i = 0; i < FUTEX_WAITV_MAX; i++)
		set(i, &words[i], 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
	woken_by("a wake on the last of 128 words", FUTEX_WAITV_MAX, &words[127], 1, 127);
	woken_by("a wake on word 64 of 128", FUTEX_WAITV_MAX, &words[64], 1, 64);
	munmap(shared, 4096);
	return tst_exit();
}
