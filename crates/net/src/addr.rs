//! Socket addresses: the `struct sockaddr_*` the app passes in and gets back, as a typed
//! [`SockAddr`], with Linux's rules for reading them in and writing them out.
//!
//! Reading in is Linux's `move_addr_to_kernel` (a length below zero or above
//! `sizeof(struct sockaddr_storage)` is `EINVAL`, then the bytes are copied, `EFAULT` on a
//! fault) followed by the family's own checks, which each family does in its own order (see
//! [`SockAddr::parse_inet`], [`SockAddr::parse_unix`]). Writing out is `move_addr_to_user`: the
//! app's `*addrlen` says how much room there is (negative is `EINVAL`), at most that much is
//! copied, and the full length is written back to `*addrlen`, so a short buffer shows a
//! truncated address with its real length.
//!
//! IPv4 traffic on an `AF_INET6` socket shows up as an IPv4-mapped address (`::ffff:a.b.c.d`),
//! as on a dual-stack Linux socket; [`Endpoint`] is the stack's view with the mapping undone.

use alloc::vec::Vec;
use oxv_abi::linux::net::{
    self as n, SOCKADDR_STORAGE_SIZE, SUN_PATH_OFFSET, SockaddrIn, SockaddrIn6, SockaddrNl,
    UNIX_PATH_MAX,
};
use oxv_abi::{Errno, UserAddr, UserMemory, UserPtr};
use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};
use zerocopy::{FromBytes, IntoBytes};

/// An IP address and port as the stack sees them (IPv4-mapped IPv6 addresses become IPv4).
pub type Endpoint = IpEndpoint;

/// The name of an `AF_UNIX` socket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnixName {
    /// No name (an unbound socket, or one end of a socketpair).
    Unnamed,
    /// A path in the file system (without the terminating NUL).
    Path(Vec<u8>),
    /// A name in the abstract namespace (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

/// A socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// `AF_UNSPEC` (connect(2) with it dissolves an association).
    Unspec,
    /// `AF_INET`.
    Inet {
        /// Address.
        addr: [u8; 4],
        /// Port.
        port: u16,
    },
    /// `AF_INET6`.
    Inet6 {
        /// Address.
        addr: [u8; 16],
        /// Port.
        port: u16,
        /// Flow information, as given (network byte order).
        flowinfo: [u8; 4],
        /// Scope id.
        scope_id: u32,
    },
    /// `AF_UNIX`.
    Unix(UnixName),
    /// `AF_NETLINK`.
    Netlink {
        /// Port id.
        pid: u32,
        /// Multicast groups.
        groups: u32,
    },
}

/// The raw bytes of an address the app passed, as `move_addr_to_kernel` copies them.
#[derive(Clone, Debug)]
pub struct RawAddr {
    bytes: [u8; SOCKADDR_STORAGE_SIZE],
    len: usize,
}

impl RawAddr {
    /// Copies `len` bytes at `addr` in: `EINVAL` if `len` is negative or larger than
    /// `sizeof(struct sockaddr_storage)`, `EFAULT` on a fault.
    pub fn copy_in(mem: &dyn UserMemory, addr: UserAddr, len: i32) -> Result<RawAddr, Errno> {
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len > SOCKADDR_STORAGE_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; SOCKADDR_STORAGE_SIZE];
        if len > 0 {
            mem.copy_in(addr, &mut bytes[..len])?;
        }
        Ok(RawAddr { bytes, len })
    }

    /// An address from kernel bytes (cut to `sizeof(struct sockaddr_storage)`).
    pub fn from_bytes(b: &[u8]) -> RawAddr {
        let len = b.len().min(SOCKADDR_STORAGE_SIZE);
        let mut bytes = [0u8; SOCKADDR_STORAGE_SIZE];
        bytes[..len].copy_from_slice(&b[..len]);
        RawAddr { bytes, len }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The length the app gave.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `sa_family`, if the address is long enough to hold it.
    pub fn family(&self) -> Option<u32> {
        (self.len >= 2).then(|| u16::from_ne_bytes([self.bytes[0], self.bytes[1]]) as u32)
    }
}

