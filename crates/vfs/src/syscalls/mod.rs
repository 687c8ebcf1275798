//! The file system calls, one family per module. Each public function is the handler the
//! kernel routes a decoded syscall to: it takes the raw integers and user pointers the
//! decoder produced, plus the process state it needs ([`FsContext`], [`FdTable`], the
//! [`oxv_abi::UserMemory`]), and returns a [`oxv_abi::SysResult`].
//!
//! Handlers check errors in the order Linux does for that call (the module docs say where
//! that is subtle), copy each user argument in once, and leave the logic to functions on
//! typed values that the kernel may also call (`open_at`, ...).
//!
//! Common rules, as in Linux:
//!
//! - an fd that is not open is `EBADF`; an `O_PATH` fd is `EBADF` for anything but fstat(2),
//!   fcntl(2), dup(2), close(2), fchdir(2) and use as a dirfd;
//! - a dirfd is ignored for absolute paths; for relative ones it must be `AT_FDCWD` or an fd
//!   opened on a directory (`ENOTDIR` otherwise);
//! - a buffer outside the user half is `EFAULT` before anything else is done with it; a
//!   buffer that is merely unmapped faults when the copy happens;
//! - reads and writes are clamped to `MAX_RW_COUNT` bytes.

pub mod access;
pub mod chmod;
pub mod chown;
pub mod cwd;
pub mod dup;
pub mod epoll;
pub mod eventfd;
pub mod fallocate;
pub mod fcntl;
pub mod getdents;
pub mod inotify;
pub mod ioctl;
pub mod link;
pub mod lock;
pub mod lseek;
pub mod memfd;
pub mod mkdir;
pub mod open;
pub mod openat2;
pub mod pipe;
pub mod poll;
pub mod read_write;
pub mod readlink;
pub mod rename;
pub mod select;
pub mod sendfile;
mod setattr;
pub mod signalfd;
pub mod splice;
pub mod stat;
pub mod statfs;
pub mod sync;
pub mod timerfd;
pub mod truncate;
pub mod umask;
pub mod unlink;
pub mod utimes;
pub mod xattr;

#[cfg(test)]
mod tests;

use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::mount::Location;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::user::{PATH_MAX, read_path};
use oxv_abi::{Errno, UserBuf, UserCStr, UserMemory};

/// Copies a path argument in: `EFAULT`, or `ENAMETOOLONG` if it has `PATH_MAX` bytes or more.
/// Empty paths are returned empty.
pub(crate) fn copy_path(mem: &dyn UserMemory, path: UserCStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; PATH_MAX];
    let arr: &mut [u8; PATH_MAX] = (&mut buf[..])
        .try_into()
        .expect("the buffer has PATH_MAX bytes");
    let n = read_path(mem, path, arr)?.len();
    buf.truncate(n);
    Ok(buf)
}

/// Like [`copy_path`], but an empty path is `ENOENT` (every call without `AT_EMPTY_PATH`).
pub(crate) fn copy_nonempty_path(mem: &dyn UserMemory, path: UserCStr) -> Result<Vec<u8>, Errno> {
    let p = copy_path(mem, path)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// `EFAULT` unless the buffer lies in the user half (Linux's `access_ok`).
pub(crate) fn check_user_range(buf: UserBuf) -> Result<(), Errno> {
    if buf.addr.range_is_user(buf.len as u64) {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// The open file for an I/O call: `EBADF` if `fd` is not open or is an `O_PATH` fd.
pub(crate) fn io_file(files: &FdTable, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let file = files.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(file)
}

/// The location a dirfd names: the cwd for `AT_FDCWD`, else the fd's location.
/// `EBADF` for a closed fd; `ENOTDIR` for an fd without a location, or (unless `path` is empty,
/// for `AT_EMPTY_PATH`) one that is not a directory.
pub(crate) fn dirfd_location(
    cx: &FsContext,
    files: &FdTable,
    dirfd: i32,
    path: &[u8],
) -> Result<Location, Errno> {
    if dirfd == AT_FDCWD {
        return Ok(cx.cwd());
    }
    let file = files.get(dirfd)?;
    let loc = file.location().ok_or(Errno::ENOTDIR)?.clone();
    if !path.is_empty() && !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc)
}

/// Where a walk of `path` starts: the process root for absolute paths (the dirfd is not even
/// looked at), else the dirfd's location.
pub(crate) fn start_of(
    cx: &FsContext,
    files: &FdTable,
    dirfd: i32,
    path: &[u8],
) -> Result<Location, Errno> {
    if path.first() == Some(&b'/') {
        Ok(cx.root())
    } else {
        dirfd_location(cx, files, dirfd, path)
    }
}

/// Resolves `path` relative to `dirfd` (`follow_last`: follow a final symlink).
pub(crate) fn lookup_at(
    cx: &FsContext,
    files: &FdTable,
    dirfd: i32,
    path: &[u8],
    follow_last: bool,
) -> Result<Location, Errno> {
    let start = start_of(cx, files, dirfd, path)?;
    cx.walker().resolve(&start, path, follow_last)
}
