//! [`Blocker`] and [`Parker`]: how a VFS call that must wait (a read of an empty pipe,
//! poll(2), epoll_wait(2)) waits. The embedder implements them over its scheduler; the VFS owns
//! no timer and no thread.
//!
//! The VFS waits in a loop (see [`crate::readiness`]): register a
//! [`Waiter`](crate::readiness::Waiter) on the queues of the files it waits for, clear the
//! waiter's flag, check readiness, and if nothing is ready, [`Parker::park`] until the flag is
//! set, the deadline passes or a signal comes. The one promise the embedder must keep is that
//! checking the flag and going to sleep are atomic with respect to [`Parker::unpark`]: a flag
//! set after the check must end the sleep (a kernel checks it under its scheduler lock, as
//! futex(2) checks the futex word). A parker may wake early and often; the VFS checks again.

use alloc::sync::Arc;
use core::sync::atomic::AtomicBool;
use oxv_abi::Errno;

/// Time and thread handles for waiting. See the [module docs](self).
pub trait Blocker: Send + Sync {
    /// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`), for computing deadlines.
    fn now_ns(&self) -> u64;

    /// A handle on the calling thread, to park it and to unpark it from elsewhere (another
    /// thread, an interrupt handler).
    fn parker(&self) -> Arc<dyn Parker>;

    /// Whether the calling thread is being killed (Linux's `fatal_signal_pending`: a
    /// `SIGKILL`, a group exit or an OOM kill decided for its process). A call that would
    /// go on queueing buffer after buffer (a pipe write, a socket send) stops short when it
    /// is: its result never reaches the app, and what it allocates cannot be freed before
    /// the thread is gone. Cheap, takes no lock that a VFS or network lock may be held
    /// under; never blocks. The default knows of no killing (`false`).
    fn fatal_signal_pending(&self) -> bool {
        false
    }
}

/// Parks and unparks one thread. Made by [`Blocker::parker`] for the calling thread.
pub trait Parker: Send + Sync {
    /// Called by the thread itself: **blocks** unless `woken` is set, until [`Parker::unpark`]
    /// (after `woken` was set), until `deadline` (monotonic ns; `None` = no deadline), or until
    /// a signal is pending for the thread. Reading `woken` and going to sleep must be atomic
    /// with respect to `unpark`. Returns `Ok(())` on a wake-up or at the deadline (the caller
    /// checks which), `Err(EINTR)` when a signal is pending, also if it was pending before the
    /// call.
    fn park(&self, woken: &AtomicBool, deadline: Option<u64>) -> Result<(), Errno>;

    /// Makes the thread runnable if it is parked on this handle; a no-op otherwise. Callable
    /// from any context, with file and queue locks held; must not block.
    fn unpark(&self);
}
