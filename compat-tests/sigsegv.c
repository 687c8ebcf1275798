// oxv-exit: 139
//
// A write through a NULL pointer kills the process with SIGSEGV (no handler
// installed): the parent sees death by signal 11, reported as 128 + 11 = 139.
// The line printed and flushed before the fault must still come out.
#include "tst.h"

#include <sys/resource.h>

int main(void)
{
	/* Both volatile: the compiler may neither assume NULL nor drop the store. */
	volatile int *volatile target = NULL;
	struct rlimit no_core = { 0, 0 };

	/* No core file on the host; the result does not matter (not printed). */
	setrlimit(RLIMIT_CORE, &no_core);

	tpass("printed and flushed before the NULL write");
	*target = 42;
	tfail("still running after writing through NULL");
	return tst_exit();
}
