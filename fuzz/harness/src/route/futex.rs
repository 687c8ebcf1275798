//! futex(2) and futex_waitv(2): oxv-sched's handlers ([`oxv_sched::syscalls::futex`], the
//! code the kernel runs, PI operations included) over [`FakeThreads`], the harness's
//! [`FutexScheduler`].
//!
//! The harness has no real threads, so blocking is simulated, deterministically:
//!
//! - A `FUTEX_WAIT`/`FUTEX_WAIT_BITSET` whose word still holds the value parks the calling
//!   thread: it stays queued on the table, the call records 0 (what the wait returns when a
//!   wake ends it), and the next runnable thread, in round-robin order, makes the following
//!   calls. If none is runnable, the thread parked longest is interrupted (taken off the
//!   table as a signal's `EINTR` would) and runs next.
//! - A PI call that blocks (`FUTEX_LOCK_PI` on a held lock, `FUTEX_WAIT_REQUEUE_PI`) parks
//!   the same way, at oxv-sched's [`pi::Step::Blocked`]: the call records 0 and its rest is
//!   kept ([`FakeThreads::pending`]). When the thread runs again (woken by an unlock or a
//!   requeue, or when its wait is interrupted or times out), [`pi::resume`] finishes the call
//!   as that thread, as the kernel's woken thread would; a thread an unlock woke is runnable
//!   but runs that rest only when its turn comes, so other threads' calls fall in between.
//! - Wakes, requeues and `FUTEX_WAKE_OP` act on the parked threads; a thread a wake takes
//!   becomes runnable again (it waits for its turn).
//! - A parked thread with a timeout times out (taken off the table, as the kernel's timeout
//!   path does) at the first futex call at or after its deadline on the blocker's clock,
//!   which moves 1 ms per call.
//! - futex_waitv(2) queues the caller on every word's key as the kernel does, then its block
//!   ends at once as interrupted (`EINTR`): the handler's own clean-up takes it off every key.
//! - Keys: one address space, so a word's key is its address, private or shared; a shared
//!   futex reads its word first (`EFAULT` when it is unmapped), as the kernel's `key_of`.
//! - TIDs: thread `i` has TID `FakeThreads::tids[i]`; any other TID in a lock word names no
//!   thread (`ESRCH`). exit(2) ends the current thread: the PI futexes it owns pass to their
//!   oldest waiters (the owner-died path), and a thread with a new TID takes its place
//!   ([`FakeThreads::exit_current`]). The kernel's atomic compare-and-exchange is a read and a write of the fake
//!   memory (nothing runs concurrently).
//! - A PI call that returns 0 from a lock (`FUTEX_LOCK_PI`, `FUTEX_TRYLOCK_PI`, a finished
//!   `FUTEX_WAIT_REQUEUE_PI`) must leave the caller's TID in the word, unless the app wrote
//!   the word meanwhile: a broken rule is reported to the checks.
//!
//! At teardown every woken thread finishes its PI call, every parked thread is interrupted,
//! and the table must be empty.

use crate::world::{FakeThreads, THREADS, ThreadState};
use oxv_abi::{Errno, SysResult, Syscall, UserMemory, UserPtr};
use oxv_sched::futex::pi::TID_MASK;
use oxv_sched::futex::{FutexKey, FutexTable};
use oxv_sched::syscalls::futex::pi::{self, Pending, Step};
use oxv_sched::syscalls::futex::{self as futex, FutexScheduler, PiCall, WaitEnd};
use oxv_vfs::Blocker;

/// The identity of the harness's one address space in futex keys.
pub const SPACE: u64 = 1;

/// The key of the word at `addr`.
pub fn key_of(addr: u64) -> FutexKey {
    FutexKey {
        space: SPACE,
        offset: addr,
    }
}

