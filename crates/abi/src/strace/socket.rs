//! The socket calls' part of the strace formatter: socket(2) domains and types, socket
//! addresses (`{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}`, as
//! strace shows them), message flags and socket option names.

use super::Printer;
use super::names::{Names, lookup};
use crate::linux::net::{self as n, SockaddrIn, SockaddrIn6, SockaddrNl};
use crate::syscall::Syscall;
use crate::user::{UserAddr, UserPtr};
use core::fmt;
use zerocopy::FromBytes;

macro_rules! names {
    ($($n:ident),* $(,)?) => {
        &[$((stringify!($n), n::$n as u64)),*]
    };
}

/// Address families.
const FAMILIES: Names = names!(AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK);
/// Socket types (`type & SOCK_TYPE_MASK`).
const TYPES: Names = names!(SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET);
/// Flags in socket(2)'s type and accept4(2)'s flags.
const TYPE_FLAGS: Names = names!(SOCK_NONBLOCK, SOCK_CLOEXEC);
/// send/recv flags.
const MSG_FLAGS: Names = names!(
    MSG_OOB,
    MSG_PEEK,
    MSG_CTRUNC,
    MSG_TRUNC,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_WAITALL,
    MSG_ERRQUEUE,
    MSG_NOSIGNAL,
    MSG_MORE,
    MSG_CMSG_CLOEXEC,
);
/// Option levels.
const LEVELS: Names = &[
    ("SOL_SOCKET", n::SOL_SOCKET as u64),
    ("SOL_IP", n::IPPROTO_IP as u64),
    ("SOL_TCP", n::IPPROTO_TCP as u64),
    ("SOL_UDP", n::IPPROTO_UDP as u64),
    ("SOL_IPV6", n::IPPROTO_IPV6 as u64),
];
/// `SOL_SOCKET` options.
const SOCKET_OPTIONS: Names = names!(
    SO_REUSEADDR,
    SO_TYPE,
    SO_ERROR,
    SO_BROADCAST,
    SO_SNDBUF,
    SO_RCVBUF,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_REUSEPORT,
    SO_PASSCRED,
    SO_PEERCRED,
    SO_RCVLOWAT,
    SO_SNDLOWAT,
    SO_RCVTIMEO_OLD,
    SO_SNDTIMEO_OLD,
    SO_ACCEPTCONN,
    SO_PROTOCOL,
    SO_DOMAIN,
    SO_SNDBUFFORCE,
    SO_RCVBUFFORCE,
);
/// `SOL_TCP` options.
const TCP_OPTIONS: Names = names!(
    TCP_NODELAY,
    TCP_MAXSEG,
    TCP_CORK,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_KEEPCNT,
    TCP_INFO,
    TCP_QUICKACK,
    TCP_USER_TIMEOUT,
);
/// shutdown(2)'s `how`.
const SHUT: Names = names!(SHUT_RD, SHUT_WR, SHUT_RDWR);

