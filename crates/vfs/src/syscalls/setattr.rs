//! Where a change of attributes lands, for chmod(2), chown(2) and the utime family: the inode a
//! path, a dirfd with `AT_EMPTY_PATH`, or an fd names, found as Linux's `user_path_at` and
//! `fdget` find it, and the change applied with the read-only check first (`EROFS`, Linux's
//! `mnt_want_write`).
//!
//! An fd without a name (a pipe, an eventfd) has an inode in Linux (pipefs, anon inodes) whose
//! attributes can change; oxv's have none, so such a change succeeds and is not kept.

use super::copy_path;
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::inotify::Entry;
use crate::mount::Location;
use crate::node::{Metadata, SetAttr};
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// What a change of attributes applies to.
pub(crate) enum Target {
    /// An inode reached through a path or an fd opened through one, and the directory entry
    /// the path named (kept for inotify while something is watched).
    Named(Location, Option<Entry>),
    /// An open file without a name.
    Nameless,
}

/// The target of a path call: `path` relative to `dirfd`, following a final symlink if
/// `follow`; an empty path is `ENOENT` unless `empty_ok` (`AT_EMPTY_PATH`: the dirfd itself,
/// which may be an `O_PATH` fd).
pub(crate) fn at_path(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    follow: bool,
    empty_ok: bool,
) -> Result<Target, Errno> {
    let p = copy_path(mem, path)?;
    if !p.is_empty() {
        let start = super::start_of(cx, files, dirfd, &p)?;
        let mut walker = cx.walker();
        let loc = walker.resolve(&start, &p, follow)?;
        return Ok(Target::Named(loc, walker.take_entry()));
    }
    if !empty_ok {
        return Err(Errno::ENOENT);
    }
    if dirfd == AT_FDCWD {
        return Ok(Target::Named(cx.cwd(), None));
    }
    Ok(named_or_not(files.get(dirfd)?.location()))
}

/// The target of an fd call (fchmod, fchown, futimens): `EBADF` for a closed or `O_PATH` fd.
pub(crate) fn of_fd(files: &FdTable, fd: i32) -> Result<Target, Errno> {
    let file = super::io_file(files, fd)?;
    Ok(match file.location() {
        Some(l) => Target::Named(l.clone(), file.entry().cloned()),
        None => Target::Nameless,
    })
}

fn named_or_not(loc: Option<&Location>) -> Target {
    match loc {
        Some(l) => Target::Named(l.clone(), None),
        None => Target::Nameless,
    }
}

/// Applies the change `change` makes from the current attributes: `EROFS` on a read-only
/// mount, then whatever the file system says.
pub(crate) fn apply(target: &Target, change: impl FnOnce(&Metadata) -> SetAttr) -> SysResult {
    let Target::Named(loc, entry) = target else {
        return Ok(0);
    };
    loc.check_writable()?;
    let inode = loc.inode();
    inode.set_attr(&change(&inode.metadata()))?;
    // Every caller changes what Linux's fsnotify_change reports as IN_ATTRIB.
    let watches = loc.mount().watches();
    if watches.is_active() {
        watches.inode_event(loc, entry.as_ref(), crate::inotify::mask::ATTRIB);
    }
    Ok(0)
}
