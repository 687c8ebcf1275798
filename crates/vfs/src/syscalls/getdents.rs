//! getdents64(2): directory entries as `struct linux_dirent64` records.
//!
//! Each record is the 19-byte header, the name, a NUL, and zero padding to a multiple of 8;
//! `d_off` is the cursor of the next entry (lseek(2) to it resumes there). As Linux:
//! `EBADF` (`O_PATH` too), `ENOTDIR` for a non-directory, `EINVAL` if the buffer cannot hold
//! the next record, `EFAULT` if the buffer cannot be written (the offset then stays put), 0 at
//! the end. `count` is a C `unsigned int`; one call returns at most 64 KiB of records.

use super::io_file;
use crate::fd_table::FdTable;
use alloc::vec::Vec;
use oxv_abi::linux::fs::Dirent64Header;
use oxv_abi::{Errno, SysResult, UserBuf, UserMemory};
use zerocopy::IntoBytes;

/// Most bytes of records one call builds.
const MAX_CHUNK: usize = 64 * 1024;

/// The length of the record for a name of `name_len` bytes.
pub const fn record_len(name_len: usize) -> usize {
    (size_of::<Dirent64Header>() + name_len + 1).next_multiple_of(8)
}

/// getdents64(2).
pub fn getdents64(files: &FdTable, mem: &mut dyn UserMemory, fd: i32, buf: UserBuf) -> SysResult {
    let file = io_file(files, fd)?;
    let count = buf.len.min(u32::MAX as usize);
    let cap = count.min(MAX_CHUNK);
    let mut out = Vec::new();
    let mut too_small = false;
    let mut pos = file.lock_position();
    let mut next = *pos;
    let listed = file.ops().read_dir(*pos, &mut |e| {
        let reclen = record_len(e.name.len());
        if out.len() + reclen > cap {
            too_small = out.is_empty();
            return false;
        }
        let header = Dirent64Header {
            d_ino: e.ino,
            d_off: e.next as i64,
            d_reclen: reclen as u16,
            d_type: e.kind.dirent_type(),
        };
        let start = out.len();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.name);
        out.resize(start + reclen, 0);
        next = e.next;
        true
    });
    // Linux's iterate_dir reports the access whatever the listing returned.
    file.notify(crate::inotify::mask::ACCESS);
    listed?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    mem.copy_out(buf.addr, &out)?;
    *pos = next;
    Ok(out.len())
}
