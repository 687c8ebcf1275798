//! Terminal and memory devices over fakes.

use super::memory::{MemoryDevice, MemoryKind, RandomDevice, URANDOM_DEVICE};
use super::*;
use crate::fake::{FakeConsole, FakeEntropy};
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::ioctl as rawio;
use oxv_abi::linux::fs::{ECHO, FIONREAD, ICANON, TIOCGPGRP, TIOCSPGRP};
use oxv_abi::user::fake::FakeUserMemory;

fn term(console: &Arc<FakeConsole>) -> Arc<TerminalFile> {
    Terminal::new(console.clone()).open()
}

fn read(f: &dyn FileOps, n: usize, nonblocking: bool) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    let got = f.read(0, &mut ReadBuf::kernel(&mut buf), nonblocking)?;
    buf.truncate(got);
    Ok(buf)
}

fn write(f: &dyn FileOps, data: &[u8]) -> Result<usize, Errno> {
    f.write(WritePos::At(0), &WriteBuf::kernel(data), false)
        .map(|w| w.count)
}

fn user_mem() -> FakeUserMemory {
    let mut m = FakeUserMemory::new();
    m.map(0x1000, 0x1000, true);
    m
}

mod terminal {
    use super::*;

    #[test]
    fn reads_what_the_device_has() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        assert_eq!(read(&*t, 8, true), Err(Errno::EAGAIN));
        c.push_input(b"ls -l\n");
        assert_eq!(read(&*t, 3, false).unwrap(), b"ls ");
        assert_eq!(read(&*t, 100, false).unwrap(), b"-l\n");
        assert_eq!(read(&*t, 0, false).unwrap(), b"");
        c.end_input();
        assert_eq!(read(&*t, 8, false).unwrap(), b"", "end of input reads 0");
        assert!(!t.is_positioned());
        assert_eq!(t.seek(0, 0, 0), Err(Errno::ESPIPE));
    }

    #[test]
    fn output_maps_nl_to_crnl_until_opost_is_cleared() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        assert_eq!(
            write(&*t, b"a\nb\n"),
            Ok(4),
            "the count is of the app's bytes"
        );
        assert_eq!(c.output(), b"a\r\nb\r\n");
        // A long write full of newlines crosses the internal chunks.
        let long: Vec<u8> = b"x\n".iter().copied().cycle().take(1001).collect();
        assert_eq!(write(&*t, &long), Ok(1001));
        assert_eq!(c.output().len(), 6 + 1001 + 500);
        // Chunks without a newline go out unchanged, between chunks that have one.
        let mut mixed = vec![b'y'; 700];
        mixed[300] = b'\n';
        let before = c.output().len();
        assert_eq!(write(&*t, &mixed), Ok(700));
        let mut expected = vec![b'y'; 300];
        expected.extend_from_slice(b"\r\n");
        expected.extend(vec![b'y'; 399]);
        assert_eq!(&c.output()[before..], &expected[..]);
        // Raw mode, as an editor sets it.
        let mut mem = user_mem();
        let mut raw = t.terminal().termios();
        raw.c_oflag = 0;
        raw.c_lflag &= !(ICANON | ECHO);
        UserPtr::<Termios>::new(0x1000)
            .write(&mut mem, &raw)
            .unwrap();
        assert_eq!(t.ioctl(TCSETSW, 0x1000, &mut mem), Ok(0));
        let before = c.output().len();
        write(&*t, b"\n").unwrap();
        assert_eq!(&c.output()[before..], b"\n");
    }

    #[test]
    fn termios_and_window_size() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        let mut mem = user_mem();
        assert_eq!(t.ioctl(TCGETS, 0x1000, &mut mem), Ok(0));
        assert_eq!(
            UserPtr::<Termios>::new(0x1000).read(&mem).unwrap(),
            Termios::linux_default()
        );
        assert_eq!(t.ioctl(TIOCGWINSZ, 0x1100, &mut mem), Ok(0));
        let ws = UserPtr::<Winsize>::new(0x1100).read(&mem).unwrap();
        assert_eq!((ws.ws_row, ws.ws_col), (24, 80));
        let set = Winsize {
            ws_row: 50,
            ws_col: 132,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        UserPtr::<Winsize>::new(0x1100)
            .write(&mut mem, &set)
            .unwrap();
        assert_eq!(t.ioctl(TIOCSWINSZ, 0x1100, &mut mem), Ok(0));
        assert_eq!(t.terminal().window_size(), Some(set));
        // Another open of the same terminal sees the same state.
        let t2 = t.terminal().open();
        assert_eq!(t2.ioctl(TIOCGWINSZ, 0x1200, &mut mem), Ok(0));
        assert_eq!(UserPtr::<Winsize>::new(0x1200).read(&mem).unwrap(), set);
        // Faults.
        assert_eq!(t.ioctl(TCGETS, 0x9000, &mut mem), Err(Errno::EFAULT));
        assert_eq!(t.ioctl(TCSETS, 0x9000, &mut mem), Err(Errno::EFAULT));
        assert_eq!(t.ioctl(0x1234, 0x1000, &mut mem), Err(Errno::ENOTTY));
    }

    #[test]
    fn process_groups_and_fionread() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        let mut mem = user_mem();
        assert_eq!(t.ioctl(TIOCGPGRP, 0x1000, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1000).read(&mem), Ok(1));
        UserPtr::<i32>::new(0x1000).write(&mut mem, &7).unwrap();
        assert_eq!(t.ioctl(TIOCSPGRP, 0x1000, &mut mem), Ok(0));
        assert_eq!(t.ioctl(TIOCGPGRP, 0x1004, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1004).read(&mem), Ok(7));
        UserPtr::<i32>::new(0x1000).write(&mut mem, &-1).unwrap();
        assert_eq!(t.ioctl(TIOCSPGRP, 0x1000, &mut mem), Err(Errno::EINVAL));
        c.push_input(b"abc");
        assert_eq!(t.ioctl(FIONREAD, 0x1008, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1008).read(&mem), Ok(3));
    }

    #[test]
    fn a_device_without_window_size_is_not_a_tty() {
        let c = FakeConsole::not_a_tty();
        let t = term(&c);
        let mut mem = user_mem();
        for req in [TCGETS, TCSETS, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP] {
            assert_eq!(
                t.ioctl(req, 0x1000, &mut mem),
                Err(Errno::ENOTTY),
                "request {req:#x}"
            );
        }
        // Not a terminal: no line discipline, so output passes through byte for byte.
        assert_eq!(write(&*t, b"log line\n"), Ok(9));
        assert_eq!(c.output(), b"log line\n");
    }

    #[test]
    fn poll_reflects_the_device() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        assert_eq!(t.poll(), PollEvents::OUT | PollEvents::WRNORM);
        c.push_input(b"x");
        assert!(t.poll().contains(PollEvents::IN | PollEvents::RDNORM));
        let m = t.stat().unwrap();
        assert_eq!((m.kind, m.rdev), (FileKind::CharDevice, CONSOLE_DEVICE));
    }

    #[test]
    fn user_faults_in_reads_and_writes() {
        let c = FakeConsole::tty(24, 80);
        let t = term(&c);
        let mut mem = user_mem();
        c.push_input(b"data");
        let mut dst = ReadBuf::user(&mut mem, oxv_abi::UserBuf::new(0x8000, 4));
        assert_eq!(t.read(0, &mut dst, false), Err(Errno::EFAULT));
        let src = WriteBuf::user(&mem, oxv_abi::UserBuf::new(0x8000, 4));
        assert_eq!(
            t.write(WritePos::At(0), &src, false).map(|w| w.count),
            Err(Errno::EFAULT)
        );
        assert!(c.output().is_empty());
    }
}

