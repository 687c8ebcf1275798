// oxv-exit: 134
//
// abort(3) raises SIGABRT at the process itself (tgkill on glibc, tkill on musl); with the
// default disposition the process dies of it: status 128 + 6 = 134. Signals sent to self
// with SIG_IGN are discarded, and signal 0 only checks that the target exists.
#include "tst.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	tst_check(kill(getpid(), 0) == 0, "kill(self, 0) checks existence and succeeds");
	signal(SIGUSR1, SIG_IGN);
	tst_check(kill(getpid(), SIGUSR1) == 0, "a SIGUSR1 the process ignores is discarded");
	tst_raw_err("kill with signal 65", sys3(SYS_kill, getpid(), 65, 0), EINVAL);
	tst_raw_err("tgkill with tgid 0", sys3(SYS_tgkill, 0, getpid(), SIGUSR1), EINVAL);
	tpass("still alive before abort()");
	abort();
}
