//! The handlers through fake user memory: argument checks in Linux's order, addresses and
//! option values written back, ancillary data.

use super::*;
use crate::stack::NoTimer;
use oxv_abi::linux::fs::Iovec;
use oxv_abi::linux::net::{CmsgHdr, MmsgHdr, MsgHdr, cmsg_align};
use oxv_abi::user::fake::FakeUserMemory;
use oxv_vfs::fake::{FakeBlocker, FakeClock};
use oxv_vfs::node::DeviceId;
use oxv_vfs::time::Timestamp;
use oxv_vfs::tmpfs::Tmpfs;
use oxv_vfs::{FsContext, Vfs};

const MEM: u64 = 0x10000;

struct World {
    net: Arc<Net>,
    files: FdTable,
    fs: FsContext,
    mem: FakeUserMemory,
}

impl World {
    fn new() -> World {
        Self::with_blocker(FakeBlocker::new())
    }

    fn with_blocker(blocker: FakeBlocker) -> World {
        let root = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH);
        let mut mem = FakeUserMemory::new();
        mem.map(MEM, 0x10000, true);
        World {
            net: Net::new(Arc::new(blocker), Arc::new(NoTimer), 3),
            files: FdTable::new(),
            fs: FsContext::new(Vfs::new(root, FakeClock::at(0))),
            mem,
        }
    }

    fn cx(&self) -> SocketCx<'_> {
        SocketCx {
            net: &self.net,
            files: &self.files,
            fs: &self.fs,
            cred: Ucred {
                pid: 42,
                uid: 0,
                gid: 0,
            },
        }
    }
}

fn int_at(mem: &FakeUserMemory, at: u64) -> i32 {
    i32::from_ne_bytes(mem.peek(at, 4).try_into().unwrap())
}

