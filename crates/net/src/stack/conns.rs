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
//! This is not the whole stack's demultiplexing: UDP and DHCP sockets stay in the port's
//! shared set (see [`super`]).

use super::device::PortDevice;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, Socket, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

/// Egress calls for one set in one round at most (each sends what the socket has ready).
const EGRESS_ROUNDS: usize = 64;

/// One TCP socket with its own set.
struct ConnSet {
    set: SocketSet<'static>,
    handle: SocketHandle,
    /// The (local, remote) endpoints segments are routed to it by, once known.
    tuple: Option<(IpEndpoint, IpEndpoint)>,
    /// The time smoltcp last asked to poll it at (its entry in [`Conns::due`]).
    due: Option<Instant>,
}

/// The TCP sockets of a port.
#[derive(Default)]
pub struct Conns {
    slots: Vec<Option<ConnSet>>,
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
        let handle = set.add(socket);
        let conn = ConnSet {
            set,
            handle,
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

    fn conn(&mut self, slot: usize) -> &mut ConnSet {
        self.slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .expect("a socket key names a live slot")
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

    /// The socket in `slot`.
    pub fn socket(&mut self, slot: usize) -> &mut Socket<'static> {
        let c = self.conn(slot);
        c.set.get_mut::<Socket>(c.handle)
    }

    /// The TCP socket in `slot`.
    pub fn tcp(&mut self, slot: usize) -> &mut tcp::Socket<'static> {
        tcp::Socket::downcast_mut(self.socket(slot)).expect("a connection slot holds TCP")
    }

    /// Routes segments from `remote` to `local` to `slot` (replacing its earlier route).
    pub fn route(&mut self, slot: usize, local: IpEndpoint, remote: IpEndpoint) {
        let old = self.conn(slot).tuple.replace((local, remote));
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

    /// Hands the next received frame of `dev` to the socket in `slot`.
    pub fn ingress(
        &mut self,
        slot: usize,
        iface: &mut Interface,
        dev: &mut PortDevice,
        now: Instant,
    ) -> PollIngressSingleResult {
        self.active.push(slot);
        let c = self.conn(slot);
        iface.poll_ingress_single(now, dev, &mut c.set)
    }

    /// Runs egress for the active slots until each has nothing more to send.
    pub fn egress(&mut self, iface: &mut Interface, dev: &mut PortDevice, now: Instant) {
        let mut active = core::mem::take(&mut self.active);
        active.sort_unstable();
        active.dedup();
        for &slot in &active {
            let Some(c) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            for _ in 0..EGRESS_ROUNDS {
                if iface.poll_egress(now, dev, &mut c.set) == PollResult::None {
                    break;
                }
            }
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
            let Some(c) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let next = iface.poll_at(now, &c.set);
            self.due.refile(slot, &mut c.due, next);
        }
        polled.clear();
        self.polled = polled;
    }

    /// The earliest time a socket wants polling at.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.next()
    }

    /// Every TCP socket.
    pub fn sockets(&mut self) -> impl Iterator<Item = &mut tcp::Socket<'static>> {
        self.slots
            .iter_mut()
            .flatten()
            .filter_map(|c| tcp::Socket::downcast_mut(c.set.get_mut::<Socket>(c.handle)))
    }
}
