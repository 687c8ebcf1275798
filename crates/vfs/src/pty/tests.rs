//! Pty pair tests: the slave node's life, locking, both directions in raw and canonical
//! mode, echo, window size, readiness, and each side closing; then a blocked read woken by a
//! real thread.

use super::*;
use crate::fake::threads::ThreadBlocker;
use crate::fake::{FakeBlocker, FakeClock};
use crate::file::OpenFile;
use crate::mount::FileSystem;
use crate::tmpfs::Tmpfs;
use alloc::vec;
use oxv_abi::linux::fs::{TIOCGPGRP, TIOCSPGRP};
use oxv_abi::user::fake::FakeUserMemory;

struct Setup {
    dir: Arc<dyn Inode>,
    table: Arc<PtsTable>,
}

fn setup_with(blocker: Arc<dyn Blocker>) -> Setup {
    let clock = FakeClock::at(1_700_000_000);
    let fs = Tmpfs::new(DeviceId::new(0, 20), clock.now());
    let dir = fs.root();
    let table = PtsTable::new(dir.clone(), clock, blocker);
    Setup { dir, table }
}

fn setup() -> Setup {
    setup_with(Arc::new(FakeBlocker::new()))
}

fn file(ops: Arc<dyn FileOps>) -> Arc<OpenFile> {
    OpenFile::new_pseudo(ops, OpenFlags::RDWR | OpenFlags::NONBLOCK)
}

fn blocking(ops: Arc<dyn FileOps>) -> Arc<OpenFile> {
    OpenFile::new_pseudo(ops, OpenFlags::RDWR)
}

fn write(f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
    f.write(&WriteBuf::kernel(data))
}

fn read(f: &OpenFile, n: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    let got = f.read(&mut ReadBuf::kernel(&mut buf))?;
    buf.truncate(got);
    Ok(buf)
}

/// A master and an unlocked, opened slave, both non-blocking.
fn pair(s: &Setup) -> (Arc<OpenFile>, Arc<OpenFile>, Arc<PtyMaster>) {
    let m = s.table.open_master().unwrap();
    m.pair.state.lock().locked = false;
    let slave = s.table.open_slave(m.pair.index()).unwrap();
    (file(m.clone()), file(slave), m)
}

fn set_raw(m: &PtyMaster) {
    let mut st = m.pair.state.lock();
    let mut t = st.termios;
    t.c_iflag = 0;
    t.c_oflag = 0;
    t.c_lflag = 0;
    st.set_termios(t);
}

#[test]
fn the_slave_node_lives_while_the_master_is_open_and_numbers_are_reused() {
    let s = setup();
    let m0 = s.table.open_master().unwrap();
    let m1 = s.table.open_master().unwrap();
    assert_eq!((m0.pair.index(), m1.pair.index()), (0, 1));
    let node = s.dir.lookup(b"1").unwrap();
    let md = node.metadata();
    assert_eq!(
        (md.kind, md.rdev, md.perm, md.gid),
        (FileKind::CharDevice, DeviceId::new(136, 1), 0o620, 5)
    );
    m1.pair.state.lock().locked = false;
    let slave = s.table.open_slave(1).unwrap();
    drop(m1);
    assert_eq!(s.dir.lookup(b"1").err(), Some(Errno::ENOENT));
    // The slave still holds the pair: number 1 is not reused yet.
    assert_eq!(s.table.open_master().unwrap().pair.index(), 1 + 1);
    drop(slave);
    assert_eq!(s.table.open_master().unwrap().pair.index(), 1);
}

#[test]
fn a_locked_slave_and_a_slave_of_a_closed_master_fail_with_eio() {
    let s = setup();
    let m = s.table.open_master().unwrap();
    assert_eq!(s.table.open_slave(0).err(), Some(Errno::EIO));
    assert_eq!(s.table.open_slave(7).err(), Some(Errno::EIO));
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    mem.poke(0x1000, &0i32.to_ne_bytes());
    assert_eq!(m.ioctl(rawio::TIOCSPTLCK, 0x1000, &mut mem), Ok(0));
    assert_eq!(m.ioctl(rawio::TIOCGPTN, 0x1010, &mut mem), Ok(0));
    assert_eq!(mem.peek(0x1010, 4), 0u32.to_ne_bytes());
    assert!(s.table.open_slave(0).is_ok());
    drop(m);
    assert_eq!(s.table.open_slave(0).err(), Some(Errno::EIO));
}

