//! Sockets as open files: the [`SocketOps`] every family implements, [`SocketFile`] (the
//! [`FileOps`] that puts a socket behind an fd), the options every socket has
//! ([`SockOpts`], `SOL_SOCKET`), and how socket calls wait ([`Wait`], [`wait_for`]).
//!
//! read(2)/write(2) on a socket are recv/send with no flags; fstat(2) shows `S_IFSOCK`;
//! `FIONREAD` (`SIOCINQ`) and `TIOCOUTQ` (`SIOCOUTQ`) say how much is queued, and the
//! interface ioctls (`SIOCGIFINDEX`...) are answered by [`crate::ifreq`]; poll(2),
//! select(2) and epoll(7) see [`SocketOps::poll`] through the socket's [`PollQueue`].
//!
//! Blocking calls wait on the socket's queue with the blocker of the stack: a signal ends the
//! wait with `EINTR` (or the count so far), and `SO_RCVTIMEO`/`SO_SNDTIMEO` end it with
//! `EAGAIN`, as on Linux.

use crate::addr::{RawAddr, SockAddr};
use crate::io::{Sink, Source};
use crate::stack::{Owed, Stack};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use linux_raw_sys::ioctl::TIOCOUTQ;
use oxv_abi::linux::fs::{FIONREAD, PollEvents};
use oxv_abi::linux::net::{self as n, Linger, Ucred};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use oxv_vfs::io::{ReadBuf, WriteBuf, WritePos, Written};
use oxv_vfs::node::{DeviceId, FileKind, Metadata};
use oxv_vfs::readiness::{PollQueue, Waiter};
use oxv_vfs::time::Timestamp;
use oxv_vfs::{Blocker, FileOps, FsContext, OpenFile};
use spin::Mutex;
use zerocopy::{FromBytes, IntoBytes};

/// The device number fstat(2) shows for sockets (Linux's sockfs is an anonymous device).
pub const SOCKFS_DEVICE: DeviceId = DeviceId::new(0, 8);

/// Who makes a socket call: the process's file-system context (AF_UNIX paths) and
/// credentials (`SO_PEERCRED`, `SCM_CREDENTIALS`).
#[derive(Copy, Clone)]
pub struct Caller<'a> {
    /// Root, cwd, umask; `None` for the kernel's own sockets (no paths then).
    pub fs: Option<&'a FsContext>,
    /// pid, uid, gid.
    pub cred: Ucred,
}

impl Caller<'_> {
    /// The kernel itself, with credentials `cred`.
    pub fn kernel(cred: Ucred) -> Caller<'static> {
        Caller { fs: None, cred }
    }
}

/// How a call may wait.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// `O_NONBLOCK` or `MSG_DONTWAIT`: never wait (`EAGAIN`).
    pub nonblocking: bool,
    /// How long to wait at most, in ns, from `SO_RCVTIMEO`/`SO_SNDTIMEO` (`EAGAIN` after).
    pub timeout: Option<u64>,
}

impl Wait {
    /// Waits without limit.
    pub const BLOCK: Wait = Wait {
        nonblocking: false,
        timeout: None,
    };
    /// Never waits.
    pub const NONBLOCK: Wait = Wait {
        nonblocking: true,
        timeout: None,
    };
}

/// What the embedder runs when a socket's staging lock is busy (see [`lock_stage`]).
static CONTENDED: spin::Once<fn()> = spin::Once::new();

/// Sets what [`lock_stage`] runs while the lock is busy: the kernel lets the CPU give up or
/// take its kernel lock there (a staging lock is held across a copy to or from user memory,
/// and a fault in that copy may wait for the kernel lock). Once, at boot.
pub fn set_contended_hook(f: fn()) {
    CONTENDED.call_once(|| f);
}

