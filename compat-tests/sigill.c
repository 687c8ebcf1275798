// oxv-exit: 132
//
// An undefined instruction (ud2) with no SIGILL handler kills the process: 128 + 4 = 132.
#include "tst.h"

#include <sys/resource.h>

int main(void)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	tpass("printed and flushed before ud2");
	__builtin_trap();
}
