//! `AF_NETLINK` sockets of protocol `NETLINK_ROUTE`, rtnetlink(7), enough for what libc asks:
//! dumps of the links (`RTM_GETLINK`) and addresses (`RTM_GETADDR`), which getifaddrs(3),
//! if_nameindex(3) and glibc's getaddrinfo(3) with `AI_ADDRCONFIG` request.
//!
//! A request is answered at once: the reply messages (flagged `NLM_F_MULTI`, ending with
//! `NLMSG_DONE`) are queued as one datagram, with the request's sequence number and the
//! socket's port id. Any other request gets an `NLMSG_ERROR` with `-EOPNOTSUPP`. The port id
//! is the process id for the first socket bound (as Linux assigns it) and a unique value after.
//! Multicast groups (notifications of changes) are accepted and never deliver anything.

use crate::addr::{RawAddr, SockAddr};
use crate::io::Sink;
use crate::socket::{
    Caller, Outgoing, Received, SockOpts, SocketOps, Wait, get_common, set_common, wait_for,
};
use crate::stack::{InterfaceInfo, Stack};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net::{self as n, IfAddrMsg, IfInfoMsg, NlMsgHdr, RtAttr, nlmsg_align};
use oxv_vfs::Blocker;
use oxv_vfs::readiness::PollQueue;
use smoltcp::wire::{IpAddress, IpCidr};
use spin::Mutex;
use zerocopy::{FromBytes, IntoBytes};

/// `SO_RCVBUF`/`SO_SNDBUF` shown.
const SHOWN_BUF: u32 = 212992;
/// Linux's `IF_OPER_UNKNOWN` (what `lo` reports).
const IF_OPER_UNKNOWN: u8 = 0;
/// Linux's default transmit queue length of an Ethernet device.
const TXQLEN: u32 = 1000;

struct State {
    pid: u32,
    groups: u32,
    replies: VecDeque<Vec<u8>>,
}

/// A route-netlink socket.
pub struct NetlinkSocket {
    stack: Stack,
    blocker: Arc<dyn Blocker>,
    kind: u32,
    id: u64,
    queue: PollQueue,
    opts: Mutex<SockOpts>,
    st: Mutex<State>,
    next_pid: Arc<AtomicU32>,
    process: u32,
}

impl NetlinkSocket {
    /// A new socket of type `kind` (`SOCK_RAW` or `SOCK_DGRAM`); `next_pid` hands out port
    /// ids after the process's own (`process`).
    pub fn new(
        stack: &Stack,
        kind: u32,
        process: u32,
        next_pid: &Arc<AtomicU32>,
    ) -> Arc<NetlinkSocket> {
        let id = stack.shared.peek(|i| i.next_id());
        Arc::new(NetlinkSocket {
            stack: stack.clone(),
            blocker: stack.blocker().clone(),
            kind,
            id,
            queue: PollQueue::new(),
            opts: Mutex::new(SockOpts::new(SHOWN_BUF, SHOWN_BUF)),
            st: Mutex::new(State {
                pid: 0,
                groups: 0,
                replies: VecDeque::new(),
            }),
            next_pid: next_pid.clone(),
            process,
        })
    }

    /// The socket's id (its inode number for fstat(2)).
    pub fn id(&self) -> u64 {
        self.id
    }

    fn autobind(&self, st: &mut State) {
        if st.pid != 0 {
            return;
        }
        // The first socket gets the process id, the others unique negative numbers, as
        // Linux's netlink_autobind.
        let first = self
            .next_pid
            .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        st.pid = if first {
            self.process
        } else {
            (-(self.next_pid.fetch_add(1, Ordering::Relaxed) as i32 + 4096)) as u32
        };
    }