#[test]
fn canonical_mode_delivers_lines_and_echoes_them_with_crnl() {
    let s = setup();
    let (m, sl, _) = pair(&s);
    assert_eq!(write(&m, b"ab"), Ok(2));
    assert_eq!(read(&sl, 10), Err(Errno::EAGAIN));
    assert!(!sl.ops().poll().contains(PollEvents::IN));
    assert_eq!(write(&m, b"x\x7fc\nde\n"), Ok(7));
    assert!(sl.ops().poll().contains(PollEvents::IN));
    assert_eq!(read(&sl, 10), Ok(b"abc\n".to_vec()));
    assert_eq!(read(&sl, 1), Ok(b"d".to_vec()));
    assert_eq!(read(&sl, 10), Ok(b"e\n".to_vec()));
    // Echo: the erased x is rubbed out, NL goes out as CR NL.
    assert_eq!(read(&m, 64), Ok(b"abx\x08 \x08c\r\nde\r\n".to_vec()));
    // ^D ends a line without itself, and on an empty line reads as end of file.
    assert_eq!(write(&m, b"hi\x04\x04"), Ok(4));
    assert_eq!(read(&sl, 10), Ok(b"hi".to_vec()));
    assert_eq!(read(&sl, 10), Ok(Vec::new()));
    assert_eq!(read(&sl, 10), Err(Errno::EAGAIN));
    // CR becomes NL (ICRNL).
    assert_eq!(write(&m, b"z\r"), Ok(2));
    assert_eq!(read(&sl, 10), Ok(b"z\n".to_vec()));
}

#[test]
fn raw_mode_passes_bytes_both_ways_unchanged_without_echo() {
    let s = setup();
    let (m, sl, mo) = pair(&s);
    set_raw(&mo);
    assert_eq!(write(&m, b"a\rb\n\x03"), Ok(5));
    assert_eq!(read(&sl, 3), Ok(b"a\rb".to_vec()));
    assert_eq!(read(&sl, 10), Ok(b"\n\x03".to_vec()));
    assert_eq!(read(&m, 10), Err(Errno::EAGAIN));
    assert_eq!(write(&sl, b"p\nq"), Ok(3));
    assert_eq!(read(&m, 10), Ok(b"p\nq".to_vec()));
}

#[test]
fn leaving_canonical_mode_makes_the_partial_line_readable() {
    let s = setup();
    let (m, sl, mo) = pair(&s);
    assert_eq!(write(&m, b"part"), Ok(4));
    set_raw(&mo);
    assert_eq!(read(&sl, 10), Ok(b"part".to_vec()));
}

#[test]
fn termios_and_window_size_are_shared_by_both_sides() {
    let s = setup();
    let (m, sl, _) = pair(&s);
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    let ws = Winsize {
        ws_row: 33,
        ws_col: 101,
        ..Winsize::default()
    };
    UserPtr::<Winsize>::new(0x1000)
        .write(&mut mem, &ws)
        .unwrap();
    assert_eq!(m.ops().ioctl(TIOCSWINSZ, 0x1000, &mut mem), Ok(0));
    assert_eq!(sl.ops().ioctl(TIOCGWINSZ, 0x1100, &mut mem), Ok(0));
    assert_eq!(UserPtr::<Winsize>::new(0x1100).read(&mem), Ok(ws));
    let mut t = Termios::linux_default();
    t.c_lflag = 0;
    UserPtr::<Termios>::new(0x1200).write(&mut mem, &t).unwrap();
    assert_eq!(sl.ops().ioctl(TCSETS, 0x1200, &mut mem), Ok(0));
    assert_eq!(m.ops().ioctl(TCGETS, 0x1300, &mut mem), Ok(0));
    assert_eq!(UserPtr::<Termios>::new(0x1300).read(&mem), Ok(t));
    // The pty number is the master's to tell.
    assert_eq!(
        sl.ops().ioctl(rawio::TIOCGPTN, 0x1400, &mut mem),
        Err(Errno::ENOTTY)
    );
}