/// Takes a socket's staging lock (held across user copies, which may fault). A plain spin
/// could wait forever for a holder that waits, in its fault, for a lock the spinner holds:
/// on a miss the embedder's hook runs (see [`set_contended_hook`]) before trying again.
/// Call with no other spin lock held.
pub fn lock_stage(m: &Mutex<Vec<u8>>) -> spin::MutexGuard<'_, Vec<u8>> {
    loop {
        if let Some(g) = m.try_lock() {
            return g;
        }
        match CONTENDED.get() {
            Some(f) => f(),
            None => core::hint::spin_loop(),
        }
    }
}

/// What the embedder runs before work that is not written for running without its lock.
static SERIALIZE: spin::Once<fn()> = spin::Once::new();

/// Sets what [`serialize`] runs: the kernel takes its kernel lock there (and keeps it until
/// the call returns to ring 3). Once.
pub fn set_serialize_hook(f: fn()) {
    SERIALIZE.call_once(|| f);
}

/// Called by socket code that may run without the kernel's lock before it does what needs
/// that lock: dropping files passed with `SCM_RIGHTS` (the last reference runs the file's
/// release), dropping the last reference to an `AF_UNIX` socket (its queued messages hold
/// such files), and looking a path up in the file system. Call with no spin lock held.
pub fn serialize() {
    if let Some(f) = SERIALIZE.get() {
        f();
    }
}

/// Drops files passed with `SCM_RIGHTS` (received and not installed, or not sent) after
/// [`serialize`].
pub fn drop_files(files: Vec<Arc<OpenFile>>) {
    if !files.is_empty() {
        serialize();
        drop(files);
    }
}

/// Whether `file` is a socket whose data calls (read, write, readv, writev, recvfrom, sendto,
/// sendmsg, recvmsg, sendmmsg, recvmmsg) the kernel may run without its kernel lock: TCP,
/// UDP and `AF_UNIX`. Their send and receive paths take only their own spin locks, copy user
/// memory under none but the staging locks ([`lock_stage`]), block only through
/// [`wait_for`] (the blocker's `parker` comes first), and call [`serialize`] before anything
/// else that needs the kernel (see each socket module's doc for its locks).
pub fn runs_unlocked(file: &OpenFile) -> bool {
    SocketFile::of(file).is_ok_and(|s| {
        let a = s.as_any();
        a.is::<crate::tcp::TcpSocket>()
            || a.is::<crate::udp::UdpSocket>()
            || a.is::<crate::unix::UnixSocket>()
    })
}

/// Runs `attempt` until it gives anything but `EAGAIN`, sleeping on `queue` for `interest`
/// in between, registered before each retry so no wake-up is lost. `EAGAIN` at once when
/// non-blocking or past the deadline; `EINTR` on a signal.
pub fn wait_for<T>(
    blocker: &dyn Blocker,
    queue: &PollQueue,
    interest: PollEvents,
    wait: Wait,
    mut attempt: impl FnMut() -> Result<T, Errno>,
) -> Result<T, Errno> {
    match attempt() {
        Err(Errno::EAGAIN) if !wait.nonblocking => {}
        r => return r,
    }
    let deadline = wait.timeout.map(|t| blocker.now_ns().saturating_add(t));
    let waiter = Waiter::new(blocker);
    let _watch = waiter.watch(queue, interest);
    loop {
        waiter.reset();
        match attempt() {
            Err(Errno::EAGAIN) => {}
            r => return r,
        }
        if let Some(d) = deadline {
            if blocker.now_ns() >= d {
                return Err(Errno::EAGAIN);
            }
        }
        waiter.sleep(deadline)?;
    }
}

/// A message to send.
pub struct Outgoing<'a> {
    /// The data.
    pub data: &'a dyn Source,
    /// The destination (sendto(2), sendmsg(2) with a name).
    pub to: Option<SockAddr>,
    /// Files passed with `SCM_RIGHTS` (AF_UNIX only).
    pub rights: Vec<Arc<OpenFile>>,
    /// Credentials passed with `SCM_CREDENTIALS`.
    pub cred: Option<Ucred>,
    /// `MSG_*` flags.
    pub flags: u32,
    /// The caller, when the destination may be a path (AF_UNIX datagrams).
    pub cx: Option<&'a Caller<'a>>,
}

