//! The TCP sockets of one port, each in a smoltcp `SocketSet` of its own, and how received
//! frames find theirs.
//!
//! smoltcp's `Interface` looks at every socket of the set it is given: egress asks each one
//! whether it has something to send, ingress tries each one until one accepts the segment,
//! `poll_at` asks each one for its next timer. With every connection in one set, a socket call
//! (which polls the stack) would cost in proportion to all the connections open, idle or not.
//! Here each TCP socket gets a one-socket set, so the stack chooses which sockets smoltcp sees:
//!
//! - **ingress**: a TCP segment goes to the set of the connection whose (local, remote)
//!   endpoints it carries ([`Conns::routed`]; set when the connection is made or takes its
//!   SYN); one nobody routes goes to the port's shared set, which holds no TCP socket, so
//!   smoltcp answers it with a RST as it would have;
//! - **egress** runs for the sets that may have something to send ([`Conns::active`]): those
//!   the stack's callers reached, those that just received a segment, and those whose timer
//!   is due (retransmission, delayed ACK, keep-alive, TIME-WAIT), kept in time order;
//! - a frame for the interface itself (ARP, neighbour discovery) may let sockets waiting for
//!   a neighbour send: then every set of the port runs egress ([`Conns::sweep`]), rarely.
//!
//! Each set is behind a lock of its own ([`ConnLock`]), so that the data calls of one
//! connection (copies in and out of its buffers, readiness, `FIONREAD`, `MSG_PEEK`,
//! `SO_ERROR`) take that lock alone and never wait for the stack's lock or another
//! connection's (see [`super::link`]). The stack takes a connection's lock, under its own,
//! for each smoltcp call on the set (ingress, egress, `poll_at`, a look after the poll).
//!
//! This is not the whole stack's demultiplexing: UDP sockets have sets (and locks) of their
//! own too ([`super::dgrams`]); DHCP's stays in the port's shared set (see [`super`]).

use super::device::PortDevice;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;
use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, Socket, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use spin::{Mutex, MutexGuard};

/// Egress calls for one set in one round at most (each sends what the socket has ready).
const EGRESS_ROUNDS: usize = 64;

/// Slack, in bytes, of the window-update rule (see [`ConnSet::window_update_due`]): smoltcp
/// compares windows in units of its window scale (at most 2^14 bytes), the stack in bytes.
const WINDOW_SLACK: usize = 1 << 14;

/// Segments with data acknowledged at once when a connection begins (see [`super::ack`]).
const QUICK_ACKS: u8 = 2;

/// One connection's set, shared by the stack and the connection's socket.
pub type ConnLock = Arc<Mutex<ConnSet>>;

/// One TCP socket in a set of its own, and what the connection's data calls need besides.
pub struct ConnSet {
    set: SocketSet<'static>,
    handle: SocketHandle,
    /// An error the connection met (refused, reset), for the owner to take.
    pub(super) error: Option<Errno>,
    /// On the stack's list of connections changed by their data calls, not yet taken by a
    /// poll (see [`super::link`]).
    pub(super) listed: bool,
    /// A lower bound of the receive window the peer was last told of, adjusted for what
    /// arrived since, as smoltcp's own window-update rule sees it (see
    /// [`ConnSet::window_update_due`]).
    told_window: usize,
    /// Bytes the app took from the receive buffer, ever (wrapping). With what is queued it
    /// makes [`ConnSet::arrived`].
    taken: usize,
    /// Bytes the app put in the send buffer, ever (wrapping). Less what is still queued it
    /// makes [`ConnSet::acked`].
    queued: usize,
    /// Since when data has arrived that no frame sent since acknowledged: smoltcp holds the
    /// ACK back for its delay (see [`super::ack`]).
    ack_owed: Option<Instant>,
    /// Data arrived since the app last queued data to send.
    arrived_since_send: bool,
    /// The app answers what it receives: a held-back ACK rides on the answer, so a read
    /// that empties the queue does not send it early (see [`super::ack`]).
    pingpong: bool,
    /// The held-back ACK should go out at the next egress, not at its timer.
    ack_now: bool,
    /// How many more segments with data are acknowledged at once (the connection's start).
    quick_acks: u8,
}

