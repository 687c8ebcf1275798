//! A connection's data calls without the stack's lock.
//!
//! A [`ConnLink`] is what a TCP socket keeps of its connection: the key and the lock of its
//! smoltcp set ([`super::ConnLock`]). Copies into and out of the socket's buffers, the
//! readiness check, `FIONREAD`, `MSG_PEEK` and `SO_ERROR` take that lock alone, so the data
//! calls of two connections run side by side; only polling the interfaces (moving segments)
//! takes the stack's lock, which the stack holds while it takes each connection's lock in
//! turn (order: stack → connection).
//!
//! The stack must still learn of what these calls change, or it would never send what they
//! made sendable. Two rules keep it told:
//!
//! - **Listed for the next poll.** A call that changes the connection in a way that may let
//!   it send (data queued, data taken, which opens the window) lists the connection with
//!   [`ConnLink::changed`], under the connection's lock. The next poll takes the list first,
//!   then clears each connection's `listed` mark under its lock before egress runs: a change
//!   made before the mark was cleared is seen by that egress, one made after lists the
//!   connection again.
//! - **A poll when it must send now.** After queueing data the caller polls (the stack's
//!   lock, blocking), as before. After taking data it polls only when smoltcp would send a
//!   window update ([`super::ConnSet::window_update_due`]: the window at least doubled since
//!   the peer last heard of it, as smoltcp's rule); otherwise smoltcp has nothing to say to
//!   the peer, and the connection waits, listed, for the next poll that comes anyway (a
//!   received segment, a timer, another call).
//!
//! What a poll changes (data or a FIN arrived, data acknowledged, a reset) reaches the
//! waiters as before: smoltcp's wakers list the socket, and the poll compares it with what
//! it saw and notifies its queue after dropping both locks. A waiter checks the socket under
//! the connection's lock after registering on the queue, so it either sees the change or is
//! notified of it.

use super::dgrams::DgramSet;
use super::{ConnSet, SockKey};
use alloc::sync::Arc;
use spin::{Mutex, MutexGuard};

/// A socket's smoltcp set that a data call can list for the next poll: it keeps the mark
/// that says it is listed already.
pub trait ListedSet {
    /// The mark: set when listed, cleared by the poll under the set's lock.
    fn listed(&mut self) -> &mut bool;
}

impl ListedSet for ConnSet {
    fn listed(&mut self) -> &mut bool {
        &mut self.listed
    }
}

impl ListedSet for DgramSet {
    fn listed(&mut self) -> &mut bool {
        &mut self.listed
    }
}

/// A socket's handle on one of its smoltcp sets: its key in the stack and the set's lock.
/// [`ConnLink`] for a TCP connection, [`DgramLink`] for a UDP socket's set on one interface.
pub struct SetLink<T> {
    key: SockKey,
    set: Arc<Mutex<T>>,
}

impl<T> Clone for SetLink<T> {
    fn clone(&self) -> Self {
        SetLink {
            key: self.key,
            set: self.set.clone(),
        }
    }
}

impl<T: ListedSet> SetLink<T> {
    pub(super) fn new(key: SockKey, set: Arc<Mutex<T>>) -> SetLink<T> {
        SetLink { key, set }
    }

    /// The socket's key in the stack.
    pub fn key(&self) -> SockKey {
        self.key
    }

    /// The set, under its lock alone.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.set.lock()
    }

    /// Lists the socket (its set locked as `set`) for the next poll of `stack`: call after a
    /// change that may let it send (data queued, or taken so that the window opens).
    pub fn changed(&self, set: &mut T, stack: &super::Shared) {
        let listed = set.listed();
        if !*listed {
            *listed = true;
            stack.nudged.push(self.key);
        }
    }
}

/// A TCP socket's handle on its connection (see the module doc).
pub type ConnLink = SetLink<ConnSet>;

/// A UDP socket's handle on one of its smoltcp sockets (one per interface), as
/// [`ConnLink`] for a connection: the copies into and out of its buffers, readiness,
/// `FIONREAD` and `MSG_PEEK` take its lock alone (order: stack → datagram set).
///
/// A receive changes nothing the stack must act on (a datagram taken lets nothing be
/// sent), so it lists nothing and polls nothing; what the poll compares for the socket are
/// counts that only grow ([`super::DgramSet::arrived`]), so the next arrival is a change
/// whatever was taken. A send queues the datagram, lists the socket with
/// [`SetLink::changed`] and polls right away (the caller's part) so that it goes out.
pub type DgramLink = SetLink<DgramSet>;
