//! Hand-written seeds for the readiness, event-file and socket calls: epoll (nested, edge
//! triggered, with masks), select/pselect6, memfds with seals, sendfile/splice/tee/vmsplice,
//! flock and record locks, timerfds that expire as the clock moves, signalfds; socket pairs
//! passing fds, TCP and UDP over the loopback (IPv4 and IPv6), `AF_UNIX` by path and abstract
//! name, netlink.
//!
//! The world is deterministic, so the fds these calls create are known in advance (0-2 are
//! the terminal): the comments give them.

use super::{at_fdcwd, call, path, r, s, v};
use crate::input::{Access, Op, SCRATCH_BASE};
use linux_raw_sys::general as g;
use oxv_abi::Sysno;
use oxv_abi::linux::net as n;

fn bytes(words: &[&[u8]]) -> Vec<u8> {
    words.concat()
}

fn poke(off: u16, b: Vec<u8>) -> Op {
    Op::Poke { off, bytes: b }
}

/// `struct epoll_event` (packed: 12 bytes).
fn epoll_event(events: u32, data: u64) -> Vec<u8> {
    bytes(&[&events.to_le_bytes(), &data.to_le_bytes()])
}

/// Two `i64`s: a timespec, a timeval, an `{ sigset_t *, size_t }` pack.
fn pair(a: u64, b: u64) -> Vec<u8> {
    bytes(&[&a.to_le_bytes(), &b.to_le_bytes()])
}

/// `struct msghdr` with one iovec at `iov` and a control buffer at `control`.
fn msghdr(name: u64, namelen: u32, iov: u64, control: u64, controllen: u64) -> Vec<u8> {
    bytes(&[
        &name.to_le_bytes(),
        &namelen.to_le_bytes(),
        &0u32.to_le_bytes(),
        &iov.to_le_bytes(),
        &1u64.to_le_bytes(),
        &control.to_le_bytes(),
        &controllen.to_le_bytes(),
        &0u64.to_le_bytes(),
    ])
}

/// `struct sockaddr_in` for 127.0.0.1:`port`.
fn sockaddr_in(port: u16) -> Vec<u8> {
    bytes(&[
        &(n::AF_INET as u16).to_le_bytes(),
        &port.to_be_bytes(),
        &[127, 0, 0, 1],
        &[0; 8],
    ])
}

/// `struct sockaddr_in6` for [::1]:`port`.
fn sockaddr_in6(port: u16) -> Vec<u8> {
    let mut lo = [0u8; 16];
    lo[15] = 1;
    bytes(&[
        &(n::AF_INET6 as u16).to_le_bytes(),
        &port.to_be_bytes(),
        &0u32.to_le_bytes(),
        &lo,
        &0u32.to_le_bytes(),
    ])
}

/// `struct sockaddr_un` with `name` (a path, or an abstract name starting with NUL).
fn sockaddr_un(name: &[u8]) -> Vec<u8> {
    bytes(&[&(n::AF_UNIX as u16).to_le_bytes(), name])
}

const fn a(off: u64) -> u64 {
    SCRATCH_BASE + off
}

