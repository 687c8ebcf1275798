//! A mutex that puts its waiters to sleep, for state held across a block.
//!
//! The kernel runs with interrupts off and is not preempted, so a spin lock is only ever
//! contended by a thread that found it held by another thread that blocked while holding it.
//! On one CPU that spin never ends. Locks that may be held across a wait (an address space
//! while a page is read from a disk, for instance) must sleep instead: [`SleepMutex`] blocks
//! the contending thread in the scheduler and the unlocker wakes the first waiter (FIFO).
//!
//! Not for interrupt context (the idle thread cannot block): interrupt handlers never take
//! these locks. Uncontended locking is one atomic compare-exchange, and unlocking one store
//! plus a load of the waiter count.
//!
//! Built on `lock_api`, so guards, `try_lock` and owned guards of an `Arc` (`lock_arc`) come
//! from there.

use crate::sched;
use crate::thread::{ThreadRef, Wake};
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The lock word and the queue of threads waiting for it.
pub struct RawSleepLock {
    locked: AtomicBool,
    /// How many threads are queued (or about to be): unlock only takes the scheduler lock
    /// when it is non-zero.
    waiting: AtomicUsize,
    waiters: spin::Mutex<VecDeque<ThreadRef>>,
}

// SAFETY: `lock` returns only once this thread turned `locked` from false to true, and
// `unlock` (called by the owner, per lock_api's contract) turns it back, so at most one
// owner exists at a time; the acquire/release orderings publish the protected data.
unsafe impl lock_api::RawMutex for RawSleepLock {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's initializer idiom"
    )]
    const INIT: RawSleepLock = RawSleepLock {
        locked: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
        waiters: spin::Mutex::new(VecDeque::new()),
    };

    type GuardMarker = lock_api::GuardSend;

    fn lock(&self) {
        while !self.try_lock() {
            // Queue and sleep unless the lock was released meanwhile; both the check and the
            // unlocker's wake-up happen under the scheduler lock, so no wake-up is lost.
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let mut queued = None;
            sched::block_if(None, |_, me| {
                assert!(!me.is_idle(), "a sleeping lock taken in interrupt context");
                if !self.locked.load(Ordering::SeqCst) {
                    return false;
                }
                self.waiters.lock().push_back(me.clone());
                queued = Some(me.clone());
                true
            });
            // Woken by a signal rather than the unlocker, it may still be queued: a stale
            // entry would later wake it out of some other wait.
            if let Some(me) = queued {
                self.waiters.lock().retain(|t| *t != me);
            }
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) != 0 {
            sched::with(|s| {
                // A waiter woken by a signal meanwhile simply tries again; wake the next.
                while let Some(t) = self.waiters.lock().pop_front() {
                    if s.wake(&t, Wake::Event) {
                        break;
                    }
                }
            });
        }
    }
}

/// A mutex whose contenders sleep. See the [module docs](self).
pub type SleepMutex<T> = lock_api::Mutex<RawSleepLock, T>;

/// An owned guard of an `Arc<SleepMutex<T>>` (from `lock_arc`).
pub type ArcSleepGuard<T> = lock_api::ArcMutexGuard<RawSleepLock, T>;
