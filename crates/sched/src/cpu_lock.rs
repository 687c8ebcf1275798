//! [`CpuMutex`]: a spin lock that knows which CPU holds it.
//!
//! A kernel's scheduler lock is taken with interrupts off and belongs to the CPU that took
//! it, not to a thread. Code that may run with it held (a heap allocation that ends in the
//! OOM killer, which wakes threads and so takes the lock again) must be able to ask "does
//! this CPU hold it?" cheaply and without spinning: [`CpuMutex::held_by`] answers from an
//! owner field set right after the lock is taken and cleared right before it is released.
//! `spin::Mutex::is_locked` cannot answer it: the lock is often held by another CPU, and
//! then this CPU may well take it itself.
//!
//! The answer is exact for the asking CPU: only the holder writes its own number, and it
//! clears it before it lets go, so a CPU that does not hold the lock never finds its own
//! number there (another CPU's, or none, at worst a stale one of another CPU).
//!
//! ```
//! use oxv_sched::cpu_lock::CpuMutex;
//!
//! static SCHED: CpuMutex<u32> = CpuMutex::new(0);
//! let mut s = SCHED.lock(0);
//! *s += 1;
//! assert!(SCHED.held_by(0) && !SCHED.held_by(1));
//! drop(s);
//! assert!(!SCHED.held_by(0));
//! ```

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

/// No CPU holds the lock.
const NO_OWNER: usize = usize::MAX;

/// A spin lock with the number of the CPU that holds it. See the [module docs](self).
pub struct CpuMutex<T> {
    inner: spin::Mutex<T>,
    owner: AtomicUsize,
}

impl<T> CpuMutex<T> {
    /// An unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        CpuMutex {
            inner: spin::Mutex::new(value),
            owner: AtomicUsize::new(NO_OWNER),
        }
    }

    /// Takes the lock for CPU number `cpu` (the caller's own: the one that runs this), spinning
    /// while another CPU holds it. Taking it again on a CPU that holds it spins for ever (as
    /// any spin lock): check [`held_by`](Self::held_by) first where that can happen.
    pub fn lock(&self, cpu: usize) -> CpuMutexGuard<'_, T> {
        let guard = self.inner.lock();
        self.owner.store(cpu, Ordering::Relaxed);
        CpuMutexGuard {
            guard,
            owner: &self.owner,
        }
    }

    /// Whether CPU number `cpu` holds the lock now. Exact when `cpu` is the caller's own
    /// CPU (see the [module docs](self)); about another CPU it is only a hint.
    #[inline]
    pub fn held_by(&self, cpu: usize) -> bool {
        self.owner.load(Ordering::Relaxed) == cpu
    }
}

/// The lock held; released (and its owner cleared) when dropped.
pub struct CpuMutexGuard<'a, T> {
    guard: spin::MutexGuard<'a, T>,
    owner: &'a AtomicUsize,
}

impl<T> Drop for CpuMutexGuard<'_, T> {
    fn drop(&mut self) {
        // Before the spin lock itself is released (the field drops after this).
        self.owner.store(NO_OWNER, Ordering::Relaxed);
    }
}

impl<T> Deref for CpuMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for CpuMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn the_holder_is_known_while_held_and_forgotten_after() {
        let m = CpuMutex::new(5);
        assert!(!m.held_by(0));
        {
            let mut g = m.lock(3);
            *g += 1;
            assert!(m.held_by(3));
            assert!(!m.held_by(0));
        }
        assert!(!m.held_by(3));
        assert_eq!(*m.lock(0), 6);
        assert!(
            !m.held_by(0),
            "a temporary guard is gone at the end of its statement"
        );
    }

    #[test]
    fn a_cpu_that_waits_for_the_lock_never_sees_itself_as_holder() {
        // CPU 1 holds it; CPU 2 (a thread) asks, then waits; it holds it only once CPU 1
        // let go.
        let m = Arc::new(CpuMutex::new(()));
        let release = Arc::new(AtomicBool::new(false));
        let g = m.lock(1);
        let (m2, r2) = (m.clone(), release.clone());
        let other = std::thread::spawn(move || {
            assert!(!m2.held_by(2));
            let g = m2.lock(2);
            assert!(r2.load(Ordering::SeqCst), "took it while CPU 1 held it");
            let held = m2.held_by(2);
            drop(g);
            (held, m2.held_by(2))
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(m.held_by(1));
        release.store(true, Ordering::SeqCst);
        drop(g);
        assert_eq!(other.join().unwrap(), (true, false));
    }
}
