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

use super::dgrams::{DgramLock, DgramSet};
use super::{ConnLock, ConnSet, SockKey};
use spin::MutexGuard;

/// A socket's handle on its connection (see the module doc).
#[derive(Clone)]
pub struct ConnLink {
    key: SockKey,
    conn: ConnLock,
}

impl ConnLink {
    pub(super) fn new(key: SockKey, conn: ConnLock) -> ConnLink {
        ConnLink { key, conn }
    }

    /// The connection's key in the stack.
    pub fn key(&self) -> SockKey {
        self.key
    }

    /// The connection, under its lock alone.
    pub fn lock(&self) -> MutexGuard<'_, ConnSet> {
        self.conn.lock()
    }

    /// Lists the connection (locked as `c`) for the next poll of `stack`: call after a
    /// change that may let it send.
    pub fn changed(&self, c: &mut ConnSet, stack: &super::Shared) {
        if !c.listed {
            c.listed = true;
            stack.nudged.push(self.key);
        }
    }
}

/// A UDP socket's handle on one of its smoltcp sockets (one per interface), as
/// [`ConnLink`] for a connection: the copies into and out of its buffers, readiness,
/// `FIONREAD` and `MSG_PEEK` take its lock alone (order: stack → datagram set).
///
/// A receive changes nothing the stack must act on (a datagram taken lets nothing be
/// sent), so it lists nothing and polls nothing; what the poll compares for the socket are
/// counts that only grow ([`super::DgramSet::arrived`]), so the next arrival is a change
/// whatever was taken. A send queues the datagram, lists the socket with
/// [`DgramLink::changed`] and polls right away (the caller's part) so that it goes out.
#[derive(Clone)]
pub struct DgramLink {
    key: SockKey,
    cell: DgramLock,
}

impl DgramLink {
    pub(super) fn new(key: SockKey, cell: DgramLock) -> DgramLink {
        DgramLink { key, cell }
    }

    /// The socket's key in the stack.
    pub fn key(&self) -> SockKey {
        self.key
    }

    /// The socket's set, under its lock alone.
    pub fn lock(&self) -> MutexGuard<'_, DgramSet> {
        self.cell.lock()
    }

    /// Lists the socket (locked as `d`) for the next poll of `stack`: call after queueing a
    /// datagram.
    pub fn changed(&self, d: &mut DgramSet, stack: &super::Shared) {
        if !d.listed {
            d.listed = true;
            stack.nudged.push(self.key);
        }
    }
}
