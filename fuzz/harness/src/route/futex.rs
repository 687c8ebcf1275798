//! futex(2) and futex_waitv(2): oxv-sched's handlers ([`oxv_sched::syscalls::futex`], the
//! code the kernel runs) over [`FakeThreads`], the harness's [`FutexScheduler`].
//!
//! The harness has no real threads, so blocking is simulated, deterministically:
//!
//! - A `FUTEX_WAIT`/`FUTEX_WAIT_BITSET` whose word still holds the value parks the calling
//!   thread: it stays queued on the table, the call records 0 (what the wait returns when a
//!   wake ends it), and the next runnable thread, in round-robin order, makes the following
//!   calls. If none is runnable, the thread parked longest is interrupted (taken off the
//!   table as a signal's `EINTR` would) and runs next.
//! - Wakes, requeues and `FUTEX_WAKE_OP` act on the parked threads; a thread a wake takes
//!   becomes runnable again (it waits for its turn).
//! - A parked thread with a timeout times out (taken off the table, as the kernel's timeout
//!   path does) at the first futex call at or after its deadline on the blocker's clock,
//!   which moves 1 ms per call.
//! - futex_waitv(2) queues the caller on every word's key as the kernel does, then its block
//!   ends at once as interrupted (`EINTR`): the handler's own clean-up takes it off every key.
//! - Keys: one address space, so a word's key is its address, private or shared; a shared
//!   futex reads its word first (`EFAULT` when it is unmapped), as the kernel's `key_of`.
//! - The PI operations (`FUTEX_LOCK_PI` and the rest) stay in the kernel crate (they change
//!   the lock word with an atomic exchange on the frame and look owners up by TID): not
//!   hosted.
//!
//! At teardown every parked thread is interrupted and the table must be empty.

use crate::world::{FakeThreads, THREADS, ThreadState};
use oxv_abi::{Errno, SysResult, Syscall, UserMemory, UserPtr};
use oxv_sched::futex::{FutexKey, FutexTable};
use oxv_sched::syscalls::futex::{self as futex, FutexScheduler, PiCall, WaitEnd};
use oxv_vfs::Blocker;

/// The identity of the harness's one address space in futex keys.
const SPACE: u64 = 1;

/// Routes the futex calls; `None` for the others and the PI operations.
pub(super) fn route(
    t: &mut FakeThreads,
    mem: &mut dyn UserMemory,
    call: &Syscall,
) -> Option<SysResult> {
    use Syscall as S;
    match *call {
        S::Futex {
            uaddr,
            futex_op,
            val,
            timeout,
            uaddr2,
            val3,
        } => {
            if futex::is_pi(futex_op) {
                return None;
            }
            expire(t);
            let cmd = futex::command(futex_op);
            t.park_on_block = cmd == linux_raw_sys::general::FUTEX_WAIT as i32
                || cmd == linux_raw_sys::general::FUTEX_WAIT_BITSET as i32;
            Some(futex::futex(
                t, mem, uaddr, futex_op, val, timeout, uaddr2, val3,
            ))
        }
        S::FutexWaitv {
            waiters,
            nr_futexes,
            flags,
            timeout,
            clockid,
        } => {
            expire(t);
            t.park_on_block = false;
            Some(futex::futex_waitv(
                t, mem, waiters, nr_futexes, flags, timeout, clockid,
            ))
        }
        _ => None,
    }
}

/// Times out every parked thread whose deadline has passed.
fn expire(t: &mut FakeThreads) {
    let now = t.clock.now_ns();
    for who in 0..THREADS {
        if let ThreadState::Parked {
            deadline: Some(d), ..
        } = t.state[who]
        {
            if d <= now {
                end_wait(t, who, WaitEnd::Timeout);
            }
        }
    }
}

/// Ends the parked thread `who`'s wait as a signal would (the harness's interruption).
pub fn interrupt(t: &mut FakeThreads, who: usize) {
    end_wait(t, who, WaitEnd::Signal);
}

