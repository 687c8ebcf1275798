//! epoll(7): an interest list of (fd, open file) pairs and a ready list fed by readiness
//! callbacks, so that epoll_wait(2) costs O(ready), never O(watched).
//!
//! Semantics of Linux's `fs/eventpoll.c`:
//!
//! - An item is keyed by the fd number *and* the open file it named at `EPOLL_CTL_ADD`. It
//!   lives until `EPOLL_CTL_DEL` or until that open file is closed everywhere (every dup'ed
//!   and inherited copy); closing one fd of a dup'ed file does not remove it, and it keeps
//!   reporting under the old fd number.
//! - Every item watches `EPOLLERR | EPOLLHUP` whether asked or not.
//! - Level-triggered (default): a reported item goes back on the ready list and is reported
//!   again by the next epoll_wait as long as the file is still ready. Edge-triggered
//!   (`EPOLLET`): it is reported once per readiness notification from the file.
//!   `EPOLLONESHOT`: reported once, then disabled until `EPOLL_CTL_MOD`.
//! - `EPOLLEXCLUSIVE`: the item's callback is an exclusive watcher of the file's queue, so
//!   one event wakes one of several epoll instances watching it (only with `EPOLLIN`,
//!   `EPOLLOUT`, `EPOLLWAKEUP`, `EPOLLET` besides; not on an epoll file; not for MOD).
//! - Threads in epoll_wait on one instance wait as exclusive watchers (one wake-up per
//!   event); a thread that leaves events on the ready list wakes the next.
//! - An epoll fd is itself pollable (readable while it has ready events), so it can be
//!   watched by another epoll, up to [`MAX_NESTS`] levels; a cycle or a deeper chain is
//!   `ELOOP`.
//!
//! A file can be watched only if it has a poll queue ([`FileOps::poll_queue`]): regular files
//! and directories are `EPERM`, as on Linux.

use crate::blocker::Blocker;
use crate::file::{FileOps, OpenFile};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::Metadata;
use crate::readiness::{Notify, PollQueue, Waiter, Watch};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use spin::Mutex;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

mod raw {
    pub use linux_raw_sys::general::*;
}

/// `EPOLLIN`.
pub const EPOLLIN: u32 = raw::EPOLLIN;
/// `EPOLLOUT`.
pub const EPOLLOUT: u32 = raw::EPOLLOUT;
/// `EPOLLERR`.
pub const EPOLLERR: u32 = raw::EPOLLERR;
/// `EPOLLHUP`.
pub const EPOLLHUP: u32 = raw::EPOLLHUP;
/// `EPOLLRDHUP`.
pub const EPOLLRDHUP: u32 = raw::EPOLLRDHUP;
/// `EPOLLEXCLUSIVE`.
pub const EPOLLEXCLUSIVE: u32 = raw::EPOLLEXCLUSIVE;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = raw::EPOLLWAKEUP;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = raw::EPOLLONESHOT;
/// `EPOLLET`.
pub const EPOLLET: u32 = raw::EPOLLET;
/// `EPOLL_CLOEXEC`.
pub const EPOLL_CLOEXEC: u32 = raw::EPOLL_CLOEXEC;
/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = raw::EPOLL_CTL_ADD as i32;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = raw::EPOLL_CTL_DEL as i32;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = raw::EPOLL_CTL_MOD as i32;

/// The flag bits that are not events (Linux's `EP_PRIVATE_BITS`).
pub const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What may accompany `EPOLLEXCLUSIVE` (Linux's `EPOLLEXCLUSIVE_OK_BITS`).
pub const EXCLUSIVE_OK_BITS: u32 = EPOLLIN | EPOLLOUT | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// How deep epoll instances may nest (Linux's `EP_MAX_NESTS`).
pub const MAX_NESTS: usize = 4;
/// The most events one epoll_wait may ask for (Linux's `EP_MAX_EVENTS`).
pub const MAX_EVENTS: i32 = (i32::MAX as usize / core::mem::size_of::<EpollEvent>()) as i32;

/// `struct epoll_event`: packed on x86_64 (12 bytes).
#[repr(C, packed)]
#[derive(Copy, Clone, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct EpollEvent {
    /// Event bits (`EPOLLIN`...) and, in epoll_ctl(2), flags (`EPOLLET`...).
    pub events: u32,
    /// The caller's data, returned with the event.
    pub data: u64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<EpollEvent>() == size_of::<raw::epoll_event>());
    assert!(offset_of!(EpollEvent, data) == offset_of!(raw::epoll_event, data));
};

