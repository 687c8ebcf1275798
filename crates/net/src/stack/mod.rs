//! The IP stack: smoltcp interfaces over the loopback and the NICs, the sockets in them, and
//! how the stack is driven.
//!
//! One [`Stack`] per kernel. It holds one *port* per interface: a smoltcp `Interface`, its
//! device ([`device::PortDevice`]) and its sockets. Port 0 is the loopback
//! (`127.0.0.1/8`, `::1`, and the NICs' own addresses, so traffic to the machine's own address
//! never leaves it, as on Linux); each NIC added with [`Stack::add_nic`] is another. A
//! connection lives in the port that routes to its peer; a wildcard listener or UDP socket has
//! a socket in every port. Keeping ports apart is what makes routing right: smoltcp sends
//! whatever a socket has to send out of the interface it is polled with.
//!
//! **Driving.** smoltcp does nothing by itself. The stack polls (ingress, then egress, in
//! rounds until nothing moves, so a loopback exchange completes within the call that started
//! it) after every socket operation that may have produced work, when the embedder calls
//! [`Stack::poll`] (a NIC interrupt), and when the deadline it gave the embedder's
//! [`PollTimer`] comes (retransmissions, delayed ACKs, TIME-WAIT). After each poll it compares
//! the sockets that may have changed with what it saw last time and notifies the
//! [`PollQueue`]s of those that did, after dropping its lock.
//!
//! **Cost per call.** A poll must not cost in proportion to the connections open: each TCP
//! socket has a smoltcp set of its own, and a poll shows smoltcp only the sets with work
//! (the segments received, the sockets the call reached, the timers due; see [`conns`]);
//! the sockets compared afterwards are those smoltcp woke and those the call reached (see
//! [`touched`]). Each UDP socket has a set of its own too, and a received datagram goes to
//! the one socket that takes it (see [`dgrams`]); only DHCP's socket is in the port's shared set.
//!
//! **Locking.** One lock covers the stack (its interfaces, devices, routes, listeners, the
//! port table and what it saw of each socket); each TCP connection's smoltcp socket is behind
//! a lock of its own ([`ConnLock`], see [`conns`] and [`link`]), taken under the stack's when
//! the stack polls, and alone by the connection's data calls. The order: stack → connection
//! → the lists of changed sockets ([`touched`], [`link`]) → device queues → heap. Neither is
//! held across a copy to or from user memory: sockets stage data in their own buffers (see
//! [`crate::tcp`]). Notifications run after both are released. A data call never waits for
//! the stack's lock to have its socket polled: if another CPU holds it, that CPU polls for it
//! before it lets go ([`handoff`]).
//!
//! **Listen backlog.** smoltcp has no accept queue: a socket in LISTEN takes one connection.
//! The stack looks at every received SYN before smoltcp does: if it is for a listener, a fresh
//! LISTEN socket bound to exactly the SYN's destination address is made for it, unless the
//! listener already holds `backlog + 1` connections not yet accepted, in which case the SYN is
//! dropped (the client retries, as with Linux's full accept queue). A SYN nobody listens for
//! gets smoltcp's RST (connect(2) fails with `ECONNREFUSED`).

mod ack;
mod conns;
pub mod device;
pub mod dgrams;
mod due;
mod handoff;
mod link;
mod poll;
pub mod ports;
mod touched;

use crate::nic::Nic;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use conns::Conns;
pub use conns::{ConnLock, ConnSet};
use core::sync::atomic::{AtomicU64, Ordering};
use device::PortDevice;
pub use dgrams::DgramSet;
use dgrams::Dgrams;
pub use handoff::{Owed, StackGuard};
pub use link::{ConnLink, DgramLink};
use oxv_abi::Errno;
use oxv_vfs::Blocker;
use oxv_vfs::readiness::PollQueue;
use ports::{PortTable, Proto};
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpCidr,
    IpEndpoint, IpListenEndpoint, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv6Address,
    Ipv6Cidr, Ipv6Packet, TcpPacket,
};
use spin::{Mutex, MutexGuard};
use touched::{SocketWaker, WokenList};