impl ConnSet {
    fn socket(&mut self) -> &mut Socket<'static> {
        self.set.get_mut::<Socket>(self.handle)
    }

    /// The TCP socket.
    pub fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        tcp::Socket::downcast_mut(self.socket()).expect("a connection set holds TCP")
    }

    /// The TCP socket, to look at.
    pub fn tcp_ref(&self) -> &tcp::Socket<'static> {
        let s = self.set.get::<Socket>(self.handle);
        match s {
            Socket::Tcp(t) => t,
            _ => panic!("a connection set holds TCP"),
        }
    }

    /// Takes the error the connection met, if any.
    pub fn take_error(&mut self) -> Option<Errno> {
        self.error.take()
    }

    /// The error the connection met, if any, leaving it.
    pub fn error(&self) -> Option<Errno> {
        self.error
    }

    /// Queues as much of `data` as fits to send; returns how much did.
    pub fn send_slice(&mut self, data: &[u8]) -> usize {
        let n = self.tcp().send_slice(data).unwrap_or(0);
        self.queued = self.queued.wrapping_add(n);
        if n > 0 {
            if self.arrived_since_send {
                self.pingpong = true;
            }
            self.arrived_since_send = false;
        }
        n
    }

    /// Drops the first `n` bytes received (the app has them); returns how many there were.
    pub fn consume(&mut self, n: usize) -> usize {
        let s = self.tcp();
        let mut left = n;
        while left > 0 {
            match s.recv(|b| {
                let k = b.len().min(left);
                (k, k)
            }) {
                Ok(0) | Err(_) => break,
                Ok(k) => left -= k,
            }
        }
        self.taken = self.taken.wrapping_add(n - left);
        let emptied = self.tcp_ref().recv_queue() == 0;
        if n > left && emptied && self.ack_owed.is_some() && !self.pingpong {
            // Nothing left to read and no answer expected: the peer may be waiting for this
            // ACK to free its send buffer.
            self.ack_now = true;
        }
        n - left
    }

    /// Whether the last read asked for the held-back ACK now (see [`super::ack`]): the
    /// caller polls so that it goes.
    pub fn ack_due(&self) -> bool {
        self.ack_now
    }

    /// Whether the app's send buffer is full: a sender that waits for room.
    fn send_full(&self) -> bool {
        let t = self.tcp_ref();
        t.send_capacity() > 0 && t.send_queue() == t.send_capacity()
    }

    /// Bytes received since the connection began (wrapping): this only grows, when data
    /// arrives. The stack compares it, not the queue's length, with what it saw: a data call
    /// takes data without the stack's lock and without a poll after it, so by the next
    /// poll as much may have arrived again as was taken, the queue's length back where
    /// the stack last saw it, and a reader blocked since would never be woken.
    pub(super) fn arrived(&self) -> usize {
        self.taken.wrapping_add(self.tcp_ref().recv_queue())
    }

    /// Bytes the peer acknowledged since the connection began (wrapping; only grows, as
    /// [`ConnSet::arrived`] and for the same reason: a sender blocked on a full buffer).
    pub(super) fn acked(&self) -> usize {
        self.queued.wrapping_sub(self.tcp_ref().send_queue())
    }

    fn window(&self) -> usize {
        let t = self.tcp_ref();
        t.recv_capacity() - t.recv_queue()
    }

    /// Whether the receive window has grown enough since the peer last heard of it that
    /// smoltcp would send a window update now: it does when the new window is at least
    /// twice the one last advertised (less what arrived since). Checked after the app takes
    /// data without the stack's lock: when it says no, smoltcp would send nothing either,
    /// so no poll is needed yet; when it says yes the caller polls, or the peer could wait
    /// on a closed window. It errs towards yes (see [`WINDOW_SLACK`]).
    pub fn window_update_due(&self) -> bool {
        let now = self.window();
        now > 0 && now / 2 + WINDOW_SLACK >= self.told_window
    }

    /// Runs one smoltcp call on the set through `dev` at `now` and keeps
    /// [`ConnSet::told_window`] right (a frame sent carries the window as it is now; data
    /// received shrinks it) and what [`super::ack`] needs: whether an ACK is held back.
    fn drive<R>(
        &mut self,
        dev: &mut PortDevice,
        now: Instant,
        f: impl FnOnce(&mut Self, &mut PortDevice) -> R,
    ) -> R {
        let sent = dev.sent();
        let queued = self.tcp_ref().recv_queue();
        let r = f(self, dev);
        let arrived = self.tcp_ref().recv_queue().saturating_sub(queued);
        if arrived > 0 {
            self.arrived_since_send = true;
        }
        if dev.sent() != sent {
            // Every frame smoltcp builds acknowledges all that arrived.
            self.told_window = self.window();
            self.ack_now = false;
            if let (Some(since), Some(delay)) = (self.ack_owed.take(), self.tcp_ref().ack_delay()) {
                if now >= since + delay {
                    // The timer sent it: no answer came to carry it.
                    self.pingpong = false;
                }
            }
        } else {
            self.told_window = self.told_window.saturating_sub(arrived);
            if arrived > 0 && self.ack_owed.is_none() {
                self.ack_owed = Some(now);
            }
            if arrived > 0 && self.quick_acks > 0 {
                self.quick_acks -= 1;
                self.ack_now = true;
            }
        }
        r
    }

    /// Sends the held-back ACK now if an escape hatch asked for it and nothing else went
    /// out (see [`super::ack`] for why a later clock does it, and only here).
    fn send_owed_ack(&mut self, iface: &mut Interface, dev: &mut PortDevice, now: Instant) {
        let ask = core::mem::take(&mut self.ack_now);
        let t = self.tcp_ref();
        let Some(delay) = t.ack_delay() else {
            return;
        };
        let quiet = t.send_queue() == 0
            && matches!(t.state(), tcp::State::Established | tcp::State::FinWait2);
        if ask && quiet && self.ack_owed.is_some() {
            self.drive(dev, now, |c, dev| {
                let _ = iface.poll_egress(now + delay, dev, &mut c.set);
            });
        }
    }
}

