// TIOCGPTPEER (ioctl_tty(2)): the master opens its own slave as a new fd without a path:
// EIO while the slave is locked, then an fd that is a terminal, with FD_CLOEXEC when asked,
// connected to the master both ways; EIO on a slave, ENOTTY on a pipe.
#include "tst.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

int main(void)
{
	struct termios t;
	char buf[32];
	int m, s, s2, p[2];
	long r;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) != 0 || pipe(p) != 0) {
		tfail("posix_openpt: %s", tst_errname(errno));
		return tst_exit();
	}
	tst_raw_err("TIOCGPTPEER while locked", sys3(SYS_ioctl, m, TIOCGPTPEER, O_RDWR), EIO);
	unlockpt(m);
	s = sys3(SYS_ioctl, m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	tst_check(s > 2, "TIOCGPTPEER gives a new fd");
	tst_check(fcntl(s, F_GETFD) == FD_CLOEXEC, "with FD_CLOEXEC");
	tst_check(tcgetattr(s, &t) == 0, "it is a terminal");
	tst_check((fcntl(s, F_GETFL) & O_ACCMODE) == O_RDWR, "open O_RDWR");
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_oflag &= ~(tcflag_t)OPOST;
	tst_check(tcsetattr(s, TCSANOW, &t) == 0, "raw mode on it");
	tst_check(write(m, "in", 2) == 2 && read(s, buf, sizeof(buf)) == 2 &&
			  memcmp(buf, "in", 2) == 0,
		  "master -> peer");
	tst_check(write(s, "out", 3) == 3 && read(m, buf, sizeof(buf)) == 3 &&
			  memcmp(buf, "out", 3) == 0,
		  "peer -> master");
	s2 = sys3(SYS_ioctl, m, TIOCGPTPEER, O_RDWR);
	tst_check(s2 > s && fcntl(s2, F_GETFD) == 0, "a second peer, without FD_CLOEXEC");
	tst_raw_err("TIOCGPTPEER on a slave", sys3(SYS_ioctl, s, TIOCGPTPEER, O_RDWR), EIO);
	r = sys3(SYS_ioctl, p[0], TIOCGPTPEER, O_RDWR);
	tst_raw_err("TIOCGPTPEER on a pipe", r, ENOTTY);
	close(s2);
	close(s);
	close(m);
	return tst_exit();
}
