//! fallocate(2): allocate or free space in a regular file.
//!
//! Checks in Linux's order (`vfs_fallocate`): `EBADF` for a closed or `O_PATH` fd; `EINVAL`
//! for a negative offset or a length of 0 or less; `EOPNOTSUPP` for a mode Linux does not
//! know, `FALLOC_FL_PUNCH_HOLE` without `FALLOC_FL_KEEP_SIZE`, `COLLAPSE_RANGE`,
//! `INSERT_RANGE` or `WRITE_ZEROES` with it, or two operations at once; `EBADF` unless open
//! for writing; `ESPIPE` for a pipe, `EISDIR` for a directory, `ENODEV` for anything else
//! that is not a regular file; `EFBIG` when `offset + len` passes the largest file size, and
//! `EFBIG` with `SIGXFSZ` when an allocation would grow the file past `RLIMIT_FSIZE` (see
//! [`crate::fsize`]); then the file system: tmpfs does allocation (`0`, `KEEP_SIZE`) and hole punching and refuses the
//! rest with `EOPNOTSUPP`, as does a file system without the operation (ext2).

use super::io_file;
use crate::fd_table::FdTable;
use crate::fsize::check_new_size;
use crate::node::FileKind;
use linux_raw_sys::general::{
    FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_WRITE_ZEROES, FALLOC_FL_ZERO_RANGE,
};
use oxv_abi::{Errno, SysResult};

/// The operations (Linux's `FALLOC_FL_MODE_MASK`); allocation is 0.
const MODE_MASK: u32 = FALLOC_FL_PUNCH_HOLE
    | FALLOC_FL_COLLAPSE_RANGE
    | FALLOC_FL_ZERO_RANGE
    | FALLOC_FL_INSERT_RANGE
    | FALLOC_FL_UNSHARE_RANGE
    | FALLOC_FL_WRITE_ZEROES;

/// fallocate(2).
pub fn fallocate(
    cx: &crate::FsContext,
    files: &FdTable,
    fd: i32,
    mode: i32,
    offset: i64,
    len: i64,
) -> SysResult {
    let file = io_file(files, fd)?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let mode = mode as u32;
    if mode & !(MODE_MASK | FALLOC_FL_KEEP_SIZE) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let keep = mode & FALLOC_FL_KEEP_SIZE != 0;
    match mode & MODE_MASK {
        0 | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_ZERO_RANGE => {}
        FALLOC_FL_PUNCH_HOLE if keep => {}
        FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_WRITE_ZEROES if !keep => {}
        _ => return Err(Errno::EOPNOTSUPP),
    }
    if !file.is_writable() {
        return Err(Errno::EBADF);
    }
    let meta = file.stat()?;
    let loc = match (meta.kind, file.location()) {
        (FileKind::Fifo, _) => return Err(Errno::ESPIPE),
        (FileKind::Directory, _) => return Err(Errno::EISDIR),
        (FileKind::Regular | FileKind::BlockDevice, Some(loc)) => loc,
        _ => return Err(Errno::ENODEV),
    };
    if offset.checked_add(len).is_none() {
        return Err(Errno::EFBIG);
    }
    // Allocation may grow the file, even with KEEP_SIZE (which Linux's tmpfs checks too);
    // the other operations never do.
    if mode & MODE_MASK == 0 && meta.kind == FileKind::Regular {
        check_new_size(files, meta.size, (offset + len) as u64)?;
    }
    loc.inode()
        .allocate(mode, offset as u64, len as u64, cx.vfs().now())?;
    Ok(0)
}
