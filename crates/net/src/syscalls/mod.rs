//! The socket system calls, one handler each, taking the arguments `oxv_abi::Syscall`
//! decodes. The kernel only routes to them (and raises `SIGPIPE` when
//! [`raises_sigpipe`] says so).
//!
//! Error order follows Linux's `net/socket.c`: flags first where Linux checks them first
//! (socket(2)'s type flags, accept4(2)'s flags), then the fd (`EBADF`, then `ENOTSOCK`), then
//! the address (`EINVAL` for a bad length, `EFAULT`), then the protocol's own checks. An
//! address written back follows `move_addr_to_user` (see [`crate::addr::copy_out`]).
//! sendmsg(2)/recvmsg(2) and their batch forms are in [`msg`].

pub mod msg;

use crate::Net;
use crate::addr::{self, RawAddr};
use crate::io::IoVecs;
use crate::socket::{Caller, Outgoing, SocketFile, SocketOps};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{Iovec, UIO_MAXIOV};
use oxv_abi::linux::net::{self as n, Ucred};
use oxv_abi::{Errno, SysResult, UserAddr, UserBuf, UserMemory, UserPtr};
use oxv_vfs::{FdTable, FsContext, OpenFile};
use zerocopy::IntoBytes;

/// What a socket call needs of the process.
pub struct SocketCx<'a> {
    /// The network.
    pub net: &'a Net,
    /// The fd table.
    pub files: &'a FdTable,
    /// Root, cwd, umask (AF_UNIX paths).
    pub fs: &'a FsContext,
    /// The caller's pid, uid and gid.
    pub cred: Ucred,
}

impl SocketCx<'_> {
    fn caller(&self) -> Caller<'_> {
        Caller {
            fs: Some(self.fs),
            cred: self.cred,
        }
    }
}

/// Whether a send-family call's result means Linux also sent `SIGPIPE`: `EPIPE` without
/// `MSG_NOSIGNAL`. (write(2) on a socket is covered by the VFS rule for pipes.)
pub fn raises_sigpipe(result: &SysResult, flags: u32) -> bool {
    *result == Err(Errno::EPIPE) && flags & n::MSG_NOSIGNAL == 0
}

/// The socket behind `fd`: `EBADF` if not open (or `O_PATH`), `ENOTSOCK` if not a socket.
pub fn socket_of(files: &FdTable, fd: i32) -> Result<(Arc<OpenFile>, Arc<dyn SocketOps>), Errno> {
    let file = files.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let sock = SocketFile::of(&file)?.clone();
    Ok((file, sock))
}

fn split_type(type_: i32) -> Result<(i32, bool, bool), Errno> {
    let t = type_ as u32;
    let flags = t & !n::SOCK_TYPE_MASK;
    if flags & !(n::SOCK_NONBLOCK | n::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((
        (t & n::SOCK_TYPE_MASK) as i32,
        flags & n::SOCK_NONBLOCK != 0,
        flags & n::SOCK_CLOEXEC != 0,
    ))
}

fn install(
    cx: &SocketCx<'_>,
    sock: Arc<dyn SocketOps>,
    nonblocking: bool,
    cloexec: bool,
) -> Result<i32, Errno> {
    let file = SocketFile::open(
        sock,
        cx.net.stack(),
        nonblocking,
        cx.fs.vfs().now(),
        cx.net.next_ino(),
    );
    cx.files.insert(file, cloexec)
}

/// socket(2).
pub fn socket(cx: &SocketCx<'_>, domain: i32, type_: i32, protocol: i32) -> SysResult {
    let (ty, nonblocking, cloexec) = split_type(type_)?;
    let sock = cx.net.socket(domain, ty, protocol, cx.cred)?;
    Ok(install(cx, sock, nonblocking, cloexec)? as usize)
}

/// socketpair(2).
pub fn socketpair(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    domain: i32,
    type_: i32,
    protocol: i32,
    sv: UserPtr<[i32; 2]>,
) -> SysResult {
    let (ty, nonblocking, cloexec) = split_type(type_)?;
    let (a, b) = cx.net.socketpair(domain, ty, protocol, cx.cred)?;
    let fa = install(cx, a, nonblocking, cloexec)?;
    let fb = match install(cx, b, nonblocking, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = cx.files.remove(fa);
            return Err(e);
        }
    };
    if let Err(e) = sv.write(mem, &[fa, fb]) {
        let _ = cx.files.remove(fa);
        let _ = cx.files.remove(fb);
        return Err(e.into());
    }
    Ok(0)
}

/// bind(2).
pub fn bind(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    fd: i32,
    addr: UserAddr,
    addrlen: i32,
) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let raw = RawAddr::copy_in(mem, addr, addrlen)?;
    let a = match sock.family() {
        n::AF_INET | n::AF_INET6 => {
            addr::SockAddr::parse_inet_bind(&raw, sock.family() == n::AF_INET6)?
        }
        _ => sock.parse_addr(&raw)?,
    };
    sock.bind(&cx.caller(), a)?;
    Ok(0)
}