#[test]
fn socket_checks_flags_then_family() {
    let w = World::new();
    let cx = w.cx();
    assert_eq!(
        socket(&cx, 4242, (n::SOCK_STREAM | 0x100) as i32, 0),
        Err(Errno::EINVAL),
        "type flags come first"
    );
    assert_eq!(
        socket(&cx, 4242, n::SOCK_STREAM as i32, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    let fd = socket(
        &cx,
        n::AF_INET as i32,
        (n::SOCK_DGRAM | n::SOCK_CLOEXEC | n::SOCK_NONBLOCK) as i32,
        0,
    )
    .unwrap() as i32;
    assert_eq!(w.files.cloexec(fd), Ok(true));
    assert!(w.files.get(fd).unwrap().is_nonblocking());
    assert_eq!(
        w.files.get(fd).unwrap().stat().unwrap().kind,
        oxv_vfs::FileKind::Socket
    );
}

#[test]
fn calls_on_other_files_are_enotsock() {
    let mut w = World::new();
    let f =
        w.fs.open(
            b"/f",
            oxv_abi::linux::fs::OpenFlags::CREAT | oxv_abi::linux::fs::OpenFlags::RDWR,
            0o600,
        )
        .unwrap();
    let fd = w.files.insert(f, false).unwrap();
    let cx = w.cx();
    assert_eq!(listen(&cx, fd, 1), Err(Errno::ENOTSOCK));
    assert_eq!(listen(&cx, 99, 1), Err(Errno::EBADF));
    let mut mem = core::mem::take(&mut w.mem);
    assert_eq!(
        getsockname(
            &w.cx(),
            &mut mem,
            fd,
            UserAddr::new(MEM),
            UserPtr::new(MEM + 0x100)
        ),
        Err(Errno::ENOTSOCK)
    );
}

#[test]
fn getsockname_truncates_and_reports_the_length() {
    let mut w = World::new();
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    let fd = socket(&cx, n::AF_INET as i32, n::SOCK_DGRAM as i32, 0).unwrap() as i32;
    let addr = crate::addr::SockAddr::Inet {
        addr: [127, 0, 0, 1],
        port: 0,
    }
    .to_bytes();
    mem.poke(MEM, &addr);
    assert_eq!(bind(&cx, &mem, fd, UserAddr::new(MEM), 16), Ok(0));
    assert_eq!(
        bind(&cx, &mem, fd, UserAddr::new(MEM), 3),
        Err(Errno::EINVAL),
        "too short"
    );
    mem.poke(MEM + 0x100, &4i32.to_ne_bytes());
    mem.poke(MEM + 0x200, &[0xaa; 16]);
    getsockname(
        &cx,
        &mut mem,
        fd,
        UserAddr::new(MEM + 0x200),
        UserPtr::new(MEM + 0x100),
    )
    .unwrap();
    assert_eq!(int_at(&mem, MEM + 0x100), 16, "the full length");
    assert_eq!(
        mem.peek(MEM + 0x204, 2),
        [0xaa, 0xaa],
        "only 4 bytes written"
    );
}

#[test]
fn options_through_memory() {
    let mut w = World::new();
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    let fd = socket(&cx, n::AF_INET as i32, n::SOCK_STREAM as i32, 0).unwrap() as i32;
    let (val, len) = (MEM, MEM + 0x10);
    mem.poke(len, &2i32.to_ne_bytes());
    getsockopt(
        &cx,
        &mut mem,
        fd,
        n::SOL_SOCKET as i32,
        n::SO_TYPE as i32,
        UserAddr::new(val),
        UserPtr::new(len),
    )
    .unwrap();
    assert_eq!(int_at(&mem, len), 2, "cut to the room");
    mem.poke(val, &1i32.to_ne_bytes());
    assert_eq!(
        setsockopt(
            &cx,
            &mem,
            fd,
            n::SOL_SOCKET as i32,
            4242,
            UserAddr::new(val),
            4
        ),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        setsockopt(
            &cx,
            &mem,
            fd,
            n::SOL_SOCKET as i32,
            n::SO_REUSEADDR as i32,
            UserAddr::new(val),
            -1
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        setsockopt(
            &cx,
            &mem,
            fd,
            n::SOL_SOCKET as i32,
            n::SO_REUSEADDR as i32,
            UserAddr::new(0x10),
            4
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        shutdown(&cx, fd, 3),
        Err(Errno::EINVAL),
        "how is checked after the fd"
    );
}

/// Writes a `struct msghdr` with one iovec and a control buffer; returns its address.
fn msghdr(mem: &mut FakeUserMemory, at: u64, data: (u64, u64), ctl: (u64, u64)) -> u64 {
    let iov = Iovec {
        iov_base: data.0,
        iov_len: data.1,
    };
    mem.poke(at + 0x100, zerocopy::IntoBytes::as_bytes(&iov));
    let h = MsgHdr {
        msg_iov: at + 0x100,
        msg_iovlen: 1,
        msg_control: ctl.0,
        msg_controllen: ctl.1,
        ..MsgHdr::default()
    };
    mem.poke(at, zerocopy::IntoBytes::as_bytes(&h));
    at
}

#[test]
fn rights_are_installed_and_cut_to_the_control_room() {
    let mut w = World::new();
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    socketpair(
        &cx,
        &mut mem,
        n::AF_UNIX as i32,
        n::SOCK_STREAM as i32,
        0,
        UserPtr::new(MEM),
    )
    .unwrap();
    let (a, b) = (int_at(&mem, MEM), int_at(&mem, MEM + 4));
    // Send fds a and b in one SCM_RIGHTS message.
    let cm = CmsgHdr {
        cmsg_len: (size_of::<CmsgHdr>() + 8) as u64,
        cmsg_level: n::SOL_SOCKET as i32,
        cmsg_type: n::SCM_RIGHTS as i32,
    };
    let ctl = MEM + 0x1000;
    mem.poke(ctl, zerocopy::IntoBytes::as_bytes(&cm));
    mem.poke(ctl + 16, &[a.to_ne_bytes(), b.to_ne_bytes()].concat());
    mem.poke(MEM + 0x2000, b"x");
    let m = msghdr(
        &mut mem,
        MEM + 0x3000,
        (MEM + 0x2000, 1),
        (ctl, cmsg_align(24) as u64),
    );
    assert_eq!(msg::sendmsg(&cx, &mem, a, UserPtr::new(m), 0), Ok(1));
    // Receive with room for one fd only.
    let room = (size_of::<CmsgHdr>() + 4) as u64;
    let r = msghdr(
        &mut mem,
        MEM + 0x4000,
        (MEM + 0x5000, 8),
        (MEM + 0x6000, room),
    );
    assert_eq!(
        msg::recvmsg(&cx, &mut mem, b, UserPtr::new(r), n::MSG_CMSG_CLOEXEC),
        Ok(1)
    );
    let back = UserPtr::<MsgHdr>::new(r).read(&mem).unwrap();
    assert_eq!(back.msg_flags & n::MSG_CTRUNC, n::MSG_CTRUNC);
    assert_eq!(back.msg_controllen, 20);
    let fd = int_at(&mem, MEM + 0x6000 + 16);
    assert!(fd > b);
    assert_eq!(w.files.cloexec(fd), Ok(true));
    assert_eq!(
        w.files.fds().len(),
        3,
        "the second fd was closed, not installed"
    );
}

#[test]
fn unnamed_senders_have_no_address() {
    let mut w = World::new();
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    socketpair(
        &cx,
        &mut mem,
        n::AF_UNIX as i32,
        n::SOCK_DGRAM as i32,
        0,
        UserPtr::new(MEM),
    )
    .unwrap();
    let (a, b) = (int_at(&mem, MEM), int_at(&mem, MEM + 4));
    mem.poke(MEM + 0x100, b"hey");
    sendto(
        &cx,
        &mem,
        a,
        UserBuf::new(MEM + 0x100, 3),
        0,
        UserAddr::NULL,
        0,
    )
    .unwrap();
    mem.poke(MEM + 0x200, &110i32.to_ne_bytes());
    let n = recvfrom(
        &cx,
        &mut mem,
        b,
        UserBuf::new(MEM + 0x300, 8),
        0,
        UserAddr::new(MEM + 0x400),
        UserPtr::new(MEM + 0x200),
    );
    assert_eq!(n, Ok(3));
    assert_eq!(int_at(&mem, MEM + 0x200), 0);
}

#[test]
fn batches_count_messages() {
    batch_of_three(FakeBlocker::new(), 3);
}

#[test]
fn a_batch_stops_when_the_sender_is_being_killed() {
    // Killed after its first message: the rest are not queued (each would hold kernel
    // memory until the socket is closed).
    let blocker = FakeBlocker::new();
    blocker.kill_after(1);
    batch_of_three(blocker.clone(), 1);
    blocker.kill_after(0);
    batch_of_three(blocker, 0);
}

/// Sends three 2-byte datagrams with one sendmmsg(2) (which must send `sent`) and receives
/// them.
fn batch_of_three(blocker: FakeBlocker, sent: usize) {
    let mut w = World::with_blocker(blocker);
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    socketpair(
        &cx,
        &mut mem,
        n::AF_UNIX as i32,
        n::SOCK_DGRAM as i32,
        0,
        UserPtr::new(MEM),
    )
    .unwrap();
    let (a, b) = (int_at(&mem, MEM), int_at(&mem, MEM + 4));
    mem.poke(MEM + 0x100, b"abcdef");
    let vec = MEM + 0x1000;
    for i in 0..3u64 {
        let iov_at = MEM + 0x2000 + i * 16;
        let iov = Iovec {
            iov_base: MEM + 0x100 + i * 2,
            iov_len: 2,
        };
        mem.poke(iov_at, zerocopy::IntoBytes::as_bytes(&iov));
        let m = MmsgHdr {
            msg_hdr: MsgHdr {
                msg_iov: iov_at,
                msg_iovlen: 1,
                ..MsgHdr::default()
            },
            ..MmsgHdr::default()
        };
        mem.poke(vec + i * 64, zerocopy::IntoBytes::as_bytes(&m));
    }
    let r = msg::sendmmsg(&cx, &mut mem, a, UserPtr::new(vec), 3, 0);
    if sent == 0 {
        assert_eq!(r, Err(Errno::EINTR));
        return;
    }
    assert_eq!(r, Ok(sent));
    if sent < 3 {
        assert_eq!(
            msg::recvmmsg(
                &cx,
                &mut mem,
                b,
                UserPtr::new(vec),
                3,
                n::MSG_DONTWAIT,
                UserPtr::new(0)
            ),
            Ok(sent)
        );
        return;
    }
    assert_eq!(
        msg::recvmmsg(
            &cx,
            &mut mem,
            b,
            UserPtr::new(vec),
            3,
            n::MSG_DONTWAIT,
            UserPtr::new(0)
        ),
        Ok(3)
    );
    assert_eq!(
        msg::recvmmsg(
            &cx,
            &mut mem,
            b,
            UserPtr::new(vec),
            3,
            n::MSG_DONTWAIT,
            UserPtr::new(0)
        ),
        Err(Errno::EAGAIN),
        "nothing left: the first message's error"
    );
}

/// Writes `segs` as `struct iovec`s at `at`.
fn iovecs(mem: &mut FakeUserMemory, at: u64, segs: &[(u64, u64)]) {
    for (i, &(base, len)) in segs.iter().enumerate() {
        let v = Iovec {
            iov_base: base,
            iov_len: len,
        };
        mem.poke(
            at + (i * size_of::<Iovec>()) as u64,
            zerocopy::IntoBytes::as_bytes(&v),
        );
    }
}

#[test]
fn readv_and_writev_move_one_datagram_across_all_buffers() {
    let mut w = World::new();
    let mut mem = core::mem::take(&mut w.mem);
    let cx = w.cx();
    socketpair(
        &cx,
        &mut mem,
        n::AF_UNIX as i32,
        (n::SOCK_DGRAM | n::SOCK_NONBLOCK) as i32,
        0,
        UserPtr::new(MEM),
    )
    .unwrap();
    let (a, b) = (int_at(&mem, MEM), int_at(&mem, MEM + 4));
    mem.poke(MEM + 0x1000, b"abc");
    mem.poke(MEM + 0x1100, b"defgh");
    iovecs(
        &mut mem,
        MEM + 0x2000,
        &[(MEM + 0x1000, 3), (MEM + 0x1100, 5)],
    );
    assert_eq!(
        writev(w.cx().files, &mem, a, UserPtr::new(MEM + 0x2000), 2),
        Some(Ok(8)),
        "one datagram of both buffers"
    );
    mem.poke(MEM + 0x1000, b"second");
    iovecs(&mut mem, MEM + 0x2000, &[(MEM + 0x1000, 6)]);
    assert_eq!(
        writev(w.cx().files, &mem, a, UserPtr::new(MEM + 0x2000), 1),
        Some(Ok(6))
    );
    // Two buffers of 2 and 16 bytes: the first datagram fills them, the second stays.
    iovecs(
        &mut mem,
        MEM + 0x2000,
        &[(MEM + 0x3000, 2), (MEM + 0x3100, 16)],
    );
    assert_eq!(
        readv(w.cx().files, &mut mem, b, UserPtr::new(MEM + 0x2000), 2),
        Some(Ok(8))
    );
    assert_eq!(
        [mem.peek(MEM + 0x3000, 2), mem.peek(MEM + 0x3100, 6)].concat(),
        b"abcdefgh"
    );
    assert_eq!(
        readv(w.cx().files, &mut mem, b, UserPtr::new(MEM + 0x2000), 0),
        Some(Ok(0)),
        "no buffers take nothing"
    );
    assert_eq!(
        readv(w.cx().files, &mut mem, b, UserPtr::new(MEM + 0x2000), 2),
        Some(Ok(6))
    );
    assert_eq!(mem.peek(MEM + 0x3100, 4), b"cond");
    assert_eq!(
        readv(w.cx().files, &mut mem, b, UserPtr::new(MEM + 0x2000), 2),
        Some(Err(Errno::EAGAIN))
    );
    assert_eq!(
        readv(
            w.cx().files,
            &mut mem,
            b,
            UserPtr::new(MEM + 0x2000),
            UIO_MAXIOV as u64 + 1
        ),
        Some(Err(Errno::EINVAL))
    );
    assert_eq!(
        readv(w.cx().files, &mut mem, 99, UserPtr::new(MEM + 0x2000), 1),
        None,
        "not a socket: the file system's readv(2)"
    );
}
