//! Readiness: how a file tells whoever waits on it that it may have become readable or
//! writable. One model serves every waiter: a blocking read(2) on a pipe, poll(2), select(2),
//! epoll(7) (and an epoll inside another epoll).
//!
//! - A pollable file owns a [`PollQueue`] (returned by
//!   [`FileOps::poll_queue`](crate::FileOps::poll_queue)) and calls [`PollQueue::notify`]
//!   with the events that may have changed, after any change and after releasing its own
//!   locks. Its readiness itself is always read from
//!   [`FileOps::poll`](crate::FileOps::poll); a notification is only a hint to look again.
//! - Whoever waits registers a [`Notify`] callback on the queue and keeps the returned
//!   [`Watch`]; dropping the `Watch` unregisters it. A thread that blocks uses a [`Waiter`],
//!   whose callback marks it woken and unparks the thread through the embedder's
//!   [`Parker`]; an epoll instance registers a callback that puts the
//!   watched file on its ready list (Linux's `ep_poll_callback`), so `epoll_wait` costs
//!   O(ready), not O(watched).
//!
//! This is Linux's wait-queue design (`wait_queue_head`, `poll_wait`, wake-up keys and
//! exclusive waiters), not a readiness cache: nothing here stores a file's state, so a missed
//! or spurious notification can only cost a needless look, never a wrong answer, as long as
//! waiters register *before* they check (see [`wait_until_ready`]).
//!
//! Exclusive watchers ([`PollQueue::watch_exclusive`], for `EPOLLEXCLUSIVE` and for threads in
//! `epoll_wait`) are woken one at a time: every notification calls all ordinary watchers,
//! then exclusive ones in registration order until one reports that it woke something.
//!
//! Callbacks run with the queue's lock held: a callback must not register or unregister on the
//! queue that calls it, and must not take a lock that is held while registering on it.

use crate::blocker::{Blocker, Parker};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use spin::Mutex;

/// Something to tell about readiness changes: a waiting thread, an epoll instance.
pub trait Notify: Send + Sync {
    /// The file behind the queue may have changed; `events` are the events that may have
    /// become true (a superset is fine, empty means "anything"). Returns whether this woke
    /// someone up, which is what ends the wake-up of exclusive watchers. Must not block.
    fn notify(&self, events: PollEvents) -> bool;
}

struct Entry {
    id: u64,
    target: Arc<dyn Notify>,
    exclusive: bool,
}

#[derive(Default)]
struct Entries {
    next_id: u64,
    list: Vec<Entry>,
}

/// The watchers of one pollable object. Cloning gives another handle on the same queue.
#[derive(Clone, Default)]
pub struct PollQueue {
    entries: Arc<Mutex<Entries>>,
}

impl core::fmt::Debug for PollQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PollQueue")
            .field("watchers", &self.entries.lock().list.len())
            .finish()
    }
}

impl PollQueue {
    /// An empty queue.
    pub fn new() -> PollQueue {
        PollQueue::default()
    }

    /// Registers `target`; it is called on every notification until the `Watch` is dropped.
    pub fn watch(&self, target: Arc<dyn Notify>) -> Watch {
        self.add(target, false)
    }

    /// Registers `target` as an exclusive watcher (see the [module docs](self)).
    pub fn watch_exclusive(&self, target: Arc<dyn Notify>) -> Watch {
        self.add(target, true)
    }

    fn add(&self, target: Arc<dyn Notify>, exclusive: bool) -> Watch {
        let mut e = self.entries.lock();
        let id = e.next_id;
        e.next_id += 1;
        e.list.push(Entry {
            id,
            target,
            exclusive,
        });
        Watch {
            entries: Arc::downgrade(&self.entries),
            id,
        }
    }

    /// Tells the watchers that `events` may have become true: every ordinary watcher, then
    /// exclusive ones until one wakes. Returns how many watchers reported a wake-up.
    pub fn notify(&self, events: PollEvents) -> usize {
        let e = self.entries.lock();
        let mut woken = 0;
        for entry in e.list.iter().filter(|en| !en.exclusive) {
            if entry.target.notify(events) {
                woken += 1;
            }
        }
        for entry in e.list.iter().filter(|en| en.exclusive) {
            if entry.target.notify(events) {
                woken += 1;
                break;
            }
        }
        woken
    }

