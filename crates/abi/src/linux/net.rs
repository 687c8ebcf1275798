//! Socket structs and constants: `struct sockaddr_in`/`sockaddr_in6`/`sockaddr_un`/
//! `sockaddr_nl`, `struct msghdr`, `struct mmsghdr`, `struct cmsghdr`, `struct ucred`,
//! `struct linger`, the route-netlink headers (`nlmsghdr`, `ifinfomsg`, `ifaddrmsg`, `rtattr`),
//! and the `AF_*`, `SOCK_*`, `MSG_*`, `SOL_*`/`SO_*`, `IPPROTO_*`, `TCP_*`, `SHUT_*` and
//! netlink numbers.
//!
//! As in [`super::fs`], the structs are views with every byte accounted for (explicit padding
//! fields), pinned to `linux-raw-sys` by the compile-time asserts at the end. Multi-byte
//! fields of the `sockaddr_in*` views are kept as byte arrays where Linux stores them in
//! network byte order (ports and addresses), so no caller can forget a byte swap.

use linux_raw_sys::general as gen_raw;
use linux_raw_sys::net as raw;
use linux_raw_sys::netlink as nl_raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use nl_raw::{
    NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_MIN_TYPE,
};
pub use raw::{
    AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, AF_UNSPEC, IP_TOS, IP_TTL, IPV6_UNICAST_HOPS,
    IPV6_V6ONLY, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_EOR, MSG_ERRQUEUE, MSG_MORE,
    MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SCM_CREDENTIALS, SCM_RIGHTS, SHUT_RD,
    SHUT_RDWR, SHUT_WR, SO_ACCEPTCONN, SO_BROADCAST, SO_DOMAIN, SO_ERROR, SO_KEEPALIVE, SO_LINGER,
    SO_PASSCRED, SO_PEERCRED, SO_PROTOCOL, SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVLOWAT, SO_RCVTIMEO_NEW,
    SO_RCVTIMEO_OLD, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDBUFFORCE, SO_SNDLOWAT,
    SO_SNDTIMEO_NEW, SO_SNDTIMEO_OLD, SO_TYPE, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
    SOL_SOCKET, TCP_CORK, TCP_INFO, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG,
    TCP_NODELAY, TCP_QUICKACK, TCP_USER_TIMEOUT,
};

/// `MSG_WAITFORONE` (recvmmsg(2): wait for the first datagram only). Not in the UAPI headers
/// `linux-raw-sys` is generated from; `include/linux/socket.h` defines it as `0x10000`.
pub const MSG_WAITFORONE: u32 = 0x10000;
const _: () = assert!(
    MSG_WAITFORONE == MSG_MORE << 1,
    "include/linux/socket.h puts MSG_WAITFORONE right after MSG_MORE"
);

/// `SOCK_NONBLOCK`: Linux defines it as `O_NONBLOCK` (`include/linux/net.h`).
pub const SOCK_NONBLOCK: u32 = gen_raw::O_NONBLOCK;
/// `SOCK_CLOEXEC`: Linux defines it as `O_CLOEXEC`.
pub const SOCK_CLOEXEC: u32 = gen_raw::O_CLOEXEC;
/// The bits of socket(2)'s `type` that select the type (`SOCK_TYPE_MASK`, 0xf).
pub const SOCK_TYPE_MASK: u32 = 0xf;
const _: () = assert!(SOCK_SEQPACKET <= SOCK_TYPE_MASK && SOCK_TYPE_MASK.count_ones() == 4);

/// `IPPROTO_IP` (socket option level, and "the default protocol").
pub const IPPROTO_IP: u32 = raw::IPPROTO_IP as u32;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u32 = raw::IPPROTO_TCP as u32;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u32 = raw::IPPROTO_UDP as u32;
/// `IPPROTO_IPV6` (socket option level).
pub const IPPROTO_IPV6: u32 = raw::IPPROTO_IPV6 as u32;
/// `SOL_TCP`: the option level of TCP options is its protocol number.
pub const SOL_TCP: u32 = IPPROTO_TCP;

