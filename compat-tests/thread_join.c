// Thread creation and joining: 8 threads hand back distinct values, half by returning and half
// through pthread_exit, and pthread_join gets each one (also for a thread that finished long
// before the join). In every thread getpid() is the process id and gettid() differs from it
// and from every other thread's; in main gettid() == getpid(). pthread_self differs between
// threads and pthread_equal agrees. A thread can create and join a thread of its own. Thread
// arguments arrive intact and a large stack (1 MiB locals) works in a thread.
#include "tst_thread.h"

#define NTHREADS 8

struct info {
	long tid, pid;
	pthread_t self;
	int self_equal;
};

static struct info info[NTHREADS];

static void *worker(void *arg)
{
	long i = (long)arg;

	info[i].tid = tst_gettid();
	info[i].pid = getpid();
	info[i].self = pthread_self();
	info[i].self_equal = pthread_equal(pthread_self(), info[i].self) != 0;
	if (i % 2)
		pthread_exit((void *)(0x1000 + i));
	return (void *)(0x1000 + i);
}

static void *grandchild(void *arg)
{
	return (void *)((long)arg * 2);
}

static void *spawner(void *arg)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, grandchild, arg) != 0)
		return (void *)-1L;
	if (pthread_join(t, &ret) != 0)
		return (void *)-2L;
	return ret;
}

static void *big_stack(void *arg)
{
	volatile char buf[1 << 20];

	buf[0] = 1;
	buf[sizeof(buf) - 1] = 2;
	for (size_t i = 0; i < sizeof(buf); i += 4096)
		buf[i] = (char)i;
	return (void *)(long)(buf[sizeof(buf) - 1] + (long)arg);
}

int main(void)
{
	pthread_t t[NTHREADS], t2;
	void *ret;
	int ok = 1, values = 1, distinct = 1, not_pid = 1, same_pid = 1, self_ok = 1;
	pthread_attr_t attr;

	tst_watchdog(20, "thread_join");
	tst_check(tst_gettid() == getpid(), "in main gettid() == getpid()");
	for (long i = 0; i < NTHREADS; i++)
		ok &= pthread_create(&t[i], NULL, worker, (void *)i) == 0;
	tst_check(ok, "created 8 threads");
	if (!ok)
		return tst_exit();
	tst_sleep_ms(20);
	for (int i = 0; i < NTHREADS; i++) {
		ret = NULL;
		values &= pthread_join(t[i], &ret) == 0 && ret == (void *)(0x1000L + i);
	}
	tst_check(values, "pthread_join returns each thread's return / pthread_exit value");
	for (int i = 0; i < NTHREADS; i++) {
		not_pid &= info[i].tid > 0 && info[i].tid != getpid();
		same_pid &= info[i].pid == getpid();
		self_ok &= info[i].self_equal && pthread_equal(info[i].self, t[i]) &&
			   !pthread_equal(info[i].self, pthread_self());
		for (int j = 0; j < i; j++)
			distinct &= info[i].tid != info[j].tid;
	}
	tst_check(same_pid, "getpid() in every thread is the process id");
	tst_check(not_pid, "gettid() in a thread is positive and differs from getpid()");
	tst_check(distinct, "the 8 threads have 8 distinct tids");
	tst_check(self_ok, "pthread_self is the pthread_t that pthread_create returned");

	ret = NULL;
	tst_check(pthread_create(&t2, NULL, spawner, (void *)21L) == 0 &&
			  pthread_join(t2, &ret) == 0 && ret == (void *)42L,
		  "a thread creates and joins its own thread");

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 4 << 20);
	ret = NULL;
	tst_check(pthread_create(&t2, &attr, big_stack, (void *)5L) == 0 &&
			  pthread_join(t2, &ret) == 0 && ret == (void *)7L,
		  "a thread with a 4 MiB stack uses 1 MiB of locals");
	pthread_attr_destroy(&attr);
	return tst_exit();
}