    /// Whether anyone watches.
    pub fn has_watchers(&self) -> bool {
        !self.entries.lock().list.is_empty()
    }

    /// Whether `self` and `other` are handles on the same queue.
    pub fn same_as(&self, other: &PollQueue) -> bool {
        Arc::ptr_eq(&self.entries, &other.entries)
    }
}

/// A registration on a [`PollQueue`]; dropping it unregisters. It does not keep the queue
/// alive: once the queue is gone there is nothing to unregister from.
#[must_use = "dropping a Watch unregisters it at once"]
pub struct Watch {
    entries: Weak<Mutex<Entries>>,
    id: u64,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(entries) = self.entries.upgrade() {
            let removed = {
                let mut e = entries.lock();
                e.list
                    .iter()
                    .position(|en| en.id == self.id)
                    .map(|i| e.list.swap_remove(i))
            };
            // The callback's own drop runs outside the queue lock.
            drop(removed);
        }
    }
}

impl core::fmt::Debug for Watch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watch").field("id", &self.id).finish()
    }
}

/// A thread waiting for readiness: a flag set by notifications, and the embedder's handle to
/// unpark the thread. One `Waiter` may watch many queues (poll(2) of many fds).
pub struct Waiter {
    woken: AtomicBool,
    parker: Arc<dyn Parker>,
}

impl Waiter {
    /// A waiter for the calling thread.
    pub fn new(blocker: &dyn Blocker) -> Arc<Waiter> {
        Arc::new(Waiter {
            woken: AtomicBool::new(false),
            parker: blocker.parker(),
        })
    }

    /// Registers on `queue` for `interest` (notifications with other events are ignored;
    /// `ERR` and `HUP` always count).
    pub fn watch(self: &Arc<Self>, queue: &PollQueue, interest: PollEvents) -> Watch {
        queue.watch(Arc::new(Interest {
            waiter: self.clone(),
            mask: interest | PollEvents::ERR | PollEvents::HUP,
        }))
    }

    /// Like [`Waiter::watch`], as an exclusive watcher.
    pub fn watch_exclusive(self: &Arc<Self>, queue: &PollQueue, interest: PollEvents) -> Watch {
        queue.watch_exclusive(Arc::new(Interest {
            waiter: self.clone(),
            mask: interest | PollEvents::ERR | PollEvents::HUP,
        }))
    }

    /// Marks the waiter woken and unparks its thread; true if it was not woken already.
    pub fn wake(&self) -> bool {
        let first = !self.woken.swap(true, Ordering::SeqCst);
        if first {
            self.parker.unpark();
        }
        first
    }

