//! [`Blocker`]: how a VFS call that must wait (poll(2) with a timeout) waits. The embedder
//! implements it; the VFS owns no timer and no wait queue.
//!
//! The VFS waits in a loop: check readiness, and if nothing is ready, ask the blocker to sleep
//! until the deadline or until something may have changed. So a blocker may wake early and
//! often (a kernel can start with "halt until the next interrupt"); being woken late only
//! delays the app. Readiness sources (console input, and later pipes and sockets) must make a
//! sleeping [`Blocker::wait_until`] return when they change.

use oxv_abi::Errno;

/// Waits for time to pass or for an event. See the [module docs](self).
pub trait Blocker {
    /// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`), for computing deadlines.
    fn now_ns(&self) -> u64;

    /// Blocks the calling thread until `deadline` (monotonic ns; `None` = no deadline) or
    /// until woken by an event, whichever comes first. Returns early without error on a wakeup
    /// that may be spurious. Returns `Err(EINTR)` if a signal is pending for the thread; the
    /// VFS then stops waiting and returns the error.
    fn wait_until(&self, deadline: Option<u64>) -> Result<(), Errno>;
}