/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = nl_raw::RTM_NEWLINK as u16;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = nl_raw::RTM_GETLINK as u16;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = nl_raw::RTM_NEWADDR as u16;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = nl_raw::RTM_GETADDR as u16;
/// `IFLA_ADDRESS`.
pub const IFLA_ADDRESS: u16 = nl_raw::IFLA_ADDRESS as u16;
/// `IFLA_BROADCAST`.
pub const IFLA_BROADCAST: u16 = nl_raw::IFLA_BROADCAST as u16;
/// `IFLA_IFNAME`.
pub const IFLA_IFNAME: u16 = nl_raw::IFLA_IFNAME as u16;
/// `IFLA_MTU`.
pub const IFLA_MTU: u16 = nl_raw::IFLA_MTU as u16;
/// `IFLA_TXQLEN`.
pub const IFLA_TXQLEN: u16 = nl_raw::IFLA_TXQLEN as u16;
/// `IFLA_OPERSTATE`.
pub const IFLA_OPERSTATE: u16 = nl_raw::IFLA_OPERSTATE as u16;
/// `IFA_ADDRESS`.
pub const IFA_ADDRESS: u16 = nl_raw::IFA_ADDRESS as u16;
/// `IFA_LOCAL`.
pub const IFA_LOCAL: u16 = nl_raw::IFA_LOCAL as u16;
/// `IFA_LABEL`.
pub const IFA_LABEL: u16 = nl_raw::IFA_LABEL as u16;
/// `IFA_BROADCAST`.
pub const IFA_BROADCAST: u16 = nl_raw::IFA_BROADCAST as u16;
/// `IFA_F_PERMANENT`.
pub const IFA_F_PERMANENT: u8 = nl_raw::IFA_F_PERMANENT as u8;
/// `RT_SCOPE_UNIVERSE`.
pub const RT_SCOPE_UNIVERSE: u8 = nl_raw::rt_scope_t::RT_SCOPE_UNIVERSE as u8;
/// `RT_SCOPE_LINK`.
pub const RT_SCOPE_LINK: u8 = nl_raw::rt_scope_t::RT_SCOPE_LINK as u8;
/// `RT_SCOPE_HOST`.
pub const RT_SCOPE_HOST: u8 = nl_raw::rt_scope_t::RT_SCOPE_HOST as u8;
/// `IFF_UP`.
pub const IFF_UP: u32 = raw::net_device_flags::IFF_UP as u32;
/// `IFF_BROADCAST`.
pub const IFF_BROADCAST: u32 = raw::net_device_flags::IFF_BROADCAST as u32;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = raw::net_device_flags::IFF_LOOPBACK as u32;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: u32 = raw::net_device_flags::IFF_RUNNING as u32;
/// `IFF_MULTICAST`.
pub const IFF_MULTICAST: u32 = raw::net_device_flags::IFF_MULTICAST as u32;
/// `IFF_LOWER_UP`.
pub const IFF_LOWER_UP: u32 = raw::net_device_flags::IFF_LOWER_UP as u32;
/// `IF_OPER_UP` (`IFLA_OPERSTATE`).
pub const IF_OPER_UP: u8 = raw::IF_OPER_UP as u8;
/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = linux_raw_sys::if_arp::ARPHRD_ETHER as u16;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = linux_raw_sys::if_arp::ARPHRD_LOOPBACK as u16;

/// Size of `struct sockaddr_storage`: the most any address can take.
pub const SOCKADDR_STORAGE_SIZE: usize = size_of::<raw::__kernel_sockaddr_storage>();
/// Size of `sun_path` in `struct sockaddr_un`.
pub const UNIX_PATH_MAX: usize = 108;
/// Offset of `sun_path` in `struct sockaddr_un` (after `sun_family`).
pub const SUN_PATH_OFFSET: usize = 2;

/// `struct sockaddr_in`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SockaddrIn {
    /// `AF_INET`.
    pub sin_family: u16,
    /// Port, network byte order.
    pub sin_port: [u8; 2],
    /// Address, network byte order.
    pub sin_addr: [u8; 4],
    /// Padding to the size of `struct sockaddr`.
    pub sin_zero: [u8; 8],
}

/// `struct sockaddr_in6`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SockaddrIn6 {
    /// `AF_INET6`.
    pub sin6_family: u16,
    /// Port, network byte order.
    pub sin6_port: [u8; 2],
    /// Flow information, network byte order.
    pub sin6_flowinfo: [u8; 4],
    /// Address, network byte order.
    pub sin6_addr: [u8; 16],
    /// Scope id (interface index), host byte order.
    pub sin6_scope_id: u32,
}

/// `struct sockaddr_nl`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SockaddrNl {
    /// `AF_NETLINK`.
    pub nl_family: u16,
    /// Zero.
    pub nl_pad: u16,
    /// Port id (0 is the kernel).
    pub nl_pid: u32,
    /// Multicast group mask.
    pub nl_groups: u32,
}