impl Printer<'_> {
    /// The arguments of a socket call; `None` for other calls.
    pub(super) fn socket_args(&mut self, call: &Syscall) -> Option<fmt::Result> {
        use Syscall as S;
        Some(match *call {
            S::Socket {
                domain,
                type_,
                protocol,
            } => self.socket_triple(domain, type_, protocol),
            S::Socketpair {
                domain,
                type_,
                protocol,
                sv,
            } => self.socket_triple(domain, type_, protocol).and_then(|()| {
                self.sep()?;
                self.pipefd(sv)
            }),
            S::Bind {
                sockfd,
                addr,
                addrlen,
            }
            | S::Connect {
                sockfd,
                addr,
                addrlen,
            } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.sockaddr(addr, addrlen)?;
                write!(self.out, ", {addrlen}")
            }),
            S::Listen { sockfd, backlog } => write!(self.out, "{sockfd}, {backlog}"),
            S::Accept {
                sockfd,
                addr,
                addrlen,
            }
            | S::Getsockname {
                sockfd,
                addr,
                addrlen,
            }
            | S::Getpeername {
                sockfd,
                addr,
                addrlen,
            } => self.dec(sockfd).and_then(|()| self.addr_out(addr, addrlen)),
            S::Accept4 {
                sockfd,
                addr,
                addrlen,
                flags,
            } => self.dec(sockfd).and_then(|()| {
                self.addr_out(addr, addrlen)?;
                self.sep()?;
                self.flags(flags as u32 as u64, TYPE_FLAGS, "0")
            }),
            S::Sendto {
                sockfd,
                buf,
                flags,
                dest_addr,
                addrlen,
            } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.bytes(buf.addr, buf.len)?;
                write!(self.out, ", {}, ", buf.len)?;
                self.flags(flags as u64, MSG_FLAGS, "0")?;
                self.sep()?;
                self.sockaddr(dest_addr, addrlen)?;
                write!(self.out, ", {addrlen}")
            }),
            S::Recvfrom {
                sockfd,
                buf,
                flags,
                src_addr,
                addrlen,
            } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.out_buf(buf)?;
                write!(self.out, ", {}, ", buf.len)?;
                self.flags(flags as u64, MSG_FLAGS, "0")?;
                self.addr_out(src_addr, addrlen)
            }),
            S::Sendmsg { sockfd, msg, flags } | S::Recvmsg { sockfd, msg, flags } => {
                self.dec(sockfd).and_then(|()| {
                    self.sep()?;
                    self.ptr(msg)?;
                    self.sep()?;
                    self.flags(flags as u64, MSG_FLAGS, "0")
                })
            }
            S::Sendmmsg {
                sockfd,
                msgvec,
                vlen,
                flags,
            } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.ptr(msgvec)?;
                write!(self.out, ", {vlen}, ")?;
                self.flags(flags as u64, MSG_FLAGS, "0")
            }),
            S::Recvmmsg {
                sockfd,
                msgvec,
                vlen,
                flags,
                timeout,
            } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.ptr(msgvec)?;
                write!(self.out, ", {vlen}, ")?;
                self.flags(flags as u64, MSG_FLAGS, "0")?;
                self.sep()?;
                self.timespec(timeout)
            }),
            S::Shutdown { sockfd, how } => self.dec(sockfd).and_then(|()| {
                self.sep()?;
                self.named(how as i64, SHUT)
            }),
            S::Setsockopt {
                sockfd,
                level,
                optname,
                optval,
                optlen,
            } => self.dec(sockfd).and_then(|()| {
                self.option(level, optname)?;
                self.sep()?;
                self.option_value(optval, optlen)?;
                write!(self.out, ", {optlen}")
            }),
            S::Getsockopt {
                sockfd,
                level,
                optname,
                optval,
                optlen,
            } => self.dec(sockfd).and_then(|()| {
                self.option(level, optname)?;
                self.sep()?;
                match (self.result, optlen.read(self.mem)) {
                    (Some(_), Ok(len)) => {
                        self.option_value(optval, len)?;
                        write!(self.out, ", [{len}]")
                    }
                    _ => {
                        self.addr(optval)?;
                        self.sep()?;
                        self.ptr(optlen)
                    }
                }
            }),
            _ => return None,
        })
    }

    fn socket_triple(&mut self, domain: i32, ty: i32, protocol: i32) -> fmt::Result {
        self.named(domain as i64, FAMILIES)?;
        self.sep()?;
        let ty = ty as u32;
        self.named((ty & n::SOCK_TYPE_MASK) as i64, TYPES)?;
        let rest = ty & !n::SOCK_TYPE_MASK;
        if rest != 0 {
            self.s("|")?;
            self.flags(rest as u64, TYPE_FLAGS, "0")?;
        }
        write!(self.out, ", {protocol}")
    }

    /// An output address and its length pointer: shown filled in after a successful call.
    fn addr_out(&mut self, addr: UserAddr, addrlen: UserPtr<i32>) -> fmt::Result {
        self.sep()?;
        match (self.result, addrlen.read(self.mem)) {
            (Some(_), Ok(len)) if !addr.is_null() => {
                self.sockaddr(addr, len)?;
                write!(self.out, ", [{len}]")
            }
            _ => {
                self.addr(addr)?;
                self.sep()?;
                self.ptr(addrlen)
            }
        }
    }

    /// A socket address of `len` bytes at `addr`, decoded for the families oxv knows.
    fn sockaddr(&mut self, addr: UserAddr, len: i32) -> fmt::Result {
        let mut buf = [0u8; n::SOCKADDR_STORAGE_SIZE];
        let len = (len.max(0) as usize).min(buf.len());
        if addr.is_null() || len < 2 || self.mem.copy_in(addr, &mut buf[..len]).is_err() {
            return self.addr(addr);
        }
        let family = u16::from_ne_bytes([buf[0], buf[1]]) as u32;
        self.s("{sa_family=")?;
        self.named(family as i64, FAMILIES)?;
        match family {
            n::AF_INET => {
                if let Ok((a, _)) = SockaddrIn::read_from_prefix(&buf[..len]) {
                    let [x, y, z, w] = a.sin_addr;
                    write!(
                        self.out,
                        ", sin_port=htons({}), sin_addr=inet_addr(\"{x}.{y}.{z}.{w}\")",
                        u16::from_be_bytes(a.sin_port)
                    )?;
                }
            }
            n::AF_INET6 => {
                if let Ok((a, _)) = SockaddrIn6::read_from_prefix(&buf[..len]) {
                    write!(
                        self.out,
                        ", sin6_port=htons({}), sin6_addr=",
                        u16::from_be_bytes(a.sin6_port)
                    )?;
                    for (i, pair) in a.sin6_addr.chunks(2).enumerate() {
                        if i > 0 {
                            self.s(":")?;
                        }
                        write!(self.out, "{:x}", u16::from_be_bytes([pair[0], pair[1]]))?;
                    }
                }
            }
            n::AF_UNIX => {
                let path = &buf[n::SUN_PATH_OFFSET..len];
                self.s(", sun_path=")?;
                if path.first() == Some(&0) {
                    self.s("@")?;
                }
                let shown = if path.first() == Some(&0) {
                    &path[1..]
                } else {
                    path.split(|&b| b == 0).next().unwrap_or(&[])
                };
                self.s("\"")?;
                for &b in shown {
                    if b.is_ascii_graphic() || b == b' ' {
                        write!(self.out, "{}", b as char)?;
                    } else {
                        write!(self.out, "\\{b:o}")?;
                    }
                }
                self.s("\"")?;
            }
            n::AF_NETLINK => {
                if let Ok((a, _)) = SockaddrNl::read_from_prefix(&buf[..len]) {
                    write!(
                        self.out,
                        ", nl_pid={}, nl_groups={:08x}",
                        a.nl_pid, a.nl_groups
                    )?;
                }
            }
            _ => {}
        }
        self.s("}")
    }

    fn option(&mut self, level: i32, name: i32) -> fmt::Result {
        self.sep()?;
        self.named(level as i64, LEVELS)?;
        self.sep()?;
        let table = match level as u32 {
            n::SOL_SOCKET => SOCKET_OPTIONS,
            n::SOL_TCP => TCP_OPTIONS,
            _ => &[],
        };
        match lookup(table, name as u32 as u64) {
            Some(s) => self.s(s),
            None => self.dec(name),
        }
    }

    /// An option value: `[n]` for an `int`, the address otherwise.
    fn option_value(&mut self, optval: UserAddr, len: i32) -> fmt::Result {
        if len == 4 {
            if let Ok(v) = UserPtr::<i32>::new(optval.get()).read(self.mem) {
                return write!(self.out, "[{v}]");
            }
        }
        self.addr(optval)
    }
}
