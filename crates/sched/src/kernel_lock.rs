//! [`KernelLock`]: a kernel's one big lock, which a CPU may wait for halted instead of
//! spinning.
//!
//! In a VM each virtual CPU is a host thread. A vCPU that spins for a lock takes a host core
//! from the vCPU that holds it, and on a busy host that stretches the holder's few
//! microseconds of work to milliseconds. So a CPU with nothing else to do (its idle loop, or
//! a thread about to park, which needs the lock only to switch) halts instead, and the
//! holder kicks it when it lets go.
//!
//! No kick is lost: a waiter sets its flag before each try, and [`KernelLock::unlock`]
//! releases first and reads the flags after (all `SeqCst`), so either the try sees the lock
//! free or the releaser sees the flag and kicks. The caller's `halt` must return once a kick
//! sent at any point after the flag was set has arrived (an interrupt that arrives before
//! `sti; hlt` stays pending and ends the halt at once; on the host, `thread::park` keeps an
//! `unpark` made before it).
//!
//! ```
//! use oxv_sched::kernel_lock::KernelLock;
//!
//! static LOCK: KernelLock<2> = KernelLock::new();
//! assert!(LOCK.try_lock());
//! assert!(!LOCK.try_lock());
//! LOCK.unlock(0, |_| unreachable!("nobody waits"));
//! LOCK.lock_halting(1, || unreachable!("the lock is free"));
//! ```

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The lock, for up to `CPUS` CPUs (numbered from 0). See the [module docs](self).
pub struct KernelLock<const CPUS: usize> {
    locked: AtomicBool,
    /// How many CPUs are in [`lock_halting`](Self::lock_halting): `unlock` looks at the
    /// flags only when some are.
    halted_waiters: AtomicUsize,
    /// Per CPU: it waits halted and wants a kick when the lock is released.
    halting: [AtomicBool; CPUS],
}

impl<const CPUS: usize> Default for KernelLock<CPUS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CPUS: usize> KernelLock<CPUS> {
    /// A free lock.
    pub const fn new() -> Self {
        KernelLock {
            locked: AtomicBool::new(false),
            halted_waiters: AtomicUsize::new(0),
            halting: [const { AtomicBool::new(false) }; CPUS],
        }
    }

    /// Takes the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock, spinning while another CPU holds it.
    pub fn lock_spinning(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
    }

    /// Takes the lock for CPU `cpu`, calling `halt` between tries until an
    /// [`unlock`](Self::unlock) elsewhere kicks `cpu` (see the [module docs](self) for what
    /// `halt` must do).
    pub fn lock_halting(&self, cpu: usize, mut halt: impl FnMut()) {
        self.halted_waiters.fetch_add(1, Ordering::SeqCst);
        self.halting[cpu].store(true, Ordering::SeqCst);
        while self
            .locked
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            halt();
        }
        self.halting[cpu].store(false, Ordering::SeqCst);
        self.halted_waiters.fetch_sub(1, Ordering::SeqCst);
    }

    /// Releases the lock, held by CPU `cpu`, and calls `kick` with every other CPU that waits
    /// halted for it.
    #[inline]
    pub fn unlock(&self, cpu: usize, kick: impl FnMut(usize)) {
        self.locked.store(false, Ordering::SeqCst);
        if self.halted_waiters.load(Ordering::SeqCst) != 0 {
            self.kick_halted(cpu, kick);
        }
    }

    #[cold]
    fn kick_halted(&self, cpu: usize, mut kick: impl FnMut(usize)) {
        for (n, flag) in self.halting.iter().enumerate() {
            if n != cpu && flag.load(Ordering::SeqCst) {
                kick(n);
            }
        }
    }

    /// Whether some CPU holds the lock (a hint: it may change at once).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    /// `cpus` host threads take the lock `rounds` times each, halting (parking) for it when
    /// it is taken; a kick unparks. A lost kick leaves a thread parked for ever,
    /// which the deadline turns into a failure; two threads inside at once fail the
    /// `inside` check.
    fn contend(cpus: usize, rounds: usize) {
        let lock: Arc<KernelLock<4>> = Arc::new(KernelLock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let (handles_tx, handles_rx) = mpsc::channel::<Vec<thread::Thread>>();
        let handles_rx = Arc::new(std::sync::Mutex::new(handles_rx));
        let (done_tx, done_rx) = mpsc::channel();
        let mut joins = Vec::new();
        for cpu in 0..cpus {
            let (lock, inside, done_tx) = (lock.clone(), inside.clone(), done_tx.clone());
            let handles_rx = handles_rx.clone();
            joins.push(thread::spawn(move || {
                let all = handles_rx.lock().unwrap().recv().unwrap();
                let kick = |n: usize| all[n].unpark();
                for round in 0..rounds {
                    if !lock.try_lock() {
                        lock.lock_halting(cpu, thread::park);
                    }
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                    if round % 7 == 0 {
                        thread::yield_now();
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                    lock.unlock(cpu, kick);
                }
                done_tx.send(cpu).unwrap();
            }));
        }
        let all: Vec<thread::Thread> = joins.iter().map(|j| j.thread().clone()).collect();
        for _ in 0..cpus {
            handles_tx.send(all.clone()).unwrap();
        }
        for _ in 0..cpus {
            done_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("a CPU waits for the lock for ever: a kick was lost");
        }
        for j in joins {
            j.join().unwrap();
        }
        assert!(!lock.is_locked());
        assert_eq!(lock.halted_waiters.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn two_cpus_halting_for_the_lock_never_miss_the_release() {
        contend(2, 20_000);
    }

    #[test]
    fn four_cpus_halting_for_the_lock_never_miss_the_release() {
        contend(4, 10_000);
    }

    #[test]
    fn unlock_kicks_only_the_cpus_that_wait_halted() {
        let lock: KernelLock<4> = KernelLock::new();
        assert!(lock.try_lock());
        lock.halting[2].store(true, Ordering::SeqCst);
        lock.halting[0].store(true, Ordering::SeqCst);
        lock.halted_waiters.store(2, Ordering::SeqCst);
        let mut kicked = Vec::new();
        lock.unlock(0, |n| kicked.push(n));
        assert_eq!(kicked, [2], "CPU 0 releases, so it is not kicked");
    }
}
