//! `AF_UNIX` sockets, unix(7): `SOCK_STREAM`, `SOCK_DGRAM` and `SOCK_SEQPACKET`, named by a
//! path in the file system or by a name in the abstract namespace, or unnamed (socketpair(2)).
//!
//! No IP stack is involved: each socket owns its receive queue of messages, and a sender
//! appends to its peer's queue under the peer's lock. A stream read may join messages and
//! stops after one that carries files; a seqpacket or datagram read takes one message whole
//! (the rest of it is dropped, with `MSG_TRUNC`).
//!
//! Names: bind(2) to a path makes a socket node in the file system (`EADDRINUSE` if the path
//! exists) and records which socket it names; connect(2) and sendto(2) look the path up like
//! open(2) would, and a node no live socket owns is `ECONNREFUSED`. An abstract name lives
//! while its socket does. bind(2) with only the family autobinds to a five-hex-digit abstract
//! name, as Linux does.
//!
//! Shutdown follows Linux's per-socket `sk_shutdown` bits: shutdown(`SHUT_WR`) ends the
//! peer's reading (end of file once drained), shutdown(`SHUT_RD`) its writing (`EPIPE`),
//! and closing a socket does both for its peer (with `ECONNRESET` for the peer if unread data
//! was thrown away). Files passed with `SCM_RIGHTS` travel with the message that carries them.
//!
//! # Locks
//! read(2), write(2), recvfrom(2), sendto(2) and the msg calls may run without the kernel
//! lock (see [`crate::socket::runs_unlocked`]). No lock but a staging one is held across a
//! copy to or from the app:
//!
//! - a send copies the data in with no lock held (a datagram or record whole, once, before
//!   any wait; a stream what the peer's queue has room for, checked under its `rx` lock
//!   first), then queues it under the receiver's `rx` lock (several senders may each add a
//!   chunk past a stream's bound), then notifies the receiver's queue with no lock held;
//! - a receive ([`UnixSocket::take`]) takes its staging buffer (with
//!   [`crate::socket::lock_stage`]), copies what it reads from the queue into it under `rx`,
//!   copies to the app with only the staging lock, and consumes under `rx` again what reached
//!   the app (a fault loses nothing; peers only append, and only the staging lock's holder
//!   consumes);
//! - `st` (the connection), `rx` and the options are each taken alone in these calls;
//!   connect(2) (under the kernel lock) nests the listener's `st` over the two new ends',
//!   and the namespace's lock is taken alone.
//!
//! What needs the kernel lock calls [`crate::socket::serialize`] first (it takes the lock
//! when the call runs without it): looking a path up for sendto(2), and dropping files
//! passed with `SCM_RIGHTS` (the last reference runs the file's release, not written for
//! running unlocked) — files not sent, files dropped by read(2) or recvfrom(2), and the
//! last reference to a socket, whose queue may hold such files (an unlocked call may hold
//! the last reference to a peer that another CPU closed).

use crate::addr::{RawAddr, SockAddr, UnixName};
use crate::io::Sink;
use crate::socket::{
    Caller, Outgoing, Received, SockOpts, SocketOps, Wait, get_common, lock_stage, set_common,
    wait_for,
};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net::{self as n, Ucred};
use oxv_vfs::node::{FileKind, NewAttrs, NewNode};
use oxv_vfs::readiness::PollQueue;
use oxv_vfs::walk::LastComponent;
use oxv_vfs::{Blocker, OpenFile};
use spin::Mutex;

/// Bytes a stream or seqpacket socket's receive queue holds (Linux's default `SO_SNDBUF`
/// of the writer bounds it about the same).
const STREAM_CAP: usize = 212992;
/// Datagrams a receive queue holds (`net.unix.max_dgram_qlen`).
const DGRAM_QLEN: usize = 512;
/// `SO_SNDBUF`/`SO_RCVBUF` shown.
const SHOWN_BUF: u32 = 212992;
/// The largest datagram (Linux bounds it by `SO_SNDBUF`).
const MAX_DGRAM: usize = 212992 - 32;

/// What names a socket in the namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NameKey {
    Abstract(Vec<u8>),
    Node(u32, u32, u64),
}