/// One watched (fd, file) pair.
struct Item {
    fd: i32,
    file: Weak<OpenFile>,
    /// Requested events and flags; `ONESHOT` clears the events after a report.
    events: AtomicU32,
    data: AtomicU64,
    /// On the ready list (changed under the ready-list lock).
    on_ready: AtomicBool,
    /// Removed from the interest list: drop it when met on the ready list.
    removed: AtomicBool,
    watch: Mutex<Option<Watch>>,
}

impl Item {
    fn events(&self) -> u32 {
        self.events.load(Ordering::Acquire)
    }

    /// The events the file has that the item asks for (`ERR`/`HUP` always), 0 if none or
    /// the file is gone.
    fn ready_events(&self) -> u32 {
        let Some(file) = self.file.upgrade() else {
            return 0;
        };
        let want = self.events() & !PRIVATE_BITS;
        if want == 0 {
            return 0;
        }
        let have = file.ops().poll().bits() as u32;
        have & (want | EPOLLERR | EPOLLHUP)
    }
}

/// The readiness callback of one item, registered on the watched file's queue.
struct ItemCallback {
    item: Weak<Item>,
    epoll: Weak<EpollState>,
}

impl Notify for ItemCallback {
    fn notify(&self, events: PollEvents) -> bool {
        let (Some(item), Some(ep)) = (self.item.upgrade(), self.epoll.upgrade()) else {
            return false;
        };
        let want = item.events();
        if want & !PRIVATE_BITS == 0 || item.removed.load(Ordering::Acquire) {
            return false; // disabled by ONESHOT, or on its way out
        }
        let ev = events.bits() as u32;
        if ev != 0 && ev & want == 0 {
            return false;
        }
        ep.push_ready(&item);
        let woke = ep.queue.notify(PollEvents::IN | PollEvents::RDNORM) > 0;
        // An exclusive item counts as a wake-up only if it woke a waiter for what it watches.
        if want & EPOLLEXCLUSIVE == 0 {
            return true;
        }
        woke && (ev == 0 || ev & want & (EPOLLIN | EPOLLOUT) != 0)
    }
}

struct EpollState {
    items: Mutex<BTreeMap<(i32, usize), Arc<Item>>>,
    ready: Mutex<VecDeque<Arc<Item>>>,
    /// Waiters in epoll_wait, and epolls or pollers watching this one.
    queue: PollQueue,
    /// Epoll instances that watch this one (for the nesting check).
    parents: Mutex<Vec<Weak<EpollState>>>,
}

impl EpollState {
    fn push_ready(&self, item: &Arc<Item>) {
        let mut r = self.ready.lock();
        if !item.on_ready.swap(true, Ordering::AcqRel) {
            r.push_back(item.clone());
        }
    }

    /// Epoll instances directly watched by this one.
    fn children(&self) -> Vec<Arc<EpollState>> {
        let items: Vec<Arc<Item>> = self.items.lock().values().cloned().collect();
        items
            .iter()
            .filter_map(|i| i.file.upgrade())
            .filter_map(|f| Epoll::of(&f).map(|e| e.state.clone()))
            .collect()
    }

    /// The longest chain of epolls below this one (0: none), or `None` if `target` is among
    /// them or the chain is deeper than the nesting limit.
    fn depth_below(&self, target: &Arc<EpollState>, level: usize) -> Option<usize> {
        if level > MAX_NESTS {
            return None;
        }
        let mut deepest = 0;
        for child in self.children() {
            if Arc::ptr_eq(&child, target) {
                return None;
            }
            deepest = deepest.max(1 + child.depth_below(target, level + 1)?);
        }
        Some(deepest)
    }

    /// The longest chain of epolls above this one.
    fn depth_above(&self, level: usize) -> usize {
        if level > MAX_NESTS {
            return level;
        }
        let parents: Vec<Arc<EpollState>> = self
            .parents
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        parents
            .iter()
            .map(|p| 1 + p.depth_above(level + 1))
            .max()
            .unwrap_or(0)
    }

    fn forget_parent(&self, parent: &Arc<EpollState>) {
        self.parents
            .lock()
            .retain(|p| p.upgrade().is_some_and(|p| !Arc::ptr_eq(&p, parent)));
    }

