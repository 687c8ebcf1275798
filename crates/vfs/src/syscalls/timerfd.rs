//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2). The file is
//! [`crate::timerfd`]; the embedder's [`TimerFdClock`] arms the timers.
//!
//! Error order, as Linux's `fs/timerfd.c`:
//!
//! - create: flags other than `TFD_CLOEXEC`/`TFD_NONBLOCK`, or a clock other than
//!   `CLOCK_REALTIME`, `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME` and their `_ALARM` forms, are
//!   `EINVAL`;
//! - settime: the new value is copied in (`EFAULT`); flags other than `TFD_TIMER_ABSTIME` and
//!   `TFD_TIMER_CANCEL_ON_SET`, or an invalid time, are `EINVAL`; then `EBADF`, then `EINVAL`
//!   if the fd is not a timerfd; the old value is copied out last (`EFAULT`, with the timer
//!   already set);
//! - gettime: `EBADF`, `EINVAL` if not a timerfd, then `EFAULT`.
//!
//! `TFD_TIMER_CANCEL_ON_SET` is accepted; oxv's wall clock is never set, so reads are never
//! `ECANCELED`.

use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::timerfd::{
    FirstExpiry, TFD_CLOEXEC, TFD_NONBLOCK, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET, TimerClock,
    TimerFd, TimerFdClock, TimerSetting,
};
use alloc::sync::Arc;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::time::Timespec;
use oxv_abi::linux::timer::Itimerspec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// timerfd_create(2).
pub fn timerfd_create(
    files: &FdTable,
    timers: &Arc<dyn TimerFdClock>,
    blocker: &Arc<dyn Blocker>,
    clockid: i32,
    flags: u32,
) -> SysResult {
    if flags & !(TFD_CLOEXEC | TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let clock = TimerClock::from_clockid(clockid).ok_or(Errno::EINVAL)?;
    let tfd = TimerFd::new(clock, timers.clone(), blocker.clone());
    let status = OpenFlags::RDWR | (OpenFlags::from_bits_retain(flags) & OpenFlags::NONBLOCK);
    let file = OpenFile::new_pseudo(tfd, status);
    Ok(files.insert(file, flags & TFD_CLOEXEC != 0)? as usize)
}

fn timerfd_of(files: &FdTable, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let file = super::io_file(files, fd)?;
    if TimerFd::of(&file).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

fn to_itimerspec(s: TimerSetting) -> Itimerspec {
    Itimerspec {
        it_interval: Timespec::from_nanos(s.interval_ns),
        it_value: Timespec::from_nanos(s.value_ns),
    }
}

/// timerfd_settime(2).
pub fn timerfd_settime(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    flags: i32,
    new_value: UserPtr<Itimerspec>,
    old_value: UserPtr<Itimerspec>,
) -> SysResult {
    let new = new_value.read(mem)?;
    if flags as u32 & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let value = new.it_value.to_nanos()?;
    let interval = new.it_interval.to_nanos()?;
    let file = timerfd_of(files, fd)?;
    let tfd = TimerFd::of(&file).expect("timerfd_of checked the kind");
    let first = if value == 0 {
        FirstExpiry::Disarm
    } else if flags as u32 & TFD_TIMER_ABSTIME != 0 {
        FirstExpiry::At(value)
    } else {
        FirstExpiry::After(value)
    };
    tfd.clear();
    let old = tfd.backend().set(tfd, first, interval);
    if !old_value.is_null() {
        old_value.write(mem, &to_itimerspec(old))?;
    }
    Ok(0)
}

/// timerfd_gettime(2).
pub fn timerfd_gettime(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    curr_value: UserPtr<Itimerspec>,
) -> SysResult {
    let file = timerfd_of(files, fd)?;
    let tfd = TimerFd::of(&file).expect("timerfd_of checked the kind");
    let now = tfd.backend().get(tfd.id());
    curr_value.write(mem, &to_itimerspec(now))?;
    Ok(0)
}
