//! Open files: [`FileOps`] (what a kind of open file does) and [`OpenFile`] (Linux's
//! `struct file`, the open file description that fds share).
//!
//! An [`OpenFile`] is created by open(2) and shared by every fd dup(2)ed from it: they share
//! one offset and one set of status flags (`O_APPEND`, `O_NONBLOCK`), and the access mode fixed
//! at open. `FD_CLOEXEC` is not here; it belongs to the fd ([`FdTable`](crate::FdTable)).
//!
//! [`FileOps`] is the behaviour behind it, implemented by regular files and directories here
//! ([`RegularFile`], [`DirectoryFile`] over any [`Inode`]), by devices
//! ([`TerminalFile`](crate::device::TerminalFile), `/dev/null`...), and later by pipes and
//! sockets. Offsets are the `OpenFile`'s business: a file that says it is
//! [positioned](FileOps::is_positioned) gets reads and writes at the shared offset, which the
//! `OpenFile` advances under its lock; a stream (tty, pipe) ignores offsets, and pread(2),
//! pwrite(2) and lseek(2) on it are `ESPIPE`.

use crate::inotify::{self, Entry};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::locks::InodeLocks;
use crate::mount::Location;
use crate::node::{DirSink, Inode, Metadata, SetAttr};
use crate::readiness::PollQueue;
use crate::time::RealtimeClock;
use crate::write_access::WriteAccess;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};
use oxv_abi::linux::fs::{
    OpenFlags, PollEvents, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET,
};
use oxv_abi::{Errno, SysResult, UserMemory};
use spin::Mutex;

/// What an open file of some kind does. Defaults fail the way Linux does for a file without
/// the operation.
///
/// Methods may be called concurrently from several threads. A method blocks only where its doc
/// says so; a blocking method must honour `nonblocking` by returning `EAGAIN` instead.
pub trait FileOps: Send + Sync {
    /// Reads into `dst`. Positioned files read at `offset`; streams ignore it. Streams may
    /// block until data arrives unless `nonblocking`.
    fn read(&self, offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        let _ = (offset, dst, nonblocking);
        Err(Errno::EINVAL)
    }

    /// Writes `src`. Positioned files write at `pos`; streams ignore it.
    fn write(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        let _ = (pos, src, nonblocking);
        Err(Errno::EINVAL)
    }

    /// Whether reads and writes use the shared offset and pread(2)/pwrite(2) are allowed.
    fn is_positioned(&self) -> bool {
        false
    }

    /// The new offset for lseek(2) from `current` (`ESPIPE` if the file cannot seek).
    fn seek(&self, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
        let _ = (current, offset, whence);
        Err(Errno::ESPIPE)
    }

    /// Attributes, for fstat(2) on a file that was not opened through a path.
    fn stat(&self) -> Result<Metadata, Errno>;

    /// A device-specific ioctl(2) (`ENOTTY` if unknown). Generic requests (`FIONBIO`,
    /// `FIOCLEX`...) never get here.
    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        let _ = (request, arg, mem);
        Err(Errno::ENOTTY)
    }

    /// Readiness now, for poll(2): `IN`/`OUT` (and `RDNORM`/`WRNORM`), `HUP`, `ERR`. The
    /// default is a file that never blocks. Must not block.
    fn poll(&self) -> PollEvents {
        PollEvents::IN | PollEvents::OUT | PollEvents::RDNORM | PollEvents::WRNORM
    }

    /// The queue this file notifies when [`FileOps::poll`] may have changed (see
    /// [`crate::readiness`]). `None` (the default) is a file without a poll operation in
    /// Linux's sense (regular files, directories, `/dev/null`): poll(2) and select(2) see it
    /// always ready, and epoll_ctl(2) refuses it with `EPERM`.
    fn poll_queue(&self) -> Option<&PollQueue> {
        None
    }

    /// The file as [`Any`], for calls that only work on one kind of file (epoll_ctl(2) on an
    /// epoll fd, `F_GETPIPE_SZ` on a pipe, timerfd_settime(2)...). `None` by default.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }

    /// Directory listing from `cursor` (see [`Inode::read_dir`]); `ENOTDIR` for non-directories.
    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        let _ = (cursor, sink);
        Err(Errno::ENOTDIR)
    }

    /// ftruncate(2): sets the size (`EINVAL` for files that have none).
    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let _ = len;
        Err(Errno::EINVAL)
    }
}