    fn answer(&self, req: &NlMsgHdr, body: &[u8], pid: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let dump = req.nlmsg_flags & n::NLM_F_DUMP as u16 == n::NLM_F_DUMP as u16;
        match req.nlmsg_type {
            n::RTM_GETLINK if dump => {
                for i in self.stack.interfaces() {
                    link_message(&mut out, req, pid, &i);
                }
                done(&mut out, req, pid);
            }
            n::RTM_GETADDR if dump => {
                let family = body.first().copied().unwrap_or(0) as u32;
                for i in self.stack.interfaces() {
                    for a in &i.addrs {
                        let f = match a {
                            IpCidr::Ipv4(_) => n::AF_INET,
                            IpCidr::Ipv6(_) => n::AF_INET6,
                        };
                        if family == n::AF_UNSPEC || family == f {
                            addr_message(&mut out, req, pid, &i, a);
                        }
                    }
                }
                done(&mut out, req, pid);
            }
            // Control messages (below NLMSG_MIN_TYPE) get no answer.
            t if (t as u32) < n::NLMSG_MIN_TYPE => {}
            _ => error(&mut out, req, pid, -(Errno::EOPNOTSUPP as i32)),
        }
        out
    }
}

fn push_hdr(out: &mut Vec<u8>, ty: u16, flags: u16, req: &NlMsgHdr, pid: u32) -> usize {
    let at = out.len();
    out.extend_from_slice(
        NlMsgHdr {
            nlmsg_len: 0,
            nlmsg_type: ty,
            nlmsg_flags: flags,
            nlmsg_seq: req.nlmsg_seq,
            nlmsg_pid: pid,
        }
        .as_bytes(),
    );
    at
}

fn finish(out: &mut Vec<u8>, at: usize) {
    let len = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&len.to_ne_bytes());
    out.resize(at + nlmsg_align(len as usize), 0);
}

fn attr(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = size_of::<RtAttr>() + data.len();
    out.extend_from_slice(
        RtAttr {
            rta_len: len as u16,
            rta_type: ty,
        }
        .as_bytes(),
    );
    out.extend_from_slice(data);
    out.resize(out.len() + (nlmsg_align(len) - len), 0);
}

fn done(out: &mut Vec<u8>, req: &NlMsgHdr, pid: u32) {
    let at = push_hdr(out, n::NLMSG_DONE as u16, n::NLM_F_MULTI as u16, req, pid);
    out.extend_from_slice(&0i32.to_ne_bytes());
    finish(out, at);
}

fn error(out: &mut Vec<u8>, req: &NlMsgHdr, pid: u32, err: i32) {
    let at = push_hdr(out, n::NLMSG_ERROR as u16, 0, req, pid);
    out.extend_from_slice(&err.to_ne_bytes());
    out.extend_from_slice(req.as_bytes());
    finish(out, at);
}

fn link_message(out: &mut Vec<u8>, req: &NlMsgHdr, pid: u32, i: &InterfaceInfo) {
    let at = push_hdr(out, n::RTM_NEWLINK, n::NLM_F_MULTI as u16, req, pid);
    let flags = n::IFF_UP
        | n::IFF_RUNNING
        | n::IFF_LOWER_UP
        | if i.loopback {
            n::IFF_LOOPBACK
        } else {
            n::IFF_BROADCAST | n::IFF_MULTICAST
        };
    out.extend_from_slice(
        IfInfoMsg {
            ifi_family: n::AF_UNSPEC as u8,
            ifi_pad: 0,
            ifi_type: if i.loopback {
                n::ARPHRD_LOOPBACK
            } else {
                n::ARPHRD_ETHER
            },
            ifi_index: i.index as i32,
            ifi_flags: flags,
            ifi_change: 0,
        }
        .as_bytes(),
    );
    let mut name = i.name.as_bytes().to_vec();
    name.push(0);
    attr(out, n::IFLA_IFNAME, &name);
    attr(out, n::IFLA_MTU, &i.mtu.to_ne_bytes());
    attr(
        out,
        n::IFLA_TXQLEN,
        &(if i.loopback { 1000u32 } else { TXQLEN }).to_ne_bytes(),
    );
    attr(
        out,
        n::IFLA_OPERSTATE,
        &[if i.loopback {
            IF_OPER_UNKNOWN
        } else {
            n::IF_OPER_UP
        }],
    );
    let mac = i.mac.unwrap_or([0; 6]);
    attr(out, n::IFLA_ADDRESS, &mac);
    attr(
        out,
        n::IFLA_BROADCAST,
        &if i.loopback { [0u8; 6] } else { [0xff; 6] },
    );
    finish(out, at);
}