#[test]
fn closing_the_master_hangs_up_the_slave() {
    let s = setup();
    let (m, sl, mo) = pair(&s);
    assert_eq!(write(&m, b"pending\n"), Ok(8));
    drop(mo);
    drop(m);
    assert_eq!(read(&sl, 10), Ok(Vec::new()));
    assert_eq!(write(&sl, b"x"), Err(Errno::EIO));
    let ev = sl.ops().poll();
    assert!(ev.contains(PollEvents::IN | PollEvents::OUT | PollEvents::ERR | PollEvents::HUP));
}

#[test]
fn closing_every_slave_gives_the_master_eio_after_the_data() {
    let s = setup();
    let (m, sl, mo) = pair(&s);
    set_raw(&mo);
    assert_eq!(read(&m, 10), Err(Errno::EAGAIN));
    assert!(!m.ops().poll().contains(PollEvents::HUP));
    let second = s.table.open_slave(0).unwrap();
    assert_eq!(write(&sl, b"bye"), Ok(3));
    drop(sl);
    assert!(
        !m.ops().poll().contains(PollEvents::HUP),
        "one slave is still open"
    );
    drop(second);
    assert_eq!(
        m.ops().poll() & (PollEvents::IN | PollEvents::HUP),
        PollEvents::IN | PollEvents::HUP
    );
    assert_eq!(read(&m, 10), Ok(b"bye".to_vec()));
    assert_eq!(read(&m, 10), Err(Errno::EIO));
    // A new slave open clears it.
    let _again = s.table.open_slave(0).unwrap();
    assert_eq!(read(&m, 10), Err(Errno::EAGAIN));
}

#[test]
fn a_full_direction_makes_writers_wait() {
    let s = setup();
    let (m, sl, mo) = pair(&s);
    set_raw(&mo);
    let big = vec![7u8; BUFFER_SIZE + 10];
    assert_eq!(write(&m, &big), Ok(BUFFER_SIZE));
    assert!(!m.ops().poll().contains(PollEvents::OUT));
    assert_eq!(write(&m, b"x"), Err(Errno::EAGAIN));
    assert_eq!(read(&sl, 10).map(|v| v.len()), Ok(10));
    assert!(m.ops().poll().contains(PollEvents::OUT));
}

#[test]
fn a_blocked_slave_read_wakes_when_the_master_writes() {
    let s = setup_with(ThreadBlocker::new());
    let mo = s.table.open_master().unwrap();
    mo.pair.state.lock().locked = false;
    let sl = blocking(s.table.open_slave(0).unwrap());
    let m = blocking(mo.clone());
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&m, b"line\n").unwrap();
        m
    });
    assert_eq!(read(&sl, 64), Ok(b"line\n".to_vec()));
    let m = t.join().unwrap();
    // And a blocked master read wakes when the last slave closes.
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(sl);
    });
    assert_eq!(read(&m, 64), Ok(b"line\r\n".to_vec()));
    assert_eq!(read(&m, 64), Err(Errno::EIO));
    t.join().unwrap();
}

fn set_min_time(m: &PtyMaster, vmin: u8, vtime: u8) {
    let mut st = m.pair.state.lock();
    let mut t = st.termios;
    t.c_lflag = 0;
    t.c_cc[raw::VMIN as usize] = vmin;
    t.c_cc[raw::VTIME as usize] = vtime;
    st.set_termios(t);
}

#[test]
fn vmin_and_vtime_decide_when_a_raw_read_returns() {
    let blocker = Arc::new(FakeBlocker::new());
    let s = setup_with(blocker.clone());
    let (m, sl, mo) = pair(&s);
    let sl_blocking = blocking(sl.ops().clone());
    // MIN 0, TIME 0: a poll; an empty read returns 0, even non-blocking.
    set_min_time(&mo, 0, 0);
    assert_eq!(read(&sl, 10), Ok(Vec::new()));
    assert_eq!(read(&sl_blocking, 10), Ok(Vec::new()));
    // MIN 0, TIME 5: waits half a second for a byte, then returns 0.
    set_min_time(&mo, 0, 5);
    assert_eq!(read(&sl, 10), Err(Errno::EAGAIN));
    assert_eq!(read(&sl_blocking, 10), Ok(Vec::new()));
    assert_eq!(blocker.now_ns(), 500_000_000);
    // MIN 3, TIME 0: poll wants three bytes; a non-blocking read takes what is there.
    set_min_time(&mo, 3, 0);
    assert_eq!(write(&m, b"ab"), Ok(2));
    assert!(!sl.ops().poll().contains(PollEvents::IN));
    assert_eq!(write(&m, b"c"), Ok(1));
    assert!(sl.ops().poll().contains(PollEvents::IN));
    assert_eq!(read(&sl_blocking, 10), Ok(b"abc".to_vec()));
    assert_eq!(write(&m, b"de"), Ok(2));
    assert_eq!(read(&sl, 10), Ok(b"de".to_vec()));
    // MIN 3, TIME 1: once a byte came, a tenth of a second later the read returns it.
    set_min_time(&mo, 3, 1);
    assert_eq!(write(&m, b"f"), Ok(1));
    assert_eq!(read(&sl_blocking, 10), Ok(b"f".to_vec()));
    assert_eq!(blocker.now_ns(), 600_000_000);
}

