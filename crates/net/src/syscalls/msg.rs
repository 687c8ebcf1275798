//! sendmsg(2), recvmsg(2), sendmmsg(2), recvmmsg(2), and ancillary data (cmsg(3)).
//!
//! As Linux's `____sys_sendmsg`/`____sys_recvmsg`: a negative `msg_namelen` is `EINVAL`, a
//! larger one is cut to `sizeof(struct sockaddr_storage)`; more than `UIO_MAXIOV` iovecs is
//! `EMSGSIZE`; control data over the option-memory limit is `ENOBUFS`. Ancillary data sent:
//! `SCM_RIGHTS` (AF_UNIX, at most 253 fds, `EBADF` for a closed one) and
//! `SCM_CREDENTIALS` (both ignored on other families, as Linux's `__sock_cmsg_send`); any
//! other `SOL_SOCKET` type, or a malformed header, is `EINVAL`; other levels are ignored. Received files are installed as the control buffer allows; what does
//! not fit is closed and `MSG_CTRUNC` set, and `msg_controllen` says how much was written.
//!
//! The batch calls stop at the first error after one message went through and return the
//! count; recvmmsg(2)'s timeout is checked between messages and the time left written back,
//! as on Linux.

use super::{SocketCx, socket_of};
use crate::addr::RawAddr;
use crate::io::{IoVecs, IovSink, IovSource};
use crate::socket::{Outgoing, SocketFile, SocketOps};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{Iovec, UIO_MAXIOV};
use oxv_abi::linux::net::{
    self as n, CmsgHdr, MmsgHdr, MsgHdr, SOCKADDR_STORAGE_SIZE, Ucred, cmsg_align,
};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};
use oxv_vfs::OpenFile;
use zerocopy::{FromBytes, IntoBytes};

/// The most files one `SCM_RIGHTS` message carries (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;
/// The most control bytes a send takes (Linux's `sysctl_optmem_max`).
const OPTMEM_MAX: u64 = 131072;
const CMSG_HDR: usize = size_of::<CmsgHdr>();

/// What the ancillary data of a send carried.
#[derive(Default)]
struct Ancillary {
    rights: Vec<Arc<OpenFile>>,
    cred: Option<Ucred>,
}

