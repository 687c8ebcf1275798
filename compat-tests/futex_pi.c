// PI futexes (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI, FUTEX_UNLOCK_PI), through
// pthread mutexes with PTHREAD_PRIO_INHERIT and through raw calls. Mutexes: lock/unlock
// under contention from four threads (a holder that sleeps makes the others block in the
// kernel) keeps a counter exact; trylock of a held mutex is EBUSY; a robust PI mutex whose
// owner exits gives EOWNERDEAD to the next locker (whether it locks after the death or was
// already blocked), pthread_mutex_consistent repairs it. Raw calls: the lock word holds the
// owner's TID, FUTEX_WAITERS while someone blocks, and an unlock hands the lock to the
// waiter; EDEADLK for the owner, EPERM for an unlock by a non-owner, ESRCH (with
// FUTEX_WAITERS left set) for a TID that does not exist, EAGAIN for a trylock of a held
// lock, ETIMEDOUT (LOCK_PI on CLOCK_REALTIME, LOCK_PI2 on CLOCK_MONOTONIC or REALTIME),
// EINVAL for a misaligned word, a bad timeout, or a FUTEX_WAKE on a PI futex with waiters,
// ENOSYS for FUTEX_LOCK_PI with FUTEX_CLOCK_REALTIME, EFAULT for a bad address. Requeue-PI
// (the condition-variable pair): FUTEX_CMP_REQUEUE_PI gives a free PI futex to the waiter
// at once, or moves the waiters onto a held one so that unlocks hand it to each in turn;
// a FUTEX_WAKE of their wait word is EINVAL; EINVAL for one word as both, for nr_wake 2;
// EAGAIN for a stale value; ETIMEDOUT.
#include "tst_thread.h"

#include <stdatomic.h>

#define FUTEX_WAKE 1
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu
/* Above PID_MAX_LIMIT (4194304): never a thread's id. */
#define NO_SUCH_TID 0x3ffffff0u

static long futex(void *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return sys6(SYS_futex, (long)uaddr, op, val, (long)ts, 0, 0);
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

/* ---- pthread mutexes with PTHREAD_PRIO_INHERIT ---- */

static pthread_mutex_t m;
static long counter;
static atomic_int locked;

static void init_pi(int robust)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	if (pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) != 0)
		tfail("pthread_mutexattr_setprotocol(PTHREAD_PRIO_INHERIT)");
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
}

#define WORKERS 4
#define ROUNDS 300

static void *worker(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < ROUNDS; i++) {
		if (pthread_mutex_lock(&m) != 0)
			return (void *)1;
		long c = counter;
		/* Sometimes hold the lock across a sleep: the others then block in the kernel. */
		if ((i + id) % 50 == 0)
			tst_sleep_ms(2);
		counter = c + 1;
		if (pthread_mutex_unlock(&m) != 0)
			return (void *)1;
	}
	return NULL;
}

static void *try_other(void *arg)
{
	int r = pthread_mutex_trylock(&m);

	if (r == 0 && arg)
		r = pthread_mutex_unlock(&m);
	return (void *)(long)r;
}

static void *die_holding(void *arg)
{
	pthread_mutex_lock(&m);
	atomic_store(&locked, 1);
	if (arg)
		tst_sleep_ms((long)arg);
	return NULL; /* exits with m held */
}

static int timedlock(void)
{
	struct timespec ts = in_ms(CLOCK_REALTIME, 3000);

	return pthread_mutex_timedlock(&m, &ts);
}

