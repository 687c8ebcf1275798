// sigaction flags and masks while a handler runs. By default the signal being handled is
// blocked in its handler: raising it again there leaves it pending, and the second run starts
// only after the first returned. SA_NODEFER: it is not blocked, so raising it in the handler
// nests a second run at once. sa_mask: the listed signals are blocked too (raised in the
// handler they stay pending, sigpending shows them, and their handler runs after this one
// returns); the ucontext's uc_sigmask holds the mask from before the signal, and that mask is
// back in force once the handler returns. SA_RESETHAND: the disposition is SIG_DFL from the
// handler's start (sigaction reads SIG_DFL in it), so a second SIGWINCH (default: ignore) runs
// no handler.
#include "tst_thread.h"

#include <ucontext.h>

static volatile int depth, max_depth, calls, inner_ran_before_return;
static volatile int usr1_blocked, usr2_blocked, usr2_pending, usr2_calls, usr2_after_usr1;
static volatile int ctx_usr1, ctx_usr2, ctx_term, sawdfl;
static volatile int nest;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sigset_t cur, pend;

	(void)si;
	calls++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	usr1_blocked = sigismember(&cur, SIGUSR1);
	usr2_blocked = sigismember(&cur, SIGUSR2);
	ctx_usr1 = sigismember(&uc->uc_sigmask, SIGUSR1);
	ctx_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
	ctx_term = sigismember(&uc->uc_sigmask, SIGTERM);
	if (nest && calls == 1) {
		int before = calls;

		raise(sig);
		inner_ran_before_return = calls > before;
		raise(SIGUSR2);
		sigpending(&pend);
		usr2_pending = sigismember(&pend, SIGUSR2);
	}
	depth--;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_calls++;
	usr2_after_usr1 = depth == 0;
}

static volatile int winch_calls;

static void on_winch(int sig)
{
	struct sigaction cur;

	(void)sig;
	winch_calls++;
	sawdfl = sigaction(SIGWINCH, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL;
}

static void setup(int flags, int mask_usr2)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (mask_usr2)
		sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	depth = max_depth = calls = inner_ran_before_return = 0;
	usr2_calls = usr2_pending = usr2_after_usr1 = 0;
}

int main(void)
{
	struct sigaction sa;
	sigset_t set, cur;

	tst_watchdog(20, "signal_flags");
	signal(SIGUSR2, on_usr2);
	/* SIGTERM blocked before the signal: uc_sigmask must show it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	setup(0, 1);
	nest = 1;
	raise(SIGUSR1);
	tst_check(calls == 2, "default flags: raising the signal in its handler runs it again");
	tst_check(!inner_ran_before_return && max_depth == 1,
		  "default flags: ...only after the handler returned (it was blocked)");
	tst_check(usr1_blocked, "default flags: the handled signal is blocked in its handler");
	tst_check(usr2_blocked, "sa_mask: SIGUSR2 in sa_mask is blocked in the handler");
	tst_check(usr2_pending, "sa_mask: SIGUSR2 raised in the handler is pending there");
	tst_check(usr2_calls == 1 && usr2_after_usr1,
		  "sa_mask: its handler ran once, after the SIGUSR1 handler returned");
	tst_check(!ctx_usr1 && !ctx_usr2 && ctx_term,
		  "uc_sigmask is the mask from before the signal");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	tst_check(!sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2) &&
			  sigismember(&cur, SIGTERM),
		  "after the handler the mask from before the signal is back");

	setup(SA_NODEFER, 0);
	nest = 1;
	raise(SIGUSR1);
	tst_check(calls == 2 && inner_ran_before_return && max_depth == 2,
		  "SA_NODEFER: raising the signal in its handler nests a second run at once");
	tst_check(!usr1_blocked, "SA_NODEFER: the signal is not blocked in its handler");
	tst_check(usr2_calls == 1 && !usr2_after_usr1,
		  "SA_NODEFER without sa_mask: SIGUSR2 raised in the handler runs at once");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	raise(SIGWINCH);
	tst_check(winch_calls == 1 && sawdfl,
		  "SA_RESETHAND: in the handler the disposition is SIG_DFL");
	tst_check(sigaction(SIGWINCH, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL,
		  "SA_RESETHAND: it stays SIG_DFL after the handler");
	raise(SIGWINCH);
	tst_check(winch_calls == 1, "SA_RESETHAND: a second SIGWINCH runs no handler (ignored)");
	return tst_exit();
}
