//! TCP sockets (`SOCK_STREAM` over `AF_INET`/`AF_INET6`), tcp(7), over smoltcp's TCP.
//!
//! The states an app sees, and what smoltcp holds for each:
//!
//! - *unconnected* (fresh or bound): no smoltcp socket, maybe a port (bind(2));
//! - *connecting* / *connected*: one smoltcp socket; connect(2) starts it (`EINPROGRESS` when
//!   non-blocking, as Linux answers even on loopback), and a later connect(2) reports how it
//!   went (0 once, then `EISCONN`; `EALREADY` while under way; the error if it failed);
//! - *listening*: a [`Listener`] in the stack (see [`crate::stack`] for the backlog), from
//!   which accept(2) takes connections in arrival order.
//!
//! Errors as Linux reports them: a refused connection is `ECONNREFUSED` (from connect(2) or
//! `SO_ERROR`), a reset one `ECONNRESET` once, then `EPIPE` for sends (the syscall layer adds
//! `SIGPIPE` unless `MSG_NOSIGNAL`); recv(2) on an unconnected socket is `ENOTCONN`; data
//! already received is still read before an error or end of file. Closing a socket with
//! unread data, or with `SO_LINGER` of zero, resets the connection; otherwise the stack
//! finishes the close after the file is gone.
//!
//! Data moves between the app and smoltcp's buffers through a per-socket staging buffer,
//! because neither the stack's lock nor the connection's is held across a copy from or to
//! user memory. The data calls take the connection's lock alone (see [`crate::stack::ConnLink`]):
//! a send then polls the stack, a read only when smoltcp would send a window update. A receive
//! copies what smoltcp holds into the staging buffer (peeking), then to the app, then
//! consumes what reached the app, so a fault loses nothing. The staging buffers' locks are
//! the only ones held across a user copy (they also keep two senders, or two receivers, of
//! one socket from interleaving their chunks); they are taken with
//! [`crate::socket::lock_stage`], since the copy may fault and the fault wait for the kernel
//! lock. read(2), write(2), recvfrom(2) and sendto(2) on a TCP socket may run without the
//! kernel lock (see [`crate::socket::runs_unlocked`]).

use crate::addr::{RawAddr, SockAddr};
use crate::io::{Discard, Sink};
use crate::socket::{
    Caller, Outgoing, Received, SockOpts, SocketOps, Wait, get_common, int_value, lock_stage,
    opt_int, set_common, wait_for,
};
use crate::stack::ports::{BindAddr, Binding, Proto};
use crate::stack::{ConnLink, Inner, Listener, SockKey, Stack, TcpParams, new_tcp};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net as n;
use oxv_vfs::readiness::PollQueue;
use smoltcp::socket::tcp::State as Tcp;
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};
use spin::Mutex;

/// The most moved per lock of the stack.
const CHUNK: usize = 128 * 1024;
/// smoltcp buffer sizes when the app sets none: large enough to keep a loopback pipe full.
const DEFAULT_BUFFER: usize = 256 * 1024;
/// `SO_RCVBUF` shown before any is set (Linux's `tcp_rmem[1]`).
const SHOWN_RCVBUF: u32 = 131072;
/// `SO_SNDBUF` shown before any is set (Linux's `tcp_wmem[1]`).
const SHOWN_SNDBUF: u32 = 16384;
/// Linux's `somaxconn`: the largest backlog.
const SOMAXCONN: usize = 4096;
/// `TCP_MAXSEG` before a connection (`TCP_MSS_DEFAULT`).
const MSS_DEFAULT: i32 = 536;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Conn {
    Idle,
    /// A connection; `reported` once connect(2) has said it completed (or it was accepted).
    Stream {
        key: SockKey,
        reported: bool,
    },
    Listening(u64),
}

#[derive(Copy, Clone, Debug)]
struct State {
    conn: Conn,
    /// The bound address and port, once bound (explicitly or automatically).
    local: Option<(BindAddr, u16)>,
    /// Whether `local` is held in the port table under this socket's id.
    holds_port: bool,
    shut_rd: bool,
    shut_wr: bool,
    nodelay: bool,
    v6only: bool,
    keepidle: i32,
    keepintvl: i32,
    keepcnt: i32,
    ttl: i32,
    tos: i32,
    /// An error already taken from the stack, waiting for the app (connect(2), SO_ERROR).
    error: Option<Errno>,
    /// The peer, kept for getpeername(2) while connected.
    peer: Option<IpEndpoint>,
}

