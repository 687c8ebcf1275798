//! Waiting for children (wait4(2), waitid(2)) and process groups and sessions (getppid,
//! getpgid, getpgrp, setpgid, getsid, setsid).
//!
//! A wait looks for a child that matches (a pid, a process group, or any) and has ended: it
//! reaps it (its pid is free again, its CPU time joins the parent's `RUSAGE_CHILDREN`) and
//! reports its status; with none ended it blocks until a child ends or a signal arrives
//! (`EINTR`, restarted after an `SA_RESTART` handler), or returns at once with `WNOHANG`.
//! Without matching children it is `ECHILD`. As on Linux, a plain wait only sees children
//! whose exit signal is `SIGCHLD` (`__WCLONE` selects the others, `__WALL` both).
//!
//! With `WUNTRACED` (`WSTOPPED` for waitid) a wait also reports a child that a stop signal
//! stopped, and with `WCONTINUED` one that `SIGCONT` continued (`crate::jobctl`); each such
//! event is reported once (unless `WNOWAIT`) and the child stays a child.

use crate::jobctl::ChildEvent;
use crate::process::{self, ExitStatus, LifeState, Process};
use crate::sched;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::Signal;
use oxv_abi::linux::time::Timeval;
use oxv_abi::linux::timer::Rusage;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

use linux_raw_sys::general as raw;

const WNOHANG: i32 = raw::WNOHANG as i32;
const WUNTRACED: i32 = raw::WUNTRACED as i32;
const WSTOPPED: i32 = raw::WSTOPPED as i32;
const WEXITED: i32 = raw::WEXITED as i32;
const WCONTINUED: i32 = raw::WCONTINUED as i32;
const WNOWAIT: i32 = raw::WNOWAIT as i32;
const WNOTHREAD: i32 = raw::__WNOTHREAD as i32;
const WALL: i32 = raw::__WALL as i32;
const WCLONE: i32 = raw::__WCLONE as i32;

const P_ALL: i32 = raw::P_ALL as i32;
const P_PID: i32 = raw::P_PID as i32;
const P_PGID: i32 = raw::P_PGID as i32;
const P_PIDFD: i32 = raw::P_PIDFD as i32;

/// Which children a wait is for.
#[derive(Copy, Clone, Debug)]
enum Which {
    Any,
    Pid(i32),
    Group(i32),
}

fn matches(child: &Process, which: Which, options: i32) -> bool {
    let selected = match which {
        Which::Any => true,
        Which::Pid(pid) => child.pid == pid,
        Which::Group(pgid) => child.family.lock().pgid == pgid,
    };
    let sigchld = child.exit_signal == Some(Signal::SIGCHLD);
    selected && (options & WALL != 0 || (options & WCLONE != 0) != sigchld)
}

/// What a wait found a child to have done.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Event {
    Ended(ExitStatus),
    Stopped(Signal),
    Continued,
}

impl Event {
    /// The wait4(2) status word.
    fn wait_status(self) -> i32 {
        match self {
            Event::Ended(s) => s.wait_status(),
            Event::Stopped(sig) => ((sig.number() as i32) << 8) | 0x7f,
            Event::Continued => 0xffff,
        }
    }
}

/// A matching child with something to report (an end, or with `WUNTRACED`/`WCONTINUED` a
/// stop or continue), or `Ok(None)` if matching children exist but none has.
fn find_event(
    p: &Process,
    which: Which,
    options: i32,
) -> Result<Option<(Arc<Process>, Event)>, Errno> {
    let fam = p.family.lock();
    let mut any = false;
    for child in fam.children.values() {
        if !matches(child, which, options) {
            continue;
        }
        any = true;
        if let LifeState::Zombie(status) = *child.life.lock() {
            if options & WEXITED != 0 {
                return Ok(Some((child.clone(), Event::Ended(status))));
            }
            continue;
        }
        let event = match *child.child_event.lock() {
            Some(ChildEvent::Stopped(sig)) if options & WUNTRACED != 0 => Event::Stopped(sig),
            Some(ChildEvent::Continued) if options & WCONTINUED != 0 => Event::Continued,
            _ => continue,
        };
        return Ok(Some((child.clone(), event)));
    }
    if any { Ok(None) } else { Err(Errno::ECHILD) }
}

