//! Port numbers: who holds which TCP or UDP port, when a bind(2) conflicts (`EADDRINUSE`),
//! and ephemeral ports.
//!
//! The conflict rule is Linux's (`inet_csk_bind_conflict`, `udp_lib_lport_inuse`), reduced
//! to what one process can see: two bindings of one port conflict when their addresses
//! overlap (equal, or either is the wildcard; an `AF_INET6` wildcard without `IPV6_V6ONLY`
//! also covers IPv4), unless both set `SO_REUSEPORT`, or both set `SO_REUSEADDR` and (for TCP)
//! the one already there is not listening. Ephemeral ports come from Linux's default range,
//! 32768–60999 (`ip_local_port_range`), starting at a random point and skipping ports in use.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use oxv_abi::Errno;
use smoltcp::wire::IpAddress;

/// The first ephemeral port.
pub const EPHEMERAL_FIRST: u16 = 32768;
/// The last ephemeral port.
pub const EPHEMERAL_LAST: u16 = 60999;

/// The transport protocol of a port.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// The address part of a binding.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BindAddr {
    /// `INADDR_ANY`.
    Any4,
    /// `in6addr_any`; `v6only` says whether IPv4 is excluded.
    Any6 {
        /// `IPV6_V6ONLY`.
        v6only: bool,
    },
    /// One address.
    Ip(IpAddress),
}

impl BindAddr {
    fn overlaps(self, other: BindAddr) -> bool {
        use BindAddr::*;
        let v4 = |a: BindAddr| match a {
            Any4 => true,
            Any6 { v6only } => !v6only,
            Ip(ip) => matches!(ip, IpAddress::Ipv4(_)),
        };
        let v6 = |a: BindAddr| match a {
            Any4 => false,
            Any6 { .. } => true,
            Ip(ip) => matches!(ip, IpAddress::Ipv6(_)),
        };
        match (self, other) {
            (Ip(a), Ip(b)) => a == b,
            (Any4 | Any6 { .. }, _) | (_, Any4 | Any6 { .. }) => {
                (v4(self) && v4(other)) || (v6(self) && v6(other))
            }
        }
    }

