//! futex(2) for a single-threaded process: nobody else can change the word or wake a waiter,
//! so WAIT either fails at once (EAGAIN), times out (ETIMEDOUT), or waits forever, and the
//! wake calls wake nobody. Checks happen in Linux's order (timeout copy and validation first,
//! then the op, then alignment, then the word). Moves to oxv-sched with threads.

use crate::syscall::info::Sleep;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use oxv_sched::syscalls::time::Sleeper;

const WAIT: i32 = 0;
const WAKE: i32 = 1;
const REQUEUE: i32 = 3;
const CMP_REQUEUE: i32 = 4;
const WAIT_BITSET: i32 = 9;
const WAKE_BITSET: i32 = 10;
const PRIVATE_FLAG: i32 = 128;
const CLOCK_REALTIME_FLAG: i32 = 256;

fn word(mem: &dyn UserMemory, uaddr: UserPtr<u32>) -> Result<u32, Errno> {
    if uaddr.addr().get() % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(uaddr.read(mem)?)
}

/// futex(uaddr, op, val, timeout, uaddr2, val3).
pub fn futex(
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    op: i32,
    val: u32,
    timeout: u64,
    val3: u32,
) -> SysResult {
    let cmd = op & !(PRIVATE_FLAG | CLOCK_REALTIME_FLAG);
    let realtime = op & CLOCK_REALTIME_FLAG != 0;
    let deadline = if timeout != 0 && (cmd == WAIT || cmd == WAIT_BITSET) {
        let ts = UserPtr::<Timespec>::new(timeout).read(mem)?;
        let ns = ts.to_nanos()?;
        let clock = crate::time::clock();
        let now = crate::arch::cpu::rdtsc();
        Some(if cmd == WAIT {
            clock.monotonic_ns(now).saturating_add(ns)
        } else if realtime {
            let rel = ns as i128 - clock.realtime_ns(now);
            clock
                .monotonic_ns(now)
                .saturating_add(rel.clamp(0, u64::MAX as i128) as u64)
        } else {
            ns
        })
    } else {
        None
    };
    if realtime && cmd != WAIT_BITSET {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        WAIT | WAIT_BITSET => {
            if cmd == WAIT_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if word(mem, uaddr)? != val {
                return Err(Errno::EAGAIN);
            }
            // No other thread exists to wake us: only the timeout ends the wait.
            match deadline {
                Some(d) => {
                    Sleep.sleep_until_ns(d)?;
                    Err(Errno::ETIMEDOUT)
                }
                None => loop {
                    crate::idle::relax();
                },
            }
        }
        WAKE | WAKE_BITSET => {
            if cmd == WAKE_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if uaddr.addr().get() % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        REQUEUE => {
            if uaddr.addr().get() % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        CMP_REQUEUE => {
            if word(mem, uaddr)? != val3 {
                return Err(Errno::EAGAIN);
            }
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
    }
}