/// lseek(2) arithmetic for a file of `size` bytes, as Linux's `generic_file_llseek`:
/// `SEEK_DATA`/`SEEK_HOLE` treat the whole file as data (`ENXIO` at or past the end), and a
/// negative result is `EINVAL`.
pub fn seek_in(size: u64, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
    let base: i128 = match whence {
        SEEK_SET => 0,
        SEEK_CUR => current as i128,
        SEEK_END => size as i128,
        SEEK_DATA | SEEK_HOLE => {
            if offset < 0 || offset as u64 >= size {
                return Err(Errno::ENXIO);
            }
            return Ok(if whence == SEEK_DATA {
                offset as u64
            } else {
                size
            });
        }
        _ => return Err(Errno::EINVAL),
    };
    let pos = base + offset as i128;
    if pos < 0 || pos > i64::MAX as i128 {
        return Err(Errno::EINVAL);
    }
    Ok(pos as u64)
}

/// Status flags F_SETFL may change (Linux's `SETFL_MASK`).
const SETFL_MASK: OpenFlags = OpenFlags::APPEND
    .union(OpenFlags::NONBLOCK)
    .union(OpenFlags::ASYNC)
    .union(OpenFlags::DIRECT)
    .union(OpenFlags::NOATIME);

/// The open(2) flags that only act during the open: not kept in the open file, so F_GETFL
/// does not show them (Linux drops them in `build_open_flags`/`do_dentry_open`).
const OPEN_ONLY: OpenFlags = OpenFlags::ACCMODE
    .union(OpenFlags::CREAT)
    .union(OpenFlags::EXCL)
    .union(OpenFlags::NOCTTY)
    .union(OpenFlags::TRUNC)
    .union(OpenFlags::CLOEXEC);

/// What an `O_PATH` file keeps.
const PATH_KEPT: OpenFlags = OpenFlags::PATH
    .union(OpenFlags::DIRECTORY)
    .union(OpenFlags::NOFOLLOW);

/// An open file description. See the [module docs](self).
pub struct OpenFile {
    ops: Arc<dyn FileOps>,
    location: Option<Location>,
    access: u32,
    path_only: bool,
    status: AtomicU32,
    pos: Mutex<u64>,
    /// The lock context of the inode, once this file took part in locking (see
    /// [`crate::locks`]): its OFD and flock(2) locks go when it is dropped.
    locks: Mutex<Option<Arc<InodeLocks>>>,
    /// The write access a regular file opened for writing holds while it is open (see
    /// [`crate::write_access`]).
    _writer: Option<WriteAccess>,
    /// The directory entry it was opened through, kept if inotify watches existed then: its
    /// directory hears this file's events (see [`crate::inotify`]).
    entry: Option<Box<Entry>>,
}

impl OpenFile {
    /// An open file over `ops`, opened with `flags` (access mode and status flags; creation
    /// flags are ignored). `location` is where it was opened, for fstat(2), fchdir(2) and use as
    /// a dirfd; `None` for files without a name (the console on fds 0-2, pipes).
    pub fn new(
        ops: Arc<dyn FileOps>,
        flags: OpenFlags,
        location: Option<Location>,
    ) -> Arc<OpenFile> {
        Self::with_access(ops, flags, location, None, None)
    }

    /// Like [`OpenFile::new`], holding `writer` (the inode's write access, see
    /// [`crate::write_access`]) until the file is dropped, and reporting its inotify events
    /// to the directory of `entry` too.
    pub fn with_access(
        ops: Arc<dyn FileOps>,
        flags: OpenFlags,
        location: Option<Location>,
        writer: Option<WriteAccess>,
        entry: Option<Entry>,
    ) -> Arc<OpenFile> {
        let path_only = flags.contains(OpenFlags::PATH);
        // Like 64-bit Linux, every open file but an O_PATH one has O_LARGEFILE; unknown bits
        // are dropped.
        let status = if path_only {
            flags & PATH_KEPT
        } else {
            (OpenFlags::from_bits_truncate(flags.bits()) - OPEN_ONLY) | OpenFlags::LARGEFILE
        };
        Arc::new(OpenFile {
            ops,
            location,
            access: if path_only { 0 } else { flags.access_bits() },
            path_only,
            status: AtomicU32::new(status.bits()),
            pos: Mutex::new(0),
            locks: Mutex::new(None),
            _writer: writer,
            entry: entry.map(Box::new),
        })
    }

