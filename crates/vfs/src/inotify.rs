//! inotify(7): file-system events as a readable file.
//!
//! Two halves:
//!
//! - [`Watches`], one per [`Vfs`](crate::Vfs) (every [`Mount`](crate::Mount) reaches it): the
//!   registry of which inotify instances watch which inode ([`WatchKey`]: device and inode
//!   number), and the entry points the VFS syscall layer calls when something happens
//!   ([`Watches::inode_event`], [`Watches::entry_event`], [`Watches::inode_removed`]). With no
//!   watch anywhere, each costs one atomic load.
//! - [`Inotify`], the file inotify_init1(2) returns: its watches (`wd`s) and its queue of
//!   events, which read(2) drains as `struct inotify_event` records.
//!
//! As Linux (`fs/notify/inotify`): an event on an object goes to the object's own watches
//! (no name) and to its directory's watches (with the entry's name); entry events (`IN_CREATE`,
//! `IN_DELETE`, `IN_MOVED_FROM`/`IN_MOVED_TO` with a shared cookie) go to the directory only;
//! `IN_ISDIR` marks a directory subject. An event equal to the last one still queued (same wd,
//! mask, cookie and name) is merged into it. `IN_ONESHOT` and the removal of a watched inode
//! (`IN_DELETE_SELF`) end the watch with `IN_IGNORED`, as does inotify_rm_watch(2). Past
//! [`MAX_QUEUED_EVENTS`] one `IN_Q_OVERFLOW` (wd -1) is queued and further events are lost.
//! read(2) returns whole records only (`EINVAL` if the first does not fit) and waits while the
//! queue is empty unless non-blocking; poll(2)/epoll see `IN` while it is not; `FIONREAD`
//! says how many bytes are queued.
//!
//! Not here: `IN_ACCESS` and `IN_MODIFY` for I/O through mappings, `IN_UNMOUNT`, `IN_EXCL_UNLINK`
//! (accepted, not acted on), per-user limits beyond a fixed watch count. The directory an
//! open, write or close reports to is the one the path walk went through when the file was
//! opened, and only if some watch existed then (the VFS keeps no names for open files).

use crate::blocker::Blocker;
use crate::eventfd::anon_metadata;
use crate::file::FileOps;
use crate::io::ReadBuf;
use crate::mount::Location;
use crate::node::{DeviceId, Metadata};
use crate::readiness::{PollQueue, wait_until_ready};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linux_raw_sys::general as g;
use oxv_abi::linux::fs::{FIONREAD, PollEvents};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use spin::{Mutex, RwLock};

/// `IN_*` event and flag bits (linux/inotify.h).
pub mod mask {
    use linux_raw_sys::general as g;
    /// File read.
    pub const ACCESS: u32 = g::IN_ACCESS;
    /// File written.
    pub const MODIFY: u32 = g::IN_MODIFY;
    /// Metadata changed.
    pub const ATTRIB: u32 = g::IN_ATTRIB;
    /// A file open for writing was closed.
    pub const CLOSE_WRITE: u32 = g::IN_CLOSE_WRITE;
    /// A file not open for writing was closed.
    pub const CLOSE_NOWRITE: u32 = g::IN_CLOSE_NOWRITE;
    /// Opened.
    pub const OPEN: u32 = g::IN_OPEN;
    /// An entry moved out of the directory.
    pub const MOVED_FROM: u32 = g::IN_MOVED_FROM;
    /// An entry moved into the directory.
    pub const MOVED_TO: u32 = g::IN_MOVED_TO;
    /// An entry was created.
    pub const CREATE: u32 = g::IN_CREATE;
    /// An entry was removed.
    pub const DELETE: u32 = g::IN_DELETE;
    /// The watched object was deleted.
    pub const DELETE_SELF: u32 = g::IN_DELETE_SELF;
    /// The watched object was moved.
    pub const MOVE_SELF: u32 = g::IN_MOVE_SELF;
    /// The queue overflowed.
    pub const Q_OVERFLOW: u32 = g::IN_Q_OVERFLOW;
    /// The watch was removed.
    pub const IGNORED: u32 = g::IN_IGNORED;
    /// The subject is a directory.
    pub const ISDIR: u32 = g::IN_ISDIR;
    /// Every event.
    pub const ALL_EVENTS: u32 = g::IN_ALL_EVENTS;
    /// add_watch: only if the path is a directory.
    pub const ONLYDIR: u32 = g::IN_ONLYDIR;
    /// add_watch: do not follow a final symlink.
    pub const DONT_FOLLOW: u32 = g::IN_DONT_FOLLOW;
    /// add_watch: no events for unlinked children (accepted, not acted on).
    pub const EXCL_UNLINK: u32 = g::IN_EXCL_UNLINK;
    /// add_watch: fail with `EEXIST` if the inode is watched already.
    pub const MASK_CREATE: u32 = g::IN_MASK_CREATE;
    /// add_watch: add to an existing watch's mask instead of replacing it.
    pub const MASK_ADD: u32 = g::IN_MASK_ADD;
    /// add_watch: remove the watch after its first event.
    pub const ONESHOT: u32 = g::IN_ONESHOT;
}