/// The console's job control: the same [`crate::tty`] logic as a pty slave's, over a
/// terminal that is the controlling terminal of session 42 from the start (as oxv's console
/// is of the app's session), with fds 0 and 1 on separate devices of one terminal.
mod console_job_control {
    use super::*;
    use crate::fake::FakeTtySignals;
    use crate::tty::JobControl;
    use core::sync::atomic::Ordering;
    use oxv_abi::linux::fs::TCSETSW;

    struct Console {
        rec: Arc<FakeTtySignals>,
        input: Arc<FakeConsole>,
        output: Arc<FakeConsole>,
        stdin: Arc<TerminalFile>,
        stdout: Arc<TerminalFile>,
    }

    fn console() -> Console {
        let rec = FakeTtySignals::new();
        let input = FakeConsole::tty(24, 80);
        let output = FakeConsole::tty(24, 80);
        let jobs = JobControl::controlling(rec.clone(), 42, 42);
        let stdin_term = Terminal::with_jobs(input.clone(), jobs);
        let stdout_term = Terminal::sharing(output.clone(), &stdin_term);
        Console {
            rec,
            input,
            output,
            stdin: stdin_term.open(),
            stdout: stdout_term.open(),
        }
    }

    #[test]
    fn a_background_group_gets_sigttin_for_a_read_and_eio_once_orphaned() {
        let c = console();
        c.input.push_input(b"x");
        c.rec.caller.lock().pgrp = 43;
        assert_eq!(read(&*c.stdin, 4, false), Err(Errno::EINTR));
        assert_eq!(
            read(&*c.stdin, 0, false),
            Err(Errno::EINTR),
            "an empty read too"
        );
        assert_eq!(c.rec.take(), [(43, Signal::SIGTTIN), (43, Signal::SIGTTIN)]);
        c.rec.refuses.lock().push(Signal::SIGTTIN);
        assert_eq!(
            read(&*c.stdin, 4, false),
            Err(Errno::EIO),
            "SIGTTIN refused"
        );
        c.rec.refuses.lock().clear();
        c.rec.orphaned.store(true, Ordering::Relaxed);
        assert_eq!(
            read(&*c.stdin, 4, false),
            Err(Errno::EIO),
            "an orphaned group"
        );
        assert_eq!(c.rec.take(), []);
        // The foreground reads what waited.
        c.rec.caller.lock().pgrp = 42;
        assert_eq!(read(&*c.stdin, 4, false), Ok(b"x".to_vec()));
    }