    /// An open file with no name (a pipe end, an eventfd, an epoll instance), as Linux's
    /// `alloc_file_pseudo`/`anon_inode_getfile` make them: the access mode and status flags of
    /// `flags`, and no `O_LARGEFILE` (F_GETFL on a pipe shows just `O_RDONLY` or `O_WRONLY`).
    pub fn new_pseudo(ops: Arc<dyn FileOps>, flags: OpenFlags) -> Arc<OpenFile> {
        let status = OpenFlags::from_bits_truncate(flags.bits()) - OPEN_ONLY;
        Arc::new(OpenFile {
            ops,
            location: None,
            access: flags.access_bits(),
            path_only: false,
            status: AtomicU32::new(status.bits()),
            pos: Mutex::new(0),
            locks: Mutex::new(None),
            _writer: None,
            entry: None,
        })
    }

    /// Reports `event` about this file to inotify (see [`crate::inotify`]): nothing for a file
    /// without a name or an `O_PATH` file, and one atomic load while nothing is watched.
    pub fn notify(&self, event: u32) {
        let Some(loc) = &self.location else { return };
        let watches = loc.mount().watches();
        if watches.is_active() && !self.path_only {
            watches.inode_event(loc, self.entry.as_deref(), event);
        }
    }

    /// The lock context this file cached (see [`crate::locks`]), if it ever locked.
    pub fn lock_context(&self) -> Option<Arc<InodeLocks>> {
        self.locks.lock().clone()
    }

    /// Caches `ctx` as this file's lock context unless one is cached already; returns the
    /// cached one.
    pub fn cache_lock_context(&self, ctx: Arc<InodeLocks>) -> Arc<InodeLocks> {
        self.locks.lock().get_or_insert(ctx).clone()
    }

    /// The behaviour behind this file.
    pub fn ops(&self) -> &Arc<dyn FileOps> {
        &self.ops
    }

    /// Where it was opened, if through a path.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// The directory entry it was opened through, if inotify watches existed then.
    pub fn entry(&self) -> Option<&Entry> {
        self.entry.as_deref()
    }

    /// Whether this is an `O_PATH` file: a location only, no I/O.
    pub fn is_path_only(&self) -> bool {
        self.path_only
    }

    /// Whether read(2) is allowed (`O_RDONLY` or `O_RDWR`).
    pub fn is_readable(&self) -> bool {
        !self.path_only && (self.access == 0 || self.access == 2)
    }

    /// Whether write(2) is allowed (`O_WRONLY` or `O_RDWR`).
    pub fn is_writable(&self) -> bool {
        !self.path_only && (self.access == 1 || self.access == 2)
    }

    /// What F_GETFL reports: the access mode and the flags kept from open(2), as Linux keeps
    /// them: all but `O_CREAT`, `O_EXCL`, `O_NOCTTY`, `O_TRUNC` and `O_CLOEXEC`, plus
    /// `O_LARGEFILE`; for an `O_PATH` file, `O_PATH` with `O_DIRECTORY`/`O_NOFOLLOW`.
    pub fn flags(&self) -> OpenFlags {
        OpenFlags::from_bits_retain(self.access | self.status.load(Ordering::Relaxed))
    }

