//! dup(2), dup2(2), dup3(2), close_range(2).
//!
//! The new fd shares the open file (offset, status flags) and never has `FD_CLOEXEC`, except
//! with dup3's `O_CLOEXEC`. As Linux: dup takes the lowest free fd (`EMFILE`); dup2 onto an
//! open fd closes it first, atomically, and dup2 of an fd onto itself returns it if it is open;
//! a target fd at or above `RLIMIT_NOFILE` is `EBADF`. dup3 refuses flags other than
//! `O_CLOEXEC` and equal fds with `EINVAL`, before looking at the fds.
//!
//! close_range closes (or with `CLOSE_RANGE_CLOEXEC` marks close-on-exec) every open fd from
//! `first` to `last`; unknown flags or `first > last` are `EINVAL`. `CLOSE_RANGE_UNSHARE`
//! (unshare the table first) is accepted and does nothing more: the caller's threads keep
//! sharing the table.

use crate::fd_table::FdTable;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::{Errno, SysResult};

/// dup(2).
pub fn dup(files: &FdTable, fd: i32) -> SysResult {
    let file = files.get(fd)?;
    Ok(files.insert(file, false)? as usize)
}

/// dup2(2).
pub fn dup2(files: &FdTable, oldfd: i32, newfd: i32) -> SysResult {
    if oldfd == newfd {
        files.get(oldfd)?;
        return Ok(newfd as usize);
    }
    install(files, oldfd, newfd, false)
}

/// dup3(2).
pub fn dup3(files: &FdTable, oldfd: i32, newfd: i32, flags: u32) -> SysResult {
    if flags & !OpenFlags::CLOEXEC.bits() != 0 || oldfd == newfd {
        return Err(Errno::EINVAL);
    }
    install(files, oldfd, newfd, flags != 0)
}

fn install(files: &FdTable, oldfd: i32, newfd: i32, cloexec: bool) -> SysResult {
    if newfd < 0 || newfd as usize >= files.limit() {
        return Err(Errno::EBADF);
    }
    let file = files.get(oldfd)?;
    let replaced = files.install(newfd, file, cloexec)?;
    drop(replaced);
    Ok(newfd as usize)
}

/// `CLOSE_RANGE_UNSHARE` (<linux/close_range.h>, not in linux-raw-sys).
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
/// `CLOSE_RANGE_CLOEXEC`.
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// close_range(2).
pub fn close_range(files: &FdTable, first: u32, last: u32, flags: u32) -> SysResult {
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_CLOEXEC != 0 {
        files.set_cloexec_range(first, last);
    } else {
        drop(files.remove_range(first, last));
    }
    Ok(0)
}
