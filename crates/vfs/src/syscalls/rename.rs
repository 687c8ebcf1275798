//! rename(2), renameat(2), renameat2(2).
//!
//! renameat2 flags: `RENAME_NOREPLACE` works (`EEXIST` if the new name exists); unknown bits,
//! `RENAME_NOREPLACE | RENAME_EXCHANGE`, and (not implemented yet) `RENAME_EXCHANGE` and
//! `RENAME_WHITEOUT` are `EINVAL`.
//!
//! Order, as Linux's `do_renameat2`: `EXDEV` for names on two mounts; `EBUSY` if either last
//! component is `.`, `..` or `/` (`EEXIST` for the new one with `RENAME_NOREPLACE`); `EROFS`;
//! `ENOENT` for a missing old name; `EEXIST` for `RENAME_NOREPLACE`; `ENOTDIR` for a trailing
//! slash on either name when the old one is not a directory; `EBUSY` for mountpoints; then the
//! file system's checks: `EINVAL` when moving a directory below itself, `ENOTDIR`/`EISDIR`
//! when a directory would replace a non-directory or the reverse, `ENOTEMPTY` for a non-empty
//! directory target. Renaming a name onto another link to the same inode does nothing.

use super::{copy_nonempty_path, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::inotify;
use crate::mount::Location;
use crate::walk::LastComponent;
use oxv_abi::linux::fs::{AT_FDCWD, RenameFlags};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// rename(2).
pub fn rename(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    old: UserCStr,
    new: UserCStr,
) -> SysResult {
    renameat2(cx, files, mem, AT_FDCWD, old, AT_FDCWD, new, 0)
}

/// renameat(2).
pub fn renameat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    olddirfd: i32,
    old: UserCStr,
    newdirfd: i32,
    new: UserCStr,
) -> SysResult {
    renameat2(cx, files, mem, olddirfd, old, newdirfd, new, 0)
}

/// renameat2(2).
#[allow(clippy::too_many_arguments)]
pub fn renameat2(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    olddirfd: i32,
    old: UserCStr,
    newdirfd: i32,
    new: UserCStr,
    flags: u32,
) -> SysResult {
    if flags & !RenameFlags::all().bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = RenameFlags::from_bits_retain(flags);
    if flags.contains(RenameFlags::NOREPLACE | RenameFlags::EXCHANGE)
        || flags.intersects(RenameFlags::EXCHANGE | RenameFlags::WHITEOUT)
    {
        return Err(Errno::EINVAL);
    }
    let old = copy_nonempty_path(mem, old)?;
    let new = copy_nonempty_path(mem, new)?;
    let old_start = start_of(cx, files, olddirfd, &old)?;
    let new_start = start_of(cx, files, newdirfd, &new)?;
    rename_at(cx, &old_start, &old, &new_start, &new, flags)?;
    Ok(0)
}

/// Renames `old` (relative to `old_start`) to `new` (relative to `new_start`) with
/// renameat2(2)'s rules; `flags` may hold `RENAME_NOREPLACE`.
pub fn rename_at(
    cx: &FsContext,
    old_start: &Location,
    old: &[u8],
    new_start: &Location,
    new: &[u8],
    flags: RenameFlags,
) -> Result<(), Errno> {
    let op = cx.walker().resolve_parent(old_start, old)?;
    let np = cx.walker().resolve_parent(new_start, new)?;
    if op.dir.mount().id() != np.dir.mount().id() {
        return Err(Errno::EXDEV);
    }
    let LastComponent::Name(old_name) = op.last else {
        return Err(Errno::EBUSY);
    };
    let LastComponent::Name(new_name) = np.last else {
        return Err(if flags.contains(RenameFlags::NOREPLACE) {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    };
    op.dir.check_writable()?;
    let source = op.dir.with_inode(op.dir.inode().lookup(&old_name)?);
    let target = match np.dir.inode().lookup(&new_name) {
        Ok(t) => Some(np.dir.with_inode(t)),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    if target.is_some() && flags.contains(RenameFlags::NOREPLACE) {
        return Err(Errno::EEXIST);
    }
    if !source.is_dir() && (op.trailing_slash || np.trailing_slash) {
        return Err(Errno::ENOTDIR);
    }
    let vfs = cx.vfs();
    let root = cx.root();
    let busy = |l: &Location| vfs.mounted_on(l).is_some() || l.same(&root);
    if busy(&source) || target.as_ref().is_some_and(busy) {
        return Err(Errno::EBUSY);
    }
    op.dir
        .inode()
        .rename(&old_name, &**np.dir.inode(), &new_name, flags, vfs.now())?;
    notify_move(
        cx, &op.dir, &old_name, &np.dir, &new_name, &source, target, flags,
    );
    Ok(())
}

/// inotify for a rename, as Linux's `fsnotify_move`: `IN_MOVED_FROM` and `IN_MOVED_TO` with
/// one cookie, `IN_MOVE_SELF` on the moved object; a replaced target loses a link (and, if
/// that was its last, is deleted); an exchange moves both ways.
#[allow(clippy::too_many_arguments)]
fn notify_move(
    cx: &FsContext,
    old_dir: &Location,
    old_name: &[u8],
    new_dir: &Location,
    new_name: &[u8],
    source: &Location,
    target: Option<Location>,
    flags: RenameFlags,
) {
    let watches = cx.vfs().watches();
    if !watches.is_active() {
        return;
    }
    let one_way =
        |from_dir: &Location, from: &[u8], to_dir: &Location, to: &[u8], what: &Location| {
            let cookie = watches.next_cookie();
            let is_dir = what.is_dir();
            watches.entry_event(from_dir, from, inotify::mask::MOVED_FROM, is_dir, cookie);
            watches.entry_event(to_dir, to, inotify::mask::MOVED_TO, is_dir, cookie);
        };
    one_way(old_dir, old_name, new_dir, new_name, source);
    if flags.contains(RenameFlags::EXCHANGE) {
        if let Some(t) = &target {
            one_way(new_dir, new_name, old_dir, old_name, t);
            watches.inode_event(t, None, inotify::mask::MOVE_SELF);
        }
    } else if let Some(t) = &target {
        watches.inode_event(t, None, inotify::mask::ATTRIB);
        if t.inode().metadata().nlink == 0 {
            watches.inode_removed(t);
        }
    }
    watches.inode_event(source, None, inotify::mask::MOVE_SELF);
}
