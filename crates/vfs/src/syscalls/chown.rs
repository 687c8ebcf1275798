//! chown(2), fchown(2), lchown(2), fchownat(2), for oxv's single user, root (who may give any
//! file to any owner and group).
//!
//! As Linux (`do_fchownat`, `chown_common`, `notify_change`): fchownat flags other than
//! `AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH` are `EINVAL` first; then the path walk (chown follows
//! symlinks, lchown does not); `EROFS` on a read-only mount. fchown needs an fd that is not
//! `O_PATH` (`EBADF`). An id of -1 leaves that id alone. On anything but a directory the
//! change also clears the set-user-ID bit, and the set-group-ID bit when group execute is set
//! (a set-group-ID bit without it marks mandatory locking and stays), even when root makes it
//! and even when both ids are -1. ctime is stamped.

use super::setattr::{self, Target};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::{FileKind, SetAttr};
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags, S_ISGID, S_ISUID};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// The id that means "unchanged".
const UNCHANGED: u32 = u32::MAX;
/// Group execute permission.
const S_IXGRP: u32 = linux_raw_sys::general::S_IXGRP;

/// chown(2).
pub fn chown(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    owner: u32,
    group: u32,
) -> SysResult {
    fchownat(cx, files, mem, AT_FDCWD, path, owner, group, 0)
}

/// lchown(2).
pub fn lchown(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    owner: u32,
    group: u32,
) -> SysResult {
    let flags = AtFlags::SYMLINK_NOFOLLOW.bits();
    fchownat(cx, files, mem, AT_FDCWD, path, owner, group, flags)
}

/// fchownat(2).
#[allow(clippy::too_many_arguments)]
pub fn fchownat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    owner: u32,
    group: u32,
    flags: u32,
) -> SysResult {
    if flags & !(AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH).bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = AtFlags::from_bits_retain(flags);
    let target = setattr::at_path(
        cx,
        files,
        mem,
        dirfd,
        path,
        !flags.contains(AtFlags::SYMLINK_NOFOLLOW),
        flags.contains(AtFlags::EMPTY_PATH),
    )?;
    change_owner(cx, &target, owner, group)
}

/// fchown(2).
pub fn fchown(cx: &FsContext, files: &FdTable, fd: i32, owner: u32, group: u32) -> SysResult {
    change_owner(cx, &setattr::of_fd(files, fd)?, owner, group)
}

fn change_owner(cx: &FsContext, target: &Target, owner: u32, group: u32) -> SysResult {
    let now = cx.vfs().now();
    setattr::apply(target, |meta| {
        let mut perm = meta.perm;
        if meta.kind != FileKind::Directory {
            perm &= !S_ISUID;
            if perm & S_IXGRP != 0 {
                perm &= !S_ISGID;
            }
        }
        SetAttr {
            perm: (perm != meta.perm).then_some(perm),
            uid: (owner != UNCHANGED).then_some(owner),
            gid: (group != UNCHANGED).then_some(group),
            ctime: now,
            ..SetAttr::default()
        }
    })
}