/// listen(2).
pub fn listen(cx: &SocketCx<'_>, fd: i32, backlog: i32) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    sock.listen(&cx.caller(), backlog)?;
    Ok(0)
}

/// accept4(2) (accept(2) is `flags` 0).
pub fn accept4(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    addr: UserAddr,
    addrlen: UserPtr<i32>,
    flags: i32,
) -> SysResult {
    let flags = flags as u32;
    if flags & !(n::SOCK_NONBLOCK | n::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (file, sock) = socket_of(cx.files, fd)?;
    if !cx.files.has_free_fd() {
        return Err(Errno::EMFILE);
    }
    let wait = SocketFile::recv_wait(&*sock, file.is_nonblocking());
    let (child, peer) = sock.accept(wait)?;
    addr::copy_out(mem, addr, addrlen, &peer)?;
    Ok(install(
        cx,
        child,
        flags & n::SOCK_NONBLOCK != 0,
        flags & n::SOCK_CLOEXEC != 0,
    )? as usize)
}

/// connect(2).
pub fn connect(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    fd: i32,
    addr: UserAddr,
    addrlen: i32,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    let raw = RawAddr::copy_in(mem, addr, addrlen)?;
    let a = sock.parse_addr(&raw)?;
    let wait = SocketFile::send_wait(&*sock, file.is_nonblocking());
    sock.connect(&cx.caller(), a, wait)?;
    Ok(0)
}

/// sendto(2) (send(2) is sendto with no address).
pub fn sendto(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    fd: i32,
    buf: UserBuf,
    flags: u32,
    dest: UserAddr,
    addrlen: i32,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    // Linux copies a zero-length address as none; only UDP then refuses the empty name.
    let udp =
        sock.sock_type() == n::SOCK_DGRAM && matches!(sock.family(), n::AF_INET | n::AF_INET6);
    let to = if dest.is_null() || (addrlen == 0 && !udp) {
        None
    } else {
        let raw = RawAddr::copy_in(mem, dest, addrlen)?;
        Some(sock.parse_addr(&raw)?)
    };
    let iov = IoVecs::single(buf);
    let data = crate::io::IovSource { mem, iov: &iov };
    let nonblocking = file.is_nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let caller = cx.caller();
    let n = sock.send(
        Outgoing {
            data: &data,
            to,
            rights: Vec::new(),
            cred: None,
            flags,
            cx: Some(&caller),
        },
        SocketFile::send_wait(&*sock, nonblocking),
    )?;
    Ok(n)
}

/// recvfrom(2) (recv(2) is recvfrom with no address).
pub fn recvfrom(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    buf: UserBuf,
    flags: u32,
    src: UserAddr,
    addrlen: UserPtr<i32>,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    let iov = IoVecs::single(buf);
    let nonblocking = file.is_nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let mut r = {
        let mut sink = crate::io::IovSink {
            mem: &mut *mem,
            iov: &iov,
        };
        sock.recv(&mut sink, flags, SocketFile::recv_wait(&*sock, nonblocking))?
    };
    // recvfrom(2) takes no control data: files that came with the bytes are closed.
    crate::socket::drop_files(core::mem::take(&mut r.rights));
    if !src.is_null() {
        match &r.from {
            Some(a) => addr::copy_out(mem, src, addrlen, a)?,
            None => {
                if addrlen.read(mem)? < 0 {
                    return Err(Errno::EINVAL);
                }
                addrlen.write(mem, &0)?;
            }
        }
    }
    Ok(r.len)
}

/// readv(2) on a socket: one receive into all the buffers, as Linux's `sock_read_iter` (the
/// file system's loop over the buffers would take one datagram per buffer). `None` when `fd`
/// is not an open socket: the caller runs the file system's readv(2), which reports the
/// error.
pub fn readv(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
) -> Option<SysResult> {
    let (file, sock) = socket_of(files, fd).ok()?;
    Some((|| {
        let iov = vectors(mem, iov, iovcnt)?;
        if iov.is_empty() {
            // Linux's `sock_read_iter`: nothing to read into takes nothing off the socket.
            return Ok(0);
        }
        let mut r = {
            let mut sink = crate::io::IovSink {
                mem: &mut *mem,
                iov: &iov,
            };
            sock.recv(
                &mut sink,
                0,
                SocketFile::recv_wait(&*sock, file.is_nonblocking()),
            )?
        };
        // As read(2): files that came with the bytes are closed.
        crate::socket::drop_files(core::mem::take(&mut r.rights));
        Ok(r.len)
    })())
}

/// writev(2) on a socket: one send of all the buffers (one datagram), as Linux's
/// `sock_write_iter`; `None` when `fd` is not an open socket (see [`readv`]).
pub fn writev(
    files: &FdTable,
    mem: &dyn UserMemory,
    fd: i32,
    iov: UserPtr<Iovec>,
    iovcnt: u64,
) -> Option<SysResult> {
    let (file, sock) = socket_of(files, fd).ok()?;
    Some((|| {
        let iov = vectors(mem, iov, iovcnt)?;
        let data = crate::io::IovSource { mem, iov: &iov };
        sock.send(
            Outgoing {
                data: &data,
                to: None,
                rights: Vec::new(),
                cred: None,
                flags: 0,
                cx: None,
            },
            SocketFile::send_wait(&*sock, file.is_nonblocking()),
        )
    })())
}

/// The buffers of readv(2)/writev(2): more than `UIO_MAXIOV` is `EINVAL` there.
fn vectors(mem: &dyn UserMemory, iov: UserPtr<Iovec>, iovcnt: u64) -> Result<IoVecs, Errno> {
    if iovcnt > UIO_MAXIOV as u64 {
        return Err(Errno::EINVAL);
    }
    IoVecs::read(mem, iov, iovcnt)
}

/// shutdown(2): `how` outside `SHUT_RD`..`SHUT_RDWR` is `EINVAL` (after the fd checks).
pub fn shutdown(cx: &SocketCx<'_>, fd: i32, how: i32) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let how = u32::try_from(how).map_err(|_| Errno::EINVAL)?;
    if how > n::SHUT_RDWR {
        return Err(Errno::EINVAL);
    }
    sock.shutdown(how)?;
    Ok(0)
}

/// getsockname(2).
pub fn getsockname(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    addr: UserAddr,
    addrlen: UserPtr<i32>,
) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let a = sock.local_addr();
    copy_name(mem, addr, addrlen, &a)
}

