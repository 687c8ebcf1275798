// Robust mutexes (PTHREAD_MUTEX_ROBUST), which need the kernel to walk a dying thread's robust
// list (set_robust_list) and mark the mutexes it still holds with FUTEX_OWNER_DIED. A thread
// exits holding one: the next locker gets EOWNERDEAD and the mutex, pthread_mutex_consistent
// repairs it, and it then works normally. A waiter already blocked when the owner dies is
// woken with EOWNERDEAD. Unlocking an owner-dead mutex without pthread_mutex_consistent makes
// it unrecoverable: ENOTRECOVERABLE. Each lock is a pthread_mutex_timedlock with a 2 s
// deadline, so a kernel that does not process robust lists fails with ETIMEDOUT, no hang.
// (musl releases a dying thread's robust mutexes itself in pthread_exit; glibc leaves it to
// the kernel. A process-shared one whose owner leaves through the raw exit syscall tests
// the kernel in both.)
#include "tst_thread.h"

static pthread_mutex_t m;
static volatile int locked;

static void *die_holding(void *arg)
{
	pthread_mutex_lock(&m);
	locked = 1;
	if (arg)
		tst_sleep_ms((long)arg);
	return NULL; /* exits with m held */
}

/* Dies through the raw exit syscall, so no libc exit code can release the mutex. */
static void *die_raw(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	locked = 1;
	sys3(SYS_exit, 0, 0, 0);
	return NULL;
}

static int timedlock(pthread_mutex_t *mx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	return pthread_mutex_timedlock(mx, &ts);
}

static void init_robust(int pshared)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pshared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
}

static int run_owner(long sleep_ms, pthread_t *t)
{
	locked = 0;
	if (pthread_create(t, NULL, sleep_ms < 0 ? die_raw : die_holding, (void *)sleep_ms) != 0) {
		tfail("pthread_create");
		return 0;
	}
	while (!locked)
		tst_sleep_ms(1);
	return 1;
}

int main(void)
{
	pthread_t t;
	int r;

	tst_watchdog(30, "robust_mutex");

	/* Owner dies first, then we lock. */
	init_robust(0);
	if (!run_owner(0, &t))
		return tst_exit();
	pthread_join(t, NULL);
	r = timedlock(&m);
	tst_pth_err("locking a robust mutex whose owner exited", r, EOWNERDEAD);
	if (r == EOWNERDEAD) {
		tst_check(pthread_mutex_consistent(&m) == 0, "pthread_mutex_consistent");
		tst_check(pthread_mutex_unlock(&m) == 0, "unlock after consistent");
		tst_check(timedlock(&m) == 0, "the repaired mutex locks normally");
		pthread_mutex_unlock(&m);
	}

	/* We block first, then the owner dies. */
	init_robust(0);
	if (!run_owner(50, &t))
		return tst_exit();
	r = timedlock(&m);
	tst_pth_err("a waiter blocked when the owner exits", r, EOWNERDEAD);
	pthread_join(t, NULL);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(&m);
		pthread_mutex_unlock(&m);
	}

	/* Not made consistent: unrecoverable. */
	init_robust(0);
	if (!run_owner(0, &t))
		return tst_exit();
	pthread_join(t, NULL);
	r = timedlock(&m);
	tst_pth_err("locking again after another owner died", r, EOWNERDEAD);
	if (r == EOWNERDEAD) {
		pthread_mutex_unlock(&m);
		tst_pth_err("after unlock without pthread_mutex_consistent", timedlock(&m),
			    ENOTRECOVERABLE);
	}

	/*
	 * The owner leaves through the exit syscall: only the kernel's robust list walk helps.
	 * Process-shared, because musl puts only those on the list it gives the kernel. The
	 * thread is not joined: musl learns of a thread's end in pthread_exit, skipped here.
	 */
	init_robust(1);
	if (!run_owner(-1, &t))
		return tst_exit();
	r = timedlock(&m);
	tst_pth_err("locking a process-shared robust mutex whose owner made a raw exit syscall", r,
		    EOWNERDEAD);
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(&m);
		pthread_mutex_unlock(&m);
	}
	return tst_exit();
}
