//! The light system-call path's handlers: calls that need neither the saved user registers
//! (no `fork`, `clone`, `execve`, signal frames) nor the kernel lock, and never block.
//!
//! The entry stub (`arch::syscall`) looks the number up in [`TABLE`] before it saves a full
//! frame; a handler found there runs straight from the argument registers, without
//! `Syscall::decode` and without the SMP kernel lock. What these calls read is either fixed
//! for the life of the process or thread (pid, tid, ids), an atomic (ppid), per-CPU, or the
//! clock; their only writes go to the caller's own user memory, whose faults are handled by
//! the trap path (which takes the kernel lock itself). They take no lock at all, not even a
//! spin lock: kernel code under the kernel lock never expects to contend for one with
//! another CPU, and may wait for this CPU (a TLB shootdown) while holding one. So a call
//! that reads state under a lock (getpgrp: the family lock) stays on the general path.
//!
//! A number the table has no entry for, or a call whose handler declines (strace is on; a
//! CPU-time clock, which reads other CPUs' running threads under the kernel lock), goes
//! through the general path unchanged.
//!
//! On the way out each handler tests the return-to-user conditions (reschedule, pending
//! signal, kill, stop) once; if any holds, the stub builds the full frame and the usual
//! return work runs on it (`crate::signal::on_return_to_user`). A signal raised by another
//! CPU meanwhile is not missed: its sender kicks this CPU, and the kick arrives as soon as
//! `sysret` turns interrupts back on.
//!
//! Not here: calls Linux may restart after a signal or that raise `SIGPIPE` (the general
//! path's `after_error` handles those), and anything that takes the kernel lock.

use super::{STRACE, wait};
use crate::arch::syscall::{FastHandler, FastReturn, FastStatus};
use crate::arch::usercopy::CurrentUserMemory;
use crate::process::Process;
use crate::thread::Thread;
use core::sync::atomic::Ordering;
use linux_raw_sys::general as nr;
use oxv_abi::errno::encode_result;
use oxv_abi::linux::time::ClockId;
use oxv_abi::{SysResult, UserPtr};
use oxv_sched::syscalls::time as time_calls;

/// A call the light path can run: `run` gets the six raw arguments and returns `None` to
/// decline (the general path then runs the call from the start, so `run` must not have
/// changed anything).
trait FastCall {
    fn run(me: &Thread, p: &Process, a: [u64; 6]) -> Option<SysResult>;
}

/// The stub's entry to call `C`: the result, and whether return work is pending.
extern "C" fn entry<C: FastCall>(
    a0: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
) -> FastReturn {
    if STRACE.load(Ordering::Relaxed) {
        return FastReturn::DECLINED;
    }
    crate::sched::with_running(|me| {
        let p = me.process();
        let Some(r) = C::run(me, p, [a0, a1, a2, a3, a4, a5]) else {
            return FastReturn::DECLINED;
        };
        // The conditions `on_return_to_user` tests, as one combined test.
        let work = crate::arch::percpu::need_resched() as u8
            | me.sig_pending.load(Ordering::Acquire) as u8
            | me.killed.load(Ordering::Acquire) as u8
            | p.shared_pending.load(Ordering::Acquire) as u8
            | p.stopped.load(Ordering::Acquire) as u8;
        FastReturn {
            rax: encode_result(r),
            status: if work == 0 {
                FastStatus::Done
            } else {
                FastStatus::Work
            },
        }
    })
}

/// An `int` argument (the low 32 bits, as `Syscall::decode` reads it).
const fn int(r: u64) -> i32 {
    r as u32 as i32
}

struct Getpid;
impl FastCall for Getpid {
    fn run(_: &Thread, p: &Process, _: [u64; 6]) -> Option<SysResult> {
        Some(Ok(p.pid as usize))
    }
}

struct Getppid;
impl FastCall for Getppid {
    fn run(_: &Thread, p: &Process, _: [u64; 6]) -> Option<SysResult> {
        Some(wait::getppid(p))
    }
}

struct Gettid;
impl FastCall for Gettid {
    fn run(me: &Thread, _: &Process, _: [u64; 6]) -> Option<SysResult> {
        Some(Ok(me.tid as usize))
    }
}

/// getuid, geteuid, getgid, getegid: the app runs as root (uid and gid 0), as in the
/// general dispatch.
struct RootId;
impl FastCall for RootId {
    fn run(_: &Thread, _: &Process, _: [u64; 6]) -> Option<SysResult> {
        Some(Ok(0))
    }
}

