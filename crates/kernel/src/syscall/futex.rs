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

use crate::arch::usercopy::CurrentUserMemory;
use crate::sched;
use crate::thread::Wake;
use alloc::sync::Arc;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use oxv_mm::{Page, PageTable, VirtAddr};
use oxv_sched::futex::{FutexKey, MATCH_ANY};

const WAIT: i32 = 0;
const WAKE: i32 = 1;
const REQUEUE: i32 = 3;
const CMP_REQUEUE: i32 = 4;
const WAKE_OP: i32 = 5;
const WAIT_BITSET: i32 = 9;
const WAKE_BITSET: i32 = 10;
const PRIVATE_FLAG: i32 = 128;
const CLOCK_REALTIME_FLAG: i32 = 256;

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
    let deadline = if timeout != 0 && (cmd == WAIT || cmd == WAIT_BITSET) {
        let ts = UserPtr::<Timespec>::new(timeout).read(mem)?;
        let ns = ts.to_nanos()?;
        let clock = crate::time::clock();
        let now = crate::arch::cpu::rdtsc();
        Some(if cmd == WAIT {
            clock.monotonic_ns(now).saturating_add(ns)
        } else if realtime {
            clock.realtime_to_monotonic_ns(ns as i128)
        } else {
            ns
        })
    } else {
        None
    };
    if realtime && cmd != WAIT_BITSET {
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
            Ok(wake(
                key_of(uaddr.addr().get(), private)?,
                val as usize,
                bitset,
            ))
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

fn wake(key: FutexKey, n: usize, bitset: u32) -> usize {
    sched::with(|s| {
        let woken = s.futexes.wake(key, n, bitset);
        for t in &woken {
            s.wake(t, Wake::Event);
        }
        woken.len()
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