/// A TCP socket.
pub struct TcpSocket {
    stack: Stack,
    v6: bool,
    id: u64,
    queue: PollQueue,
    opts: Mutex<SockOpts>,
    st: Mutex<State>,
    /// The connection, while `st.conn` is `Conn::Stream` (taken alone, cloned out).
    link: Mutex<Option<ConnLink>>,
    rx_stage: Mutex<Vec<u8>>,
    tx_stage: Mutex<Vec<u8>>,
}

fn new_state() -> State {
    State {
        conn: Conn::Idle,
        local: None,
        holds_port: false,
        shut_rd: false,
        shut_wr: false,
        nodelay: false,
        v6only: false,
        keepidle: 7200,
        keepintvl: 75,
        keepcnt: 9,
        ttl: 64,
        tos: 0,
        error: None,
        peer: None,
    }
}

impl TcpSocket {
    /// A new unconnected socket; `v6` for `AF_INET6`.
    pub fn new(stack: &Stack, v6: bool) -> Arc<TcpSocket> {
        let id = stack.shared.peek(|i| i.next_id());
        Arc::new(TcpSocket {
            stack: stack.clone(),
            v6,
            id,
            queue: PollQueue::new(),
            opts: Mutex::new(SockOpts::new(SHOWN_RCVBUF, SHOWN_SNDBUF)),
            st: Mutex::new(new_state()),
            link: Mutex::new(None),
            rx_stage: Mutex::new(Vec::new()),
            tx_stage: Mutex::new(Vec::new()),
        })
    }

    /// The socket's id (its inode number for fstat(2)).
    pub fn id(&self) -> u64 {
        self.id
    }

    fn params(&self, st: &State) -> TcpParams {
        let o = self.opts.lock();
        let size = |shown: u32, default: u32| {
            if shown == default {
                DEFAULT_BUFFER
            } else {
                (shown as usize).clamp(8 * 1024, 4 * 1024 * 1024)
            }
        };
        TcpParams {
            rx: size(o.rcvbuf, SHOWN_RCVBUF),
            tx: size(o.sndbuf, SHOWN_SNDBUF),
            nodelay: st.nodelay,
            keepalive: o
                .keepalive
                .then(|| Duration::from_secs(st.keepintvl.max(1) as u64)),
        }
    }

    fn binding(&self, addr: BindAddr) -> Binding {
        let o = self.opts.lock();
        Binding {
            owner: self.id,
            addr,
            reuse_addr: o.reuse_addr,
            reuse_port: o.reuse_port,
            listening: false,
        }
    }

    fn wildcard(&self, st: &State) -> BindAddr {
        if self.v6 {
            BindAddr::Any6 { v6only: st.v6only }
        } else {
            BindAddr::Any4
        }
    }

    /// Binds to an ephemeral port if not bound yet.
    fn autobind(&self, inner: &mut Inner, st: &mut State) -> Result<(), Errno> {
        if st.local.is_some() {
            return Ok(());
        }
        let addr = self.wildcard(st);
        let port = inner
            .table
            .bind(Proto::Tcp, 0, self.binding(addr))
            .map_err(|_| Errno::EAGAIN)?;
        st.local = Some((addr, port));
        st.holds_port = true;
        Ok(())
    }

    /// The connection, for the data calls (see [`crate::stack::ConnLink`]).
    pub(crate) fn link(&self) -> Result<ConnLink, Errno> {
        self.link.lock().clone().ok_or(Errno::ENOTCONN)
    }

    /// Records the connection `key` as this socket's (or none).
    fn set_link(&self, inner: Option<&Inner>, key: Option<SockKey>) {
        *self.link.lock() = key.zip(inner).map(|(k, i)| i.link(k));
    }

    /// Has the stack poll, now or by the CPU polling it (see `stack/handoff.rs`): after a
    /// change that lets a connection send.
    fn poll_stack(&self) {
        self.stack.shared.poll_soon();
    }

    /// The connection's outcome after a connect(2) started it: `Ok` once established (or
    /// beyond), `EAGAIN` while under way, the error once it failed.
    fn connect_outcome(&self, inner: &mut Inner, key: SockKey) -> Result<(), Errno> {
        let state = inner.tcp(key).state();
        match state {
            Tcp::SynSent | Tcp::SynReceived => Err(Errno::EAGAIN),
            Tcp::Closed => Err(inner.take_error(key).unwrap_or(Errno::ECONNABORTED)),
            _ => Ok(()),
        }
    }

