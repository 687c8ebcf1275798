// Blocking pipes with threads: a reader blocked on an empty pipe wakes when another thread
// writes, and gets EOF when the last writer closes; a writer blocked on a full pipe wakes as
// the reader drains it, and a 1 MiB write arrives whole and in order; a blocked read
// interrupted by a handled signal fails with EINTR without SA_RESTART and goes on (returning
// the data written later) with SA_RESTART; a writer blocked on a full pipe gets EPIPE when
// the read end is closed.
#include "tst_thread.h"
#include "tst_fd.h"

#include <fcntl.h>
#include <stdatomic.h>

static int p[2];
static atomic_int handled;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void *later_write(void *arg)
{
	tst_sleep_ms(30);
	write(p[1], arg, strlen(arg));
	return NULL;
}

static void *later_close(void *arg)
{
	tst_sleep_ms(30);
	close((int)(long)arg);
	return NULL;
}

#define BIG (1 << 20)

static void *reader(void *arg)
{
	static unsigned char got[BIG];
	long n = 0, r;
	int ok = 1;

	(void)arg;
	while (n < BIG && (r = read(p[0], got + n, 7000)) > 0)
		n += r;
	for (long i = 0; i < BIG; i++)
		if (got[i] != (unsigned char)(i % 251))
			ok = 0;
	return (void *)(long)(n == BIG && ok);
}

static pthread_t target;

static void *kick(void *arg)
{
	(void)arg;
	tst_sleep_ms(30);
	pthread_kill(target, SIGUSR1);
	tst_sleep_ms(30);
	write(p[1], "after", 5);
	return NULL;
}

static void check_interrupted(int flags)
{
	struct sigaction sa;
	pthread_t t;
	char buf[16];
	long r;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&handled, 0);
	target = pthread_self();
	pthread_create(&t, NULL, kick, NULL);
	r = read(p[0], buf, sizeof(buf));
	e = errno;
	pthread_join(t, NULL);
	if (flags & SA_RESTART) {
		tst_check(r == 5 && atomic_load(&handled) == 1,
			  "SA_RESTART: the handler ran and the read went on to the data");
	} else {
		tst_check(r == -1 && e == EINTR && atomic_load(&handled) == 1,
			  "no SA_RESTART: the read fails with EINTR after the handler");
		read(p[0], buf, sizeof(buf)); /* the data written after the signal */
	}
}

int main(void)
{
	static unsigned char data[BIG];
	pthread_t t;
	char buf[16];
	void *ok;
	int64_t t0;
	long r;

	tst_watchdog(20, "pipe_block");
	if (pipe(p) != 0)
		return 1;
	t0 = tst_now_ns();
	pthread_create(&t, NULL, later_write, "ping");
	r = read(p[0], buf, sizeof(buf));
	tst_check(r == 4 && memcmp(buf, "ping", 4) == 0 && tst_now_ns() - t0 >= 20000000,
		  "a blocked read wakes with another thread's write");
	pthread_join(t, NULL);

	for (long i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i % 251);
	pthread_create(&t, NULL, reader, NULL);
	r = write(p[1], data, BIG);
	pthread_join(t, &ok);
	tst_check(r == BIG && ok, "a 1 MiB write to a blocking pipe arrives whole and in order");

	check_interrupted(0);
	check_interrupted(SA_RESTART);

	pthread_create(&t, NULL, later_close, (void *)(long)p[1]);
	r = read(p[0], buf, sizeof(buf));
	tst_check(r == 0, "a blocked read gets EOF when the last writer closes");
	pthread_join(t, NULL);
	close(p[0]);

	if (pipe(p) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&t, NULL, later_close, (void *)(long)p[0]);
	r = write(p[1], data, 2 * 65536);
	tst_check(r == 65536, "a blocked big write returns what it wrote when the reader goes");
	TST_ERR("then writes fail", write(p[1], "x", 1), EPIPE);
	pthread_join(t, NULL);
	close(p[1]);
	return tst_exit();
}
