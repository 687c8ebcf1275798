//! AF_UNIX semantics, one concern per test: stream joining and end of file, seqpacket and
//! datagram boundaries, names, listen backlog, shutdown bits, fd passing, credentials.

use super::*;
use crate::socket::Caller;
use oxv_vfs::fake::FakeBlocker;
use oxv_vfs::file::PathFile;
use oxv_vfs::mount::FileSystem;
use oxv_vfs::node::DeviceId;
use oxv_vfs::time::Timestamp;
use oxv_vfs::tmpfs::Tmpfs;
use oxv_vfs::{FsContext, Vfs};

const CRED: Ucred = Ucred {
    pid: 7,
    uid: 0,
    gid: 0,
};

fn setup() -> (Arc<UnixNamespace>, Arc<dyn Blocker>) {
    (UnixNamespace::new(), Arc::new(FakeBlocker::new()))
}

fn sock(ns: &Arc<UnixNamespace>, b: &Arc<dyn Blocker>, kind: u32) -> Arc<UnixSocket> {
    UnixSocket::new(ns, b, kind, CRED)
}

fn fs() -> FsContext {
    let root = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH);
    FsContext::new(Vfs::new(root, oxv_vfs::fake::FakeClock::at(0)))
}

fn out<'a>(data: &'a &'a [u8], to: Option<SockAddr>) -> Outgoing<'a> {
    Outgoing {
        data,
        to,
        rights: Vec::new(),
        cred: None,
        flags: 0,
        cx: None,
    }
}

fn send(s: &UnixSocket, data: &[u8]) -> Result<usize, Errno> {
    s.send(out(&data, None), Wait::NONBLOCK)
}

fn recv(s: &UnixSocket, room: usize, flags: u32) -> Result<(Vec<u8>, Received), Errno> {
    let mut buf = alloc::vec![0u8; room];
    let r = s.recv(&mut buf, flags, Wait::NONBLOCK)?;
    buf.truncate(r.len.min(room));
    Ok((buf, r))
}

fn abstract_name(n: &[u8]) -> SockAddr {
    SockAddr::Unix(UnixName::Abstract(n.to_vec()))
}

#[test]
fn stream_pair_joins_writes_and_ends_with_eof() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    send(&x, b"ab").unwrap();
    send(&x, b"cd").unwrap();
    assert_eq!(y.bytes_readable(), 4);
    assert_eq!(recv(&y, 3, 0).unwrap().0, b"abc");
    assert_eq!(recv(&y, 8, n::MSG_PEEK).unwrap().0, b"d");
    assert_eq!(recv(&y, 8, 0).unwrap().0, b"d");
    assert_eq!(recv(&y, 8, 0).err(), Some(Errno::EAGAIN));
    drop(x);
    assert_eq!(recv(&y, 8, 0).unwrap().0, b"", "end of file");
    assert_eq!(send(&y, b"x"), Err(Errno::EPIPE));
    assert!(y.poll().contains(PollEvents::HUP | PollEvents::IN));
}

#[test]
fn closing_with_unread_data_resets_the_peer() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    send(&x, b"unread").unwrap();
    drop(y);
    assert_eq!(recv(&x, 8, 0).err(), Some(Errno::ECONNRESET));
}

#[test]
fn stream_flow_control_fills_then_drains() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    let big = alloc::vec![1u8; STREAM_CAP + 100];
    let first = send(&x, &big).unwrap();
    assert_eq!(first, STREAM_CAP, "a non-blocking send takes what fits");
    assert!(!x.poll().contains(PollEvents::OUT));
    assert_eq!(send(&x, b"more"), Err(Errno::EAGAIN));
    recv(&y, 1000, 0).unwrap();
    assert!(x.poll().contains(PollEvents::OUT));
}