    /// F_SETFL: replaces the changeable status flags (`O_APPEND`, `O_NONBLOCK`, `O_ASYNC`,
    /// `O_DIRECT`, `O_NOATIME`) and ignores the rest of `flags`.
    pub fn set_flags(&self, flags: OpenFlags) {
        let _ = self
            .status
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & !SETFL_MASK.bits()) | (flags & SETFL_MASK).bits())
            });
    }

    /// Whether `O_NONBLOCK` is set.
    pub fn is_nonblocking(&self) -> bool {
        self.flags().contains(OpenFlags::NONBLOCK)
    }

    /// The shared offset.
    pub fn position(&self) -> u64 {
        *self.pos.lock()
    }

    /// Attributes: the inode's if opened through a path, else the file's own.
    pub fn stat(&self) -> Result<Metadata, Errno> {
        match &self.location {
            Some(loc) => Ok(loc.inode().metadata()),
            None => self.ops.stat(),
        }
    }

    /// read(2): reads at the shared offset and advances it (streams just read). The caller
    /// checks the access mode.
    pub fn read(&self, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        let nonblocking = self.is_nonblocking();
        if !self.ops.is_positioned() {
            return self.ops.read(0, dst, nonblocking);
        }
        let mut pos = self.pos.lock();
        let n = self.ops.read(*pos, dst, nonblocking)?;
        *pos = pos.saturating_add(n as u64);
        drop(pos);
        if n > 0 {
            self.notify(inotify::mask::ACCESS);
        }
        Ok(n)
    }

    /// pread(2): reads at `offset`, leaving the shared offset alone (`ESPIPE` on streams).
    pub fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        if !self.ops.is_positioned() {
            return Err(Errno::ESPIPE);
        }
        let n = self.ops.read(offset, dst, self.is_nonblocking())?;
        if n > 0 {
            self.notify(inotify::mask::ACCESS);
        }
        Ok(n)
    }

    /// write(2): writes at the shared offset (at the end with `O_APPEND`) and advances it.
    pub fn write(&self, src: &WriteBuf<'_>) -> Result<usize, Errno> {
        let flags = self.flags();
        let nonblocking = flags.contains(OpenFlags::NONBLOCK);
        if !self.ops.is_positioned() {
            return self
                .ops
                .write(WritePos::At(0), src, nonblocking)
                .map(|w| w.count);
        }
        let mut pos = self.pos.lock();
        let at = if flags.contains(OpenFlags::APPEND) {
            WritePos::Append
        } else {
            WritePos::At(*pos)
        };
        let w = self.ops.write(at, src, nonblocking)?;
        *pos = w.end;
        drop(pos);
        if w.count > 0 {
            self.notify(inotify::mask::MODIFY);
        }
        Ok(w.count)
    }

    /// pwrite(2): writes at `offset` without moving the shared offset. Like Linux, `O_APPEND`
    /// wins: the data goes to the end.
    pub fn write_at(&self, offset: u64, src: &WriteBuf<'_>) -> Result<usize, Errno> {
        if !self.ops.is_positioned() {
            return Err(Errno::ESPIPE);
        }
        let flags = self.flags();
        let at = if flags.contains(OpenFlags::APPEND) {
            WritePos::Append
        } else {
            WritePos::At(offset)
        };
        let n = self
            .ops
            .write(at, src, flags.contains(OpenFlags::NONBLOCK))?
            .count;
        if n > 0 {
            self.notify(inotify::mask::MODIFY);
        }
        Ok(n)
    }

    /// lseek(2).
    pub fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock();
        let new = self.ops.seek(*pos, offset, whence)?;
        *pos = new;
        Ok(new)
    }

    /// Lists directory entries from the shared offset (the cursor) through `sink`, then moves
    /// the offset past the entries `sink` accepted.
    pub fn read_dir(&self, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        let mut pos = self.lock_position();
        let mut next = *pos;
        let r = self.ops.read_dir(*pos, &mut |e| {
            let keep = sink(e);
            if keep {
                next = e.next;
            }
            keep
        });
        if r.is_ok() {
            *pos = next;
        }
        drop(pos);
        // Linux's iterate_dir reports the access whatever the listing returned.
        self.notify(inotify::mask::ACCESS);
        r
    }

    /// Holds the shared offset for a multi-step update (getdents64(2) moves it only once the
    /// entries reached user memory). Other reads, writes and seeks of this file wait.
    pub fn lock_position(&self) -> impl core::ops::DerefMut<Target = u64> + '_ {
        self.pos.lock()
    }
}

impl Drop for OpenFile {
    /// The last reference to an open file description is gone: its OFD and flock(2) locks go
    /// with it (Linux's `locks_remove_file`), and inotify hears the close.
    fn drop(&mut self) {
        if let Some(ctx) = self.locks.get_mut().take() {
            ctx.release_file(crate::locks::file_id(self));
        }
        self.notify(if self.is_writable() {
            inotify::mask::CLOSE_WRITE
        } else {
            inotify::mask::CLOSE_NOWRITE
        });
    }
}

impl core::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenFile")
            .field("location", &self.location)
            .field("flags", &self.flags())
            .finish()
    }
}

