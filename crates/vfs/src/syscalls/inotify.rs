//! inotify_init(2), inotify_init1(2), inotify_add_watch(2), inotify_rm_watch(2). The watches
//! and events are [`crate::inotify`].
//!
//! As Linux: inotify_init1's flags are `IN_CLOEXEC` and `IN_NONBLOCK` (others `EINVAL`); the
//! file is read-only. inotify_add_watch checks its mask before the fd (`EINVAL` for
//! `IN_MASK_ADD | IN_MASK_CREATE`, bits outside the inotify set, or none of them), then
//! `EBADF`, `EINVAL` for an fd that is not an inotify instance, then the path (following a
//! final symlink unless `IN_DONT_FOLLOW`; `ENOTDIR` with `IN_ONLYDIR` on a non-directory);
//! watching an inode again returns the same wd with the mask replaced, or extended with
//! `IN_MASK_ADD` (`EEXIST` with `IN_MASK_CREATE`). inotify_rm_watch of an unknown wd is
//! `EINVAL`.

use super::{copy_nonempty_path, start_of};
use crate::blocker::Blocker;
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::inotify::{IN_CLOEXEC, IN_NONBLOCK, Inotify, mask};
use alloc::sync::Arc;
use oxv_abi::linux::fs::{AT_FDCWD, OpenFlags};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// Linux's `ALL_INOTIFY_BITS`: what inotify_add_watch's mask may hold.
const ALL_INOTIFY_BITS: u32 = mask::ALL_EVENTS
    | linux_raw_sys::general::IN_UNMOUNT
    | mask::Q_OVERFLOW
    | mask::IGNORED
    | mask::ONLYDIR
    | mask::DONT_FOLLOW
    | mask::EXCL_UNLINK
    | mask::MASK_ADD
    | mask::MASK_CREATE
    | mask::ISDIR
    | mask::ONESHOT;

/// inotify_init(2).
pub fn inotify_init(cx: &FsContext, files: &FdTable, blocker: &Arc<dyn Blocker>) -> SysResult {
    inotify_init1(cx, files, blocker, 0)
}

/// inotify_init1(2).
pub fn inotify_init1(
    cx: &FsContext,
    files: &FdTable,
    blocker: &Arc<dyn Blocker>,
    flags: u32,
) -> SysResult {
    if flags & !(IN_CLOEXEC | IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = Inotify::new(cx.vfs().watches().clone(), blocker.clone());
    let status = OpenFlags::from_bits_retain(flags) & OpenFlags::NONBLOCK;
    let file = OpenFile::new_pseudo(ops, status);
    Ok(files.insert(file, flags & IN_CLOEXEC != 0)? as usize)
}

/// The inotify instance open as `fd`: `EBADF`, or `EINVAL` for another kind of file.
fn instance(files: &FdTable, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let file = files.get(fd)?;
    if file
        .ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<Inotify>())
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

fn inotify_of(file: &OpenFile) -> &Inotify {
    file.ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<Inotify>())
        .expect("instance() checked the kind")
}

/// inotify_add_watch(2).
pub fn inotify_add_watch(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    path: UserCStr,
    m: u32,
) -> SysResult {
    if m & mask::MASK_ADD != 0 && m & mask::MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if m & !ALL_INOTIFY_BITS != 0 || m & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    let file = instance(files, fd)?;
    let path = copy_nonempty_path(mem, path)?;
    let start = start_of(cx, files, AT_FDCWD, &path)?;
    let loc = cx
        .walker()
        .resolve(&start, &path, m & mask::DONT_FOLLOW == 0)?;
    if m & mask::ONLYDIR != 0 && !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(inotify_of(&file).add_watch(&loc, m)? as usize)
}

/// inotify_rm_watch(2).
pub fn inotify_rm_watch(files: &FdTable, fd: i32, wd: i32) -> SysResult {
    let file = instance(files, fd)?;
    inotify_of(&file).rm_watch(wd)?;
    Ok(0)
}