    /// Sends what fits now of `src[done..]`: `EAGAIN` if nothing fits yet.
    fn send_some(&self, msg: &Outgoing<'_>, done: usize) -> Result<usize, Errno> {
        if self.st.lock().shut_wr {
            return Err(Errno::EPIPE);
        }
        let link = self.link().map_err(|_| Errno::EPIPE)?;
        let room = {
            let mut c = link.lock();
            if let Some(e) = c.take_error() {
                return Err(e);
            }
            let s = c.tcp();
            match s.state() {
                Tcp::SynSent | Tcp::SynReceived => return Err(Errno::EAGAIN),
                _ if !s.may_send() => return Err(Errno::EPIPE),
                _ => {}
            }
            let room = s.send_capacity() - s.send_queue();
            if room == 0 {
                return Err(Errno::EAGAIN);
            }
            room
        };
        let want = room.min(msg.data.len() - done).min(CHUNK);
        let mut stage = lock_stage(&self.tx_stage);
        if stage.len() < want {
            // Fallible: 128 KiB may be more than the heap's emergency reserve.
            let more = want - stage.len();
            stage.try_reserve_exact(more).map_err(|_| Errno::ENOBUFS)?;
            stage.resize(want, 0);
        }
        let got = msg.data.fetch(done, &mut stage[..want])?;
        {
            let mut c = link.lock();
            // Only this sender adds data, so what was free is still free.
            c.send_slice(&stage[..got]);
            link.changed(&mut c, &self.stack.shared);
        }
        // The data goes out (or, on the loopback, reaches the peer) with the next poll: this
        // call's, or that of the CPU polling now.
        self.poll_stack();
        Ok(got)
    }

    /// Receives what is there now into `dst[done..]`: `Ok(0)` at end of file, `EAGAIN` if
    /// nothing is there yet.
    fn recv_some(
        &self,
        dst: &mut dyn Sink,
        done: usize,
        flags: u32,
        link: &ConnLink,
    ) -> Result<usize, Errno> {
        let shut_rd = self.st.lock().shut_rd;
        let want = (dst.len() - done).min(CHUNK);
        let mut stage = lock_stage(&self.rx_stage);
        if stage.len() < want {
            stage.resize(want, 0);
        }
        let got = {
            let mut c = link.lock();
            let s = c.tcp();
            if s.recv_queue() > 0 {
                s.peek_slice(&mut stage[..want]).map_err(|_| Errno::EAGAIN)
            } else {
                let open = matches!(s.state(), Tcp::Established | Tcp::FinWait1 | Tcp::FinWait2);
                if let Some(e) = c.take_error() {
                    Err(e)
                } else if shut_rd || !open {
                    Ok(0)
                } else {
                    Err(Errno::EAGAIN)
                }
            }
        }?;
        if got == 0 {
            return Ok(0);
        }
        let stored = if flags & n::MSG_TRUNC != 0 {
            Discard(got).fill(0, &stage[..got])?
        } else {
            dst.fill(done, &stage[..got])?
        };
        if flags & n::MSG_PEEK == 0 {
            // A window update or a held-back ACK to send now (see stack/ack.rs).
            let must_send = {
                let mut c = link.lock();
                c.consume(stored);
                link.changed(&mut c, &self.stack.shared);
                c.window_update_due() || c.ack_due()
            };
            if must_send {
                self.poll_stack();
            }
        }
        Ok(stored)
    }