/// The names of the machine's `AF_UNIX` sockets: abstract names and socket nodes.
#[derive(Default)]
pub struct UnixNamespace {
    names: Mutex<BTreeMap<NameKey, Weak<UnixSocket>>>,
    next_auto: AtomicU32,
    next_id: AtomicU64,
}

impl UnixNamespace {
    /// An empty namespace.
    pub fn new() -> Arc<UnixNamespace> {
        Arc::new(UnixNamespace {
            next_id: AtomicU64::new(1),
            ..Default::default()
        })
    }

    fn lookup(&self, key: &NameKey) -> Option<Arc<UnixSocket>> {
        self.names.lock().get(key).and_then(Weak::upgrade)
    }
}

/// One message in a receive queue.
struct Msg {
    data: Vec<u8>,
    off: usize,
    rights: Vec<Arc<OpenFile>>,
    from: UnixName,
    cred: Ucred,
}

/// A socket's receive side, and its `sk_shutdown` bits.
#[derive(Default)]
struct Rx {
    msgs: VecDeque<Msg>,
    bytes: usize,
    /// `RCV_SHUTDOWN`: nothing more will arrive (peer closed or shut its writing).
    rcv_shut: bool,
    /// `SEND_SHUTDOWN`: nothing may be sent (shut here, or the peer shut its reading).
    snd_shut: bool,
    error: Option<Errno>,
}

enum Conn {
    Idle,
    Listening {
        backlog: usize,
        pending: VecDeque<Arc<UnixSocket>>,
    },
    /// Stream/seqpacket: the peer; datagram: the default destination.
    Connected(Weak<UnixSocket>),
}

struct State {
    name: UnixName,
    key: Option<NameKey>,
    conn: Conn,
    cred: Ucred,
    peer_cred: Option<Ucred>,
    /// A connection made by connect(2) and not yet accepted.
    embryo: bool,
    /// The peer's name (stream/seqpacket), for getpeername(2).
    peer_name: UnixName,
}

/// An `AF_UNIX` socket.
pub struct UnixSocket {
    me: Weak<UnixSocket>,
    ns: Arc<UnixNamespace>,
    blocker: Arc<dyn Blocker>,
    kind: u32,
    id: u64,
    queue: PollQueue,
    opts: Mutex<SockOpts>,
    st: Mutex<State>,
    rx: Mutex<Rx>,
    /// The staging buffer of receives (see [`UnixSocket::take`]).
    stage: Mutex<Vec<u8>>,
}

impl UnixSocket {
    /// A new unnamed socket of type `kind` (`SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`).
    pub fn new(
        ns: &Arc<UnixNamespace>,
        blocker: &Arc<dyn Blocker>,
        kind: u32,
        cred: Ucred,
    ) -> Arc<UnixSocket> {
        Arc::new_cyclic(|me| UnixSocket {
            me: me.clone(),
            ns: ns.clone(),
            blocker: blocker.clone(),
            kind,
            id: ns.next_id.fetch_add(1, Ordering::Relaxed),
            queue: PollQueue::new(),
            opts: Mutex::new(SockOpts::new(SHOWN_BUF, SHOWN_BUF)),
            st: Mutex::new(State {
                name: UnixName::Unnamed,
                key: None,
                conn: Conn::Idle,
                cred,
                peer_cred: None,
                embryo: false,
                peer_name: UnixName::Unnamed,
            }),
            rx: Mutex::new(Rx::default()),
            stage: Mutex::new(Vec::new()),
        })
    }