/// Waits as the module docs say; `consume` false leaves the event to report again
/// (`WNOWAIT`). `options` has `WEXITED` for the ends to count.
fn wait_for(
    p: &Process,
    which: Which,
    options: i32,
    consume: bool,
) -> Result<Option<(Arc<Process>, Event)>, Errno> {
    let me = sched::current();
    loop {
        // Queue first, then look: a child ending in between still wakes this thread.
        p.child_waiters.lock().push(me.clone());
        let found = find_event(p, which, options);
        let found: Option<()> = match found {
            Ok(None) if options & WNOHANG == 0 => None,
            other => {
                p.child_waiters.lock().retain(|t| *t != me);
                let other = other?;
                if let (Some((child, event)), true) = (&other, consume) {
                    match event {
                        Event::Ended(_) => reap_child(p, child),
                        _ => *child.child_event.lock() = None,
                    }
                }
                return Ok(other);
            }
        };
        debug_assert!(found.is_none());
        sched::block(None, |_, _| {});
        p.child_waiters.lock().retain(|t| *t != me);
        if crate::signal::has_deliverable(&me) || me.killed.load(Ordering::Acquire) {
            return Err(Errno::EINTR);
        }
    }
}

fn reap_child(parent: &Process, child: &Process) {
    parent.family.lock().children.remove(&child.pid);
    let ticks =
        child.cpu_ticks.load(Ordering::Relaxed) + child.children_cpu_ticks.load(Ordering::Relaxed);
    parent
        .children_cpu_ticks
        .fetch_add(ticks, Ordering::Relaxed);
    process::reap(child);
}

/// The resource usage reported for an ended child (CPU time, all as user time).
fn child_rusage(child: &Process) -> Rusage {
    let ticks = child.cpu_ticks.load(Ordering::Relaxed);
    let ns = crate::time::clock().ticks_to_ns(ticks);
    Rusage {
        ru_utime: Timeval {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
        },
        ..Rusage::default()
    }
}

/// wait4(2).
pub fn wait4(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    wstatus: UserPtr<i32>,
    options: i32,
    rusage: UserPtr<Rusage>,
) -> SysResult {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid {
        i32::MIN => return Err(Errno::ESRCH),
        -0x7fff_ffff..=-2 => Which::Group(-pid),
        -1 => Which::Any,
        0 => Which::Group(p.family.lock().pgid),
        _ => Which::Pid(pid),
    };
    let Some((child, event)) = wait_for(p, which, options | WEXITED, true)? else {
        return Ok(0);
    };
    if !wstatus.is_null() {
        wstatus.write(mem, &event.wait_status())?;
    }
    if !rusage.is_null() {
        rusage.write(mem, &child_rusage(&child))?;
    }
    Ok(child.pid as usize)
}

