//! The stack's lock, and polls handed to the CPU that holds it.
//!
//! A data call that made a socket sendable (data queued, a window reopened) must have the
//! stack polled, but it need not poll itself: any poll that starts after the call listed its
//! socket (see [`super::link`]) sends what it queued. So [`Shared::poll_soon`] counts the
//! request and polls only if the stack's lock is free; if another CPU holds it, the call
//! returns at once and the holder polls again before it lets go, as Linux's transmit queue
//! is run by whichever CPU holds it while the others only enqueue. The interfaces are still
//! polled under one lock, but no data call waits for it: two flows on two CPUs queue side
//! by side, and one poll carries both.
//!
//! Every holder checks on release ([`StackGuard`]'s drop, the end of [`Shared::with`]):
//! both sides fence after their write (the count, the unlock) and read the other's, so either
//! the asker finds the lock free or the holder finds the count raised. A holder polls for
//! others at most [`SETTLE_ROUNDS`] times, then leaves the rest to the timer, armed for now.
//!
//! **What a handed-off send means for the app.** On Linux a send on the loopback has
//! usually reached the peer when it returns, and programs read the other end right away
//! with `MSG_DONTWAIT`. Here, when the send was handed off, the data may be one poll behind.
//! So a call about to report "nothing there" (a non-blocking receive's `EAGAIN`, readiness
//! without `POLLIN`, `FIONREAD` of 0) first completes the polls that were owed when it began
//! to look ([`Shared::owed_now`] before the look, [`Shared::settle`] after it), and looks
//! again if there were any. What was owed must be read *before* the look: read after it, a
//! poll finishing in between (on another CPU) leaves nothing owed and the look stale, and the
//! call would report nothing although the data has just arrived. It waits for the stack's
//! lock only when those polls have not finished meanwhile. A call that will sleep instead
//! does not settle: the owed poll notifies it, and readers taking the stack's lock on every
//! empty queue would bring back the contention this module removes.
//!
//! Not here: which sockets a poll looks at ([`super::touched`], [`super::conns`]).

use super::{Inner, Shared, instant};
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{Ordering, fence};
use oxv_abi::Errno;
use oxv_vfs::readiness::PollQueue;
use smoltcp::time::Instant;
use spin::MutexGuard;

/// The polls asked for and done when a call began looking at a socket
/// ([`Shared::owed_now`]).
#[derive(Clone, Copy, Debug)]
pub struct Owed {
    asked: u64,
    done: u64,
}

/// How many owed polls one release runs before it leaves the rest to the timer: a CPU
/// that happens to hold the lock must not be kept from its own work by a stream of others'.
pub const SETTLE_ROUNDS: usize = 4;

/// The stack's lock, held: on release it runs the polls others asked for meanwhile.
pub struct StackGuard<'a> {
    guard: Option<MutexGuard<'a, Inner>>,
    shared: &'a Shared,
}

impl Deref for StackGuard<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl DerefMut for StackGuard<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Drop for StackGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.shared.settle_owed();
    }
}

