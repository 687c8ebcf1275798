//! access(2), faccessat(2), faccessat2(2), for oxv's single user, root.
//!
//! Root passes every read and write check, and an execute check on a directory; executing a
//! non-directory needs at least one execute bit in its mode (`EACCES` otherwise), as Linux's
//! `generic_permission` rules for `CAP_DAC_OVERRIDE`. Write access to a regular file, directory
//! or symlink on a read-only mount is `EROFS`.
//!
//! Order: `mode` bits other than `R_OK | W_OK | X_OK` are `EINVAL`; faccessat2 flags other
//! than `AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH` are `EINVAL` (faccessat has no flags
//! argument); then the path (empty is `ENOENT` unless `AT_EMPTY_PATH`), then the checks.

use super::{copy_path, dirfd_location, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::FileKind;
use oxv_abi::linux::fs::{AT_FDCWD, AccessMode, AtFlags, S_IXUGO};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// access(2).
pub fn access(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    faccessat2(cx, files, mem, AT_FDCWD, path, mode, 0)
}

/// faccessat(2) (the syscall has no flags argument).
pub fn faccessat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    faccessat2(cx, files, mem, dirfd, path, mode, 0)
}

/// faccessat2(2).
pub fn faccessat2(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    mode: u32,
    flags: u32,
) -> SysResult {
    if mode & !AccessMode::all().bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let allowed = AtFlags::EACCESS | AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH;
    if flags & !allowed.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = AtFlags::from_bits_retain(flags);
    let mode = AccessMode::from_bits_retain(mode);
    let path = copy_path(mem, path)?;
    let loc = if path.is_empty() {
        if !flags.contains(AtFlags::EMPTY_PATH) {
            return Err(Errno::ENOENT);
        }
        dirfd_location(cx, files, dirfd, &path)?
    } else {
        lookup_at(
            cx,
            files,
            dirfd,
            &path,
            !flags.contains(AtFlags::SYMLINK_NOFOLLOW),
        )?
    };
    let meta = loc.inode().metadata();
    if mode.contains(AccessMode::W_OK)
        && matches!(
            meta.kind,
            FileKind::Regular | FileKind::Directory | FileKind::Symlink
        )
    {
        loc.check_writable()?;
    }
    if mode.contains(AccessMode::X_OK)
        && meta.kind != FileKind::Directory
        && meta.perm & S_IXUGO == 0
    {
        return Err(Errno::EACCES);
    }
    Ok(0)
}