/// getpeername(2).
pub fn getpeername(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    addr: UserAddr,
    addrlen: UserPtr<i32>,
) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let a = sock.peer_addr()?;
    copy_name(mem, addr, addrlen, &a)
}

/// getsockname/getpeername write the address even when `addr` is null (Linux faults then).
fn copy_name(
    mem: &mut dyn UserMemory,
    buf: UserAddr,
    len: UserPtr<i32>,
    a: &addr::SockAddr,
) -> SysResult {
    let room = len.read(mem)?;
    let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
    let bytes = a.to_bytes();
    let k = room.min(bytes.len());
    if k > 0 {
        mem.copy_out(buf, &bytes[..k])?;
    }
    len.write(mem, &(bytes.len() as i32))?;
    Ok(0)
}

/// The most option bytes copied in (the largest option oxv knows is far smaller).
const OPT_MAX: usize = 256;

/// setsockopt(2). As Linux: `optlen` negative is `EINVAL`; the value is copied in before the
/// option is looked at (`EFAULT`); an option no layer knows is `ENOPROTOOPT`; the read-only
/// `SOL_SOCKET` options are `ENOPROTOOPT` too.
pub fn setsockopt(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    fd: i32,
    level: i32,
    name: i32,
    optval: UserAddr,
    optlen: i32,
) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let len = usize::try_from(optlen).map_err(|_| Errno::EINVAL)?;
    let mut val = vec![0u8; len.min(OPT_MAX)];
    if !val.is_empty() {
        mem.copy_in(optval, &mut val)?;
    }
    let (level, name) = (level as u32, name as u32);
    if level == n::SOL_SOCKET
        && matches!(
            name,
            n::SO_TYPE
                | n::SO_DOMAIN
                | n::SO_PROTOCOL
                | n::SO_ERROR
                | n::SO_ACCEPTCONN
                | n::SO_PEERCRED
        )
    {
        return Err(Errno::ENOPROTOOPT);
    }
    sock.set_option(level, name, &val)?;
    Ok(0)
}

/// getsockopt(2). `*optlen` negative is `EINVAL`; at most `*optlen` bytes of the value are
/// written and `*optlen` is set to how many.
pub fn getsockopt(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    level: i32,
    name: i32,
    optval: UserAddr,
    optlen: UserPtr<i32>,
) -> SysResult {
    let (_, sock) = socket_of(cx.files, fd)?;
    let room = optlen.read(mem)?;
    let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
    let (level, name) = (level as u32, name as u32);
    let int = |v: u32| (v as i32).to_ne_bytes().to_vec();
    let val = match (level, name) {
        (n::SOL_SOCKET, n::SO_TYPE) => int(sock.sock_type()),
        (n::SOL_SOCKET, n::SO_DOMAIN) => int(sock.family()),
        (n::SOL_SOCKET, n::SO_PROTOCOL) => int(sock.protocol()),
        (n::SOL_SOCKET, n::SO_ERROR) => int(sock.take_error().map_or(0, |e| e as u32)),
        (n::SOL_SOCKET, n::SO_ACCEPTCONN) => int(sock.is_listening() as u32),
        (n::SOL_SOCKET, n::SO_PEERCRED) => sock
            .peer_cred()
            .unwrap_or(Ucred {
                pid: 0,
                uid: 65534,
                gid: 65534,
            })
            .as_bytes()
            .to_vec(),
        _ => sock.get_option(level, name)?,
    };
    let k = room.min(val.len());
    if k > 0 {
        mem.copy_out(optval, &val[..k])?;
    }
    optlen.write(mem, &(k as i32))?;
    Ok(0)
}

#[cfg(test)]
mod tests;