/// waitid(2).
pub fn waitid(
    p: &Process,
    mem: &mut dyn UserMemory,
    idtype: i32,
    id: i32,
    infop: UserPtr<SigInfo>,
    options: i32,
    rusage: UserPtr<Rusage>,
) -> SysResult {
    let known = WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WCLONE | WALL;
    if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let mut nonblocking_pidfd = false;
    let which = match idtype {
        P_ALL => Which::Any,
        P_PID if id > 0 => Which::Pid(id),
        P_PGID if id > 0 => Which::Group(id),
        P_PGID if id == 0 => Which::Group(p.family.lock().pgid),
        P_PIDFD => {
            let (file, pid, _) = super::pidfd::lookup(&p.files, id)?;
            // A non-blocking pidfd makes the wait non-blocking; nothing to report is EAGAIN.
            if file.is_nonblocking() && options & WNOHANG == 0 {
                nonblocking_pidfd = true;
            }
            Which::Pid(pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    let options = if nonblocking_pidfd {
        options | WNOHANG
    } else {
        options
    };
    let found = wait_for(p, which, options, options & WNOWAIT == 0)?;
    if found.is_none() && nonblocking_pidfd {
        return Err(Errno::EAGAIN);
    }
    let info = match &found {
        Some((child, Event::Ended(status))) => {
            crate::signal::child_info(Signal::SIGCHLD, child, *status)
        }
        Some((child, Event::Stopped(sig))) => SigInfo::from_child(
            Signal::SIGCHLD.number() as i32,
            code::CLD_STOPPED,
            child.pid,
            0,
            sig.number() as i32,
            0,
            0,
        ),
        Some((child, Event::Continued)) => SigInfo::from_child(
            Signal::SIGCHLD.number() as i32,
            code::CLD_CONTINUED,
            child.pid,
            0,
            Signal::SIGCONT.number() as i32,
            0,
            0,
        ),
        None => SigInfo::default(),
    };
    if !infop.is_null() {
        infop.write(mem, &info)?;
    }
    if let (Some((child, _)), false) = (&found, rusage.is_null()) {
        rusage.write(mem, &child_rusage(child))?;
    }
    Ok(0)
}

/// getppid(2).
pub fn getppid(p: &Process) -> SysResult {
    Ok(p.ppid.load(Ordering::Acquire) as usize)
}

/// The process `pid` names for the group and session calls (0: the caller).
fn target(p: &Process, pid: i32) -> Result<Option<Arc<Process>>, Errno> {
    match pid {
        0 => Ok(None),
        ..0 => Err(Errno::EINVAL),
        _ if pid == p.pid => Ok(None),
        _ => process::lookup(pid).map(Some).ok_or(Errno::ESRCH),
    }
}

/// getpgid(2).
pub fn getpgid(p: &Process, pid: i32) -> SysResult {
    let t = target(p, pid).map_err(|_| Errno::ESRCH)?;
    let q = t.as_deref().unwrap_or(p);
    Ok(q.family.lock().pgid as usize)
}

/// getsid(2).
pub fn getsid(p: &Process, pid: i32) -> SysResult {
    let t = target(p, pid).map_err(|_| Errno::ESRCH)?;
    let q = t.as_deref().unwrap_or(p);
    Ok(q.family.lock().sid as usize)
}

/// getpgrp(2).
pub fn getpgrp(p: &Process) -> SysResult {
    Ok(p.family.lock().pgid as usize)
}

/// setpgid(2), with Linux's checks: the target is the caller or a child of it (`ESRCH`)
/// that has not exec'd (`EACCES`) and is in the caller's session (`EPERM`); a session leader
/// cannot move (`EPERM`); the group joined must exist in the same session unless it is the
/// target's own new group (`EPERM`).
pub fn setpgid(p: &Process, pid: i32, pgid: i32) -> SysResult {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let t = target(p, pid).map_err(|_| Errno::ESRCH)?;
    let my_sid = p.family.lock().sid;
    if let Some(child) = &t {
        let fam = child.family.lock();
        if child.ppid.load(Ordering::Acquire) != p.pid {
            return Err(Errno::ESRCH);
        }
        if fam.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if fam.did_exec {
            return Err(Errno::EACCES);
        }
    }
    let q = t.as_deref().unwrap_or(p);
    let new_pgid = if pgid == 0 { q.pid } else { pgid };
    if q.family.lock().sid == q.pid {
        return Err(Errno::EPERM);
    }
    if new_pgid != q.pid {
        let exists = process::all().iter().any(|r| {
            let fam = r.family.lock();
            fam.pgid == new_pgid && fam.sid == my_sid
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    q.family.lock().pgid = new_pgid;
    Ok(0)
}

/// setsid(2): a new session and group led by the caller, unless a group with its id exists
/// (it already leads one: `EPERM`).
pub fn setsid(p: &Process) -> SysResult {
    let taken = process::all().iter().any(|q| q.family.lock().pgid == p.pid);
    if taken {
        return Err(Errno::EPERM);
    }
    let mut fam = p.family.lock();
    fam.sid = p.pid;
    fam.pgid = p.pid;
    Ok(p.pid as usize)
}