/// clock_gettime(2) for the clocks that only read the TSC; the CPU-time clocks and unknown
/// ids (`EINVAL`, told apart by the general path) decline.
struct ClockGettime;
impl FastCall for ClockGettime {
    fn run(_: &Thread, _: &Process, a: [u64; 6]) -> Option<SysResult> {
        let clockid = int(a[0]);
        match ClockId::try_from(clockid) {
            Ok(ClockId::ProcessCputime | ClockId::ThreadCputime) | Err(_) => None,
            Ok(_) => Some(time_calls::clock_gettime(
                crate::time::clock(),
                crate::arch::cpu::rdtsc(),
                0,
                &mut CurrentUserMemory,
                clockid,
                UserPtr::new(a[1]),
            )),
        }
    }
}

struct Gettimeofday;
impl FastCall for Gettimeofday {
    fn run(_: &Thread, _: &Process, a: [u64; 6]) -> Option<SysResult> {
        Some(time_calls::gettimeofday(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            &mut CurrentUserMemory,
            UserPtr::new(a[0]),
            UserPtr::new(a[1]),
        ))
    }
}

struct Time;
impl FastCall for Time {
    fn run(_: &Thread, _: &Process, a: [u64; 6]) -> Option<SysResult> {
        Some(time_calls::time(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            &mut CurrentUserMemory,
            UserPtr::new(a[0]),
        ))
    }
}

struct Getcpu;
impl FastCall for Getcpu {
    fn run(_: &Thread, _: &Process, a: [u64; 6]) -> Option<SysResult> {
        Some(super::resource::getcpu(
            &mut CurrentUserMemory,
            UserPtr::new(a[0]),
            UserPtr::new(a[1]),
        ))
    }
}

/// The light path's calls, by number.
const CALLS: &[(u32, FastHandler)] = &[
    (nr::__NR_getpid, entry::<Getpid>),
    (nr::__NR_getppid, entry::<Getppid>),
    (nr::__NR_gettid, entry::<Gettid>),
    (nr::__NR_getuid, entry::<RootId>),
    (nr::__NR_geteuid, entry::<RootId>),
    (nr::__NR_getgid, entry::<RootId>),
    (nr::__NR_getegid, entry::<RootId>),
    (nr::__NR_clock_gettime, entry::<ClockGettime>),
    (nr::__NR_gettimeofday, entry::<Gettimeofday>),
    (nr::__NR_time, entry::<Time>),
    (nr::__NR_getcpu, entry::<Getcpu>),
];

/// One past the highest number in [`CALLS`]: the stub sends every number from here up to
/// the general path without reading the table.
pub const TABLE_LEN: usize = {
    let mut len = 0;
    let mut i = 0;
    while i < CALLS.len() {
        if CALLS[i].0 as usize + 1 > len {
            len = CALLS[i].0 as usize + 1;
        }
        i += 1;
    }
    len
};

/// The light path's handlers indexed by number (`None`: the general path), read by the
/// entry stub.
pub static TABLE: [Option<FastHandler>; TABLE_LEN] = {
    let mut t: [Option<FastHandler>; TABLE_LEN] = [None; TABLE_LEN];
    let mut i = 0;
    while i < CALLS.len() {
        assert!(t[CALLS[i].0 as usize].is_none(), "one handler per number");
        t[CALLS[i].0 as usize] = Some(CALLS[i].1);
        i += 1;
    }
    t
};

/// Whether [`CALLS`] has a handler for `number`.
const fn listed(number: u32) -> bool {
    let mut i = 0;
    while i < CALLS.len() {
        if CALLS[i].0 == number {
            return true;
        }
        i += 1;
    }
    false
}

// The kernel's tests build on the host, where this module does not: the table's invariants
// are checked at compile time instead. Calls that rewrite the saved registers, may block
// or may be restarted must stay on the general path.
const _: () = assert!(listed(nr::__NR_getppid) && listed(nr::__NR_clock_gettime));
const _: () = assert!(
    !listed(nr::__NR_rt_sigreturn)
        && !listed(nr::__NR_clone)
        && !listed(nr::__NR_fork)
        && !listed(nr::__NR_vfork)
        && !listed(nr::__NR_execve)
        && !listed(nr::__NR_sigaltstack)
        && !listed(nr::__NR_read)
        && !listed(nr::__NR_write)
        && !listed(nr::__NR_futex)
        && !listed(nr::__NR_exit)
        && !listed(nr::__NR_exit_group)
);
