//! futex(2): blocking waits keyed by user address, on the scheduler's futex table.
//!
//! The compare of the futex word and the enqueue happen under the scheduler lock, which
//! wakers also hold, so a wake between them cannot be lost (the word is read through the
//! usual fault-safe user copy; a fault resolves without the scheduler lock). Checks happen in
//! Linux's order: timeout copy and validation first, then the op, then alignment, then the
//! word.
//!
//! Keys (Linux's `get_futex_key`): a private futex, or a shared one in private memory, is
//! its address space plus its address; a shared futex in `MAP_SHARED` memory is the physical
//! address of its word, so that processes mapping the page at different addresses meet.
//!
//! The PI operations are in [`pi`], futex_waitv(2) in [`waitv`], and what a thread's exit
//! does to the robust and PI futexes it holds in [`robust`]. Where the kernel must change a
//! lock word that user space changes concurrently (on another CPU), it uses
//! [`cmpxchg_word`], an atomic compare-and-exchange on the word's frame.

use crate::arch::usercopy::CurrentUserMemory;
use crate::sched;
use crate::thread::Wake;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use linux_raw_sys::general as uapi;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use oxv_mm::{Page, PageTable, PteFlags, VirtAddr};
use oxv_sched::futex::{FutexKey, MATCH_ANY};

pub mod pi;
pub mod robust;
pub mod waitv;

const WAIT: i32 = uapi::FUTEX_WAIT as i32;
const WAKE: i32 = uapi::FUTEX_WAKE as i32;
const REQUEUE: i32 = uapi::FUTEX_REQUEUE as i32;
const CMP_REQUEUE: i32 = uapi::FUTEX_CMP_REQUEUE as i32;
const WAKE_OP: i32 = uapi::FUTEX_WAKE_OP as i32;
const LOCK_PI: i32 = uapi::FUTEX_LOCK_PI as i32;
const UNLOCK_PI: i32 = uapi::FUTEX_UNLOCK_PI as i32;
const TRYLOCK_PI: i32 = uapi::FUTEX_TRYLOCK_PI as i32;
const WAIT_BITSET: i32 = uapi::FUTEX_WAIT_BITSET as i32;
const WAKE_BITSET: i32 = uapi::FUTEX_WAKE_BITSET as i32;
const WAIT_REQUEUE_PI: i32 = uapi::FUTEX_WAIT_REQUEUE_PI as i32;
const CMP_REQUEUE_PI: i32 = uapi::FUTEX_CMP_REQUEUE_PI as i32;
const LOCK_PI2: i32 = uapi::FUTEX_LOCK_PI2 as i32;
const PRIVATE_FLAG: i32 = uapi::FUTEX_PRIVATE_FLAG as i32;
const CLOCK_REALTIME_FLAG: i32 = uapi::FUTEX_CLOCK_REALTIME as i32;