impl SockAddr {
    /// Parses an address for an `AF_INET` (`v6 == false`) or `AF_INET6` socket, as Linux's
    /// connect paths check it: too short for the socket's family is `EINVAL`; another family
    /// is `EAFNOSUPPORT`, except that `AF_UNSPEC` is returned as [`SockAddr::Unspec`] for the
    /// caller to judge (connect(2) dissolves the association with it). bind(2) uses
    /// [`SockAddr::parse_inet_bind`].
    pub fn parse_inet(raw: &RawAddr, v6: bool) -> Result<SockAddr, Errno> {
        let b = raw.as_bytes();
        if raw.family() == Some(n::AF_UNSPEC) {
            if b.len() < 2 {
                return Err(Errno::EINVAL);
            }
            return Ok(SockAddr::Unspec);
        }
        if !v6 {
            let (a, _) = SockaddrIn::read_from_prefix(b).map_err(|_| Errno::EINVAL)?;
            if a.sin_family as u32 != n::AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            return Ok(SockAddr::Inet {
                addr: a.sin_addr,
                port: u16::from_be_bytes(a.sin_port),
            });
        }
        // SIN6_LEN_RFC2133: the address without sin6_scope_id is accepted.
        const RFC2133_LEN: usize = size_of::<SockaddrIn6>() - 4;
        if b.len() < RFC2133_LEN {
            return Err(Errno::EINVAL);
        }
        let mut full = [0u8; size_of::<SockaddrIn6>()];
        let n_copy = b.len().min(full.len());
        full[..n_copy].copy_from_slice(&b[..n_copy]);
        let a = SockaddrIn6::read_from_bytes(&full).map_err(|_| Errno::EINVAL)?;
        if a.sin6_family as u32 != n::AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        Ok(SockAddr::Inet6 {
            addr: a.sin6_addr,
            port: u16::from_be_bytes(a.sin6_port),
            flowinfo: a.sin6_flowinfo,
            scope_id: a.sin6_scope_id,
        })
    }

    /// Parses an address for bind(2) on an `AF_INET` or `AF_INET6` socket: as
    /// [`SockAddr::parse_inet`], except that on `AF_INET` an `AF_UNSPEC` address with
    /// `INADDR_ANY` binds like `AF_INET` (Linux's compatibility exception in `inet_bind`) and
    /// any other `AF_UNSPEC` one is `EAFNOSUPPORT`.
    pub fn parse_inet_bind(raw: &RawAddr, v6: bool) -> Result<SockAddr, Errno> {
        match SockAddr::parse_inet(raw, v6)? {
            SockAddr::Unspec if !v6 => {
                let (a, _) =
                    SockaddrIn::read_from_prefix(raw.as_bytes()).map_err(|_| Errno::EINVAL)?;
                if a.sin_addr != [0; 4] {
                    return Err(Errno::EAFNOSUPPORT);
                }
                Ok(SockAddr::Inet {
                    addr: [0; 4],
                    port: u16::from_be_bytes(a.sin_port),
                })
            }
            SockAddr::Unspec => Err(Errno::EAFNOSUPPORT),
            a => Ok(a),
        }
    }

    /// Parses an `AF_UNIX` address (Linux's `unix_validate_addr` and `unix_mkname_bsd`): a
    /// length not above `sizeof(sa_family_t)` or another family is `EINVAL`; a leading NUL in
    /// `sun_path` makes an abstract name of the bytes that follow (all of them, NULs
    /// included); otherwise the path ends at the first NUL. A bare family is
    /// [`UnixName::Unnamed`] (autobind for bind(2)).
    pub fn parse_unix(raw: &RawAddr) -> Result<SockAddr, Errno> {
        let b = raw.as_bytes();
        if b.len() < SUN_PATH_OFFSET || raw.family() != Some(n::AF_UNIX) {
            return Err(Errno::EINVAL);
        }
        if b.len() > SUN_PATH_OFFSET + UNIX_PATH_MAX {
            return Err(Errno::EINVAL);
        }
        let path = &b[SUN_PATH_OFFSET..];
        Ok(SockAddr::Unix(match path.first() {
            None => UnixName::Unnamed,
            Some(0) => UnixName::Abstract(path[1..].to_vec()),
            Some(_) => {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                UnixName::Path(path[..end].to_vec())
            }
        }))
    }

    /// Parses an `AF_NETLINK` address: shorter than `struct sockaddr_nl` or another family is
    /// `EINVAL`.
    pub fn parse_netlink(raw: &RawAddr) -> Result<SockAddr, Errno> {
        let (a, _) = SockaddrNl::read_from_prefix(raw.as_bytes()).map_err(|_| Errno::EINVAL)?;
        if a.nl_family as u32 != n::AF_NETLINK {
            return Err(Errno::EINVAL);
        }
        Ok(SockAddr::Netlink {
            pid: a.nl_pid,
            groups: a.nl_groups,
        })
    }

