//! clock_gettime(2), clock_getres(2), gettimeofday(2), time(2), nanosleep(2) and
//! clock_nanosleep(2).
//!
//! The handlers never read hardware: the embedder passes the [`TscClock`], the counter value
//! it just read (`now_ticks`) and, for the CPU-time clocks, the CPU time it accounted
//! (`cpu_ns`). Sleeping goes through the embedder's [`Sleeper`].
//!
//! How oxv's clocks map to Linux's (clock_gettime(2)):
//!
//! | clock | value |
//! | --- | --- |
//! | `REALTIME`, `REALTIME_ALARM`, `TAI` | wall time (TAI offset 0, Linux's default until NTP sets one) |
//! | `MONOTONIC`, `MONOTONIC_RAW`, `BOOTTIME`, `BOOTTIME_ALARM` | time since boot (a VM that is never suspended has no gap) |
//! | `REALTIME_COARSE`, `MONOTONIC_COARSE` | the same, rounded down to the last 4 ms tick |
//! | `PROCESS_CPUTIME_ID`, `THREAD_CPUTIME_ID` | `cpu_ns` |
//!
//! Where oxv differs from Linux (and why):
//!
//! - Negative clock ids (the CPU clocks of `clock_getcpuclockid(3)` and
//!   `pthread_getcpuclockid(3)`, dynamic posix clocks) are `EINVAL`; oxv has neither.
//! - clock_nanosleep(2) on `CLOCK_PROCESS_CPUTIME_ID` validates like Linux and then returns
//!   `EOPNOTSUPP` instead of sleeping until the process has used that much CPU (POSIX allows
//!   `ENOTSUP` here). `CLOCK_THREAD_CPUTIME_ID` is `EOPNOTSUPP` on Linux too.
//! - An absolute sleep on a wall clock becomes a monotonic deadline when it starts; if the
//!   wall clock is set meanwhile, Linux moves the wake-up and oxv does not.
//! - An interrupted sleep returns `EINTR`. Linux returns a restart code that becomes `EINTR`
//!   when a handler runs and restarts the sleep otherwise; that choice belongs to the signal
//!   path, which does not exist yet.
//! - The `_ALARM` clocks behave as if an RTC with wake-up alarms were present (QEMU's CMOS
//!   RTC is one); the app runs as root, so `CAP_WAKE_ALARM` holds.

use crate::clock::{NSEC_PER_SEC, TscClock, split_ns};
pub use crate::sleep::{Interrupted, Sleeper};
use oxv_abi::linux::time::{ClockId, TIMER_ABSTIME, Timespec, Timeval, Timezone};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// The resolution clock_getres(2) reports for the high-resolution clocks: Linux's
/// `hrtimer_resolution` with high-resolution timers on.
pub const HIGH_RES_NS: u64 = 1;

/// The resolution of the `_COARSE` clocks: Linux's tick (`TICK_NSEC`) at `CONFIG_HZ=250`, the
/// common distribution setting.
pub const COARSE_RES_NS: u64 = NSEC_PER_SEC / 250;

/// The latest time Linux's timers can represent (`KTIME_MAX`, about 292 years after boot);
/// later deadlines are clamped to it.
pub const KTIME_MAX_NS: u64 = i64::MAX as u64;

/// The value of clock `id` in nanoseconds (since the epoch for wall clocks, since boot for
/// the others), at counter value `now_ticks`, with `cpu_ns` as the CPU time.
pub fn clock_ns(clock: &TscClock, now_ticks: u64, cpu_ns: u64, id: ClockId) -> i128 {
    let mono = clock.monotonic_ns(now_ticks);
    // The coarse clocks read the time at the last tick, so they never run ahead of the
    // precise ones.
    let since_tick = mono % COARSE_RES_NS;
    match id {
        ClockId::Realtime | ClockId::RealtimeAlarm | ClockId::Tai => clock.realtime_ns(now_ticks),
        ClockId::RealtimeCoarse => clock.realtime_ns(now_ticks) - since_tick as i128,
        ClockId::Monotonic | ClockId::MonotonicRaw | ClockId::Boottime | ClockId::BoottimeAlarm => {
            mono as i128
        }
        ClockId::MonotonicCoarse => (mono - since_tick) as i128,
        ClockId::ProcessCputime | ClockId::ThreadCputime => cpu_ns as i128,
    }
}