/// Routes the futex calls; `None` for the others.
pub(super) fn route(
    t: &mut FakeThreads,
    mem: &mut dyn UserMemory,
    call: &Syscall,
) -> Option<SysResult> {
    use Syscall as S;
    let r = match *call {
        S::Futex {
            uaddr,
            futex_op,
            val,
            timeout,
            uaddr2,
            val3,
        } => {
            expire(t, mem);
            let cmd = futex::command(futex_op);
            let pi = futex::is_pi(futex_op);
            if pi {
                t.pi_calls += 1;
            }
            t.park_on_block = pi
                || cmd == linux_raw_sys::general::FUTEX_WAIT as i32
                || cmd == linux_raw_sys::general::FUTEX_WAIT_BITSET as i32;
            futex::futex(t, mem, uaddr, futex_op, val, timeout, uaddr2, val3)
        }
        S::Exit { .. } => {
            t.exit_current();
            return Some(Ok(0));
        }
        S::FutexWaitv {
            waiters,
            nr_futexes,
            flags,
            timeout,
            clockid,
        } => {
            expire(t, mem);
            t.park_on_block = false;
            futex::futex_waitv(t, mem, waiters, nr_futexes, flags, timeout, clockid)
        }
        _ => return None,
    };
    if matches!(t.state[t.futex.current], ThreadState::Parked { .. }) {
        t.switch(mem);
    }
    Some(r)
}

/// Times out every parked thread whose deadline has passed.
fn expire(t: &mut FakeThreads, mem: &mut dyn UserMemory) {
    let now = t.clock.now_ns();
    for who in 0..THREADS {
        if let ThreadState::Parked {
            deadline: Some(d), ..
        } = t.state[who]
        {
            if d <= now {
                end_wait(t, mem, who, WaitEnd::Timeout);
            }
        }
    }
}

/// Ends the parked thread `who`'s wait as a signal would (the harness's interruption).
pub fn interrupt(t: &mut FakeThreads, mem: &mut dyn UserMemory, who: usize) {
    end_wait(t, mem, who, WaitEnd::Signal);
}

/// Lets the runnable thread `who`, woken while blocked in a PI call, finish that call (it
/// may block again).
pub fn run_woken(t: &mut FakeThreads, mem: &mut dyn UserMemory, who: usize) {
    if t.state[who] == ThreadState::Runnable {
        finish_pi(t, mem, who, WaitEnd::Event);
    }
}

/// Ends `who`'s wait without a wake, through the handler's own cancel path.
fn end_wait(t: &mut FakeThreads, mem: &mut dyn UserMemory, who: usize, why: WaitEnd) {
    t.state[who] = ThreadState::Runnable;
    if t.futex.pending[who].is_some() {
        finish_pi(t, mem, who, why);
    } else {
        let _ = futex::cancel_wait(t, &who, why);
    }
}

/// Runs the rest of `who`'s blocked PI call (its wait ended for `why`) as `who`.
fn finish_pi(t: &mut FakeThreads, mem: &mut dyn UserMemory, who: usize, why: WaitEnd) {
    let Some(pending) = t.futex.pending[who].take() else {
        return;
    };
    let caller = std::mem::replace(&mut t.futex.current, who);
    match pi::resume(t, mem, pending, why) {
        Step::Done(r) => {
            let word = match pending {
                Pending::Lock { uaddr, key, .. } => (uaddr, key),
                Pending::WaitRequeue { uaddr2, key2, .. } => (uaddr2, key2),
            };
            check_owned(t, mem, r, word);
        }
        Step::Blocked(again, _) => t.futex.pending[who] = Some(again),
    }
    t.futex.current = caller;
}

