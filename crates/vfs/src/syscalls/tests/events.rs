//! The pipe, event-file and readiness system calls through their handlers: pipe2, eventfd2,
//! epoll_*, select, timerfd_*, signalfd4, memfd_create and close_range, with the app's memory
//! faked and a fake blocker.

use super::*;
use crate::blocker::Blocker;
use crate::epoll::{EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, EPOLLOUT, EpollEvent};
use crate::readiness::PollQueue;
use crate::signalfd::{SignalSource, SignalfdSiginfo};
use crate::syscalls::select::FdSets;
use crate::timerfd::TimerFdClock;
use crate::timerfd::fake::FakeTimers;
use oxv_abi::linux::signal::SigSet;
use oxv_abi::linux::timer::Itimerspec;
use spin::Mutex;

fn blocker() -> Arc<dyn Blocker> {
    Arc::new(FakeBlocker::new())
}

/// Makes a pipe; returns (read fd, write fd).
fn pipe(w: &mut World, flags: u32) -> (i32, i32) {
    let at = UserPtr::<[i32; 2]>::new(OUT);
    pipe::pipe2(&w.cx, &w.files, &mut w.mem, &blocker(), at, flags).unwrap();
    let [r, wr] = at.read(&w.mem).unwrap();
    (r, wr)
}

fn write(w: &mut World, fd: i32, data: &[u8]) -> SysResult {
    w.mem.poke(BUF, data);
    read_write::write(
        &w.files,
        &mut w.mem,
        fd,
        UserBuf::new(BUF, data.len() as u64),
    )
}

fn read(w: &mut World, fd: i32, n: usize) -> Result<Vec<u8>, Errno> {
    let got = read_write::read(&w.files, &mut w.mem, fd, UserBuf::new(BUF, n as u64))?;
    Ok(w.mem.peek(BUF, got))
}

