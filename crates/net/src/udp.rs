//! UDP sockets (`SOCK_DGRAM` over `AF_INET`/`AF_INET6`), udp(7), over smoltcp's UDP.
//!
//! A bound socket has a smoltcp UDP socket in every interface (a datagram for the machine may
//! arrive on the loopback or a NIC), each in a set of its own; a send goes out of the one that
//! routes to the destination. Which socket a received datagram goes to (several may share a
//! port with `SO_REUSEADDR`/`SO_REUSEPORT`; a connected one takes its peer's) is Linux's
//! lookup, in [`crate::stack::dgrams`]. An unbound socket binds an ephemeral port on its first send or connect(2),
//! as Linux does. connect(2) sets the default destination and makes the socket take only that
//! peer's datagrams; connecting to `AF_UNSPEC` undoes it.
//!
//! Datagram rules as Linux: a receive takes one datagram; what does not fit in the buffer is
//! lost, with `MSG_TRUNC` in the message flags (and, when asked with `MSG_TRUNC`, the full
//! length returned); a payload over 65507 bytes (IPv4) or 65527 (IPv6) is `EMSGSIZE`; a send
//! without a destination on an unconnected socket is `EDESTADDRREQ`.
//!
//! Not here: ICMP errors (a send to a closed port does not make the next call fail with
//! `ECONNREFUSED`), multicast, broadcast.
//!
//! # Locks
//! read(2), write(2), recvfrom(2), sendto(2) and the msg calls may run without the kernel
//! lock (see [`crate::socket::runs_unlocked`]), on several CPUs at once on one socket. What
//! each takes, outer first (the order the kernel's `smp` module doc writes down):
//!
//! - a receive: the staging buffer (with [`crate::socket::lock_stage`]) → the socket's state →
//!   the socket's set in each interface in turn ([`DgramLink`], never the stack's lock: no
//!   poll, no notification). The datagram is copied into the staging buffer under the set's
//!   lock and taken off the queue, then copied to the app under the staging lock alone, held
//!   from the take to the end of that copy so two receivers on one socket never swap
//!   datagrams. A fault in the copy loses the datagram (`EFAULT`), as on Linux, where the
//!   datagram is dequeued before the copy.
//! - a send: the payload is copied in with no lock held (once, before any wait); then the
//!   state → the stack (a peek) to bind and pick the interface's socket, released; then the
//!   set alone (queue the datagram, list the socket for the next poll), released; then the
//!   stack alone (`with`: poll, so the datagram goes out now, then notify the queues with no
//!   lock).
//! - bind(2), connect(2) (under the kernel lock): the options (alone, read first), then the
//!   state → the stack; the state is still held while `with` notifies the queues, which take
//!   no socket lock.
//! - poll(2), `FIONREAD`, `SIOCOUTQ`: the state → each set in turn (not the stack).
//!
//! A socket's smoltcp sockets (its keys) stay in the stack until the socket is dropped (at the
//! file's release, under the kernel lock), so a key read under the state's lock stays valid
//! after it. Waits go through [`crate::socket::wait_for`] with no lock held.

use crate::addr::{RawAddr, SockAddr};
use crate::io::Sink;
use crate::socket::{
    Caller, Outgoing, Received, SockOpts, SocketOps, Wait, get_common, int_value, lock_stage,
    opt_int, set_common, wait_for,
};
use crate::stack::dgrams::Route;
use crate::stack::ports::{BindAddr, Binding, Proto};
use crate::stack::{DgramLink, Inner, SockKey, Stack};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net as n;
use oxv_vfs::readiness::PollQueue;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use spin::Mutex;