/// A connection's slot: its set and what the stack keeps of it.
struct Slot {
    conn: ConnLock,
    /// The (local, remote) endpoints segments are routed to it by, once known.
    tuple: Option<(IpEndpoint, IpEndpoint)>,
    /// The time smoltcp last asked to poll it at (its entry in [`Conns::due`]).
    due: Option<Instant>,
}

/// The TCP sockets of a port.
#[derive(Default)]
pub struct Conns {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    routes: BTreeMap<(IpEndpoint, IpEndpoint), usize>,
    due: super::due::DueIndex,
    /// Slots whose egress runs at the end of the round.
    active: Vec<usize>,
    /// Slots whose egress ran in this poll: their next deadline is asked at its end.
    polled: Vec<usize>,
}

impl Conns {
    /// Adds a TCP socket; returns its slot.
    pub fn add(&mut self, socket: tcp::Socket<'static>) -> usize {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let told_window = socket.recv_capacity();
        let handle = set.add(socket);
        let conn = Slot {
            conn: Arc::new(Mutex::new(ConnSet {
                set,
                handle,
                error: None,
                listed: false,
                told_window,
                taken: 0,
                queued: 0,
                ack_owed: None,
                arrived_since_send: false,
                pingpong: false,
                ack_now: false,
                quick_acks: QUICK_ACKS,
            })),
            tuple: None,
            due: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(conn);
                slot
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        };
        self.active.push(slot);
        slot
    }

    fn slot(&mut self, slot: usize) -> &mut Slot {
        self.slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .expect("a socket key names a live slot")
    }

    /// The lock of the connection in `slot`.
    pub fn conn(&self, slot: usize) -> &ConnLock {
        &self
            .slots
            .get(slot)
            .and_then(Option::as_ref)
            .expect("a socket key names a live slot")
            .conn
    }

    /// The lock of the connection in `slot`, if it is still there.
    pub fn try_conn(&self, slot: usize) -> Option<&ConnLock> {
        self.slots.get(slot)?.as_ref().map(|s| &s.conn)
    }

