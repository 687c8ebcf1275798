//! splice(2) and tee(2): moving data between a pipe and another file without a user buffer,
//! and the helpers that sendfile(2) and copy_file_range(2) ([`super::sendfile`]) share.
//!
//! oxv moves the bytes through a kernel buffer rather than lending pages to the pipe, with the
//! semantics of Linux's `fs/splice.c`:
//!
//! - splice needs a pipe on at least one side (`EINVAL` otherwise); an offset pointer for a
//!   pipe side is `ESPIPE`; a pipe spliced to itself is `EINVAL`; the file side must be open
//!   for reading (input) or writing (output), else `EBADF`; an `O_APPEND` output is `EINVAL`;
//!   a negative offset is `EINVAL`; `len == 0` returns 0 before anything is checked; unknown
//!   flags are `EINVAL`.
//! - From a file into a pipe: waits for room in the pipe (`EAGAIN` with `SPLICE_F_NONBLOCK` or
//!   an `O_NONBLOCK` pipe), then moves as much as the pipe takes, up to `len`, in one go.
//! - From a pipe into a file: waits for data (0 once the pipe is empty and has no writer),
//!   then moves what the pipe holds, up to `len`, and no further than `RLIMIT_FSIZE` (see
//!   [`crate::fsize`]) for a regular file. oxv checks the limit before waiting, so at the
//!   limit an empty pipe is `EFBIG` (and `SIGXFSZ`) at once where Linux would wait first.
//! - Pipe to pipe: waits for input, then for room, then moves what fits.
//! - A pipe without readers is `EPIPE` (the kernel also raises `SIGPIPE`, as for write(2)).
//!
//! Only files that Linux can splice take part: regular files and devices through a path,
//! sockets, and pipes; an eventfd or a directory is `EINVAL`.
//!
//! vmsplice(2) copies between user memory and a pipe (Linux lends the user pages instead;
//! `SPLICE_F_GIFT` is accepted and changes nothing, as Linux no longer steals gifted pages):
//!
//! - unknown flags `EINVAL`; then the fd: closed or `O_PATH` `EBADF`; open for writing means
//!   user → pipe, else open for reading means pipe → user; then the vector as readv(2)
//!   (more than `UIO_MAXIOV` segments `EINVAL`, `EFAULT`); a vector of 0 bytes returns 0 even
//!   for an fd that is not a pipe; then an fd that is not a pipe is `EBADF`.
//! - user → pipe: waits for a free slot (only `SPLICE_F_NONBLOCK` makes it `EAGAIN`: Linux
//!   ignores `O_NONBLOCK` here), then puts each piece of the vector that lies within one user
//!   page into a slot of its own, as Linux's `iter_to_pipe` does with the pages, until the
//!   pipe is full; later writes never append to those slots. `EPIPE` (and `SIGPIPE`) with no
//!   reader.
//! - pipe → user: as readv(2) on the pipe, except that only `SPLICE_F_NONBLOCK` (not
//!   `O_NONBLOCK`) keeps it from waiting for data; 0 at end of file.
//!
//! tee(2) copies from one pipe to another without consuming: unknown flags `EINVAL`, `len`
//! 0 returns 0, then `EBADF` for the fds or their access modes, `EINVAL` unless they are
//! two different pipes. It waits for input (0 once the input is empty without writers),
//! then for room in the output (`EPIPE` and `SIGPIPE` without readers); `SPLICE_F_NONBLOCK`
//! or `O_NONBLOCK` on either pipe makes those `EAGAIN`. Then each input slot, up to `len`
//! bytes in all, becomes one output slot that later writes do not append to, until the
//! output is full (Linux's `link_pipe`, which shares the pages instead of copying).

use super::io_file;
use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::fsize::{check_write, exceeded};
use crate::io::{ReadBuf, WriteBuf, WritePos};
use crate::node::FileKind;
use crate::pipe::{PIPE_BUF, PipeEnd, SLOT_SIZE};
use crate::readiness::wait_until_ready;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{Iovec, MAX_RW_COUNT, OpenFlags, PollEvents};
use oxv_abi::{Errno, SysResult, UserBuf, UserMemory, UserPtr};

/// `SPLICE_F_MOVE` (<linux/splice.h>, not in linux-raw-sys).
pub const SPLICE_F_MOVE: u32 = 1;
/// `SPLICE_F_NONBLOCK`.
pub const SPLICE_F_NONBLOCK: u32 = 2;
/// `SPLICE_F_MORE`.
pub const SPLICE_F_MORE: u32 = 4;
/// `SPLICE_F_GIFT`.
pub const SPLICE_F_GIFT: u32 = 8;
/// Every splice flag.
const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/// The most bytes moved through the kernel buffer at a time.
pub(super) const CHUNK: usize = 64 * 1024;