/// Datagrams a socket queues in each direction.
const PACKETS: usize = 128;
/// Payload bytes received and queued (about Linux's `rmem_default`).
const RX_BYTES: usize = 208 * 1024;
/// Payload bytes queued for sending (room for the largest datagram).
const TX_BYTES: usize = 128 * 1024;
/// `SO_RCVBUF`/`SO_SNDBUF` shown (Linux's `rmem_default`/`wmem_default`).
const SHOWN_BUF: u32 = 212992;
/// The largest UDP payload over IPv4 (65535 - 20 - 8).
const MAX_PAYLOAD_V4: usize = 65507;
/// The largest UDP payload over IPv6 (65535 - 8).
const MAX_PAYLOAD_V6: usize = 65527;
/// `IPV6_RECVERR`.
const IPV6_RECVERR: u32 = 25;
/// `IP_RECVERR`.
const IP_RECVERR: u32 = 11;

struct State {
    local: Option<(BindAddr, u16)>,
    keys: Vec<DgramLink>,
    peer: Option<IpEndpoint>,
    /// The source address connect(2) chose (getsockname(2) shows it).
    src: Option<IpAddress>,
    v6only: bool,
    ttl: i32,
    shut_rd: bool,
    shut_wr: bool,
    recverr: bool,
    /// The last destination sent to and what the stack said of it, so that the next send
    /// there skips the lookup under the stack's lock (its poll is handed off if the lock is
    /// held, see `stack/handoff.rs`).
    route: Option<SendRoute>,
}

/// Where datagrams to one address leave, as looked up at address epoch `epoch`
/// ([`crate::stack::Shared::addrs_epoch`]); stale once the epoch moves.
struct SendRoute {
    dest: IpAddress,
    epoch: u64,
    link: DgramLink,
    local: Option<IpAddress>,
}

/// A UDP socket.
pub struct UdpSocket {
    stack: Stack,
    v6: bool,
    id: u64,
    queue: PollQueue,
    opts: Mutex<SockOpts>,
    st: Mutex<State>,
    stage: Mutex<Vec<u8>>,
}

fn new_udp() -> udp::Socket<'static> {
    udp::Socket::new(
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; PACKETS],
            vec![0u8; RX_BYTES],
        ),
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; PACKETS],
            vec![0u8; TX_BYTES],
        ),
    )
}

impl UdpSocket {
    /// A new unbound socket; `v6` for `AF_INET6`.
    pub fn new(stack: &Stack, v6: bool) -> Arc<UdpSocket> {
        let id = stack.shared.peek(|i| i.next_id());
        Arc::new(UdpSocket {
            stack: stack.clone(),
            v6,
            id,
            queue: PollQueue::new(),
            opts: Mutex::new(SockOpts::new(SHOWN_BUF, SHOWN_BUF)),
            st: Mutex::new(State {
                local: None,
                keys: Vec::new(),
                peer: None,
                src: None,
                v6only: false,
                ttl: 64,
                shut_rd: false,
                shut_wr: false,
                recverr: false,
                route: None,
            }),
            stage: Mutex::new(Vec::new()),
        })
    }

    /// The socket's id (its inode number for fstat(2)).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `SO_REUSEADDR` and `SO_REUSEPORT`, read before the state lock (the options' lock is
    /// taken alone).
    fn reuse(&self) -> Reuse {
        let o = self.opts.lock();
        Reuse {
            addr: o.reuse_addr,
            port: o.reuse_port,
        }
    }

    /// Takes `port` (0: ephemeral) at `addr` and opens a smoltcp socket in every interface.
    fn bind_in(
        &self,
        inner: &mut Inner,
        st: &mut State,
        addr: BindAddr,
        port: u16,
        o: Reuse,
    ) -> Result<(), Errno> {
        let port = inner.table.bind(
            Proto::Udp,
            port,
            Binding {
                owner: self.id,
                addr,
                reuse_addr: o.addr,
                reuse_port: o.port,
                listening: false,
            },
        )?;
        for i in 0..inner.ports.len() {
            let mut s = new_udp();
            s.bind(IpListenEndpoint {
                addr: addr.ip(),
                port,
            })
            .map_err(|_| Errno::EINVAL)?;
            let k = inner.add(i, s, &self.queue);
            inner.udp_route(
                k,
                Route {
                    addr,
                    port,
                    peer: st.peer,
                    reuse_port: o.port,
                },
            );
            st.keys.push(inner.dgram_link(k));
        }
        st.local = Some((addr, port));
        Ok(())
    }