/// `struct user_msghdr`: what sendmsg(2) and recvmsg(2) point to.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MsgHdr {
    /// The peer address buffer (may be null).
    pub msg_name: u64,
    /// Its length (`int`).
    pub msg_namelen: i32,
    /// Padding.
    pub pad1: u32,
    /// The iovec array.
    pub msg_iov: u64,
    /// Entries in it.
    pub msg_iovlen: u64,
    /// Ancillary data buffer.
    pub msg_control: u64,
    /// Its length.
    pub msg_controllen: u64,
    /// Flags of the received message (recvmsg(2) output).
    pub msg_flags: u32,
    /// Padding.
    pub pad2: u32,
}

/// `struct mmsghdr`: one entry of sendmmsg(2)/recvmmsg(2).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MmsgHdr {
    /// The message.
    pub msg_hdr: MsgHdr,
    /// Bytes transferred (output).
    pub msg_len: u32,
    /// Padding.
    pub pad: u32,
}

/// `struct cmsghdr`: the header of one ancillary-data item.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CmsgHdr {
    /// Length of header and data (unaligned).
    pub cmsg_len: u64,
    /// Level (`SOL_SOCKET`).
    pub cmsg_level: i32,
    /// Type (`SCM_RIGHTS`...).
    pub cmsg_type: i32,
}

/// `CMSG_ALIGN`: ancillary data items are aligned to `size_t`.
pub const fn cmsg_align(len: usize) -> usize {
    (len + size_of::<u64>() - 1) & !(size_of::<u64>() - 1)
}

/// `struct ucred` (`SO_PEERCRED`, `SCM_CREDENTIALS`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Ucred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// `struct linger` (`SO_LINGER`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Linger {
    /// Whether lingering is on.
    pub l_onoff: i32,
    /// Seconds to linger.
    pub l_linger: i32,
}

/// `struct nlmsghdr`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct NlMsgHdr {
    /// Length including this header.
    pub nlmsg_len: u32,
    /// Message type (`RTM_*`, `NLMSG_*`).
    pub nlmsg_type: u16,
    /// `NLM_F_*`.
    pub nlmsg_flags: u16,
    /// Sequence number.
    pub nlmsg_seq: u32,
    /// Sender port id.
    pub nlmsg_pid: u32,
}

/// `NLMSG_ALIGN`: netlink messages and attributes are 4-byte aligned.
pub const fn nlmsg_align(len: usize) -> usize {
    let to = nl_raw::NLMSG_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// `struct ifinfomsg` (`RTM_NEWLINK` body).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct IfInfoMsg {
    /// `AF_UNSPEC`.
    pub ifi_family: u8,
    /// Padding.
    pub ifi_pad: u8,
    /// `ARPHRD_*`.
    pub ifi_type: u16,
    /// Interface index.
    pub ifi_index: i32,
    /// `IFF_*`.
    pub ifi_flags: u32,
    /// Change mask.
    pub ifi_change: u32,
}

/// `struct ifaddrmsg` (`RTM_NEWADDR` body).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct IfAddrMsg {
    /// `AF_INET` or `AF_INET6`.
    pub ifa_family: u8,
    /// Prefix length.
    pub ifa_prefixlen: u8,
    /// `IFA_F_*`.
    pub ifa_flags: u8,
    /// `RT_SCOPE_*`.
    pub ifa_scope: u8,
    /// Interface index.
    pub ifa_index: u32,
}

/// `struct rtattr`: the header of a route-netlink attribute.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RtAttr {
    /// Length including this header.
    pub rta_len: u16,
    /// `IFLA_*` / `IFA_*`.
    pub rta_type: u16,
}