/// The resolution clock_getres(2) reports for `id`.
pub const fn resolution_ns(id: ClockId) -> u64 {
    match id {
        ClockId::RealtimeCoarse | ClockId::MonotonicCoarse => COARSE_RES_NS,
        _ => HIGH_RES_NS,
    }
}

fn timespec(ns: i128) -> Timespec {
    let (tv_sec, tv_nsec) = split_ns(ns);
    Timespec { tv_sec, tv_nsec }
}

/// clock_gettime(2): writes the time of `clockid` to `tp`.
///
/// Linux's order: an unknown clock is `EINVAL` before `tp` is touched; then `tp` is written
/// (`EFAULT`).
pub fn clock_gettime(
    clock: &TscClock,
    now_ticks: u64,
    cpu_ns: u64,
    mem: &mut dyn UserMemory,
    clockid: i32,
    tp: UserPtr<Timespec>,
) -> SysResult {
    let id = ClockId::try_from(clockid)?;
    tp.write(mem, &timespec(clock_ns(clock, now_ticks, cpu_ns, id)))?;
    Ok(0)
}

/// clock_getres(2): writes the resolution of `clockid` to `res`, which may be null.
///
/// Linux's order: an unknown clock is `EINVAL`; then `res` is written if not null (`EFAULT`).
pub fn clock_getres(mem: &mut dyn UserMemory, clockid: i32, res: UserPtr<Timespec>) -> SysResult {
    let id = ClockId::try_from(clockid)?;
    if !res.is_null() {
        res.write(mem, &Timespec::from_nanos(resolution_ns(id)))?;
    }
    Ok(0)
}

/// gettimeofday(2): writes the wall time to `tv` and zeros (Linux's default `sys_tz`) to `tz`.
/// Either may be null; `tv` is written before `tz`, and a fault in either is `EFAULT`.
pub fn gettimeofday(
    clock: &TscClock,
    now_ticks: u64,
    mem: &mut dyn UserMemory,
    tv: UserPtr<Timeval>,
    tz: UserPtr<Timezone>,
) -> SysResult {
    if !tv.is_null() {
        let (tv_sec, nsec) = split_ns(clock.realtime_ns(now_ticks));
        tv.write(
            mem,
            &Timeval {
                tv_sec,
                tv_usec: nsec / 1000,
            },
        )?;
    }
    if !tz.is_null() {
        tz.write(mem, &Timezone::default())?;
    }
    Ok(0)
}

/// time(2): returns the wall time in whole seconds and also stores it at `tloc` unless null
/// (`EFAULT` if that fails).
pub fn time(
    clock: &TscClock,
    now_ticks: u64,
    mem: &mut dyn UserMemory,
    tloc: UserPtr<i64>,
) -> SysResult {
    let (secs, _) = split_ns(clock.realtime_ns(now_ticks));
    if !tloc.is_null() {
        tloc.write(mem, &secs)?;
    }
    // Linux returns the value as is: the register holds it two's-complement.
    Ok(secs as u64 as usize)
}

/// nanosleep(2): sleeps for the relative time at `req` on `CLOCK_MONOTONIC`.
///
/// Linux's order: `req` is copied in (`EFAULT`); a negative `tv_sec` or a `tv_nsec` outside
/// `0..1e9` is `EINVAL`; then the thread sleeps. If a signal interrupts it while time is
/// left, the rest is written to `rem` unless null (`EFAULT` if that fails) and the call
/// fails with `EINTR`. Interrupted with no time left and `rem` given, it succeeds.
pub fn nanosleep(
    clock: &TscClock,
    now_ticks: u64,
    sleeper: &dyn Sleeper,
    mem: &mut dyn UserMemory,
    req: UserPtr<Timespec>,
    rem: UserPtr<Timespec>,
) -> SysResult {
    let req_ns = req.read(mem)?.to_nanos()?;
    let deadline = relative_deadline(clock.monotonic_ns(now_ticks), req_ns);
    sleep_until(sleeper, mem, deadline, rem)
}