impl Shared {
    /// Runs `f` under the lock, then polls, then wakes the sockets that changed and re-arms
    /// the timer, with the lock released.
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let now_ns = self.blocker.now_ns();
        let (r, wake, next) = {
            let mut inner = self.inner.lock();
            inner.now = instant(now_ns);
            let r = f(&mut inner);
            let (wake, next) = self.poll_locked(&mut inner);
            (r, wake, next)
        };
        self.after_poll(wake, next, now_ns);
        self.settle_owed();
        r
    }

    /// Runs `f` under the lock without polling (queries that change nothing).
    pub fn peek<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.lock())
    }

    /// The lock, for callers that manage polling themselves.
    pub fn lock(&self) -> StackGuard<'_> {
        StackGuard {
            guard: Some(self.inner.lock()),
            shared: self,
        }
    }

    /// Has the stack polled for the caller without waiting for its lock: now, if the lock is
    /// free; else by the CPU holding it, before it lets go. Call after listing the socket
    /// that changed ([`super::SetLink::changed`]).
    pub fn poll_soon(&self) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if let Some(guard) = self.inner.try_lock() {
            self.poll_owed(guard);
            self.settle_owed();
        }
    }

    /// A count raised whenever an interface's addresses or routes change: a route or a
    /// source address a socket looked up is still good while this has not moved.
    pub fn addrs_epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Whether a poll asked for has not run yet.
    fn owed(&self) -> bool {
        self.done.load(Ordering::SeqCst) < self.asked.load(Ordering::SeqCst)
    }

    /// The polls asked for and done so far: take it before looking at a socket, for
    /// [`Shared::settle`].
    pub fn owed_now(&self) -> Owed {
        // `asked` first: `done` read after it can only be later, so `done >= asked` means
        // every poll asked for before the look had finished before it.
        let asked = self.asked.load(Ordering::SeqCst);
        let done = self.done.load(Ordering::SeqCst);
        Owed { asked, done }
    }

    /// After a look that found nothing, begun at `before`: whether to look again because a
    /// poll owed then may have changed the answer. It completes those polls first, waiting
    /// for the stack's lock only if they have not finished meanwhile. For calls about to
    /// report that nothing is there (see the module doc).
    pub fn settle(&self, before: Owed) -> bool {
        if before.done >= before.asked {
            return false;
        }
        if self.done.load(Ordering::SeqCst) < before.asked {
            self.with(|_| ());
        }
        true
    }

    /// Runs `attempt`; if it says `EAGAIN` while a poll is owed and `reported` (that
    /// `EAGAIN` would be the call's answer: a non-blocking call with nothing done yet),
    /// settles that poll and tries once more (see the module doc). A call that will wait
    /// instead needs no settling: the owed poll notifies it.
    pub fn or_settled<T>(
        &self,
        reported: bool,
        mut attempt: impl FnMut() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let before = self.owed_now();
        match attempt() {
            Err(Errno::EAGAIN) if reported && self.settle(before) => attempt(),
            r => r,
        }
    }

    /// After a release: runs the polls asked for while the lock was held, unless another
    /// CPU has taken the lock (then it will).
    fn settle_owed(&self) {
        for _ in 0..SETTLE_ROUNDS {
            // Pairs with the fence in `poll_soon` (see the module doc).
            fence(Ordering::SeqCst);
            if !self.owed() {
                return;
            }
            match self.inner.try_lock() {
                Some(guard) => self.poll_owed(guard),
                None => return,
            }
        }
        if self.owed() {
            let now_ns = self.blocker.now_ns();
            self.arm(now_ns, now_ns);
        }
    }

    /// One poll under `guard`, then the wake-ups and the timer with it released.
    fn poll_owed(&self, mut guard: MutexGuard<'_, Inner>) {
        let now_ns = self.blocker.now_ns();
        guard.now = instant(now_ns);
        let (wake, next) = self.poll_locked(&mut guard);
        drop(guard);
        self.after_poll(wake, next, now_ns);
    }

    /// Polls and records which asks it answered: those counted before it took the list of
    /// sockets to look at.
    fn poll_locked(&self, inner: &mut Inner) -> (alloc::vec::Vec<PollQueue>, Option<Instant>) {
        let asked = self.asked.load(Ordering::SeqCst);
        let wake = inner.poll();
        let next = inner.next_poll();
        self.done.fetch_max(asked, Ordering::SeqCst);
        (wake, next)
    }

    /// With the lock released: wakes the sockets that changed and arms the timer for `next`.
    fn after_poll(&self, wake: alloc::vec::Vec<PollQueue>, next: Option<Instant>, now_ns: u64) {
        for q in wake {
            q.notify(oxv_abi::linux::fs::PollEvents::empty());
        }
        if let Some(at) = next {
            let at_ns = (at.total_micros().max(0) as u64).saturating_mul(1000);
            self.arm(at_ns, now_ns);
        }
    }

    /// Asks the timer for a poll at `at_ns` unless an earlier one still pending was asked.
    fn arm(&self, at_ns: u64, now_ns: u64) {
        // Several CPUs get here at once (socket calls run without the kernel lock): one
        // compare-and-swap decides, so a later deadline never overwrites an earlier one that
        // was not armed.
        let mut armed = self.armed.load(Ordering::Relaxed);
        while at_ns < armed || armed <= now_ns {
            match self.armed.compare_exchange_weak(
                armed,
                at_ns,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.timer.arm(at_ns.max(now_ns));
                    break;
                }
                Err(now_armed) => armed = now_armed,
            }
        }
    }
}