    /// socketpair(2): two connected sockets of type `kind`.
    pub fn pair(
        ns: &Arc<UnixNamespace>,
        blocker: &Arc<dyn Blocker>,
        kind: u32,
        cred: Ucred,
    ) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let a = UnixSocket::new(ns, blocker, kind, cred);
        let b = UnixSocket::new(ns, blocker, kind, cred);
        link(&a, &b);
        (a, b)
    }

    /// The socket's id (its inode number for fstat(2)).
    pub fn id(&self) -> u64 {
        self.id
    }

    fn connection_oriented(&self) -> bool {
        self.kind != n::SOCK_DGRAM
    }

    fn peer(&self) -> Option<Arc<UnixSocket>> {
        match &self.st.lock().conn {
            Conn::Connected(p) => p.upgrade(),
            _ => None,
        }
    }

    /// Finds the socket `name` names: `ECONNREFUSED` when nothing live does.
    fn resolve(&self, cx: &Caller<'_>, name: &UnixName) -> Result<Arc<UnixSocket>, Errno> {
        let key = match name {
            UnixName::Unnamed => return Err(Errno::EINVAL),
            UnixName::Abstract(a) => NameKey::Abstract(a.clone()),
            UnixName::Path(p) => {
                // A walk of the file system: not without the kernel lock.
                crate::socket::serialize();
                let loc = cx.fs.ok_or(Errno::EINVAL)?.lookup(p, true)?;
                let m = loc.inode().metadata();
                if m.kind != FileKind::Socket {
                    return Err(Errno::ECONNREFUSED);
                }
                NameKey::Node(m.dev.major, m.dev.minor, m.ino)
            }
        };
        let target = self.ns.lookup(&key).ok_or(Errno::ECONNREFUSED)?;
        if target.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        Ok(target)
    }

    fn queue_full(&self, rx: &Rx, add: usize) -> bool {
        if self.kind == n::SOCK_DGRAM {
            rx.msgs.len() >= DGRAM_QLEN
        } else {
            rx.bytes > 0 && rx.bytes + add > STREAM_CAP
        }
    }

    /// How many bytes of `msg[done..]` a stream delivery to `to` takes now: `EAGAIN` if the
    /// queue is full, `EPIPE` if `to` reads no more.
    fn stream_room(
        &self,
        to: &UnixSocket,
        msg: &Outgoing<'_>,
        done: usize,
    ) -> Result<usize, Errno> {
        let rx = to.rx.lock();
        if rx.rcv_shut {
            return Err(Errno::EPIPE);
        }
        let room = STREAM_CAP.saturating_sub(rx.bytes);
        let take = (msg.data.len() - done).min(room.max(if rx.bytes == 0 { 1 } else { 0 }));
        if take == 0 && msg.data.len() > done {
            return Err(Errno::EAGAIN);
        }
        Ok(take)
    }

    /// Delivers what fits now of a stream's `msg[done..]` to `to`: the bytes taken. The
    /// bytes are copied from the app with no lock held, then queued.
    fn deliver_stream(
        &self,
        to: &UnixSocket,
        msg: &Outgoing<'_>,
        done: usize,
        rights: &mut Vec<Arc<OpenFile>>,
        from: &UnixName,
        cred: Ucred,
    ) -> Result<usize, Errno> {
        let take = self.stream_room(to, msg, done)?;
        // Fallible: up to 208 KiB, more than the heap's emergency reserve in a small VM.
        let mut data = crate::stack::try_zeroed(take).ok_or(Errno::ENOBUFS)?;
        let got = msg.data.fetch(done, &mut data)?;
        data.truncate(got);
        self.enqueue(to, &mut data, rights, from, cred)
    }

    /// Queues one whole message (already copied from the app; taken from `data` when
    /// queued) on `to`: its length, `EAGAIN` if the queue is full.
    fn enqueue(
        &self,
        to: &UnixSocket,
        data: &mut Vec<u8>,
        rights: &mut Vec<Arc<OpenFile>>,
        from: &UnixName,
        cred: Ucred,
    ) -> Result<usize, Errno> {
        let got = data.len();
        let mut rx = to.rx.lock();
        if self.connection_oriented() && rx.rcv_shut {
            return Err(Errno::EPIPE);
        }
        // A stream's room was checked before the copy: a concurrent sender may have taken
        // some since, and the queue goes over its bound by at most one chunk per sender.
        if self.kind != n::SOCK_STREAM && self.queue_full(&rx, got) {
            return Err(Errno::EAGAIN);
        }
        rx.bytes += got;
        rx.msgs.push_back(Msg {
            data: core::mem::take(data),
            off: 0,
            rights: core::mem::take(rights),
            from: from.clone(),
            cred,
        });
        drop(rx);
        to.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        Ok(got)
    }

    /// Takes what can be read now into `dst`: `Ok` with the message's info (a zero length at
    /// end of file), `EAGAIN` if nothing is there yet.
    ///
    /// In three steps, so that no lock but the staging one is held across the copy to the
    /// app: under the queue's lock the bytes are copied into the staging buffer, then to the
    /// app, then, under the queue's lock again, what reached the app is consumed. The
    /// staging lock is held throughout, so no other receiver consumes meanwhile (senders only
    /// append): the messages consumed are the ones copied.
    fn take(&self, dst: &mut dyn Sink, flags: u32) -> Result<Received, Errno> {
        let peek = flags & n::MSG_PEEK != 0;
        let passcred = self.opts.lock().passcred;
        let mut stage = lock_stage(&self.stage);
        let stream = self.kind == n::SOCK_STREAM;
        let room = dst.len();
        let mut out = Received::default();
        // What was staged: bytes from each message, in queue order.
        let mut plan: Vec<usize> = Vec::new();
        let mut full = 0usize;
        {
            let mut rx = self.rx.lock();
            if rx.msgs.is_empty() {
                if let Some(e) = rx.error.take() {
                    return Err(e);
                }
                if rx.rcv_shut {
                    return Ok(Received::default());
                }
                return Err(Errno::EAGAIN);
            }
            if !stream {
                let m = rx.msgs.front().expect("the queue is not empty");
                full = m.data.len();
                let k = full.min(room);
                stage.clear();
                stage.extend_from_slice(&m.data[..k]);
                plan.push(k);
                out.from = (m.from != UnixName::Unnamed).then(|| SockAddr::Unix(m.from.clone()));
                out.cred = passcred.then_some(m.cred);
                if peek {
                    out.rights = m.rights.clone();
                }
            } else {
                // A stream: join messages up to the room, stopping after one with files.
                stage.clear();
                for m in rx.msgs.iter() {
                    if stage.len() >= room {
                        break;
                    }
                    if !plan.is_empty() && !m.rights.is_empty() {
                        break;
                    }
                    let avail = &m.data[m.off..];
                    let k = avail.len().min(room - stage.len());
                    stage.extend_from_slice(&avail[..k]);
                    plan.push(k);
                    if out.cred.is_none() && passcred {
                        out.cred = Some(m.cred);
                    }
                    if !m.rights.is_empty() {
                        if peek {
                            out.rights = m.rights.clone();
                        }
                        break;
                    }
                    if k < avail.len() {
                        break;
                    }
                }
            }
        }
        let staged = stage.len();
        let stored = if staged == 0 {
            0
        } else {
            dst.fill(0, &stage[..staged])?
        };
        if !stream {
            out.len = if flags & n::MSG_TRUNC != 0 {
                full
            } else {
                stored
            };
            if full > stored {
                out.flags |= n::MSG_TRUNC;
            }
        } else {
            out.len = stored;
        }
        if peek {
            return Ok(out);
        }
        // Still under the staging lock: let go before consuming, another receiver would copy
        // the same message and then consume the next, which nobody read.
        let mut rx = self.rx.lock();
        if !stream {
            let m = rx
                .msgs
                .pop_front()
                .expect("only the staging lock's holder consumes");
            rx.bytes -= m.data.len();
            out.rights = m.rights;
        } else {
            let mut left = stored;
            for want in plan {
                let m = rx
                    .msgs
                    .front_mut()
                    .expect("only the staging lock's holder consumes");
                let k = want.min(left);
                if k == 0 && want > 0 {
                    break;
                }
                m.off += k;
                left -= k;
                if !m.rights.is_empty() {
                    out.rights = core::mem::take(&mut m.rights);
                }
                let emptied = m.off == m.data.len();
                rx.bytes -= k;
                if emptied {
                    rx.msgs.pop_front();
                }
                if k < want || !emptied {
                    break;
                }
            }
        }
        drop(rx);
        drop(stage);
        if !stream || stored > 0 {
            self.after_read();
        }
        Ok(out)
    }

    /// Tells writers waiting for room that some was made.
    fn after_read(&self) {
        self.queue.notify(PollEvents::OUT | PollEvents::WRNORM);
        if let Some(p) = self.peer() {
            p.queue.notify(PollEvents::OUT | PollEvents::WRNORM);
        }
    }

    fn bind_name(&self, cx: &Caller<'_>, name: UnixName) -> Result<(), Errno> {
        let mut st = self.st.lock();
        if st.key.is_some() {
            // Linux makes the node before it looks at the socket: an existing path is
            // EADDRINUSE even then.
            if let (UnixName::Path(p), Some(fs)) = (&name, cx.fs) {
                if fs.lookup(p, false).is_ok() {
                    return Err(Errno::EADDRINUSE);
                }
            }
            return Err(Errno::EINVAL);
        }
        let (name, key) = match name {
            UnixName::Unnamed => {
                // Autobind: five hex digits in the abstract namespace.
                loop {
                    let n = self.ns.next_auto.fetch_add(1, Ordering::Relaxed) & 0xfffff;
                    let a = format!("{n:05x}").into_bytes();
                    let key = NameKey::Abstract(a.clone());
                    if self.ns.lookup(&key).is_none() {
                        break (UnixName::Abstract(a), key);
                    }
                }
            }
            UnixName::Abstract(a) => {
                let key = NameKey::Abstract(a.clone());
                if self.ns.lookup(&key).is_some() {
                    return Err(Errno::EADDRINUSE);
                }
                (UnixName::Abstract(a), key)
            }
            UnixName::Path(p) => {
                let fs = cx.fs.ok_or(Errno::EINVAL)?;
                let start = if p.first() == Some(&b'/') {
                    fs.root()
                } else {
                    fs.cwd()
                };
                let parent = fs.walker().resolve_parent(&start, &p)?;
                let LastComponent::Name(last) = parent.last else {
                    return Err(Errno::EADDRINUSE);
                };
                match parent.dir.inode().lookup(&last) {
                    Ok(_) => return Err(Errno::EADDRINUSE),
                    Err(Errno::ENOENT) => {}
                    Err(e) => return Err(e),
                }
                parent.dir.check_writable()?;
                let attrs = NewAttrs {
                    perm: 0o777 & !fs.umask(),
                    uid: cx.cred.uid,
                    gid: cx.cred.gid,
                    now: fs.vfs().now(),
                };
                let inode = parent
                    .dir
                    .inode()
                    .create(&last, NewNode::Socket, &attrs)
                    .map_err(|e| {
                        if e == Errno::EEXIST {
                            Errno::EADDRINUSE
                        } else {
                            e
                        }
                    })?;
                let m = inode.metadata();
                (
                    UnixName::Path(p),
                    NameKey::Node(m.dev.major, m.dev.minor, m.ino),
                )
            }
        };
        st.name = name;
        st.key = Some(key.clone());
        drop(st);
        self.ns.names.lock().insert(key, self.weak_self());
        Ok(())
    }

    fn weak_self(&self) -> Weak<UnixSocket> {
        self.me.clone()
    }
}