    /// Harvests up to `max` events (O(ready)).
    fn harvest(&self, max: usize) -> Vec<EpollEvent> {
        let mut batch: VecDeque<Arc<Item>> = core::mem::take(&mut *self.ready.lock());
        let mut out = Vec::new();
        let mut again = Vec::new();
        while out.len() < max {
            let Some(item) = batch.pop_front() else {
                break;
            };
            {
                // Cleared before the file is polled: a change from now on queues it again.
                let _r = self.ready.lock();
                item.on_ready.store(false, Ordering::Release);
            }
            if item.removed.load(Ordering::Acquire) {
                continue;
            }
            let ev = item.ready_events();
            if ev == 0 {
                continue;
            }
            out.push(EpollEvent {
                events: ev,
                data: item.data.load(Ordering::Acquire),
            });
            let flags = item.events();
            if flags & EPOLLONESHOT != 0 {
                item.events.fetch_and(PRIVATE_BITS, Ordering::AcqRel);
            } else if flags & EPOLLET == 0 {
                again.push(item);
            }
        }
        let more = {
            let mut r = self.ready.lock();
            // Not looked at: back in front, in order (they are still marked on the list).
            while let Some(item) = batch.pop_back() {
                r.push_front(item);
            }
            for item in again {
                if !item.on_ready.swap(true, Ordering::AcqRel) {
                    r.push_back(item);
                }
            }
            !r.is_empty()
        };
        if more {
            // Someone else waiting may take what this caller left.
            self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        out
    }

    /// Whether some item is ready now (without taking it).
    fn has_ready(&self) -> bool {
        let items: Vec<Arc<Item>> = self.ready.lock().iter().cloned().collect();
        items
            .iter()
            .any(|i| !i.removed.load(Ordering::Acquire) && i.ready_events() != 0)
    }
}

/// An epoll instance, the behaviour of an epoll fd. See the [module docs](self).
pub struct Epoll {
    state: Arc<EpollState>,
}

/// What epoll_ctl(2) asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ctl {
    /// `EPOLL_CTL_ADD`.
    Add(EpollEvent),
    /// `EPOLL_CTL_MOD`.
    Mod(EpollEvent),
    /// `EPOLL_CTL_DEL`.
    Del,
}

impl PartialEq for EpollEvent {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.events, other.events);
        let (c, d) = (self.data, other.data);
        a == b && c == d
    }
}

impl Eq for EpollEvent {}