    fn stream_poll(&self, st: &State, link: &ConnLink) -> PollEvents {
        let (state, recv, room, err) = {
            let c = link.lock();
            let s = c.tcp_ref();
            (
                s.state(),
                s.recv_queue(),
                s.send_capacity() - s.send_queue(),
                c.error().is_some(),
            )
        };
        let closed = state == Tcp::Closed;
        let fin = matches!(
            state,
            Tcp::CloseWait | Tcp::LastAck | Tcp::Closing | Tcp::TimeWait | Tcp::Closed
        );
        let rcv_shut = st.shut_rd || fin;
        let snd_shut = st.shut_wr || closed;
        let mut ev = PollEvents::empty();
        if closed || (rcv_shut && snd_shut) {
            ev |= PollEvents::HUP;
        }
        if rcv_shut {
            ev |= PollEvents::IN | PollEvents::RDNORM | PollEvents::RDHUP;
        }
        if !matches!(state, Tcp::SynSent | Tcp::SynReceived) {
            if recv > 0 {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            if snd_shut || room > 0 {
                ev |= PollEvents::OUT | PollEvents::WRNORM;
            }
        }
        if err || st.error.is_some() {
            ev |= PollEvents::ERR;
        }
        ev
    }

    /// A socket for a connection a listener accepted.
    fn accepted(
        &self,
        link: ConnLink,
        peer: Option<IpEndpoint>,
        local: Option<(BindAddr, u16)>,
    ) -> Arc<TcpSocket> {
        let st = self.st.lock();
        let child = TcpSocket {
            stack: self.stack.clone(),
            v6: self.v6,
            id: self.stack.shared.peek(|i| i.next_id()),
            queue: PollQueue::new(),
            opts: Mutex::new(self.opts.lock().clone()),
            st: Mutex::new(State {
                conn: Conn::Stream {
                    key: link.key(),
                    reported: true,
                },
                local,
                holds_port: false,
                peer,
                error: None,
                shut_rd: false,
                shut_wr: false,
                ..*st
            }),
            link: Mutex::new(Some(link)),
            rx_stage: Mutex::new(Vec::new()),
            tx_stage: Mutex::new(Vec::new()),
        };
        Arc::new(child)
    }
}

impl SocketOps for TcpSocket {
    fn family(&self) -> u32 {
        if self.v6 { n::AF_INET6 } else { n::AF_INET }
    }

    fn sock_type(&self) -> u32 {
        n::SOCK_STREAM
    }

    fn protocol(&self) -> u32 {
        n::IPPROTO_TCP
    }

    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn parse_addr(&self, raw: &RawAddr) -> Result<SockAddr, Errno> {
        SockAddr::parse_inet(raw, self.v6)
    }

    fn bind(&self, _cx: &Caller<'_>, addr: SockAddr) -> Result<(), Errno> {
        let ep = addr.endpoint().ok_or(Errno::EAFNOSUPPORT)?;
        let mut st = self.st.lock();
        if st.local.is_some() || st.conn != Conn::Idle {
            return Err(Errno::EINVAL);
        }
        let v6only = st.v6only;
        self.stack.shared.peek(|inner| {
            let baddr = if ep.addr.is_unspecified() {
                if self.v6 && matches!(ep.addr, IpAddress::Ipv6(_)) {
                    BindAddr::Any6 { v6only }
                } else {
                    BindAddr::Any4
                }
            } else {
                if !inner.is_own(ep.addr) {
                    return Err(Errno::EADDRNOTAVAIL);
                }
                BindAddr::Ip(ep.addr)
            };
            let port = inner.table.bind(Proto::Tcp, ep.port, self.binding(baddr))?;
            st.local = Some((baddr, port));
            st.holds_port = true;
            Ok(())
        })
    }

