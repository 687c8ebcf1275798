//! truncate(2), ftruncate(2). (fsync(2) and fdatasync(2) are in [`super::sync`].)
//!
//! As Linux: a negative length is `EINVAL` first; truncate follows symlinks, refuses
//! directories with `EISDIR`, other non-regular files with `EINVAL`, read-only mounts with
//! `EROFS`, a running program with `ETXTBSY`; ftruncate needs a regular file open for writing
//! (`EINVAL` otherwise), which cannot be a running program (see [`crate::write_access`]).
//! Growing a file past `RLIMIT_FSIZE` is `EFBIG` with `SIGXFSZ` (see [`crate::fsize`]).
//! Both stamp mtime and ctime.

use super::{copy_nonempty_path, io_file, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::fsize::check_new_size;
use crate::inotify;
use crate::node::{FileKind, SetAttr};
use crate::write_access::WriteAccess;
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// fsync(2) and fdatasync(2) moved to [`super::sync`]; kept here for existing callers.
pub use super::sync::{fdatasync, fsync};

/// truncate(2).
pub fn truncate(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    length: i64,
) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let path = copy_nonempty_path(mem, path)?;
    let start = start_of(cx, files, AT_FDCWD, &path)?;
    let mut walker = cx.walker();
    let loc = walker.resolve(&start, &path, true)?;
    match loc.inode().kind() {
        FileKind::Directory => return Err(Errno::EISDIR),
        FileKind::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    loc.check_writable()?;
    let _writer = WriteAccess::get(loc.inode())?;
    check_new_size(files, loc.inode().metadata().size, length as u64)?;
    let now = cx.vfs().now();
    loc.inode().set_attr(&SetAttr {
        size: Some(length as u64),
        mtime: Some(now),
        ctime: now,
        ..SetAttr::default()
    })?;
    let watches = cx.vfs().watches();
    if watches.is_active() {
        watches.inode_event(&loc, walker.take_entry().as_ref(), inotify::mask::MODIFY);
    }
    Ok(0)
}

/// ftruncate(2).
pub fn ftruncate(files: &FdTable, fd: i32, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let file = io_file(files, fd)?;
    let meta = file.stat()?;
    if !file.is_writable() || meta.kind != FileKind::Regular {
        return Err(Errno::EINVAL);
    }
    check_new_size(files, meta.size, length as u64)?;
    file.ops().truncate(length as u64)?;
    file.notify(inotify::mask::MODIFY);
    Ok(0)
}
