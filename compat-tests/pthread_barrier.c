// pthread barriers: 4 threads go through 200 rounds of one barrier. In each round every
// thread writes its slot before the barrier and after it reads all slots: no thread may pass
// before all have arrived, so all 4 values of the round must be there. Exactly one thread per
// round gets PTHREAD_BARRIER_SERIAL_THREAD. pthread_barrier_init with count 0 is EINVAL.
#include "tst_thread.h"

#define NTHREADS 4
#define ROUNDS 200

static pthread_barrier_t barrier;
static volatile int slot[2][NTHREADS];
static int serial[ROUNDS];
static int early[NTHREADS], bad_ret[NTHREADS];
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;

static void *runner(void *arg)
{
	int me = (int)(long)arg;

	for (int r = 0; r < ROUNDS; r++) {
		int ret;

		/* Two buffers: slot[r % 2] is rewritten only after the next barrier. */
		slot[r % 2][me] = r + 1;
		ret = pthread_barrier_wait(&barrier);
		if (ret == PTHREAD_BARRIER_SERIAL_THREAD) {
			pthread_mutex_lock(&serial_lock);
			serial[r]++;
			pthread_mutex_unlock(&serial_lock);
		} else if (ret != 0) {
			bad_ret[me] = 1;
		}
		for (int i = 0; i < NTHREADS; i++)
			if (slot[r % 2][i] != r + 1)
				early[me] = 1;
		/* A second wait so nobody rewrites slot[r % 2] while another still reads it. */
		ret = pthread_barrier_wait(&barrier);
		if (ret != 0 && ret != PTHREAD_BARRIER_SERIAL_THREAD)
			bad_ret[me] = 1;
	}
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	pthread_barrier_t b0;
	int ok = 1, one_serial = 1, no_early = 1, rets = 1;

	tst_watchdog(20, "pthread_barrier");
	tst_pth_err("pthread_barrier_init with count 0", pthread_barrier_init(&b0, NULL, 0),
		    EINVAL);
	tst_check(pthread_barrier_init(&barrier, NULL, NTHREADS) == 0,
		  "pthread_barrier_init with count 4");
	for (int i = 0; i < NTHREADS; i++)
		ok &= pthread_create(&t[i], NULL, runner, (void *)(long)i) == 0;
	tst_check(ok, "created 4 threads");
	if (!ok)
		return tst_exit();
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int r = 0; r < ROUNDS; r++)
		one_serial &= serial[r] == 1;
	for (int i = 0; i < NTHREADS; i++) {
		no_early &= !early[i];
		rets &= !bad_ret[i];
	}
	tst_check(rets, "pthread_barrier_wait returned 0 or PTHREAD_BARRIER_SERIAL_THREAD");
	tst_checkf(no_early, "in all %d rounds every thread saw all 4 slots written", ROUNDS);
	tst_check(one_serial, "exactly one PTHREAD_BARRIER_SERIAL_THREAD per round");
	tst_check(pthread_barrier_destroy(&barrier) == 0, "pthread_barrier_destroy");
	return tst_exit();
}