/// Where the embedder learns when the stack must be polled again.
pub trait PollTimer: Send + Sync {
    /// Call [`Stack::poll`] at monotonic time `deadline_ns` or soon after; replaces any earlier
    /// request. Must not block or call back into the stack.
    fn arm(&self, deadline_ns: u64);
}

/// A timer that is never armed: for stacks polled only by their callers (tests).
pub struct NoTimer;

impl PollTimer for NoTimer {
    fn arm(&self, _deadline_ns: u64) {}
}

/// How a NIC gets its IPv4 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipv4Setup {
    /// DHCPv4 (the default).
    Dhcp,
    /// A fixed address and an optional default gateway.
    Static {
        /// Address and prefix.
        cidr: Ipv4Cidr,
        /// Default gateway.
        gateway: Option<Ipv4Address>,
    },
    /// No IPv4.
    None,
}

/// A NIC's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicConfig {
    /// IPv4.
    pub ipv4: Ipv4Setup,
    /// A static IPv6 address and gateway, if any.
    pub ipv6: Option<(Ipv6Cidr, Option<Ipv6Address>)>,
    /// DNS servers (DHCP's are added to these).
    pub dns: Vec<IpAddress>,
    /// The device computes TCP and UDP checksums of frames it sends: the stack leaves them.
    pub tx_checksum_offload: bool,
}

impl Default for NicConfig {
    fn default() -> Self {
        NicConfig {
            ipv4: Ipv4Setup::Dhcp,
            ipv6: None,
            dns: Vec::new(),
            tx_checksum_offload: false,
        }
    }
}

/// An interface as netlink and `/etc/hosts` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Index (1 is `lo`).
    pub index: u32,
    /// Name (`lo`, `eth0`...).
    pub name: String,
    /// IP MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// Whether it is the loopback.
    pub loopback: bool,
    /// Its addresses.
    pub addrs: Vec<IpCidr>,
}

/// A smoltcp socket: the port (interface) it lives in and its place there.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SockKey {
    /// Index of the port.
    pub port: usize,
    place: Place,
}

/// Where in its port a socket is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// In the port's shared set (DHCP).
    Shared(SocketHandle),
    /// In a set of its own (TCP; see [`conns`]).
    Conn(usize),
    /// In a set of its own (UDP; see [`dgrams`]).
    Dgram(usize),
}

/// What the stack last saw of a socket, to tell changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
struct Snapshot {
    state: Option<tcp::State>,
    /// Bytes arrived so far ([`ConnSet::arrived`], [`DgramSet::arrived`]).
    recv: usize,
    /// TCP: bytes acknowledged so far ([`ConnSet::acked`]); UDP: bytes sent out so far
    /// ([`DgramSet::sent`]).
    send: usize,
}

/// A smoltcp socket's owner as the stack knows it.
struct Entry {
    queue: PollQueue,
    seen: Snapshot,
    /// Registered with the socket: tells the stack when smoltcp changed it.
    waker: SocketWaker,
}

/// Options a listener gives the connections it accepts.
#[derive(Copy, Clone, Debug)]
pub struct TcpParams {
    /// Receive buffer, bytes.
    pub rx: usize,
    /// Send buffer, bytes.
    pub tx: usize,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// `SO_KEEPALIVE` with its interval.
    pub keepalive: Option<Duration>,
}

/// A listening socket as the stack sees it.
pub struct Listener {
    /// The port number.
    pub port: u16,
    /// The bound address (`None` for a wildcard).
    pub addr: Option<IpAddress>,
    /// Whether IPv4 SYNs count (false for `AF_INET6` + `IPV6_V6ONLY`).
    pub v4: bool,
    /// Whether IPv6 SYNs count (false for `AF_INET`).
    pub v6: bool,
    /// Connections not yet accepted may number `backlog + 1`.
    pub backlog: usize,
    /// What new connections get.
    pub params: TcpParams,
    /// The listener's readiness queue.
    pub queue: PollQueue,
    /// Sockets made for it, in SYN order, not yet accepted.
    pub conns: Vec<SockKey>,
}