    fn connect(&self, _cx: &Caller<'_>, addr: SockAddr, wait: Wait) -> Result<(), Errno> {
        let mut remote = match addr {
            SockAddr::Unspec => {
                // Dissolve the association, as Linux's tcp_disconnect.
                let mut st = self.st.lock();
                if let Conn::Stream { key, .. } = st.conn {
                    self.stack.shared.with(|inner| {
                        inner.tcp_abort(key);
                        inner.remove(key);
                    });
                    self.set_link(None, None);
                    st.conn = Conn::Idle;
                    st.peer = None;
                }
                return Ok(());
            }
            a => a.endpoint().ok_or(Errno::EAFNOSUPPORT)?,
        };
        if remote.addr.is_unspecified() {
            // Linux connects "any" to the loopback.
            remote.addr = match remote.addr {
                IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(smoltcp::wire::Ipv6Address::LOCALHOST),
            };
        }
        let key = {
            let mut st = self.st.lock();
            match st.conn {
                Conn::Listening(_) => return Err(Errno::EISCONN),
                Conn::Stream { reported: true, .. } => return Err(Errno::EISCONN),
                Conn::Stream { key, .. } => {
                    // A connect(2) already started: report how it went.
                    let r = self
                        .stack
                        .shared
                        .peek(|inner| self.connect_outcome(inner, key));
                    match r {
                        Err(Errno::EAGAIN) if wait.nonblocking => return Err(Errno::EALREADY),
                        Err(Errno::EAGAIN) => key,
                        Ok(()) => {
                            st.conn = Conn::Stream {
                                key,
                                reported: true,
                            };
                            return Ok(());
                        }
                        Err(e) => {
                            self.stack.shared.peek(|inner| inner.remove(key));
                            self.set_link(None, None);
                            st.conn = Conn::Idle;
                            st.peer = None;
                            return Err(e);
                        }
                    }
                }
                Conn::Idle => {
                    st.error = None;
                    let params = self.params(&st);
                    let st = &mut *st;
                    let key = self.stack.shared.with(|inner| {
                        let port = inner.route(remote.addr).ok_or(Errno::ENETUNREACH)?;
                        self.autobind(inner, st)?;
                        let (baddr, lport) = st.local.expect("autobind binds");
                        let s = new_tcp(&params).ok_or(Errno::ENOBUFS)?;
                        let k = inner.add(port, s, &self.queue);
                        let local = IpListenEndpoint {
                            addr: baddr.ip(),
                            port: lport,
                        };
                        if let Err(e) = inner.tcp_connect(k, remote, local) {
                            inner.remove(k);
                            return Err(e);
                        }
                        self.set_link(Some(inner), Some(k));
                        Ok(k)
                    })?;
                    st.conn = Conn::Stream {
                        key,
                        reported: false,
                    };
                    st.peer = Some(remote);
                    if wait.nonblocking {
                        return Err(Errno::EINPROGRESS);
                    }
                    key
                }
            }
        };
        let r = wait_for(
            &**self.stack.blocker(),
            &self.queue,
            PollEvents::OUT,
            wait,
            || {
                self.stack
                    .shared
                    .peek(|inner| self.connect_outcome(inner, key))
            },
        );
        let mut st = self.st.lock();
        match r {
            Ok(()) => {
                st.conn = Conn::Stream {
                    key,
                    reported: true,
                };
                Ok(())
            }
            // SO_SNDTIMEO ran out: still under way.
            Err(Errno::EAGAIN) => Err(Errno::EINPROGRESS),
            Err(Errno::EINTR) => Err(Errno::EINTR),
            Err(e) => {
                self.stack.shared.peek(|inner| inner.remove(key));
                self.set_link(None, None);
                st.conn = Conn::Idle;
                st.peer = None;
                Err(e)
            }
        }
    }

    fn listen(&self, _cx: &Caller<'_>, backlog: i32) -> Result<(), Errno> {
        let mut st = self.st.lock();
        let backlog = (backlog as u32 as usize).min(SOMAXCONN);
        match st.conn {
            Conn::Stream { .. } => return Err(Errno::EINVAL),
            Conn::Listening(id) => {
                self.stack.shared.peek(|inner| {
                    if let Some(l) = inner.listeners.get_mut(&id) {
                        l.backlog = backlog;
                    }
                });
                return Ok(());
            }
            Conn::Idle => {}
        }
        let params = self.params(&st);
        let st = &mut *st;
        self.stack.shared.peek(|inner| {
            self.autobind(inner, st).map_err(|_| Errno::EADDRINUSE)?;
            let (baddr, port) = st.local.expect("autobind binds");
            inner.table.listen(Proto::Tcp, port, self.id)?;
            let (v4, v6) = match baddr {
                BindAddr::Any4 => (true, false),
                BindAddr::Any6 { v6only } => (!v6only, true),
                BindAddr::Ip(IpAddress::Ipv4(_)) => (true, false),
                BindAddr::Ip(IpAddress::Ipv6(_)) => (false, true),
            };
            let id = inner.next_id();
            inner.listeners.insert(
                id,
                Listener {
                    port,
                    addr: baddr.ip(),
                    v4,
                    v6,
                    backlog,
                    params,
                    queue: self.queue.clone(),
                    conns: Vec::new(),
                },
            );
            st.conn = Conn::Listening(id);
            Ok::<(), Errno>(())
        })?;
        self.queue.notify(PollEvents::empty());
        Ok(())
    }