/// epoll, select/pselect6, memfd, sendfile/splice/tee, locks, timerfd, signalfd.
#[allow(clippy::too_many_lines)]
pub fn events_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    let ino = g::EPOLLIN | g::EPOLLET;
    let mut itimer = pair(0, 1_000_000);
    itimer.extend(pair(0, 1_000_000));
    let mut abs = pair(0, 0);
    abs.extend(pair(1_700_000_100, 0));
    let usr1 = 1u64 << (g::SIGUSR1 - 1) | 1u64 << (g::SIGKILL - 1);
    let flock = bytes(&[
        &(g::F_WRLCK as i16).to_le_bytes(),
        &0i16.to_le_bytes(),
        &0u32.to_le_bytes(),
        &0i64.to_le_bytes(),
        &10i64.to_le_bytes(),
        &0i32.to_le_bytes(),
        &0u32.to_le_bytes(),
    ]);
    let nonblock = oxv_vfs::syscalls::splice::SPLICE_F_NONBLOCK as u64;
    vec![
        call(Sysno::epoll_create1, &[o(g::EPOLL_CLOEXEC)]), // 3
        call(Sysno::pipe2, &[s(0x100), o(g::O_NONBLOCK)]),  // 4, 5
        poke(0x200, epoll_event(ino, 0x1234)),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_ADD), v(4), s(0x200)],
        ),
        poke(0x210, epoll_event(g::EPOLLOUT, 5)),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_ADD), v(5), s(0x210)],
        ),
        call(Sysno::epoll_wait, &[v(3), s(0x300), v(8), v(0)]),
        call(Sysno::write, &[v(5), s(0x80), v(16)]),
        poke(0x400, 1u64.to_le_bytes().to_vec()),
        call(
            Sysno::epoll_pwait,
            &[v(3), s(0x300), v(8), v(10), s(0x400), v(8)],
        ),
        poke(0x420, pair(0, 1_000_000)),
        call(
            Sysno::epoll_pwait2,
            &[v(3), s(0x300), v(1), s(0x420), v(0), v(0)],
        ),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_MOD), v(4), s(0x210)],
        ),
        call(Sysno::epoll_ctl, &[v(3), o(g::EPOLL_CTL_DEL), v(5), v(0)]),
        call(Sysno::epoll_create, &[v(1)]), // 6
        call(
            Sysno::epoll_ctl,
            &[v(6), o(g::EPOLL_CTL_ADD), v(3), s(0x200)],
        ),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_ADD), v(6), s(0x200)],
        ),
        call(Sysno::epoll_wait, &[v(6), s(0x300), v(4), v(0)]),
        poke(0x500, pair(0x30, 0x20)),
        poke(0x510, pair(0, 1000)),
        call(Sysno::select, &[v(6), s(0x500), s(0x508), v(0), s(0x510)]),
        poke(0x530, pair(a(0x400), 8)),
        call(
            Sysno::pselect6,
            &[v(6), s(0x500), v(0), v(0), s(0x420), s(0x530)],
        ),
        path(0x600, b"fuzz"),
        call(Sysno::memfd_create, &[s(0x600), o(g::MFD_ALLOW_SEALING)]), // 7
        call(Sysno::write, &[v(7), s(0x80), v(100)]),
        call(
            Sysno::fcntl,
            &[
                v(7),
                o(g::F_ADD_SEALS),
                o(g::F_SEAL_SHRINK | g::F_SEAL_GROW),
            ],
        ),
        call(Sysno::ftruncate, &[v(7), v(10)]),
        call(
            Sysno::mmap,
            &[
                v(0),
                v(4096),
                v(g::PROT_READ as u64),
                v(g::MAP_PRIVATE as u64),
                v(7),
                v(0),
            ],
        ),
        Op::Touch {
            addr: r(0),
            access: Access::Read,
        },
        poke(0x700, pair(0, 0)),
        poke(0x710, pair(0, 0)),
        call(Sysno::sendfile, &[v(5), v(7), s(0x700), v(50)]),
        path(0x620, b"/tmp/ev"),
        call(
            Sysno::openat,
            &[at_fdcwd(), s(0x620), o(g::O_RDWR | g::O_CREAT), v(0o644)],
        ), // 8
        call(Sysno::splice, &[v(4), v(0), v(8), s(0x708), v(30), v(0)]),
        call(Sysno::pipe, &[s(0x110)]), // 9, 10
        call(Sysno::write, &[v(5), s(0x80), v(20)]),
        call(Sysno::tee, &[v(4), v(10), v(20), v(nonblock)]),
        poke(0x720, pair(a(0x80), 16)),
        call(Sysno::vmsplice, &[v(10), s(0x720), v(1), v(nonblock)]),
        call(Sysno::vmsplice, &[v(9), s(0x720), v(1), v(nonblock)]),
        call(
            Sysno::splice,
            &[v(8), s(0x710), v(10), v(0), v(10), v(nonblock)],
        ),
        call(Sysno::sendfile, &[v(10), v(8), v(0), v(1 << 20)]),
        call(Sysno::flock, &[v(8), o(g::LOCK_EX | g::LOCK_NB)]),
        call(Sysno::openat, &[at_fdcwd(), s(0x620), o(g::O_RDWR), v(0)]), // 11
        call(Sysno::flock, &[v(11), o(g::LOCK_SH | g::LOCK_NB)]),
        poke(0x800, flock),
        call(Sysno::fcntl, &[v(8), o(g::F_SETLK), s(0x800)]),
        call(Sysno::fcntl, &[v(11), o(g::F_OFD_SETLK), s(0x800)]),
        call(Sysno::fcntl, &[v(8), o(g::F_OFD_GETLK), s(0x800)]),
        call(Sysno::fcntl, &[v(11), o(g::F_OFD_SETLKW), s(0x800)]),
        call(Sysno::flock, &[v(8), o(g::LOCK_UN)]),
        call(
            Sysno::timerfd_create,
            &[o(g::CLOCK_MONOTONIC), o(g::TFD_NONBLOCK)],
        ), // 12
        poke(0x900, itimer),
        call(Sysno::timerfd_settime, &[v(12), v(0), s(0x900), s(0x920)]),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_ADD), v(12), s(0x200)],
        ),
        call(Sysno::timerfd_gettime, &[v(12), s(0x940)]),
        call(Sysno::read, &[v(12), s(0x960), v(8)]),
        call(Sysno::epoll_wait, &[v(3), s(0x300), v(8), v(5)]),
        call(
            Sysno::timerfd_settime,
            &[v(12), o(g::TFD_TIMER_ABSTIME), s(0x900), v(0)],
        ),
        call(Sysno::timerfd_create, &[o(g::CLOCK_REALTIME), v(0)]), // 13
        poke(0x980, abs),
        call(
            Sysno::timerfd_settime,
            &[v(13), o(g::TFD_TIMER_ABSTIME), s(0x980), v(0)],
        ),
        call(Sysno::read, &[v(13), s(0x960), v(8)]),
        poke(0xa00, usr1.to_le_bytes().to_vec()),
        call(Sysno::signalfd, &[v(u64::MAX), s(0xa00), v(8)]), // 14
        call(Sysno::read, &[v(14), s(0xb00), v(128)]),
        call(Sysno::signalfd4, &[v(14), s(0xa00), v(8), v(0)]),
        call(
            Sysno::signalfd4,
            &[
                v(u64::MAX),
                s(0xa00),
                v(8),
                v((oxv_vfs::signalfd::SFD_NONBLOCK | oxv_vfs::signalfd::SFD_CLOEXEC) as u64),
            ],
        ), // 15
        call(Sysno::read, &[v(15), s(0xb00), v(128)]),
        call(
            Sysno::epoll_ctl,
            &[v(3), o(g::EPOLL_CTL_ADD), v(15), s(0x200)],
        ),
        call(Sysno::close, &[v(3)]),
        call(Sysno::epoll_wait, &[v(6), s(0x300), v(8), v(0)]),
    ]
}