/// A lock call of the current thread returned `r`: on success the word must hold its TID
/// (unless the app wrote the word while the kernel held state for it).
fn check_owned(
    t: &mut FakeThreads,
    mem: &dyn UserMemory,
    r: SysResult,
    (uaddr, key): (UserPtr<u32>, FutexKey),
) {
    if r != Ok(0) || t.pi_scribbled.contains(&key) {
        return;
    }
    let me = t.futex.current;
    if let Ok(word) = uaddr.read(mem) {
        if word & TID_MASK != t.futex.tids[me] as u32 {
            t.violation.get_or_insert_with(|| {
                format!(
                    "thread {me} returned owning the PI futex at {:#x}, whose word is \
                     {word:#x}",
                    uaddr.addr().get()
                )
            });
        }
    }
}

impl FakeThreads {
    /// The current thread just parked: the next runnable one runs (a woken one first
    /// finishes its PI call, which may park it again); if every thread is parked, the one
    /// parked longest is interrupted and runs.
    fn switch(&mut self, mem: &mut dyn UserMemory) {
        // The PI calls finished here write lock words as the kernel (the call that parked,
        // a wait or a PI call, writes no user memory itself). Those finished by a timeout
        // at the start of a call are not counted: that call may be a FUTEX_WAKE_OP, the
        // app's write.
        self.pi_calls += 1;
        // Each round parks a thread or ends: THREADS + 1 rounds are enough.
        for _ in 0..=THREADS {
            let next = (1..=THREADS)
                .map(|i| (self.futex.current + i) % THREADS)
                .find(|&i| self.state[i] == ThreadState::Runnable);
            match next {
                Some(i) => {
                    self.futex.current = i;
                    run_woken(self, mem, i);
                    if self.state[i] == ThreadState::Runnable {
                        return;
                    }
                }
                None => {
                    let oldest = (0..THREADS)
                        .min_by_key(|&i| match self.state[i] {
                            ThreadState::Parked { since, .. } => since,
                            ThreadState::Runnable => u64::MAX,
                        })
                        .expect("THREADS is not 0");
                    interrupt(self, mem, oldest);
                    self.futex.current = oldest;
                    return;
                }
            }
        }
        self.violation
            .get_or_insert_with(|| "no thread left to run after a park".into());
    }
}

/// oxv-sched's [`oxv_sched::testing::FakeFutexScheduler`] (keys, TIDs, the word's
/// compare-and-exchange, the table) with the harness's scheduling on top: the blocker's clock,
/// parking, wakes that make parked threads runnable, and the owner check of PI locks.
impl FutexScheduler for FakeThreads {
    type Thread = usize;

    fn key_of(
        &mut self,
        mem: &dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
    ) -> Result<FutexKey, Errno> {
        self.futex.key_of(mem, uaddr, private)
    }

    fn current(&mut self) -> usize {
        self.futex.current
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.clock.now_ns()
    }

    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64 {
        self.futex.realtime_to_monotonic_ns(realtime_ns)
    }