    /// Forgets past notifications: call right before checking the condition again.
    pub fn reset(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Whether a notification came since the last [`Waiter::reset`].
    pub fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// **Blocks** until notified (since the last reset), until the monotonic `deadline`, or
    /// until a signal (`Err(EINTR)`). `Ok` says nothing about why: the caller checks again.
    pub fn sleep(&self, deadline: Option<u64>) -> Result<(), Errno> {
        self.parker.park(&self.woken, deadline)
    }
}

/// A waiter's registration on one queue, with the events it cares about there.
struct Interest {
    waiter: Arc<Waiter>,
    mask: PollEvents,
}

impl Notify for Interest {
    fn notify(&self, events: PollEvents) -> bool {
        if !events.is_empty() && !events.intersects(self.mask) {
            return false;
        }
        self.waiter.wake()
    }
}

/// The blocking loop of a file operation: runs `attempt` until it gives anything but
/// `EAGAIN`, sleeping on `queue` (for `interest`) in between. With `nonblocking`, or when the
/// first attempt succeeds, nothing is registered and nothing allocated.
///
/// The waiter registers before each later attempt checks, so a notification that comes
/// between the check and the sleep ends the sleep at once: no wake-up is lost. A signal ends
/// the wait with `EINTR`.
pub fn wait_until_ready<T>(
    blocker: &dyn Blocker,
    queue: &PollQueue,
    interest: PollEvents,
    nonblocking: bool,
    mut attempt: impl FnMut() -> Result<T, Errno>,
) -> Result<T, Errno> {
    match attempt() {
        Err(Errno::EAGAIN) if !nonblocking => {}
        r => return r,
    }
    let waiter = Waiter::new(blocker);
    let _watch = waiter.watch(queue, interest);
    loop {
        waiter.reset();
        match attempt() {
            Err(Errno::EAGAIN) => {}
            r => return r,
        }
        waiter.sleep(None)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicUsize;

    struct Count {
        calls: AtomicUsize,
        wakes: bool,
    }

    impl Notify for Count {
        fn notify(&self, _events: PollEvents) -> bool {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.wakes
        }
    }

    fn counter(wakes: bool) -> Arc<Count> {
        Arc::new(Count {
            calls: AtomicUsize::new(0),
            wakes,
        })
    }

    fn calls(c: &Count) -> usize {
        c.calls.load(Ordering::Relaxed)
    }

    #[test]
    fn watchers_are_called_until_their_watch_drops() {
        let q = PollQueue::new();
        let a = counter(true);
        let b = counter(true);
        let wa = q.watch(a.clone());
        let wb = q.watch(b.clone());
        assert_eq!(q.notify(PollEvents::IN), 2);
        drop(wa);
        assert_eq!(q.notify(PollEvents::IN), 1);
        assert_eq!((calls(&a), calls(&b)), (1, 2));
        drop(wb);
        assert!(!q.has_watchers());
        assert_eq!(q.notify(PollEvents::IN), 0);
    }

    #[test]
    fn exclusive_watchers_wake_one_at_a_time() {
        let q = PollQueue::new();
        let plain = counter(true);
        let asleep = counter(false);
        let x1 = counter(true);
        let x2 = counter(true);
        let _w = [
            q.watch_exclusive(asleep.clone()),
            q.watch_exclusive(x1.clone()),
            q.watch(plain.clone()),
            q.watch_exclusive(x2.clone()),
        ];
        assert_eq!(q.notify(PollEvents::OUT), 2);
        assert_eq!(calls(&plain), 1, "ordinary watchers always");
        assert_eq!(calls(&asleep), 1, "an exclusive one that did not wake");
        assert_eq!(calls(&x1), 1, "the first exclusive one that woke");
        assert_eq!(calls(&x2), 0, "the rest are left alone");
    }

    #[test]
    fn a_watch_outliving_its_queue_is_harmless() {
        let q = PollQueue::new();
        let w = q.watch(counter(true));
        drop(q);
        drop(w);
    }

    #[test]
    fn waiters_filter_by_interest() {
        let b = crate::fake::FakeBlocker::new();
        let waiter = Waiter::new(&b);
        let q = PollQueue::new();
        let _w = waiter.watch(&q, PollEvents::IN);
        assert_eq!(q.notify(PollEvents::OUT), 0);
        assert!(!waiter.is_woken());
        assert_eq!(q.notify(PollEvents::HUP), 1, "HUP always counts");
        assert_eq!(q.notify(PollEvents::IN), 0, "already woken");
        waiter.reset();
        assert_eq!(q.notify(PollEvents::empty()), 1, "no key: anything");
    }

    #[test]
    fn wait_until_ready_sleeps_only_when_needed() {
        let q = PollQueue::new();
        let b = crate::fake::FakeBlocker::new();
        assert_eq!(
            wait_until_ready(&b, &q, PollEvents::IN, false, || Ok(5)),
            Ok(5)
        );
        assert_eq!(
            wait_until_ready::<()>(&b, &q, PollEvents::IN, true, || Err(Errno::EAGAIN)),
            Err(Errno::EAGAIN)
        );
        assert_eq!(b.waits(), 0);
        // Nothing ever comes: the fake blocker reports a signal.
        assert_eq!(
            wait_until_ready::<()>(&b, &q, PollEvents::IN, false, || Err(Errno::EAGAIN)),
            Err(Errno::EINTR)
        );
        assert!(!q.has_watchers(), "the waiter unregistered");
    }
}
