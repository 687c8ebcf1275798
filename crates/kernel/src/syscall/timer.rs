//! The timer calls: getitimer(2), setitimer(2), alarm(2), and the POSIX timer calls
//! timer_create(2), timer_settime(2), timer_gettime(2), timer_getoverrun(2),
//! timer_delete(2). The timers themselves are in [`crate::timers`].

use crate::process;
use crate::sched;
use crate::timers::{self, FirstExpiry, Notify};
use oxv_abi::linux::signal::Signal;
use oxv_abi::linux::time::{ClockId, TIMER_ABSTIME, Timespec, Timeval};
use oxv_abi::linux::timer::*;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

const NS: u64 = 1_000_000_000;

fn to_timeval(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / NS) as i64,
        tv_usec: ((ns % NS) / 1000) as i64,
    }
}

fn to_timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NS) as i64,
        tv_nsec: (ns % NS) as i64,
    }
}

fn timeval_ns(tv: &Timeval) -> Result<u64, Errno> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok((tv.tv_sec as u64)
        .saturating_mul(NS)
        .saturating_add(tv.tv_usec as u64 * 1000))
}

fn which_index(which: i32) -> Result<usize, Errno> {
    match which {
        ITIMER_REAL | ITIMER_VIRTUAL | ITIMER_PROF => Ok(which as usize),
        _ => Err(Errno::EINVAL),
    }
}

fn itimerval(left: u64, period: u64) -> Itimerval {
    // Linux reports an armed timer with less than a microsecond left as one microsecond.
    let mut value = to_timeval(left);
    if left > 0 && value.tv_sec == 0 && value.tv_usec == 0 {
        value.tv_usec = 1;
    }
    Itimerval {
        it_interval: to_timeval(period),
        it_value: value,
    }
}

/// getitimer(2).
pub fn getitimer(mem: &mut dyn UserMemory, which: i32, curr: UserPtr<Itimerval>) -> SysResult {
    let w = which_index(which)?;
    let (left, period) = timers::get_interval(&process::current(), w);
    curr.write(mem, &itimerval(left, period))?;
    Ok(0)
}

/// setitimer(2). A null `new_value` disarms, as Linux still accepts.
pub fn setitimer(
    mem: &mut dyn UserMemory,
    which: i32,
    new: UserPtr<Itimerval>,
    old: UserPtr<Itimerval>,
) -> SysResult {
    let w = which_index(which)?;
    let new = if new.is_null() {
        Itimerval::default()
    } else {
        new.read(mem)?
    };
    let value = timeval_ns(&new.it_value)?;
    let interval = timeval_ns(&new.it_interval)?;
    let (left, period) = timers::set_interval(&process::current(), w, value, interval);
    if !old.is_null() {
        old.write(mem, &itimerval(left, period))?;
    }
    Ok(0)
}

/// alarm(2): returns the seconds left of the previous alarm, rounded to the nearest (at
/// least 1 if any time was left), as Linux does.
pub fn alarm(seconds: u32) -> SysResult {
    let (left, _) = timers::set_interval(&process::current(), 0, seconds as u64 * NS, 0);
    let mut secs = left / NS;
    if (left % NS) >= NS / 2 || (secs == 0 && left > 0) {
        secs += 1;
    }
    Ok(secs as usize)
}

fn check_clock(clockid: i32) -> Result<ClockId, Errno> {
    let c = ClockId::try_from(clockid)?;
    match c {
        ClockId::MonotonicRaw | ClockId::RealtimeCoarse | ClockId::MonotonicCoarse => {
            Err(Errno::EINVAL)
        }
        c => Ok(c),
    }
}

/// timer_create(2). A null `sevp` means SIGALRM with the timer id as the value.
pub fn timer_create(
    mem: &mut dyn UserMemory,
    clockid: i32,
    sevp: UserPtr<Sigevent>,
    timerid: UserPtr<i32>,
) -> SysResult {
    let clock = check_clock(clockid)?;
    let realtime = matches!(
        clock,
        ClockId::Realtime | ClockId::RealtimeAlarm | ClockId::Tai
    );
    // A thread CPU-time timer runs on the process's CPU time (oxv has no per-thread one).
    let cpu = matches!(clock, ClockId::ProcessCputime | ClockId::ThreadCputime);
    let notify = if sevp.is_null() {
        None
    } else {
        let ev = sevp.read(mem)?;
        Some(match ev.sigev_notify {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                let signal = Signal::try_from(ev.sigev_signo)?;
                let tid = if ev.sigev_notify == SIGEV_THREAD_ID {
                    if sched::with(|s| s.thread(ev.sigev_tid)).is_none() {
                        return Err(Errno::EINVAL);
                    }
                    Some(ev.sigev_tid)
                } else {
                    None
                };
                Notify::Signal {
                    signal,
                    tid,
                    value: ev.sigev_value,
                }
            }
            _ => return Err(Errno::EINVAL),
        })
    };
    let id = timers::create(&process::current(), realtime, cpu, |id| {
        notify.unwrap_or(Notify::Signal {
            signal: Signal::SIGALRM,
            tid: None,
            value: id as u64,
        })
    });
    if timerid.write(mem, &id).is_err() {
        timers::delete(&process::current(), id);
        return Err(Errno::EFAULT);
    }
    Ok(0)
}

fn itimerspec(left: u64, period: u64) -> Itimerspec {
    Itimerspec {
        it_interval: to_timespec(period),
        it_value: to_timespec(left),
    }
}

/// timer_settime(2).
pub fn timer_settime(
    mem: &mut dyn UserMemory,
    id: i32,
    flags: i32,
    new: UserPtr<Itimerspec>,
    old: UserPtr<Itimerspec>,
) -> SysResult {
    let realtime = timers::is_realtime(&process::current(), id).ok_or(Errno::EINVAL)?;
    if new.is_null() {
        return Err(Errno::EINVAL);
    }
    let spec = new.read(mem)?;
    let value = spec.it_value.to_nanos()?;
    let interval = spec.it_interval.to_nanos()?;
    let first = if value == 0 {
        FirstExpiry::Disarm
    } else if flags as u32 & TIMER_ABSTIME != 0 {
        // An absolute value is on the timer's clock; oxv's wall and monotonic clocks run at
        // one rate, so a realtime instant becomes a monotonic one by the offset between them.
        FirstExpiry::At(if realtime {
            crate::time::clock().realtime_to_monotonic_ns(value as i128)
        } else {
            value
        })
    } else {
        FirstExpiry::After(value)
    };
    let (left, period) =
        timers::set_posix(&process::current(), id, first, interval).ok_or(Errno::EINVAL)?;
    if !old.is_null() {
        old.write(mem, &itimerspec(left, period))?;
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn timer_gettime(mem: &mut dyn UserMemory, id: i32, curr: UserPtr<Itimerspec>) -> SysResult {
    let (left, period) = timers::get_posix(&process::current(), id).ok_or(Errno::EINVAL)?;
    curr.write(mem, &itimerspec(left, period))?;
    Ok(0)
}

/// timer_getoverrun(2).
pub fn timer_getoverrun(id: i32) -> SysResult {
    timers::overrun(&process::current(), id)
        .map(|n| n as usize)
        .ok_or(Errno::EINVAL)
}

/// timer_delete(2).
pub fn timer_delete(id: i32) -> SysResult {
    if timers::delete(&process::current(), id) {
        Ok(0)
    } else {
        Err(Errno::EINVAL)
    }
}