fn parse_control(cx: &SocketCx<'_>, sock: &dyn SocketOps, ctl: &[u8]) -> Result<Ancillary, Errno> {
    let mut out = Ancillary::default();
    let mut off = 0usize;
    while ctl.len().saturating_sub(off) >= CMSG_HDR {
        let (h, _) = CmsgHdr::read_from_prefix(&ctl[off..]).map_err(|_| Errno::EINVAL)?;
        let len = usize::try_from(h.cmsg_len).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR || len > ctl.len() - off {
            return Err(Errno::EINVAL);
        }
        let data = &ctl[off + CMSG_HDR..off + len];
        if h.cmsg_level as u32 == n::SOL_SOCKET {
            match h.cmsg_type as u32 {
                // Linux keeps these for AF_UNIX and ignores them elsewhere.
                n::SCM_RIGHTS | n::SCM_CREDENTIALS if sock.family() != n::AF_UNIX => {}
                n::SCM_RIGHTS => {
                    // Files in flight may be dropped last by this call (on an error, or by
                    // the receiver): not without the kernel lock.
                    crate::socket::serialize();
                    let count = data.len() / 4;
                    if out.rights.len() + count > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for c in data.chunks_exact(4) {
                        let fd = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                        out.rights.push(cx.files.get(fd)?);
                    }
                }
                n::SCM_CREDENTIALS => {
                    let (c, _) = Ucred::read_from_prefix(data).map_err(|_| Errno::EINVAL)?;
                    if data.len() != size_of::<Ucred>() {
                        return Err(Errno::EINVAL);
                    }
                    out.cred = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(out)
}

fn send_one(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    file: &OpenFile,
    sock: &Arc<dyn SocketOps>,
    hdr: &MsgHdr,
    flags: u32,
) -> SysResult {
    if hdr.msg_namelen < 0 {
        return Err(Errno::EINVAL);
    }
    let to = if hdr.msg_name != 0 && hdr.msg_namelen > 0 {
        let len = (hdr.msg_namelen as usize).min(SOCKADDR_STORAGE_SIZE) as i32;
        let raw = RawAddr::copy_in(mem, UserAddr::new(hdr.msg_name), len)?;
        Some(sock.parse_addr(&raw)?)
    } else {
        None
    };
    let iov = IoVecs::read(mem, UserPtr::<Iovec>::new(hdr.msg_iov), hdr.msg_iovlen)?;
    if hdr.msg_controllen > i32::MAX as u64 || hdr.msg_controllen > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let anc = if hdr.msg_controllen > 0 {
        let mut ctl = vec![0u8; hdr.msg_controllen as usize];
        mem.copy_in(UserAddr::new(hdr.msg_control), &mut ctl)?;
        parse_control(cx, &**sock, &ctl)?
    } else {
        Ancillary::default()
    };
    let data = IovSource { mem, iov: &iov };
    let nonblocking = file.is_nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let caller = cx.caller();
    sock.send(
        Outgoing {
            data: &data,
            to,
            rights: anc.rights,
            cred: anc.cred,
            flags,
            cx: Some(&caller),
        },
        SocketFile::send_wait(&**sock, nonblocking),
    )
}

/// sendmsg(2).
pub fn sendmsg(
    cx: &SocketCx<'_>,
    mem: &dyn UserMemory,
    fd: i32,
    msg: UserPtr<MsgHdr>,
    flags: u32,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    let hdr = msg.read(mem)?;
    send_one(cx, mem, &file, &sock, &hdr, flags)
}

/// Where control data goes: the user's buffer, filled from the front.
struct Control {
    at: u64,
    left: u64,
    used: u64,
}

impl Control {
    /// Linux's `put_cmsg`: the header and as much data as fits (`MSG_CTRUNC` if cut).
    fn put(
        &mut self,
        mem: &mut dyn UserMemory,
        ty: u32,
        data: &[u8],
        flags: &mut u32,
    ) -> Result<(), Errno> {
        if self.at == 0 || self.left < CMSG_HDR as u64 {
            *flags |= n::MSG_CTRUNC;
            return Ok(());
        }
        let mut len = (CMSG_HDR + data.len()) as u64;
        if self.left < len {
            *flags |= n::MSG_CTRUNC;
            len = self.left;
        }
        let mut buf = CmsgHdr {
            cmsg_len: len,
            cmsg_level: n::SOL_SOCKET as i32,
            cmsg_type: ty as i32,
        }
        .as_bytes()
        .to_vec();
        buf.extend_from_slice(&data[..(len as usize - CMSG_HDR)]);
        mem.copy_out(UserAddr::new(self.at), &buf)?;
        let step = (cmsg_align(CMSG_HDR + data.len()) as u64).min(self.left);
        self.advance(step);
        Ok(())
    }

    fn advance(&mut self, k: u64) {
        self.at += k;
        self.left -= k;
        self.used += k;
    }

    /// Linux's `scm_detach_fds`: installs as many files as fit, closes the rest.
    fn rights(
        &mut self,
        cx: &SocketCx<'_>,
        mem: &mut dyn UserMemory,
        files: Vec<Arc<OpenFile>>,
        cloexec: bool,
        flags: &mut u32,
    ) -> Result<(), Errno> {
        let room = if self.at != 0 && self.left > CMSG_HDR as u64 {
            ((self.left - CMSG_HDR as u64) / 4) as usize
        } else {
            0
        };
        let count = files.len();
        let mut fds: Vec<i32> = Vec::new();
        for f in files.into_iter().take(room) {
            match cx.files.insert(f, cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        if !fds.is_empty() {
            let bytes: Vec<u8> = fds.iter().flat_map(|f| f.to_ne_bytes()).collect();
            let len = (CMSG_HDR + bytes.len()) as u64;
            let mut buf = CmsgHdr {
                cmsg_len: len,
                cmsg_level: n::SOL_SOCKET as i32,
                cmsg_type: n::SCM_RIGHTS as i32,
            }
            .as_bytes()
            .to_vec();
            buf.extend_from_slice(&bytes);
            if let Err(e) = mem.copy_out(UserAddr::new(self.at), &buf) {
                for fd in fds {
                    let _ = cx.files.remove(fd);
                }
                return Err(e.into());
            }
            let step = (cmsg_align(len as usize) as u64).min(self.left);
            self.advance(step);
        }
        if fds.len() < count {
            *flags |= n::MSG_CTRUNC;
        }
        Ok(())
    }
}

/// Receives one message into `hdr`'s buffers; updates `hdr`'s name length, control length
/// and flags as Linux writes them back.
fn recv_one(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    file: &OpenFile,
    sock: &Arc<dyn SocketOps>,
    hdr: &mut MsgHdr,
    flags: u32,
    force_nonblock: bool,
) -> SysResult {
    if hdr.msg_namelen < 0 {
        return Err(Errno::EINVAL);
    }
    let iov = IoVecs::read(mem, UserPtr::<Iovec>::new(hdr.msg_iov), hdr.msg_iovlen)?;
    let nonblocking = force_nonblock || file.is_nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let r = {
        let mut sink = IovSink {
            mem: &mut *mem,
            iov: &iov,
        };
        sock.recv(
            &mut sink,
            flags & !n::MSG_CMSG_CLOEXEC,
            SocketFile::recv_wait(&**sock, nonblocking),
        )?
    };
    if !r.rights.is_empty() {
        // Installing files, or dropping those that do not fit (or all of them on a fault
        // below): not without the kernel lock.
        crate::socket::serialize();
    }
    let mut out_flags = r.flags;
    let mut name_len = 0i32;
    if hdr.msg_name != 0 {
        if let Some(a) = &r.from {
            let bytes = a.to_bytes();
            let k = (hdr.msg_namelen as usize).min(bytes.len());
            if k > 0 {
                mem.copy_out(UserAddr::new(hdr.msg_name), &bytes[..k])?;
            }
            name_len = bytes.len() as i32;
        }
    }
    hdr.msg_namelen = name_len;
    let mut ctl = Control {
        at: hdr.msg_control,
        left: hdr.msg_controllen,
        used: 0,
    };
    if let Some(c) = r.cred {
        ctl.put(mem, n::SCM_CREDENTIALS, c.as_bytes(), &mut out_flags)?;
    }
    if !r.rights.is_empty() {
        let cloexec = flags & n::MSG_CMSG_CLOEXEC != 0;
        ctl.rights(cx, mem, r.rights, cloexec, &mut out_flags)?;
    }
    hdr.msg_controllen = ctl.used;
    hdr.msg_flags = out_flags;
    Ok(r.len)
}

/// Writes back what recvmsg(2) updates in the user's `struct msghdr`.
fn write_back(mem: &mut dyn UserMemory, at: u64, hdr: &MsgHdr) -> Result<(), Errno> {
    use core::mem::offset_of;
    UserPtr::<i32>::new(at + offset_of!(MsgHdr, msg_namelen) as u64)
        .write(mem, &hdr.msg_namelen)?;
    UserPtr::<u32>::new(at + offset_of!(MsgHdr, msg_flags) as u64).write(mem, &hdr.msg_flags)?;
    UserPtr::<u64>::new(at + offset_of!(MsgHdr, msg_controllen) as u64)
        .write(mem, &hdr.msg_controllen)?;
    Ok(())
}

/// recvmsg(2).
pub fn recvmsg(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    msg: UserPtr<MsgHdr>,
    flags: u32,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    let mut hdr = msg.read(mem)?;
    let n = recv_one(cx, mem, &file, &sock, &mut hdr, flags, false)?;
    write_back(mem, msg.addr().get(), &hdr)?;
    Ok(n)
}

fn entry(vec: UserPtr<MmsgHdr>, i: u32) -> u64 {
    vec.addr().get() + i as u64 * size_of::<MmsgHdr>() as u64
}

/// sendmmsg(2): `vlen` is cut to `UIO_MAXIOV`; it stops before the next message when the
/// caller is being killed (`Blocker::fatal_signal_pending`).
pub fn sendmmsg(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    msgvec: UserPtr<MmsgHdr>,
    vlen: u32,
    flags: u32,
) -> SysResult {
    let (file, sock) = socket_of(cx.files, fd)?;
    let vlen = vlen.min(UIO_MAXIOV as u32);
    let blocker = cx.net.stack().blocker().clone();
    let mut sent = 0u32;
    while sent < vlen {
        if blocker.fatal_signal_pending() {
            // Being killed: no more buffers queued for it (they would stay until its
            // sockets are closed, after it is gone), and the count never reaches it.
            if sent == 0 {
                return Err(Errno::EINTR);
            }
            break;
        }
        let at = entry(msgvec, sent);
        let r = UserPtr::<MmsgHdr>::new(at)
            .read(mem)
            .map_err(Errno::from)
            .and_then(|m| send_one(cx, mem, &file, &sock, &m.msg_hdr, flags));
        match r {
            Ok(k) => {
                let len_at = at + core::mem::offset_of!(MmsgHdr, msg_len) as u64;
                if let Err(e) = UserPtr::<u32>::new(len_at).write(mem, &(k as u32)) {
                    if sent == 0 {
                        return Err(e.into());
                    }
                    break;
                }
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent as usize)
}

/// recvmmsg(2): `MSG_WAITFORONE` makes the messages after the first non-blocking; the
/// timeout is checked after each message.
pub fn recvmmsg(
    cx: &SocketCx<'_>,
    mem: &mut dyn UserMemory,
    fd: i32,
    msgvec: UserPtr<MmsgHdr>,
    vlen: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
) -> SysResult {
    let blocker = cx.net.stack().blocker().clone();
    let end = if timeout.addr().is_null() {
        None
    } else {
        let t = timeout.read(mem)?;
        let ns = t.to_nanos()?;
        Some(blocker.now_ns().saturating_add(ns))
    };
    let (file, sock) = socket_of(cx.files, fd)?;
    let vlen = vlen.min(UIO_MAXIOV as u32);
    let mut got = 0u32;
    while got < vlen {
        let at = entry(msgvec, got);
        let ptr = UserPtr::<MmsgHdr>::new(at);
        let nonblock = got > 0 && flags & n::MSG_WAITFORONE != 0;
        let r = ptr.read(mem).map_err(Errno::from).and_then(|mut m| {
            let k = recv_one(
                cx,
                mem,
                &file,
                &sock,
                &mut m.msg_hdr,
                flags & !n::MSG_WAITFORONE,
                nonblock,
            )?;
            write_back(mem, at, &m.msg_hdr)?;
            let len_at = at + core::mem::offset_of!(MmsgHdr, msg_len) as u64;
            UserPtr::<u32>::new(len_at).write(mem, &(k as u32))?;
            Ok(k)
        });
        match r {
            Ok(_) => got += 1,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        if let Some(end) = end {
            let now = blocker.now_ns();
            let left = end.saturating_sub(now);
            timeout.write(mem, &Timespec::from_nanos(left))?;
            if left == 0 {
                break;
            }
        }
    }
    Ok(got as usize)
}
