//! utimensat(2), utime(2), utimes(2), futimesat(2): set a file's access and modification
//! times (ctime always becomes now), for oxv's single user, root.
//!
//! As Linux's `fs/utimes.c`:
//!
//! - utimensat copies `times` in first (`EFAULT`); if both are `UTIME_OMIT` it returns 0 at
//!   once, without even looking at the path or the fd. A null `pathname` with a dirfd other
//!   than `AT_FDCWD` means the fd itself (futimens(3)): then any flag is `EINVAL` and the fd
//!   must not be `O_PATH` (`EBADF`). Otherwise flags other than `AT_SYMLINK_NOFOLLOW |
//!   AT_EMPTY_PATH` are `EINVAL`, then the path walk (a null path is `EFAULT`), then
//!   nanoseconds outside `[0, 999999999]` that are neither `UTIME_NOW` nor `UTIME_OMIT` are
//!   `EINVAL`, then `EROFS`.
//! - utimes and futimesat take `struct timeval`s: microseconds outside `[0, 999999]` are
//!   `EINVAL` before the path is looked at; utime takes whole seconds. A null `times` means
//!   "now" for both times.

use super::setattr::{self, Target};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::SetAttr;
use crate::time::Timestamp;
use linux_raw_sys::general::{UTIME_NOW, UTIME_OMIT};
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags};
use oxv_abi::linux::time::{Timespec, Timeval};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory, UserPtr};

const NOW: i64 = UTIME_NOW as i64;
const OMIT: i64 = UTIME_OMIT as i64;

/// utimensat(2).
pub fn utimensat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    times: UserPtr<[Timespec; 2]>,
    flags: u32,
) -> SysResult {
    let times = if times.is_null() {
        None
    } else {
        let t = times.read(mem)?;
        if t[0].tv_nsec == OMIT && t[1].tv_nsec == OMIT {
            return Ok(0);
        }
        Some(t)
    };
    set_times(cx, files, mem, dirfd, path, times, flags)
}

/// utime(2): `times` is a `struct utimbuf` of whole seconds (access, modification).
pub fn utime(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    times: UserPtr<[i64; 2]>,
) -> SysResult {
    let times = if times.is_null() {
        None
    } else {
        let [a, m] = times.read(mem)?;
        Some([a, m].map(|s| Timespec {
            tv_sec: s,
            tv_nsec: 0,
        }))
    };
    set_times(cx, files, mem, AT_FDCWD, path, times, 0)
}

/// utimes(2).
pub fn utimes(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    times: UserPtr<[Timeval; 2]>,
) -> SysResult {
    futimesat(cx, files, mem, AT_FDCWD, path, times)
}

/// futimesat(2).
pub fn futimesat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    times: UserPtr<[Timeval; 2]>,
) -> SysResult {
    let times = if times.is_null() {
        None
    } else {
        let t = times.read(mem)?;
        if t.iter().any(|tv| !(0..1_000_000).contains(&tv.tv_usec)) {
            return Err(Errno::EINVAL);
        }
        Some(t.map(|tv| Timespec {
            tv_sec: tv.tv_sec,
            tv_nsec: tv.tv_usec * 1000,
        }))
    };
    set_times(cx, files, mem, dirfd, path, times, 0)
}

/// Linux's `do_utimes`: the fd form for a null path with a real dirfd, else the path form.
fn set_times(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    times: Option<[Timespec; 2]>,
    flags: u32,
) -> SysResult {
    let target = if path.0.is_null() && dirfd != AT_FDCWD {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        setattr::of_fd(files, dirfd)?
    } else {
        if flags & !(AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH).bits() != 0 {
            return Err(Errno::EINVAL);
        }
        let flags = AtFlags::from_bits_retain(flags);
        setattr::at_path(
            cx,
            files,
            mem,
            dirfd,
            path,
            !flags.contains(AtFlags::SYMLINK_NOFOLLOW),
            flags.contains(AtFlags::EMPTY_PATH),
        )?
    };
    apply_times(cx, &target, times)
}

/// Linux's `vfs_utimes`.
fn apply_times(cx: &FsContext, target: &Target, times: Option<[Timespec; 2]>) -> SysResult {
    let valid = |ns: i64| ns == NOW || ns == OMIT || (0..1_000_000_000).contains(&ns);
    if let Some(t) = &times
        && !(valid(t[0].tv_nsec) && valid(t[1].tv_nsec))
    {
        return Err(Errno::EINVAL);
    }
    let now = cx.vfs().now();
    let pick = |t: Option<&Timespec>| match t {
        None => Some(now),
        Some(t) if t.tv_nsec == NOW => Some(now),
        Some(t) if t.tv_nsec == OMIT => None,
        Some(t) => Some(Timestamp {
            secs: t.tv_sec,
            nanos: t.tv_nsec as u32,
        }),
    };
    let (atime, mtime) = (
        pick(times.as_ref().map(|t| &t[0])),
        pick(times.as_ref().map(|t| &t[1])),
    );
    setattr::apply(target, |_| SetAttr {
        atime,
        mtime,
        ctime: now,
        ..SetAttr::default()
    })
}