#[test]
fn pipe2_flags_and_errors() {
    let mut w = World::new();
    let (r, wr) = pipe(&mut w, (OpenFlags::CLOEXEC | OpenFlags::NONBLOCK).bits());
    assert_eq!((r, wr), (3, 4), "the two lowest free fds");
    assert_eq!(w.files.cloexec(r), Ok(true));
    assert_eq!(
        fcntl::fcntl(&w.files, r, oxv_abi::linux::fs::F_GETFL, 0),
        Ok(OpenFlags::NONBLOCK.bits() as usize)
    );
    assert_eq!(
        pipe::pipe2(
            &w.cx,
            &w.files,
            &mut w.mem,
            &blocker(),
            UserPtr::new(OUT),
            OpenFlags::APPEND.bits()
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        pipe::pipe2(
            &w.cx,
            &w.files,
            &mut w.mem,
            &blocker(),
            UserPtr::new(UNMAPPED),
            0
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        w.files.fds(),
        [0, 1, 2, 3, 4],
        "a faulted pipe2 leaves no fd behind"
    );
    assert_eq!(write(&mut w, wr, b"data"), Ok(4));
    assert_eq!(read(&mut w, r, 10), Ok(b"data".to_vec()));
    assert_eq!(
        lseek::lseek(&w.files, r, 0, oxv_abi::linux::fs::SEEK_SET),
        Err(Errno::ESPIPE)
    );
}

#[test]
fn pipe_size_fcntls() {
    let mut w = World::new();
    let (r, wr) = pipe(&mut w, 0);
    let get = linux_raw_sys::general::F_GETPIPE_SZ;
    let set = linux_raw_sys::general::F_SETPIPE_SZ;
    assert_eq!(fcntl::fcntl(&w.files, r, get, 0), Ok(65536));
    assert_eq!(fcntl::fcntl(&w.files, wr, set, 5000), Ok(8192));
    assert_eq!(
        fcntl::fcntl(&w.files, wr, set, 1 << 32 | 4096),
        Ok(4096),
        "the argument is an unsigned int"
    );
    let f = w.fd("/etc/motd", OpenFlags::empty());
    assert_eq!(fcntl::fcntl(&w.files, f, get, 0), Err(Errno::EBADF));
}

#[test]
fn eventfd2_through_the_fd_table() {
    let mut w = World::new();
    let fd =
        eventfd::eventfd2(&w.files, &blocker(), 5, crate::eventfd::EFD_NONBLOCK).unwrap() as i32;
    assert_eq!(read(&mut w, fd, 8), Ok(5u64.to_ne_bytes().to_vec()));
    assert_eq!(read(&mut w, fd, 8), Err(Errno::EAGAIN));
    assert_eq!(read(&mut w, fd, 4), Err(Errno::EINVAL));
    assert_eq!(
        eventfd::eventfd2(&w.files, &blocker(), 0, 0x4),
        Err(Errno::EINVAL)
    );
}

fn ctl(w: &mut World, ep: i32, op: i32, fd: i32, events: u32, data: u64) -> SysResult {
    let ev = UserPtr::<EpollEvent>::new(OUT + 0x800);
    ev.write(&mut w.mem, &EpollEvent { events, data }).unwrap();
    epoll::epoll_ctl(&w.files, &w.mem, ep, op, fd, ev)
}

fn wait(w: &mut World, ep: i32, max: i32) -> Result<Vec<(u32, u64)>, Errno> {
    let b = FakeBlocker::new();
    let n = epoll::epoll_wait(&w.files, &mut w.mem, &b, ep, UserAddr::new(OUT), max, 0)?;
    Ok((0..n)
        .map(|i| {
            let e = UserPtr::<EpollEvent>::new(OUT + 12 * i as u64)
                .read(&w.mem)
                .unwrap();
            (e.events, e.data)
        })
        .collect())
}

#[test]
fn epoll_syscalls_in_linux_error_order() {
    let mut w = World::new();
    let ep = epoll::epoll_create1(&w.files, 0).unwrap() as i32;
    let (r, wr) = pipe(&mut w, 0);
    let file = w.fd("/etc/motd", OpenFlags::empty());
    assert_eq!(epoll::epoll_create(&w.files, 0), Err(Errno::EINVAL));
    assert_eq!(epoll::epoll_create1(&w.files, 1), Err(Errno::EINVAL));
    assert_eq!(
        epoll::epoll_ctl(
            &w.files,
            &w.mem,
            99,
            EPOLL_CTL_ADD,
            r,
            UserPtr::new(UNMAPPED)
        ),
        Err(Errno::EFAULT),
        "the event is read before the fds are looked at"
    );
    assert_eq!(
        epoll::epoll_ctl(
            &w.files,
            &w.mem,
            ep,
            EPOLL_CTL_DEL,
            r,
            UserPtr::new(UNMAPPED)
        ),
        Err(Errno::ENOENT),
        "DEL reads no event"
    );
    assert_eq!(
        ctl(&mut w, 99, EPOLL_CTL_ADD, r, EPOLLIN, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        ctl(&mut w, ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        ctl(&mut w, ep, EPOLL_CTL_ADD, file, EPOLLIN, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        ctl(&mut w, r, EPOLL_CTL_ADD, file, EPOLLIN, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        ctl(&mut w, r, EPOLL_CTL_ADD, wr, EPOLLIN, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ctl(&mut w, ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(ctl(&mut w, ep, 9, r, EPOLLIN, 0), Err(Errno::EINVAL));
    assert_eq!(ctl(&mut w, ep, EPOLL_CTL_ADD, r, EPOLLIN, 7), Ok(0));
    assert_eq!(ctl(&mut w, ep, EPOLL_CTL_ADD, wr, EPOLLOUT, 8), Ok(0));
    assert_eq!(wait(&mut w, ep, 4), Ok(vec![(EPOLLOUT, 8)]));
    write(&mut w, wr, b"x").unwrap();
    let mut got = wait(&mut w, ep, 4).unwrap();
    got.sort();
    assert_eq!(got, [(EPOLLIN, 7), (EPOLLOUT, 8)]);
    assert_eq!(ctl(&mut w, ep, EPOLL_CTL_DEL, wr, 0, 0), Ok(0));
    assert_eq!(wait(&mut w, ep, 0), Err(Errno::EINVAL));
    assert_eq!(wait(&mut w, 99, 1), Err(Errno::EBADF));
    assert_eq!(wait(&mut w, r, 1), Err(Errno::EINVAL));
    let b = FakeBlocker::new();
    assert_eq!(
        epoll::epoll_wait(&w.files, &mut w.mem, &b, ep, UserAddr::new(KERNEL), 1, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        epoll::epoll_wait(&w.files, &mut w.mem, &b, ep, UserAddr::new(RO), 1, 0),
        Err(Errno::EFAULT),
        "an event that cannot be copied out"
    );
}

fn sets(w: &mut World, read_bits: u64, write_bits: u64) -> FdSets {
    w.mem.poke(OUT, &read_bits.to_le_bytes());
    w.mem.poke(OUT + 8, &write_bits.to_le_bytes());
    FdSets {
        read: UserAddr::new(OUT),
        write: UserAddr::new(OUT + 8),
        except: UserAddr::new(0),
    }
}

fn set_bits(w: &World) -> (u64, u64) {
    let r = u64::from_le_bytes(w.mem.peek(OUT, 8).try_into().unwrap());
    let wr = u64::from_le_bytes(w.mem.peek(OUT + 8, 8).try_into().unwrap());
    (r, wr)
}

#[test]
fn select_reports_ready_bits_and_counts_them() {
    let mut w = World::new();
    let (r, wr) = pipe(&mut w, 0);
    let b = FakeBlocker::new();
    let s = sets(&mut w, 1 << r, 1 << r | 1 << wr);
    let tv = UserPtr::new(0);
    assert_eq!(select::select(&w.files, &mut w.mem, &b, 5, s, tv), Ok(1));
    assert_eq!(set_bits(&w), (0, 1 << wr));
    write(&mut w, wr, b"x").unwrap();
    let s = sets(&mut w, 1 << r | 1 << wr, 1 << wr);
    assert_eq!(select::select(&w.files, &mut w.mem, &b, 5, s, tv), Ok(2));
    assert_eq!(set_bits(&w), (1 << r, 1 << wr));
    let s = sets(&mut w, 1 << 9, 0);
    assert_eq!(
        select::select(&w.files, &mut w.mem, &b, 10, s, tv),
        Err(Errno::EBADF)
    );
    let zero = UserPtr::<oxv_abi::linux::time::Timeval>::new(OUT + 0x100);
    zero.write(&mut w.mem, &oxv_abi::linux::time::Timeval::default())
        .unwrap();
    assert_eq!(
        select::select(&w.files, &mut w.mem, &b, 3, s, zero),
        Ok(0),
        "bits at or past nfds are not looked at"
    );
    assert_eq!(
        select::select(&w.files, &mut w.mem, &b, -1, s, tv),
        Err(Errno::EINVAL)
    );
}

#[test]
fn select_timeouts_are_written_back() {
    let mut w = World::new();
    let (r, _wr) = pipe(&mut w, 0);
    let b = FakeBlocker::new();
    let tv = UserPtr::<oxv_abi::linux::time::Timeval>::new(OUT + 0x100);
    tv.write(
        &mut w.mem,
        &oxv_abi::linux::time::Timeval {
            tv_sec: 0,
            tv_usec: 1_500_000,
        },
    )
    .unwrap();
    let s = sets(&mut w, 1 << r, 0);
    assert_eq!(select::select(&w.files, &mut w.mem, &b, 5, s, tv), Ok(0));
    assert_eq!(
        b.now_ns(),
        1_500_000_000,
        "tv_usec past a second is carried"
    );
    assert_eq!(tv.read(&w.mem).unwrap().tv_usec, 0);
    tv.write(
        &mut w.mem,
        &oxv_abi::linux::time::Timeval {
            tv_sec: -1,
            tv_usec: 0,
        },
    )
    .unwrap();
    assert_eq!(
        select::select(&w.files, &mut w.mem, &b, 5, s, tv),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        select::select(&w.files, &mut w.mem, &b, 5, s, UserPtr::new(0)),
        Err(Errno::EINTR),
        "no timeout, nothing ready: only a signal ends it"
    );
}

#[test]
fn poll_wakes_when_a_pipe_gets_data() {
    let mut w = World::new();
    let (r, wr) = pipe(&mut w, 0);
    let writer = w.files.get(wr).unwrap();
    let b = FakeBlocker::on_wait(move |n| {
        if n == 2 {
            writer.write(&crate::io::WriteBuf::kernel(b"!")).unwrap();
        }
    });
    let fds = UserPtr::<oxv_abi::linux::fs::Pollfd>::new(OUT);
    fds.write(
        &mut w.mem,
        &oxv_abi::linux::fs::Pollfd {
            fd: r,
            events: PollEventsBits::IN,
            revents: 0,
        },
    )
    .unwrap();
    assert_eq!(poll::poll(&w.files, &mut w.mem, &b, fds, 1, -1), Ok(1));
    assert_eq!(b.waits(), 2);
    assert_eq!(b.unparks(), 1, "the write unparked the poller");
}

struct PollEventsBits;
impl PollEventsBits {
    const IN: i16 = oxv_abi::linux::fs::PollEvents::IN.bits() as i16;
}

#[test]
fn timerfd_syscalls() {
    let mut w = World::new();
    let timers = FakeTimers::new();
    let backend: Arc<dyn TimerFdClock> = timers.clone();
    let fd = timerfd::timerfd_create(
        &w.files,
        &backend,
        &blocker(),
        1,
        crate::timerfd::TFD_NONBLOCK,
    )
    .unwrap() as i32;
    assert_eq!(
        timerfd::timerfd_create(&w.files, &backend, &blocker(), 2, 0),
        Err(Errno::EINVAL),
        "CLOCK_PROCESS_CPUTIME_ID"
    );
    let spec = UserPtr::<Itimerspec>::new(OUT);
    let old = UserPtr::<Itimerspec>::new(OUT + 0x100);
    spec.write(
        &mut w.mem,
        &Itimerspec {
            it_interval: oxv_abi::linux::time::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: oxv_abi::linux::time::Timespec {
                tv_sec: 2,
                tv_nsec: 0,
            },
        },
    )
    .unwrap();
    assert_eq!(
        timerfd::timerfd_settime(&w.files, &mut w.mem, fd, 4, spec, old),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        timerfd::timerfd_settime(&w.files, &mut w.mem, 99, 0, spec, old),
        Err(Errno::EBADF)
    );
    assert_eq!(
        timerfd::timerfd_settime(&w.files, &mut w.mem, 0, 0, spec, old),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        timerfd::timerfd_settime(&w.files, &mut w.mem, fd, 0, spec, old),
        Ok(0)
    );
    assert_eq!(old.read(&w.mem).unwrap(), Itimerspec::default());
    assert_eq!(read(&mut w, fd, 8), Err(Errno::EAGAIN));
    let id = crate::timerfd::TimerFd::of(&w.files.get(fd).unwrap())
        .unwrap()
        .id();
    timers.fire(id, 3);
    assert_eq!(read(&mut w, fd, 8), Ok(3u64.to_ne_bytes().to_vec()));
    assert_eq!(
        timerfd::timerfd_gettime(&w.files, &mut w.mem, fd, old),
        Ok(0)
    );
    assert_eq!(
        old.read(&w.mem).unwrap().it_value.tv_sec,
        0,
        "a spent one-shot"
    );
    w.files.remove(fd).unwrap();
    assert!(timers.is_empty(), "closing the fd releases the timer");
}

/// Signals that tests queue by hand.
#[derive(Default)]
struct FakeSignals {
    pending: Mutex<Vec<u32>>,
    queue: PollQueue,
}

impl SignalSource for FakeSignals {
    fn dequeue(&self, mask: SigSet) -> Option<SignalfdSiginfo> {
        let mut p = self.pending.lock();
        let i = p.iter().position(|&s| mask.0 & (1 << (s - 1)) != 0)?;
        Some(SignalfdSiginfo {
            ssi_signo: p.remove(i),
            ..SignalfdSiginfo::default()
        })
    }

    fn pending(&self, mask: SigSet) -> bool {
        self.pending
            .lock()
            .iter()
            .any(|&s| mask.0 & (1 << (s - 1)) != 0)
    }

    fn queue(&self) -> &PollQueue {
        &self.queue
    }
}

#[test]
fn signalfd_syscalls() {
    let mut w = World::new();
    let sigs = Arc::new(FakeSignals::default());
    let source: Arc<dyn SignalSource> = sigs.clone();
    let mask = UserPtr::<SigSet>::new(OUT + 0x200);
    mask.write(&mut w.mem, &SigSet(1 << 9)).unwrap(); // SIGUSR1
    assert_eq!(
        signalfd::signalfd4(&w.files, &w.mem, &source, &blocker(), -1, mask, 4, 0),
        Err(Errno::EINVAL)
    );
    let fd = signalfd::signalfd4(
        &w.files,
        &w.mem,
        &source,
        &blocker(),
        -1,
        mask,
        8,
        crate::signalfd::SFD_NONBLOCK,
    )
    .unwrap() as i32;
    assert_eq!(read(&mut w, fd, 128), Err(Errno::EAGAIN));
    sigs.pending.lock().extend([12, 10, 10]);
    let got = read(&mut w, fd, 512).unwrap();
    assert_eq!(
        got.len(),
        256,
        "the two SIGUSR1s; SIGUSR2 is not in the mask"
    );
    assert_eq!(read(&mut w, fd, 64), Err(Errno::EINVAL));
    assert_eq!(
        signalfd::signalfd4(&w.files, &w.mem, &source, &blocker(), 0, mask, 8, 0),
        Err(Errno::EINVAL),
        "fd 0 is not a signalfd"
    );
    mask.write(&mut w.mem, &SigSet(1 << 11)).unwrap();
    assert_eq!(
        signalfd::signalfd4(&w.files, &w.mem, &source, &blocker(), fd, mask, 8, 0),
        Ok(fd as usize)
    );
    assert_eq!(
        read(&mut w, fd, 128).map(|v| v.len()),
        Ok(128),
        "now SIGUSR2"
    );
}

fn heap() -> Arc<dyn crate::tmpfs::FileMemory> {
    Arc::new(crate::tmpfs::HeapMemory::new())
}

#[test]
fn memfd_and_seals() {
    let mut w = World::new();
    let name = w.path("buf");
    let g = linux_raw_sys::general::F_GET_SEALS;
    let a = linux_raw_sys::general::F_ADD_SEALS;
    let fd = memfd::memfd_create(
        &w.cx,
        &w.files,
        &w.mem,
        &heap(),
        name,
        linux_raw_sys::general::MFD_ALLOW_SEALING,
    )
    .unwrap() as i32;
    assert_eq!(write(&mut w, fd, b"hello"), Ok(5));
    assert_eq!(fcntl::fcntl(&w.files, fd, g, 0), Ok(0));
    let grow = linux_raw_sys::general::F_SEAL_GROW as u64;
    let shrink = linux_raw_sys::general::F_SEAL_SHRINK as u64;
    assert_eq!(fcntl::fcntl(&w.files, fd, a, grow | shrink), Ok(0));
    assert_eq!(write(&mut w, fd, b"more"), Err(Errno::EPERM), "growing");
    assert_eq!(truncate::ftruncate(&w.files, fd, 2), Err(Errno::EPERM));
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 2), 0),
        Ok(2),
        "overwriting is fine"
    );
    assert_eq!(fcntl::fcntl(&w.files, fd, a, 1 << 20), Err(Errno::EINVAL));
    let seal = linux_raw_sys::general::F_SEAL_SEAL as u64;
    assert_eq!(fcntl::fcntl(&w.files, fd, a, seal), Ok(0));
    assert_eq!(fcntl::fcntl(&w.files, fd, a, grow), Err(Errno::EPERM));

    let name = w.path("plain");
    let plain = memfd::memfd_create(&w.cx, &w.files, &w.mem, &heap(), name, 0).unwrap() as i32;
    assert_eq!(fcntl::fcntl(&w.files, plain, g, 0), Ok(seal as usize));
    assert_eq!(fcntl::fcntl(&w.files, plain, a, grow), Err(Errno::EPERM));
    assert_eq!(fcntl::fcntl(&w.files, 0, g, 0), Err(Errno::EINVAL));
    let long = w.path(&"x".repeat(250));
    assert_eq!(
        memfd::memfd_create(&w.cx, &w.files, &w.mem, &heap(), long, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        memfd::memfd_create(&w.cx, &w.files, &w.mem, &heap(), name, 0x1000),
        Err(Errno::EINVAL)
    );
}

#[test]
fn close_range_closes_or_marks() {
    let w = World::new();
    for _ in 0..5 {
        w.files.insert(w.files.get(0).unwrap(), false).unwrap();
    }
    assert_eq!(dup::close_range(&w.files, 5, 3, 0), Err(Errno::EINVAL));
    assert_eq!(dup::close_range(&w.files, 0, 9, 1), Err(Errno::EINVAL));
    assert_eq!(
        dup::close_range(&w.files, 6, u32::MAX, dup::CLOSE_RANGE_CLOEXEC),
        Ok(0)
    );
    assert_eq!(w.files.cloexec(7), Ok(true));
    assert_eq!(w.files.cloexec(5), Ok(false));
    assert_eq!(dup::close_range(&w.files, 4, u32::MAX, 0), Ok(0));
    assert_eq!(w.files.fds(), [0, 1, 2, 3]);
}

#[test]
fn fd_table_size_grows_like_linux() {
    let w = World::new();
    assert_eq!(w.files.max_fds(), 64);
    w.files.install(64, w.files.get(0).unwrap(), false).unwrap();
    assert_eq!(w.files.max_fds(), 128);
    w.files
        .install(200, w.files.get(0).unwrap(), false)
        .unwrap();
    assert_eq!(w.files.max_fds(), 256);
}
