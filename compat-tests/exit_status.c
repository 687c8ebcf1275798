// oxv-exit: 42
//
// exit(3) with a chosen status: the status reaches the parent unchanged,
// atexit(3) handlers run in reverse order of registration, and stdio buffers
// are flushed (the last lines are written with printf and never fflush'ed).
#include "tst.h"

#include <stdlib.h>

static int handlers_run;

static void second_registered(void)
{
	/* Registered last, so it runs first. */
	if (handlers_run == 0)
		printf("TPASS: atexit handlers run in reverse order (last registered first)\n");
	else
		printf("TFAIL: atexit handlers: last registered ran after %d other(s)\n",
		       handlers_run);
	handlers_run++;
}

static void first_registered(void)
{
	if (handlers_run == 1)
		printf("TPASS: atexit handler registered first runs last\n");
	else
		printf("TFAIL: atexit handlers: first registered ran after %d other(s)\n",
		       handlers_run);
	handlers_run++;
	/* Unflushed on purpose: exit() must flush stdio after the handlers. */
	printf("TPASS: stdio flushed by exit() after the atexit handlers\n");
}

int main(void)
{
	tst_check(atexit(first_registered) == 0, "atexit(first_registered)");
	tst_check(atexit(second_registered) == 0, "atexit(second_registered)");
	printf("TPASS: buffered line before exit() is written\n");
	exit(tst_exit() ? 1 : 42);
}