/// Sockets: a pair passing an fd, TCP over 127.0.0.1, UDP over ::1 with the batch calls,
/// `AF_UNIX` by path and by abstract name, netlink, epoll on a listener.
#[allow(clippy::too_many_lines)]
pub fn socket_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    let unix = n::AF_UNIX as u64;
    let cmsg = bytes(&[
        &20u64.to_le_bytes(),
        &(n::SOL_SOCKET as i32).to_le_bytes(),
        &(n::SCM_RIGHTS as i32).to_le_bytes(),
        &5i32.to_le_bytes(),
        &0i32.to_le_bytes(),
    ]);
    let mut mmsg = msghdr(0, 0, a(0x780), 0, 0);
    mmsg.extend(0u64.to_le_bytes());
    mmsg.extend(msghdr(0, 0, a(0x790), 0, 0));
    mmsg.extend(0u64.to_le_bytes());
    let mut iovs = pair(a(0x80), 8);
    iovs.extend(pair(a(0x88), 8));
    vec![
        call(
            Sysno::socketpair,
            &[v(unix), o(n::SOCK_STREAM), v(0), s(0x100)],
        ), // 3, 4
        call(Sysno::write, &[v(3), s(0x80), v(10)]),
        call(
            Sysno::recvfrom,
            &[v(4), s(0x1000), v(64), o(n::MSG_PEEK), v(0), v(0)],
        ),
        call(Sysno::read, &[v(4), s(0x1000), v(64)]),
        path(0x40, b"/data/small"),
        call(Sysno::openat, &[at_fdcwd(), s(0x40), o(g::O_RDONLY), v(0)]), // 5
        poke(0x200, msghdr(0, 0, a(0x280), a(0x2c0), 24)),
        poke(0x280, pair(a(0x80), 5)),
        poke(0x2c0, cmsg),
        call(Sysno::sendmsg, &[v(3), s(0x200), v(0)]),
        poke(0x300, msghdr(0, 0, a(0x380), a(0x3c0), 64)),
        poke(0x380, pair(a(0x1000), 64)),
        call(Sysno::recvmsg, &[v(4), s(0x300), o(n::MSG_CMSG_CLOEXEC)]), // 6
        call(Sysno::socket, &[o(n::AF_INET), o(n::SOCK_STREAM), v(0)]),  // 7
        poke(0x400, sockaddr_in(8080)),
        poke(0x480, 1u32.to_le_bytes().to_vec()),
        call(
            Sysno::setsockopt,
            &[v(7), o(n::SOL_SOCKET), o(n::SO_REUSEADDR), s(0x480), v(4)],
        ),
        call(Sysno::bind, &[v(7), s(0x400), v(16)]),
        call(Sysno::listen, &[v(7), v(4)]),
        call(
            Sysno::socket,
            &[
                o(n::AF_INET),
                o(n::SOCK_STREAM | n::SOCK_NONBLOCK),
                o(n::IPPROTO_TCP),
            ],
        ), // 8
        call(Sysno::connect, &[v(8), s(0x400), v(16)]),
        poke(0x540, 16u32.to_le_bytes().to_vec()),
        call(
            Sysno::accept4,
            &[v(7), s(0x500), s(0x540), o(n::SOCK_CLOEXEC)],
        ), // 9
        call(
            Sysno::sendto,
            &[v(8), s(0x80), v(32), o(n::MSG_NOSIGNAL), v(0), v(0)],
        ),
        call(
            Sysno::recvfrom,
            &[v(9), s(0x1000), v(64), o(n::MSG_DONTWAIT), v(0), v(0)],
        ),
        call(Sysno::getsockname, &[v(8), s(0x500), s(0x540)]),
        call(Sysno::getpeername, &[v(9), s(0x500), s(0x540)]),
        call(
            Sysno::setsockopt,
            &[v(8), o(n::IPPROTO_TCP), o(n::TCP_NODELAY), s(0x480), v(4)],
        ),
        call(
            Sysno::getsockopt,
            &[v(9), o(n::SOL_SOCKET), o(n::SO_ERROR), s(0x560), s(0x540)],
        ),
        call(Sysno::shutdown, &[v(8), o(n::SHUT_WR)]),
        call(Sysno::recvfrom, &[v(9), s(0x1000), v(64), v(0), v(0), v(0)]),
        call(Sysno::close, &[v(9)]),
        call(
            Sysno::sendto,
            &[v(8), s(0x80), v(4), o(n::MSG_NOSIGNAL), v(0), v(0)],
        ),
        call(Sysno::socket, &[o(n::AF_INET6), o(n::SOCK_DGRAM), v(0)]), // 9
        poke(0x600, sockaddr_in6(9000)),
        call(Sysno::bind, &[v(9), s(0x600), v(28)]),
        call(Sysno::socket, &[o(n::AF_INET6), o(n::SOCK_DGRAM), v(0)]), // 10
        call(
            Sysno::sendto,
            &[v(10), s(0x80), v(8), v(0), s(0x600), v(28)],
        ),
        call(Sysno::connect, &[v(10), s(0x600), v(28)]),
        poke(0x700, mmsg),
        poke(0x780, iovs),
        call(Sysno::sendmmsg, &[v(10), s(0x700), v(2), v(0)]),
        call(
            Sysno::recvmmsg,
            &[v(9), s(0x700), v(2), o(n::MSG_DONTWAIT), v(0)],
        ),
        poke(0x800, sockaddr_un(b"/tmp/sock\0")),
        call(Sysno::socket, &[v(unix), o(n::SOCK_SEQPACKET), v(0)]), // 11
        call(Sysno::bind, &[v(11), s(0x800), v(12)]),
        call(Sysno::listen, &[v(11), v(1)]),
        call(
            Sysno::socket,
            &[v(unix), o(n::SOCK_SEQPACKET | n::SOCK_NONBLOCK), v(0)],
        ), // 12
        call(Sysno::connect, &[v(12), s(0x800), v(12)]),
        call(Sysno::accept, &[v(11), v(0), v(0)]), // 13
        call(Sysno::write, &[v(12), s(0x80), v(7)]),
        call(Sysno::read, &[v(13), s(0x1000), v(3)]),
        poke(0x880, sockaddr_un(b"\0fuzz")),
        call(Sysno::socket, &[v(unix), o(n::SOCK_DGRAM), v(0)]), // 14
        call(Sysno::bind, &[v(14), s(0x880), v(7)]),
        call(Sysno::socket, &[v(unix), o(n::SOCK_DGRAM), v(0)]), // 15
        call(Sysno::sendto, &[v(15), s(0x80), v(4), v(0), s(0x880), v(7)]),
        call(
            Sysno::recvfrom,
            &[v(14), s(0x1000), v(64), v(0), s(0x900), s(0x540)],
        ),
        call(Sysno::epoll_create1, &[v(0)]), // 16
        poke(0x980, epoll_event(g::EPOLLIN, 7)),
        call(
            Sysno::epoll_ctl,
            &[v(16), o(g::EPOLL_CTL_ADD), v(7), s(0x980)],
        ),
        call(Sysno::socket, &[o(n::AF_INET), o(n::SOCK_STREAM), v(0)]), // 17
        call(Sysno::connect, &[v(17), s(0x400), v(16)]),
        call(Sysno::epoll_wait, &[v(16), s(0xa00), v(4), v(0)]),
        call(
            Sysno::socket,
            &[o(n::AF_NETLINK), o(n::SOCK_RAW), o(n::NETLINK_ROUTE)],
        ), // 18
        call(
            Sysno::getsockopt,
            &[
                v(7),
                o(n::SOL_SOCKET),
                o(n::SO_ACCEPTCONN),
                s(0x560),
                s(0x540),
            ],
        ),
        call(Sysno::close_range, &[v(3), v(u32::MAX as u64), v(0)]),
    ]
}