/// The pipe behind `file`, if it is a pipe end.
pub(super) fn pipe_end(file: &OpenFile) -> Option<&PipeEnd> {
    file.ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<PipeEnd>())
}

/// Whether Linux could splice to or from `file` (it has `splice_read`/`splice_write`):
/// regular files and devices opened through a path, and sockets.
pub(super) fn can_splice(file: &OpenFile) -> Result<bool, Errno> {
    let kind = file.stat()?.kind;
    Ok(match kind {
        FileKind::Regular | FileKind::CharDevice | FileKind::BlockDevice => {
            file.location().is_some()
        }
        FileKind::Socket => true,
        _ => false,
    })
}

/// Linux's `rw_verify_area` for `count` bytes at `pos`: a count that is negative as a
/// `ssize_t`, a negative position or one that overflows with the count is `EINVAL`.
pub(super) fn verify_area(pos: i64, count: usize) -> Result<(), Errno> {
    if count > i64::MAX as usize || pos < 0 || pos.checked_add(count as i64).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes of `file` at `pos` (ignored by streams).
pub(super) fn read_at(file: &OpenFile, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let nonblocking = file.is_nonblocking();
    file.ops().read(pos, &mut ReadBuf::kernel(buf), nonblocking)
}

/// Writes all of `data` to `file` at `pos` (ignored by streams); short only on an error after
/// some bytes.
pub(super) fn write_all_at(file: &OpenFile, pos: u64, data: &[u8]) -> Result<usize, Errno> {
    let nonblocking = file.is_nonblocking();
    let mut done = 0;
    while done < data.len() {
        let at = WritePos::At(pos + done as u64);
        match file
            .ops()
            .write(at, &WriteBuf::kernel(&data[done..]), nonblocking)
        {
            Ok(w) if w.count == 0 => break,
            Ok(w) => done += w.count,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Waits (unless `nonblocking`) until `pipe`'s write end has room: `EPIPE` once it has no
/// reader.
fn wait_for_room(blocker: &dyn Blocker, out: &OpenFile, nonblocking: bool) -> Result<(), Errno> {
    let queue = out.ops().poll_queue().ok_or(Errno::EINVAL)?;
    wait_until_ready(blocker, queue, PollEvents::OUT, nonblocking, || {
        let ev = out.ops().poll();
        if ev.contains(PollEvents::ERR) {
            Err(Errno::EPIPE)
        } else if ev.contains(PollEvents::OUT) {
            Ok(())
        } else {
            Err(Errno::EAGAIN)
        }
    })
}

/// Moves up to `len` bytes of `input` at `*pos` into the pipe `out` (Linux's
/// `splice_file_to_pipe`): waits for room, then moves what the pipe takes in one go.
/// Advances `*pos` by the count.
pub(super) fn file_to_pipe(
    blocker: &dyn Blocker,
    input: &OpenFile,
    pos: &mut u64,
    out: &OpenFile,
    len: usize,
    nonblocking: bool,
) -> SysResult {
    let end = pipe_end(out).ok_or(Errno::EINVAL)?;
    let pipe = end.pipe();
    wait_for_room(blocker, out, nonblocking)?;
    // A stream's bytes cannot be read again: take no more than one free slot surely holds.
    let room = if input.ops().is_positioned() {
        pipe.capacity()
            .saturating_sub(pipe.bytes_readable())
            .max(PIPE_BUF)
    } else {
        PIPE_BUF
    };
    let mut buf = vec![0u8; len.min(room).min(CHUNK)];
    let got = read_at(input, *pos, &mut buf)?;
    if got == 0 {
        return Ok(0);
    }
    let w = out
        .ops()
        .write(WritePos::At(0), &WriteBuf::kernel(&buf[..got]), true)?
        .count;
    *pos += w as u64;
    Ok(w)
}

/// Moves what the pipe `input` holds, up to `len` bytes, to `out` at `pos` (Linux's
/// `do_splice_from`): waits for data unless `nonblocking`; 0 at end of file.
pub(super) fn pipe_to_file(
    input: &OpenFile,
    out: &OpenFile,
    pos: u64,
    len: usize,
    nonblocking: bool,
) -> SysResult {
    let end = pipe_end(input).ok_or(Errno::EINVAL)?;
    let mut buf = vec![0u8; len.min(end.pipe().capacity()).min(CHUNK)];
    let got = input
        .ops()
        .read(0, &mut ReadBuf::kernel(&mut buf), nonblocking)?;
    if got == 0 {
        return Ok(0);
    }
    write_all_at(out, pos, &buf[..got])
}

/// Pipe to pipe (Linux's `splice_pipe_to_pipe`): waits for input, then for room in the
/// output, then moves what fits, up to `len`.
fn pipe_to_pipe(
    blocker: &dyn Blocker,
    input: &OpenFile,
    out: &OpenFile,
    len: usize,
    nonblocking: bool,
) -> SysResult {
    let (Some(ie), Some(oe)) = (pipe_end(input), pipe_end(out)) else {
        return Err(Errno::EINVAL);
    };
    let iq = input.ops().poll_queue().ok_or(Errno::EINVAL)?;
    let has_input = wait_until_ready(blocker, iq, PollEvents::IN, nonblocking, || {
        let ev = input.ops().poll();
        if ev.contains(PollEvents::IN) {
            Ok(true)
        } else if ev.contains(PollEvents::HUP) {
            Ok(false)
        } else {
            Err(Errno::EAGAIN)
        }
    })?;
    if !has_input {
        return Ok(0);
    }
    wait_for_room(blocker, out, nonblocking)?;
    let (ip, op) = (ie.pipe(), oe.pipe());
    let room = op
        .capacity()
        .saturating_sub(op.bytes_readable())
        .max(PIPE_BUF);
    let mut buf = vec![0u8; len.min(room).min(ip.bytes_readable()).min(CHUNK)];
    let got = input.ops().read(0, &mut ReadBuf::kernel(&mut buf), true)?;
    let mut done = out
        .ops()
        .write(WritePos::At(0), &WriteBuf::kernel(&buf[..got]), true)?
        .count;
    if done < got {
        // The room was partly in slots that were not free after all: the rest waits for it,
        // rather than being lost.
        done += out
            .ops()
            .write(WritePos::At(0), &WriteBuf::kernel(&buf[done..got]), false)?
            .count;
    }
    Ok(done)
}

/// Reads a `loff_t` argument: `EFAULT`.
fn read_offset(mem: &dyn UserMemory, p: UserPtr<i64>) -> Result<Option<i64>, Errno> {
    if p.is_null() {
        Ok(None)
    } else {
        Ok(Some(p.read(mem)?))
    }
}

/// splice(2).
#[allow(clippy::too_many_arguments)]
pub fn splice(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fd_in: i32,
    off_in: UserPtr<i64>,
    fd_out: i32,
    off_out: UserPtr<i64>,
    len: usize,
    flags: u32,
) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = io_file(files, fd_in)?;
    let out = io_file(files, fd_out)?;
    let (ipipe, opipe) = (pipe_end(&input).is_some(), pipe_end(&out).is_some());
    if (ipipe && !off_in.is_null()) || (opipe && !off_out.is_null()) {
        return Err(Errno::ESPIPE);
    }
    let o_out = read_offset(mem, off_out)?;
    let o_in = read_offset(mem, off_in)?;
    if !input.is_readable() || !out.is_writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT);
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    match (ipipe, opipe) {
        (true, true) => {
            let (ie, oe) = (pipe_end(&input), pipe_end(&out));
            if let (Some(a), Some(b)) = (ie, oe)
                && alloc::sync::Arc::ptr_eq(a.pipe(), b.pipe())
            {
                return Err(Errno::EINVAL);
            }
            let nb = nonblocking || input.is_nonblocking() || out.is_nonblocking();
            pipe_to_pipe(blocker, &input, &out, len, nb)
        }
        (true, false) => {
            if o_out.is_some() && !out.ops().is_positioned() {
                return Err(Errno::EINVAL);
            }
            if out.flags().contains(OpenFlags::APPEND) {
                return Err(Errno::EINVAL);
            }
            let pos = o_out.unwrap_or(out.position() as i64);
            verify_area(pos, len)?;
            if !can_splice(&out)? {
                return Err(Errno::EINVAL);
            }
            // Before the pipe is read, so that what the limit refuses stays in it.
            let room = check_write(files, &out, pos as u64, len)?;
            let nb = nonblocking || input.is_nonblocking();
            let n = pipe_to_file(&input, &out, pos as u64, room, nb)?;
            let left_in_pipe = pipe_end(&input).is_some_and(|e| e.pipe().bytes_readable() > 0);
            if room < len && n == room && left_in_pipe {
                exceeded();
            }
            let new = pos as u64 + n as u64;
            match o_out {
                Some(_) => off_out.write(mem, &(new as i64))?,
                None if out.ops().is_positioned() => *out.lock_position() = new,
                None => {}
            }
            Ok(n)
        }
        (false, true) => {
            if o_in.is_some() && !input.ops().is_positioned() {
                return Err(Errno::EINVAL);
            }
            let start = o_in.unwrap_or(input.position() as i64);
            verify_area(start, len)?;
            if !can_splice(&input)? {
                return Err(Errno::EINVAL);
            }
            let nb = nonblocking || out.is_nonblocking();
            let mut pos = start as u64;
            let n = file_to_pipe(blocker, &input, &mut pos, &out, len, nb)?;
            match o_in {
                Some(_) => off_in.write(mem, &(pos as i64))?,
                None if input.ops().is_positioned() => *input.lock_position() = pos,
                None => {}
            }
            Ok(n)
        }
        (false, false) => Err(Errno::EINVAL),
    }
}

/// tee(2): see the [module docs](self).
pub fn tee(
    files: &FdTable,
    blocker: &dyn Blocker,
    fd_in: i32,
    fd_out: i32,
    len: usize,
    flags: u32,
) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let input = io_file(files, fd_in)?;
    let out = io_file(files, fd_out)?;
    if !input.is_readable() || !out.is_writable() {
        return Err(Errno::EBADF);
    }
    let (ie, oe) = match (pipe_end(&input), pipe_end(&out)) {
        (Some(a), Some(b)) if !alloc::sync::Arc::ptr_eq(a.pipe(), b.pipe()) => (a, b),
        _ => return Err(Errno::EINVAL),
    };
    let nonblocking =
        flags & SPLICE_F_NONBLOCK != 0 || input.is_nonblocking() || out.is_nonblocking();
    let iq = input.ops().poll_queue().ok_or(Errno::EINVAL)?;
    loop {
        let has_input = wait_until_ready(blocker, iq, PollEvents::IN, nonblocking, || {
            let ev = input.ops().poll();
            if ev.contains(PollEvents::IN) {
                Ok(true)
            } else if ev.contains(PollEvents::HUP) {
                Ok(false)
            } else {
                Err(Errno::EAGAIN)
            }
        })?;
        if !has_input {
            return Ok(0);
        }
        wait_for_room(blocker, &out, nonblocking)?;
        let pieces = ie.pipe().peek_pieces(len, oe.pipe().free_slots());
        match oe.pipe().push_pieces(&pieces) {
            // A reader of the input or a writer of the output came in between: wait again.
            Ok(0) | Err(Errno::EAGAIN) => continue,
            r => return r,
        }
    }
}

/// vmsplice(2): see the [module docs](self).
pub fn vmsplice(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fd: i32,
    iov: UserPtr<Iovec>,
    nr_segs: u64,
    flags: u32,
) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let file = io_file(files, fd)?;
    let to_pipe = if file.is_writable() {
        true
    } else if file.is_readable() {
        false
    } else {
        return Err(Errno::EBADF);
    };
    let segs = super::read_write::import_iovec(mem, iov, nr_segs)?;
    if segs.is_empty() {
        return Ok(0);
    }
    let end = pipe_end(&file).ok_or(Errno::EBADF)?;
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    if to_pipe {
        user_to_pipe(blocker, &file, end, mem, &segs, nonblocking)
    } else {
        pipe_to_user(&file, mem, &segs, nonblocking)
    }
}