    /// The address a listen or bind endpoint names (`None` for a wildcard).
    pub fn ip(self) -> Option<IpAddress> {
        match self {
            BindAddr::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

/// One socket's hold on a port.
#[derive(Copy, Clone, Debug)]
pub struct Binding {
    /// The holder (a socket id).
    pub owner: u64,
    /// Its address.
    pub addr: BindAddr,
    /// `SO_REUSEADDR`.
    pub reuse_addr: bool,
    /// `SO_REUSEPORT`.
    pub reuse_port: bool,
    /// Whether the holder listens (TCP).
    pub listening: bool,
}

impl Binding {
    /// Whether `self`, binding or starting to listen, clashes with the existing `other`.
    fn conflicts(&self, other: &Binding, proto: Proto) -> bool {
        if !self.addr.overlaps(other.addr) {
            return false;
        }
        if self.reuse_port && other.reuse_port {
            return false;
        }
        let reuse = self.reuse_addr && other.reuse_addr;
        match proto {
            Proto::Udp => !reuse,
            Proto::Tcp => !reuse || other.listening,
        }
    }
}

/// The port table of one stack.
#[derive(Debug)]
pub struct PortTable {
    map: BTreeMap<(Proto, u16), Vec<Binding>>,
    next: u16,
}

impl PortTable {
    /// An empty table; `seed` picks where the ephemeral search starts.
    pub fn new(seed: u64) -> PortTable {
        let span = (EPHEMERAL_LAST - EPHEMERAL_FIRST) as u64 + 1;
        PortTable {
            map: BTreeMap::new(),
            next: EPHEMERAL_FIRST + (seed % span) as u16,
        }
    }

    /// Takes `port` for `b` (`EADDRINUSE` on a conflict); port 0 takes a free ephemeral port
    /// (`EADDRINUSE` when none is left, as bind(2) reports it). Returns the port.
    pub fn bind(&mut self, proto: Proto, port: u16, b: Binding) -> Result<u16, Errno> {
        let port = if port == 0 {
            self.ephemeral(proto).ok_or(Errno::EADDRINUSE)?
        } else {
            port
        };
        let list = self.map.entry((proto, port)).or_default();
        if list.iter().any(|o| b.conflicts(o, proto)) {
            if list.is_empty() {
                self.map.remove(&(proto, port));
            }
            return Err(Errno::EADDRINUSE);
        }
        list.push(b);
        Ok(port)
    }

    fn ephemeral(&mut self, proto: Proto) -> Option<u16> {
        let span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
        for _ in 0..span {
            let p = self.next;
            self.next = if p >= EPHEMERAL_LAST {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            if !self.map.contains_key(&(proto, p)) {
                return Some(p);
            }
        }
        None
    }

    /// Marks `owner`'s binding of `port` as listening, failing with `EADDRINUSE` if that
    /// conflicts now (two `SO_REUSEADDR` sockets may bind one port, only one may listen).
    pub fn listen(&mut self, proto: Proto, port: u16, owner: u64) -> Result<(), Errno> {
        let Some(list) = self.map.get_mut(&(proto, port)) else {
            return Ok(());
        };
        let Some(i) = list.iter().position(|b| b.owner == owner) else {
            return Ok(());
        };
        let mut me = list[i];
        me.listening = true;
        let clash = list
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && me.conflicts(o, proto));
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        list[i] = me;
        Ok(())
    }

    /// Gives `owner`'s hold on `port` back.
    pub fn release(&mut self, proto: Proto, port: u16, owner: u64) {
        if let Some(list) = self.map.get_mut(&(proto, port)) {
            list.retain(|b| b.owner != owner);
            if list.is_empty() {
                self.map.remove(&(proto, port));
            }
        }
    }

    /// Whether anyone holds `port`.
    pub fn in_use(&self, proto: Proto, port: u16) -> bool {
        self.map.contains_key(&(proto, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(owner: u64, addr: BindAddr, reuse_addr: bool) -> Binding {
        Binding {
            owner,
            addr,
            reuse_addr,
            reuse_port: false,
            listening: false,
        }
    }

    const LO: BindAddr = BindAddr::Ip(IpAddress::v4(127, 0, 0, 1));

    #[test]
    fn overlapping_addresses_conflict() {
        let mut t = PortTable::new(0);
        assert_eq!(t.bind(Proto::Tcp, 80, b(1, BindAddr::Any4, false)), Ok(80));
        assert_eq!(
            t.bind(Proto::Tcp, 80, b(2, LO, false)),
            Err(Errno::EADDRINUSE)
        );
        assert_eq!(
            t.bind(
                Proto::Tcp,
                80,
                b(2, BindAddr::Any6 { v6only: false }, false)
            ),
            Err(Errno::EADDRINUSE),
            "a dual-stack wildcard covers IPv4"
        );
        assert_eq!(
            t.bind(Proto::Tcp, 80, b(2, BindAddr::Any6 { v6only: true }, false)),
            Ok(80)
        );
        assert_eq!(t.bind(Proto::Udp, 80, b(3, LO, false)), Ok(80), "UDP apart");
        t.release(Proto::Tcp, 80, 1);
        assert_eq!(t.bind(Proto::Tcp, 80, b(4, LO, false)), Ok(80));
    }

    #[test]
    fn reuseaddr_allows_sharing_until_listen() {
        let mut t = PortTable::new(0);
        t.bind(Proto::Tcp, 8080, b(1, BindAddr::Any4, true))
            .unwrap();
        t.bind(Proto::Tcp, 8080, b(2, BindAddr::Any4, true))
            .unwrap();
        assert_eq!(t.listen(Proto::Tcp, 8080, 1), Ok(()));
        assert_eq!(t.listen(Proto::Tcp, 8080, 2), Err(Errno::EADDRINUSE));
        assert_eq!(
            t.bind(Proto::Tcp, 8080, b(3, BindAddr::Any4, true)),
            Err(Errno::EADDRINUSE),
            "not over a listener"
        );
    }

    #[test]
    fn ephemeral_ports_are_in_range_and_free() {
        let mut t = PortTable::new(u64::MAX);
        let mut seen = alloc::collections::BTreeSet::new();
        for i in 0..100 {
            let p = t.bind(Proto::Udp, 0, b(i, BindAddr::Any4, false)).unwrap();
            assert!((EPHEMERAL_FIRST..=EPHEMERAL_LAST).contains(&p));
            assert!(seen.insert(p));
        }
    }
}
