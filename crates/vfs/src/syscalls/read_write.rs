//! read(2), write(2), pread64(2), pwrite64(2), readv(2), writev(2), preadv(2), pwritev(2).
//!
//! Error order, as Linux (`fs/read_write.c`):
//!
//! - read/write: `EBADF` (fd not open, `O_PATH`, or not open for reading/writing), then
//!   `EFAULT` for a buffer outside the user half, then what the file says (`EISDIR` for a
//!   directory, `EINVAL` for a file without the operation). So reading a directory into an
//!   unmapped user buffer is `EISDIR`, as on Linux.
//! - pread/pwrite: a negative offset is `EINVAL` before the fd is even looked at; then `EBADF`
//!   for a closed fd, `ESPIPE` for a stream, `EBADF` for the access mode.
//! - readv/writev: `EBADF`, then the vector: more than `UIO_MAXIOV` (1024) segments `EINVAL`,
//!   an unreadable vector `EFAULT`, a length negative as `ssize_t` `EINVAL`, a segment outside
//!   the user half `EFAULT`. A vector whose lengths add up to 0 returns 0 at once.
//!
//! Counts are clamped to `MAX_RW_COUNT`; a vector's total is clamped by shortening segments.
//! A fault after some bytes moved returns the short count. Vectored I/O on a stream (a tty)
//! reads the first segment as read(2) would and the following ones only without blocking.

use super::{check_user_range, io_file};
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::fsize::check_write_from;
use crate::io::{ReadBuf, WriteBuf};
use alloc::vec::Vec;
use oxv_abi::linux::fs::{Iovec, MAX_RW_COUNT, UIO_MAXIOV};
use oxv_abi::{Errno, SysResult, UserBuf, UserMemory, UserPtr};
use zerocopy::FromZeros;

/// read(2).
pub fn read(files: &FdTable, mem: &mut dyn UserMemory, fd: i32, buf: UserBuf) -> SysResult {
    let file = io_file(files, fd)?;
    if !file.is_readable() {
        return Err(Errno::EBADF);
    }
    check_user_range(buf)?;
    file.read(&mut ReadBuf::user(mem, buf.clamp(MAX_RW_COUNT)))
}

/// write(2).
pub fn write(files: &FdTable, mem: &mut dyn UserMemory, fd: i32, buf: UserBuf) -> SysResult {
    let file = io_file(files, fd)?;
    if !file.is_writable() {
        return Err(Errno::EBADF);
    }
    check_user_range(buf)?;
    let len = check_write_from(files, &file, None, buf.len.min(MAX_RW_COUNT))?;
    file.write(&WriteBuf::user(mem, buf.clamp(len)))
}

/// pread64(2).
pub fn pread64(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    buf: UserBuf,
    offset: i64,
) -> SysResult {
    let file = positioned_file(files, fd, offset)?;
    if !file.is_readable() {
        return Err(Errno::EBADF);
    }
    check_user_range(buf)?;
    file.read_at(
        offset as u64,
        &mut ReadBuf::user(mem, buf.clamp(MAX_RW_COUNT)),
    )
}

/// pwrite64(2).
pub fn pwrite64(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    buf: UserBuf,
    offset: i64,
) -> SysResult {
    let file = positioned_file(files, fd, offset)?;
    if !file.is_writable() {
        return Err(Errno::EBADF);
    }
    check_user_range(buf)?;
    let len = check_write_from(files, &file, Some(offset as u64), buf.len.min(MAX_RW_COUNT))?;
    file.write_at(offset as u64, &WriteBuf::user(mem, buf.clamp(len)))
}

/// readv(2).
pub fn readv(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
) -> SysResult {
    let file = io_file(files, fd)?;
    if !file.is_readable() {
        return Err(Errno::EBADF);
    }
    let segs = import_iovec(mem, iov, iovcnt)?;
    read_segments(&file, mem, &segs, None)
}

/// writev(2).
pub fn writev(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
) -> SysResult {
    let file = io_file(files, fd)?;
    if !file.is_writable() {
        return Err(Errno::EBADF);
    }
    let segs = import_iovec(mem, iov, iovcnt)?;
    let segs = limit_segments(files, &file, segs, None)?;
    write_segments(&file, mem, &segs, None)
}