#[test]
fn seqpacket_and_datagram_keep_boundaries() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_SEQPACKET, CRED);
    send(&x, b"one").unwrap();
    send(&x, b"three").unwrap();
    let (d, r) = recv(&y, 2, 0).unwrap();
    assert_eq!((&d[..], r.flags & n::MSG_TRUNC), (&b"on"[..], n::MSG_TRUNC));
    let (_, r) = recv(&y, 1, n::MSG_TRUNC).unwrap();
    assert_eq!(r.len, 5, "MSG_TRUNC reports the record's length");
    let (dx, dy) = UnixSocket::pair(&ns, &b, n::SOCK_DGRAM, CRED);
    send(&dx, b"").unwrap();
    let (d, r) = recv(&dy, 8, 0).unwrap();
    assert_eq!(
        (d.len(), r.from),
        (0, None),
        "empty datagram from an unnamed socket"
    );
}

#[test]
fn listen_accept_and_backlog() {
    let (ns, b) = setup();
    let cx = Caller::kernel(CRED);
    let l = sock(&ns, &b, n::SOCK_STREAM);
    assert_eq!(l.listen(&cx, 0), Err(Errno::EINVAL), "not bound");
    l.bind(&cx, abstract_name(b"srv")).unwrap();
    l.listen(&cx, 0).unwrap();
    let c1 = sock(&ns, &b, n::SOCK_STREAM);
    let c2 = sock(&ns, &b, n::SOCK_STREAM);
    c1.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK)
        .unwrap();
    assert_eq!(
        c2.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK),
        Err(Errno::EAGAIN),
        "backlog 0 holds one"
    );
    assert!(l.poll().contains(PollEvents::IN));
    let (s, peer) = l.accept(Wait::NONBLOCK).unwrap();
    assert_eq!(peer, SockAddr::Unix(UnixName::Unnamed));
    assert_eq!(s.local_addr(), abstract_name(b"srv"));
    assert_eq!(c1.peer_addr(), Ok(abstract_name(b"srv")));
    c2.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK)
        .unwrap();
    assert_eq!(
        c1.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK),
        Err(Errno::EISCONN)
    );
    let other = sock(&ns, &b, n::SOCK_DGRAM);
    assert_eq!(
        other.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK),
        Err(Errno::EPROTOTYPE)
    );
    let dup = sock(&ns, &b, n::SOCK_STREAM);
    assert_eq!(dup.bind(&cx, abstract_name(b"srv")), Err(Errno::EADDRINUSE));
    drop(l);
    let late = sock(&ns, &b, n::SOCK_STREAM);
    assert_eq!(
        late.connect(&cx, abstract_name(b"srv"), Wait::NONBLOCK),
        Err(Errno::ECONNREFUSED),
        "the name went with its socket"
    );
    assert_eq!(
        recv(&c2, 4, 0).err(),
        Some(Errno::ECONNRESET),
        "a connection never accepted is reset"
    );
}

#[test]
fn paths_make_socket_nodes() {
    let (ns, b) = setup();
    let fs = fs();
    let cx = Caller {
        fs: Some(&fs),
        cred: CRED,
    };
    let path = SockAddr::Unix(UnixName::Path(b"/s".to_vec()));
    let l = sock(&ns, &b, n::SOCK_DGRAM);
    l.bind(&cx, path.clone()).unwrap();
    let node = fs.lookup(b"/s", false).unwrap();
    assert_eq!(node.inode().kind(), FileKind::Socket);
    let again = sock(&ns, &b, n::SOCK_DGRAM);
    assert_eq!(again.bind(&cx, path.clone()), Err(Errno::EADDRINUSE));
    let c = sock(&ns, &b, n::SOCK_DGRAM);
    let caller = Caller {
        fs: Some(&fs),
        cred: CRED,
    };
    let data: &[u8] = b"to path";
    let msg = Outgoing {
        cx: Some(&caller),
        ..out(&data, Some(path.clone()))
    };
    c.send(msg, Wait::NONBLOCK).unwrap();
    let (d, _) = recv(&l, 16, 0).unwrap();
    assert_eq!(d, b"to path");
    drop(l);
    let data: &[u8] = b"x";
    let msg = Outgoing {
        cx: Some(&caller),
        ..out(&data, Some(path))
    };
    assert_eq!(c.send(msg, Wait::NONBLOCK), Err(Errno::ECONNREFUSED));
    let missing = SockAddr::Unix(UnixName::Path(b"/nope".to_vec()));
    assert_eq!(c.connect(&cx, missing, Wait::NONBLOCK), Err(Errno::ENOENT));
}

