//! unlink(2), unlinkat(2), rmdir(2).
//!
//! As Linux (`do_unlinkat`, `do_rmdir`): unlinkat accepts only `AT_REMOVEDIR` (`EINVAL`).
//! unlink refuses `.`, `..`, `/` and directories with `EISDIR`, and a non-directory named with
//! a trailing slash with `ENOTDIR`. rmdir refuses `..` with `ENOTEMPTY`, `.` with `EINVAL`,
//! `/`, a mountpoint or the process root with `EBUSY`, a non-directory with `ENOTDIR` and a
//! non-empty directory with `ENOTEMPTY`. A read-only mount is `EROFS`, checked before the last
//! component is looked up (so before `ENOENT`). A removed directory that is still someone's
//! cwd stays usable as a location, but nothing can be created in it.

use super::{copy_nonempty_path, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::inotify;
use crate::mount::Location;
use crate::node::FileKind;
use crate::walk::LastComponent;
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// unlink(2).
pub fn unlink(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
) -> SysResult {
    unlinkat(cx, files, mem, AT_FDCWD, path, 0)
}

/// rmdir(2).
pub fn rmdir(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
) -> SysResult {
    unlinkat(cx, files, mem, AT_FDCWD, path, AtFlags::REMOVEDIR.bits())
}

/// unlinkat(2).
pub fn unlinkat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    flags: u32,
) -> SysResult {
    if flags & !AtFlags::REMOVEDIR.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let path = copy_nonempty_path(mem, path)?;
    let start = start_of(cx, files, dirfd, &path)?;
    if flags != 0 {
        rmdir_at(cx, &start, &path)?
    } else {
        unlink_at(cx, &start, &path)?
    }
    Ok(0)
}

/// Removes the non-directory `path` (relative to `start`) with unlink(2)'s rules.
pub fn unlink_at(cx: &FsContext, start: &Location, path: &[u8]) -> Result<(), Errno> {
    let p = cx.walker().resolve_parent(start, path)?;
    let LastComponent::Name(name) = p.last else {
        return Err(Errno::EISDIR);
    };
    p.dir.check_writable()?;
    let child = p.dir.inode().lookup(&name)?;
    if child.kind() == FileKind::Directory {
        return Err(Errno::EISDIR);
    }
    if p.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    p.dir.inode().unlink(&name, cx.vfs().now())?;
    // Linux's vfs_unlink: the link count changed, the inode may be gone, the entry is.
    let watches = cx.vfs().watches();
    if watches.is_active() {
        let child = p.dir.with_inode(child);
        watches.inode_event(&child, None, inotify::mask::ATTRIB);
        if child.inode().metadata().nlink == 0 {
            watches.inode_removed(&child);
        }
        watches.entry_event(&p.dir, &name, inotify::mask::DELETE, false, 0);
    }
    Ok(())
}

/// Removes the empty directory `path` (relative to `start`) with rmdir(2)'s rules.
pub fn rmdir_at(cx: &FsContext, start: &Location, path: &[u8]) -> Result<(), Errno> {
    let p = cx.walker().resolve_parent(start, path)?;
    let name = match p.last {
        LastComponent::Name(name) => name,
        LastComponent::DotDot => return Err(Errno::ENOTEMPTY),
        LastComponent::Dot => return Err(Errno::EINVAL),
        LastComponent::Root => return Err(Errno::EBUSY),
    };
    p.dir.check_writable()?;
    let child = p.dir.with_inode(p.dir.inode().lookup(&name)?);
    if !child.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if cx.vfs().mounted_on(&child).is_some() || child.same(&cx.root()) {
        return Err(Errno::EBUSY);
    }
    p.dir.inode().rmdir(&name, cx.vfs().now())?;
    let watches = cx.vfs().watches();
    if watches.is_active() {
        watches.inode_removed(&child);
        watches.entry_event(&p.dir, &name, inotify::mask::DELETE, true, 0);
    }
    Ok(())
}