/// preadv(2) (the kernel joins the two offset halves into `offset`).
pub fn preadv(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
    offset: i64,
) -> SysResult {
    let file = positioned_file(files, fd, offset)?;
    if !file.is_readable() {
        return Err(Errno::EBADF);
    }
    let segs = import_iovec(mem, iov, iovcnt)?;
    read_segments(&file, mem, &segs, Some(offset as u64))
}

/// pwritev(2) (the kernel joins the two offset halves into `offset`).
pub fn pwritev(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
    offset: i64,
) -> SysResult {
    let file = positioned_file(files, fd, offset)?;
    if !file.is_writable() {
        return Err(Errno::EBADF);
    }
    let segs = import_iovec(mem, iov, iovcnt)?;
    let segs = limit_segments(files, &file, segs, Some(offset as u64))?;
    write_segments(&file, mem, &segs, Some(offset as u64))
}

/// The file for a positioned call: `EINVAL` for a negative offset (checked first), `EBADF`,
/// then `ESPIPE` for a stream.
fn positioned_file(
    files: &FdTable,
    fd: i32,
    offset: i64,
) -> Result<alloc::sync::Arc<OpenFile>, Errno> {
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    let file = io_file(files, fd)?;
    if !file.ops().is_positioned() {
        return Err(Errno::ESPIPE);
    }
    Ok(file)
}

/// Copies in and checks an iovec array (Linux's `import_iovec`), clamping the total to
/// `MAX_RW_COUNT`. Empty segments are dropped.
pub(super) fn import_iovec(
    mem: &dyn UserMemory,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
) -> Result<Vec<UserBuf>, Errno> {
    if iovcnt > UIO_MAXIOV as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = Vec::new();
    raw.resize(iovcnt as usize, Iovec::new_zeroed());
    mem.copy_in(iov.addr(), zerocopy::IntoBytes::as_mut_bytes(&mut raw[..]))?;
    let mut total = 0usize;
    let mut segs = Vec::with_capacity(raw.len());
    for v in &raw {
        if v.iov_len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let buf = UserBuf::new(v.iov_base, v.iov_len);
        check_user_range(buf)?;
        let buf = buf.clamp(MAX_RW_COUNT - total);
        total += buf.len;
        if buf.len > 0 {
            segs.push(buf);
        }
    }
    Ok(segs)
}

/// Reads into `segs` in order, stopping at the first short read.
fn read_segments(
    file: &OpenFile,
    mem: &mut dyn UserMemory,
    segs: &[UserBuf],
    at: Option<u64>,
) -> SysResult {
    let stream = !file.ops().is_positioned();
    let mut total = 0usize;
    for &seg in segs {
        let mut dst = ReadBuf::user(&mut *mem, seg);
        let r = match at {
            Some(off) => file.read_at(off + total as u64, &mut dst),
            // After the first data, a stream must not block for more.
            None if stream && total > 0 => file.ops().read(0, &mut dst, true),
            None => file.read(&mut dst),
        };
        match r {
            Ok(n) => {
                total += n;
                if n < seg.len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

/// Cuts `segs` to what the file size limit lets a write at `at` (see
/// [`check_write_from`]) take.
fn limit_segments(
    files: &FdTable,
    file: &OpenFile,
    mut segs: Vec<UserBuf>,
    at: Option<u64>,
) -> Result<Vec<UserBuf>, Errno> {
    let total = segs.iter().map(|s| s.len).sum();
    let mut left = check_write_from(files, file, at, total)?;
    if left < total {
        for seg in &mut segs {
            *seg = seg.clamp(left);
            left -= seg.len;
        }
        segs.retain(|s| s.len > 0);
    }
    Ok(segs)
}

/// Writes from `segs` in order, stopping at the first short write.
fn write_segments(
    file: &OpenFile,
    mem: &mut dyn UserMemory,
    segs: &[UserBuf],
    at: Option<u64>,
) -> SysResult {
    let mut total = 0usize;
    for &seg in segs {
        let src = WriteBuf::user(&*mem, seg);
        let r = match at {
            Some(off) => file.write_at(off + total as u64, &src),
            None => file.write(&src),
        };
        match r {
            Ok(n) => {
                total += n;
                if n < seg.len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}