    /// Locks the connection in `slot`.
    pub fn lock(&self, slot: usize) -> MutexGuard<'_, ConnSet> {
        self.conn(slot).lock()
    }

    /// Removes the socket in `slot`.
    pub fn remove(&mut self, slot: usize) {
        let conn = self.slots[slot]
            .take()
            .expect("a socket key names a live slot");
        if let Some(t) = conn.tuple {
            if self.routes.get(&t) == Some(&slot) {
                self.routes.remove(&t);
            }
        }
        self.due.forget(slot, conn.due);
        self.free.push(slot);
    }

    /// Routes segments from `remote` to `local` to `slot` (replacing its earlier route).
    pub fn route(&mut self, slot: usize, local: IpEndpoint, remote: IpEndpoint) {
        let old = self.slot(slot).tuple.replace((local, remote));
        if let Some(t) = old {
            if self.routes.get(&t) == Some(&slot) {
                self.routes.remove(&t);
            }
        }
        self.routes.insert((local, remote), slot);
    }

    /// The slot segments from `remote` to `local` go to.
    pub fn routed(&self, local: IpEndpoint, remote: IpEndpoint) -> Option<usize> {
        self.routes.get(&(local, remote)).copied()
    }

    /// Has `slot` run egress at the end of the round.
    pub fn activate(&mut self, slot: usize) {
        self.active.push(slot);
    }

    /// Has every slot whose timer is due at `now` run egress.
    pub fn activate_due(&mut self, now: Instant) {
        while let Some(slot) = self.due.pop_due(now) {
            if let Some(c) = self.slots[slot].as_mut() {
                c.due = None;
            }
            self.active.push(slot);
        }
    }

    /// Has every socket run egress at the end of the round.
    pub fn sweep(&mut self) {
        self.active = (0..self.slots.len())
            .filter(|&s| self.slots[s].is_some())
            .collect();
    }

    /// Whether some slot waits for egress.
    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    /// Hands the next received frame of `dev` to the socket in `slot`. On the loopback,
    /// `ends` are the segment's (source, destination): the sender is a connection here too.
    pub fn ingress(
        &mut self,
        slot: usize,
        ends: Option<(IpEndpoint, IpEndpoint)>,
        iface: &mut Interface,
        dev: &mut PortDevice,
        now: Instant,
    ) -> PollIngressSingleResult {
        self.active.push(slot);
        let r = self.lock(slot).drive(dev, now, |c, dev| {
            iface.poll_ingress_single(now, dev, &mut c.set)
        });
        let sender = ends.and_then(|(src, dst)| self.routed(src, dst));
        if let Some(sender) = sender.filter(|&s| s != slot) {
            if self.lock(sender).send_full() {
                // The sender waits for room that only this ACK gives (see [`super::ack`]).
                let mut c = self.lock(slot);
                c.ack_now = c.ack_owed.is_some();
            }
        }
        r
    }

    /// Runs egress for the active slots until each has nothing more to send.
    pub fn egress(&mut self, iface: &mut Interface, dev: &mut PortDevice, now: Instant) {
        let mut active = core::mem::take(&mut self.active);
        active.sort_unstable();
        active.dedup();
        for &slot in &active {
            let Some(s) = self.slots.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            let mut c = s.conn.lock();
            c.drive(dev, now, |c, dev| {
                for _ in 0..EGRESS_ROUNDS {
                    if iface.poll_egress(now, dev, &mut c.set) == PollResult::None {
                        break;
                    }
                }
            });
            c.send_owed_ack(iface, dev, now);
            drop(c);
            self.polled.push(slot);
        }
        active.clear();
        self.active = active;
    }

    /// Records when each socket polled since the last call wants polling next (once per
    /// poll, after its last round).
    pub fn settle(&mut self, iface: &mut Interface, now: Instant) {
        if self.polled.is_empty() {
            return;
        }
        let mut polled = core::mem::take(&mut self.polled);
        polled.sort_unstable();
        polled.dedup();
        for &slot in &polled {
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let next = iface.poll_at(now, &s.conn.lock().set);
            self.due.refile(slot, &mut s.due, next);
        }
        polled.clear();
        self.polled = polled;
    }

    /// The earliest time a socket wants polling at.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.next()
    }

    /// Whether `f` holds for some TCP socket.
    pub fn any(&self, mut f: impl FnMut(&tcp::Socket<'static>) -> bool) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|s| f(s.conn.lock().tcp_ref()))
    }
}