/// Ends `who`'s wait without a wake, through the handler's own cancel path.
fn end_wait(t: &mut FakeThreads, who: usize, why: WaitEnd) {
    let _ = futex::cancel_wait(t, &who, why);
    t.state[who] = ThreadState::Runnable;
}

impl FakeThreads {
    /// The next runnable thread after the current one (which just parked); if every thread
    /// is parked, the one parked longest is interrupted and runs.
    fn switch(&mut self) {
        let next = (1..=THREADS)
            .map(|i| (self.current + i) % THREADS)
            .find(|&i| self.state[i] == ThreadState::Runnable);
        self.current = match next {
            Some(i) => i,
            None => {
                let oldest = (0..THREADS)
                    .min_by_key(|&i| match self.state[i] {
                        ThreadState::Parked { since, .. } => since,
                        ThreadState::Runnable => u64::MAX,
                    })
                    .expect("THREADS is not 0");
                interrupt(self, oldest);
                oldest
            }
        };
    }
}

impl FutexScheduler for FakeThreads {
    type Thread = usize;

    fn key_of(
        &mut self,
        mem: &dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
    ) -> Result<FutexKey, Errno> {
        if !private {
            uaddr.read(mem)?;
        }
        Ok(FutexKey {
            space: SPACE,
            offset: uaddr.addr().get(),
        })
    }

    fn current(&mut self) -> usize {
        self.current
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.clock.now_ns()
    }

    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64 {
        (realtime_ns - i128::from(FakeThreads::REALTIME_AT_BOOT_NS)).clamp(0, u64::MAX as i128)
            as u64
    }

    fn locked<R>(&mut self, f: impl FnOnce(&mut FutexTable<usize>, &mut Vec<usize>) -> R) -> R {
        let mut woken = Vec::new();
        let r = f(&mut self.table, &mut woken);
        for who in woken {
            match self.state.get(who) {
                Some(ThreadState::Parked { .. }) => self.state[who] = ThreadState::Runnable,
                _ => {
                    self.violation.get_or_insert_with(|| {
                        format!("futex wake of thread {who}, which was not parked")
                    });
                }
            }
        }
        r
    }

    fn block_if(
        &mut self,
        deadline: Option<u64>,
        register: impl FnOnce(&mut FutexTable<usize>, &usize) -> bool,
    ) -> Option<WaitEnd> {
        let me = self.current;
        if !register(&mut self.table, &me) {
            return None;
        }
        if !self.park_on_block {
            return Some(WaitEnd::Signal);
        }
        self.parks += 1;
        self.state[me] = ThreadState::Parked {
            deadline,
            since: self.parks,
        };
        self.switch();
        // The parked thread's call returns what a wake makes it return; it stays queued.
        Some(WaitEnd::Event)
    }