fn link(a: &Arc<UnixSocket>, b: &Arc<UnixSocket>) {
    let (ca, cb) = (a.st.lock().cred, b.st.lock().cred);
    {
        let mut sa = a.st.lock();
        sa.conn = Conn::Connected(Arc::downgrade(b));
        sa.peer_cred = Some(cb);
    }
    let mut sb = b.st.lock();
    sb.conn = Conn::Connected(Arc::downgrade(a));
    sb.peer_cred = Some(ca);
}

/// A sink seen from an offset on (for MSG_WAITALL).
struct Offset<'a> {
    inner: &'a mut dyn Sink,
    at: usize,
}

impl Sink for Offset<'_> {
    fn len(&self) -> usize {
        self.inner.len() - self.at
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        self.inner.fill(self.at + at, src)
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        // The queued messages may hold the last references to files passed with
        // `SCM_RIGHTS`; an unlocked call may drop the last reference to a peer.
        crate::socket::serialize();
        let st = self.st.get_mut();
        if let Some(key) = st.key.take() {
            let mut names = self.ns.names.lock();
            if names
                .get(&key)
                .is_some_and(|w| w.as_ptr() == self.me.as_ptr())
            {
                names.remove(&key);
            }
        }
        let conn = core::mem::replace(&mut st.conn, Conn::Idle);
        let embryo = st.embryo;
        if let Conn::Connected(peer) = conn {
            if self.kind != n::SOCK_DGRAM {
                if let Some(p) = peer.upgrade() {
                    let unread = !self.rx.get_mut().msgs.is_empty() || embryo;
                    {
                        let mut prx = p.rx.lock();
                        prx.rcv_shut = true;
                        prx.snd_shut = true;
                        if unread {
                            prx.error = Some(Errno::ECONNRESET);
                        }
                    }
                    p.queue.notify(PollEvents::empty());
                }
            }
        }
    }
}

mod ops;

#[cfg(test)]
mod tests;
