//! Which sockets may have changed since the stack last looked: the only ones it compares with
//! what it saw, so the cost of a poll does not grow with the sockets that sit idle.
//!
//! A socket changes in two ways. The stack's own calls on it (send, receive, close...) go
//! through [`super::Inner::tcp`] / [`super::Inner::udp`], which note its key. smoltcp
//! changes it during ingress and egress, and says so through the socket's wakers: a TCP or
//! UDP socket wakes its receive waker when data arrives and its send waker when sent data is
//! acknowledged or dispatched, and both on every state change (including the reset to
//! `Closed` on RST or a refused connect). Each socket's wakers are one [`KeyWaker`] that puts
//! its key on the shared list; smoltcp drops a waker once woken, so the stack registers it
//! again each time it looks at the socket.
//!
//! This is not a readiness notifier for apps: the stack still compares what it sees with its
//! last snapshot and wakes the owner's `PollQueue` only on a difference.

use super::SockKey;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Waker;
use spin::Mutex;

/// Keys of the sockets smoltcp woke since the stack last took them.
#[derive(Default)]
pub struct WokenList {
    keys: Mutex<Vec<SockKey>>,
}

impl WokenList {
    /// Takes the keys woken so far, leaving `into` with them (its old contents are replaced,
    /// its allocation kept for next time).
    pub fn take(&self, into: &mut Vec<SockKey>) {
        into.clear();
        core::mem::swap(into, &mut *self.keys.lock());
    }

    /// Lists `key`.
    pub fn push(&self, key: SockKey) {
        self.keys.lock().push(key);
    }
}

/// The waker of one socket: puts the socket's key on the list once until the stack takes it.
pub struct KeyWaker {
    key: SockKey,
    /// On the list and not yet taken: a second wake adds nothing.
    listed: AtomicBool,
    list: Arc<WokenList>,
}

impl KeyWaker {
    /// A waker for socket `key`, listing it on `list`.
    pub fn new(key: SockKey, list: &Arc<WokenList>) -> Arc<KeyWaker> {
        Arc::new(KeyWaker {
            key,
            listed: AtomicBool::new(false),
            list: list.clone(),
        })
    }

    /// Lets the next wake list the key again (the stack has taken it).
    pub fn rearm(&self) {
        self.listed.store(false, Ordering::Relaxed);
    }
}

impl Wake for KeyWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.listed.swap(true, Ordering::Relaxed) {
            self.list.keys.lock().push(self.key);
        }
    }
}

/// A socket's waker and its handle on it.
pub struct SocketWaker {
    arc: Arc<KeyWaker>,
    waker: Waker,
}

impl SocketWaker {
    /// The waker of socket `key`, listing it on `list`.
    pub fn new(key: SockKey, list: &Arc<WokenList>) -> SocketWaker {
        let arc = KeyWaker::new(key, list);
        SocketWaker {
            waker: Waker::from(arc.clone()),
            arc,
        }
    }

    /// The waker to register with smoltcp.
    pub fn waker(&self) -> &Waker {
        &self.waker
    }

    /// See [`KeyWaker::rearm`].
    pub fn rearm(&self) {
        self.arc.rearm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SockKey {
        SockKey {
            port: 3,
            place: super::super::Place::Conn(5),
        }
    }

    #[test]
    fn a_key_is_listed_once_until_taken_and_rearmed() {
        let list = Arc::new(WokenList::default());
        let w = SocketWaker::new(key(), &list);
        w.waker().wake_by_ref();
        w.waker().wake_by_ref();
        let mut got = Vec::new();
        list.take(&mut got);
        assert_eq!(got, alloc::vec![key()]);
        w.waker().wake_by_ref();
        list.take(&mut got);
        assert!(got.is_empty(), "not rearmed: no second listing");
        w.rearm();
        w.waker().wake_by_ref();
        list.take(&mut got);
        assert_eq!(got, alloc::vec![key()]);
    }
}
