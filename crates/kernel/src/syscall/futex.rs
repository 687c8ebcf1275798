//! futex(2) in the kernel: the scheduler's side of oxv-sched's futex calls
//! ([`oxv_sched::syscalls::futex`], which decodes and validates the ops, compares the word,
//! wakes, requeues and does `FUTEX_WAKE_OP`), as [`Futexes`], its [`FutexScheduler`].
//!
//! The compare of the futex word and the enqueue happen under the scheduler lock, which
//! wakers also hold, so a wake between them cannot be lost (the word is read through the
//! usual fault-safe user copy; a fault resolves without the scheduler lock).
//!
//! Keys (Linux's `get_futex_key`): a private futex, or a shared one in private memory, is
//! its address space plus its address; a shared futex in `MAP_SHARED` memory is the physical
//! address of its word, so that processes mapping the page at different addresses meet.
//!
//! The PI operations are oxv-sched's too ([`oxv_sched::syscalls::futex::pi`]); the kernel
//! gives them what only it has: [`cmpxchg_word`], an atomic compare-and-exchange on the
//! word's frame (user space on another CPU changes the word concurrently), and the threads
//! by TID. futex_waitv(2)'s entry point is in [`waitv`], and what a thread's exit does to
//! the robust and PI futexes it holds in [`robust`].

use crate::arch::usercopy::CurrentUserMemory;
use crate::sched;
use crate::thread::{ThreadRef, Wake};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use oxv_mm::{Page, PageTable, PteFlags, VirtAddr};
use oxv_sched::futex::{FutexKey, FutexTable};
use oxv_sched::syscalls::futex::{FutexScheduler, WaitEnd};

pub mod robust;
pub mod waitv;

fn read_word(uaddr: UserPtr<u32>) -> Result<u32, Errno> {
    Ok(uaddr.read(&CurrentUserMemory)?)
}

/// How many times [`cmpxchg_word`] faults the page in before it gives up with `EFAULT` (a
/// fault resolved once is normally there on the retry; another thread's munmap or
/// mprotect in between is what a second round is for).
const FAULT_ATTEMPTS: usize = 3;

/// Atomically replaces the user word at `uaddr` with `new` if it holds `old` (what Linux's
/// `futex_atomic_cmpxchg_inatomic` does with `lock cmpxchg` on the user address); returns
/// the value found, which is `old` exactly when the word was replaced. User space on another
/// CPU may change the word at any time, so a read followed by a write could lose its update.
///
/// The exchange goes through the direct map of the word's frame, under the address-space
/// lock (the mapping cannot change meanwhile), once the page is present and writable: a
/// missing page or a copy-on-write page is faulted in for writing first, as a user store
/// would. `EFAULT` where a user store would fault.
pub fn cmpxchg_word(uaddr: UserPtr<u32>, old: u32, new: u32) -> Result<u32, Errno> {
    let addr = uaddr.addr();
    if addr.get() % 4 != 0 || !addr.range_is_user(4) {
        return Err(Errno::EFAULT);
    }
    let p = crate::process::current();
    for _ in 0..FAULT_ATTEMPTS {
        {
            let mm = p.mm.lock();
            let page = Page::containing_address(VirtAddr::new(addr.get()));
            if let Some((frame, flags)) = mm.page_table().translate(page) {
                if flags.contains(PteFlags::WRITABLE | PteFlags::USER)
                    && !flags.contains(PteFlags::NO_ACCESS)
                {
                    let pa = frame.start_address().as_u64() + addr.get() % 4096;
                    // SAFETY: `pa` is the 4-byte-aligned word at `addr` in a frame the app
                    // maps writable (the address-space lock keeps it mapped, hence allocated,
                    // while we hold it); every frame of RAM is mapped at its direct-map
                    // address, and the word is only ever accessed atomically by the kernel
                    // (user space runs `lock cmpxchg` or plain aligned stores on it).
                    let word =
                        unsafe { &*(crate::arch::paging::phys_to_virt(pa) as *const AtomicU32) };
                    return Ok(
                        match word.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                            Ok(v) | Err(v) => v,
                        },
                    );
                }
            }
        }
        crate::process::resolve_fault(addr.get(), crate::trap::Access::Write)
            .map_err(|_| Errno::EFAULT)?;
    }
    Err(Errno::EFAULT)
}