    /// The address as a `struct sockaddr_*`, at its natural length (Linux's lengths:
    /// `AF_UNIX` addresses are the family plus the path and its NUL, or plus the NUL and the
    /// abstract name; an unnamed one is the family alone).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SockAddr::Unspec => (n::AF_UNSPEC as u16).to_ne_bytes().to_vec(),
            SockAddr::Inet { addr, port } => SockaddrIn {
                sin_family: n::AF_INET as u16,
                sin_port: port.to_be_bytes(),
                sin_addr: *addr,
                sin_zero: [0; 8],
            }
            .as_bytes()
            .to_vec(),
            SockAddr::Inet6 {
                addr,
                port,
                flowinfo,
                scope_id,
            } => SockaddrIn6 {
                sin6_family: n::AF_INET6 as u16,
                sin6_port: port.to_be_bytes(),
                sin6_flowinfo: *flowinfo,
                sin6_addr: *addr,
                sin6_scope_id: *scope_id,
            }
            .as_bytes()
            .to_vec(),
            SockAddr::Unix(name) => {
                let mut v = (n::AF_UNIX as u16).to_ne_bytes().to_vec();
                match name {
                    UnixName::Unnamed => {}
                    UnixName::Path(p) => {
                        v.extend_from_slice(p);
                        v.push(0);
                    }
                    UnixName::Abstract(a) => {
                        v.push(0);
                        v.extend_from_slice(a);
                    }
                }
                v
            }
            SockAddr::Netlink { pid, groups } => SockaddrNl {
                nl_family: n::AF_NETLINK as u16,
                nl_pad: 0,
                nl_pid: *pid,
                nl_groups: *groups,
            }
            .as_bytes()
            .to_vec(),
        }
    }

    /// The stack's endpoint for an `AF_INET`/`AF_INET6` address (IPv4-mapped IPv6 addresses
    /// become IPv4); `None` for other families. The unspecified address stays unspecified.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match *self {
            SockAddr::Inet { addr, port } => Some(IpEndpoint::new(
                IpAddress::Ipv4(Ipv4Address::from(addr)),
                port,
            )),
            SockAddr::Inet6 { addr, port, .. } => Some(IpEndpoint::new(ip_of_v6(addr), port)),
            _ => None,
        }
    }

    /// The address of `ep` as a socket of family `v6` shows it.
    pub fn from_endpoint(ep: Endpoint, v6: bool) -> SockAddr {
        match (ep.addr, v6) {
            (IpAddress::Ipv4(a), false) => SockAddr::Inet {
                addr: a.octets(),
                port: ep.port,
            },
            (IpAddress::Ipv4(a), true) => {
                let mut m = [0u8; 16];
                m[10] = 0xff;
                m[11] = 0xff;
                m[12..].copy_from_slice(&a.octets());
                SockAddr::inet6(m, ep.port)
            }
            (IpAddress::Ipv6(a), _) => SockAddr::inet6(a.octets(), ep.port),
        }
    }

    /// An `AF_INET6` address with no flow information or scope.
    pub fn inet6(addr: [u8; 16], port: u16) -> SockAddr {
        SockAddr::Inet6 {
            addr,
            port,
            flowinfo: [0; 4],
            scope_id: 0,
        }
    }

    /// The unspecified address of a family, port 0: what getsockname(2) shows for an unbound
    /// socket.
    pub fn unspecified(v6: bool) -> SockAddr {
        if v6 {
            SockAddr::inet6([0; 16], 0)
        } else {
            SockAddr::Inet {
                addr: [0; 4],
                port: 0,
            }
        }
    }
}

/// The stack's address for IPv6 octets: IPv4-mapped addresses (`::ffff:a.b.c.d`) become IPv4.
pub fn ip_of_v6(addr: [u8; 16]) -> IpAddress {
    if addr[..10] == [0; 10] && addr[10..12] == [0xff, 0xff] {
        IpAddress::Ipv4(Ipv4Address::new(addr[12], addr[13], addr[14], addr[15]))
    } else {
        IpAddress::Ipv6(Ipv6Address::from(addr))
    }
}