#[test]
fn autobind_gives_an_abstract_name() {
    let (ns, b) = setup();
    let cx = Caller::kernel(CRED);
    let s = sock(&ns, &b, n::SOCK_DGRAM);
    s.bind(&cx, SockAddr::Unix(UnixName::Unnamed)).unwrap();
    let SockAddr::Unix(UnixName::Abstract(name)) = s.local_addr() else {
        panic!("an abstract name");
    };
    assert_eq!(name.len(), 5);
    assert!(name.iter().all(u8::is_ascii_hexdigit));
}

#[test]
fn datagram_to_a_socket_connected_elsewhere_is_eperm() {
    let (ns, b) = setup();
    let cx = Caller::kernel(CRED);
    let a = sock(&ns, &b, n::SOCK_DGRAM);
    let c = sock(&ns, &b, n::SOCK_DGRAM);
    let d = sock(&ns, &b, n::SOCK_DGRAM);
    a.bind(&cx, abstract_name(b"a")).unwrap();
    c.bind(&cx, abstract_name(b"c")).unwrap();
    a.connect(&cx, abstract_name(b"c"), Wait::NONBLOCK).unwrap();
    assert_eq!(
        d.send(out(&&b"x"[..], Some(abstract_name(b"a"))), Wait::NONBLOCK),
        Err(Errno::EPERM)
    );
    c.send(out(&&b"ok"[..], Some(abstract_name(b"a"))), Wait::NONBLOCK)
        .unwrap();
    let (data, r) = recv(&a, 8, 0).unwrap();
    assert_eq!((&data[..], r.from), (&b"ok"[..], Some(abstract_name(b"c"))));
}

#[test]
fn shutdown_bits_cross_to_the_peer() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    x.shutdown(n::SHUT_WR).unwrap();
    assert_eq!(send(&x, b"a"), Err(Errno::EPIPE));
    assert_eq!(recv(&y, 4, 0).unwrap().0, b"", "the peer reads end of file");
    assert!(y.poll().contains(PollEvents::RDHUP));
    assert!(!x.poll().contains(PollEvents::HUP));
    y.shutdown(n::SHUT_WR).unwrap();
    assert!(
        x.poll().contains(PollEvents::HUP),
        "both directions closed for x"
    );
    y.shutdown(n::SHUT_RD).unwrap();
    assert_eq!(send(&y, b"late"), Err(Errno::EPIPE));
}

#[test]
fn rights_travel_with_their_message() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    let root = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH).root();
    let file = OpenFile::new(
        PathFile::new(root),
        oxv_abi::linux::fs::OpenFlags::PATH,
        None,
    );
    send(&x, b"before").unwrap();
    let data: &[u8] = b"fd";
    let with = Outgoing {
        rights: alloc::vec![file.clone()],
        ..out(&data, None)
    };
    x.send(with, Wait::NONBLOCK).unwrap();
    send(&x, b"after").unwrap();
    let (d, r) = recv(&y, 64, 0).unwrap();
    assert_eq!(
        (&d[..], r.rights.len()),
        (&b"before"[..], 0),
        "stops before the files"
    );
    let (d, r) = recv(&y, 64, 0).unwrap();
    assert_eq!(&d[..], b"fd");
    assert!(Arc::ptr_eq(&r.rights[0], &file), "the same open file");
    assert_eq!(recv(&y, 64, 0).unwrap().0, b"after");
}

#[test]
fn credentials() {
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    assert_eq!(x.peer_cred(), Some(CRED));
    y.opts().lock().passcred = true;
    send(&x, b"c").unwrap();
    let (_, r) = recv(&y, 4, 0).unwrap();
    assert_eq!(r.cred, Some(CRED));
}

/// A sink of `room` bytes whose copy faults after `ok` bytes (a user buffer with an
/// unmapped page in it).
struct Faulty {
    room: usize,
    ok: usize,
    got: Vec<u8>,
}

impl Sink for Faulty {
    fn len(&self) -> usize {
        self.room
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        let k = src.len().min(self.ok.saturating_sub(at));
        if k == 0 && !src.is_empty() {
            return Err(Errno::EFAULT);
        }
        self.got.extend_from_slice(&src[..k]);
        Ok(k)
    }
}

