//! symlink(2), symlinkat(2), link(2), linkat(2).
//!
//! As Linux: the new name must not exist (`EEXIST`, checked before `EROFS`; `.`, `..` and `/`
//! count as existing); a trailing slash on a new non-directory name is `ENOENT`. A symlink
//! target is stored as given (empty is `ENOENT`); symlinks have mode 0777. link(2) does not
//! follow a symlink in the old path (linkat(2) does with `AT_SYMLINK_FOLLOW`; `AT_EMPTY_PATH`
//! links the dirfd's file), refuses directories with `EPERM`, and names on two mounts with
//! `EXDEV`.

use super::{copy_nonempty_path, copy_path, dirfd_location, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::Location;
use crate::node::{FileKind, NewAttrs, NewNode};
use crate::walk::LastComponent;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// symlink(2).
pub fn symlink(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    target: UserCStr,
    path: UserCStr,
) -> SysResult {
    symlinkat(cx, files, mem, target, AT_FDCWD, path)
}

/// symlinkat(2).
pub fn symlinkat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    target: UserCStr,
    dirfd: i32,
    path: UserCStr,
) -> SysResult {
    let target = copy_nonempty_path(mem, target)?;
    let path = copy_nonempty_path(mem, path)?;
    let start = start_of(cx, files, dirfd, &path)?;
    let (dir, name) = new_name(cx, &start, &path)?;
    let attrs = NewAttrs {
        perm: 0o777,
        uid: 0,
        gid: 0,
        now: cx.vfs().now(),
    };
    dir.inode()
        .create(&name, NewNode::Symlink(&target), &attrs)?;
    let watches = cx.vfs().watches();
    watches.entry_event(&dir, &name, crate::inotify::mask::CREATE, false, 0);
    Ok(0)
}

/// link(2).
pub fn link(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    old: UserCStr,
    new: UserCStr,
) -> SysResult {
    linkat(cx, files, mem, AT_FDCWD, old, AT_FDCWD, new, 0)
}

/// linkat(2).
#[allow(clippy::too_many_arguments)]
pub fn linkat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    olddirfd: i32,
    old: UserCStr,
    newdirfd: i32,
    new: UserCStr,
    flags: u32,
) -> SysResult {
    let allowed = AtFlags::SYMLINK_FOLLOW | AtFlags::EMPTY_PATH;
    if flags & !allowed.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = AtFlags::from_bits_retain(flags);
    let old = copy_path(mem, old)?;
    let source = if old.is_empty() {
        if !flags.contains(AtFlags::EMPTY_PATH) {
            return Err(Errno::ENOENT);
        }
        dirfd_location(cx, files, olddirfd, &old)?
    } else {
        let start = start_of(cx, files, olddirfd, &old)?;
        cx.walker()
            .resolve(&start, &old, flags.contains(AtFlags::SYMLINK_FOLLOW))?
    };
    let new = copy_nonempty_path(mem, new)?;
    let start = start_of(cx, files, newdirfd, &new)?;
    let (dir, name) = new_name(cx, &start, &new)?;
    if dir.mount().id() != source.mount().id() {
        return Err(Errno::EXDEV);
    }
    if source.inode().kind() == FileKind::Directory {
        return Err(Errno::EPERM);
    }
    dir.inode().link(&name, &**source.inode(), cx.vfs().now())?;
    // Linux's fsnotify_link: the link count changed, then the new entry.
    let watches = cx.vfs().watches();
    watches.inode_event(&source, None, crate::inotify::mask::ATTRIB);
    watches.entry_event(&dir, &name, crate::inotify::mask::CREATE, false, 0);
    Ok(0)
}

/// The directory and name for a new non-directory entry.
fn new_name(cx: &FsContext, start: &Location, path: &[u8]) -> Result<(Location, Vec<u8>), Errno> {
    let p = cx.walker().resolve_parent(start, path)?;
    let LastComponent::Name(name) = p.last else {
        return Err(Errno::EEXIST);
    };
    match p.dir.inode().lookup(&name) {
        Ok(_) => return Err(Errno::EEXIST),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if p.trailing_slash {
        return Err(Errno::ENOENT);
    }
    p.dir.check_writable()?;
    Ok((p.dir, name))
}