/// clock_nanosleep(2): sleeps on `clockid` until the absolute time at `req` (with
/// `TIMER_ABSTIME` in `flags`) or for the relative time at `req`.
///
/// Linux's order:
///
/// 1. an unknown clock is `EINVAL`;
/// 2. a clock that cannot be slept on (`MONOTONIC_RAW`, the `_COARSE` clocks,
///    `THREAD_CPUTIME_ID`) is `EOPNOTSUPP`;
/// 3. `req` is copied in (`EFAULT`) and checked as in nanosleep(2) (`EINVAL`);
/// 4. for the `_ALARM` clocks only, a flag other than `TIMER_ABSTIME` is `EINVAL` (the other
///    clocks ignore unknown flags);
/// 5. the thread sleeps (oxv: `PROCESS_CPUTIME_ID` is `EOPNOTSUPP` here, see the module doc).
///
/// A relative sleep reports an interruption like nanosleep(2). An absolute one ignores
/// `rem` and returns `EINTR`.
#[allow(clippy::too_many_arguments)] // the call's four arguments plus the embedder's three
pub fn clock_nanosleep(
    clock: &TscClock,
    now_ticks: u64,
    sleeper: &dyn Sleeper,
    mem: &mut dyn UserMemory,
    clockid: i32,
    flags: u32,
    req: UserPtr<Timespec>,
    rem: UserPtr<Timespec>,
) -> SysResult {
    let id = ClockId::try_from(clockid)?;
    if matches!(
        id,
        ClockId::MonotonicRaw
            | ClockId::RealtimeCoarse
            | ClockId::MonotonicCoarse
            | ClockId::ThreadCputime
    ) {
        return Err(Errno::EOPNOTSUPP);
    }
    let req_ns = req.read(mem)?.to_nanos()?;
    if matches!(id, ClockId::RealtimeAlarm | ClockId::BoottimeAlarm) && flags & !TIMER_ABSTIME != 0
    {
        return Err(Errno::EINVAL);
    }
    if id == ClockId::ProcessCputime {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & TIMER_ABSTIME == 0 {
        let deadline = relative_deadline(clock.monotonic_ns(now_ticks), req_ns);
        return sleep_until(sleeper, mem, deadline, rem);
    }
    let deadline = if id.is_wall_clock() {
        clock.realtime_to_monotonic_ns(req_ns as i128)
    } else {
        req_ns
    };
    sleep_until(sleeper, mem, deadline.min(KTIME_MAX_NS), UserPtr::new(0))
}

/// `now + req`, clamped like Linux's `ktime_add_safe`.
fn relative_deadline(now_ns: u64, req_ns: u64) -> u64 {
    now_ns.saturating_add(req_ns).min(KTIME_MAX_NS)
}

/// Sleeps until `deadline` (monotonic); on interruption with time left, writes the rest to
/// `rem` unless null and fails with `EINTR` (Linux's `do_nanosleep` and `nanosleep_copyout`).
fn sleep_until(
    sleeper: &dyn Sleeper,
    mem: &mut dyn UserMemory,
    deadline: u64,
    rem: UserPtr<Timespec>,
) -> SysResult {
    match sleeper.sleep_until_ns(deadline) {
        Ok(()) => Ok(0),
        Err(Interrupted { now_monotonic_ns }) => {
            if rem.is_null() {
                return Err(Errno::EINTR);
            }
            // Linux reports success when the timer ran out as the signal came in, but only
            // when it would have had a remaining time to write.
            let left = deadline.saturating_sub(now_monotonic_ns);
            if left == 0 {
                return Ok(0);
            }
            rem.write(mem, &Timespec::from_nanos(left))?;
            Err(Errno::EINTR)
        }
    }
}

#[cfg(test)]
mod tests;
