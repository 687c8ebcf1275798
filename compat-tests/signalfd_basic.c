// signalfd(2): with SIGUSR1/SIGUSR2/SIGRTMIN blocked, a signalfd reads them as
// signalfd_siginfo: raise() gives SI_TKILL and our pid, kill() SI_USER, sigqueue() SI_QUEUE
// and the value; several fit in one read, lowest signal first; the signal is no longer
// pending after the read; an empty signalfd is EAGAIN (non-blocking); poll says POLLIN while
// one is pending; signalfd on an existing signalfd changes its mask; a read blocks until
// another thread sends one; bad sizes, flags, fds and buffers are EINVAL/EBADF/EFAULT.
#include "tst_thread.h"
#include "tst_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>

static pthread_t main_thread;

static void *later_kill(void *arg)
{
	(void)arg;
	tst_sleep_ms(30);
	pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

int main(void)
{
	struct signalfd_siginfo si[4];
	sigset_t s, pend;
	struct pollfd p;
	union sigval val;
	pthread_t t;
	int fd, file;
	long n;

	tst_watchdog(10, "signalfd_basic");
	main_thread = pthread_self();
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &s, NULL);

	tst_check(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo is 128 bytes");
	fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	tst_check(fd >= 0 && fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK) &&
			  fcntl(fd, F_GETFD) == FD_CLOEXEC,
		  "signalfd(-1, SFD_NONBLOCK | SFD_CLOEXEC): a new fd");
	TST_ERR("read with nothing pending", read(fd, si, sizeof(si)), EAGAIN);
	p.fd = fd;
	p.events = POLLIN;
	tst_check(poll(&p, 1, 0) == 0, "poll: nothing pending");

	raise(SIGUSR1);
	tst_check(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "poll: POLLIN once one is pending");
	n = read(fd, si, sizeof(si));
	tst_check(n == 128 && si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_TKILL &&
			  si[0].ssi_pid == (unsigned)getpid(),
		  "raise: SIGUSR1, SI_TKILL, our pid");
	sigpending(&pend);
	tst_check(!sigismember(&pend, SIGUSR1), "no longer pending");

	kill(getpid(), SIGUSR2);
	val.sival_int = 77;
	sigqueue(getpid(), SIGRTMIN, val);
	raise(SIGUSR1);
	n = read(fd, si, sizeof(si));
	tst_check(n == 3 * 128, "three pending signals in one read");
	tst_check(si[0].ssi_signo == SIGUSR1 && si[1].ssi_signo == SIGUSR2 &&
			  si[2].ssi_signo == (unsigned)SIGRTMIN,
		  "lowest signal first");
	tst_check(si[1].ssi_code == SI_USER && si[1].ssi_pid == (unsigned)getpid(),
		  "kill: SI_USER, our pid");
	tst_check(si[2].ssi_code == SI_QUEUE && si[2].ssi_int == 77,
		  "sigqueue: SI_QUEUE with the value");

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	tst_check(signalfd(fd, &s, 0) == fd, "signalfd on an existing fd returns it");
	raise(SIGUSR1);
	TST_ERR("SIGUSR1 is no longer in the mask", read(fd, si, sizeof(si)), EAGAIN);
	sigpending(&pend);
	tst_check(sigismember(&pend, SIGUSR1), "and stays pending");
	signal(SIGUSR1, SIG_IGN);

	fcntl(fd, F_SETFL, 0);
	pthread_create(&t, NULL, later_kill, NULL);
	n = read(fd, si, sizeof(si));
	tst_check(n == 128 && si[0].ssi_signo == SIGUSR2,
		  "a blocked read wakes when another thread sends the signal");
	pthread_join(t, NULL);

	TST_ERR("read with a 64-byte buffer", read(fd, si, 64), EINVAL);
	TST_RAW("signalfd4 with sizemask 4", sys4(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
	TST_RAW("signalfd4 with flag O_APPEND", sys4(SYS_signalfd4, -1, &s, 8, O_APPEND), EINVAL);
	TST_RAW("signalfd4 with a NULL mask", sys4(SYS_signalfd4, -1, 0, 8, 0), EFAULT);
	TST_RAW("signalfd4 on fd 999", sys4(SYS_signalfd4, 999, &s, 8, 0), EBADF);
	file = open("/proc/self/exe", O_RDONLY);
	TST_RAW("signalfd4 on a file", sys4(SYS_signalfd4, file, &s, 8, 0), EINVAL);
	close(file);
	close(fd);
	return tst_exit();
}