/// `IN_CLOEXEC`.
pub const IN_CLOEXEC: u32 = g::IN_CLOEXEC;
/// `IN_NONBLOCK`.
pub const IN_NONBLOCK: u32 = g::IN_NONBLOCK;
/// Linux's default `max_queued_events`.
pub const MAX_QUEUED_EVENTS: usize = 16384;
/// The most watches one instance may hold (Linux's `max_user_watches` is per user and
/// scaled to RAM; `ENOSPC` past it).
pub const MAX_WATCHES: usize = 65536;
/// `sizeof(struct inotify_event)` without the name.
const EVENT_SIZE: usize = 16;
const _: () = assert!(core::mem::size_of::<g::inotify_event>() == EVENT_SIZE);

/// Which inode a watch is on: the file system's device and the inode number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WatchKey {
    dev: DeviceId,
    ino: u64,
}

impl WatchKey {
    /// The inode at `loc`.
    pub fn of(loc: &Location) -> WatchKey {
        WatchKey {
            dev: loc.mount().fs().device(),
            ino: loc.inode().ino(),
        }
    }
}

/// Which instances watch which inodes, and where events come in. See the
/// [module docs](self).
#[derive(Default)]
pub struct Watches {
    count: AtomicUsize,
    marks: RwLock<BTreeMap<WatchKey, Vec<Weak<Instance>>>>,
    cookie: AtomicU32,
}

impl Watches {
    /// An empty registry.
    pub fn new() -> Watches {
        Watches::default()
    }