#[test]
fn word_erase_and_literal_next_edit_canonical_lines() {
    let s = setup();
    let (m, sl, _) = pair(&s);
    // ^W erases "two " back to the word start; ^V makes the next ^U a plain byte.
    assert_eq!(write(&m, b"one two \x17x\x16\x15\n"), Ok(13));
    assert_eq!(read(&sl, 64), Ok(b"one x\x15\n".to_vec()));
    assert_eq!(
        read(&m, 64),
        Ok(b"one two \x08 \x08\x08 \x08\x08 \x08\x08 \x08x^\x08^U\r\n".to_vec())
    );
}

#[test]
fn echo_of_erased_input_stays_bounded_without_a_reader() {
    let s = setup();
    let (m, _sl, pm) = pair(&s);
    // Each "a DEL" takes no input room but echoes "a\b \b".
    let chunk = b"a\x7f".repeat(4096);
    for _ in 0..64 {
        assert_eq!(write(&m, &chunk), Ok(chunk.len()));
    }
    let queued = pm.pair.state.lock().to_master.len();
    assert!(queued <= 2 * BUFFER_SIZE + 4, "{queued} bytes of echo");
    assert!(queued >= 2 * BUFFER_SIZE, "echo went on up to its room");
}

// ---- Signals ----

type Recorded = crate::fake::FakeTtySignals;

fn signalling() -> (Setup, Arc<Recorded>) {
    let clock = FakeClock::at(1_700_000_000);
    let fs = Tmpfs::new(DeviceId::new(0, 20), clock.now());
    let dir = fs.root();
    let rec = Recorded::new();
    let table = PtsTable::with_signals(
        dir.clone(),
        clock,
        Arc::new(FakeBlocker::new()),
        rec.clone(),
    );
    (Setup { dir, table }, rec)
}

fn take(rec: &Recorded) -> Vec<(i32, Signal)> {
    rec.take()
}

#[test]
fn signal_keys_reach_the_foreground_group_and_flush() {
    let (s, rec) = signalling();
    let (m, sl, pm) = pair(&s);
    let mut mem = FakeUserMemory::new();
    // No foreground group yet: nothing is raised, the key still does its flush.
    write(&m, b"ab\x03").unwrap();
    assert_eq!(take(&rec), []);
    assert_eq!(sl.ops().ioctl(rawio::TIOCSCTTY, 0, &mut mem), Ok(0));
    write(&sl, b"out").unwrap();
    write(&m, b"abc\x03x\n\x1c\x1a").unwrap();
    assert_eq!(
        take(&rec),
        [
            (42, Signal::SIGINT),
            (42, Signal::SIGQUIT),
            (42, Signal::SIGTSTP)
        ]
    );
    // The output and the partial line went; the echo of each key is all the master sees
    // after its flush.
    assert_eq!(read(&sl, 10), Err(Errno::EAGAIN));
    assert_eq!(read(&m, 10).unwrap(), b"^Z");
    // Closing the master hangs up the session that took the terminal.
    drop(m);
    drop(pm);
    assert_eq!(take(&rec), [(42, Signal::SIGHUP), (42, Signal::SIGCONT)]);
}

#[test]
fn noflsh_keeps_the_line_and_no_isig_makes_keys_bytes() {
    let (s, rec) = signalling();
    let (m, sl, pm) = pair(&s);
    pm.pair.jobs().set_foreground(7);
    pm.pair.state.lock().termios.c_lflag |= raw::NOFLSH;
    write(&m, b"ab\x03c\n").unwrap();
    assert_eq!(take(&rec), [(7, Signal::SIGINT)]);
    assert_eq!(read(&sl, 10).unwrap(), b"abc\n");
    pm.pair.state.lock().termios.c_lflag &= !raw::ISIG;
    write(&m, b"\x03\n").unwrap();
    assert_eq!(take(&rec), []);
    assert_eq!(read(&sl, 10).unwrap(), b"\x03\n");
}

