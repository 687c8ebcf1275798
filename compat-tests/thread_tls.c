// Thread-local storage: every thread starts with the initial image of __thread variables
// (initialized .tdata and zeroed .tbss, also a 64-byte-aligned one), at its own addresses;
// values each thread writes stay its own across yields and sleeps while the others write
// theirs; the main thread's values are untouched. pthread keys: getspecific is NULL in a new
// thread, each thread sees only its own value, and at thread exit the destructor runs once
// per thread that set a non-NULL value, with that value, and not for NULL values.
#include "tst_thread.h"

#include <sched.h>
#include <stdint.h>

#define NTHREADS 4

static __thread int tls_init = 42;
static __thread long tls_zero;
static __thread char tls_array[100] = "thread-local";
static __thread long tls_aligned __attribute__((aligned(64))) = 7;

static pthread_key_t key, key_null;
static pthread_mutex_t dlock = PTHREAD_MUTEX_INITIALIZER;
static int destructor_calls[NTHREADS + 1], bad_destructor, null_destructor;

struct result {
	int fresh;       /* initial TLS image seen */
	int kept;        /* own values kept */
	int key_fresh;   /* getspecific NULL at start */
	int key_kept;    /* own key value kept */
	uintptr_t addr;  /* &tls_init */
	int aligned;
};

static struct result res[NTHREADS];
static int slots[NTHREADS + 1];

static void destructor(void *v)
{
	int *slot = v;

	pthread_mutex_lock(&dlock);
	if (slot >= &slots[0] && slot <= &slots[NTHREADS])
		destructor_calls[slot - slots]++;
	else
		bad_destructor = 1;
	pthread_mutex_unlock(&dlock);
}

static void null_key_destructor(void *v)
{
	(void)v;
	null_destructor = 1;
}

static void *worker(void *arg)
{
	int me = (int)(long)arg;
	struct result *r = &res[me];

	r->addr = (uintptr_t)&tls_init;
	r->aligned = ((uintptr_t)&tls_aligned & 63) == 0;
	r->fresh = tls_init == 42 && tls_zero == 0 && strcmp(tls_array, "thread-local") == 0 &&
		   tls_aligned == 7;
	r->key_fresh = pthread_getspecific(key) == NULL;

	tls_init = 1000 + me;
	tls_zero = -me;
	snprintf(tls_array, sizeof(tls_array), "mine %d", me);
	tls_aligned = me * 3;
	pthread_setspecific(key, &slots[me + 1]);
	pthread_setspecific(key_null, NULL);
	for (int i = 0; i < 20; i++) {
		if (i % 5 == 0)
			tst_sleep_ms(1);
		else
			sched_yield();
	}
	char want[16];
	snprintf(want, sizeof(want), "mine %d", me);
	r->kept = tls_init == 1000 + me && tls_zero == -me && strcmp(tls_array, want) == 0 &&
		  tls_aligned == me * 3;
	r->key_kept = pthread_getspecific(key) == &slots[me + 1];
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	int ok = 1, fresh = 1, kept = 1, kfresh = 1, kkept = 1, distinct = 1, aligned = 1;
	int once = 1;

	tst_watchdog(20, "thread_tls");
	tst_check(((uintptr_t)&tls_aligned & 63) == 0,
		  "a 64-byte-aligned __thread in main is aligned");
	tls_init = 1;
	tst_check(pthread_key_create(&key, destructor) == 0,
		  "pthread_key_create with a destructor");
	tst_check(pthread_key_create(&key_null, null_key_destructor) == 0,
		  "a second key whose value stays NULL");
	pthread_setspecific(key, &slots[0]);
	for (int i = 0; i < NTHREADS; i++)
		ok &= pthread_create(&t[i], NULL, worker, (void *)(long)i) == 0;
	tst_check(ok, "created 4 threads");
	if (!ok)
		return tst_exit();
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		fresh &= res[i].fresh;
		kept &= res[i].kept;
		kfresh &= res[i].key_fresh;
		kkept &= res[i].key_kept;
		aligned &= res[i].aligned;
		distinct &= res[i].addr != (uintptr_t)&tls_init;
		for (int j = 0; j < i; j++)
			distinct &= res[i].addr != res[j].addr;
		once &= destructor_calls[i + 1] == 1;
	}
	tst_check(fresh, "each new thread starts with the initial __thread image");
	tst_check(aligned, "the 64-byte-aligned __thread is aligned in every thread");
	tst_check(distinct, "each thread's __thread variable has its own address");
	tst_check(kept, "each thread keeps its own __thread values across yields and sleeps");
	tst_check(tls_init == 1 && tls_zero == 0 && tls_aligned == 7 &&
			  strcmp(tls_array, "thread-local") == 0,
		  "the main thread's __thread values are untouched");
	tst_check(kfresh, "pthread_getspecific is NULL in a new thread");
	tst_check(kkept, "each thread sees its own pthread_setspecific value");
	tst_check(pthread_getspecific(key) == &slots[0], "main's key value is its own");
	tst_check(once && !bad_destructor,
		  "the key destructor ran once per exited thread, with its value");
	tst_check(destructor_calls[0] == 0, "no destructor for the still-running main thread");
	tst_check(!null_destructor, "no destructor for a NULL key value");
	tst_check(pthread_key_delete(key) == 0, "pthread_key_delete");
	return tst_exit();
}