    #[test]
    fn tostop_and_settings_changes_from_the_background_raise_sigttou_on_any_fd() {
        let c = console();
        let mut mem = user_mem();
        c.rec.caller.lock().pgrp = 43;
        assert_eq!(write(&*c.stdout, b"a"), Ok(1), "no TOSTOP");
        // TOSTOP set through fd 1 is the terminal's, so fd 0 (the other device) sees it too.
        let mut t = c.stdin.terminal().termios();
        t.c_lflag |= raw::TOSTOP;
        c.stdin.terminal().shared.termios.lock().c_lflag = t.c_lflag;
        assert_eq!(
            c.stdout.terminal().termios().c_lflag & raw::TOSTOP,
            raw::TOSTOP
        );
        assert_eq!(write(&*c.stdout, b"b"), Err(Errno::EINTR));
        UserPtr::<Termios>::new(0x1000).write(&mut mem, &t).unwrap();
        assert_eq!(c.stdin.ioctl(TCSETSW, 0x1000, &mut mem), Err(Errno::EINTR));
        UserPtr::<i32>::new(0x1800).write(&mut mem, &43).unwrap();
        assert_eq!(
            c.stdout.ioctl(TIOCSPGRP, 0x1800, &mut mem),
            Err(Errno::EINTR)
        );
        assert_eq!(
            c.rec.take(),
            [
                (43, Signal::SIGTTOU),
                (43, Signal::SIGTTOU),
                (43, Signal::SIGTTOU)
            ]
        );
        // Reading the settings or the group is not checked.
        assert_eq!(c.stdin.ioctl(TCGETS, 0x1000, &mut mem), Ok(0));
        assert_eq!(c.stdin.ioctl(TIOCGPGRP, 0x1800, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1800).read(&mem), Ok(42));
        c.rec.orphaned.store(true, Ordering::Relaxed);
        assert_eq!(write(&*c.stdout, b"c"), Err(Errno::EIO));
        assert_eq!(
            c.stdout.ioctl(TIOCSPGRP, 0x1800, &mut mem),
            Err(Errno::ENOTTY),
            "tiocspgrp's ENOTTY"
        );
        // SIGTTOU blocked: the write goes ahead, and so does taking the foreground back.
        c.rec.refuses.lock().push(Signal::SIGTTOU);
        assert_eq!(write(&*c.stdout, b"d"), Ok(1));
        UserPtr::<i32>::new(0x1800).write(&mut mem, &43).unwrap();
        assert_eq!(c.stdout.ioctl(TIOCSPGRP, 0x1800, &mut mem), Ok(0));
        assert_eq!(c.stdin.terminal().jobs().foreground(), 43);
        assert_eq!(c.rec.take(), []);
        assert_eq!(c.output.output(), b"ad");
    }

