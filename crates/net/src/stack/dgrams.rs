//! The UDP sockets of one port, each in a smoltcp `SocketSet` of its own, and which of them
//! a received datagram goes to.
//!
//! As for TCP (see `conns.rs`), smoltcp looks at every socket of the set it is given:
//! with every UDP socket of a port in one set, each poll would ask each of them whether it has
//! a datagram to send, and a received datagram would be offered to each in turn. Here each
//! socket has a one-socket set and the stack chooses which sets smoltcp sees:
//!
//! - **ingress**: a datagram goes to the set [`Dgrams::routed`] picks by its destination and
//!   source; one nobody takes goes to the port's shared set, which holds no UDP socket (only
//!   DHCP's), so smoltcp answers it with an ICMP port-unreachable as before;
//! - **egress** runs for the sets the stack's callers reached ([`Dgrams::activate`]) and for
//!   those still holding datagrams (a full device queue, a neighbour not yet resolved), which
//!   smoltcp asks to be polled again ([`Dgrams::egress`] keeps them in time order).
//!
//! **Which socket takes a datagram** follows Linux's lookup (`udp4_lib_lookup2`,
//! `compute_score` in `net/ipv4/udp.c`, and the IPv6 twin): among the sockets bound to the
//! destination port whose address covers the destination (the exact address, or a wildcard
//! of its family; an `AF_INET6` wildcard without `IPV6_V6ONLY` covers IPv4 too) and, if
//! connected, whose peer is the sender, the most specific wins: a connected peer counts most,
//! then an exact local address, then an exact family. Among equally specific sockets, if they
//! all set `SO_REUSEPORT`, a hash of the datagram's addresses and ports picks one (so one flow
//! always reaches the same socket, as in a Linux reuseport group; the hash is not Linux's);
//! otherwise the socket bound last takes it (Linux adds new sockets at the head of its hash
//! chain, so with `SO_REUSEADDR` the newest binding receives unicast datagrams).
//!
//! Not here: multicast and broadcast delivery to several sockets (one socket takes each
//! datagram).
//!
//! Each set is behind a lock of its own ([`DgramLock`]), as a TCP connection's is: the data
//! calls of a UDP socket (the copy of a datagram into or out of its buffers, readiness,
//! `FIONREAD`, `MSG_PEEK`) take that lock alone and never wait for the stack's lock (see
//! [`super::link::DgramLink`]). The stack takes a set's lock, under its own, for each
//! smoltcp call on it (ingress, egress, `poll_at`, a look after the poll).

use super::device::PortDevice;
use super::ports::BindAddr;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, Socket, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, IpEndpoint};
use spin::{Mutex, MutexGuard};

/// Egress calls for one set in one round at most (each sends one datagram).
const EGRESS_ROUNDS: usize = 64;

/// Where a socket takes datagrams: its binding and, once connected, its peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The bound address.
    pub addr: BindAddr,
    /// The bound port.
    pub port: u16,
    /// The connected peer: only its datagrams are taken.
    pub peer: Option<IpEndpoint>,
    /// `SO_REUSEPORT`.
    pub reuse_port: bool,
}

/// One UDP socket's set, shared by the stack and the socket.
pub type DgramLock = Arc<Mutex<DgramSet>>;

/// One UDP socket in a set of its own, and what its data calls need besides.
pub struct DgramSet {
    set: SocketSet<'static>,
    handle: SocketHandle,
    /// On the stack's list of sockets changed by their data calls, not yet taken by a poll
    /// (see [`super::link`]).
    pub(super) listed: bool,
    /// Bytes of datagrams taken off the receive queue, ever (wrapping): by the app, or
    /// dropped as not from the connected peer. With what is queued it makes
    /// [`DgramSet::arrived`].
    taken: usize,
    /// Bytes of datagrams the app queued to send, ever (wrapping). Less what is still
    /// queued it makes [`DgramSet::sent`].
    queued: usize,
}