#[test]
fn a_new_window_size_raises_sigwinch() {
    let (s, rec) = signalling();
    let (m, sl, pm) = pair(&s);
    pm.pair.jobs().set_foreground(9);
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    let ws = Winsize {
        ws_row: 24,
        ws_col: 80,
        ..Winsize::default()
    };
    UserPtr::<Winsize>::new(0x1000)
        .write(&mut mem, &ws)
        .unwrap();
    assert_eq!(sl.ops().ioctl(TIOCSWINSZ, 0x1000, &mut mem), Ok(0));
    assert_eq!(take(&rec), [(9, Signal::SIGWINCH)]);
    assert_eq!(m.ops().ioctl(TIOCSWINSZ, 0x1000, &mut mem), Ok(0));
    assert_eq!(take(&rec), [], "the same size again");
}

#[test]
fn tiocgptpeer_opens_the_slave_as_a_new_fd() {
    let s = setup();
    let m = s.table.open_master().unwrap();
    let mf = file(m.clone());
    let files = FdTable::new();
    let rdwr = u64::from(OpenFlags::RDWR.bits());
    assert_eq!(open_peer(&files, &mf, rdwr), Err(Errno::EIO), "locked");
    m.pair.state.lock().locked = false;
    let cloexec = u64::from(OpenFlags::CLOEXEC.bits());
    let fd = open_peer(&files, &mf, rdwr | cloexec).unwrap() as i32;
    assert_eq!(files.cloexec(fd), Ok(true));
    let peer = files.get(fd).unwrap();
    write(&mf, b"hi\n").unwrap();
    assert_eq!(read(&peer, 10).unwrap(), b"hi\n");
    assert_eq!(
        open_peer(&files, &peer, rdwr),
        Err(Errno::EIO),
        "on a slave"
    );
    let other = blocking(Arc::new(NoTtyFile));
    assert_eq!(open_peer(&files, &other, rdwr), Err(Errno::ENOTTY));
}

/// A file that is no terminal.
struct NoTtyFile;