/// The `space` of physical keys (no address space has this identity: it is not a kernel
/// heap address).
const PHYSICAL: u64 = u64::MAX;

/// The futex key of `addr` in the calling thread's process (see the module docs).
pub fn key_of(addr: u64, private: bool) -> Result<FutexKey, Errno> {
    let p = crate::process::current();
    if !private {
        // Bring the page in first: the key of a shared page is its frame.
        read_word(UserPtr::new(addr))?;
        let mm = p.mm.lock();
        if mm.find_vma(addr).is_some_and(|v| v.shared().is_some()) {
            if let Some((frame, _)) = mm
                .page_table()
                .translate(Page::containing_address(VirtAddr::new(addr)))
            {
                return Ok(FutexKey {
                    space: PHYSICAL,
                    offset: frame.start_address().as_u64() + addr % 4096,
                });
            }
        }
    }
    Ok(FutexKey {
        space: Arc::as_ptr(&p.mm.get()) as u64,
        offset: addr,
    })
}

/// The kernel's [`FutexScheduler`]: the scheduler's table, lock, blocking and clock, for
/// the calling thread.
pub struct Futexes;

impl From<Wake> for WaitEnd {
    fn from(why: Wake) -> WaitEnd {
        match why {
            Wake::Event => WaitEnd::Event,
            Wake::Timeout => WaitEnd::Timeout,
            Wake::Signal => WaitEnd::Signal,
        }
    }
}

impl FutexScheduler for Futexes {
    type Thread = ThreadRef;

    fn key_of(
        &mut self,
        _mem: &dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
    ) -> Result<FutexKey, Errno> {
        key_of(uaddr.addr().get(), private)
    }

    fn current(&mut self) -> ThreadRef {
        sched::current()
    }

    fn monotonic_ns(&mut self) -> u64 {
        crate::time::clock().monotonic_ns(crate::arch::cpu::rdtsc())
    }

    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64 {
        crate::time::clock().realtime_to_monotonic_ns(realtime_ns)
    }

    fn locked<R>(
        &mut self,
        f: impl FnOnce(&mut FutexTable<ThreadRef>, &mut Vec<ThreadRef>) -> R,
    ) -> R {
        sched::with(|s| {
            let mut woken = Vec::new();
            let r = f(&mut s.futexes, &mut woken);
            for t in &woken {
                s.wake(t, Wake::Event);
            }
            r
        })
    }

    fn block_if(
        &mut self,
        deadline: Option<u64>,
        register: impl FnOnce(&mut FutexTable<ThreadRef>, &ThreadRef) -> bool,
    ) -> Option<WaitEnd> {
        sched::block_if(deadline, |s, me| register(&mut s.futexes, me)).map(WaitEnd::from)
    }

    fn tid(&self, thread: &ThreadRef) -> i32 {
        thread.tid
    }

    fn thread_by_tid(&mut self, tid: i32) -> Option<ThreadRef> {
        sched::with(|s| s.thread(tid))
    }

    fn cmpxchg_word(
        &mut self,
        _mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        old: u32,
        new: u32,
    ) -> Result<u32, Errno> {
        cmpxchg_word(uaddr, old, new)
    }
}

/// futex(uaddr, op, val, timeout/val2, uaddr2, val3).
pub fn futex(
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    op: i32,
    val: u32,
    timeout: u64,
    uaddr2: UserPtr<u32>,
    val3: u32,
) -> SysResult {
    oxv_sched::syscalls::futex::futex(&mut Futexes, mem, uaddr, op, val, timeout, uaddr2, val3)
}