    fn autobind(&self, inner: &mut Inner, st: &mut State, o: Reuse) -> Result<(), Errno> {
        if st.local.is_some() {
            return Ok(());
        }
        let addr = if self.v6 {
            BindAddr::Any6 { v6only: st.v6only }
        } else {
            BindAddr::Any4
        };
        self.bind_in(inner, st, addr, 0, o)
            .map_err(|_| Errno::EAGAIN)
    }

    /// Binds if needed and picks the socket's smoltcp set on the interface that routes to
    /// `dest`, and the source address; under the stack's lock.
    fn lookup(
        &self,
        st: &mut State,
        dest: IpAddress,
        reuse: Reuse,
    ) -> Result<(DgramLink, Option<IpAddress>), Errno> {
        self.stack.shared.peek(|inner| {
            let port = inner.route(dest).ok_or(Errno::ENETUNREACH)?;
            self.autobind(inner, st, reuse)?;
            let link = st
                .keys
                .iter()
                .find(|k| k.key().port == port)
                .ok_or(Errno::ENETUNREACH)?
                .clone();
            let local = match st.local {
                Some((BindAddr::Ip(ip), _)) => Some(ip),
                _ => inner.source_for(port, dest),
            };
            Ok((link, local))
        })
    }

    /// Takes one datagram into `stage` (the staging buffer, whose lock the caller holds;
    /// at most `room` bytes of the datagram): its full length and sender; `EAGAIN` if none
    /// is queued.
    fn take(
        &self,
        stage: &mut Vec<u8>,
        room: usize,
        peek: bool,
    ) -> Result<(usize, usize, Option<IpEndpoint>), Errno> {
        let st = self.st.lock();
        if st.keys.is_empty() {
            return if st.shut_rd {
                Ok((0, 0, None))
            } else {
                Err(Errno::EAGAIN)
            };
        }
        // No datagram is longer than an IP packet's 16-bit length: a larger user buffer must
        // not size the kernel's staging buffer (a 2 GiB recv ran the heap out).
        let room = room.min(u16::MAX as usize);
        if stage.len() < room {
            stage.resize(room, 0);
        }
        // Under each set's lock alone: a receive makes nothing due to send, so no poll after
        // it; the stack compares counts that only grow, so the next datagram is a change
        // however alike (see `DgramSet::arrived`).
        let r = st.keys.iter().find_map(|link| {
            let mut d = link.lock();
            loop {
                let Ok((data, meta)) = d.udp().peek() else {
                    return None;
                };
                let from = meta.endpoint;
                if st.peer.is_some_and(|p| p != from) {
                    // Not from the connected peer: Linux would not have queued it.
                    d.consume();
                    continue;
                }
                let full = data.len();
                let got = full.min(room);
                stage[..got].copy_from_slice(&data[..got]);
                if !peek {
                    d.consume();
                }
                return Some((got, full, Some(from)));
            }
        });
        match r {
            Some(x) => Ok(x),
            None if st.shut_rd => Ok((0, 0, None)),
            None => Err(Errno::EAGAIN),
        }
    }
}

/// `SO_REUSEADDR` and `SO_REUSEPORT` as a bind takes them.
#[derive(Copy, Clone)]
struct Reuse {
    addr: bool,
    port: bool,
}

impl SocketOps for UdpSocket {
    fn family(&self) -> u32 {
        if self.v6 { n::AF_INET6 } else { n::AF_INET }
    }

    fn sock_type(&self) -> u32 {
        n::SOCK_DGRAM
    }

