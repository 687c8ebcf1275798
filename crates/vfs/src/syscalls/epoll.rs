//! epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2) and the mask-less halves of
//! epoll_pwait(2) and epoll_pwait2(2). The instance itself is [`crate::epoll`].
//!
//! Error order, as Linux's `fs/eventpoll.c`:
//!
//! - epoll_create: `size <= 0` is `EINVAL`; epoll_create1: flags other than `EPOLL_CLOEXEC`
//!   are `EINVAL`;
//! - epoll_ctl: the event is copied in first unless the op is `EPOLL_CTL_DEL` (`EFAULT`);
//!   then `EBADF` for either fd, `EPERM` if the target cannot be polled, `EINVAL` if `epfd`
//!   is not an epoll fd or is the target itself, `EINVAL` for a bad `EPOLLEXCLUSIVE`, `ELOOP`
//!   for nesting, then `EEXIST`/`ENOENT`, and `EINVAL` for an unknown op;
//! - epoll_wait: `maxevents` outside `1..=EP_MAX_EVENTS` is `EINVAL`, a buffer outside the
//!   user half `EFAULT`, then `EBADF`, then `EINVAL` if not an epoll fd. A fault while copying
//!   events out returns the events copied so far, or `EFAULT` if none. A signal ends the wait
//!   with `EINTR`, which is never restarted (epoll_wait(2): "never restarted").
//!
//! The signal-mask variants: the kernel reads the timeout (epoll_pwait2:
//! [`pwait2_timeout`]), swaps the mask, then calls [`epoll_wait_until`].

use super::check_user_range;
use crate::blocker::Blocker;
use crate::epoll::{
    Ctl, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, Epoll, EpollEvent, MAX_EVENTS,
};
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use core::mem::size_of;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserAddr, UserBuf, UserMemory, UserPtr};
use zerocopy::IntoBytes;

/// epoll_create(2).
pub fn epoll_create(files: &FdTable, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    epoll_create1(files, 0)
}

/// epoll_create1(2).
pub fn epoll_create1(files: &FdTable, flags: u32) -> SysResult {
    if flags & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let file = OpenFile::new_pseudo(Epoll::new(), OpenFlags::RDWR);
    Ok(files.insert(file, flags & EPOLL_CLOEXEC != 0)? as usize)
}

/// An fd for epoll_ctl/epoll_wait: `EBADF` if not open or an `O_PATH` fd.
fn fd_file(files: &FdTable, fd: i32) -> Result<alloc::sync::Arc<OpenFile>, Errno> {
    super::io_file(files, fd)
}

/// epoll_ctl(2).
pub fn epoll_ctl(
    files: &FdTable,
    mem: &dyn UserMemory,
    epfd: i32,
    op: i32,
    fd: i32,
    event: UserPtr<EpollEvent>,
) -> SysResult {
    let ev = if op != EPOLL_CTL_DEL {
        Some(event.read(mem)?)
    } else {
        None
    };
    let ep_file = fd_file(files, epfd)?;
    let target = fd_file(files, fd)?;
    if target.ops().poll_queue().is_none() {
        return Err(Errno::EPERM);
    }
    let ep = Epoll::of(&ep_file).ok_or(Errno::EINVAL)?;
    if alloc::sync::Arc::ptr_eq(&ep_file, &target) {
        return Err(Errno::EINVAL);
    }
    let ctl = match (op, ev) {
        (EPOLL_CTL_ADD, Some(ev)) => Ctl::Add(ev),
        (EPOLL_CTL_MOD, Some(ev)) => Ctl::Mod(ev),
        (EPOLL_CTL_DEL, _) => Ctl::Del,
        (_, Some(ev)) => {
            // Linux checks EPOLLEXCLUSIVE before it finds the op unknown; both are EINVAL.
            let _ = ev;
            return Err(Errno::EINVAL);
        }
        (_, None) => return Err(Errno::EINVAL),
    };
    ep.ctl(fd, &target, ctl)?;
    Ok(0)
}

/// epoll_wait(2); `timeout_ms < 0` waits forever.
pub fn epoll_wait(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    epfd: i32,
    events: UserAddr,
    maxevents: i32,
    timeout_ms: i32,
) -> SysResult {
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| blocker.now_ns().saturating_add(ms * 1_000_000));
    epoll_wait_until(files, mem, blocker, epfd, events, maxevents, deadline)
}

/// epoll_pwait2's timeout in nanoseconds (`None` for a null pointer): `EFAULT`, or `EINVAL`
/// for an invalid one.
pub fn pwait2_timeout(
    mem: &dyn UserMemory,
    timeout: UserPtr<Timespec>,
) -> Result<Option<u64>, Errno> {
    super::poll::ppoll_timeout(mem, timeout)
}

/// epoll_pwait2(2) without the signal mask, with its timeout read by [`pwait2_timeout`].
pub fn epoll_pwait2(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    epfd: i32,
    events: UserAddr,
    maxevents: i32,
    rel_ns: Option<u64>,
) -> SysResult {
    let deadline = rel_ns.map(|ns| blocker.now_ns().saturating_add(ns));
    epoll_wait_until(files, mem, blocker, epfd, events, maxevents, deadline)
}

/// The common part of the epoll_wait family, with a monotonic deadline (`None`: forever).
pub fn epoll_wait_until(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    epfd: i32,
    events: UserAddr,
    maxevents: i32,
    deadline: Option<u64>,
) -> SysResult {
    if maxevents <= 0 || maxevents > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let size = maxevents as u64 * size_of::<EpollEvent>() as u64;
    check_user_range(UserBuf::new(events.get(), size))?;
    let file = fd_file(files, epfd)?;
    let ep = Epoll::of(&file).ok_or(Errno::EINVAL)?;
    let got = ep.wait(blocker, maxevents as usize, deadline)?;
    for (i, ev) in got.iter().enumerate() {
        let at = events.get() + (i * size_of::<EpollEvent>()) as u64;
        if mem.copy_out(UserAddr::new(at), ev.as_bytes()).is_err() {
            return if i == 0 { Err(Errno::EFAULT) } else { Ok(i) };
        }
    }
    Ok(got.len())
}