fn addr_message(out: &mut Vec<u8>, req: &NlMsgHdr, pid: u32, i: &InterfaceInfo, a: &IpCidr) {
    let at = push_hdr(out, n::RTM_NEWADDR, n::NLM_F_MULTI as u16, req, pid);
    let (family, scope) = match a.address() {
        IpAddress::Ipv4(v4) if v4.octets()[0] == 127 => (n::AF_INET, n::RT_SCOPE_HOST),
        IpAddress::Ipv4(_) => (n::AF_INET, n::RT_SCOPE_UNIVERSE),
        IpAddress::Ipv6(v6) if v6.is_loopback() => (n::AF_INET6, n::RT_SCOPE_HOST),
        IpAddress::Ipv6(v6) if v6.is_unicast_link_local() => (n::AF_INET6, n::RT_SCOPE_LINK),
        IpAddress::Ipv6(_) => (n::AF_INET6, n::RT_SCOPE_UNIVERSE),
    };
    out.extend_from_slice(
        IfAddrMsg {
            ifa_family: family as u8,
            ifa_prefixlen: a.prefix_len(),
            ifa_flags: n::IFA_F_PERMANENT,
            ifa_scope: scope,
            ifa_index: i.index,
        }
        .as_bytes(),
    );
    match a {
        IpCidr::Ipv4(c) => {
            let ip = c.address().octets();
            attr(out, n::IFA_ADDRESS, &ip);
            attr(out, n::IFA_LOCAL, &ip);
            if !i.loopback {
                let p = c.prefix_len();
                let host = if p >= 32 { 0 } else { u32::MAX >> p };
                let bcast = u32::from_be_bytes(ip) | host;
                attr(out, n::IFA_BROADCAST, &bcast.to_be_bytes());
            }
            let mut name = i.name.as_bytes().to_vec();
            name.push(0);
            attr(out, n::IFA_LABEL, &name);
        }
        IpCidr::Ipv6(c) => attr(out, n::IFA_ADDRESS, &c.address().octets()),
    }
    finish(out, at);
}

impl SocketOps for NetlinkSocket {
    fn family(&self) -> u32 {
        n::AF_NETLINK
    }

    fn sock_type(&self) -> u32 {
        self.kind
    }

    fn protocol(&self) -> u32 {
        n::NETLINK_ROUTE
    }

    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn parse_addr(&self, raw: &RawAddr) -> Result<SockAddr, Errno> {
        SockAddr::parse_netlink(raw)
    }

    fn bind(&self, _cx: &Caller<'_>, addr: SockAddr) -> Result<(), Errno> {
        let SockAddr::Netlink { pid, groups } = addr else {
            return Err(Errno::EINVAL);
        };
        let mut st = self.st.lock();
        if pid != 0 {
            if st.pid != 0 && st.pid != pid {
                return Err(Errno::EINVAL);
            }
            st.pid = pid;
        } else {
            self.autobind(&mut st);
        }
        st.groups = groups;
        Ok(())
    }