impl Epoll {
    /// A new, empty epoll instance.
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll {
            state: Arc::new(EpollState {
                items: Mutex::new(BTreeMap::new()),
                ready: Mutex::new(VecDeque::new()),
                queue: PollQueue::new(),
                parents: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The epoll instance behind `file`, if it is an epoll fd.
    pub fn of(file: &OpenFile) -> Option<&Epoll> {
        file.ops().as_any()?.downcast_ref::<Epoll>()
    }

    /// How many items are watched (dead ones included until noticed).
    pub fn len(&self) -> usize {
        self.state.items.lock().len()
    }

    /// Whether nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// epoll_ctl(2) on `target` (open as fd `fd`), after the fd checks: `EPERM` for a file
    /// that cannot be polled, `EINVAL` for an epoll watching itself or a bad
    /// `EPOLLEXCLUSIVE`, `ELOOP` for a cycle or too deep a nesting, `EEXIST`/`ENOENT` for an
    /// item that is there or not.
    pub fn ctl(&self, fd: i32, target: &Arc<OpenFile>, op: Ctl) -> Result<(), Errno> {
        let queue = target.ops().poll_queue().ok_or(Errno::EPERM)?.clone();
        let target_epoll = Epoll::of(target).map(|e| e.state.clone());
        if target_epoll
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, &self.state))
        {
            return Err(Errno::EINVAL);
        }
        if let Ctl::Add(ev) | Ctl::Mod(ev) = op {
            if ev.events & EPOLLEXCLUSIVE != 0 {
                if matches!(op, Ctl::Mod(_)) {
                    return Err(Errno::EINVAL);
                }
                if target_epoll.is_some() || ev.events & !EXCLUSIVE_OK_BITS != 0 {
                    return Err(Errno::EINVAL);
                }
            }
        }
        let key = (fd, Arc::as_ptr(target) as usize);
        if let (Ctl::Add(_), Some(child)) = (op, &target_epoll) {
            if !self.state.items.lock().contains_key(&key) {
                let below = child.depth_below(&self.state, 1).ok_or(Errno::ELOOP)?;
                let above = self.state.depth_above(0);
                if below + 1 + above > MAX_NESTS {
                    return Err(Errno::ELOOP);
                }
            }
        }
        match op {
            Ctl::Add(ev) => self.add(key, fd, target, &queue, ev, target_epoll),
            Ctl::Mod(ev) => self.modify(key, ev),
            Ctl::Del => self.delete(key, target_epoll),
        }
    }

    fn add(
        &self,
        key: (i32, usize),
        fd: i32,
        target: &Arc<OpenFile>,
        queue: &PollQueue,
        ev: EpollEvent,
        target_epoll: Option<Arc<EpollState>>,
    ) -> Result<(), Errno> {
        let item = {
            let mut items = self.state.items.lock();
            if items.get(&key).is_some_and(|i| i.file.upgrade().is_some()) {
                return Err(Errno::EEXIST);
            }
            let item = Arc::new(Item {
                fd,
                file: Arc::downgrade(target),
                events: AtomicU32::new(ev.events | EPOLLERR | EPOLLHUP),
                data: AtomicU64::new(ev.data),
                on_ready: AtomicBool::new(false),
                removed: AtomicBool::new(false),
                watch: Mutex::new(None),
            });
            if let Some(old) = items.insert(key, item.clone()) {
                old.removed.store(true, Ordering::Release);
            }
            item
        };
        let cb = Arc::new(ItemCallback {
            item: Arc::downgrade(&item),
            epoll: Arc::downgrade(&self.state),
        });
        let watch = if ev.events & EPOLLEXCLUSIVE != 0 {
            queue.watch_exclusive(cb)
        } else {
            queue.watch(cb)
        };
        *item.watch.lock() = Some(watch);
        if let Some(child) = target_epoll {
            child.parents.lock().push(Arc::downgrade(&self.state));
        }
        if item.ready_events() != 0 {
            self.state.push_ready(&item);
            self.state.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        Ok(())
    }

    fn modify(&self, key: (i32, usize), ev: EpollEvent) -> Result<(), Errno> {
        let item = self
            .state
            .items
            .lock()
            .get(&key)
            .filter(|i| i.file.upgrade().is_some())
            .cloned()
            .ok_or(Errno::ENOENT)?;
        if item.events() & EPOLLEXCLUSIVE != 0 {
            return Err(Errno::EINVAL);
        }
        item.data.store(ev.data, Ordering::Release);
        item.events
            .store(ev.events | EPOLLERR | EPOLLHUP, Ordering::Release);
        if item.ready_events() != 0 {
            self.state.push_ready(&item);
            self.state.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        Ok(())
    }

    fn delete(
        &self,
        key: (i32, usize),
        target_epoll: Option<Arc<EpollState>>,
    ) -> Result<(), Errno> {
        let item = {
            let mut items = self.state.items.lock();
            match items.get(&key) {
                Some(i) if i.file.upgrade().is_some() => items.remove(&key),
                _ => None,
            }
        }
        .ok_or(Errno::ENOENT)?;
        item.removed.store(true, Ordering::Release);
        let watch = item.watch.lock().take();
        drop(watch);
        if let Some(child) = target_epoll {
            child.forget_parent(&self.state);
        }
        Ok(())
    }

    /// Takes up to `max` ready events without waiting.
    pub fn harvest(&self, max: usize) -> Vec<EpollEvent> {
        self.state.harvest(max)
    }

    /// epoll_wait(2)'s wait: up to `max` events, **blocking** until one is ready, until the
    /// monotonic `deadline` (`Some(0)`-like past deadlines do not wait; `None` waits
    /// forever), or until a signal (`EINTR`).
    pub fn wait(
        &self,
        blocker: &dyn Blocker,
        max: usize,
        deadline: Option<u64>,
    ) -> Result<Vec<EpollEvent>, Errno> {
        let first = self.state.harvest(max);
        if !first.is_empty() || deadline.is_some_and(|d| blocker.now_ns() >= d) {
            return Ok(first);
        }
        let waiter = Waiter::new(blocker);
        let _watch = waiter.watch_exclusive(&self.state.queue, PollEvents::IN);
        loop {
            waiter.reset();
            let got = self.state.harvest(max);
            if !got.is_empty() || deadline.is_some_and(|d| blocker.now_ns() >= d) {
                return Ok(got);
            }
            waiter.sleep(deadline)?;
        }
    }

    /// The watched fds and their requested events, for `/proc/<pid>/fdinfo` and tests.
    pub fn items(&self) -> Vec<(i32, u32, u64)> {
        self.state
            .items
            .lock()
            .values()
            .filter(|i| i.file.upgrade().is_some())
            .map(|i| (i.fd, i.events(), i.data.load(Ordering::Acquire)))
            .collect()
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let items: Vec<Arc<Item>> = core::mem::take(&mut *self.state.items.lock())
            .into_values()
            .collect();
        for item in &items {
            item.removed.store(true, Ordering::Release);
            let watch = item.watch.lock().take();
            drop(watch);
            if let Some(child) = item.file.upgrade().as_deref().and_then(Epoll::of) {
                child.state.forget_parent(&self.state);
            }
        }
        self.state.ready.lock().clear();
    }
}

impl FileOps for Epoll {
    fn read(
        &self,
        _offset: u64,
        _dst: &mut ReadBuf<'_>,
        _nonblocking: bool,
    ) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn write(
        &self,
        _pos: WritePos,
        _src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(crate::eventfd::anon_metadata())
    }

    fn poll(&self) -> PollEvents {
        if self.state.has_ready() {
            PollEvents::IN | PollEvents::RDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.state.queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