    fn protocol(&self) -> u32 {
        n::IPPROTO_UDP
    }

    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn parse_addr(&self, raw: &RawAddr) -> Result<SockAddr, Errno> {
        SockAddr::parse_inet(raw, self.v6)
    }

    fn bind(&self, _cx: &Caller<'_>, addr: SockAddr) -> Result<(), Errno> {
        let ep = addr.endpoint().ok_or(Errno::EAFNOSUPPORT)?;
        let reuse = self.reuse();
        let mut st = self.st.lock();
        if st.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let st = &mut *st;
        self.stack.shared.with(|inner| {
            let baddr = if ep.addr.is_unspecified() {
                if self.v6 && matches!(ep.addr, IpAddress::Ipv6(_)) {
                    BindAddr::Any6 { v6only: st.v6only }
                } else {
                    BindAddr::Any4
                }
            } else {
                if !inner.is_own(ep.addr) {
                    return Err(Errno::EADDRNOTAVAIL);
                }
                BindAddr::Ip(ep.addr)
            };
            self.bind_in(inner, st, baddr, ep.port, reuse)
        })
    }

    fn connect(&self, _cx: &Caller<'_>, addr: SockAddr, _wait: Wait) -> Result<(), Errno> {
        let reuse = self.reuse();
        let mut st = self.st.lock();
        let ep = match addr {
            SockAddr::Unspec => {
                st.peer = None;
                st.src = None;
                if !st.keys.is_empty() {
                    let keys: Vec<SockKey> = st.keys.iter().map(DgramLink::key).collect();
                    self.stack.shared.peek(|inner| {
                        for k in keys {
                            inner.udp_peer(k, None);
                        }
                    });
                }
                return Ok(());
            }
            a => a.endpoint().ok_or(Errno::EAFNOSUPPORT)?,
        };
        let mut ep = ep;
        if ep.addr.is_unspecified() {
            ep.addr = match ep.addr {
                IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(smoltcp::wire::Ipv6Address::LOCALHOST),
            };
        }
        let st = &mut *st;
        self.stack.shared.with(|inner| {
            let port = inner.route(ep.addr).ok_or(Errno::ENETUNREACH)?;
            self.autobind(inner, st, reuse)?;
            st.src = match st.local {
                Some((BindAddr::Ip(ip), _)) => Some(ip),
                _ => inner.source_for(port, ep.addr),
            };
            st.peer = Some(ep);
            for link in &st.keys {
                inner.udp_peer(link.key(), Some(ep));
            }
            Ok(())
        })
    }