const _: () = {
    use core::mem::offset_of;

    assert!(size_of::<SockaddrIn>() == size_of::<raw::sockaddr_in>());
    assert!(offset_of!(SockaddrIn, sin_port) == offset_of!(raw::sockaddr_in, sin_port));
    assert!(offset_of!(SockaddrIn, sin_addr) == offset_of!(raw::sockaddr_in, sin_addr));
    assert!(size_of::<SockaddrIn6>() == size_of::<raw::sockaddr_in6>());
    assert!(offset_of!(SockaddrIn6, sin6_port) == offset_of!(raw::sockaddr_in6, sin6_port));
    assert!(offset_of!(SockaddrIn6, sin6_flowinfo) == offset_of!(raw::sockaddr_in6, sin6_flowinfo));
    assert!(offset_of!(SockaddrIn6, sin6_addr) == offset_of!(raw::sockaddr_in6, sin6_addr));
    assert!(offset_of!(SockaddrIn6, sin6_scope_id) == offset_of!(raw::sockaddr_in6, sin6_scope_id));
    assert!(size_of::<raw::sockaddr_un>() == SUN_PATH_OFFSET + UNIX_PATH_MAX);
    assert!(offset_of!(raw::sockaddr_un, sun_path) == SUN_PATH_OFFSET);
    assert!(SOCKADDR_STORAGE_SIZE == 128);
    assert!(size_of::<SockaddrNl>() == size_of::<nl_raw::sockaddr_nl>());
    assert!(offset_of!(SockaddrNl, nl_pid) == offset_of!(nl_raw::sockaddr_nl, nl_pid));
    assert!(offset_of!(SockaddrNl, nl_groups) == offset_of!(nl_raw::sockaddr_nl, nl_groups));

    assert!(size_of::<MsgHdr>() == size_of::<raw::msghdr>());
    assert!(offset_of!(MsgHdr, msg_name) == offset_of!(raw::msghdr, msg_name));
    assert!(offset_of!(MsgHdr, msg_namelen) == offset_of!(raw::msghdr, msg_namelen));
    assert!(offset_of!(MsgHdr, msg_iov) == offset_of!(raw::msghdr, msg_iov));
    assert!(offset_of!(MsgHdr, msg_iovlen) == offset_of!(raw::msghdr, msg_iovlen));
    assert!(offset_of!(MsgHdr, msg_control) == offset_of!(raw::msghdr, msg_control));
    assert!(offset_of!(MsgHdr, msg_controllen) == offset_of!(raw::msghdr, msg_controllen));
    assert!(offset_of!(MsgHdr, msg_flags) == offset_of!(raw::msghdr, msg_flags));
    assert!(size_of::<MmsgHdr>() == size_of::<raw::mmsghdr>());
    assert!(offset_of!(MmsgHdr, msg_len) == offset_of!(raw::mmsghdr, msg_len));
    assert!(size_of::<CmsgHdr>() == size_of::<raw::cmsghdr>());
    assert!(offset_of!(CmsgHdr, cmsg_level) == offset_of!(raw::cmsghdr, cmsg_level));
    assert!(offset_of!(CmsgHdr, cmsg_type) == offset_of!(raw::cmsghdr, cmsg_type));
    assert!(size_of::<Ucred>() == size_of::<raw::ucred>());
    assert!(offset_of!(Ucred, uid) == offset_of!(raw::ucred, uid));
    assert!(offset_of!(Ucred, gid) == offset_of!(raw::ucred, gid));
    assert!(size_of::<Linger>() == size_of::<raw::linger>());
    assert!(offset_of!(Linger, l_linger) == offset_of!(raw::linger, l_linger));

    assert!(size_of::<NlMsgHdr>() == size_of::<nl_raw::nlmsghdr>());
    assert!(offset_of!(NlMsgHdr, nlmsg_type) == offset_of!(nl_raw::nlmsghdr, nlmsg_type));
    assert!(offset_of!(NlMsgHdr, nlmsg_flags) == offset_of!(nl_raw::nlmsghdr, nlmsg_flags));
    assert!(offset_of!(NlMsgHdr, nlmsg_seq) == offset_of!(nl_raw::nlmsghdr, nlmsg_seq));
    assert!(offset_of!(NlMsgHdr, nlmsg_pid) == offset_of!(nl_raw::nlmsghdr, nlmsg_pid));
    assert!(size_of::<IfInfoMsg>() == size_of::<nl_raw::ifinfomsg>());
    assert!(offset_of!(IfInfoMsg, ifi_type) == offset_of!(nl_raw::ifinfomsg, ifi_type));
    assert!(offset_of!(IfInfoMsg, ifi_index) == offset_of!(nl_raw::ifinfomsg, ifi_index));
    assert!(offset_of!(IfInfoMsg, ifi_flags) == offset_of!(nl_raw::ifinfomsg, ifi_flags));
    assert!(offset_of!(IfInfoMsg, ifi_change) == offset_of!(nl_raw::ifinfomsg, ifi_change));
    assert!(size_of::<IfAddrMsg>() == size_of::<nl_raw::ifaddrmsg>());
    assert!(offset_of!(IfAddrMsg, ifa_scope) == offset_of!(nl_raw::ifaddrmsg, ifa_scope));
    assert!(offset_of!(IfAddrMsg, ifa_index) == offset_of!(nl_raw::ifaddrmsg, ifa_index));
    assert!(size_of::<RtAttr>() == size_of::<nl_raw::rtattr>());
    assert!(offset_of!(RtAttr, rta_type) == offset_of!(nl_raw::rtattr, rta_type));
};