/// A socket whose file was closed: kept until its connection ends.
struct Orphan {
    hold: Option<(Proto, u16, u64)>,
    /// Still registered with the socket, to learn when the connection ends.
    waker: SocketWaker,
}

/// One interface with its device and sockets.
pub struct Port {
    iface: Interface,
    dev: PortDevice,
    /// Its DHCP socket.
    set: SocketSet<'static>,
    /// Its TCP sockets.
    conns: Conns,
    /// Its UDP sockets.
    dgrams: Dgrams,
    name: String,
    mac: Option<[u8; 6]>,
    dhcp: Option<SocketHandle>,
    dns: Vec<IpAddress>,
    gw4: Option<Ipv4Address>,
    gw6: Option<Ipv6Address>,
}

impl Port {
    /// What the socket at `place` holds now; registers `waker` with it again first, if given
    /// (one look at the socket for both, as the stack does after each poll).
    fn look(&mut self, place: Place, waker: Option<&SocketWaker>) -> Snapshot {
        if let Some(w) = waker {
            w.rearm();
        }
        let w = waker.map(SocketWaker::waker);
        if let Place::Conn(slot) = place {
            let mut c = self.conns.lock(slot);
            let t = c.tcp();
            if let Some(w) = w {
                t.register_recv_waker(w);
                t.register_send_waker(w);
            }
            let state = Some(t.state());
            return Snapshot {
                state,
                recv: c.arrived(),
                send: c.acked(),
            };
        }
        if let Place::Dgram(slot) = place {
            let mut d = self.dgrams.lock(slot);
            let u = d.udp();
            if let Some(w) = w {
                u.register_recv_waker(w);
                u.register_send_waker(w);
            }
            return Snapshot {
                state: None,
                recv: d.arrived(),
                send: d.sent(),
            };
        }
        Snapshot::default()
    }
}

/// The stack's state, under its lock.
pub struct Inner {
    /// Port 0 is the loopback.
    pub ports: Vec<Port>,
    entries: BTreeMap<SockKey, Entry>,
    /// Listeners by id.
    pub listeners: BTreeMap<u64, Listener>,
    /// Port numbers in use.
    pub table: PortTable,
    orphans: BTreeMap<SockKey, Orphan>,
    /// Sockets smoltcp woke (see [`touched`]).
    woken: Arc<WokenList>,
    /// Connections their data calls changed without the stack's lock (see [`link`]).
    nudged: Arc<WokenList>,
    /// Sockets the stack's callers reached through [`Inner::tcp`] / [`Inner::udp`] since the
    /// last look.
    touched: Vec<SockKey>,
    /// The keys of the look in progress (kept for its allocation).
    looking: Vec<SockKey>,
    next_id: u64,
    seed: u64,
    /// Raised whenever an interface's addresses or routes change (the same count as
    /// [`Shared::addrs_epoch`]).
    epoch: Arc<AtomicU64>,
    /// The time of the poll in progress.
    pub now: Instant,
}

/// The shared part of a [`Stack`].
pub struct Shared {
    inner: Mutex<Inner>,
    /// The same list as [`Inner::nudged`], reached without the stack's lock.
    nudged: Arc<WokenList>,
    /// How sockets wait.
    pub blocker: Arc<dyn Blocker>,
    timer: Arc<dyn PollTimer>,
    armed: AtomicU64,
    /// Polls asked for with [`Shared::poll_soon`] (see [`handoff`]).
    asked: AtomicU64,
    /// Every poll asked for up to this count has run.
    done: AtomicU64,
    /// See [`Inner::epoch`].
    epoch: Arc<AtomicU64>,
}

/// The network stack. Cloning gives another handle on the same stack.
#[derive(Clone)]
pub struct Stack {
    pub(crate) shared: Arc<Shared>,
}