    fn accept(&self, wait: Wait) -> Result<(Arc<dyn SocketOps>, SockAddr), Errno> {
        let (id, local) = {
            let st = self.st.lock();
            match st.conn {
                Conn::Listening(id) => (id, st.local),
                _ => return Err(Errno::EINVAL),
            }
        };
        let key = wait_for(
            &**self.stack.blocker(),
            &self.queue,
            PollEvents::IN,
            wait,
            || {
                self.stack.shared.peek(|inner| {
                    let Some(l) = inner.listeners.get(&id) else {
                        return Err(Errno::EINVAL);
                    };
                    let conns = l.conns.clone();
                    for k in conns.iter() {
                        let state = inner.tcp(*k).state();
                        match state {
                            Tcp::Listen | Tcp::SynReceived | Tcp::SynSent => continue,
                            Tcp::Closed | Tcp::TimeWait => {
                                // Reset before it was accepted: gone.
                                inner.remove(*k);
                                if let Some(l) = inner.listeners.get_mut(&id) {
                                    l.conns.retain(|c| c != k);
                                }
                            }
                            _ => {
                                if let Some(l) = inner.listeners.get_mut(&id) {
                                    l.conns.retain(|c| c != k);
                                }
                                return Ok(*k);
                            }
                        }
                    }
                    Err(Errno::EAGAIN)
                })
            },
        )?;
        let (peer, here, link) = self.stack.shared.peek(|inner| {
            let s = inner.tcp(key);
            let ends = (s.remote_endpoint(), s.local_endpoint());
            drop(s);
            (ends.0, ends.1, inner.link(key))
        });
        let local = here.map(|e| (BindAddr::Ip(e.addr), e.port)).or(local);
        let child = self.accepted(link, peer, local);
        self.stack
            .shared
            .peek(|inner| inner.set_owner(key, &child.queue));
        let addr = peer
            .map(|p| SockAddr::from_endpoint(p, self.v6))
            .unwrap_or(SockAddr::unspecified(self.v6));
        Ok((child, addr))
    }

