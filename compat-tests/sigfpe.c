// oxv-exit: 136
//
// An integer division by zero (#DE) with no SIGFPE handler kills the process: 128 + 8 = 136.
#include "tst.h"

#include <sys/resource.h>

int main(int argc, char **argv)
{
	struct rlimit no_core = { 0, 0 };
	volatile int zero = argc - 1;

	(void)argv;
	setrlimit(RLIMIT_CORE, &no_core);
	tpass("printed and flushed before dividing by zero");
	return 10 / zero;
}
