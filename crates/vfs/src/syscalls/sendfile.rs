//! sendfile(2) and copy_file_range(2): copying between files inside the kernel, through a
//! kernel buffer (see [`super::splice`] for what can take part).
//!
//! sendfile, as Linux's `do_sendfile`: `EFAULT` reading `*offset` first; then the input fd
//! (`EBADF` if closed, `O_PATH` or not open for reading; `ESPIPE` for an offset on a file that
//! cannot seek; `EINVAL` for a count that is negative as a `ssize_t`, a negative offset or one
//! that overflows with the count), then the output fd (`EBADF` likewise). A pipe output gets
//! what it has room for, in one go (waiting for room unless it is `O_NONBLOCK`); any other
//! output gets everything up to the end of the input, written at its own offset (`EINVAL` if
//! it is `O_APPEND`), and no further than `RLIMIT_FSIZE` allows a regular file. An input or output Linux cannot splice (a pipe as input, an eventfd, a
//! directory) is `EINVAL`. With `offset`, the input's own offset stays and `*offset` moves;
//! without, the input's offset moves.
//!
//! copy_file_range, as Linux's `vfs_copy_file_range` and `generic_copy_file_checks`: `EBADF`
//! for either fd, `EFAULT` for the offsets, `EINVAL` for any flag; `EISDIR` for a directory,
//! `EINVAL` for anything else that is not a regular file; `EBADF` unless the input is readable
//! and the output writable and not `O_APPEND`; `EXDEV` across file systems (neither tmpfs nor
//! ext2 copies across); `EOVERFLOW` if an offset wraps (in unsigned arithmetic, so a negative
//! offset wraps once the length reaches it); the copy is cut at the input's end;
//! `EFBIG` (and `SIGXFSZ`) for an output offset at `RLIMIT_FSIZE`, a copy cut there if it
//! crosses it (see [`crate::fsize`]); `EFBIG` for an output offset at the size limit; `EINVAL` for overlapping ranges of one file
//! and for negative offsets.

use super::io_file;
use super::splice::{
    CHUNK, can_splice, file_to_pipe, pipe_end, read_at, verify_area, write_all_at,
};
use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::fsize::{check_write, exceeded};
use crate::node::FileKind;
use alloc::vec;
use oxv_abi::linux::fs::{MAX_RW_COUNT, OpenFlags};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// sendfile(2).
pub fn sendfile(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    out_fd: i32,
    in_fd: i32,
    offset: UserPtr<i64>,
    count: usize,
) -> SysResult {
    let given = if offset.is_null() {
        None
    } else {
        Some(offset.read(mem)?)
    };
    let input = io_file(files, in_fd)?;
    if !input.is_readable() {
        return Err(Errno::EBADF);
    }
    if given.is_some() && !input.ops().is_positioned() {
        return Err(Errno::ESPIPE);
    }
    let start = given.unwrap_or(input.position() as i64);
    verify_area(start, count)?;
    let count = count.min(MAX_RW_COUNT);
    let out = io_file(files, out_fd)?;
    if !out.is_writable() {
        return Err(Errno::EBADF);
    }
    if !can_splice(&input)? {
        return Err(Errno::EINVAL);
    }
    let mut pos = start as u64;
    let result = if pipe_end(&out).is_some() {
        file_to_pipe(blocker, &input, &mut pos, &out, count, out.is_nonblocking())
    } else {
        to_file(files, &input, &mut pos, &out, count)
    };
    let moved = result?;
    if moved > 0 && given.is_none() && input.ops().is_positioned() {
        *input.lock_position() = pos;
    }
    if given.is_some() {
        offset.write(mem, &(pos as i64))?;
    }
    Ok(moved)
}

/// sendfile to anything but a pipe (Linux's `do_splice_direct`): copies up to `count` bytes,
/// stopping at the end of the input, at the output's offset.
fn to_file(
    files: &FdTable,
    input: &OpenFile,
    pos: &mut u64,
    out: &OpenFile,
    count: usize,
) -> SysResult {
    if out.flags().contains(OpenFlags::APPEND) {
        return Err(Errno::EINVAL);
    }
    let positioned = out.ops().is_positioned();
    let out_start = if positioned { out.position() } else { 0 };
    verify_area(out_start as i64, count)?;
    if !can_splice(out)? {
        return Err(Errno::EINVAL);
    }
    let done = copy(files, input, *pos, out, out_start, count)?;
    *pos += done as u64;
    if positioned && done > 0 {
        *out.lock_position() = out_start + done as u64;
    }
    Ok(done)
}