fn check_aligned(uaddr: UserPtr<u32>) -> Result<(), Errno> {
    if uaddr.addr().get() % 4 != 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

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
    let cmd = op & !(PRIVATE_FLAG | CLOCK_REALTIME_FLAG);
    let private = op & PRIVATE_FLAG != 0;
    let realtime = op & CLOCK_REALTIME_FLAG != 0;
    let has_timeout = matches!(
        cmd,
        WAIT | WAIT_BITSET | LOCK_PI | LOCK_PI2 | WAIT_REQUEUE_PI
    );
    let deadline = if timeout != 0 && has_timeout {
        let ts = UserPtr::<Timespec>::new(timeout).read(mem)?;
        let ns = ts.to_nanos()?;
        let clock = crate::time::clock();
        let now = crate::arch::cpu::rdtsc();
        // FUTEX_WAIT's timeout is relative; the others are absolute, on CLOCK_REALTIME for
        // FUTEX_LOCK_PI always and with FUTEX_CLOCK_REALTIME for the rest.
        Some(if cmd == WAIT {
            clock.monotonic_ns(now).saturating_add(ns)
        } else if realtime || cmd == LOCK_PI {
            clock.realtime_to_monotonic_ns(ns as i128)
        } else {
            ns
        })
    } else {
        None
    };
    if realtime && !matches!(cmd, WAIT_BITSET | WAIT_REQUEUE_PI | LOCK_PI2) {
        return Err(Errno::ENOSYS);
    }
    // For the requeue ops the "timeout" register is val2, an int count.
    let val2 = timeout as u32 as i32;
    match cmd {
        WAIT | WAIT_BITSET => {
            let bitset = if cmd == WAIT { MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            wait(
                uaddr,
                key_of(uaddr.addr().get(), private)?,
                val,
                bitset,
                deadline,
            )
        }
        WAKE | WAKE_BITSET => {
            let bitset = if cmd == WAKE { MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            wake(key_of(uaddr.addr().get(), private)?, val as usize, bitset)
        }
        REQUEUE | CMP_REQUEUE => {
            if (val as i32) < 0 || val2 < 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            check_aligned(uaddr2)?;
            let from = key_of(uaddr.addr().get(), private)?;
            let to = key_of(uaddr2.addr().get(), private)?;
            sched::with(|s| {
                if cmd == CMP_REQUEUE && read_word(uaddr)? != val3 {
                    return Err(Errno::EAGAIN);
                }
                // FUTEX_WAIT_REQUEUE_PI waiters only move with FUTEX_CMP_REQUEUE_PI.
                if s.futexes.has_requeue_pi_waiter(from) {
                    return Err(Errno::EINVAL);
                }
                let (woken, moved) = s.futexes.requeue(from, to, val as usize, val2 as usize);
                for t in &woken {
                    s.wake(t, Wake::Event);
                }
                Ok(woken.len() + moved)
            })
        }
        WAKE_OP => {
            check_aligned(uaddr)?;
            check_aligned(uaddr2)?;
            let keys = (
                key_of(uaddr.addr().get(), private)?,
                key_of(uaddr2.addr().get(), private)?,
            );
            wake_op(keys, uaddr2, val as usize, val2.max(0) as usize, val3)
        }
        LOCK_PI | LOCK_PI2 => pi::lock(uaddr, private, deadline, false),
        TRYLOCK_PI => pi::lock(uaddr, private, None, true),
        UNLOCK_PI => pi::unlock(uaddr, private),
        WAIT_REQUEUE_PI => pi::wait_requeue(uaddr, val, deadline, uaddr2, private),
        CMP_REQUEUE_PI => {
            if (val as i32) < 0 || val2 < 0 {
                return Err(Errno::EINVAL);
            }
            pi::cmp_requeue(uaddr, val, val2 as usize, uaddr2, val3, private)
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn wait(
    uaddr: UserPtr<u32>,
    key: FutexKey,
    val: u32,
    bitset: u32,
    deadline: Option<u64>,
) -> SysResult {
    let mut mismatch: Result<(), Errno> = Ok(());
    let why = sched::block_if(deadline, |s, me| match read_word(uaddr) {
        Ok(v) if v == val => {
            s.futexes.enqueue(key, me.clone(), bitset);
            true
        }
        Ok(_) => {
            mismatch = Err(Errno::EAGAIN);
            false
        }
        Err(e) => {
            mismatch = Err(e);
            false
        }
    });
    mismatch?;
    match why {
        Some(Wake::Event) | None => Ok(0),
        Some(other) => {
            let me = sched::current();
            sched::with(|s| s.futexes.remove(&me));
            Err(if other == Wake::Timeout {
                Errno::ETIMEDOUT
            } else {
                Errno::EINTR
            })
        }
    }
}

fn wake(key: FutexKey, n: usize, bitset: u32) -> SysResult {
    sched::with(|s| {
        // Waiters of a PI futex wait for an unlock, not a wake (Linux: EINVAL).
        if !s.futexes.pi.is_empty() && s.futexes.pi.contains(key)
            || s.futexes.has_requeue_pi_waiter(key)
        {
            return Err(Errno::EINVAL);
        }
        let woken = s.futexes.wake(key, n, bitset);
        for t in &woken {
            s.wake(t, Wake::Event);
        }
        Ok(woken.len())
    })
}

/// FUTEX_WAKE_OP: atomically `old = *uaddr2; *uaddr2 = op(old, oparg)`, wake `n1` on
/// `uaddr`, and `n2` on `uaddr2` if `cmp(old, cmparg)`.
fn wake_op(
    (key, key2): (FutexKey, FutexKey),
    uaddr2: UserPtr<u32>,
    n1: usize,
    n2: usize,
    encoded: u32,
) -> SysResult {
    let mut op = (encoded >> 28) & 0xf;
    let cmp = (encoded >> 24) & 0xf;
    let sign12 = |v: u32| ((v << 20) as i32 >> 20) as u32;
    let mut oparg = sign12((encoded >> 12) & 0xfff);
    let cmparg = sign12(encoded & 0xfff);
    if op & 8 != 0 {
        op &= 7;
        if oparg > 31 {
            return Err(Errno::EINVAL);
        }
        oparg = 1 << oparg;
    }
    if op > 4 || cmp > 5 {
        return Err(Errno::ENOSYS);
    }
    sched::with(|s| {
        let old = read_word(uaddr2)?;
        let new = match op {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            _ => old ^ oparg,
        };
        uaddr2.write(&mut CurrentUserMemory, &new)?;
        let mut count = 0;
        for t in s.futexes.wake(key, n1, MATCH_ANY) {
            s.wake(&t, Wake::Event);
            count += 1;
        }
        let (o, c) = (old as i32, cmparg as i32);
        let hit = match cmp {
            0 => o == c,
            1 => o != c,
            2 => o < c,
            3 => o <= c,
            4 => o > c,
            _ => o >= c,
        };
        if hit {
            for t in s.futexes.wake(key2, n2, MATCH_ANY) {
                s.wake(&t, Wake::Event);
                count += 1;
            }
        }
        Ok(count)
    })
}
