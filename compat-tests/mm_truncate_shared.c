// Truncating a mapped file (mmap(2), "SIGBUS"; truncate(2)): a 4-page file under /tmp is
// mapped MAP_SHARED and MAP_PRIVATE (one private page written, so it is a private copy),
// then ftruncate shrinks it to 1 page + 100 bytes. Pages wholly past the new end are unmapped
// from both mappings, private copy included: touching them raises SIGBUS with BUS_ADRERR and
// si_addr at the touched byte. The partial last page keeps its bytes before the end and
// reads zeros after it. Growing the file again makes those pages zeros, writable through the
// shared mapping and seen by read(2). A shared mapping longer than the file gets SIGBUS past
// its end from the start.
#include "tst_thread.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

#define PG 4096

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

/* Reads (or writes, if `write`) one byte at `where`, which must raise SIGBUS. */
static void bus(const char *what, volatile char *where, int write)
{
	calls = signo = code = 0;
	addr = NULL;
	if (sigsetjmp(env, 1) == 0) {
		if (write)
			*where = 'w';
		else
			(void)*where;
		tfail("%s: no SIGBUS", what);
		return;
	}
	tst_checkf(calls == 1 && signo == SIGBUS && code == BUS_ADRERR &&
			   addr == (void *)where,
		   "%s: SIGBUS, BUS_ADRERR, si_addr the touched byte", what);
}

static int all(const char *p, int len, char c)
{
	for (int i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

int main(void)
{
	char path[64], page[PG];
	struct sigaction sa;
	char *s, *p;
	int fd;

	tst_watchdog(20, "mm_truncate_shared");
	snprintf(path, sizeof(path), "/tmp/oxv-trunc-shared-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		tfail("open the /tmp file: %s", tst_errname(errno));
		return tst_exit();
	}
	for (int i = 0; i < 4; i++) {
		memset(page, 'A' + i, PG);
		if (write(fd, page, PG) != PG)
			tfail("write page %d", i);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (s == MAP_FAILED || p == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
		unlink(path);
		return tst_exit();
	}
	tst_check(s[0] == 'A' && s[3 * PG] == 'D' && p[2 * PG] == 'C',
		  "both mappings show the file");
	s[2 * PG] = 'x';
	p[3 * PG] = 'y';
	tst_check(p[2 * PG] == 'x' && p[3 * PG] == 'y',
		  "the private mapping sees a shared write, keeps its own");

	tst_check(ftruncate(fd, PG + 100) == 0, "ftruncate to 1 page + 100 bytes");
	tst_check(s[0] == 'A' && p[0] == 'A', "the first page stays");
	tst_check(all(s + PG, 100, 'B') && all(s + PG + 100, PG - 100, 0),
		  "the last page: its bytes before the end, zeros after (shared)");
	tst_check(all(p + PG, 100, 'B') && all(p + PG + 100, PG - 100, 0),
		  "the last page: its bytes before the end, zeros after (private)");
	bus("shared read past the end", s + 2 * PG + 5, 0);
	bus("shared write past the end", s + 3 * PG, 1);
	bus("private read of a page never written", p + 2 * PG, 0);
	bus("private read of its own copy", p + 3 * PG + 7, 0);
	bus("private write past the end", p + 3 * PG, 1);

	tst_check(ftruncate(fd, 4 * PG) == 0, "ftruncate back to 4 pages");
	tst_check(all(s + 2 * PG, 2 * PG, 0) && all(p + 2 * PG, 2 * PG, 0),
		  "the pages are zeros again in both mappings");
	tst_check(all(s + PG + 100, PG - 100, 0), "the old tail stays zeros");
	s[3 * PG + 1] = 'z';
	tst_check(pread(fd, page, 2, 3 * PG) == 2 && page[0] == 0 && page[1] == 'z',
		  "a write through the shared mapping is what read(2) sees");
	munmap(s, 4 * PG);
	munmap(p, 4 * PG);

	tst_check(ftruncate(fd, 100) == 0, "ftruncate to 100 bytes");
	s = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		tfail("mmap: %s", tst_errname(errno));
	} else {
		tst_check(s[0] == 'A' && s[100] == 0, "a new mapping of the short file");
		bus("a new shared mapping past the end", s + PG, 0);
		bus("and its last page", s + 2 * PG + 1, 1);
		munmap(s, 3 * PG);
	}
	close(fd);
	unlink(path);
	return tst_exit();
}