/// Copies up to `count` bytes from `input` at `from` to `out` at `to`, a chunk at a time,
/// until the input ends or the output takes less. Short on an error after some bytes. Each
/// chunk is a write to `out` that the file size limit may cut or refuse, as Linux's
/// `splice_direct_to_actor` writes each pipe-full.
fn copy(
    files: &FdTable,
    input: &OpenFile,
    from: u64,
    out: &OpenFile,
    to: u64,
    count: usize,
) -> SysResult {
    let mut buf = vec![0u8; count.min(CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(buf.len());
        let got = match read_at(input, from + done as u64, &mut buf[..want]) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if got == 0 {
            break;
        }
        let room = match check_write(files, out, to + done as u64, got) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if room < got {
            exceeded();
        }
        let w = match write_all_at(out, to + done as u64, &buf[..room]) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if w < got || got < want {
            break;
        }
    }
    Ok(done)
}

/// copy_file_range(2).
#[allow(clippy::too_many_arguments)]
pub fn copy_file_range(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd_in: i32,
    off_in: UserPtr<i64>,
    fd_out: i32,
    off_out: UserPtr<i64>,
    len: usize,
    flags: u32,
) -> SysResult {
    let input = io_file(files, fd_in)?;
    let out = io_file(files, fd_out)?;
    let pos_in = if off_in.is_null() {
        input.position() as i64
    } else {
        off_in.read(mem)?
    };
    let pos_out = if off_out.is_null() {
        out.position() as i64
    } else {
        off_out.read(mem)?
    };
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (mi, mo) = (input.stat()?, out.stat()?);
    if mi.kind == FileKind::Directory || mo.kind == FileKind::Directory {
        return Err(Errno::EISDIR);
    }
    if mi.kind != FileKind::Regular || mo.kind != FileKind::Regular {
        return Err(Errno::EINVAL);
    }
    if !input.is_readable() || !out.is_writable() || out.flags().contains(OpenFlags::APPEND) {
        return Err(Errno::EBADF);
    }
    if mi.dev != mo.dev {
        return Err(Errno::EXDEV);
    }
    // Linux computes these in unsigned 64-bit arithmetic, so a negative offset "wraps" once
    // the length reaches it.
    let (pi, po, c) = (pos_in as u64, pos_out as u64, len as u64);
    if pi.wrapping_add(c) < pi || po.wrapping_add(c) < po {
        return Err(Errno::EOVERFLOW);
    }
    let size_in = mi.size.min(i64::MAX as u64) as i64;
    let mut count: u64 = if pos_in >= size_in {
        0
    } else {
        c.min(size_in.wrapping_sub(pos_in) as u64)
    };
    count = check_write(files, &out, pos_out as u64, count as usize)? as u64;
    if pos_out == i64::MAX {
        return Err(Errno::EFBIG);
    }
    count = count.min(i64::MAX.wrapping_sub(pos_out) as u64);
    let same = mi.ino == mo.ino;
    let (si, so, sc) = (pos_in as i128, pos_out as i128, count as i128);
    if same && so + sc > si && so < si + sc {
        return Err(Errno::EINVAL);
    }
    let count = count as usize;
    verify_area(pos_in, count)?;
    verify_area(pos_out, count)?;
    if count == 0 {
        return Ok(0);
    }
    let done = copy(
        files,
        &input,
        pos_in as u64,
        &out,
        pos_out as u64,
        count.min(MAX_RW_COUNT),
    )?;
    if done > 0 {
        let (new_in, new_out) = (pos_in + done as i64, pos_out + done as i64);
        if off_in.is_null() {
            *input.lock_position() = new_in as u64;
        } else {
            off_in.write(mem, &new_in)?;
        }
        if off_out.is_null() {
            *out.lock_position() = new_out as u64;
        } else {
            off_out.write(mem, &new_out)?;
        }
    }
    Ok(done)
}