    fn connect(&self, _cx: &Caller<'_>, addr: SockAddr, _wait: Wait) -> Result<(), Errno> {
        match addr {
            SockAddr::Netlink { .. } | SockAddr::Unspec => {
                self.autobind(&mut self.st.lock());
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn send(&self, msg: Outgoing<'_>, _wait: Wait) -> Result<usize, Errno> {
        if let Some(to) = &msg.to {
            match to {
                SockAddr::Netlink { pid: 0, .. } => {}
                SockAddr::Netlink { .. } => return Err(Errno::EPERM),
                _ => return Err(Errno::EINVAL),
            }
        }
        let len = msg.data.len();
        // Linux's netlink_sendmsg: a message longer than the send buffer (less 32 bytes) is
        // EMSGSIZE; it must not size a kernel allocation (a 2 GiB send ran the heap out).
        if len > SHOWN_BUF as usize - 32 {
            return Err(Errno::EMSGSIZE);
        }
        let mut data = vec![0u8; len];
        let got = msg.data.fetch(0, &mut data)?;
        if got < len {
            return Err(Errno::EFAULT);
        }
        let pid = {
            let mut st = self.st.lock();
            self.autobind(&mut st);
            st.pid
        };
        let mut at = 0usize;
        let mut reply = Vec::new();
        while let Ok((h, _)) = NlMsgHdr::read_from_prefix(&data[at..]) {
            let mlen = h.nlmsg_len as usize;
            if mlen < size_of::<NlMsgHdr>() || at + mlen > len {
                break;
            }
            if h.nlmsg_flags & n::NLM_F_REQUEST as u16 != 0 {
                let body = &data[at + size_of::<NlMsgHdr>()..at + mlen];
                reply.extend_from_slice(&self.answer(&h, body, pid));
            }
            at += nlmsg_align(mlen);
            if at >= len {
                break;
            }
        }
        if !reply.is_empty() {
            self.st.lock().replies.push_back(reply);
            self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        Ok(len)
    }

    fn recv(&self, dst: &mut dyn Sink, flags: u32, wait: Wait) -> Result<Received, Errno> {
        let peek = flags & n::MSG_PEEK != 0;
        let dgram = wait_for(&*self.blocker, &self.queue, PollEvents::IN, wait, || {
            let mut st = self.st.lock();
            if peek {
                st.replies.front().cloned().ok_or(Errno::EAGAIN)
            } else {
                st.replies.pop_front().ok_or(Errno::EAGAIN)
            }
        })?;
        let got = dst.fill(0, &dgram[..dgram.len().min(dst.len())])?;
        let mut out = Received {
            len: if flags & n::MSG_TRUNC != 0 {
                dgram.len()
            } else {
                got
            },
            from: Some(SockAddr::Netlink { pid: 0, groups: 0 }),
            ..Received::default()
        };
        if dgram.len() > got {
            out.flags |= n::MSG_TRUNC;
        }
        Ok(out)
    }

    fn shutdown(&self, _how: u32) -> Result<(), Errno> {
        Ok(())
    }

    fn local_addr(&self) -> SockAddr {
        let st = self.st.lock();
        SockAddr::Netlink {
            pid: st.pid,
            groups: st.groups,
        }
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Netlink { pid: 0, groups: 0 })
    }

    fn set_option(&self, level: u32, name: u32, val: &[u8]) -> Result<(), Errno> {
        if level != n::SOL_SOCKET {
            return Err(Errno::ENOPROTOOPT);
        }
        set_common(&mut self.opts.lock(), name, val)
    }

    fn get_option(&self, level: u32, name: u32) -> Result<Vec<u8>, Errno> {
        if level != n::SOL_SOCKET {
            return Err(Errno::ENOPROTOOPT);
        }
        get_common(&self.opts.lock(), name)
    }

    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::OUT | PollEvents::WRNORM;
        if !self.st.lock().replies.is_empty() {
            ev |= PollEvents::IN | PollEvents::RDNORM;
        }
        ev
    }

    fn poll_queue(&self) -> &PollQueue {
        &self.queue
    }

    fn bytes_readable(&self) -> usize {
        self.st.lock().replies.front().map_or(0, Vec::len)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