impl DgramSet {
    /// The UDP socket.
    pub fn udp(&mut self) -> &mut udp::Socket<'static> {
        udp::Socket::downcast_mut(self.set.get_mut::<Socket>(self.handle))
            .expect("a datagram set holds UDP")
    }

    /// The UDP socket, to look at.
    pub fn udp_ref(&self) -> &udp::Socket<'static> {
        udp::Socket::downcast(self.set.get::<Socket>(self.handle))
            .expect("a datagram set holds UDP")
    }

    /// Queues one datagram to send.
    pub fn send_slice(
        &mut self,
        data: &[u8],
        meta: udp::UdpMetadata,
    ) -> Result<(), udp::SendError> {
        self.udp().send_slice(data, meta)?;
        self.queued = self.queued.wrapping_add(data.len());
        Ok(())
    }

    /// Drops the first datagram received (the app has it, or it is not for the app).
    pub fn consume(&mut self) {
        if let Ok((data, _)) = self.udp().recv() {
            let n = data.len();
            self.taken = self.taken.wrapping_add(n);
        }
    }

    /// Bytes of datagrams received ever (wrapping): this only grows, when a datagram
    /// arrives. The stack compares it, not the queue's length, with what it saw: a receive
    /// takes a datagram without the stack's lock and with no poll after it, so the next
    /// datagram of the same length would leave the queue's length where the stack last saw
    /// it, and a reader blocked since would never be woken.
    pub(super) fn arrived(&self) -> usize {
        self.taken.wrapping_add(self.udp_ref().recv_queue())
    }

    /// Bytes of datagrams sent out ever (wrapping; only grows, as [`DgramSet::arrived`] and
    /// for the same reason: a sender blocked on a full buffer).
    pub(super) fn sent(&self) -> usize {
        self.queued.wrapping_sub(self.udp_ref().send_queue())
    }
}

/// One UDP socket's slot: its set and what the stack keeps of it.
struct DgramSlot {
    cell: DgramLock,
    route: Option<Route>,
    /// Bind order, for "the last bound takes it".
    seq: u64,
    /// The time smoltcp last asked to poll it at (its entry in [`Dgrams::due`]).
    due: Option<Instant>,
}

/// The UDP sockets of a port.
#[derive(Default)]
pub struct Dgrams {
    slots: Vec<Option<DgramSlot>>,
    free: Vec<usize>,
    /// The slots bound to each port number.
    bound: BTreeMap<u16, Vec<usize>>,
    /// Sets still holding datagrams, by when smoltcp wants them polled.
    due: super::due::DueIndex,
    /// Slots whose egress runs at the end of the round.
    active: Vec<usize>,
    next_seq: u64,
    /// Sets shown to smoltcp so far (ingress and egress): what the idle tests count.
    visits: u64,
}

