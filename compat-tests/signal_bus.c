// SIGBUS from a file mapping: a 100-byte file under /tmp mapped over two pages reads back its
// bytes, and zeros for the rest of its last (partial) page; touching the second page, wholly
// past end of file, raises SIGBUS with BUS_ADRERR and si_addr at the touched byte, caught by
// an SA_SIGINFO handler that siglongjmps out. A second touch raises it again.
#include "tst_thread.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile int calls, signo, code;
static void *volatile addr;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	calls++;
	signo = sig;
	code = si->si_code;
	addr = si->si_addr;
	siglongjmp(env, 1);
}

static void touch(const char *what, volatile char *where)
{
	calls = signo = code = 0;
	addr = NULL;
	if (sigsetjmp(env, 1) == 0) {
		(void)*where;
		tfail("%s: no SIGBUS", what);
		return;
	}
	tst_checkf(calls == 1 && signo == SIGBUS, "%s: SIGBUS caught once", what);
	if (code == BUS_ADRERR)
		tpass("%s: si_code BUS_ADRERR", what);
	else
		tfail("%s: si_code %d, want BUS_ADRERR", what, code);
	tst_checkf(addr == (void *)where, "%s: si_addr is the touched byte", what);
}

int main(void)
{
	char path[64], buf[100];
	struct sigaction sa;
	char *p;
	int fd, zeros = 1;

	tst_watchdog(20, "signal_bus");
	snprintf(path, sizeof(path), "/tmp/oxv-sigbus-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		tfail("open %s: %s", "/tmp file", tst_errname(errno));
		return tst_exit();
	}
	for (int i = 0; i < 100; i++)
		buf[i] = (char)('a' + i % 26);
	tst_check(write(fd, buf, 100) == 100, "wrote a 100-byte file");

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	p = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		tfail("mmap of the file: %s", tst_errname(errno));
		unlink(path);
		return tst_exit();
	}
	tst_check(memcmp(p, buf, 100) == 0, "the mapping shows the file's 100 bytes");
	for (int i = 100; i < 4096; i++)
		zeros &= p[i] == 0;
	tst_check(zeros, "the rest of the last file page reads as zeros");
	touch("read of the page past end of file", p + 4096 + 10);
	touch("read of it again", p + 4096);
	munmap(p, 2 * 4096);
	close(fd);
	unlink(path);
	return tst_exit();
}
