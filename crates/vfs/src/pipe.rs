//! Pipes: pipe(7), as Linux's `fs/pipe.c` keeps them.
//!
//! A [`Pipe`] is a ring of page-sized buffers ("slots"): 16 slots (64 KiB) by default, from one
//! page up to any power of two with `F_SETPIPE_SZ`. Data is kept in the slots the way Linux
//! keeps it, because the slot count, not the byte count, decides when a writer blocks:
//!
//! - a write first puts its sub-page remainder (`len % 4096` bytes) into the last slot if the
//!   whole remainder fits there, then fills fresh slots a page at a time;
//! - so a write of at most `PIPE_BUF` (4096) bytes is atomic: it lands whole in one slot, or
//!   waits (`EAGAIN` when non-blocking) until it can; a larger write may be split, and a
//!   non-blocking one returns the bytes that fit (`EAGAIN` if none did);
//! - a read takes what is there (at least one byte, blocking while the pipe is empty and has
//!   writers) and returns 0 at end of file: empty and no writer left;
//! - a write with no reader left fails with `EPIPE`. Linux also sends `SIGPIPE` to the writing
//!   thread; the VFS owns no signals, so the embedder raises it for every `EPIPE` that
//!   write(2), writev(2), pwrite(2) or pwritev(2) return (see [`raises_sigpipe`]);
//! - `O_DIRECT` ("packet mode", pipe2(2)) makes each write of up to `PIPE_BUF` bytes a packet
//!   of its own, and a read returns one packet, dropping what does not fit in the buffer.
//!
//! Readiness ([`crate::readiness`]): the read end is `IN` with data and `HUP` once the last
//! writer is gone; the write end is `OUT` while a slot is free and `ERR` once the last reader
//! is gone. Closing an end (dropping its last [`OpenFile`]) is what counts,
//! so an end shared by dup(2) or fork(2) stays open until every copy is closed.
//!
//! Not here: named pipes (FIFOs opened by path); splice(2), tee(2) and vmsplice(2) are in
//! [`crate::syscalls::splice`] (vmsplice's own slots come from [`Pipe::push_pieces`]).

use crate::blocker::Blocker;
use crate::file::{FileOps, OpenFile};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::{DeviceId, FileKind, Metadata};
use crate::readiness::{PollQueue, Waiter, wait_until_ready};
use crate::time::Timestamp;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::linux::fs::{FIONREAD, OpenFlags, PollEvents};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use spin::Mutex;

/// Bytes a write is guaranteed atomic up to (`PIPE_BUF`).
pub const PIPE_BUF: usize = linux_raw_sys::general::PIPE_BUF as usize;
/// The size of one slot: a page.
pub const SLOT_SIZE: usize = 4096;
/// Slots of a new pipe (Linux's `PIPE_DEF_BUFFERS`).
pub const DEFAULT_SLOTS: usize = 16;
/// The capacity of a new pipe: 64 KiB.
pub const DEFAULT_CAPACITY: usize = DEFAULT_SLOTS * SLOT_SIZE;
/// The largest size `F_SETPIPE_SZ` can ask for: sizes above 2^31 round to nothing
/// (`EINVAL`), as in Linux's `round_pipe_size`.
pub const MAX_REQUEST: u64 = 1 << 31;

const _: () = assert!(PIPE_BUF <= SLOT_SIZE, "a PIPE_BUF write fits in one slot");

/// The device number fstat(2) shows for pipes (Linux's pipefs is an anonymous device).
pub const PIPEFS_DEVICE: DeviceId = DeviceId::new(0, 14);

/// Whether a write-family call's result means Linux would also have sent `SIGPIPE` to the
/// caller: an `EPIPE` from write(2), writev(2), pwrite64(2) or pwritev(2) (only pipes, and
/// later sockets, return it). The embedder raises the signal; this crate has none.
pub fn raises_sigpipe(result: &SysResult) -> bool {
    *result == Err(Errno::EPIPE)
}

/// One slot: a page and the part of it that holds unread data.
struct Slot {
    page: Box<[u8]>,
    start: usize,
    end: usize,
    /// A later write may append to it (not in packet mode, not from vmsplice(2)).
    mergeable: bool,
    /// A packet (`O_DIRECT`): read whole, or its rest is dropped.
    packet: bool,
}

impl Slot {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

struct State {
    slots: VecDeque<Slot>,
    max_slots: usize,
    bytes: usize,
    readers: usize,
    writers: usize,
    /// A drained slot's page, kept for the next write (as Linux keeps `tmp_page`), so a pipe
    /// in steady use allocates nothing.
    spare: Option<Box<[u8]>>,
}

impl State {
    fn is_full(&self) -> bool {
        self.slots.len() >= self.max_slots
    }