/// Polls in one call at most this many rounds; more work is left to the timer (armed for
/// "now").
const MAX_ROUNDS: usize = 64;
/// Frames taken from one device in one round.
const INGRESS_BUDGET: usize = 256;
/// Keys noted by [`Inner::touch`] between two polls before duplicates are dropped.
const TOUCHED_COMPACT: usize = 1024;
/// When a NIC's transmit queue is full, the stack waits for its interrupt; this is the
/// timer's fallback, should that interrupt never come.
const TX_BLOCKED_RETRY: Duration = Duration::from_millis(1);

fn instant(ns: u64) -> Instant {
    Instant::from_micros((ns / 1000) as i64)
}

impl Stack {
    /// A stack with only the loopback interface. `blocker` is how its sockets wait, `timer`
    /// how it asks to be polled, `seed` seeds its randomness (TCP sequence numbers, ephemeral
    /// ports).
    pub fn new(blocker: Arc<dyn Blocker>, timer: Arc<dyn PollTimer>, seed: u64) -> Stack {
        let now = instant(blocker.now_ns());
        let mut dev = PortDevice::Loopback(Default::default());
        let mut cfg = Config::new(HardwareAddress::Ip);
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut dev, now);
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
            let _ = a.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        let lo = Port {
            iface,
            dev,
            set: SocketSet::new(Vec::new()),
            conns: Conns::default(),
            dgrams: Dgrams::default(),
            name: "lo".into(),
            mac: None,
            dhcp: None,
            dns: Vec::new(),
            gw4: None,
            gw6: None,
        };
        let nudged = Arc::new(WokenList::default());
        let epoch = Arc::new(AtomicU64::new(0));
        Stack {
            shared: Arc::new(Shared {
                nudged: nudged.clone(),
                inner: Mutex::new(Inner {
                    ports: vec![lo],
                    entries: BTreeMap::new(),
                    listeners: BTreeMap::new(),
                    table: PortTable::new(seed),
                    orphans: BTreeMap::new(),
                    woken: Arc::new(WokenList::default()),
                    nudged,
                    touched: Vec::new(),
                    looking: Vec::new(),
                    next_id: 1,
                    seed,
                    epoch: epoch.clone(),
                    now,
                }),
                blocker,
                timer,
                armed: AtomicU64::new(u64::MAX),
                asked: AtomicU64::new(0),
                done: AtomicU64::new(0),
                epoch,
            }),
        }
    }

    /// Adds a NIC as interface `eth<N>` and configures it; returns its interface index.
    pub fn add_nic(&self, nic: Box<dyn Nic + Send>, config: &NicConfig) -> u32 {
        let index = self.shared.with(|inner| {
            let caps = nic.capabilities();
            let mut dev = PortDevice::nic(nic, config.tx_checksum_offload);
            let mac = caps.mac.unwrap_or([0x02, 0, 0, 0, 0, 1]);
            let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
            inner.seed = inner.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            cfg.random_seed = inner.seed;
            let iface = Interface::new(cfg, &mut dev, inner.now);
            let n = inner.ports.len();
            inner.ports.push(Port {
                iface,
                dev,
                set: SocketSet::new(Vec::new()),
                conns: Conns::default(),
                dgrams: Dgrams::default(),
                name: alloc::format!("eth{}", n - 1),
                mac: Some(mac),
                dhcp: None,
                dns: config.dns.clone(),
                gw4: None,
                gw6: None,
            });
            inner.configure(n, config);
            n as u32 + 1
        });
        self.poll();
        index
    }

    /// Runs the stack: takes received frames, sends what is due, fires timers, wakes sockets;
    /// if another CPU is polling it, leaves that CPU to run it again before it lets go.
    /// Call it from the NIC's interrupt and when the [`PollTimer`] fires.
    pub fn poll(&self) {
        // The timer that brought us here (or an interrupt that came first) may have been the
        // one `armed` stands for, while a later deadline asked for meanwhile was dropped by
        // the embedder's timer (it keeps the earliest): re-arm whatever is due next.
        self.shared.armed.store(0, Ordering::Relaxed);
        // An interrupt need not spin for the lock either: a CPU polling now polls again
        // before it lets go (see [`handoff`]).
        self.shared.poll_soon();
    }

    /// The interfaces and their addresses.
    pub fn interfaces(&self) -> Vec<InterfaceInfo> {
        let inner = self.shared.lock();
        inner
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| InterfaceInfo {
                index: i as u32 + 1,
                name: p.name.clone(),
                mtu: if p.dev.is_loopback() {
                    device::LOOPBACK_MTU as u32 + 1
                } else {
                    1500
                },
                mac: p.mac,
                loopback: p.dev.is_loopback(),
                addrs: if i == 0 {
                    p.iface.ip_addrs()[..2].to_vec()
                } else {
                    p.iface.ip_addrs().to_vec()
                },
            })
            .collect()
    }

    /// The DNS servers known (configured and from DHCP).
    pub fn dns_servers(&self) -> Vec<IpAddress> {
        let inner = self.shared.lock();
        let mut v: Vec<IpAddress> = Vec::new();
        for p in &inner.ports {
            for d in &p.dns {
                if !v.contains(d) {
                    v.push(*d);
                }
            }
        }
        v
    }

    /// Whether every NIC that asked for DHCP has an IPv4 address (true without NICs).
    pub fn is_configured(&self) -> bool {
        let inner = self.shared.lock();
        inner
            .ports
            .iter()
            .all(|p| p.dhcp.is_none() || p.iface.ipv4_addr().is_some())
    }

    /// Whether a TCP connection on a NIC still has data or a FIN its peer has not
    /// acknowledged, or a UDP socket datagrams not yet handed to the NIC. A unikernel's VM ends with its app; Linux would go on sending after
    /// the app's exit, so the embedder polls until this is false (with a time limit) before
    /// it powers off.
    pub fn has_unacked_output(&self) -> bool {
        let mut inner = self.shared.lock();
        inner.ports.iter_mut().skip(1).any(|p| {
            p.dgrams.has_queued()
                || p.conns.any(|t| {
                    t.send_queue() > 0
                        || matches!(
                            t.state(),
                            tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck
                        )
                })
        })
    }

    /// The blocker sockets wait with.
    pub fn blocker(&self) -> &Arc<dyn Blocker> {
        &self.shared.blocker
    }
}

