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
