//! The stack with real smoltcp underneath: TCP and UDP over the loopback, state by state, and
//! two stacks talking over an in-memory Ethernet link.

use crate::Net;
use crate::addr::SockAddr;
use crate::nic::{Nic, NicCapabilities, NicError};
use crate::socket::{Caller, Outgoing, SocketOps, Wait};
use crate::stack::{Ipv4Setup, NicConfig, NoTimer};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net::{self as n, Ucred};
use oxv_vfs::fake::FakeBlocker;
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};
use spin::Mutex;

const CRED: Ucred = Ucred {
    pid: 1,
    uid: 0,
    gid: 0,
};

pub(super) fn cx() -> Caller<'static> {
    Caller::kernel(CRED)
}

pub(super) fn net() -> Arc<Net> {
    Net::new(Arc::new(FakeBlocker::new()), Arc::new(NoTimer), 7)
}

pub(super) fn lo(port: u16) -> SockAddr {
    SockAddr::Inet {
        addr: [127, 0, 0, 1],
        port,
    }
}

pub(super) fn tcp(net: &Net) -> Arc<dyn SocketOps> {
    net.socket(n::AF_INET as i32, n::SOCK_STREAM as i32, 0, CRED)
        .unwrap()
}

/// A TCP connection over a link: a listener on port 80 of `na` (10.0.0.1) and a client of
/// `nb`, both stacks polled `rounds` times while it connects. Returns the client and the
/// accepted socket.
pub(super) fn connected_over_link(
    na: &Net,
    nb: &Net,
    rounds: usize,
) -> (Arc<dyn SocketOps>, Arc<dyn SocketOps>) {
    let l = tcp(na);
    let any80 = SockAddr::Inet {
        addr: [0; 4],
        port: 80,
    };
    l.bind(&cx(), any80).unwrap();
    l.listen(&cx(), 4).unwrap();
    let c = tcp(nb);
    let server = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 80,
    };
    let _ = c.connect(&cx(), server.clone(), Wait::NONBLOCK);
    for _ in 0..rounds {
        na.stack().poll();
        nb.stack().poll();
    }
    assert_eq!(c.connect(&cx(), server, Wait::NONBLOCK), Ok(()));
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    (c, s)
}

/// Sends `payload` from `from` and reads it at `to`, running `pump` between (at most 10,000
/// rounds); what arrived.
fn transfer(payload: &[u8], from: &dyn SocketOps, to: &dyn SocketOps, pump: impl Fn()) -> Vec<u8> {
    let (mut sent, mut got) = (0, Vec::new());
    for _ in 0..10_000 {
        if got.len() == payload.len() {
            break;
        }
        if sent < payload.len() {
            sent += send(from, &payload[sent..]).unwrap_or(0);
        }
        pump();
        if let Ok(v) = recv(to, 65536, 0) {
            got.extend_from_slice(&v);
        }
    }
    got
}

pub(super) fn udp(net: &Net, v6: bool) -> Arc<dyn SocketOps> {
    let af = if v6 { n::AF_INET6 } else { n::AF_INET };
    net.socket(af as i32, n::SOCK_DGRAM as i32, 0, CRED)
        .unwrap()
}

pub(super) fn send(s: &dyn SocketOps, data: &[u8]) -> Result<usize, Errno> {
    s.send(
        Outgoing {
            data: &data,
            to: None,
            rights: Vec::new(),
            cred: None,
            flags: 0,
            cx: None,
        },
        Wait::NONBLOCK,
    )
}

pub(super) fn send_to(s: &dyn SocketOps, data: &[u8], to: SockAddr) -> Result<usize, Errno> {
    s.send(
        Outgoing {
            data: &data,
            to: Some(to),
            rights: Vec::new(),
            cred: None,
            flags: 0,
            cx: None,
        },
        Wait::NONBLOCK,
    )
}

pub(super) fn recv(s: &dyn SocketOps, room: usize, flags: u32) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; room];
    let r = s.recv(&mut buf, flags, Wait::NONBLOCK)?;
    buf.truncate(r.len.min(room));
    Ok(buf)
}