    #[test]
    fn the_session_ioctls_answer_for_the_console() {
        let c = console();
        let mut mem = user_mem();
        assert_eq!(c.stdin.ioctl(rawio::TIOCGSID, 0x1000, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1000).read(&mem), Ok(42));
        assert_eq!(
            c.stdin.ioctl(rawio::TIOCSCTTY, 0, &mut mem),
            Ok(0),
            "already ours"
        );
        // A process that left the session (setsid) holds no terminal here.
        *c.rec.caller.lock() = crate::tty::TtyCaller {
            pid: 50,
            pgrp: 50,
            session: 50,
        };
        assert_eq!(
            c.stdout.ioctl(TIOCGPGRP, 0x1000, &mut mem),
            Err(Errno::ENOTTY)
        );
        assert_eq!(
            c.stdout.ioctl(rawio::TIOCGSID, 0x1000, &mut mem),
            Err(Errno::ENOTTY)
        );
        assert_eq!(
            c.stdout.ioctl(rawio::TIOCNOTTY, 0, &mut mem),
            Err(Errno::ENOTTY)
        );
        assert_eq!(
            c.stdout.ioctl(rawio::TIOCSCTTY, 0, &mut mem),
            Err(Errno::EPERM),
            "session 42 holds it"
        );
        // The leader lets it go: its foreground group is hung up.
        *c.rec.caller.lock() = crate::tty::TtyCaller {
            pid: 42,
            pgrp: 42,
            session: 42,
        };
        assert_eq!(c.stdout.ioctl(rawio::TIOCNOTTY, 0, &mut mem), Ok(0));
        assert_eq!(c.rec.take(), [(42, Signal::SIGHUP), (42, Signal::SIGCONT)]);
        assert_eq!(
            c.stdin.ioctl(TIOCGPGRP, 0x1000, &mut mem),
            Err(Errno::ENOTTY)
        );
        // Nobody's terminal: nothing is checked.
        c.rec.caller.lock().pgrp = 43;
        c.input.push_input(b"y");
        assert_eq!(read(&*c.stdin, 4, false), Ok(b"y".to_vec()));
    }

    #[test]
    fn typed_signal_keys_follow_isig_and_noflsh() {
        let c = console();
        let term = c.stdin.terminal();
        let int = Typed::Signal {
            sig: Signal::SIGINT,
            flush: true,
        };
        assert_eq!(term.typed(0x03), int);
        assert_eq!(
            term.typed(0x1a),
            Typed::Signal {
                sig: Signal::SIGTSTP,
                flush: true
            }
        );
        assert_eq!(term.typed(b'a'), Typed::Data);
        c.stdout.terminal().shared.termios.lock().c_lflag |= raw::NOFLSH;
        assert_eq!(
            term.typed(0x1c),
            Typed::Signal {
                sig: Signal::SIGQUIT,
                flush: false
            },
            "NOFLSH set on the terminal through the other fd"
        );
        c.stdout.terminal().shared.termios.lock().c_lflag &= !raw::ISIG;
        assert_eq!(term.typed(0x03), Typed::Data, "without ISIG ^C is a byte");
        // Input that is not a terminal (a pipe) is data, whatever it holds.
        let pipe = Terminal::new(FakeConsole::not_a_tty());
        assert_eq!(pipe.typed(0x03), Typed::Data);
        // The embedder raises the key's signal on the foreground group.
        term.jobs().signal_foreground(Signal::SIGINT);
        assert_eq!(c.rec.take(), [(42, Signal::SIGINT)]);
    }
}

mod memory_devices {
    use super::*;

    #[test]
    fn null_zero_full() {
        let null = MemoryDevice::new(MemoryKind::Null);
        let zero = MemoryDevice::new(MemoryKind::Zero);
        let full = MemoryDevice::new(MemoryKind::Full);
        assert_eq!(read(&*null, 10, false).unwrap(), b"");
        assert_eq!(write(&*null, b"gone"), Ok(4));
        assert_eq!(read(&*zero, 1000, false).unwrap(), vec![0u8; 1000]);
        assert_eq!(write(&*zero, b"gone"), Ok(4));
        assert_eq!(read(&*full, 3, false).unwrap(), [0, 0, 0]);
        assert_eq!(write(&*full, b"x"), Err(Errno::ENOSPC));
        assert_eq!(null.seek(77, 5, 0), Ok(0));
        assert_eq!(zero.seek(77, 5, 0), Ok(0));
        assert_eq!(null.stat().unwrap().rdev, DeviceId::new(1, 3));
    }

    #[test]
    fn random_reads_the_entropy_source() {
        let r = RandomDevice::new(FakeEntropy::seeded(1), URANDOM_DEVICE);
        let a = read(&*r, 300, false).unwrap();
        let b = read(&*r, 300, false).unwrap();
        assert_eq!(a.len(), 300);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        let again = RandomDevice::new(FakeEntropy::seeded(1), URANDOM_DEVICE);
        assert_eq!(
            read(&*again, 300, false).unwrap(),
            a,
            "the fake is deterministic"
        );
        assert_eq!(write(&*r, b"seed"), Ok(4));
    }
}
