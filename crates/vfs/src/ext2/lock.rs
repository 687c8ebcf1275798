//! Locks held across disk I/O: [`Sleeper`] (what the embedder supplies) and [`SleepLock`].
//!
//! ext2 holds its file-system lock while the buffer cache reads or writes the disk, and a
//! block-device request may put the calling thread to sleep until the device answers (see
//! [`crate::block`]). On a kernel that is not preemptible, a thread that *spins* on a lock
//! held by a sleeping thread never lets it run again; so contended ext2 locks sleep instead,
//! through a [`Sleeper`] that the embedder implements over its scheduler (the kernel's is a
//! wait queue; [`SpinSleeper`], for hosts with preemptive threads, just spins).
//!
//! The waits are not interruptible by signals: like Linux's `i_rwsem` and buffer locks, a
//! file-system lock is held for a bounded time, and the operation that waits for it returns
//! its real result rather than `EINTR`.

use alloc::sync::Arc;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::{Mutex, MutexGuard};

/// Puts threads to sleep until a condition holds, and wakes them. The embedder implements
/// it over its scheduler; see the [`ext2` module docs](super).
pub trait Sleeper: Send + Sync {
    /// **Blocks** the calling thread until `ready` returns `true`; not interrupted by
    /// signals. `ready` may be called any number of times. Checking `ready` and going to
    /// sleep must be atomic with respect to [`Sleeper::wake_all`]: a condition made true
    /// before a `wake_all` call must not be missed (a kernel checks it under its scheduler
    /// lock, as futex(2) does).
    fn wait_until(&self, ready: &mut dyn FnMut() -> bool);

    /// Wakes every thread blocked in [`Sleeper::wait_until`] on this object, so that each
    /// checks its condition again. Must not block.
    fn wake_all(&self);
}

/// A [`Sleeper`] that spins: right where threads are preempted (host tests, a kernel with
/// preemption), wrong on a non-preemptible kernel with one CPU.
#[derive(Debug, Default)]
pub struct SpinSleeper;

impl Sleeper for SpinSleeper {
    fn wait_until(&self, ready: &mut dyn FnMut() -> bool) {
        while !ready() {
            core::hint::spin_loop();
        }
    }

    fn wake_all(&self) {}
}

/// A mutex whose contended `lock` sleeps through a [`Sleeper`]. Uncontended, it is one
/// compare-exchange to lock and one load to unlock.
pub(crate) struct SleepLock<T> {
    inner: Mutex<T>,
    waiting: AtomicUsize,
    sleeper: Arc<dyn Sleeper>,
}

impl<T> SleepLock<T> {
    pub fn new(value: T, sleeper: Arc<dyn Sleeper>) -> SleepLock<T> {
        SleepLock {
            inner: Mutex::new(value),
            waiting: AtomicUsize::new(0),
            sleeper,
        }
    }

    /// The sleeper contended locks wait through.
    pub fn sleeper(&self) -> Arc<dyn Sleeper> {
        self.sleeper.clone()
    }

    /// Locks if no one holds the lock (memory reclaim, which must never wait: it may run
    /// inside an allocation made with this lock held).
    pub fn try_lock(&self) -> Option<SleepGuard<'_, T>> {
        self.inner.try_lock().map(|guard| SleepGuard {
            guard: Some(guard),
            lock: self,
        })
    }

    /// Locks, sleeping while another thread holds the lock.
    pub fn lock(&self) -> SleepGuard<'_, T> {
        loop {
            if let Some(guard) = self.inner.try_lock() {
                return SleepGuard {
                    guard: Some(guard),
                    lock: self,
                };
            }
            // Counted before the check, so an unlock after the check sees a waiter to wake.
            self.waiting.fetch_add(1, Ordering::SeqCst);
            self.sleeper.wait_until(&mut || !self.inner.is_locked());
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The guard of a [`SleepLock`]: unlocking wakes the sleepers.
pub(crate) struct SleepGuard<'a, T> {
    guard: Option<MutexGuard<'a, T>>,
    lock: &'a SleepLock<T>,
}

impl<T> Deref for SleepGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard
            .as_ref()
            .expect("a guard holds its lock until dropped")
    }
}

impl<T> DerefMut for SleepGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard
            .as_mut()
            .expect("a guard holds its lock until dropped")
    }
}

impl<T> Drop for SleepGuard<'_, T> {
    fn drop(&mut self) {
        // Unlock first, then wake: a woken thread finds the lock free.
        self.guard.take();
        if self.lock.waiting.load(Ordering::SeqCst) != 0 {
            self.lock.sleeper.wake_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicBool;

    /// A sleeper that records its calls (and spins, so host threads make progress).
    #[derive(Default)]
    struct Counting {
        waits: AtomicUsize,
        wakes: AtomicUsize,
    }

    impl Sleeper for Counting {
        fn wait_until(&self, ready: &mut dyn FnMut() -> bool) {
            self.waits.fetch_add(1, Ordering::SeqCst);
            while !ready() {
                std::thread::yield_now();
            }
        }
        fn wake_all(&self) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn contended_lock_waits_through_the_sleeper_and_unlock_wakes() {
        let sleeper = Arc::new(Counting::default());
        let lock = Arc::new(SleepLock::new(0u32, sleeper.clone()));
        let started = Arc::new(AtomicBool::new(false));
        let guard = lock.lock();
        let t = {
            let (lock, started) = (lock.clone(), started.clone());
            std::thread::spawn(move || {
                started.store(true, Ordering::SeqCst);
                *lock.lock() += 1;
            })
        };
        while !started.load(Ordering::SeqCst) || lock.waiting.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        drop(guard);
        t.join().unwrap();
        assert_eq!(*lock.lock(), 1);
        assert!(sleeper.waits.load(Ordering::SeqCst) >= 1);
        assert!(sleeper.wakes.load(Ordering::SeqCst) >= 1);
        // Uncontended: no sleeping, no waking.
        let (w, k) = (
            sleeper.waits.load(Ordering::SeqCst),
            sleeper.wakes.load(Ordering::SeqCst),
        );
        drop(lock.lock());
        assert_eq!(sleeper.waits.load(Ordering::SeqCst), w);
        assert_eq!(sleeper.wakes.load(Ordering::SeqCst), k);
    }
}