/// Whether `a` is a loopback address.
pub fn is_loopback(a: IpAddress) -> bool {
    match a {
        IpAddress::Ipv4(v4) => v4.octets()[0] == 127,
        IpAddress::Ipv6(v6) => v6 == Ipv6Address::LOCALHOST,
    }
}

/// A new smoltcp TCP socket with `params`; `None` if the kernel heap has no room for its
/// buffers (up to 4 MiB each: more than the heap's emergency reserve, so they are allocated
/// fallibly; the caller fails with `ENOBUFS` or drops the SYN, as Linux does).
pub fn new_tcp(params: &TcpParams) -> Option<tcp::Socket<'static>> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(try_zeroed(params.rx)?),
        tcp::SocketBuffer::new(try_zeroed(params.tx)?),
    );
    s.set_nagle_enabled(!params.nodelay);
    s.set_keep_alive(params.keepalive);
    // smoltcp's delayed ACK (10 ms) stays on, loopback included, with the stack's escape
    // hatches (see [`ack`]).
    Some(s)
}

/// `len` zero bytes, or `None` when the heap cannot give them (rather than the allocation
/// failure that ends a kernel): for buffers whose size a socket option or the app chooses.
pub fn try_zeroed(len: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0);
    Some(v)
}

impl Inner {
    /// A fresh id for a socket or listener.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The TCP socket `k`, locked (its connection's lock, under the stack's: drop it before
    /// anything else reaches the same connection).
    ///
    /// # Panics
    /// If `k` is not a TCP socket of this stack (an internal invariant of the socket types).
    pub fn tcp(&mut self, k: SockKey) -> TcpGuard<'_> {
        self.touch(k);
        TcpGuard(self.conn_lock(k).lock())
    }

    fn conn_lock(&self, k: SockKey) -> &ConnLock {
        let Place::Conn(slot) = k.place else {
            panic!("the key is a TCP socket's");
        };
        self.ports[k.port].conns.conn(slot)
    }

    /// A handle on connection `k` for its data calls (see [`link`]).
    pub fn link(&self, k: SockKey) -> ConnLink {
        ConnLink::new(k, self.conn_lock(k).clone())
    }

    /// A handle on UDP socket `k` for its data calls (see [`link::DgramLink`]).
    ///
    /// # Panics
    /// If `k` is not a UDP socket of this stack.
    pub fn dgram_link(&self, k: SockKey) -> DgramLink {
        let Place::Dgram(slot) = k.place else {
            panic!("the key is a UDP socket's");
        };
        DgramLink::new(k, self.ports[k.port].dgrams.cell(slot).clone())
    }

    /// Notes that a caller reached socket `k`, which it may have changed: the next poll
    /// compares it with what was seen.
    fn touch(&mut self, k: SockKey) {
        if self.touched.last() == Some(&k) {
            return;
        }
        if self.touched.len() >= TOUCHED_COMPACT {
            // Only queries between two polls (readiness checks): keep the list small.
            self.touched.sort_unstable();
            self.touched.dedup();
        }
        self.touched.push(k);
    }

    /// Whether port `i` is the loopback.
    pub fn is_loopback_port(&self, i: usize) -> bool {
        self.ports[i].dev.is_loopback()
    }

    /// Adds a socket to port `i`, owned by whoever waits on `queue`.
    pub fn add<S: smoltcp::socket::AnySocket<'static>>(
        &mut self,
        i: usize,
        socket: S,
        queue: &PollQueue,
    ) -> SockKey {
        let port = &mut self.ports[i];
        let place = match socket.upcast() {
            smoltcp::socket::Socket::Tcp(t) => Place::Conn(port.conns.add(t)),
            smoltcp::socket::Socket::Udp(u) => Place::Dgram(port.dgrams.add(u)),
            other => Place::Shared(port.set.add(other)),
        };
        let k = SockKey { port: i, place };
        self.entries.insert(
            k,
            Entry {
                queue: queue.clone(),
                seen: Snapshot::default(),
                waker: SocketWaker::new(k, &self.woken),
            },
        );
        self.refresh_seen(k);
        self.watch(k);
        k
    }

    /// Removes socket `k` at once (an unbound UDP socket, an aborted connection).
    pub fn remove(&mut self, k: SockKey) {
        self.entries.remove(&k);
        self.drop_socket(k);
    }

    fn drop_socket(&mut self, k: SockKey) {
        let port = &mut self.ports[k.port];
        match k.place {
            Place::Shared(h) => {
                port.set.remove(h);
            }
            Place::Conn(slot) => port.conns.remove(slot),
            Place::Dgram(slot) => port.dgrams.remove(slot),
        }
    }

    /// Hands socket `k` to the stack to finish its connection after its file was closed;
    /// `hold` is the port it keeps until then.
    pub fn orphan(&mut self, k: SockKey, hold: Option<(Proto, u16, u64)>) {
        if let Some(e) = self.entries.remove(&k) {
            self.orphans.insert(
                k,
                Orphan {
                    hold,
                    waker: e.waker,
                },
            );
            self.watch(k);
        }
    }

    /// Gives socket `k` to whoever waits on `queue` (accept(2)).
    pub fn set_owner(&mut self, k: SockKey, queue: &PollQueue) {
        if let Some(e) = self.entries.get_mut(&k) {
            e.queue = queue.clone();
        }
    }

    /// Takes the error TCP socket `k` met, if any.
    pub fn take_error(&mut self, k: SockKey) -> Option<Errno> {
        self.tcp(k).0.take_error()
    }

    /// Records the state of `k` as it is now: call after changing it directly (close,
    /// connect, listen), so that the next look does not mistake the change for the peer's.
    pub fn refresh_seen(&mut self, k: SockKey) {
        let snap = self.snapshot(k);
        if let Some(e) = self.entries.get_mut(&k) {
            e.seen = snap;
        }
    }

    /// (Re-)registers the waker of socket `k` (an owned socket or an orphan): smoltcp drops a
    /// waker once it wakes it.
    fn watch(&mut self, k: SockKey) {
        let Inner {
            entries,
            orphans,
            ports,
            ..
        } = self;
        let waker = match entries.get(&k) {
            Some(e) => &e.waker,
            None => match orphans.get(&k) {
                Some(o) => &o.waker,
                None => return,
            },
        };
        ports[k.port].look(k.place, Some(waker));
    }

    fn snapshot(&mut self, k: SockKey) -> Snapshot {
        self.ports[k.port].look(k.place, None)
    }

    /// The port whose interface reaches `dst`: the loopback for loopback addresses and the
    /// machine's own; else the first NIC with a route (its subnet or a default route).
    pub fn route(&self, dst: IpAddress) -> Option<usize> {
        if is_loopback(dst) || self.is_own(dst) {
            return Some(0);
        }
        self.ports.iter().enumerate().skip(1).find_map(|(i, p)| {
            let reach = p.iface.ip_addrs().iter().any(|c| c.contains_addr(&dst))
                || match dst {
                    IpAddress::Ipv4(_) => p.gw4.is_some(),
                    IpAddress::Ipv6(_) => p.gw6.is_some(),
                };
            reach.then_some(i)
        })
    }

    /// Whether `a` is an address of this machine.
    pub fn is_own(&self, a: IpAddress) -> bool {
        self.ports
            .iter()
            .any(|p| p.iface.ip_addrs().iter().any(|c| c.address() == a))
            || (is_loopback(a) && matches!(a, IpAddress::Ipv4(_)))
    }

    /// The source address for traffic to `dst` through port `i`.
    pub fn source_for(&mut self, i: usize, dst: IpAddress) -> Option<IpAddress> {
        if i == 0 && self.is_own(dst) {
            return Some(if is_loopback(dst) {
                match dst {
                    IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                    IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
                }
            } else {
                dst
            });
        }
        self.ports[i].iface.get_source_address(&dst)
    }

    /// Connects TCP socket `k` to `remote` from `local` (port must be set), choosing the
    /// source address if `local` has none.
    pub fn tcp_connect(
        &mut self,
        k: SockKey,
        remote: IpEndpoint,
        local: IpListenEndpoint,
    ) -> Result<(), Errno> {
        let local = match local.addr {
            Some(_) => local,
            None => IpListenEndpoint {
                addr: Some(
                    self.source_for(k.port, remote.addr)
                        .ok_or(Errno::ENETUNREACH)?,
                ),
                port: local.port,
            },
        };
        self.touch(k);
        let Place::Conn(slot) = k.place else {
            panic!("a TCP socket has a set of its own");
        };
        let port = &mut self.ports[k.port];
        let here = {
            let mut c = port.conns.lock(slot);
            let s = c.tcp();
            s.connect(port.iface.context(), remote, local)
                .map_err(|_| Errno::EINVAL)?;
            s.local_endpoint()
        };
        if let Some(here) = here {
            port.conns.route(slot, here, remote);
        }
        self.refresh_seen(k);
        Ok(())
    }

    /// Closes the sending half of TCP socket `k` (FIN).
    pub fn tcp_close(&mut self, k: SockKey) {
        self.tcp(k).close();
        self.refresh_seen(k);
    }

    /// Aborts TCP socket `k` (RST).
    pub fn tcp_abort(&mut self, k: SockKey) {
        self.tcp(k).abort();
        self.refresh_seen(k);
    }
}

/// A TCP socket under its connection's lock (see [`Inner::tcp`]).
pub struct TcpGuard<'a>(MutexGuard<'a, ConnSet>);

impl core::ops::Deref for TcpGuard<'_> {
    type Target = tcp::Socket<'static>;
    fn deref(&self) -> &Self::Target {
        self.0.tcp_ref()
    }
}

impl core::ops::DerefMut for TcpGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.tcp()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ack;
#[cfg(test)]
mod tests_handoff;
#[cfg(test)]
mod tests_link;