static void mutexes(void)
{
	pthread_t t[WORKERS];
	void *ret;
	int bad = 0;

	init_pi(0);
	tst_check(pthread_mutex_lock(&m) == 0, "PI mutex: lock");
	pthread_create(&t[0], NULL, try_other, NULL);
	pthread_join(t[0], &ret);
	tst_pth_err("PI mutex: trylock from another thread while held", (int)(long)ret, EBUSY);
	tst_check(pthread_mutex_unlock(&m) == 0, "PI mutex: unlock");
	pthread_create(&t[0], NULL, try_other, (void *)1L);
	pthread_join(t[0], &ret);
	tst_check(ret == NULL, "PI mutex: trylock and unlock from another thread when free");
	pthread_mutex_destroy(&m);

	init_pi(0);
	counter = 0;
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(t[i], &ret);
		bad |= ret != NULL;
	}
	tst_check(!bad, "PI mutex: every lock and unlock under contention succeeded");
	tst_checkf(counter == WORKERS * ROUNDS, "PI mutex: %d threads x %d increments counted exactly",
		   WORKERS, ROUNDS);
	pthread_mutex_destroy(&m);

	/* Robust + PI: the owner exits, then we lock. */
	init_pi(1);
	atomic_store(&locked, 0);
	pthread_create(&t[0], NULL, die_holding, NULL);
	pthread_join(t[0], NULL);
	int r = timedlock();
	tst_pth_err("robust PI mutex: locking after its owner exited", r, EOWNERDEAD);
	if (r == EOWNERDEAD) {
		tst_check(pthread_mutex_consistent(&m) == 0, "robust PI mutex: pthread_mutex_consistent");
		tst_check(pthread_mutex_unlock(&m) == 0, "robust PI mutex: unlock after consistent");
		tst_check(timedlock() == 0, "robust PI mutex: the repaired mutex locks normally");
		pthread_mutex_unlock(&m);
	}

	/* Robust + PI: we block first, then the owner exits. */
	init_pi(1);
	atomic_store(&locked, 0);
	pthread_create(&t[0], NULL, die_holding, (void *)50L);
	while (!atomic_load(&locked))
		tst_sleep_ms(1);
	r = timedlock();
	tst_pth_err("robust PI mutex: a waiter blocked when the owner exits", r, EOWNERDEAD);
	pthread_join(t[0], NULL);
	if (r == EOWNERDEAD) {
		tst_check(pthread_mutex_consistent(&m) == 0,
			  "robust PI mutex: consistent after the handoff");
		tst_check(pthread_mutex_unlock(&m) == 0, "robust PI mutex: unlock after the handoff");
	}
}

/* ---- raw calls ---- */

static _Alignas(8) uint32_t word;
static atomic_int holder_go, holder_state;

/* Takes `word` with LOCK_PI, reports, waits for the go, then unlocks. */
static void *holder(void *arg)
{
	(void)arg;
	long r = futex(&word, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL);
	atomic_store(&holder_state, r == 0 ? 1 : -1);
	while (!atomic_load(&holder_go))
		tst_sleep_ms(1);
	r = futex(&word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL);
	atomic_store(&holder_state, r == 0 ? 2 : -2);
	return NULL;
}

static long blocked_ret;
static uint32_t blocked_seen;
static atomic_int blocked_done;

static void *blocker(void *arg)
{
	(void)arg;
	blocked_ret = futex(&word, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL);
	blocked_seen = word ^ (uint32_t)tst_gettid();
	atomic_store(&blocked_done, 1);
	if (blocked_ret == 0)
		futex(&word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL);
	return NULL;
}