/// Writes `addr` to the app's `(buf, *len)` pair as Linux's `move_addr_to_user` does: reads
/// `*len` (`EINVAL` if negative), copies at most that many bytes, then stores the full length
/// in `*len`. A null `buf` skips everything (accept(2) with no address wanted).
pub fn copy_out(
    mem: &mut dyn UserMemory,
    buf: UserAddr,
    len: UserPtr<i32>,
    addr: &SockAddr,
) -> Result<(), Errno> {
    if buf.is_null() {
        return Ok(());
    }
    let room = len.read(mem)?;
    let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
    let bytes = addr.to_bytes();
    let n_copy = room.min(bytes.len());
    if n_copy > 0 {
        mem.copy_out(buf, &bytes[..n_copy])?;
    }
    len.write(mem, &(bytes.len() as i32))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::user::fake::FakeUserMemory;

    fn raw(b: &[u8]) -> RawAddr {
        RawAddr::from_bytes(b)
    }

    fn sin(port: u16, a: [u8; 4]) -> Vec<u8> {
        SockAddr::Inet { addr: a, port }.to_bytes()
    }

    #[test]
    fn inet_parsing_follows_linux_checks() {
        assert_eq!(
            SockAddr::parse_inet(&raw(&sin(80, [127, 0, 0, 1])), false),
            Ok(SockAddr::Inet {
                addr: [127, 0, 0, 1],
                port: 80
            })
        );
        assert_eq!(
            SockAddr::parse_inet(&raw(&sin(80, [1, 2, 3, 4])[..15]), false),
            Err(Errno::EINVAL),
            "shorter than sockaddr_in"
        );
        let mut v6 = SockAddr::inet6([0; 16], 1).to_bytes();
        assert_eq!(
            SockAddr::parse_inet(&raw(&v6), false),
            Err(Errno::EAFNOSUPPORT)
        );
        // AF_UNSPEC with INADDR_ANY binds like AF_INET (Linux's compatibility exception).
        let mut unspec = sin(7, [0; 4]);
        unspec[0] = 0;
        assert_eq!(
            SockAddr::parse_inet_bind(&raw(&unspec), false),
            Ok(SockAddr::Inet {
                addr: [0; 4],
                port: 7
            })
        );
        assert_eq!(
            SockAddr::parse_inet(&raw(&unspec), false),
            Ok(SockAddr::Unspec),
            "connect(2) dissolves with it"
        );
        // RFC 2133 length (no scope id) is fine for AF_INET6.
        v6.truncate(24);
        assert!(SockAddr::parse_inet(&raw(&v6), true).is_ok());
        v6.truncate(23);
        assert_eq!(SockAddr::parse_inet(&raw(&v6), true), Err(Errno::EINVAL));
    }

    #[test]
    fn unix_names() {
        let mut b = (n::AF_UNIX as u16).to_ne_bytes().to_vec();
        assert_eq!(
            SockAddr::parse_unix(&raw(&b)),
            Ok(SockAddr::Unix(UnixName::Unnamed))
        );
        b.extend_from_slice(b"/tmp/x\0junk");
        assert_eq!(
            SockAddr::parse_unix(&raw(&b)),
            Ok(SockAddr::Unix(UnixName::Path(b"/tmp/x".to_vec())))
        );
        let abs = [&(n::AF_UNIX as u16).to_ne_bytes()[..], b"\0a\0b"].concat();
        let parsed = SockAddr::parse_unix(&raw(&abs)).unwrap();
        assert_eq!(parsed, SockAddr::Unix(UnixName::Abstract(b"a\0b".to_vec())));
        assert_eq!(parsed.to_bytes(), abs);
        assert_eq!(SockAddr::parse_unix(&raw(&[1])), Err(Errno::EINVAL));
        assert_eq!(
            SockAddr::Unix(UnixName::Path(b"/s".to_vec()))
                .to_bytes()
                .len(),
            5,
            "family, path, NUL"
        );
    }

    #[test]
    fn mapped_addresses_round_trip() {
        let mapped = SockAddr::from_endpoint(IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), 9), true);
        let SockAddr::Inet6 { addr, .. } = mapped else {
            panic!("an AF_INET6 socket shows IPv6 addresses");
        };
        assert_eq!(&addr[10..], &[0xff, 0xff, 127, 0, 0, 1]);
        assert_eq!(
            mapped.endpoint(),
            Some(IpEndpoint::new(IpAddress::v4(127, 0, 0, 1), 9))
        );
    }

    #[test]
    fn copy_out_truncates_and_reports_the_full_length() {
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, true);
        mem.poke(0x1800, &4i32.to_ne_bytes());
        let a = SockAddr::Inet {
            addr: [10, 0, 0, 1],
            port: 0x1234,
        };
        copy_out(&mut mem, UserAddr::new(0x1000), UserPtr::new(0x1800), &a).unwrap();
        assert_eq!(mem.peek(0x1000, 5), [2, 0, 0x12, 0x34, 0]);
        assert_eq!(mem.peek(0x1800, 4), 16i32.to_ne_bytes());
        mem.poke(0x1800, &(-1i32).to_ne_bytes());
        assert_eq!(
            copy_out(&mut mem, UserAddr::new(0x1000), UserPtr::new(0x1800), &a),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            RawAddr::copy_in(&mem, UserAddr::new(0x1000), 129).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            RawAddr::copy_in(&mem, UserAddr::new(0x5000), 16).err(),
            Some(Errno::EFAULT)
        );
    }
}