impl Dgrams {
    /// Adds a UDP socket (not yet routed to); returns its slot.
    pub fn add(&mut self, socket: udp::Socket<'static>) -> usize {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = set.add(socket);
        let d = DgramSlot {
            cell: Arc::new(Mutex::new(DgramSet {
                set,
                handle,
                listed: false,
                taken: 0,
                queued: 0,
            })),
            route: None,
            seq: 0,
            due: None,
        };
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(d);
                slot
            }
            None => {
                self.slots.push(Some(d));
                self.slots.len() - 1
            }
        }
    }

    fn slot(&mut self, slot: usize) -> &mut DgramSlot {
        self.slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .expect("a socket key names a live slot")
    }

    /// Removes the socket in `slot`.
    pub fn remove(&mut self, slot: usize) {
        self.unroute(slot);
        let d = self.slots[slot]
            .take()
            .expect("a socket key names a live slot");
        self.due.forget(slot, d.due);
        self.free.push(slot);
    }

    fn unroute(&mut self, slot: usize) {
        let Some(r) = self.slot(slot).route.take() else {
            return;
        };
        if let Some(list) = self.bound.get_mut(&r.port) {
            list.retain(|&s| s != slot);
            if list.is_empty() {
                self.bound.remove(&r.port);
            }
        }
    }

    /// The lock of the socket in `slot`.
    pub fn cell(&self, slot: usize) -> &DgramLock {
        &self
            .slots
            .get(slot)
            .and_then(Option::as_ref)
            .expect("a socket key names a live slot")
            .cell
    }

    /// The lock of the socket in `slot`, if it is still there.
    pub fn try_cell(&self, slot: usize) -> Option<&DgramLock> {
        self.slots.get(slot)?.as_ref().map(|s| &s.cell)
    }

    /// Locks the socket in `slot`.
    pub fn lock(&self, slot: usize) -> MutexGuard<'_, DgramSet> {
        self.cell(slot).lock()
    }

    /// Routes datagrams matching `route` to `slot` (a bind: it counts as the newest binding).
    pub fn bind(&mut self, slot: usize, route: Route) {
        self.unroute(slot);
        self.next_seq += 1;
        let seq = self.next_seq;
        let d = self.slot(slot);
        d.route = Some(route);
        d.seq = seq;
        self.bound.entry(route.port).or_default().push(slot);
    }

    /// Sets or clears (`None`) the peer of `slot` (connect(2)); its binding stays.
    pub fn connect(&mut self, slot: usize, peer: Option<IpEndpoint>) {
        if let Some(r) = self.slot(slot).route.as_mut() {
            r.peer = peer;
        }
    }

    /// The slot a datagram from `src` to `dst` goes to (see the module docs).
    pub fn routed(&self, dst: IpEndpoint, src: IpEndpoint) -> Option<usize> {
        let list = self.bound.get(&dst.port)?;
        let mut best: Option<u32> = None;
        let mut ties: Vec<(u64, usize, bool)> = Vec::new();
        for &slot in list {
            let Some(d) = self.slots[slot].as_ref() else {
                continue;
            };
            let Some(r) = d.route else { continue };
            let Some(score) = score(&r, dst, src) else {
                continue;
            };
            if best.is_none_or(|b| score > b) {
                best = Some(score);
                ties.clear();
            }
            if best == Some(score) {
                ties.push((d.seq, slot, r.reuse_port));
            }
        }
        if ties.len() > 1 && ties.iter().all(|t| t.2) {
            ties.sort_unstable();
            let i = (flow_hash(dst, src) % ties.len() as u64) as usize;
            return Some(ties[i].1);
        }
        ties.iter().max().map(|t| t.1)
    }

    /// Has `slot` run egress at the end of the round.
    pub fn activate(&mut self, slot: usize) {
        self.active.push(slot);
    }

    /// Has every set still holding datagrams run egress at the end of the round (a
    /// neighbour they may wait for has answered).
    pub fn sweep(&mut self) {
        self.active.extend(self.due.slots());
    }

    /// Hands the next received frame of `dev` to the socket in `slot`.
    pub fn ingress(
        &mut self,
        slot: usize,
        iface: &mut Interface,
        dev: &mut PortDevice,
        now: Instant,
    ) -> PollIngressSingleResult {
        self.visits += 1;
        let mut d = self.lock(slot);
        iface.poll_ingress_single(now, dev, &mut d.set)
    }

    /// Whether [`Dgrams::egress`] has anything to do at `now` (kept inline: most passes of
    /// a TCP-only workload have nothing for UDP).
    #[inline]
    pub fn has_work(&self, now: Instant) -> bool {
        !self.active.is_empty() || self.due.next().is_some_and(|at| at <= now)
    }

    /// Runs egress for the active sets and those due at `now`, each until it has nothing
    /// more to send, and notes when those still holding datagrams want polling again.
    pub fn egress(&mut self, iface: &mut Interface, dev: &mut PortDevice, now: Instant) {
        while let Some(slot) = self.due.pop_due(now) {
            if let Some(d) = self.slots[slot].as_mut() {
                d.due = None;
            }
            self.active.push(slot);
        }
        if self.active.is_empty() {
            return;
        }
        let mut active = core::mem::take(&mut self.active);
        active.sort_unstable();
        active.dedup();
        for &slot in &active {
            let Some(d) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let mut c = d.cell.lock();
            if c.udp_ref().send_queue() == 0 && d.due.is_none() {
                // Reached by a call that sent nothing (a receive, a readiness check).
                continue;
            }
            self.visits += 1;
            for _ in 0..EGRESS_ROUNDS {
                if iface.poll_egress(now, dev, &mut c.set) == PollResult::None {
                    break;
                }
            }
            let next = iface.poll_at(now, &c.set);
            drop(c);
            self.due.refile(slot, &mut d.due, next);
        }
        active.clear();
        self.active = active;
    }

    /// The earliest time a set wants polling at.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.next()
    }

    /// Whether some socket still holds datagrams to send.
    pub fn has_queued(&self) -> bool {
        !self.due.is_empty()
    }

    /// Sets shown to smoltcp so far.
    pub fn visits(&self) -> u64 {
        self.visits
    }
}

impl super::Inner {
    /// Routes the datagrams `route` matches to UDP socket `k` (bind(2)).
    ///
    /// # Panics
    /// If `k` is not a UDP socket of this stack (an internal invariant of the socket types).
    pub fn udp_route(&mut self, k: super::SockKey, route: Route) {
        let super::Place::Dgram(slot) = k.place else {
            panic!("a UDP socket has a set of its own");
        };
        self.ports[k.port].dgrams.bind(slot, route);
    }

    /// Sets or clears the peer UDP socket `k` takes datagrams from (connect(2)).
    ///
    /// # Panics
    /// If `k` is not a UDP socket of this stack.
    pub fn udp_peer(&mut self, k: super::SockKey, peer: Option<IpEndpoint>) {
        let super::Place::Dgram(slot) = k.place else {
            panic!("a UDP socket has a set of its own");
        };
        self.ports[k.port].dgrams.connect(slot, peer);
    }
}