/// What a receive got.
#[derive(Default)]
pub struct Received {
    /// Bytes stored (or the datagram's full length with `MSG_TRUNC`).
    pub len: usize,
    /// `MSG_TRUNC` when a datagram did not fit, `MSG_EOR` at a record end.
    pub flags: u32,
    /// The sender's address (datagram sockets).
    pub from: Option<SockAddr>,
    /// Files passed with `SCM_RIGHTS`.
    pub rights: Vec<Arc<OpenFile>>,
    /// The sender's credentials, when `SO_PASSCRED` asks for them.
    pub cred: Option<Ucred>,
}

/// A value of `SOL_SOCKET` options every socket has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SockOpts {
    /// `SO_REUSEADDR`.
    pub reuse_addr: bool,
    /// `SO_REUSEPORT`.
    pub reuse_port: bool,
    /// `SO_KEEPALIVE`.
    pub keepalive: bool,
    /// `SO_BROADCAST`.
    pub broadcast: bool,
    /// `SO_PASSCRED`.
    pub passcred: bool,
    /// `SO_RCVBUF` as getsockopt(2) shows it (twice what was asked, as Linux keeps it).
    pub rcvbuf: u32,
    /// `SO_SNDBUF`, likewise.
    pub sndbuf: u32,
    /// `SO_RCVLOWAT`.
    pub rcvlowat: i32,
    /// `SO_LINGER`.
    pub linger: Linger,
    /// `SO_RCVTIMEO` in ns (`None`: wait forever).
    pub rcvtimeo: Option<u64>,
    /// `SO_SNDTIMEO` in ns.
    pub sndtimeo: Option<u64>,
    /// `SO_PRIORITY` and other options that are kept but change nothing.
    pub priority: i32,
}

/// Linux's `sysctl_rmem_max` and `sysctl_wmem_max`: the most SO_RCVBUF/SO_SNDBUF may ask.
pub const BUF_MAX: u32 = 212992;
/// Linux's `SOCK_MIN_RCVBUF`/`SOCK_MIN_SNDBUF` (approximately: 2 KiB plus overhead).
const BUF_MIN: u32 = 4608;

impl SockOpts {
    /// Options with the given default buffer sizes (as getsockopt(2) shows them).
    pub fn new(rcvbuf: u32, sndbuf: u32) -> SockOpts {
        SockOpts {
            reuse_addr: false,
            reuse_port: false,
            keepalive: false,
            broadcast: false,
            passcred: false,
            rcvbuf,
            sndbuf,
            rcvlowat: 1,
            linger: Linger::default(),
            rcvtimeo: None,
            sndtimeo: None,
            priority: 0,
        }
    }
}

