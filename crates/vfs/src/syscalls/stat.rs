//! fstat(2), stat(2), lstat(2), newfstatat(2), statx(2).
//!
//! Order, as Linux (`fs/stat.c`): flag `EINVAL`s first (newfstatat accepts
//! `AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH`; statx also the sync-type field, but
//! not both of its bits, and refuses `STATX__RESERVED` in the mask), then the path (`EFAULT`,
//! `ENAMETOOLONG`; empty is `ENOENT` unless `AT_EMPTY_PATH`, which then means the dirfd itself,
//! any fd, `O_PATH` included), then the walk, then `EFAULT` writing the result. As since Linux
//! 6.11, a null path with `AT_EMPTY_PATH` is an empty path.
//!
//! statx fills every basic field whatever the mask asks, and says so in `stx_mask`, as Linux's
//! tmpfs does; no birth time.

use super::{copy_path, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::Metadata;
use oxv_abi::linux::fs::{AT_FDCWD, AT_STATX_SYNC_TYPE, AtFlags, Stat, Statx, StatxMask};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory, UserPtr};

/// fstat(2).
pub fn fstat(files: &FdTable, mem: &mut dyn UserMemory, fd: i32, out: UserPtr<Stat>) -> SysResult {
    let meta = files.get(fd)?.stat()?;
    out.write(mem, &meta.to_stat())?;
    Ok(0)
}

/// stat(2).
pub fn stat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    out: UserPtr<Stat>,
) -> SysResult {
    newfstatat(cx, files, mem, AT_FDCWD, path, out, 0)
}

/// lstat(2).
pub fn lstat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    out: UserPtr<Stat>,
) -> SysResult {
    newfstatat(
        cx,
        files,
        mem,
        AT_FDCWD,
        path,
        out,
        AtFlags::SYMLINK_NOFOLLOW.bits(),
    )
}

/// newfstatat(2) (glibc's `fstatat`).
pub fn newfstatat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    out: UserPtr<Stat>,
    flags: u32,
) -> SysResult {
    let allowed = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT | AtFlags::EMPTY_PATH;
    if flags & !allowed.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let (meta, _) = stat_at(
        cx,
        files,
        mem,
        dirfd,
        path,
        AtFlags::from_bits_retain(flags),
    )?;
    out.write(mem, &meta.to_stat())?;
    Ok(0)
}

/// statx(2).
#[allow(clippy::too_many_arguments)]
pub fn statx(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    flags: u32,
    mask: u32,
    out: UserPtr<Statx>,
) -> SysResult {
    let allowed = AtFlags::SYMLINK_NOFOLLOW.bits()
        | AtFlags::NO_AUTOMOUNT.bits()
        | AtFlags::EMPTY_PATH.bits()
        | AT_STATX_SYNC_TYPE;
    if flags & !allowed != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    if mask & StatxMask::RESERVED.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let (meta, mnt_id) = stat_at(
        cx,
        files,
        mem,
        dirfd,
        path,
        AtFlags::from_bits_retain(flags),
    )?;
    out.write(mem, &meta.to_statx(mnt_id))?;
    Ok(0)
}

/// The metadata and mount id `(dirfd, path, flags)` names.
fn stat_at(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    flags: AtFlags,
) -> Result<(Metadata, u64), Errno> {
    let empty_ok = flags.contains(AtFlags::EMPTY_PATH);
    let path = if empty_ok && path.0.is_null() {
        alloc::vec::Vec::new()
    } else {
        copy_path(mem, path)?
    };
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd == AT_FDCWD {
            let cwd = cx.cwd();
            return Ok((cwd.inode().metadata(), cwd.mount().id()));
        }
        let file = files.get(dirfd)?;
        let mnt_id = file.location().map_or(0, |l| l.mount().id());
        return Ok((file.stat()?, mnt_id));
    }
    let loc = lookup_at(
        cx,
        files,
        dirfd,
        &path,
        !flags.contains(AtFlags::SYMLINK_NOFOLLOW),
    )?;
    Ok((loc.inode().metadata(), loc.mount().id()))
}