/// Two IPv4 UDP sockets: a sender (unbound) and a receiver bound on 127.0.0.1, and the
/// receiver's address.
pub(super) fn udp_pair(net: &Net) -> (Arc<dyn SocketOps>, Arc<dyn SocketOps>, SockAddr) {
    let a = udp(net, false);
    let b = udp(net, false);
    b.bind(&cx(), lo(0)).unwrap();
    let to = lo(port_of(&*b));
    (a, b, to)
}

pub(super) fn port_of(s: &dyn SocketOps) -> u16 {
    match s.local_addr() {
        SockAddr::Inet { port, .. } | SockAddr::Inet6 { port, .. } => port,
        a => panic!("not an IP address: {a:?}"),
    }
}

/// A listener on 127.0.0.1 and a client connected to it, accepted.
pub(super) fn connected(net: &Net) -> (Arc<dyn SocketOps>, Arc<dyn SocketOps>, Arc<dyn SocketOps>) {
    let l = tcp(net);
    l.bind(&cx(), lo(0)).unwrap();
    l.listen(&cx(), 8).unwrap();
    let c = tcp(net);
    assert_eq!(
        c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    (l, c, s)
}

// ---- TCP: connecting --------------------------------------------------------------------

#[test]
fn loopback_connect_completes_within_the_call() {
    let net = net();
    let (l, c, s) = connected(&net);
    assert!(c.poll().contains(PollEvents::OUT));
    assert_eq!(
        c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
        Ok(()),
        "the next connect(2) reports success once"
    );
    assert_eq!(
        c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
        Err(Errno::EISCONN)
    );
    assert_eq!(c.peer_addr(), Ok(lo(port_of(&*l))));
    assert_eq!(s.peer_addr(), Ok(c.local_addr()));
    assert_eq!(s.local_addr(), lo(port_of(&*l)));
    assert!(!l.poll().contains(PollEvents::IN), "accept queue drained");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let net = net();
    let probe = tcp(&net);
    probe.bind(&cx(), lo(0)).unwrap();
    let port = port_of(&*probe);
    drop(probe);
    let c = tcp(&net);
    assert_eq!(
        c.connect(&cx(), lo(port), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let ev = c.poll();
    assert!(ev.contains(PollEvents::ERR | PollEvents::HUP), "{ev:?}");
    assert_eq!(c.take_error(), Some(Errno::ECONNREFUSED));
    assert_eq!(c.take_error(), None, "SO_ERROR clears it");
    let c2 = tcp(&net);
    assert_eq!(
        c2.connect(&cx(), lo(port), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(
        c2.connect(&cx(), lo(port), Wait::NONBLOCK),
        Err(Errno::ECONNREFUSED)
    );
}

#[test]
fn blocking_connect_to_a_closed_port_fails_at_once() {
    let net = net();
    let c = tcp(&net);
    assert_eq!(
        c.connect(&cx(), lo(9), Wait::BLOCK),
        Err(Errno::ECONNREFUSED)
    );
}

#[test]
fn backlog_limits_unaccepted_connections() {
    let net = net();
    let l = tcp(&net);
    l.bind(&cx(), lo(0)).unwrap();
    l.listen(&cx(), 0).unwrap();
    let port = port_of(&*l);
    let clients: Vec<_> = (0..3).map(|_| tcp(&net)).collect();
    for c in &clients {
        assert_eq!(
            c.connect(&cx(), lo(port), Wait::NONBLOCK),
            Err(Errno::EINPROGRESS)
        );
    }
    // Backlog 0 holds one connection; the others' SYNs were dropped, not refused.
    assert_eq!(clients[0].connect(&cx(), lo(port), Wait::NONBLOCK), Ok(()));
    for c in &clients[1..] {
        assert_eq!(
            c.connect(&cx(), lo(port), Wait::NONBLOCK),
            Err(Errno::EALREADY)
        );
    }
    let _first = l.accept(Wait::NONBLOCK).unwrap();
    assert_eq!(l.accept(Wait::NONBLOCK).err(), Some(Errno::EAGAIN));
}

#[test]
fn bind_conflicts_and_reuseaddr() {
    let net = net();
    let a = tcp(&net);
    a.bind(&cx(), lo(0)).unwrap();
    let port = port_of(&*a);
    let b = tcp(&net);
    assert_eq!(b.bind(&cx(), lo(port)), Err(Errno::EADDRINUSE));
    assert_eq!(
        b.bind(
            &cx(),
            SockAddr::Inet {
                addr: [10, 9, 9, 9],
                port: 0
            }
        ),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(a.bind(&cx(), lo(0)), Err(Errno::EINVAL), "bound once");
    a.listen(&cx(), 1).unwrap();
    drop(a);
    b.bind(&cx(), lo(port)).unwrap();
}

// ---- TCP: established ----------------------------------------------------------------------

#[test]
fn a_mebibyte_crosses_the_loopback() {
    let net = net();
    let (_l, c, s) = connected(&net);
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < data.len() {
        if sent < data.len() {
            match send(&*c, &data[sent..]) {
                Ok(k) => sent += k,
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("send: {e:?}"),
            }
        }
        match recv(&*s, 100_000, 0) {
            Ok(v) => got.extend_from_slice(&v),
            Err(Errno::EAGAIN) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
    }
    assert!(got == data, "the bytes arrive in order, unchanged");
    assert_eq!(recv(&*s, 10, 0), Err(Errno::EAGAIN));
}

#[test]
fn peek_waitall_and_fionread() {
    let net = net();
    let (_l, c, s) = connected(&net);
    send(&*c, b"hello world").unwrap();
    assert_eq!(s.bytes_readable(), 11);
    assert_eq!(recv(&*s, 5, n::MSG_PEEK).unwrap(), b"hello");
    assert_eq!(recv(&*s, 5, 0).unwrap(), b"hello");
    assert_eq!(recv(&*s, 64, 0).unwrap(), b" world");
    assert!(!s.poll().contains(PollEvents::IN));
}

#[test]
fn shutdown_gives_end_of_file_and_epipe() {
    let net = net();
    let (_l, c, s) = connected(&net);
    send(&*c, b"last").unwrap();
    c.shutdown(n::SHUT_WR).unwrap();
    assert_eq!(recv(&*s, 64, 0).unwrap(), b"last");
    assert_eq!(recv(&*s, 64, 0).unwrap(), b"", "end of file");
    assert!(s.poll().contains(PollEvents::IN | PollEvents::RDHUP));
    assert_eq!(send(&*c, b"x"), Err(Errno::EPIPE));
    // The other direction still works.
    send(&*s, b"reply").unwrap();
    assert_eq!(recv(&*c, 64, 0).unwrap(), b"reply");
}

#[test]
fn close_with_unread_data_resets_the_peer() {
    let net = net();
    let (_l, c, s) = connected(&net);
    send(&*c, b"unread").unwrap();
    drop(s);
    assert_eq!(recv(&*c, 64, 0), Err(Errno::ECONNRESET));
    assert_eq!(
        send(&*c, b"x"),
        Err(Errno::EPIPE),
        "after the reset was reported"
    );
}

#[test]
fn recv_on_unconnected_socket() {
    let net = net();
    let t = tcp(&net);
    assert_eq!(recv(&*t, 4, 0), Err(Errno::ENOTCONN));
    assert_eq!(t.peer_addr(), Err(Errno::ENOTCONN));
    assert_eq!(t.shutdown(n::SHUT_RDWR), Err(Errno::ENOTCONN));
    assert_eq!(send(&*t, b"x"), Err(Errno::EPIPE));
    let ev = t.poll();
    assert!(ev.contains(PollEvents::OUT | PollEvents::HUP), "{ev:?}");
}

// ---- UDP ------------------------------------------------------------------------------------

#[test]
fn udp_datagrams_keep_boundaries_and_truncate() {
    let net = net();
    let (a, b, to) = udp_pair(&net);
    assert_eq!(send_to(&*a, b"first datagram", to.clone()), Ok(14));
    assert_eq!(send_to(&*a, b"second", to.clone()), Ok(6));
    assert!(b.poll().contains(PollEvents::IN));
    assert_eq!(b.bytes_readable(), 14, "FIONREAD: the next datagram");
    let mut small = vec![0u8; 5];
    let r = b.recv(&mut small, 0, Wait::NONBLOCK).unwrap();
    assert_eq!((r.len, r.flags & n::MSG_TRUNC), (5, n::MSG_TRUNC));
    assert_eq!(&small, b"first");
    assert_eq!(r.from, Some(lo(port_of(&*a))), "from the loopback address");
    let r = b
        .recv(&mut small, n::MSG_TRUNC | n::MSG_PEEK, Wait::NONBLOCK)
        .unwrap();
    assert_eq!(r.len, 6, "MSG_TRUNC returns the real length");
    assert_eq!(recv(&*b, 64, 0).unwrap(), b"second");
    assert_eq!(recv(&*b, 64, 0), Err(Errno::EAGAIN));
    assert_eq!(send(&*a, b"x"), Err(Errno::EDESTADDRREQ));
}

/// A datagram as long as the one just received still tells the receiver's waiters: the
/// receive must not leave the stack believing the old one is still queued (two receivers on
/// one socket hung when the second of two equal end marks came without a notification).
#[test]
fn a_datagram_like_the_one_just_taken_still_notifies() {
    let net = net();
    let (a, b, to) = udp_pair(&net);
    let seen = Arc::new(idle::Count::default());
    let _watch = b.poll_queue().watch(seen.clone());
    for round in 0..3 {
        let before = seen.get();
        assert_eq!(send_to(&*a, b"endmark!", to.clone()), Ok(8));
        let after = seen.get();
        assert!(after > before, "round {round}: no notification");
        assert_eq!(recv(&*b, 64, 0).unwrap(), b"endmark!");
    }
}

#[test]
fn udp_connect_filters_and_defaults() {
    let net = net();
    let a = udp(&net, false);
    let b = udp(&net, false);
    let other = udp(&net, false);
    b.bind(&cx(), lo(0)).unwrap();
    a.bind(&cx(), lo(0)).unwrap();
    b.connect(&cx(), a.local_addr(), Wait::NONBLOCK).unwrap();
    send_to(&*other, b"stranger", b.local_addr()).unwrap();
    send_to(&*a, b"friend", b.local_addr()).unwrap();
    assert_eq!(recv(&*b, 64, 0).unwrap(), b"friend");
    assert_eq!(send(&*b, b"back"), Ok(4));
    assert_eq!(recv(&*a, 64, 0).unwrap(), b"back");
    b.connect(&cx(), SockAddr::Unspec, Wait::NONBLOCK).unwrap();
    assert_eq!(b.peer_addr(), Err(Errno::ENOTCONN));
}

#[test]
fn udp6_on_the_loopback_and_mapped_v4() {
    let net = net();
    let a = udp(&net, true);
    let b = udp(&net, true);
    let mut one = [0u8; 16];
    one[15] = 1;
    b.bind(&cx(), SockAddr::inet6([0; 16], 0)).unwrap();
    let port = port_of(&*b);
    send_to(&*a, b"v6", SockAddr::inet6(one, port)).unwrap();
    let mut buf = vec![0u8; 8];
    let r = b.recv(&mut buf, 0, Wait::NONBLOCK).unwrap();
    assert_eq!(&buf[..r.len], b"v6");
    let Some(SockAddr::Inet6 { addr, .. }) = r.from else {
        panic!("an IPv6 sender");
    };
    assert_eq!(addr, one);
    // An IPv4 sender reaches a dual-stack socket and shows up mapped.
    let v4 = udp(&net, false);
    send_to(&*v4, b"v4", lo(port)).unwrap();
    let r = b.recv(&mut buf, 0, Wait::NONBLOCK).unwrap();
    let Some(SockAddr::Inet6 { addr, .. }) = r.from else {
        panic!("shown as IPv6");
    };
    assert_eq!(&addr[10..], &[0xff, 0xff, 127, 0, 0, 1]);
}

#[test]
fn udp_oversized_datagram() {
    let net = net();
    let a = udp(&net, false);
    let big = vec![0u8; 65508];
    assert_eq!(send_to(&*a, &big, lo(9)), Err(Errno::EMSGSIZE));
}

// ---- Two stacks over a wire ------------------------------------------------------------------

/// How long a [`Wire`]'s receive buffers are, and where a frame starts in one (behind a
/// header, as virtio-net's).
const WIRE_RX: usize = 2048;
const WIRE_HEADER: usize = 12;

/// One end of an in-memory Ethernet cable. Like a NIC with a doorbell, it holds what it is
/// given until [`Nic::flush`]: a stack that forgot to flush would stall every test over it.
/// Like virtio-net, it writes each received frame into a receive buffer of its own and
/// swaps that for the stack's spare ([`Nic::receive_swap`]); with `swap` off it copies.
pub(super) struct Wire {
    /// Swap receive buffers (else the trait's default: a copy).
    swap: bool,
    /// The receive buffers "posted", oldest first.
    posted: VecDeque<alloc::boxed::Box<[u8]>>,
    /// Frames handed over in their own buffer, and frames copied.
    pub(super) swapped: Arc<Mutex<usize>>,
    pub(super) copied: Arc<Mutex<usize>>,
    /// Frames given, not yet flushed onto the cable.
    held: Vec<Vec<u8>>,
    /// The number of frames each flush put on the cable.
    pub(super) batches: Arc<Mutex<Vec<usize>>>,
    tx: Arc<Mutex<VecDeque<Vec<u8>>>>,
    rx: Arc<Mutex<VecDeque<Vec<u8>>>>,
    mac: [u8; 6],
    /// Frames the cable holds in this direction before transmits fail (a device queue).
    limit: usize,
    /// Frames refused because the queue was full.
    refused: Arc<Mutex<usize>>,
}

impl Nic for Wire {
    fn capabilities(&self) -> NicCapabilities {
        NicCapabilities {
            mtu: 1514,
            mac: Some(self.mac),
        }
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        if !self.can_transmit() {
            *self.refused.lock() += 1;
            return Err(NicError::QueueFull);
        }
        self.held.push(frame.to_vec());
        if !self.can_transmit() {
            // Full: out at once, as the virtio-net driver kicks then.
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        if !self.held.is_empty() {
            self.batches.lock().push(self.held.len());
            self.tx.lock().extend(self.held.drain(..));
        }
    }

    fn can_transmit(&mut self) -> bool {
        self.tx.lock().len().saturating_add(self.held.len()) < self.limit
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<Result<usize, NicError>> {
        let f = self.rx.lock().pop_front()?;
        if f.len() > buf.len() {
            return Some(Err(NicError::TooLarge));
        }
        buf[..f.len()].copy_from_slice(&f);
        *self.copied.lock() += 1;
        Some(Ok(f.len()))
    }

    fn rx_buffer_len(&self) -> usize {
        if self.swap { WIRE_RX } else { 1514 }
    }

    fn receive_swap(
        &mut self,
        buf: &mut alloc::boxed::Box<[u8]>,
    ) -> Option<Result<core::ops::Range<usize>, NicError>> {
        if !self.swap || buf.len() != WIRE_RX {
            return self.receive(buf).map(|r| r.map(|n| 0..n));
        }
        let f = self.rx.lock().pop_front()?;
        let mut mine = self
            .posted
            .pop_front()
            .unwrap_or_else(|| vec![0u8; WIRE_RX].into_boxed_slice());
        let at = WIRE_HEADER..WIRE_HEADER + f.len();
        // What the device's DMA would have written.
        mine[at.clone()].copy_from_slice(&f);
        let spare = core::mem::replace(buf, mine);
        self.posted.push_back(spare);
        *self.swapped.lock() += 1;
        Some(Ok(at))
    }
}

pub(super) fn cable() -> (Wire, Wire) {
    narrow_cable(usize::MAX)
}

/// A cable whose ends each hold at most `limit` frames in flight.
fn narrow_cable(limit: usize) -> (Wire, Wire) {
    let a = Arc::new(Mutex::new(VecDeque::new()));
    let b = Arc::new(Mutex::new(VecDeque::new()));
    let refused = Arc::new(Mutex::new(0));
    (
        Wire {
            swap: true,
            posted: VecDeque::new(),
            swapped: Arc::default(),
            copied: Arc::default(),
            held: Vec::new(),
            batches: Arc::default(),
            tx: a.clone(),
            rx: b.clone(),
            mac: [2, 0, 0, 0, 0, 1],
            limit,
            refused: refused.clone(),
        },
        Wire {
            swap: true,
            posted: VecDeque::new(),
            swapped: Arc::default(),
            copied: Arc::default(),
            held: Vec::new(),
            batches: Arc::default(),
            tx: b,
            rx: a,
            mac: [2, 0, 0, 0, 0, 2],
            limit,
            refused,
        },
    )
}

pub(super) fn at(last: u8) -> NicConfig {
    NicConfig {
        ipv4: Ipv4Setup::Static {
            cidr: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, last), 24),
            gateway: None,
        },
        ..NicConfig::default()
    }
}

/// Frames from a NIC that swaps receive buffers are read where it wrote them: every frame of
/// a 100,000-byte transfer (and its ACKs) is handed over in the NIC's buffer, none copied,
/// and the spares the stack gives back carry the next ones. A NIC that only copies (the
/// trait's default) carries the same transfer.
#[test]
fn received_frames_stay_in_the_buffer_the_nic_wrote_them_in() {
    for swap in [true, false] {
        let (mut wa, mut wb) = cable();
        wa.swap = swap;
        wb.swap = swap;
        let counts = [
            (wa.swapped.clone(), wa.copied.clone()),
            (wb.swapped.clone(), wb.copied.clone()),
        ];
        let (na, nb) = (net(), net());
        na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
        nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
        let (c, s) = connected_over_link(&na, &nb, 20);
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let got = transfer(&payload, &*c, &*s, || {
            na.stack().poll();
            nb.stack().poll();
        });
        assert!(
            got == payload,
            "swap {swap}: {} bytes of {}",
            got.len(),
            payload.len()
        );
        // The server's end takes the data (100,000 bytes are 69 full segments), the
        // client's the ACKs.
        for (end, least) in [(0, 69), (1, 1)] {
            let (swapped, copied) = (*counts[end].0.lock(), *counts[end].1.lock());
            let (moved, other) = if swap {
                (swapped, copied)
            } else {
                (copied, swapped)
            };
            assert_eq!(
                other, 0,
                "swap {swap}, end {end}: {other} frames taken the other way"
            );
            assert!(moved >= least, "swap {swap}, end {end}: {moved} frames");
        }
    }
}

#[test]
fn two_stacks_talk_tcp_over_a_wire() {
    let (wa, wb) = cable();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let pump = || {
        for _ in 0..20 {
            na.stack().poll();
            nb.stack().poll();
        }
    };
    let l = tcp(&na);
    l.bind(
        &cx(),
        SockAddr::Inet {
            addr: [0; 4],
            port: 80,
        },
    )
    .unwrap();
    l.listen(&cx(), 4).unwrap();
    let c = tcp(&nb);
    let server = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 80,
    };
    assert_eq!(
        c.connect(&cx(), server.clone(), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    pump();
    assert_eq!(c.connect(&cx(), server, Wait::NONBLOCK), Ok(()));
    let (s, peer) = l.accept(Wait::NONBLOCK).unwrap();
    assert_eq!(
        peer,
        SockAddr::Inet {
            addr: [10, 0, 0, 2],
            port: port_of(&*c)
        }
    );
    let payload: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < payload.len() {
        if sent < payload.len() {
            sent += send(&*c, &payload[sent..]).unwrap_or(0);
        }
        pump();
        if let Ok(v) = recv(&*s, 65536, 0) {
            got.extend_from_slice(&v);
        }
    }
    assert!(got == payload);
    // Loopback and the NIC address both reach the machine itself.
    let own = udp(&na, false);
    own.bind(
        &cx(),
        SockAddr::Inet {
            addr: [10, 0, 0, 1],
            port: 0,
        },
    )
    .unwrap();
    let me = udp(&na, false);
    send_to(&*me, b"self", own.local_addr()).unwrap();
    assert_eq!(recv(&*own, 16, 0).unwrap(), b"self");
}

#[test]
fn a_pass_that_sends_several_frames_flushes_the_nic_once() {
    let (wa, wb) = cable();
    let batches = wb.batches.clone();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let (c, s) = connected_over_link(&na, &nb, 10);
    batches.lock().clear();
    // 10 full segments (MSS 1460) in one call: one pass of the stack, one flush.
    assert_eq!(send(&*c, &[7; 14_600]), Ok(14_600));
    assert_eq!(*batches.lock(), [10]);
    na.stack().poll();
    let mut got = 0;
    while let Ok(v) = recv(&*s, 65536, 0) {
        got += v.len();
    }
    assert_eq!(got, 14_600);
}

#[test]
fn a_full_device_queue_holds_data_back_instead_of_losing_frames() {
    // Two frames in flight at most, and a clock that never moves: a frame refused by the
    // device would only come back by retransmission, after a timeout that never comes.
    let (wa, wb) = narrow_cable(2);
    let refused = wa.refused.clone();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let pump = || {
        for _ in 0..20 {
            na.stack().poll();
            nb.stack().poll();
        }
    };
    let (c, s) = connected_over_link(&na, &nb, 20);
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let got = transfer(&payload, &*s, &*c, pump);
    assert_eq!(got.len(), payload.len(), "the transfer stalled");
    assert!(got == payload);
    assert_eq!(*refused.lock(), 0, "the stack sent into a full queue");
}

#[test]
fn a_wire_without_a_route_is_unreachable() {
    let net = net();
    let c = tcp(&net);
    assert_eq!(
        c.connect(
            &cx(),
            SockAddr::Inet {
                addr: [192, 0, 2, 1],
                port: 80
            },
            Wait::NONBLOCK
        ),
        Err(Errno::ENETUNREACH)
    );
}

#[test]
fn tcp6_dual_stack_listener_takes_ipv4_clients() {
    let net = net();
    let l = net
        .socket(n::AF_INET6 as i32, n::SOCK_STREAM as i32, 0, CRED)
        .unwrap();
    l.bind(&cx(), SockAddr::inet6([0; 16], 0)).unwrap();
    l.listen(&cx(), 4).unwrap();
    let port = port_of(&*l);
    let mut one = [0u8; 16];
    one[15] = 1;
    let c6 = net
        .socket(n::AF_INET6 as i32, n::SOCK_STREAM as i32, 0, CRED)
        .unwrap();
    assert_eq!(
        c6.connect(&cx(), SockAddr::inet6(one, port), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let (s6, peer) = l.accept(Wait::NONBLOCK).unwrap();
    assert!(matches!(peer, SockAddr::Inet6 { addr, .. } if addr == one));
    send(&*c6, b"six").unwrap();
    assert_eq!(recv(&*s6, 8, 0).unwrap(), b"six");
    let c4 = tcp(&net);
    assert_eq!(
        c4.connect(&cx(), lo(port), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let (s4, peer) = l.accept(Wait::NONBLOCK).unwrap();
    let SockAddr::Inet6 { addr, .. } = peer else {
        panic!("an AF_INET6 listener shows IPv6 addresses");
    };
    assert_eq!(&addr[10..], &[0xff, 0xff, 127, 0, 0, 1], "IPv4-mapped");
    send(&*s4, b"four").unwrap();
    assert_eq!(recv(&*c4, 8, 0).unwrap(), b"four");
    // A v6-only listener refuses IPv4.
    let only = net
        .socket(n::AF_INET6 as i32, n::SOCK_STREAM as i32, 0, CRED)
        .unwrap();
    only.set_option(n::IPPROTO_IPV6, n::IPV6_V6ONLY, &1i32.to_ne_bytes())
        .unwrap();
    only.bind(&cx(), SockAddr::inet6([0; 16], 0)).unwrap();
    only.listen(&cx(), 4).unwrap();
    let refused = tcp(&net);
    assert_eq!(
        refused.connect(&cx(), lo(port_of(&*only)), Wait::BLOCK),
        Err(Errno::ECONNREFUSED)
    );
}

pub(super) mod idle;
mod idle_udp;
