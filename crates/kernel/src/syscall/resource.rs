//! Scheduling and resource calls: getcpu(2), getrusage(2), times(2), the sched_*(2) policy
//! calls, getpriority(2)/setpriority(2).
//!
//! oxv schedules every thread alike (round robin with a 10 ms slice), so only the normal
//! policies are accepted; asking for a real-time policy is `EPERM`, which is what a process
//! without CAP_SYS_NICE gets on Linux (oxv cannot honour the request). Nice values are stored
//! and reported, but do not change the schedule. CPU time is the time since the app started
//! (it is the only thing the CPU runs).

use crate::process::Process;
use crate::sched;
use core::sync::atomic::{AtomicI32, Ordering};
use oxv_abi::linux::system::Rlimit64;
use oxv_abi::linux::time::{Timespec, Timeval};
use oxv_abi::linux::timer::*;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

static NICE: AtomicI32 = AtomicI32::new(0);

fn check_pid(p: &Process, pid: i32) -> Result<(), Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 || pid == p.pid || sched::with(|s| s.thread(pid)).is_some() {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// getcpu(2): the CPU the caller runs on; one NUMA node.
pub fn getcpu(mem: &mut dyn UserMemory, cpu: UserPtr<u32>, node: UserPtr<u32>) -> SysResult {
    if !cpu.is_null() {
        let n = crate::arch::percpu::this_cpu().cpu_id as u32;
        cpu.write(mem, &n)?;
    }
    if !node.is_null() {
        node.write(mem, &0)?;
    }
    Ok(0)
}

/// getrusage(2).
pub fn getrusage(
    p: &Process,
    mem: &mut dyn UserMemory,
    who: i32,
    usage: UserPtr<Rusage>,
) -> SysResult {
    let mut r = Rusage::default();
    match who {
        RUSAGE_SELF | RUSAGE_THREAD => {
            // oxv does not split user from system time: all of it is reported as user time.
            let ns = if who == RUSAGE_SELF {
                sched::process_cpu_ns(&crate::process::current())
            } else {
                sched::thread_cpu_ns(&sched::current())
            };
            r.ru_utime = Timeval {
                tv_sec: (ns / 1_000_000_000) as i64,
                tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
            };
            r.ru_maxrss = (p.mm.lock().resident_pages() * 4) as i64;
        }
        RUSAGE_CHILDREN => {}
        _ => return Err(Errno::EINVAL),
    }
    usage.write(mem, &r)?;
    Ok(0)
}

/// times(2): clock ticks (100 per second, AT_CLKTCK) of CPU time, and of time since boot as
/// the return value.
pub fn times(mem: &mut dyn UserMemory, buf: UserPtr<Tms>) -> SysResult {
    if !buf.is_null() {
        let t = Tms {
            tms_utime: (sched::process_cpu_ns(&crate::process::current()) / 10_000_000) as i64,
            ..Tms::default()
        };
        buf.write(mem, &t)?;
    }
    Ok((crate::time::monotonic_ns() / 10_000_000) as usize)
}

fn normal_policy(policy: i32) -> Result<bool, Errno> {
    match policy {
        SCHED_NORMAL | SCHED_BATCH | SCHED_IDLE => Ok(true),
        SCHED_FIFO | SCHED_RR | SCHED_DEADLINE => Ok(false),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_getscheduler(2).
pub fn sched_getscheduler(p: &Process, pid: i32) -> SysResult {
    check_pid(p, pid)?;
    Ok(SCHED_NORMAL as usize)
}

/// sched_setscheduler(2).
pub fn sched_setscheduler(
    p: &Process,
    mem: &dyn UserMemory,
    pid: i32,
    policy: i32,
    param: UserPtr<SchedParam>,
) -> SysResult {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let prm = param.read(mem)?;
    check_pid(p, pid)?;
    let policy = policy & !(SCHED_RESET_ON_FORK as i32);
    if normal_policy(policy)? {
        if prm.sched_priority != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;

/// sched_getparam(2).
pub fn sched_getparam(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    param: UserPtr<SchedParam>,
) -> SysResult {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    check_pid(p, pid)?;
    param.write(mem, &SchedParam { sched_priority: 0 })?;
    Ok(0)
}

/// sched_setparam(2): the normal policy takes priority 0 only.
pub fn sched_setparam(
    p: &Process,
    mem: &dyn UserMemory,
    pid: i32,
    param: UserPtr<SchedParam>,
) -> SysResult {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let prm = param.read(mem)?;
    check_pid(p, pid)?;
    if prm.sched_priority != 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(0)
    }
}

/// sched_get_priority_max(2).
pub fn sched_get_priority_max(policy: i32) -> SysResult {
    Ok(if normal_policy(policy)? || policy == SCHED_DEADLINE {
        0
    } else {
        99
    })
}

/// sched_get_priority_min(2).
pub fn sched_get_priority_min(policy: i32) -> SysResult {
    Ok(if normal_policy(policy)? || policy == SCHED_DEADLINE {
        0
    } else {
        1
    })
}

/// sched_rr_get_interval(2): the time slice.
pub fn sched_rr_get_interval(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    tp: UserPtr<Timespec>,
) -> SysResult {
    check_pid(p, pid)?;
    tp.write(
        mem,
        &Timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        },
    )?;
    Ok(0)
}

fn check_who(p: &Process, which: i32, who: i32) -> Result<(), Errno> {
    match which {
        PRIO_PROCESS => check_pid(p, who),
        PRIO_PGRP => {
            if who == 0 || who == p.pid {
                Ok(())
            } else {
                Err(Errno::ESRCH)
            }
        }
        PRIO_USER => {
            if who == 0 {
                Ok(())
            } else {
                Err(Errno::ESRCH)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// getpriority(2): returns `20 - nice` (the raw system call avoids negative results; the
/// libc converts back).
pub fn getpriority(p: &Process, which: i32, who: i32) -> SysResult {
    check_who(p, which, who)?;
    Ok((20 - NICE.load(Ordering::Relaxed)) as usize)
}

/// setpriority(2): the nice value is clamped to -20..=19, as Linux does.
pub fn setpriority(p: &Process, which: i32, who: i32, prio: i32) -> SysResult {
    check_who(p, which, who)?;
    NICE.store(prio.clamp(-20, 19), Ordering::Relaxed);
    Ok(0)
}

/// Applies the limits the kernel enforces outside oxv-sched to `p`: `RLIMIT_NOFILE` bounds
/// the fd table, `RLIMIT_FSIZE` the files its calls write (`oxv_vfs::fsize`).
fn enforce(p: &Process) {
    use oxv_abi::linux::system::RlimitResource;
    let (nofile, fsize) = {
        let limits = p.limits.lock();
        (
            limits.soft(RlimitResource::Nofile),
            limits.soft(RlimitResource::Fsize),
        )
    };
    p.files
        .set_limit(usize::try_from(nofile).unwrap_or(usize::MAX));
    p.files.file_size_limit().set(fsize);
}

/// What a file system call that passed `RLIMIT_FSIZE` runs (`oxv_vfs::fsize`): `SIGXFSZ` to
/// the calling thread, as Linux's `send_sig(SIGXFSZ, current, 0)`, which reads as sent by
/// the process itself (`SI_USER`), like `SIGPIPE`.
pub fn raise_sigxfsz() {
    crate::signal::raise_on_caller(oxv_abi::linux::signal::Signal::SIGXFSZ);
}

/// setrlimit(2).
pub fn setrlimit(
    p: &Process,
    mem: &mut dyn UserMemory,
    resource: u32,
    rlim: UserPtr<Rlimit64>,
) -> SysResult {
    let r = oxv_sched::syscalls::rlimit::setrlimit(&mut p.limits.lock(), mem, resource, rlim);
    enforce(p);
    r
}

/// prlimit64(2): the caller's limits (pid 0 or its own), or another process's.
pub fn prlimit64(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    resource: u32,
    new_limit: UserPtr<Rlimit64>,
    old_limit: UserPtr<Rlimit64>,
) -> SysResult {
    let other = match pid {
        0 => None,
        _ if pid == p.pid => None,
        _ => Some(crate::process::lookup(pid).ok_or(Errno::ESRCH)?),
    };
    let target = other.as_deref().unwrap_or(p);
    let r = oxv_sched::syscalls::rlimit::prlimit64(
        &mut target.limits.lock(),
        mem,
        0,
        resource,
        new_limit,
        old_limit,
        target.pid,
    );
    enforce(target);
    r
}