    fn locked<R>(&mut self, f: impl FnOnce(&mut FutexTable<usize>, &mut Vec<usize>) -> R) -> R {
        let r = self.futex.locked(f);
        for who in std::mem::take(&mut self.futex.woken) {
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
        let me = self.futex.current;
        // The fake leaves the caller queued and says a wake ended the wait.
        self.futex.block_if(deadline, register)?;
        if !self.park_on_block {
            return Some(WaitEnd::Signal);
        }
        self.parks += 1;
        self.state[me] = ThreadState::Parked {
            deadline,
            since: self.parks,
        };
        // The parked thread's call returns what a wake makes it return; it stays queued
        // (the router switches to another thread once the call is back).
        Some(WaitEnd::Event)
    }

    fn tid(&self, thread: &usize) -> i32 {
        self.futex.tid(thread)
    }

    fn thread_by_tid(&mut self, tid: i32) -> Option<usize> {
        self.futex.thread_by_tid(tid)
    }

    fn cmpxchg_word(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        old: u32,
        new: u32,
    ) -> Result<u32, Errno> {
        self.futex.cmpxchg_word(mem, uaddr, old, new)
    }

    /// A call that blocks records 0 (what it returns when a wake ends it) and keeps its
    /// rest in the fake's `pending`, for [`run_woken`] or [`interrupt`] to finish.
    fn pi(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
        call: PiCall,
    ) -> SysResult {
        match pi::start(self, mem, uaddr, private, call) {
            Step::Done(r) => {
                if matches!(call, PiCall::Lock { .. }) {
                    let key = key_of(uaddr.addr().get());
                    check_owned(self, mem, r, (uaddr, key));
                }
                r
            }
            Step::Blocked(pending, _) => {
                self.futex.pending[self.futex.current] = Some(pending);
                Ok(0)
            }
        }
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
    use oxv_sched::futex::pi::{OWNER_DIED, WAITERS};

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
            assert_eq!(w.proc.threads.futex.current, expected_next);
            check::all(&mut w, None).expect("consistent after a park");
        }
        assert_eq!(w.proc.threads.futex.table.waiters(FutexKey::from(0)), 0);
        // The fourth park leaves nobody runnable: thread 0 (parked first) is interrupted.
        assert_eq!(futex_call(&mut w, 0, g::FUTEX_WAIT, 0), Some(Ok(0)));
        let t = &w.proc.threads;
        assert_eq!((t.futex.current, t.state[0]), (0, ThreadState::Runnable));
        assert_eq!(t.futex.table.queued().count(), 3);
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

    fn word(w: &mut World, off: u64) -> u32 {
        w.with_mem(|mem, _| UserPtr::<u32>::new(SCRATCH_BASE + off).read(mem))
            .expect("scratch is readable")
    }

    #[test]
    fn pi_locks_park_their_waiters_and_unlock_hands_off_in_turn() {
        let mut w = World::new(Options::strict());
        let (a, b) = (0x40, 0x80);
        let ok = |w: &mut World| check::all(w, None).expect("consistent");
        assert_eq!(futex_call(&mut w, a, g::FUTEX_LOCK_PI, 0), Some(Ok(0)));
        assert_eq!(word(&mut w, a), w.proc.threads.futex.tids[0] as u32);
        // Thread 0 parks elsewhere; 1 and 2 wait for the lock, 3 may not unlock it.
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAIT, 0), Some(Ok(0)));
        for next in [2, 3] {
            assert_eq!(futex_call(&mut w, a, g::FUTEX_LOCK_PI, 0), Some(Ok(0)));
            assert_eq!(w.proc.threads.futex.current, next);
            ok(&mut w);
        }
        assert_eq!(
            word(&mut w, a),
            w.proc.threads.futex.tids[0] as u32 | WAITERS
        );
        assert_eq!(
            futex_call(&mut w, a, g::FUTEX_UNLOCK_PI, 0),
            Some(Err(Errno::EPERM))
        );
        assert_eq!(
            futex_call(&mut w, a, g::FUTEX_WAKE, 1),
            Some(Err(Errno::EINVAL)),
            "PI waiters wait for an unlock"
        );
        // 3 wakes 0 and parks: 0 runs and unlocks; 1 owns the lock but runs only later.
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAKE, 1), Some(Ok(1)));
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAIT, 0), Some(Ok(0)));
        assert_eq!(w.proc.threads.futex.current, 0);
        assert_eq!(futex_call(&mut w, a, g::FUTEX_UNLOCK_PI, 0), Some(Ok(0)));
        assert_eq!(
            word(&mut w, a),
            w.proc.threads.futex.tids[1] as u32 | WAITERS
        );
        let t = &w.proc.threads;
        assert!(t.state[1] == ThreadState::Runnable && t.futex.pending[1].is_some());
        ok(&mut w);
        // 0 parks: 1 finishes its FUTEX_LOCK_PI as the owner and hands on to 2.
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAIT, 0), Some(Ok(0)));
        assert_eq!(w.proc.threads.futex.current, 1);
        assert!(w.proc.threads.futex.pending[1].is_none());
        assert_eq!(futex_call(&mut w, a, g::FUTEX_UNLOCK_PI, 0), Some(Ok(0)));
        assert_eq!(
            word(&mut w, a),
            w.proc.threads.futex.tids[2] as u32 | WAITERS
        );
        assert!(w.proc.threads.futex.table.pi.is_empty(), "no waiter left");
        ok(&mut w);
        w.teardown()
            .expect("2 finishes its call, the others are interrupted");
    }

    #[test]
    fn an_owner_that_exits_passes_its_lock_with_owner_died() {
        let mut w = World::new(Options::strict());
        let (a, b) = (0x40, 0x80);
        assert_eq!(futex_call(&mut w, a, g::FUTEX_LOCK_PI, 0), Some(Ok(0)));
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAIT, 0), Some(Ok(0)));
        for _ in [1, 2] {
            assert_eq!(futex_call(&mut w, a, g::FUTEX_LOCK_PI, 0), Some(Ok(0)));
        }
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAKE, 1), Some(Ok(1)));
        assert_eq!(futex_call(&mut w, b, g::FUTEX_WAIT, 0), Some(Ok(0)));
        assert_eq!(w.proc.threads.futex.current, 0);
        let exit = Syscall::decode(&SyscallArgs::new(g::__NR_exit as u64, [0; 6]));
        assert_eq!(
            w.with_mem(|mem, p| route(&mut p.threads, mem, &exit)),
            Some(Ok(0))
        );
        let t = &w.proc.threads;
        assert_eq!(t.futex.tids, [5, 2, 3, 4], "a new thread in slot 0");
        assert!(t.futex.table.pi.owner_fixing_word(key_of(SCRATCH_BASE + a)));
        assert_eq!(t.state[1], ThreadState::Runnable, "1 was given the lock");
        check::all(&mut w, None).expect("the word is not the new owner's yet");
        // The new thread finds the word not fixed yet and queues; 1 runs and fixes it.
        assert_eq!(futex_call(&mut w, a, g::FUTEX_LOCK_PI, 0), Some(Ok(0)));
        assert_eq!(w.proc.threads.futex.current, 1);
        assert_eq!(word(&mut w, a), 2 | WAITERS | OWNER_DIED);
        check::all(&mut w, None).expect("1 owns the lock, 2 and 5 wait");
        w.teardown().expect("every waiter interrupted");
    }

    #[test]
    fn the_checks_see_a_word_that_does_not_name_the_owner() {
        let mut w = World::new(Options::strict());
        w.proc
            .threads
            .futex
            .table
            .pi
            .enqueue(key_of(SCRATCH_BASE), 2, 1);
        w.proc.threads.state[1] = ThreadState::Parked {
            deadline: None,
            since: 1,
        };
        let e = check::all(&mut w, None).expect_err("the word is 0");
        assert!(e.contains("owner thread 2"), "{e}");
        w.proc.threads.pi_scribbled.insert(key_of(SCRATCH_BASE));
        let e = check::all(&mut w, None).expect_err("thread 1 is not blocked in a PI call");
        assert!(e.contains("as a PI waiter"), "{e}");
        w.proc.threads.futex.pending[1] = Some(Pending::Lock {
            uaddr: UserPtr::new(SCRATCH_BASE),
            key: key_of(SCRATCH_BASE),
            deadline: None,
        });
        check::all(&mut w, None).expect("the app wrote the word");
    }

    #[test]
    fn the_checks_see_a_runnable_thread_left_queued_and_a_leak_at_teardown() {
        let mut w = World::new(Options::strict());
        w.proc.threads.futex.table.enqueue(0x40, 2, MATCH_ANY);
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
        w.proc.threads.futex.table.enqueue(0x40, 1, MATCH_ANY);
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
        assert_eq!(w.proc.threads.futex.table.queued().count(), 0);
    }
}