fn int_of(val: &[u8]) -> Result<i32, Errno> {
    let b: [u8; 4] = val
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// An `int` option value.
pub fn int_value(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// Reads an `int` option (`EINVAL` if shorter than an int).
pub fn opt_int(val: &[u8]) -> Result<i32, Errno> {
    int_of(val)
}

/// A timeout option: `struct timeval` in, ns out (`None` for zero), as Linux's
/// `sock_set_timeout`: too short is `EINVAL`, microseconds out of range `EDOM`, a negative
/// time a zero timeout.
fn timeout_of(val: &[u8]) -> Result<Option<u64>, Errno> {
    let (tv, _) = <[i64; 2]>::read_from_prefix(val).map_err(|_| Errno::EINVAL)?;
    let [sec, usec] = tv;
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(0));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    // Linux keeps the timeout in jiffies, rounding the microseconds up; getsockopt(2) shows
    // the rounded value. oxv counts jiffies of HZ=250 (Debian's and Ubuntu's kernels).
    let usec = (usec as u64).div_ceil(JIFFY_US) * JIFFY_US;
    Ok(Some(
        (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(usec * 1000),
    ))
}

/// One jiffy of a HZ=250 kernel, in microseconds.
const JIFFY_US: u64 = 4000;

fn timeval_of(t: Option<u64>) -> Vec<u8> {
    let ns = t.unwrap_or(0);
    [
        (ns / 1_000_000_000) as i64,
        ((ns % 1_000_000_000) / 1000) as i64,
    ]
    .as_bytes()
    .to_vec()
}

/// Sets a `SOL_SOCKET` option every socket has; `ENOPROTOOPT` for the rest.
pub fn set_common(o: &mut SockOpts, name: u32, val: &[u8]) -> Result<(), Errno> {
    match name {
        n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW => o.rcvtimeo = timeout_of(val)?,
        n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW => o.sndtimeo = timeout_of(val)?,
        n::SO_LINGER => {
            let (l, _) = Linger::read_from_prefix(val).map_err(|_| Errno::EINVAL)?;
            o.linger = l;
        }
        _ => {
            let v = int_of(val)?;
            match name {
                n::SO_REUSEADDR => o.reuse_addr = v != 0,
                n::SO_REUSEPORT => o.reuse_port = v != 0,
                n::SO_KEEPALIVE => o.keepalive = v != 0,
                n::SO_BROADCAST => o.broadcast = v != 0,
                n::SO_PASSCRED => o.passcred = v != 0,
                n::SO_RCVBUF | n::SO_RCVBUFFORCE => {
                    let want = if name == n::SO_RCVBUF {
                        (v.max(0) as u32).min(BUF_MAX)
                    } else {
                        v.max(0) as u32
                    };
                    o.rcvbuf = want.saturating_mul(2).max(BUF_MIN * 2 / 2);
                }
                n::SO_SNDBUF | n::SO_SNDBUFFORCE => {
                    let want = if name == n::SO_SNDBUF {
                        (v.max(0) as u32).min(BUF_MAX)
                    } else {
                        v.max(0) as u32
                    };
                    o.sndbuf = want.saturating_mul(2).max(BUF_MIN);
                }
                n::SO_RCVLOWAT => o.rcvlowat = v.max(1),
                n::SO_SNDLOWAT => return Err(Errno::ENOPROTOOPT),
                // SO_PRIORITY; kept so that getsockopt shows it.
                12 => o.priority = v,
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
    }
    Ok(())
}

/// Reads a `SOL_SOCKET` option every socket has; `ENOPROTOOPT` for the rest.
pub fn get_common(o: &SockOpts, name: u32) -> Result<Vec<u8>, Errno> {
    Ok(match name {
        n::SO_REUSEADDR => int_value(o.reuse_addr as i32),
        n::SO_REUSEPORT => int_value(o.reuse_port as i32),
        n::SO_KEEPALIVE => int_value(o.keepalive as i32),
        n::SO_BROADCAST => int_value(o.broadcast as i32),
        n::SO_PASSCRED => int_value(o.passcred as i32),
        n::SO_RCVBUF => int_value(o.rcvbuf as i32),
        n::SO_SNDBUF => int_value(o.sndbuf as i32),
        n::SO_RCVLOWAT => int_value(o.rcvlowat),
        n::SO_SNDLOWAT => int_value(1),
        n::SO_LINGER => o.linger.as_bytes().to_vec(),
        n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW => timeval_of(o.rcvtimeo),
        n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW => timeval_of(o.sndtimeo),
        12 => int_value(o.priority),
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

/// What a socket of some family and type does. Defaults answer as Linux does for a socket
/// without the operation.
pub trait SocketOps: Send + Sync + Any {
    /// `AF_*`.
    fn family(&self) -> u32;
    /// `SOCK_*`.
    fn sock_type(&self) -> u32;
    /// The protocol number (`IPPROTO_TCP`...; 0 for AF_UNIX).
    fn protocol(&self) -> u32;
    /// The socket options every socket has.
    fn opts(&self) -> &Mutex<SockOpts>;

    /// Parses an address of this socket's family (each family has its own checks).
    fn parse_addr(&self, raw: &RawAddr) -> Result<SockAddr, Errno>;

    /// bind(2).
    fn bind(&self, cx: &Caller<'_>, addr: SockAddr) -> Result<(), Errno>;

    /// connect(2). May wait (`EINPROGRESS` when it cannot).
    fn connect(&self, cx: &Caller<'_>, addr: SockAddr, wait: Wait) -> Result<(), Errno>;

    /// listen(2).
    fn listen(&self, cx: &Caller<'_>, backlog: i32) -> Result<(), Errno> {
        let _ = (cx, backlog);
        Err(Errno::EOPNOTSUPP)
    }

    /// accept(2): the new connection and its peer's address. May wait.
    fn accept(&self, wait: Wait) -> Result<(Arc<dyn SocketOps>, SockAddr), Errno> {
        let _ = wait;
        Err(Errno::EOPNOTSUPP)
    }

    /// Sends. May wait; returns the bytes sent (a short count when interrupted after some).
    fn send(&self, msg: Outgoing<'_>, wait: Wait) -> Result<usize, Errno>;

    /// Receives into `dst` with `MSG_*` `flags`. May wait.
    fn recv(&self, dst: &mut dyn Sink, flags: u32, wait: Wait) -> Result<Received, Errno>;

    /// shutdown(2) with `SHUT_*` (already checked).
    fn shutdown(&self, how: u32) -> Result<(), Errno>;

    /// getsockname(2).
    fn local_addr(&self) -> SockAddr;

    /// getpeername(2) (`ENOTCONN` when not connected).
    fn peer_addr(&self) -> Result<SockAddr, Errno>;

    /// A family or protocol option (`SOL_SOCKET` options every socket has are handled by
    /// the caller when this returns `ENOPROTOOPT`).
    fn set_option(&self, level: u32, name: u32, val: &[u8]) -> Result<(), Errno> {
        let _ = (level, name, val);
        Err(Errno::ENOPROTOOPT)
    }

    /// Reads a family or protocol option.
    fn get_option(&self, level: u32, name: u32) -> Result<Vec<u8>, Errno> {
        let _ = (level, name);
        Err(Errno::ENOPROTOOPT)
    }

    /// Takes the pending error (`SO_ERROR`).
    fn take_error(&self) -> Option<Errno> {
        None
    }

    /// Whether it listens (`SO_ACCEPTCONN`).
    fn is_listening(&self) -> bool {
        false
    }

    /// Readiness now.
    fn poll(&self) -> PollEvents;

    /// The queue notified when readiness may have changed.
    fn poll_queue(&self) -> &PollQueue;

    /// Bytes that a read would get now (`FIONREAD`).
    fn bytes_readable(&self) -> usize;

    /// Bytes sent and not yet acknowledged or taken (`TIOCOUTQ`).
    fn bytes_unsent(&self) -> usize {
        0
    }

    /// The peer's credentials (`SO_PEERCRED`; AF_UNIX).
    fn peer_cred(&self) -> Option<Ucred> {
        None
    }

    /// The socket as [`Any`], for calls that need the concrete type (SCM_RIGHTS checks).
    fn as_any(&self) -> &dyn Any;
}

/// A socket behind an fd.
pub struct SocketFile {
    sock: Arc<dyn SocketOps>,
    stack: Stack,
    created: Timestamp,
    ino: u64,
}

impl SocketFile {
    /// For an IP socket whose look, begun at `before`, found nothing: completes the polls
    /// owed then (see `stack/handoff.rs`); whether to look again.
    fn settle(&self, before: Owed) -> bool {
        let family = self.sock.family();
        (family == n::AF_INET || family == n::AF_INET6) && self.stack.shared.settle(before)
    }

    /// The open file of a new socket of `stack` (which answers the interface ioctls), with
    /// inode number `ino` and times `now`.
    pub fn open(
        sock: Arc<dyn SocketOps>,
        stack: &Stack,
        nonblocking: bool,
        now: Timestamp,
        ino: u64,
    ) -> Arc<OpenFile> {
        let flags = oxv_abi::linux::fs::OpenFlags::RDWR
            | if nonblocking {
                oxv_abi::linux::fs::OpenFlags::NONBLOCK
            } else {
                oxv_abi::linux::fs::OpenFlags::empty()
            };
        OpenFile::new_pseudo(
            Arc::new(SocketFile {
                sock,
                stack: stack.clone(),
                created: now,
                ino,
            }),
            flags,
        )
    }

    /// The socket.
    pub fn socket(&self) -> &Arc<dyn SocketOps> {
        &self.sock
    }

    /// The socket behind `file`, or `ENOTSOCK`.
    pub fn of(file: &OpenFile) -> Result<&Arc<dyn SocketOps>, Errno> {
        file.ops()
            .as_any()
            .and_then(|a| a.downcast_ref::<SocketFile>())
            .map(|s| &s.sock)
            .ok_or(Errno::ENOTSOCK)
    }

    /// How a receive on `sock` waits.
    pub fn recv_wait(sock: &dyn SocketOps, nonblocking: bool) -> Wait {
        Wait {
            nonblocking,
            timeout: sock.opts().lock().rcvtimeo,
        }
    }

    /// How a send on `sock` waits.
    pub fn send_wait(sock: &dyn SocketOps, nonblocking: bool) -> Wait {
        Wait {
            nonblocking,
            timeout: sock.opts().lock().sndtimeo,
        }
    }
}

impl FileOps for SocketFile {
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        let wait = SocketFile::recv_wait(&*self.sock, nonblocking);
        let r = self.sock.recv(dst, 0, wait)?;
        // read(2) takes no control data: files that came with the bytes are closed.
        drop_files(r.rights);
        Ok(r.len)
    }

    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        let wait = SocketFile::send_wait(&*self.sock, nonblocking);
        let count = self.sock.send(
            Outgoing {
                data: src,
                to: None,
                rights: Vec::new(),
                cred: None,
                flags: 0,
                cx: None,
            },
            wait,
        )?;
        Ok(Written { count, end: 0 })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(Metadata {
            dev: SOCKFS_DEVICE,
            ino: self.ino,
            kind: FileKind::Socket,
            perm: 0o777,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: DeviceId::default(),
            size: 0,
            blocks: 0,
            blksize: 4096,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
        })
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if crate::ifreq::is_interface_request(request) {
            return crate::ifreq::ioctl(&self.stack, request, arg, mem);
        }
        // A figure that a poll handed to another CPU may still change is settled first (see
        // `stack/handoff.rs`): 0 bytes readable, bytes unsent.
        let before = self.stack.shared.owed_now();
        let n = match request {
            FIONREAD => match self.sock.bytes_readable() {
                0 if self.settle(before) => self.sock.bytes_readable(),
                n => n,
            },
            TIOCOUTQ => match self.sock.bytes_unsent() {
                n if n > 0 && self.settle(before) => self.sock.bytes_unsent(),
                n => n,
            },
            _ => return Err(Errno::ENOTTY),
        };
        UserPtr::<i32>::new(arg).write(mem, &(n.min(i32::MAX as usize) as i32))?;
        Ok(0)
    }

    fn poll(&self) -> PollEvents {
        let before = self.stack.shared.owed_now();
        let ev = self.sock.poll();
        if ev.contains(PollEvents::IN | PollEvents::OUT) || !self.settle(before) {
            return ev;
        }
        // A poll handed to another CPU was owed (see `stack/handoff.rs`): look again.
        self.sock.poll()
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(self.sock.poll_queue())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