/// vmsplice(2) into a pipe: waits for a free slot, then fills slots with the vector's
/// page-bounded pieces.
fn user_to_pipe(
    blocker: &dyn Blocker,
    file: &OpenFile,
    end: &PipeEnd,
    mem: &dyn UserMemory,
    segs: &[UserBuf],
    nonblocking: bool,
) -> SysResult {
    loop {
        wait_for_room(blocker, file, nonblocking)?;
        let pieces = copy_pieces(mem, segs, end.pipe().free_slots())?;
        match end.pipe().push_pieces(&pieces) {
            // Another writer took the room between the wait and the push: wait again.
            Err(Errno::EAGAIN) => continue,
            r => return r,
        }
    }
}

/// Copies in up to `max` pieces of `segs`, each the part of a segment within one user page
/// (what Linux puts in one pipe slot). A fault ends the pieces; `EFAULT` if it hit the first.
fn copy_pieces(mem: &dyn UserMemory, segs: &[UserBuf], max: usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut pieces = Vec::new();
    for seg in segs {
        let mut at = seg.addr.get();
        let end = at + seg.len as u64;
        while at < end {
            if pieces.len() == max.max(1) {
                return Ok(pieces);
            }
            let page_end = (at / SLOT_SIZE as u64 + 1) * SLOT_SIZE as u64;
            let len = (page_end.min(end) - at) as usize;
            let mut piece = vec![0u8; len];
            if mem.copy_in(oxv_abi::UserAddr::new(at), &mut piece).is_err() {
                if pieces.is_empty() {
                    return Err(Errno::EFAULT);
                }
                return Ok(pieces);
            }
            pieces.push(piece);
            at += len as u64;
        }
    }
    Ok(pieces)
}

/// vmsplice(2) out of a pipe: the first segment waits for data unless `nonblocking`, the
/// rest take only what is there.
fn pipe_to_user(
    file: &OpenFile,
    mem: &mut dyn UserMemory,
    segs: &[UserBuf],
    nonblocking: bool,
) -> SysResult {
    let mut total = 0usize;
    for &seg in segs {
        let r = file.ops().read(
            0,
            &mut ReadBuf::user(&mut *mem, seg),
            nonblocking || total > 0,
        );
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