static void raw_calls(void)
{
	uint32_t tid = (uint32_t)tst_gettid();
	struct timespec ts;
	pthread_t h, b;
	long r;

	word = 0;
	r = futex(&word, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL);
	tst_check(r == 0 && word == tid, "raw: LOCK_PI of a free word writes the caller's TID");
	tst_raw_err("raw: LOCK_PI by the owner", futex(&word, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL),
		    EDEADLK);
	tst_raw_err("raw: TRYLOCK_PI by the owner",
		    futex(&word, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE, 0, NULL), EDEADLK);
	r = futex(&word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL);
	tst_check(r == 0 && word == 0, "raw: UNLOCK_PI without waiters clears the word");
	tst_raw_err("raw: UNLOCK_PI of a free word", futex(&word, FUTEX_UNLOCK_PI, 0, NULL), EPERM);
	r = futex(&word, FUTEX_TRYLOCK_PI, 0, NULL);
	tst_check(r == 0 && word == tid, "raw: TRYLOCK_PI of a free word takes it");
	futex(&word, FUTEX_UNLOCK_PI, 0, NULL);
	r = futex(&word, FUTEX_LOCK_PI2, 0, NULL);
	tst_check(r == 0 && word == tid, "raw: LOCK_PI2 of a free word takes it");
	futex(&word, FUTEX_UNLOCK_PI, 0, NULL);

	/* OWNER_DIED with no owner: the locker takes it and the bit stays. */
	word = FUTEX_OWNER_DIED;
	r = futex(&word, FUTEX_LOCK_PI, 0, NULL);
	tst_check(r == 0 && word == (FUTEX_OWNER_DIED | tid),
		  "raw: LOCK_PI of an owner-died word keeps FUTEX_OWNER_DIED");
	futex(&word, FUTEX_UNLOCK_PI, 0, NULL);
	tst_check(word == 0, "raw: UNLOCK_PI clears FUTEX_OWNER_DIED too");

	word = NO_SUCH_TID;
	tst_raw_err("raw: LOCK_PI of a word owned by a TID that does not exist",
		    futex(&word, FUTEX_LOCK_PI, 0, NULL), ESRCH);
	tst_check(word == (NO_SUCH_TID | FUTEX_WAITERS), "raw: ... and FUTEX_WAITERS is left set");
	tst_raw_err("raw: TRYLOCK_PI of that word", futex(&word, FUTEX_TRYLOCK_PI, 0, NULL), ESRCH);
	tst_raw_err("raw: UNLOCK_PI of a word another TID owns",
		    futex(&word, FUTEX_UNLOCK_PI, 0, NULL), EPERM);

	word = 0;
	tst_raw_err("raw: LOCK_PI of a misaligned word",
		    futex((char *)&word + 1, FUTEX_LOCK_PI, 0, NULL), EINVAL);
	tst_raw_err("raw: LOCK_PI of a bad address", futex((void *)8, FUTEX_LOCK_PI, 0, NULL),
		    EFAULT);
	ts = in_ms(CLOCK_REALTIME, 1000);
	tst_raw_err("raw: LOCK_PI with FUTEX_CLOCK_REALTIME",
		    futex(&word, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, 0, &ts), ENOSYS);
	ts.tv_nsec = 1000000000L;
	tst_raw_err("raw: LOCK_PI with tv_nsec out of range", futex(&word, FUTEX_LOCK_PI, 0, &ts),
		    EINVAL);
	tst_check(word == 0, "raw: the failed calls left the word alone");

	/* Another thread holds it. */
	atomic_store(&holder_go, 0);
	atomic_store(&holder_state, 0);
	pthread_create(&h, NULL, holder, NULL);
	while (!atomic_load(&holder_state))
		tst_sleep_ms(1);
	uint32_t owner = word;
	tst_check((owner & FUTEX_WAITERS) == 0 && (owner & FUTEX_TID_MASK) != tid,
		  "raw: the holder's TID is in the word, no waiters yet");
	tst_raw_err("raw: TRYLOCK_PI of a held word", futex(&word, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE, 0, NULL),
		    EAGAIN);
	tst_check(word == (owner | FUTEX_WAITERS), "raw: ... which sets FUTEX_WAITERS");
	tst_raw_err("raw: UNLOCK_PI by a non-owner", futex(&word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL),
		    EPERM);
	ts = in_ms(CLOCK_REALTIME, 50);
	tst_raw_err("raw: LOCK_PI with a CLOCK_REALTIME deadline",
		    futex(&word, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, &ts), ETIMEDOUT);
	ts = in_ms(CLOCK_MONOTONIC, 50);
	tst_raw_err("raw: LOCK_PI2 with a CLOCK_MONOTONIC deadline",
		    futex(&word, FUTEX_LOCK_PI2 | FUTEX_PRIVATE, 0, &ts), ETIMEDOUT);
	ts = in_ms(CLOCK_REALTIME, 50);
	tst_raw_err("raw: LOCK_PI2 | FUTEX_CLOCK_REALTIME with a deadline",
		    futex(&word, FUTEX_LOCK_PI2 | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts),
		    ETIMEDOUT);
	tst_check(word == (owner | FUTEX_WAITERS), "raw: the owner is unchanged after the timeouts");

	/* A waiter blocks; FUTEX_WAKE on the PI futex is EINVAL; the unlock hands over. */
	atomic_store(&blocked_done, 0);
	pthread_create(&b, NULL, blocker, NULL);
	tst_sleep_ms(50);
	tst_check(!atomic_load(&blocked_done), "raw: a LOCK_PI of a held word blocks");
	/* A loaded host may not have run the blocker into LOCK_PI within the 50 ms: until it
	 * waits, FUTEX_WAKE finds nobody and returns 0 (on Linux as in oxv). Give it 5 s. */
	{
		long r = 0;

		for (int i = 0; i < 5000; i++) {
			r = futex(&word, FUTEX_WAKE | FUTEX_PRIVATE, 1, NULL);
			if (r != 0)
				break;
			tst_sleep_ms(1);
		}
		tst_raw_err("raw: FUTEX_WAKE on a PI futex with a waiter", r, EINVAL);
	}
	atomic_store(&holder_go, 1);
	pthread_join(h, NULL);
	tst_check(atomic_load(&holder_state) == 2, "raw: the holder's UNLOCK_PI succeeded");
	pthread_join(b, NULL);
	tst_check(blocked_ret == 0, "raw: the unlock handed the lock to the blocked waiter");
	tst_check(blocked_seen == FUTEX_WAITERS,
		  "raw: the new owner finds its TID and FUTEX_WAITERS in the word");
	tst_checkf(word == 0, "raw: the word is free after the last unlock");
}

/* ---- requeue-PI ---- */

static _Alignas(8) uint32_t cond, mutex;
static long rq_ret[2];
static uint32_t rq_seen[2];