impl FileOps for NoTtyFile {
    fn stat(&self) -> Result<Metadata, Errno> {
        Err(Errno::EBADF)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

// ---- Job control ----

/// A pair whose slave is the controlling terminal of session 42 (foreground group 42), with
/// the caller moved to background group 43 of that session, and a mapped page for ioctls.
fn background() -> (Setup, Arc<Recorded>, [Arc<OpenFile>; 2], FakeUserMemory) {
    let (s, rec) = signalling();
    let (m, sl, _) = pair(&s);
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    assert_eq!(sl.ops().ioctl(rawio::TIOCSCTTY, 0, &mut mem), Ok(0));
    rec.caller.lock().pgrp = 43;
    (s, rec, [m, sl], mem)
}

#[test]
fn a_background_read_raises_sigttin_on_the_callers_group() {
    let (_s, rec, [m, sl], _) = background();
    write(&m, b"x\n").unwrap();
    assert_eq!(read(&sl, 10), Err(Errno::EINTR));
    assert_eq!(read(&sl, 0), Err(Errno::EINTR), "an empty read too");
    assert_eq!(take(&rec), [(43, Signal::SIGTTIN), (43, Signal::SIGTTIN)]);
    // The master is nobody's terminal: it reads the echo unchecked.
    assert_eq!(read(&m, 10).unwrap(), b"x\r\n");
    rec.refuses.lock().push(Signal::SIGTTIN);
    assert_eq!(read(&sl, 10), Err(Errno::EIO), "SIGTTIN refused");
    rec.refuses.lock().clear();
    rec.orphaned
        .store(true, core::sync::atomic::Ordering::Relaxed);
    assert_eq!(read(&sl, 10), Err(Errno::EIO), "an orphaned group");
    assert_eq!(take(&rec), []);
    // Back in the foreground the line is still there.
    rec.caller.lock().pgrp = 42;
    assert_eq!(read(&sl, 10).unwrap(), b"x\n");
}

#[test]
fn callers_outside_the_terminals_session_are_not_checked() {
    let (_s, rec, [m, sl], _) = background();
    rec.caller.lock().session = 7;
    write(&m, b"x\n").unwrap();
    assert_eq!(read(&sl, 10).unwrap(), b"x\n");
    // Without a controlling session nothing is checked either.
    let (s, rec) = signalling();
    let (m, sl, _) = pair(&s);
    rec.caller.lock().pgrp = 43;
    write(&m, b"y\n").unwrap();
    assert_eq!(read(&sl, 10).unwrap(), b"y\n");
    assert_eq!(take(&rec), []);
}

#[test]
fn a_background_write_raises_sigttou_only_with_tostop() {
    let (s, rec, [m, sl], _) = background();
    assert_eq!(write(&sl, b"a"), Ok(1), "no TOSTOP");
    let pm = s.table.pairs.lock()[0].upgrade().unwrap();
    pm.state.lock().termios.c_lflag |= raw::TOSTOP;
    assert_eq!(write(&sl, b"b"), Err(Errno::EINTR));
    assert_eq!(take(&rec), [(43, Signal::SIGTTOU)]);
    rec.refuses.lock().push(Signal::SIGTTOU);
    assert_eq!(
        write(&sl, b"c"),
        Ok(1),
        "SIGTTOU refused: the write goes ahead"
    );
    rec.refuses.lock().clear();
    rec.orphaned
        .store(true, core::sync::atomic::Ordering::Relaxed);
    assert_eq!(write(&sl, b"d"), Err(Errno::EIO), "an orphaned group");
    assert_eq!(write(&m, b"e"), Ok(1), "the master is not checked");
    assert_eq!(take(&rec), []);
    assert_eq!(read(&m, 10).unwrap(), b"ace");
}

#[test]
fn background_ioctls_that_change_the_terminal_raise_sigttou() {
    let (_s, rec, [m, sl], mut mem) = background();
    let t = Termios::linux_default();
    UserPtr::<Termios>::new(0x1000).write(&mut mem, &t).unwrap();
    UserPtr::<i32>::new(0x1800).write(&mut mem, &43).unwrap();
    for (f, req, arg) in [
        (&sl, TCSETS, 0x1000),
        (&m, TCSETSW, 0x1000),
        (&sl, TIOCSPGRP, 0x1800),
        (&m, TIOCSPGRP, 0x1800),
        (&sl, rawio::TCFLSH, u64::from(raw::TCIFLUSH)),
    ] {
        assert_eq!(
            f.ops().ioctl(req, arg, &mut mem),
            Err(Errno::EINTR),
            "{req:#x}"
        );
        assert_eq!(take(&rec), [(43, Signal::SIGTTOU)], "{req:#x}");
    }
    // Reading the settings, resizing, and flushing on the master are not checked.
    assert_eq!(sl.ops().ioctl(TCGETS, 0x1000, &mut mem), Ok(0));
    assert_eq!(sl.ops().ioctl(TIOCGPGRP, 0x1800, &mut mem), Ok(0));
    let flush = u64::from(raw::TCIFLUSH);
    assert_eq!(m.ops().ioctl(rawio::TCFLSH, flush, &mut mem), Ok(0));
    assert_eq!(take(&rec), []);
    rec.orphaned
        .store(true, core::sync::atomic::Ordering::Relaxed);
    assert_eq!(sl.ops().ioctl(TCSETS, 0x1000, &mut mem), Err(Errno::EIO));
    assert_eq!(
        sl.ops().ioctl(TIOCSPGRP, 0x1800, &mut mem),
        Err(Errno::ENOTTY),
        "Linux's tiocspgrp turns EIO into ENOTTY"
    );
    rec.refuses.lock().push(Signal::SIGTTOU);
    UserPtr::<i32>::new(0x1800).write(&mut mem, &43).unwrap();
    assert_eq!(sl.ops().ioctl(TIOCSPGRP, 0x1800, &mut mem), Ok(0));
    assert_eq!(take(&rec), []);
    // Now in the foreground: nothing is checked.
    rec.refuses.lock().clear();
    assert_eq!(sl.ops().ioctl(TCSETS, 0x1000, &mut mem), Ok(0));
    assert_eq!(read(&sl, 1), Err(Errno::EAGAIN));
    assert_eq!(take(&rec), []);
}