#[test]
fn stream_read_that_faults_part_way_consumes_only_what_reached_the_app() {
    let (ns, b) = setup();
    let (a, z) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    send(&a, b"hello ").unwrap();
    send(&a, b"world").unwrap();
    let mut sink = Faulty {
        room: 64,
        ok: 8,
        got: Vec::new(),
    };
    let r = z.recv(&mut sink, 0, Wait::NONBLOCK).unwrap();
    assert_eq!((r.len, &sink.got[..]), (8, &b"hello wo"[..]));
    let (rest, _) = recv(&z, 64, 0).unwrap();
    assert_eq!(rest, b"rld");
}

#[test]
fn datagram_read_that_faults_at_once_keeps_the_datagram() {
    let (ns, b) = setup();
    let (a, z) = UnixSocket::pair(&ns, &b, n::SOCK_DGRAM, CRED);
    send(&a, b"one").unwrap();
    send(&a, b"two").unwrap();
    let mut sink = Faulty {
        room: 64,
        ok: 0,
        got: Vec::new(),
    };
    assert_eq!(
        z.recv(&mut sink, 0, Wait::NONBLOCK).err(),
        Some(Errno::EFAULT)
    );
    assert_eq!(recv(&z, 64, 0).unwrap().0, b"one");
    assert_eq!(recv(&z, 64, 0).unwrap().0, b"two");
}

#[test]
fn a_peek_leaves_the_stream_as_it_was() {
    let (ns, b) = setup();
    let (a, z) = UnixSocket::pair(&ns, &b, n::SOCK_STREAM, CRED);
    send(&a, b"abc").unwrap();
    send(&a, b"def").unwrap();
    assert_eq!(recv(&z, 4, n::MSG_PEEK).unwrap().0, b"abcd");
    assert_eq!(recv(&z, 2, 0).unwrap().0, b"ab");
    assert_eq!(recv(&z, 64, n::MSG_PEEK).unwrap().0, b"cdef");
    assert_eq!(recv(&z, 64, 0).unwrap().0, b"cdef");
    assert_eq!(z.bytes_readable(), 0);
}

/// Two receivers on one datagram socket, two senders, on real threads: every datagram is
/// received exactly once. A receiver that let the staging lock go before consuming what it
/// had copied let the other copy the same datagram, and then consume the next one, which
/// nobody had read ("datagram 1 twice" in the guest's `net_smp` mix).
#[test]
fn two_receivers_on_one_datagram_socket_take_each_datagram_once() {
    extern crate std;
    use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
    const COUNT: usize = 200_000;
    let (ns, b) = setup();
    let (x, y) = UnixSocket::pair(&ns, &b, n::SOCK_DGRAM, CRED);
    let seen: Arc<Vec<AtomicU8>> = Arc::new((0..COUNT).map(|_| AtomicU8::new(0)).collect());
    let got = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for who in 0..2usize {
        let (x, stop) = (x.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            for seq in (who..COUNT).step_by(2) {
                let data = (seq as u32).to_ne_bytes();
                while send(&x, &data) == Err(Errno::EAGAIN) {
                    if stop.load(Ordering::SeqCst) {
                        return None;
                    }
                    std::thread::yield_now();
                }
            }
            None
        }));
        let (y, seen, got, done) = (y.clone(), seen.clone(), got.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                match recv(&y, 16, 0) {
                    Ok((d, _)) => {
                        let seq = u32::from_ne_bytes(d[..4].try_into().unwrap()) as usize;
                        if seen[seq].swap(1, Ordering::SeqCst) != 0 {
                            // One came twice: another never will; end the run.
                            done.store(true, Ordering::SeqCst);
                            return Some(seq);
                        }
                        if got.fetch_add(1, Ordering::SeqCst) + 1 == COUNT {
                            done.store(true, Ordering::SeqCst);
                        }
                    }
                    Err(Errno::EAGAIN) => std::thread::yield_now(),
                    Err(e) => panic!("recv: {e:?}"),
                }
            }
            None
        }));
    }
    for t in threads {
        let twice = t.join().expect("no thread failed");
        assert_eq!(twice, None, "a datagram was received twice");
    }
    assert_eq!(got.load(Ordering::SeqCst), COUNT);
}