    fn send(&self, msg: Outgoing<'_>, wait: Wait) -> Result<usize, Errno> {
        if msg.flags & n::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let total = msg.data.len();
        if total == 0 {
            let st = self.st.lock();
            return match st.conn {
                Conn::Stream { .. } if !st.shut_wr => Ok(0),
                _ => Err(Errno::EPIPE),
            };
        }
        let mut done = 0usize;
        while done < total {
            if done > 0 && self.stack.blocker().fatal_signal_pending() {
                // Being killed: its count never reaches it.
                break;
            }
            let r = wait_for(
                &**self.stack.blocker(),
                &self.queue,
                PollEvents::OUT,
                wait,
                || {
                    let reported = wait.nonblocking && done == 0;
                    self.stack
                        .shared
                        .or_settled(reported, || self.send_some(&msg, done))
                },
            );
            match r {
                Ok(k) => done += k,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn recv(&self, dst: &mut dyn Sink, flags: u32, wait: Wait) -> Result<Received, Errno> {
        if flags & n::MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        let link = self.link()?;
        let total = dst.len();
        if total == 0 {
            return Ok(Received::default());
        }
        let waitall = flags & n::MSG_WAITALL != 0 && flags & n::MSG_PEEK == 0;
        let mut done = 0usize;
        loop {
            let step = if done == 0 || waitall {
                wait
            } else {
                Wait::NONBLOCK
            };
            let r = wait_for(
                &**self.stack.blocker(),
                &self.queue,
                PollEvents::IN,
                step,
                || {
                    let reported = step.nonblocking && done == 0;
                    self.stack
                        .shared
                        .or_settled(reported, || self.recv_some(dst, done, flags, &link))
                },
            );
            match r {
                Ok(0) => break,
                Ok(k) => {
                    done += k;
                    if done >= total || flags & n::MSG_PEEK != 0 {
                        break;
                    }
                }
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(Received {
            len: done,
            ..Received::default()
        })
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        let mut st = self.st.lock();
        if how == n::SHUT_RD || how == n::SHUT_RDWR {
            st.shut_rd = true;
        }
        if how == n::SHUT_WR || how == n::SHUT_RDWR {
            st.shut_wr = true;
        }
        let r = match st.conn {
            Conn::Stream { key, .. } => {
                if st.shut_wr {
                    self.stack.shared.with(|inner| {
                        let state = inner.tcp(key).state();
                        if state != Tcp::Closed {
                            inner.tcp_close(key);
                        }
                    });
                }
                Ok(())
            }
            Conn::Listening(_) => Ok(()),
            Conn::Idle => Err(Errno::ENOTCONN),
        };
        drop(st);
        self.queue.notify(PollEvents::empty());
        r
    }

    fn local_addr(&self) -> SockAddr {
        let st = self.st.lock();
        if let Conn::Stream { key, .. } = st.conn {
            if let Some(e) = self
                .stack
                .shared
                .peek(|inner| inner.tcp(key).local_endpoint())
            {
                return SockAddr::from_endpoint(e, self.v6);
            }
        }
        match st.local {
            Some((BindAddr::Ip(ip), port)) => {
                SockAddr::from_endpoint(IpEndpoint::new(ip, port), self.v6)
            }
            Some((_, port)) => match SockAddr::unspecified(self.v6) {
                SockAddr::Inet { addr, .. } => SockAddr::Inet { addr, port },
                _ => SockAddr::inet6([0; 16], port),
            },
            None => SockAddr::unspecified(self.v6),
        }
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let st = self.st.lock();
        match st.conn {
            Conn::Stream { key, .. } => {
                let state = self.stack.shared.peek(|inner| inner.tcp(key).state());
                if matches!(state, Tcp::SynSent | Tcp::Closed) {
                    return Err(Errno::ENOTCONN);
                }
                st.peer
                    .map(|p| SockAddr::from_endpoint(p, self.v6))
                    .ok_or(Errno::ENOTCONN)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn set_option(&self, level: u32, name: u32, val: &[u8]) -> Result<(), Errno> {
        let mut st = self.st.lock();
        match (level, name) {
            (n::SOL_TCP, n::TCP_NODELAY) => {
                st.nodelay = opt_int(val)? != 0;
                if let Conn::Stream { key, .. } = st.conn {
                    let on = st.nodelay;
                    self.stack
                        .shared
                        .with(|inner| inner.tcp(key).set_nagle_enabled(!on));
                }
            }
            (n::SOL_TCP, n::TCP_KEEPIDLE | n::TCP_KEEPINTVL | n::TCP_KEEPCNT) => {
                let v = opt_int(val)?;
                let max = if name == n::TCP_KEEPCNT { 127 } else { 32767 };
                if !(1..=max).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                match name {
                    n::TCP_KEEPIDLE => st.keepidle = v,
                    n::TCP_KEEPINTVL => st.keepintvl = v,
                    _ => st.keepcnt = v,
                }
            }
            (n::SOL_TCP, n::TCP_CORK | n::TCP_QUICKACK | n::TCP_USER_TIMEOUT) => {
                opt_int(val)?;
            }
            (n::SOL_TCP, n::TCP_MAXSEG) => {
                let v = opt_int(val)?;
                if !(88..=65535).contains(&v) {
                    return Err(Errno::EINVAL);
                }
            }
            (n::IPPROTO_IPV6, n::IPV6_V6ONLY) if self.v6 => {
                let v = opt_int(val)?;
                if st.local.is_some() {
                    return Err(Errno::EINVAL);
                }
                st.v6only = v != 0;
            }
            (n::IPPROTO_IP, n::IP_TTL) => {
                let v = opt_int(val)?;
                if v == -1 {
                    st.ttl = 64;
                } else if !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                } else {
                    st.ttl = v;
                }
            }
            (n::IPPROTO_IP, n::IP_TOS) => st.tos = opt_int(val)? & 0xff,
            (n::SOL_SOCKET, n::SO_KEEPALIVE) => {
                drop(st);
                set_common(&mut self.opts.lock(), name, val)?;
                let st = self.st.lock();
                if let Conn::Stream { key, .. } = st.conn {
                    let ka = self.params(&st).keepalive;
                    self.stack
                        .shared
                        .with(|inner| inner.tcp(key).set_keep_alive(ka));
                }
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
            (n::SOL_TCP, n::TCP_NODELAY) => int_value(st.nodelay as i32),
            (n::SOL_TCP, n::TCP_KEEPIDLE) => int_value(st.keepidle),
            (n::SOL_TCP, n::TCP_KEEPINTVL) => int_value(st.keepintvl),
            (n::SOL_TCP, n::TCP_KEEPCNT) => int_value(st.keepcnt),
            (n::SOL_TCP, n::TCP_CORK | n::TCP_USER_TIMEOUT) => int_value(0),
            (n::SOL_TCP, n::TCP_QUICKACK) => int_value(1),
            (n::SOL_TCP, n::TCP_MAXSEG) => int_value(match st.conn {
                Conn::Stream { key, .. } => {
                    let lo = self.stack.shared.peek(|i| i.is_loopback_port(key.port));
                    if lo { 65483 } else { 1460 }
                }
                _ => MSS_DEFAULT,
            }),
            (n::IPPROTO_IPV6, n::IPV6_V6ONLY) if self.v6 => int_value(st.v6only as i32),
            (n::IPPROTO_IP, n::IP_TTL) => int_value(st.ttl),
            (n::IPPROTO_IP, n::IP_TOS) => int_value(st.tos),
            (n::SOL_SOCKET, _) => {
                drop(st);
                return get_common(&self.opts.lock(), name);
            }
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }

    fn take_error(&self) -> Option<Errno> {
        let mut st = self.st.lock();
        if let Some(e) = st.error.take() {
            return Some(e);
        }
        match st.conn {
            Conn::Stream { .. } => self.link().ok().and_then(|l| l.lock().take_error()),
            _ => None,
        }
    }

    fn is_listening(&self) -> bool {
        matches!(self.st.lock().conn, Conn::Listening(_))
    }

    fn poll(&self) -> PollEvents {
        let st = self.st.lock();
        match st.conn {
            Conn::Idle => {
                let mut ev = PollEvents::OUT | PollEvents::WRNORM | PollEvents::HUP;
                if st.shut_rd {
                    ev |= PollEvents::IN | PollEvents::RDNORM | PollEvents::RDHUP;
                }
                if st.error.is_some() {
                    ev |= PollEvents::ERR;
                }
                ev
            }
            Conn::Listening(id) => {
                let ready = self.stack.shared.peek(|inner| {
                    let Some(l) = inner.listeners.get(&id) else {
                        return false;
                    };
                    let conns = l.conns.clone();
                    conns.iter().any(|k| {
                        let state = inner.tcp(*k).state();
                        !matches!(state, Tcp::Listen | Tcp::SynReceived | Tcp::SynSent)
                    })
                });
                if ready {
                    PollEvents::IN | PollEvents::RDNORM
                } else {
                    PollEvents::empty()
                }
            }
            Conn::Stream { .. } => match self.link() {
                Ok(link) => self.stream_poll(&st, &link),
                Err(_) => PollEvents::empty(),
            },
        }
    }

    fn poll_queue(&self) -> &PollQueue {
        &self.queue
    }

    fn bytes_readable(&self) -> usize {
        match self.link() {
            Ok(link) => link.lock().tcp_ref().recv_queue(),
            Err(_) => 0,
        }
    }

    fn bytes_unsent(&self) -> usize {
        match self.link() {
            Ok(link) => link.lock().tcp_ref().send_queue(),
            Err(_) => 0,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for TcpSocket {
    fn drop(&mut self) {
        let st = *self.st.get_mut();
        let hold = st
            .holds_port
            .then(|| st.local.map(|(_, p)| (Proto::Tcp, p, self.id)))
            .flatten();
        let abort = {
            let l = self.opts.get_mut().linger;
            l.l_onoff != 0 && l.l_linger == 0
        };
        self.stack.shared.with(|inner| match st.conn {
            Conn::Idle => {
                if let Some((proto, port, owner)) = hold {
                    inner.table.release(proto, port, owner);
                }
            }
            Conn::Stream { key, .. } => {
                let (state, unread) = {
                    let s = inner.tcp(key);
                    (s.state(), s.recv_queue() > 0)
                };
                if state == Tcp::Closed {
                    inner.remove(key);
                    if let Some((proto, port, owner)) = hold {
                        inner.table.release(proto, port, owner);
                    }
                    return;
                }
                if abort || unread {
                    inner.tcp_abort(key);
                } else {
                    inner.tcp_close(key);
                }
                inner.orphan(key, hold);
            }
            Conn::Listening(id) => {
                if let Some(l) = inner.listeners.remove(&id) {
                    for k in l.conns {
                        inner.tcp_abort(k);
                        inner.orphan(k, None);
                    }
                }
                if let Some((proto, port, owner)) = hold {
                    inner.table.release(proto, port, owner);
                }
            }
        });
    }
}
