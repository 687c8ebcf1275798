//! # oxv-net: Linux sockets for Rust kernels
//!
//! `oxv-net` is the socket layer of the oxv unikernel: the Linux socket system calls with
//! Linux's semantics and error order, over smoltcp for IP, as VFS files. It is `no_std` +
//! `alloc`, has no `unsafe`, owns no global state and reads no clock of its own.
//!
//! ## What it gives
//!
//! From the bottom up:
//!
//! - [`nic::Nic`]: the seam a network driver implements (send a frame, take a frame,
//!   capabilities), and [`nic::Loopback`], an in-memory NIC.
//! - [`stack::Stack`]: smoltcp interfaces (the loopback, one per NIC), routing between them,
//!   port numbers, the listen backlog, DHCPv4, and the polling that drives it all.
//! - The sockets, each a [`socket::SocketOps`]: [`tcp::TcpSocket`], [`udp::UdpSocket`]
//!   (`AF_INET`/`AF_INET6`), [`unix::UnixSocket`] (`AF_UNIX` stream, datagram, seqpacket) and
//!   [`netlink::NetlinkSocket`] (`NETLINK_ROUTE` for getifaddrs(3)). [`socket::SocketFile`]
//!   puts any of them behind an fd, with readiness for poll/select/epoll.
//! - [`syscalls`]: one handler per socket system call, taking the decoded arguments of
//!   `oxv_abi::Syscall`; the kernel only routes to them.
//! - [`config`]: the kernel command line's network options and the `/etc/resolv.conf` and
//!   `/etc/hosts` they imply.
//!
//! ## What the embedder implements
//!
//! | trait | for | fake |
//! |---|---|---|
//! | [`nic::Nic`] | each network device | [`nic::Loopback`] |
//! | [`stack::PollTimer`] | being polled when smoltcp's timers are due | [`stack::NoTimer`] |
//! | [`oxv_vfs::Blocker`] | blocking calls | `oxv_vfs::fake::FakeBlocker` |
//!
//! and it calls [`stack::Stack::poll`] when a NIC interrupts and when the timer fires.
//!
//! ## What it is not (yet)
//!
//! No raw or packet sockets, no multicast, no ICMP errors to UDP sockets, no urgent data, no
//! `TCP_INFO`, no IPv6 autoconfiguration (static IPv6 only). See each module's docs.
//!
//! ## Design principles
//!
//! 1. Linux is the specification: each module says which Linux behaviour it matches.
//! 2. The stack's lock is never held across a copy to or from user memory.
//! 3. Loopback traffic completes within the call that sends it, or within the poll of the CPU
//!    that held the stack's lock then (see `stack/handoff.rs`): no timer or thread is needed
//!    for two local sockets to talk, and a call that would report "nothing there" settles
//!    such a poll first.
//! 4. No data call waits for the stack's lock: each socket's data is behind a lock of its
//!    own, and the poll a send needs is run by whichever CPU holds the stack's lock.
//!
//! MSRV: the workspace's (Rust 1.85).
//!
//! ## Example
//!
//! ```
//! use oxv_net::Net;
//! use oxv_net::io::Source;
//! use oxv_net::socket::{Outgoing, Wait};
//! use oxv_net::stack::NoTimer;
//! use oxv_abi::linux::net::{AF_INET, SOCK_DGRAM, Ucred};
//! use std::sync::Arc;
//!
//! let blocker = Arc::new(oxv_vfs::fake::FakeBlocker::new());
//! let net = Net::new(blocker, Arc::new(NoTimer), 1);
//! let cred = Ucred { pid: 1, uid: 0, gid: 0 };
//! let a = net.socket(AF_INET as i32, SOCK_DGRAM as i32, 0, cred)?;
//! let b = net.socket(AF_INET as i32, SOCK_DGRAM as i32, 0, cred)?;
//! // b binds to an ephemeral port on 127.0.0.1; a sends it a datagram.
//! let lo = oxv_net::addr::SockAddr::Inet { addr: [127, 0, 0, 1], port: 0 };
//! b.bind(&oxv_net::socket::Caller::kernel(cred), lo)?;
//! let to = b.local_addr();
//! a.send(Outgoing { data: &&b"hi"[..], to: Some(to), rights: vec![], cred: None, flags: 0, cx: None }, Wait::NONBLOCK)?;
//! let mut buf = vec![0u8; 8];
//! let r = b.recv(&mut buf, 0, Wait::NONBLOCK)?;
//! assert_eq!(&buf[..r.len], b"hi");
//! # Ok::<(), oxv_abi::Errno>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod addr;
pub mod config;
pub mod ifreq;
pub mod io;
pub mod netlink;
pub mod nic;
pub mod socket;
pub mod stack;
pub mod syscalls;
pub mod tcp;
pub mod udp;
pub mod unix;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::net::{self as n, Ucred};
use oxv_vfs::Blocker;
use socket::SocketOps;
use stack::{PollTimer, Stack};
use unix::{UnixNamespace, UnixSocket};