    /// A slot with an empty page, or `ENOMEM` (as Linux's `pipe_write` when `alloc_page`
    /// fails): a write that runs the kernel out of memory stops short instead of taking the
    /// kernel down.
    fn new_slot(&mut self, mergeable: bool, packet: bool) -> Result<Slot, Errno> {
        let page = match self.spare.take() {
            Some(page) => page,
            None => {
                let mut page = Vec::new();
                page.try_reserve_exact(SLOT_SIZE)
                    .map_err(|_| Errno::ENOMEM)?;
                page.resize(SLOT_SIZE, 0u8);
                page.into_boxed_slice()
            }
        };
        Ok(Slot {
            page,
            start: 0,
            end: 0,
            mergeable,
            packet,
        })
    }

    fn pop_slot(&mut self) {
        if let Some(slot) = self.slots.pop_front() {
            if self.spare.is_none() {
                self.spare = Some(slot.page);
            }
        }
    }
}

/// The shared part of a pipe: the buffer, the counts of open ends, the readiness queue.
pub struct Pipe {
    state: Mutex<State>,
    queue: PollQueue,
    blocker: Arc<dyn Blocker>,
    created: Timestamp,
}

/// What a read or write attempt found, with what to announce once the lock is released.
struct Outcome<T> {
    result: Result<T, Errno>,
    announce: PollEvents,
}

impl Pipe {
    /// A new pipe with no ends yet; readers and writers are made by [`Pipe::open_ends`].
    /// `blocker` is how its ends wait; `now` stamps fstat(2)'s times.
    pub fn new(blocker: Arc<dyn Blocker>, now: Timestamp) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(State {
                slots: VecDeque::new(),
                max_slots: DEFAULT_SLOTS,
                bytes: 0,
                readers: 0,
                writers: 0,
                spare: None,
            }),
            queue: PollQueue::new(),
            blocker,
            created: now,
        })
    }

    /// The two open files of a new pipe(2): the read end and the write end. `flags` may hold
    /// `O_NONBLOCK` (both ends get it) and `O_DIRECT` (the write end); other bits are ignored.
    pub fn open_ends(self: &Arc<Self>, flags: OpenFlags) -> (Arc<OpenFile>, Arc<OpenFile>) {
        let kept = flags & (OpenFlags::NONBLOCK | OpenFlags::DIRECT);
        let packet = kept.contains(OpenFlags::DIRECT);
        {
            let mut st = self.state.lock();
            st.readers += 1;
            st.writers += 1;
        }
        let reader = Arc::new(PipeEnd {
            pipe: self.clone(),
            role: Role::Read,
            packet,
        });
        let writer = Arc::new(PipeEnd {
            pipe: self.clone(),
            role: Role::Write,
            packet,
        });
        // As Linux's create_pipe_files: only the write end shows O_DIRECT (packets are the
        // writer's doing; a read takes one whatever the reader's flags).
        (
            OpenFile::new_pseudo(reader, kept - OpenFlags::DIRECT),
            OpenFile::new_pseudo(writer, OpenFlags::WRONLY | kept),
        )
    }

    /// The capacity in bytes (`F_GETPIPE_SZ`).
    pub fn capacity(&self) -> usize {
        self.state.lock().max_slots * SLOT_SIZE
    }

    /// `F_SETPIPE_SZ`: rounds `bytes` up to a power-of-two number of pages (at least one) and
    /// makes that the capacity; returns it. `EINVAL` above 2^31 bytes, `EBUSY` if the data
    /// held needs more slots than that.
    pub fn set_capacity(&self, bytes: u64) -> Result<usize, Errno> {
        if bytes > MAX_REQUEST {
            return Err(Errno::EINVAL);
        }
        let pages = (bytes as usize)
            .div_ceil(SLOT_SIZE)
            .max(1)
            .next_power_of_two();
        let grew = {
            let mut st = self.state.lock();
            if pages < st.slots.len() {
                return Err(Errno::EBUSY);
            }
            let grew = pages > st.max_slots;
            st.max_slots = pages;
            grew
        };
        if grew {
            self.queue.notify(PollEvents::OUT | PollEvents::WRNORM);
        }
        Ok(pages * SLOT_SIZE)
    }

    /// Slots not holding data: how many more separate pieces [`Pipe::push_pieces`] could
    /// take now.
    pub fn free_slots(&self) -> usize {
        let st = self.state.lock();
        st.max_slots.saturating_sub(st.slots.len())
    }

    /// Puts each of `pieces` (at most a slot each) into a fresh slot of its own, which later
    /// writes never append to, until the pipe is full: how vmsplice(2) adds user pages to a
    /// pipe (Linux's `add_to_pipe`), copied here instead of lent. Returns the bytes taken;
    /// `EAGAIN` if the pipe was full, `EPIPE` if it has no reader.
    pub fn push_pieces(&self, pieces: &[Vec<u8>]) -> Result<usize, Errno> {
        let mut done = 0usize;
        let result = {
            let mut st = self.state.lock();
            if st.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let mut result = Ok(());
            for piece in pieces {
                debug_assert!(piece.len() <= SLOT_SIZE, "a piece fits in one slot");
                if piece.is_empty() {
                    continue;
                }
                if st.is_full() {
                    break;
                }
                let mut slot = match st.new_slot(false, false) {
                    Ok(slot) => slot,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                };
                let len = piece.len().min(SLOT_SIZE);
                slot.page[..len].copy_from_slice(&piece[..len]);
                slot.end = len;
                st.bytes += len;
                st.slots.push_back(slot);
                done += len;
            }
            result
        };
        if done > 0 {
            self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
            return Ok(done);
        }
        result?;
        if pieces.iter().all(|p| p.is_empty()) {
            Ok(0)
        } else {
            Err(Errno::EAGAIN)
        }
    }

    /// Copies of the data of the first slots, one piece per slot, at most `max_bytes` in all
    /// (the last piece cut short) and at most `max_slots` pieces, without consuming them: what
    /// tee(2) duplicates (Linux's `link_pipe`, which shares the buffers instead).
    pub fn peek_pieces(&self, max_bytes: usize, max_slots: usize) -> Vec<Vec<u8>> {
        let st = self.state.lock();
        let mut left = max_bytes;
        let mut pieces = Vec::new();
        for slot in st.slots.iter().take(max_slots) {
            if left == 0 {
                break;
            }
            let n = slot.len().min(left);
            pieces.push(slot.page[slot.start..slot.start + n].to_vec());
            left -= n;
        }
        pieces
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn bytes_readable(&self) -> usize {
        self.state.lock().bytes
    }

    fn try_read(&self, dst: &mut ReadBuf<'_>) -> Outcome<usize> {
        let mut st = self.state.lock();
        if st.slots.is_empty() {
            let result = if st.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
            return Outcome {
                result,
                announce: PollEvents::empty(),
            };
        }
        let was_full = st.is_full();
        let mut done = 0usize;
        let mut error = None;
        while done < dst.len() {
            let Some(slot) = st.slots.front_mut() else {
                break;
            };
            let want = slot.len().min(dst.len() - done);
            let got = match dst.fill(done, &slot.page[slot.start..slot.start + want]) {
                Ok(n) => n,
                Err(e) => {
                    error = Some(e);
                    0
                }
            };
            slot.start += got;
            done += got;
            let is_packet = slot.packet;
            let drained = slot.len() == 0;
            if drained || (is_packet && got > 0) {
                // A packet is read whole or its rest is dropped.
                let left = slot.len();
                st.pop_slot();
                st.bytes -= left;
            }
            st.bytes -= got;
            if got < want || is_packet {
                break;
            }
        }
        let freed = was_full && !st.is_full();
        drop(st);
        Outcome {
            result: match error {
                Some(e) if done == 0 => Err(e),
                _ => Ok(done),
            },
            announce: if freed || done > 0 {
                PollEvents::OUT | PollEvents::WRNORM
            } else {
                PollEvents::empty()
            },
        }
    }

    /// Writes what it can of `src[*done..]` without waiting. `Ok(true)`: all written;
    /// `Ok(false)`: the pipe is full; `Err`: `EPIPE`, a fault or `ENOMEM` (the count stands
    /// if something was written).
    fn try_write(
        &self,
        src: &WriteBuf<'_>,
        done: &mut usize,
        first: bool,
        packet: bool,
    ) -> Result<bool, Errno> {
        let total = src.len();
        let mut st = self.state.lock();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        // The sub-page remainder goes into the last slot if it fits whole (Linux merges only
        // on a write's first pass).
        let chars = total % SLOT_SIZE;
        if first && chars != 0 && !packet {
            if let Some(last) = st.slots.back_mut() {
                if last.mergeable && last.end + chars <= SLOT_SIZE {
                    let end = last.end;
                    let got = src.fetch(0, &mut last.page[end..end + chars])?;
                    last.end += got;
                    st.bytes += got;
                    *done += got;
                    if got < chars {
                        return Err(Errno::EFAULT);
                    }
                }
            }
        }
        while *done < total {
            if st.is_full() {
                return Ok(false);
            }
            if self.blocker.fatal_signal_pending() {
                // Being killed: no more pages for a write whose count the app never sees
                // (they would stay allocated until its last reader is gone).
                return Err(Errno::EINTR);
            }
            let mut slot = st.new_slot(!packet, packet)?;
            let want = (total - *done).min(SLOT_SIZE);
            let got = src.fetch(*done, &mut slot.page[..want])?;
            slot.end = got;
            st.bytes += got;
            st.slots.push_back(slot);
            *done += got;
            if got < want {
                return Err(Errno::EFAULT);
            }
        }
        Ok(true)
    }

    fn write(&self, src: &WriteBuf<'_>, nonblocking: bool, packet: bool) -> Result<usize, Errno> {
        if src.is_empty() {
            return Ok(0);
        }
        let atomic = src.len() <= PIPE_BUF;
        let mut done = 0usize;
        let mut first = true;
        let mut waiter: Option<(Arc<Waiter>, crate::readiness::Watch)> = None;
        loop {
            if let Some((w, _)) = &waiter {
                w.reset();
            }
            let before = done;
            let r = self.try_write(src, &mut done, first, packet);
            first = false;
            if done > before {
                self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
            }
            match r {
                Ok(true) => return Ok(done),
                Ok(false) => {}
                Err(e) if done == 0 => return Err(e),
                // A fault or a vanished reader after some bytes: the count.
                Err(_) => return Ok(done),
            }
            debug_assert!(!atomic || done == 0, "small writes land whole");
            if nonblocking {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            match &waiter {
                None => {
                    // Register, then look again before sleeping.
                    let w = Waiter::new(&*self.blocker);
                    let watch = w.watch(&self.queue, PollEvents::OUT);
                    waiter = Some((w, watch));
                }
                Some((w, _)) => {
                    if let Err(e) = w.sleep(None) {
                        return if done > 0 { Ok(done) } else { Err(e) };
                    }
                }
            }
        }
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Role {
    Read,
    Write,
}

/// One end of a pipe, as an open file's behaviour. Dropping the last reference closes it.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    role: Role,
    packet: bool,
}

impl PipeEnd {
    /// The pipe this is an end of.
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Whether this is the read end.
    pub fn is_read_end(&self) -> bool {
        self.role == Role::Read
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let announce = {
            let mut st = self.pipe.state.lock();
            match self.role {
                Role::Read => {
                    st.readers -= 1;
                    (st.readers == 0).then_some(PollEvents::OUT | PollEvents::ERR)
                }
                Role::Write => {
                    st.writers -= 1;
                    (st.writers == 0).then_some(PollEvents::IN | PollEvents::HUP)
                }
            }
        };
        if let Some(ev) = announce {
            self.pipe.queue.notify(ev);
        }
    }
}

impl FileOps for PipeEnd {
    /// Blocks while the pipe is empty and has a writer, unless `nonblocking`.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        if self.role != Role::Read {
            return Err(Errno::EBADF);
        }
        if dst.is_empty() {
            return Ok(0);
        }
        let pipe = &*self.pipe;
        wait_until_ready(
            &*pipe.blocker,
            &pipe.queue,
            PollEvents::IN,
            nonblocking,
            || {
                let o = pipe.try_read(dst);
                if !o.announce.is_empty() {
                    pipe.queue.notify(o.announce);
                }
                o.result
            },
        )
    }

    /// Blocks while the pipe is full, unless `nonblocking`.
    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        if self.role != Role::Write {
            return Err(Errno::EBADF);
        }
        let count = self.pipe.write(src, nonblocking, self.packet)?;
        Ok(Written { count, end: 0 })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(Metadata {
            dev: PIPEFS_DEVICE,
            // Unique among live pipes, which is all Linux promises of a pipefs inode number.
            ino: (Arc::as_ptr(&self.pipe) as usize as u64) >> 4,
            kind: FileKind::Fifo,
            perm: 0o600,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: DeviceId::default(),
            size: 0,
            blocks: 0,
            blksize: SLOT_SIZE as u32,
            atime: self.pipe.created,
            mtime: self.pipe.created,
            ctime: self.pipe.created,
        })
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if request != FIONREAD {
            return Err(Errno::ENOTTY);
        }
        let n = self.pipe.bytes_readable().min(i32::MAX as usize) as i32;
        UserPtr::<i32>::new(arg).write(mem, &n)?;
        Ok(0)
    }

    fn poll(&self) -> PollEvents {
        let st = self.pipe.state.lock();
        let mut ev = PollEvents::empty();
        match self.role {
            Role::Read => {
                if st.bytes > 0 {
                    ev |= PollEvents::IN | PollEvents::RDNORM;
                }
                if st.writers == 0 {
                    ev |= PollEvents::HUP;
                }
            }
            Role::Write => {
                if !st.is_full() {
                    ev |= PollEvents::OUT | PollEvents::WRNORM;
                }
                if st.readers == 0 {
                    ev |= PollEvents::ERR;
                }
            }
        }
        ev
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.pipe.queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