    fn send(&self, msg: Outgoing<'_>, wait: Wait) -> Result<usize, Errno> {
        if msg.flags & n::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let dest = {
            let st = self.st.lock();
            if st.shut_wr {
                return Err(Errno::EPIPE);
            }
            match &msg.to {
                Some(a) => {
                    let mut ep = a.endpoint().ok_or(Errno::EAFNOSUPPORT)?;
                    if ep.addr.is_unspecified() {
                        ep.addr = match ep.addr {
                            IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                            IpAddress::Ipv6(_) => {
                                IpAddress::Ipv6(smoltcp::wire::Ipv6Address::LOCALHOST)
                            }
                        };
                    }
                    if ep.port == 0 {
                        return Err(Errno::EINVAL);
                    }
                    ep
                }
                None => st.peer.ok_or(Errno::EDESTADDRREQ)?,
            }
        };
        let len = msg.data.len();
        let max = match dest.addr {
            IpAddress::Ipv4(_) => MAX_PAYLOAD_V4,
            IpAddress::Ipv6(_) => MAX_PAYLOAD_V6,
        };
        if len > max {
            return Err(Errno::EMSGSIZE);
        }
        // Copied in with no lock held (a fault here takes the kernel lock, see the module
        // doc); retries after a wait send the same copy.
        let mut data = crate::stack::try_zeroed(len).ok_or(Errno::ENOBUFS)?;
        let got = msg.data.fetch(0, &mut data)?;
        if got < len {
            return Err(Errno::EFAULT);
        }
        let reuse = self.reuse();
        wait_for(
            &**self.stack.blocker(),
            &self.queue,
            PollEvents::OUT,
            wait,
            || {
                // The state's lock only to bind and pick the interface's socket (the keys
                // stay until the socket is dropped); the send polls without it. The lookup
                // takes the stack's lock only when the destination or the interfaces'
                // addresses changed since the last send.
                let (link, local) = {
                    let mut st = self.st.lock();
                    let st = &mut *st;
                    let epoch = self.stack.shared.addrs_epoch();
                    match &st.route {
                        Some(r) if r.dest == dest.addr && r.epoch == epoch => {
                            (r.link.clone(), r.local)
                        }
                        _ => {
                            let (link, local) = self.lookup(st, dest.addr, reuse)?;
                            st.route = Some(SendRoute {
                                dest: dest.addr,
                                epoch,
                                link: link.clone(),
                                local,
                            });
                            (link, local)
                        }
                    }
                };
                let meta = udp::UdpMetadata {
                    endpoint: dest,
                    local_address: local,
                    meta: Default::default(),
                };
                // Queued under the set's lock alone and listed, then polled: now, or by the
                // CPU polling (see `stack/handoff.rs`).
                {
                    let mut d = link.lock();
                    match d.send_slice(&data, meta) {
                        Ok(()) => link.changed(&mut d, &self.stack.shared),
                        Err(udp::SendError::BufferFull) => return Err(Errno::EAGAIN),
                        Err(udp::SendError::Unaddressable) => return Err(Errno::EINVAL),
                    }
                }
                self.stack.shared.poll_soon();
                Ok(len)
            },
        )
    }

    fn recv(&self, dst: &mut dyn Sink, flags: u32, wait: Wait) -> Result<Received, Errno> {
        if flags & n::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let room = dst.len();
        let peek = flags & n::MSG_PEEK != 0;
        // The staging lock from taking the datagram to the end of the copy to the app, so
        // that two receivers on one socket do not swap datagrams; never held while waiting.
        let (got, full, from) = wait_for(
            &**self.stack.blocker(),
            &self.queue,
            PollEvents::IN,
            wait,
            || {
                // Before answering `EAGAIN`, a send handed to the CPU polling may still
                // bring one (see `stack/handoff.rs`).
                self.stack.shared.or_settled(wait.nonblocking, || {
                    let mut stage = lock_stage(&self.stage);
                    let (got, full, from) = self.take(&mut stage, room, peek)?;
                    if got > 0 {
                        dst.fill(0, &stage[..got])?;
                    }
                    Ok((got, full, from))
                })
            },
        )?;
        let mut out = Received {
            len: if flags & n::MSG_TRUNC != 0 { full } else { got },
            from: from.map(|f| SockAddr::from_endpoint(f, self.v6)),
            ..Received::default()
        };
        if full > got {
            out.flags |= n::MSG_TRUNC;
        }
        Ok(out)
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        let mut st = self.st.lock();
        if how == n::SHUT_RD || how == n::SHUT_RDWR {
            st.shut_rd = true;
        }
        if how == n::SHUT_WR || how == n::SHUT_RDWR {
            st.shut_wr = true;
        }
        let connected = st.peer.is_some();
        drop(st);
        self.queue.notify(PollEvents::empty());
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }

    fn local_addr(&self) -> SockAddr {
        let st = self.st.lock();
        match st.local {
            Some((baddr, port)) => {
                let ip = match (baddr, st.src) {
                    (BindAddr::Ip(ip), _) => Some(ip),
                    (_, Some(src)) => Some(src),
                    _ => None,
                };
                match ip {
                    Some(ip) => SockAddr::from_endpoint(IpEndpoint::new(ip, port), self.v6),
                    None if self.v6 => SockAddr::inet6([0; 16], port),
                    None => SockAddr::Inet { addr: [0; 4], port },
                }
            }
            None => SockAddr::unspecified(self.v6),
        }
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        self.st
            .lock()
            .peer
            .map(|p| SockAddr::from_endpoint(p, self.v6))
            .ok_or(Errno::ENOTCONN)
    }

    fn set_option(&self, level: u32, name: u32, val: &[u8]) -> Result<(), Errno> {
        let mut st = self.st.lock();
        match (level, name) {
            (n::IPPROTO_IPV6, n::IPV6_V6ONLY) if self.v6 => {
                let v = opt_int(val)?;
                if st.local.is_some() {
                    return Err(Errno::EINVAL);
                }
                st.v6only = v != 0;
            }
            (n::IPPROTO_IP, n::IP_TTL) | (n::IPPROTO_IPV6, n::IPV6_UNICAST_HOPS) => {
                let v = opt_int(val)?;
                st.ttl = if v == -1 { 64 } else { v.clamp(1, 255) };
            }
            (n::IPPROTO_IP, IP_RECVERR) | (n::IPPROTO_IPV6, IPV6_RECVERR) => {
                st.recverr = opt_int(val)? != 0;
            }
            (n::SOL_SOCKET, _) => {
                drop(st);
                set_common(&mut self.opts.lock(), name, val)?;
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    fn get_option(&self, level: u32, name: u32) -> Result<Vec<u8>, Errno> {
        let st = self.st.lock();
        Ok(match (level, name) {
            (n::IPPROTO_IPV6, n::IPV6_V6ONLY) if self.v6 => int_value(st.v6only as i32),
            (n::IPPROTO_IP, n::IP_TTL) | (n::IPPROTO_IPV6, n::IPV6_UNICAST_HOPS) => {
                int_value(st.ttl)
            }
            (n::IPPROTO_IP, IP_RECVERR) | (n::IPPROTO_IPV6, IPV6_RECVERR) => {
                int_value(st.recverr as i32)
            }
            (n::SOL_SOCKET, _) => {
                drop(st);
                return get_common(&self.opts.lock(), name);
            }
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }

    fn poll(&self) -> PollEvents {
        let st = self.st.lock();
        let mut ev = PollEvents::empty();
        let queued = st.keys.iter().any(|k| {
            let d = k.lock();
            let u = d.udp_ref();
            u.recv_queue() > 0 || u.can_recv()
        });
        if queued || st.shut_rd {
            ev |= PollEvents::IN | PollEvents::RDNORM;
        }
        let writable = st.keys.iter().all(|k| k.lock().udp_ref().can_send());
        if writable {
            ev |= PollEvents::OUT | PollEvents::WRNORM;
        }
        if st.shut_rd && st.shut_wr {
            ev |= PollEvents::HUP;
        }
        ev
    }

    fn poll_queue(&self) -> &PollQueue {
        &self.queue
    }

    /// The size of the next datagram, as Linux's `FIONREAD` on UDP.
    fn bytes_readable(&self) -> usize {
        let st = self.st.lock();
        st.keys
            .iter()
            .find_map(|k| k.lock().udp().peek().ok().map(|(d, _)| d.len()))
            .unwrap_or(0)
    }

    fn bytes_unsent(&self) -> usize {
        let st = self.st.lock();
        st.keys
            .iter()
            .map(|k| k.lock().udp_ref().send_queue())
            .sum()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let st = self.st.get_mut();
        let keys = core::mem::take(&mut st.keys);
        let local = st.local;
        let id = self.id;
        self.stack.shared.with(|inner| {
            for k in keys {
                inner.remove(k.key());
            }
            if let Some((_, port)) = local {
                inner.table.release(Proto::Udp, port, id);
            }
        });
    }
}
