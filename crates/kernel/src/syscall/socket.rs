//! The socket system calls: each goes to its handler in `oxv_net::syscalls` with the calling
//! process's files, file-system context and credentials; a send that fails with `EPIPE`
//! without `MSG_NOSIGNAL` also raises `SIGPIPE`, as Linux's `sk_stream_error` does.

use crate::arch::usercopy::CurrentUserMemory;
use crate::process::Process;
use oxv_abi::linux::net::Ucred;
use oxv_abi::{Errno, SysResult, Syscall};
use oxv_net::syscalls::{self as net, SocketCx, msg};

/// Runs socket call `call` for process `p`.
pub fn dispatch(call: &Syscall, p: &Process, mem: &mut CurrentUserMemory) -> SysResult {
    let cx = SocketCx {
        net: crate::net::net(),
        files: &p.files,
        fs: &p.fs,
        cred: Ucred {
            pid: p.pid,
            uid: 0,
            gid: 0,
        },
    };
    use Syscall as S;
    let (r, send_flags) = match *call {
        S::Socket {
            domain,
            type_,
            protocol,
        } => (net::socket(&cx, domain, type_, protocol), None),
        S::Socketpair {
            domain,
            type_,
            protocol,
            sv,
        } => (net::socketpair(&cx, mem, domain, type_, protocol, sv), None),
        S::Bind {
            sockfd,
            addr,
            addrlen,
        } => (net::bind(&cx, mem, sockfd, addr, addrlen), None),
        S::Listen { sockfd, backlog } => (net::listen(&cx, sockfd, backlog), None),
        S::Accept {
            sockfd,
            addr,
            addrlen,
        } => (net::accept4(&cx, mem, sockfd, addr, addrlen, 0), None),
        S::Accept4 {
            sockfd,
            addr,
            addrlen,
            flags,
        } => (net::accept4(&cx, mem, sockfd, addr, addrlen, flags), None),
        S::Connect {
            sockfd,
            addr,
            addrlen,
        } => (net::connect(&cx, mem, sockfd, addr, addrlen), None),
        S::Sendto {
            sockfd,
            buf,
            flags,
            dest_addr,
            addrlen,
        } => (
            net::sendto(&cx, mem, sockfd, buf, flags, dest_addr, addrlen),
            Some(flags),
        ),
        S::Recvfrom {
            sockfd,
            buf,
            flags,
            src_addr,
            addrlen,
        } => (
            net::recvfrom(&cx, mem, sockfd, buf, flags, src_addr, addrlen),
            None,
        ),
        S::Sendmsg { sockfd, msg, flags } => {
            (msg::sendmsg(&cx, mem, sockfd, msg, flags), Some(flags))
        }
        S::Recvmsg { sockfd, msg, flags } => (msg::recvmsg(&cx, mem, sockfd, msg, flags), None),
        S::Sendmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
        } => (
            msg::sendmmsg(&cx, mem, sockfd, msgvec, vlen, flags),
            Some(flags),
        ),
        S::Recvmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
            timeout,
        } => (
            msg::recvmmsg(&cx, mem, sockfd, msgvec, vlen, flags, timeout),
            None,
        ),
        S::Shutdown { sockfd, how } => (net::shutdown(&cx, sockfd, how), None),
        S::Getsockname {
            sockfd,
            addr,
            addrlen,
        } => (net::getsockname(&cx, mem, sockfd, addr, addrlen), None),
        S::Getpeername {
            sockfd,
            addr,
            addrlen,
        } => (net::getpeername(&cx, mem, sockfd, addr, addrlen), None),
        S::Setsockopt {
            sockfd,
            level,
            optname,
            optval,
            optlen,
        } => (
            net::setsockopt(&cx, mem, sockfd, level, optname, optval, optlen),
            None,
        ),
        S::Getsockopt {
            sockfd,
            level,
            optname,
            optval,
            optlen,
        } => (
            net::getsockopt(&cx, mem, sockfd, level, optname, optval, optlen),
            None,
        ),
        _ => (Err(Errno::ENOSYS), None),
    };
    if send_flags.is_some_and(|f| net::raises_sigpipe(&r, f)) {
        crate::signal::raise_on_caller(oxv_abi::linux::signal::Signal::SIGPIPE);
    }
    r
}
