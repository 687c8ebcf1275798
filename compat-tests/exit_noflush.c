// oxv-exit: 3
//
// _exit(2) ends the process at once: stdio buffers are not flushed and atexit
// handlers do not run; a status above 255 reaches the parent as status & 0xff
// (259 -> 3), as wait(2) reports only the low 8 bits.
#include "tst.h"

#include <stdlib.h>

static void must_not_run(void)
{
	printf("TFAIL: atexit handler ran after _exit()\n");
	fflush(stdout);
}

int main(void)
{
	tst_check(atexit(must_not_run) == 0, "atexit(must_not_run)");
	/* Flushed lines are written before _exit(). */
	tpass("fflush'ed line before _exit() is written");
	/*
	 * No newline, so not flushed whether stdout is line buffered (console)
	 * or fully buffered (pipe); _exit() must discard it.
	 */
	printf("TFAIL: unflushed stdio buffer was written by _exit()");
	_exit(tst_exit() ? 1 : 259);
}