/// Two connected sockets (socketpair(2)).
pub type SocketPair = (Arc<dyn SocketOps>, Arc<dyn SocketOps>);

/// Everything network of one kernel: the IP stack, the `AF_UNIX` namespace, netlink port ids.
pub struct Net {
    stack: Stack,
    unix: Arc<UnixNamespace>,
    netlink_pids: Arc<AtomicU32>,
    next_ino: AtomicU64,
}

impl Net {
    /// The network of a kernel: a stack with the loopback interface (add NICs with
    /// [`Stack::add_nic`]). `blocker` is how sockets wait, `timer` how the stack asks to be
    /// polled, `seed` seeds its randomness.
    pub fn new(blocker: Arc<dyn Blocker>, timer: Arc<dyn PollTimer>, seed: u64) -> Arc<Net> {
        Arc::new(Net {
            stack: Stack::new(blocker, timer, seed),
            unix: UnixNamespace::new(),
            netlink_pids: Arc::new(AtomicU32::new(0)),
            next_ino: AtomicU64::new(1),
        })
    }

    /// A fresh inode number for a socket file (fstat(2) shows it).
    pub fn next_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// The IP stack.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// A new socket as socket(2) makes it (`type_` without the `SOCK_NONBLOCK`/`SOCK_CLOEXEC`
    /// bits), with Linux's errors: an unknown family is `EAFNOSUPPORT`, a type the family
    /// lacks `ESOCKTNOSUPPORT`, a protocol the type lacks `EPROTONOSUPPORT`. Raw IP sockets are
    /// `EPERM`, as for an unprivileged Linux process.
    pub fn socket(
        &self,
        domain: i32,
        type_: i32,
        protocol: i32,
        cred: Ucred,
    ) -> Result<Arc<dyn SocketOps>, Errno> {
        let ty = type_ as u32;
        let proto = protocol as u32;
        match domain as u32 {
            n::AF_INET | n::AF_INET6 => {
                let v6 = domain as u32 == n::AF_INET6;
                match (ty, proto) {
                    (n::SOCK_STREAM, 0) | (n::SOCK_STREAM, n::IPPROTO_TCP) => {
                        Ok(tcp::TcpSocket::new(&self.stack, v6))
                    }
                    (n::SOCK_DGRAM, 0) | (n::SOCK_DGRAM, n::IPPROTO_UDP) => {
                        Ok(udp::UdpSocket::new(&self.stack, v6))
                    }
                    (n::SOCK_STREAM | n::SOCK_DGRAM, _) => Err(Errno::EPROTONOSUPPORT),
                    (n::SOCK_RAW, _) => Err(Errno::EPERM),
                    _ => Err(Errno::ESOCKTNOSUPPORT),
                }
            }
            n::AF_UNIX => {
                if proto != 0 && proto != n::AF_UNIX {
                    return Err(Errno::EPROTONOSUPPORT);
                }
                let kind = match ty {
                    n::SOCK_STREAM | n::SOCK_SEQPACKET | n::SOCK_DGRAM => ty,
                    // Linux makes SOCK_RAW an AF_UNIX datagram socket.
                    n::SOCK_RAW => n::SOCK_DGRAM,
                    _ => return Err(Errno::ESOCKTNOSUPPORT),
                };
                Ok(UnixSocket::new(
                    &self.unix,
                    self.stack.blocker(),
                    kind,
                    cred,
                ))
            }
            n::AF_NETLINK => {
                if ty != n::SOCK_RAW && ty != n::SOCK_DGRAM {
                    return Err(Errno::ESOCKTNOSUPPORT);
                }
                if proto != n::NETLINK_ROUTE {
                    return Err(Errno::EPROTONOSUPPORT);
                }
                Ok(netlink::NetlinkSocket::new(
                    &self.stack,
                    ty,
                    cred.pid as u32,
                    &self.netlink_pids,
                ))
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// socketpair(2): two connected `AF_UNIX` sockets (`EOPNOTSUPP` for IP families, which
    /// have no pairs; `EAFNOSUPPORT` for unknown ones).
    pub fn socketpair(
        &self,
        domain: i32,
        type_: i32,
        protocol: i32,
        cred: Ucred,
    ) -> Result<SocketPair, Errno> {
        match domain as u32 {
            n::AF_UNIX => {
                // Validate type and protocol as socket(2) does.
                let probe = self.socket(domain, type_, protocol, cred)?;
                let kind = probe.sock_type();
                let (a, b) = UnixSocket::pair(&self.unix, self.stack.blocker(), kind, cred);
                Ok((a, b))
            }
            n::AF_INET | n::AF_INET6 => {
                self.socket(domain, type_, protocol, cred)?;
                Err(Errno::EOPNOTSUPP)
            }
            n::AF_NETLINK => {
                self.socket(domain, type_, protocol, cred)?;
                Err(Errno::EOPNOTSUPP)
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }
}
