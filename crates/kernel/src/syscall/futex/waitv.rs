//! futex_waitv(2): wait on up to 128 futex words at once, until a `FUTEX_WAKE` on any of
//! them.
//!
//! Matches Linux's `sys_futex_waitv`: checks in its order (flags, then the count and the
//! array pointer, then the clock and the timeout, then each entry's flags, reserved field
//! and value width, then each word's key, then the values), 32-bit words only
//! (`FUTEX2_SIZE_U32`, with or without `FUTEX2_PRIVATE`), an absolute timeout on
//! `CLOCK_MONOTONIC` or `CLOCK_REALTIME`. The thread is queued on every word's key under the
//! scheduler lock after comparing each word, so a wake cannot slip in between; it returns
//! the index of a woken word (the highest, if several wakes came before it ran), `EAGAIN` if
//! a word differed, `ETIMEDOUT`, or `EINTR` (restarted as Linux's `-ERESTARTSYS`).
//!
//! Not supported: `FUTEX2_NUMA` and `FUTEX2_MPOL` (`EINVAL`; Linux accepts them on NUMA
//! builds).

use super::{check_aligned, key_of, read_word};
use crate::sched;
use crate::thread::Wake;
use alloc::vec::Vec;
use linux_raw_sys::general as uapi;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};
use oxv_sched::futex::{FutexKey, MATCH_ANY};

/// The three quadwords of a `struct futex_waitv`: `val`, `uaddr`, then `flags` in the low
/// half and `__reserved` in the high half.
type RawWaitv = [u64; 3];
const _: () = assert!(size_of::<uapi::futex_waitv>() == size_of::<RawWaitv>());
const _: () = assert!(core::mem::offset_of!(uapi::futex_waitv, uaddr) == 8);
const _: () = assert!(core::mem::offset_of!(uapi::futex_waitv, flags) == 16);

/// The entry flags Linux knows (`FUTEX2_VALID_MASK`).
const VALID_FLAGS: u32 =
    uapi::FUTEX2_SIZE_MASK | uapi::FUTEX2_NUMA | uapi::FUTEX2_MPOL | uapi::FUTEX2_PRIVATE;

/// One word to wait on.
struct Entry {
    uaddr: UserPtr<u32>,
    val: u32,
    key: FutexKey,
}

/// futex_waitv(waiters, nr_futexes, flags, timeout, clockid).
pub fn futex_waitv(
    mem: &dyn UserMemory,
    waiters: UserAddr,
    nr_futexes: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
    clockid: i32,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if nr_futexes == 0 || nr_futexes > uapi::FUTEX_WAITV_MAX || waiters.is_null() {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout.is_null() {
        None
    } else {
        let realtime = clockid == uapi::CLOCK_REALTIME as i32;
        if !realtime && clockid != uapi::CLOCK_MONOTONIC as i32 {
            return Err(Errno::EINVAL);
        }
        let ns = timeout.read(mem)?.to_nanos()?;
        Some(if realtime {
            crate::time::clock().realtime_to_monotonic_ns(ns as i128)
        } else {
            ns
        })
    };
    let mut raw = Vec::with_capacity(nr_futexes as usize);
    for i in 0..u64::from(nr_futexes) {
        let at = UserPtr::<RawWaitv>::new(waiters.get().wrapping_add(i * 24));
        let [val, uaddr, flags_reserved] = at.read(mem)?;
        let (flags, reserved) = (flags_reserved as u32, (flags_reserved >> 32) as u32);
        if flags & !VALID_FLAGS != 0 || reserved != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & uapi::FUTEX2_SIZE_MASK != uapi::FUTEX2_SIZE_U32
            || flags & (uapi::FUTEX2_NUMA | uapi::FUTEX2_MPOL) != 0
            || val >> 32 != 0
        {
            return Err(Errno::EINVAL);
        }
        raw.push((
            UserPtr::<u32>::new(uaddr),
            val as u32,
            flags & uapi::FUTEX2_PRIVATE != 0,
        ));
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (uaddr, val, private) in raw {
        check_aligned(uaddr)?;
        let key = key_of(uaddr.addr().get(), private)?;
        entries.push(Entry { uaddr, val, key });
    }
    let me = sched::current();
    loop {
        let mut refused = Ok(());
        let why = sched::block_if(deadline, |s, me| {
            for (i, e) in entries.iter().enumerate() {
                let differs = match read_word(e.uaddr) {
                    Ok(v) if v == e.val => None,
                    Ok(_) => Some(Errno::EAGAIN),
                    Err(err) => Some(err),
                };
                if let Some(err) = differs {
                    for queued in &entries[..i] {
                        s.futexes.remove_from(queued.key, me);
                    }
                    refused = Err(err);
                    return false;
                }
                s.futexes.enqueue(e.key, me.clone(), MATCH_ANY);
            }
            true
        });
        let Some(why) = why else {
            refused?;
            continue;
        };
        let woken = sched::with(|s| {
            let mut woken = None;
            for (i, e) in entries.iter().enumerate() {
                if !s.futexes.remove_from(e.key, &me) {
                    woken = Some(i);
                }
            }
            // A requeue may have moved an entry to another key: it must not stay there.
            while s.futexes.remove(&me) {}
            woken
        });
        if let Some(i) = woken {
            return Ok(i);
        }
        match why {
            Wake::Timeout => return Err(Errno::ETIMEDOUT),
            Wake::Signal => return Err(Errno::EINTR),
            Wake::Event => {}
        }
    }
}