/// How specifically `r` matches a datagram from `src` to `dst`; `None` if it does not take
/// it. Linux's `compute_score`, in its order of weight.
fn score(r: &Route, dst: IpEndpoint, src: IpEndpoint) -> Option<u32> {
    let v4 = matches!(dst.addr, IpAddress::Ipv4(_));
    let mut score = match r.addr {
        BindAddr::Any4 if v4 => 1,
        BindAddr::Any6 { v6only } if !v4 || !v6only => u32::from(!v4),
        BindAddr::Ip(a) if a == dst.addr => 5,
        _ => return None,
    };
    if let Some(p) = r.peer {
        if p != src {
            return None;
        }
        score += 8;
    }
    Some(score)
}

/// FNV-1a over the datagram's addresses and ports.
fn flow_hash(dst: IpEndpoint, src: IpEndpoint) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for ep in [src, dst] {
        match ep.addr {
            IpAddress::Ipv4(a) => eat(&a.octets()),
            IpAddress::Ipv6(a) => eat(&a.octets()),
        }
        eat(&ep.port.to_be_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec;

    fn sock() -> udp::Socket<'static> {
        udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], vec![0u8; 8]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], vec![0u8; 8]),
        )
    }

    fn route(addr: BindAddr, peer: Option<IpEndpoint>, reuse_port: bool) -> Route {
        Route {
            addr,
            port: 53,
            peer,
            reuse_port,
        }
    }

    const LO: IpAddress = IpAddress::v4(127, 0, 0, 1);

    fn ep(last: u8, port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::v4(127, 0, 0, last), port)
    }

    #[test]
    fn the_most_specific_socket_takes_a_datagram() {
        let mut d = Dgrams::default();
        let any = d.add(sock());
        let exact = d.add(sock());
        let conn = d.add(sock());
        let v6 = d.add(sock());
        d.bind(any, route(BindAddr::Any4, None, false));
        d.bind(exact, route(BindAddr::Ip(LO), None, false));
        d.bind(conn, route(BindAddr::Any4, Some(ep(9, 1000)), false));
        d.bind(v6, route(BindAddr::Any6 { v6only: true }, None, false));
        let dst = ep(1, 53);
        assert_eq!(d.routed(dst, ep(9, 1000)), Some(conn), "the connected peer");
        assert_eq!(
            d.routed(dst, ep(9, 1001)),
            Some(exact),
            "then the exact address"
        );
        assert_eq!(
            d.routed(ep(2, 53), ep(9, 1001)),
            Some(any),
            "then the wildcard"
        );
        assert_eq!(d.routed(ep(2, 54), ep(9, 1001)), None, "another port");
        d.remove(any);
        assert_eq!(
            d.routed(ep(2, 53), ep(9, 1001)),
            None,
            "v6only takes no IPv4"
        );
        d.connect(conn, None);
        assert_eq!(d.routed(ep(2, 53), ep(9, 1001)), Some(conn), "disconnected");
    }

    #[test]
    fn the_last_bound_takes_it_unless_all_reuse_the_port() {
        let mut d = Dgrams::default();
        let a = d.add(sock());
        let b = d.add(sock());
        d.bind(b, route(BindAddr::Any4, None, false));
        d.bind(a, route(BindAddr::Any4, None, false));
        assert_eq!(d.routed(ep(1, 53), ep(9, 1000)), Some(a));
        let mut d = Dgrams::default();
        let group: Vec<usize> = (0..4).map(|_| d.add(sock())).collect();
        for &s in &group {
            d.bind(s, route(BindAddr::Any4, None, true));
        }
        let mut hit = BTreeSet::new();
        for port in 1000..1100 {
            let first = d.routed(ep(1, 53), ep(9, port)).unwrap();
            assert_eq!(
                d.routed(ep(1, 53), ep(9, port)),
                Some(first),
                "one flow, one socket"
            );
            hit.insert(first);
        }
        assert_eq!(hit.len(), 4, "flows spread over the group");
    }

    #[test]
    fn a_dual_stack_wildcard_takes_ipv4_after_an_ipv4_wildcard() {
        let mut d = Dgrams::default();
        let v4 = d.add(sock());
        let dual = d.add(sock());
        d.bind(v4, route(BindAddr::Any4, None, true));
        d.bind(dual, route(BindAddr::Any6 { v6only: false }, None, true));
        assert_eq!(d.routed(ep(1, 53), ep(9, 1)), Some(v4), "the exact family");
        d.remove(v4);
        assert_eq!(d.routed(ep(1, 53), ep(9, 1)), Some(dual));
    }
}