    /// Whether any inode is watched: when not, events need not even be described.
    pub fn is_active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// A fresh cookie tying an `IN_MOVED_FROM` to its `IN_MOVED_TO`.
    pub fn next_cookie(&self) -> u32 {
        self.cookie.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    /// Something happened to the object at `loc` (`IN_OPEN`, `IN_MODIFY`, `IN_ATTRIB`, the
    /// closes, `IN_MOVE_SELF`...): its own watches hear it, and with `entry` (its directory
    /// and name) the directory's watches too. `IN_ISDIR` is added for a directory.
    pub fn inode_event(&self, loc: &Location, entry: Option<&Entry>, event: u32) {
        if !self.is_active() {
            return;
        }
        let event = if loc.is_dir() {
            event | mask::ISDIR
        } else {
            event
        };
        self.deliver(WatchKey::of(loc), event, 0, &[]);
        if let Some(e) = entry {
            self.deliver(WatchKey::of(&e.dir), event, 0, &e.name);
        }
    }

    /// Entry `name` of directory `dir` was created, removed or moved (`IN_CREATE`,
    /// `IN_DELETE`, `IN_MOVED_FROM`, `IN_MOVED_TO`; `is_dir` adds `IN_ISDIR`).
    pub fn entry_event(&self, dir: &Location, name: &[u8], event: u32, is_dir: bool, cookie: u32) {
        if !self.is_active() {
            return;
        }
        let event = if is_dir { event | mask::ISDIR } else { event };
        self.deliver(WatchKey::of(dir), event, cookie, name);
    }

    /// The object at `loc` lost its last name: its watches hear `IN_DELETE_SELF`, then end
    /// with `IN_IGNORED`.
    pub fn inode_removed(&self, loc: &Location) {
        if !self.is_active() {
            return;
        }
        let key = WatchKey::of(loc);
        self.deliver(key, mask::DELETE_SELF, 0, &[]);
        let watchers = self.marks.write().remove(&key).unwrap_or_default();
        for inst in watchers.iter().filter_map(Weak::upgrade) {
            if inst.forget_key(key) {
                self.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn deliver(&self, key: WatchKey, event: u32, cookie: u32, name: &[u8]) {
        let watchers: Vec<Arc<Instance>> = match self.marks.read().get(&key) {
            Some(v) => v.iter().filter_map(Weak::upgrade).collect(),
            None => return,
        };
        for inst in watchers {
            if inst.queue_event(key, event, cookie, name) {
                // A one-shot watch fired: it is gone.
                self.unregister(key, &inst);
            }
        }
    }

    fn register(&self, key: WatchKey, inst: &Arc<Instance>) {
        self.marks
            .write()
            .entry(key)
            .or_default()
            .push(Arc::downgrade(inst));
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn unregister(&self, key: WatchKey, inst: &Instance) {
        let mut marks = self.marks.write();
        if let Some(v) = marks.get_mut(&key) {
            let before = v.len();
            v.retain(|w| !core::ptr::eq(w.as_ptr(), inst));
            if v.len() < before {
                self.count.fetch_sub(1, Ordering::Relaxed);
            }
            if v.is_empty() {
                marks.remove(&key);
            }
        }
    }
}

/// A directory entry: where a file was found, for the events its directory hears.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The directory.
    pub dir: Location,
    /// The name in it.
    pub name: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The record's size: the header and the name padded with NULs to a multiple of 16.
    fn len_field(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).next_multiple_of(EVENT_SIZE)
        }
    }

    fn size(&self) -> usize {
        EVENT_SIZE + self.len_field()
    }
}

struct Mark {
    key: WatchKey,
    mask: u32,
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    bytes: usize,
    marks: BTreeMap<i32, Mark>,
    by_key: BTreeMap<WatchKey, i32>,
    last_wd: i32,
}

impl State {
    fn push(&mut self, ev: Event) -> bool {
        if self.events.back() == Some(&ev) {
            return false;
        }
        if self.events.len() >= MAX_QUEUED_EVENTS {
            if self
                .events
                .back()
                .is_some_and(|e| e.mask == mask::Q_OVERFLOW)
            {
                return false;
            }
            let ev = Event {
                wd: -1,
                mask: mask::Q_OVERFLOW,
                cookie: 0,
                name: Vec::new(),
            };
            self.bytes += ev.size();
            self.events.push_back(ev);
            return true;
        }
        self.bytes += ev.size();
        self.events.push_back(ev);
        true
    }

    fn ignored(&mut self, wd: i32) {
        self.push(Event {
            wd,
            mask: mask::IGNORED,
            cookie: 0,
            name: Vec::new(),
        });
    }
}

/// The shared part of an inotify instance (the registry holds it weakly).
pub struct Instance {
    state: Mutex<State>,
    queue: PollQueue,
}

impl Instance {
    /// Queues `event` for the watch on `key` if its mask wants it; returns whether that was a
    /// one-shot watch, now removed.
    fn queue_event(&self, key: WatchKey, event: u32, cookie: u32, name: &[u8]) -> bool {
        let mut st = self.state.lock();
        let Some(&wd) = st.by_key.get(&key) else {
            return false;
        };
        let Some(mark) = st.marks.get(&wd) else {
            return false;
        };
        if mark.mask & event & mask::ALL_EVENTS == 0 {
            return false;
        }
        let oneshot = mark.mask & mask::ONESHOT != 0;
        let queued = st.push(Event {
            wd,
            mask: event,
            cookie,
            name: name.to_vec(),
        });
        if oneshot {
            st.marks.remove(&wd);
            st.by_key.remove(&key);
            st.ignored(wd);
        }
        drop(st);
        if queued || oneshot {
            self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        oneshot
    }

    /// The watch on `key` ends (its inode is gone): `IN_IGNORED`. Returns whether there was
    /// one.
    fn forget_key(&self, key: WatchKey) -> bool {
        let mut st = self.state.lock();
        let Some(wd) = st.by_key.remove(&key) else {
            return false;
        };
        st.marks.remove(&wd);
        st.ignored(wd);
        drop(st);
        self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        true
    }
}

/// An inotify instance: the file inotify_init1(2) makes. See the [module docs](self).
pub struct Inotify {
    inner: Arc<Instance>,
    watches: Arc<Watches>,
    blocker: Arc<dyn Blocker>,
}

impl Inotify {
    /// An instance with no watches, registering them in `watches`.
    pub fn new(watches: Arc<Watches>, blocker: Arc<dyn Blocker>) -> Arc<Inotify> {
        Arc::new(Inotify {
            inner: Arc::new(Instance {
                state: Mutex::new(State::default()),
                queue: PollQueue::new(),
            }),
            watches,
            blocker,
        })
    }

    /// inotify_add_watch(2) on the object at `loc`, already found: the new or updated wd.
    /// `EEXIST` with `IN_MASK_CREATE` on a watched inode, `ENOSPC` past [`MAX_WATCHES`].
    pub fn add_watch(&self, loc: &Location, m: u32) -> Result<i32, Errno> {
        let key = WatchKey::of(loc);
        let kept = (m & mask::ALL_EVENTS) | (m & (mask::ONESHOT | mask::EXCL_UNLINK));
        let mut st = self.inner.state.lock();
        if let Some(&wd) = st.by_key.get(&key) {
            if m & mask::MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let mark = st.marks.get_mut(&wd).expect("by_key and marks agree");
            mark.mask = if m & mask::MASK_ADD != 0 {
                mark.mask | kept
            } else {
                kept
            };
            return Ok(wd);
        }
        if st.marks.len() >= MAX_WATCHES {
            return Err(Errno::ENOSPC);
        }
        // Like Linux's cyclic idr: the next number after the last one given, skipping any in
        // use, from 1 again past i32::MAX.
        let mut wd = st.last_wd;
        loop {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
            if !st.marks.contains_key(&wd) {
                break;
            }
        }
        st.last_wd = wd;
        st.marks.insert(wd, Mark { key, mask: kept });
        st.by_key.insert(key, wd);
        // Registered while the instance lock is held, so no event is lost in between (the
        // registry never waits for an instance lock while it holds its own).
        self.watches.register(key, &self.inner);
        Ok(wd)
    }

    /// inotify_rm_watch(2): `EINVAL` for an unknown wd; queues `IN_IGNORED`.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        let key = {
            let mut st = self.inner.state.lock();
            let mark = st.marks.remove(&wd).ok_or(Errno::EINVAL)?;
            st.by_key.remove(&mark.key);
            st.ignored(wd);
            mark.key
        };
        self.watches.unregister(key, &self.inner);
        self.inner.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        Ok(())
    }

    /// Bytes queued (`FIONREAD`).
    pub fn queued_bytes(&self) -> usize {
        self.inner.state.lock().bytes
    }

    /// Takes as many whole events as fit in `room` bytes, as their records; `EINVAL` if the
    /// first does not fit, `EAGAIN` if none is queued.
    fn take(&self, room: usize) -> Result<Vec<u8>, Errno> {
        let mut st = self.inner.state.lock();
        let first = st.events.front().ok_or(Errno::EAGAIN)?;
        if first.size() > room {
            return Err(Errno::EINVAL);
        }
        let mut out = Vec::new();
        while let Some(ev) = st.events.front() {
            if out.len() + ev.size() > room {
                break;
            }
            let len = ev.len_field();
            out.extend_from_slice(&ev.wd.to_ne_bytes());
            out.extend_from_slice(&ev.mask.to_ne_bytes());
            out.extend_from_slice(&ev.cookie.to_ne_bytes());
            out.extend_from_slice(&(len as u32).to_ne_bytes());
            out.extend_from_slice(&ev.name);
            out.resize(out.len() + len - ev.name.len(), 0);
            let size = ev.size();
            st.bytes -= size;
            st.events.pop_front();
        }
        Ok(out)
    }
}

impl Drop for Inotify {
    /// Closing the instance removes its watches (no `IN_IGNORED`: nobody can read it).
    fn drop(&mut self) {
        let keys: Vec<WatchKey> = self.inner.state.lock().by_key.keys().copied().collect();
        for key in keys {
            self.watches.unregister(key, &self.inner);
        }
    }
}

impl FileOps for Inotify {
    /// Blocks while no event is queued, unless `nonblocking`.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        let room = dst.len();
        let bytes = wait_until_ready(
            &*self.blocker,
            &self.inner.queue,
            PollEvents::IN,
            nonblocking,
            || self.take(room),
        )?;
        // Like Linux, the events are off the queue before the copy: a fault loses them.
        dst.fill(0, &bytes)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(anon_metadata())
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if request != FIONREAD {
            return Err(Errno::ENOTTY);
        }
        let n = self.queued_bytes().min(i32::MAX as usize) as i32;
        UserPtr::<i32>::new(arg).write(mem, &n)?;
        Ok(0)
    }

    fn poll(&self) -> PollEvents {
        if self.inner.state.lock().events.is_empty() {
            PollEvents::empty()
        } else {
            PollEvents::IN | PollEvents::RDNORM
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.inner.queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