    fn pi(&mut self, _uaddr: UserPtr<u32>, _private: bool, _call: PiCall) -> SysResult {
        // `route` never passes a PI operation on.
        Err(Errno::ENOSYS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use crate::check;
    use crate::input::SCRATCH_BASE;
    use crate::world::World;
    use linux_raw_sys::general as g;
    use oxv_abi::SyscallArgs;
    use oxv_sched::futex::MATCH_ANY;

    fn futex_call(world: &mut World, off: u64, op: u32, val: u64) -> Option<SysResult> {
        let args = [SCRATCH_BASE + off, op as u64, val, 0, 0, 0];
        let call = Syscall::decode(&SyscallArgs::new(g::__NR_futex as u64, args));
        world.with_mem(|mem, p| route(&mut p.threads, mem, &call))
    }

    #[test]
    fn waits_park_threads_in_turn_and_the_oldest_is_interrupted_when_all_are() {
        let mut w = World::new(Options::strict());
        for expected_next in [1, 2, 3] {
            assert_eq!(futex_call(&mut w, 0, g::FUTEX_WAIT, 0), Some(Ok(0)));
            assert_eq!(w.proc.threads.current, expected_next);
            check::all(&mut w, None).expect("consistent after a park");
        }
        assert_eq!(w.proc.threads.table.waiters(FutexKey::from(0)), 0);
        // The fourth park leaves nobody runnable: thread 0 (parked first) is interrupted.
        assert_eq!(futex_call(&mut w, 0, g::FUTEX_WAIT, 0), Some(Ok(0)));
        let t = &w.proc.threads;
        assert_eq!((t.current, t.state[0]), (0, ThreadState::Runnable));
        assert_eq!(t.table.queued().count(), 3);
        check::all(&mut w, None).expect("consistent after an interruption");
        // A wake of two makes 1 and 2 runnable, in FIFO order; 3 stays.
        assert_eq!(futex_call(&mut w, 0, g::FUTEX_WAKE, 2), Some(Ok(2)));
        let t = &w.proc.threads;
        assert!(matches!(t.state[3], ThreadState::Parked { .. }));
        assert_eq!(t.state[1..3], [ThreadState::Runnable; 2]);
        check::all(&mut w, None).expect("consistent after a wake");
        w.teardown()
            .expect("the parked thread is interrupted at teardown");
    }

    #[test]
    fn pi_operations_are_not_hosted() {
        let mut w = World::new(Options::strict());
        assert_eq!(futex_call(&mut w, 0, g::FUTEX_LOCK_PI, 0), None);
        assert_eq!(futex_call(&mut w, 0, g::FUTEX_UNLOCK_PI, 0), None);
    }

    #[test]
    fn the_checks_see_a_runnable_thread_left_queued_and_a_leak_at_teardown() {
        let mut w = World::new(Options::strict());
        w.proc.threads.table.enqueue(0x40, 2, MATCH_ANY);
        let e = check::all(&mut w, None).expect_err("thread 2 is runnable");
        assert!(e.contains("queued 1 times"), "{e}");
        let e = w
            .teardown()
            .expect_err("nobody takes thread 2 off the table");
        assert!(e.contains("leaked"), "{e}");
    }

    #[test]
    fn a_wake_of_a_thread_that_was_not_parked_is_reported() {
        let mut w = World::new(Options::strict());
        w.proc.threads.table.enqueue(0x40, 1, MATCH_ANY);
        let threads = &mut w.proc.threads;
        threads.locked(|table, woken| woken.extend(table.wake(0x40, 1, MATCH_ANY)));
        let e = check::all(&mut w, None).expect_err("thread 1 was runnable");
        assert!(e.contains("not parked"), "{e}");
    }

    #[test]
    fn a_timed_wait_times_out_once_the_clock_passes_its_deadline() {
        let mut w = World::new(Options::strict());
        // A relative 1.5 ms timeout: still parked after one tick, gone after two.
        w.with_mem(|mem, _| {
            let ts = oxv_abi::linux::time::Timespec::from_nanos(1_500_000);
            UserPtr::new(SCRATCH_BASE + 0x100).write(mem, &ts)
        })
        .expect("scratch is writable");
        let args = [
            SCRATCH_BASE,
            g::FUTEX_WAIT as u64,
            0,
            SCRATCH_BASE + 0x100,
            0,
            0,
        ];
        let call = Syscall::decode(&SyscallArgs::new(g::__NR_futex as u64, args));
        assert_eq!(
            w.with_mem(|mem, p| route(&mut p.threads, mem, &call)),
            Some(Ok(0))
        );
        for parked in [true, false] {
            w.proc.tick();
            assert_eq!(futex_call(&mut w, 0x80, g::FUTEX_WAKE, 1), Some(Ok(0)));
            let state = w.proc.threads.state[0];
            assert_eq!(matches!(state, ThreadState::Parked { .. }), parked);
        }
        assert_eq!(w.proc.threads.table.queued().count(), 0);
    }
}