/// An open regular file of any file system: data through [`Inode::read_at`]/[`Inode::write_at`].
pub struct RegularFile {
    inode: Arc<dyn Inode>,
    clock: Arc<dyn RealtimeClock>,
}

impl RegularFile {
    /// Opens `inode`; writes are stamped with `clock`.
    pub fn new(inode: Arc<dyn Inode>, clock: Arc<dyn RealtimeClock>) -> Arc<Self> {
        Arc::new(RegularFile { inode, clock })
    }
}

impl FileOps for RegularFile {
    fn read(&self, offset: u64, dst: &mut ReadBuf<'_>, _nonblocking: bool) -> Result<usize, Errno> {
        self.inode.read_at(offset, dst)
    }

    fn write(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        self.inode.write_at(pos, src, self.clock.now())
    }

    fn is_positioned(&self) -> bool {
        true
    }

    /// `SEEK_DATA` and `SEEK_HOLE` ask the file system where its holes are
    /// ([`Inode::seek_data`]); a negative offset is `ENXIO` there.
    fn seek(&self, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
        match whence {
            SEEK_DATA | SEEK_HOLE => u64::try_from(offset)
                .ok()
                .and_then(|o| self.inode.seek_data(o, whence == SEEK_DATA))
                .ok_or(Errno::ENXIO),
            _ => seek_in(self.inode.metadata().size, current, offset, whence),
        }
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self.inode.metadata())
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let now = self.clock.now();
        self.inode.set_attr(&SetAttr {
            size: Some(len),
            mtime: Some(now),
            ctime: now,
            ..SetAttr::default()
        })
    }
}

/// An open directory of any file system: read(2) is `EISDIR`, getdents64(2) lists it.
pub struct DirectoryFile {
    inode: Arc<dyn Inode>,
}

impl DirectoryFile {
    /// Opens the directory `inode`.
    pub fn new(inode: Arc<dyn Inode>) -> Arc<Self> {
        Arc::new(DirectoryFile { inode })
    }
}

impl FileOps for DirectoryFile {
    fn read(
        &self,
        _offset: u64,
        _dst: &mut ReadBuf<'_>,
        _nonblocking: bool,
    ) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn write(
        &self,
        _pos: WritePos,
        _src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        Err(Errno::EISDIR)
    }

    fn is_positioned(&self) -> bool {
        true
    }

    /// The offset is a directory cursor: only `SEEK_SET` and `SEEK_CUR` make sense (Linux's
    /// `dcache_dir_lseek`); `SEEK_SET` to 0 is rewinddir(3).
    fn seek(&self, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
        match whence {
            SEEK_SET | SEEK_CUR => seek_in(0, current, offset, whence),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self.inode.metadata())
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        self.inode.read_dir(cursor, sink)
    }

    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        Err(Errno::EISDIR)
    }
}

/// The file behind an `O_PATH` fd: nothing but attributes (I/O is refused with `EBADF` before
/// it gets here).
pub struct PathFile {
    inode: Arc<dyn Inode>,
}

impl PathFile {
    /// A path-only file for `inode`.
    pub fn new(inode: Arc<dyn Inode>) -> Arc<Self> {
        Arc::new(PathFile { inode })
    }
}

impl FileOps for PathFile {
    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self.inode.metadata())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_arithmetic() {
        assert_eq!(seek_in(100, 10, 5, SEEK_SET), Ok(5));
        assert_eq!(seek_in(100, 10, 5, SEEK_CUR), Ok(15));
        assert_eq!(seek_in(100, 10, -5, SEEK_END), Ok(95));
        assert_eq!(seek_in(100, 10, -11, SEEK_CUR), Err(Errno::EINVAL));
        assert_eq!(seek_in(100, 10, 1000, SEEK_END), Ok(1100));
        assert_eq!(seek_in(100, 0, i64::MAX, SEEK_END), Err(Errno::EINVAL));
        assert_eq!(seek_in(100, 0, 50, SEEK_DATA), Ok(50));
        assert_eq!(seek_in(100, 0, 50, SEEK_HOLE), Ok(100));
        assert_eq!(seek_in(100, 0, 100, SEEK_DATA), Err(Errno::ENXIO));
        assert_eq!(seek_in(100, 0, 0, 5), Err(Errno::EINVAL));
    }
}
