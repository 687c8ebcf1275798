//! chmod(2), fchmod(2), fchmodat(2), fchmodat2(2), for oxv's single user, root (who may change
//! any file's mode).
//!
//! As Linux (`do_fchmodat`, `chmod_common`, `notify_change`): fchmodat2 flags other than
//! `AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH` are `EINVAL` first (fchmodat has no flags); then the
//! path walk (chmod follows symlinks; with `AT_SYMLINK_NOFOLLOW` a symlink itself is
//! `EOPNOTSUPP`, as since Linux 6.6); `EROFS` on a read-only mount. fchmod needs an fd that is
//! not `O_PATH` (`EBADF`). The new permission bits are `mode & 07777`; ctime is stamped.

use super::setattr::{self, Target};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::{FileKind, SetAttr};
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags, S_IALLUGO};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// chmod(2).
pub fn chmod(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    fchmodat2(cx, files, mem, AT_FDCWD, path, mode, 0)
}

/// fchmodat(2) (the system call has no flags argument).
pub fn fchmodat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    fchmodat2(cx, files, mem, dirfd, path, mode, 0)
}

/// fchmodat2(2).
pub fn fchmodat2(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    mode: u32,
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
    change_mode(cx, &target, mode)
}

/// fchmod(2).
pub fn fchmod(cx: &FsContext, files: &FdTable, fd: i32, mode: u32) -> SysResult {
    change_mode(cx, &setattr::of_fd(files, fd)?, mode)
}

fn change_mode(cx: &FsContext, target: &Target, mode: u32) -> SysResult {
    if let Target::Named(loc, _) = target
        && loc.inode().kind() == FileKind::Symlink
    {
        return Err(Errno::EOPNOTSUPP);
    }
    let now = cx.vfs().now();
    setattr::apply(target, |_| SetAttr {
        perm: Some(mode & S_IALLUGO),
        ctime: now,
        ..SetAttr::default()
    })
}
