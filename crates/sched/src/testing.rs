//! Fakes for host tests of code built on oxv-sched (this crate's tests and the fuzz harness):
//! [`FakeFutexScheduler`], a [`FutexScheduler`] without real threads. Behind the `testing`
//! feature, so kernels never build it.

use crate::futex::{FutexKey, FutexTable};
use crate::syscalls::futex::pi::{self, Pending, Step};
use crate::syscalls::futex::{FutexScheduler, PiCall, WaitEnd};
use alloc::vec::Vec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// A [`FutexScheduler`] over threads that are indexes (`0..tids.len()`), in one address
/// space, with nothing running concurrently:
///
/// - **Keys**: a word's key is its address in address space [`FakeFutexScheduler::space`],
///   private or shared; a shared futex reads its word first (`EFAULT` when it is unmapped),
///   as the kernel's `key_of` does.
/// - **TIDs**: thread `i` has TID `tids[i]`; any other TID names no thread (`ESRCH`). A test
///   ends a thread by giving its slot another TID (or a negative one: none).
/// - **Blocking**: a block leaves the caller queued on the table and ends at once as if a
///   wake had come ([`WaitEnd::Event`]); a test (or a scheduler wrapped around this one)
///   ends the wait by hand. A PI call that blocks keeps its rest in
///   [`FakeFutexScheduler::pending`] and returns `ERESTART`; [`pi::resume`] finishes it.
/// - **Wakes**: the threads a wake took are appended to [`FakeFutexScheduler::woken`].
/// - **Clocks**: the monotonic clock reads [`FakeFutexScheduler::now_ns`];
///   `CLOCK_REALTIME` is [`FakeFutexScheduler::realtime_at_boot_ns`] at monotonic 0.
/// - **The atomic compare-and-exchange** of a lock word is a read and a write of the memory.
pub struct FakeFutexScheduler {
    /// Who waits on which futex word.
    pub table: FutexTable<usize>,
    /// The thread making calls.
    pub current: usize,
    /// Each thread's TID.
    pub tids: Vec<i32>,
    /// Every thread a wake took, in order.
    pub woken: Vec<usize>,
    /// Each thread's blocked PI call, kept until [`pi::resume`] finishes it.
    pub pending: Vec<Option<Pending>>,
    /// The monotonic clock.
    pub now_ns: u64,
    /// `CLOCK_REALTIME` when the monotonic clock reads 0.
    pub realtime_at_boot_ns: u64,
    /// The address space of every key (0: keys are `FutexKey::from(address)`).
    pub space: u64,
}

impl FakeFutexScheduler {
    /// Threads with these TIDs, thread 0 current, the table empty, both clocks at 0.
    pub fn new(tids: Vec<i32>) -> FakeFutexScheduler {
        FakeFutexScheduler {
            table: FutexTable::new(),
            current: 0,
            pending: alloc::vec![None; tids.len()],
            tids,
            woken: Vec::new(),
            now_ns: 0,
            realtime_at_boot_ns: 0,
            space: 0,
        }
    }

    /// The key of the word at `addr`.
    pub fn key(&self, addr: u64) -> FutexKey {
        FutexKey {
            space: self.space,
            offset: addr,
        }
    }
}

impl FutexScheduler for FakeFutexScheduler {
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
        Ok(self.key(uaddr.addr().get()))
    }

    fn current(&mut self) -> usize {
        self.current
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.now_ns
    }

    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64 {
        (realtime_ns - i128::from(self.realtime_at_boot_ns)).clamp(0, i128::from(u64::MAX)) as u64
    }

    fn locked<R>(&mut self, f: impl FnOnce(&mut FutexTable<usize>, &mut Vec<usize>) -> R) -> R {
        f(&mut self.table, &mut self.woken)
    }

    fn block_if(
        &mut self,
        _deadline: Option<u64>,
        register: impl FnOnce(&mut FutexTable<usize>, &usize) -> bool,
    ) -> Option<WaitEnd> {
        let me = self.current;
        register(&mut self.table, &me).then_some(WaitEnd::Event)
    }

    fn tid(&self, thread: &usize) -> i32 {
        self.tids[*thread]
    }

    fn thread_by_tid(&mut self, tid: i32) -> Option<usize> {
        if tid <= 0 {
            return None;
        }
        self.tids.iter().position(|&t| t == tid)
    }

    fn cmpxchg_word(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        old: u32,
        new: u32,
    ) -> Result<u32, Errno> {
        let found = uaddr.read(mem)?;
        if found == old {
            uaddr.write(mem, &new)?;
        }
        Ok(found)
    }

    /// Stops at a block: the rest goes to [`FakeFutexScheduler::pending`] and the call
    /// returns `ERESTART`.
    fn pi(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
        call: PiCall,
    ) -> SysResult {
        match pi::start(self, mem, uaddr, private, call) {
            Step::Done(r) => r,
            Step::Blocked(rest, _) => {
                self.pending[self.current] = Some(rest);
                Err(Errno::ERESTART)
            }
        }
    }
}
