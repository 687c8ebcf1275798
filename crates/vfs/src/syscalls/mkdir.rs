//! mkdir(2), mkdirat(2).
//!
//! The new directory gets `mode & (0777 | S_ISVTX) & ~umask`. As Linux: a trailing slash is
//! fine; an existing name (`.`, `..` and `/` included, dangling symlinks too) is `EEXIST`,
//! reported before `EROFS`; a missing parent is `ENOENT`.

use super::{copy_nonempty_path, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::Location;
use crate::node::{NewAttrs, NewNode};
use crate::walk::LastComponent;
use oxv_abi::linux::fs::{AT_FDCWD, S_ISVTX};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// mkdir(2).
pub fn mkdir(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    mkdirat(cx, files, mem, AT_FDCWD, path, mode)
}

/// mkdirat(2).
pub fn mkdirat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    let path = copy_nonempty_path(mem, path)?;
    let start = start_of(cx, files, dirfd, &path)?;
    mkdir_at(cx, &start, &path, mode)?;
    Ok(0)
}

/// Creates directory `path` (relative to `start`) with mkdir(2)'s rules; returns it.
pub fn mkdir_at(
    cx: &FsContext,
    start: &Location,
    path: &[u8],
    mode: u32,
) -> Result<Location, Errno> {
    let p = cx.walker().resolve_parent(start, path)?;
    let LastComponent::Name(name) = p.last else {
        return Err(Errno::EEXIST);
    };
    match p.dir.inode().lookup(&name) {
        Ok(_) => return Err(Errno::EEXIST),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    p.dir.check_writable()?;
    let perm = mode & (0o777 | S_ISVTX) & !cx.umask();
    let attrs = NewAttrs {
        perm,
        uid: 0,
        gid: 0,
        now: cx.vfs().now(),
    };
    let inode = p.dir.inode().create(&name, NewNode::Directory, &attrs)?;
    let watches = cx.vfs().watches();
    watches.entry_event(&p.dir, &name, crate::inotify::mask::CREATE, true, 0);
    Ok(p.dir.with_inode(inode))
}
