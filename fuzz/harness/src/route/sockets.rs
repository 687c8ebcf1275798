//! The socket calls (oxv-net), routed as `crates/kernel/src/syscall/socket.rs` routes them:
//! each to its handler in `oxv_net::syscalls` with the process's files, file-system context
//! and credentials. The network is the world's: the loopback stack on the harness's clock and
//! the `AF_UNIX` namespace (no NIC). `SIGPIPE` is the kernel's business and not raised here.

use crate::world::{PID, Process};
use oxv_abi::linux::net::Ucred;
use oxv_abi::{SysResult, Syscall, UserMemory};
use oxv_net::syscalls::{self as net, SocketCx, msg};

/// Routes `call` if it is a socket call; `None` otherwise.
#[allow(clippy::too_many_lines)]
pub(super) fn route(p: &Process, mem: &mut dyn UserMemory, call: &Syscall) -> Option<SysResult> {
    let cx = SocketCx {
        net: &p.net,
        files: &p.files,
        fs: &p.cx,
        cred: Ucred {
            pid: PID,
            uid: 0,
            gid: 0,
        },
    };
    use Syscall as S;
    Some(match *call {
        S::Socket {
            domain,
            type_,
            protocol,
        } => net::socket(&cx, domain, type_, protocol),
        S::Socketpair {
            domain,
            type_,
            protocol,
            sv,
        } => net::socketpair(&cx, mem, domain, type_, protocol, sv),
        S::Bind {
            sockfd,
            addr,
            addrlen,
        } => net::bind(&cx, mem, sockfd, addr, addrlen),
        S::Listen { sockfd, backlog } => net::listen(&cx, sockfd, backlog),
        S::Accept {
            sockfd,
            addr,
            addrlen,
        } => net::accept4(&cx, mem, sockfd, addr, addrlen, 0),
        S::Accept4 {
            sockfd,
            addr,
            addrlen,
            flags,
        } => net::accept4(&cx, mem, sockfd, addr, addrlen, flags),
        S::Connect {
            sockfd,
            addr,
            addrlen,
        } => net::connect(&cx, mem, sockfd, addr, addrlen),
        S::Sendto {
            sockfd,
            buf,
            flags,
            dest_addr,
            addrlen,
        } => net::sendto(&cx, mem, sockfd, buf, flags, dest_addr, addrlen),
        S::Recvfrom {
            sockfd,
            buf,
            flags,
            src_addr,
            addrlen,
        } => net::recvfrom(&cx, mem, sockfd, buf, flags, src_addr, addrlen),
        S::Sendmsg { sockfd, msg, flags } => msg::sendmsg(&cx, mem, sockfd, msg, flags),
        S::Recvmsg { sockfd, msg, flags } => msg::recvmsg(&cx, mem, sockfd, msg, flags),
        S::Sendmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
        } => msg::sendmmsg(&cx, mem, sockfd, msgvec, vlen, flags),
        S::Recvmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
            timeout,
        } => msg::recvmmsg(&cx, mem, sockfd, msgvec, vlen, flags, timeout),
        S::Shutdown { sockfd, how } => net::shutdown(&cx, sockfd, how),
        S::Getsockname {
            sockfd,
            addr,
            addrlen,
        } => net::getsockname(&cx, mem, sockfd, addr, addrlen),
        S::Getpeername {
            sockfd,
            addr,
            addrlen,
        } => net::getpeername(&cx, mem, sockfd, addr, addrlen),
        S::Setsockopt {
            sockfd,
            level,
            optname,
            optval,
            optlen,
        } => net::setsockopt(&cx, mem, sockfd, level, optname, optval, optlen),
        S::Getsockopt {
            sockfd,
            level,
            optname,
            optval,
            optlen,
        } => net::getsockopt(&cx, mem, sockfd, level, optname, optval, optlen),
        _ => return None,
    })
}