static void *requeue_waiter(void *arg)
{
	long i = (long)arg;

	rq_ret[i] = sys6(SYS_futex, (long)&cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE, 0, 0,
			 (long)&mutex, 0);
	rq_seen[i] = mutex ^ (uint32_t)tst_gettid();
	if (rq_ret[i] == 0)
		futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL);
	return NULL;
}

static long cmp_requeue_pi(int nr_wake, int nr_requeue, uint32_t cmpval)
{
	return sys6(SYS_futex, (long)&cond, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE, nr_wake,
		    nr_requeue, (long)&mutex, cmpval);
}

/* Waits until FUTEX_WAKE of cond is EINVAL: a requeue-PI waiter is blocked there. */
static long wake_cond_until_einval(void)
{
	long r = 0;

	for (int i = 0; i < 3000 && r != -EINVAL; i++) {
		r = futex(&cond, FUTEX_WAKE | FUTEX_PRIVATE, 1, NULL);
		if (r != -EINVAL)
			tst_sleep_ms(1);
	}
	return r;
}

static void requeue_pi(void)
{
	struct timespec ts;
	pthread_t w[2];
	long moved = 0;

	cond = 0;
	mutex = 0;
	tst_raw_err("requeue-PI: WAIT_REQUEUE_PI with one word as both",
		    sys6(SYS_futex, (long)&cond, FUTEX_WAIT_REQUEUE_PI, 0, 0, (long)&cond, 0),
		    EINVAL);
	tst_raw_err("requeue-PI: WAIT_REQUEUE_PI of a changed word",
		    sys6(SYS_futex, (long)&cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE, 1, 0,
			 (long)&mutex, 0),
		    EAGAIN);
	ts = in_ms(CLOCK_MONOTONIC, 50);
	tst_raw_err("requeue-PI: WAIT_REQUEUE_PI with a deadline",
		    sys6(SYS_futex, (long)&cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE, 0, (long)&ts,
			 (long)&mutex, 0),
		    ETIMEDOUT);
	tst_raw_err("requeue-PI: CMP_REQUEUE_PI with nr_wake 2", cmp_requeue_pi(2, 1, 0), EINVAL);
	tst_raw_err("requeue-PI: CMP_REQUEUE_PI with a stale value", cmp_requeue_pi(1, 1, 5), EAGAIN);
	tst_check(cmp_requeue_pi(1, 1, 0) == 0, "requeue-PI: CMP_REQUEUE_PI without waiters is 0");

	/* The PI futex is free: the waiter gets it at once. */
	pthread_create(&w[0], NULL, requeue_waiter, (void *)0L);
	tst_raw_err("requeue-PI: FUTEX_WAKE of the word a requeue-PI waiter waits on",
		    wake_cond_until_einval(), EINVAL);
	tst_check(cmp_requeue_pi(1, 0, 0) == 1, "requeue-PI: CMP_REQUEUE_PI wakes the waiter");
	pthread_join(w[0], NULL);
	tst_check(rq_ret[0] == 0 && rq_seen[0] == 0,
		  "requeue-PI: it returns owning the free PI futex (its TID, no waiters bit)");
	tst_check(mutex == 0, "requeue-PI: its unlock frees it");

	/* The PI futex is held: both waiters move to it and unlocks hand it over. */
	futex(&mutex, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL);
	for (long i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, requeue_waiter, (void *)i);
	wake_cond_until_einval();
	tst_sleep_ms(50);
	for (int i = 0; i < 3000 && moved < 2; i++) {
		long r = cmp_requeue_pi(1, 10, 0);
		if (r < 0)
			break;
		moved += r;
		if (moved < 2)
			tst_sleep_ms(1);
	}
	tst_check(moved == 2, "requeue-PI: CMP_REQUEUE_PI moves both waiters to the held PI futex");
	tst_check(mutex == ((uint32_t)tst_gettid() | FUTEX_WAITERS),
		  "requeue-PI: the owner's word gets FUTEX_WAITERS");
	tst_check(futex(&mutex, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL) == 0,
		  "requeue-PI: the owner unlocks");
	pthread_join(w[0], NULL);
	pthread_join(w[1], NULL);
	tst_check(rq_ret[0] == 0 && rq_ret[1] == 0,
		  "requeue-PI: each requeued waiter returns owning the PI futex in turn");
	tst_check((rq_seen[0] & FUTEX_TID_MASK) == 0 && (rq_seen[1] & FUTEX_TID_MASK) == 0,
		  "requeue-PI: ... with its TID in the word");
	tst_check(mutex == 0, "requeue-PI: the PI futex is free at the end");
}

int main(void)
{
	tst_watchdog(30, "futex_pi");
	mutexes();
	raw_calls();
	requeue_pi();
	return tst_exit();
}
