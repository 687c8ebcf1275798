//! The console's job control and signal keys, typed: `oxv run` gets a host pty in raw mode as
//! its stdin (so the host's own line discipline raises nothing and ^C reaches the guest as a
//! byte, as when a user runs `stty raw` first), and the test types each key once the guest
//! program (`programs/console_tty.c`) says it is ready. The CLI tells the guest that stdin is
//! a terminal (`tty=0`), so the kernel applies the `ISIG` keys as they arrive.
//!
//! Boots QEMU, so ignored by default: `cargo test -p oxv-cli --test console_tty -- --ignored`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole run, boot included, on a loaded TCG host.
const LIMIT: Duration = Duration::from_secs(240);

/// A new pty pair with the slave in raw mode: (master, slave).
fn raw_pty() -> (std::fs::File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the ints we pass; the name, termios and winsize
    // pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty just returned these fds, and nothing else owns them.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )
    };
    // SAFETY: a zeroed termios is a valid buffer for tcgetattr to fill.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `slave` is an open terminal and `t` a valid termios.
    unsafe {
        assert_eq!(
            libc::tcgetattr(std::os::fd::AsRawFd::as_raw_fd(&slave), &mut t),
            0
        );
        libc::cfmakeraw(&mut t);
        assert_eq!(
            libc::tcsetattr(std::os::fd::AsRawFd::as_raw_fd(&slave), libc::TCSANOW, &t),
            0
        );
    }
    (master, slave)
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn typed_keys_signal_the_foreground_and_background_groups_stop() {
    let bin = common::build_c(
        "console_tty",
        "console_tty",
        include_str!("programs/console_tty.c"),
    );
    let (mut master, slave) = raw_pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", "200"])
        .arg(&bin)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oxv");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let keys = [
        ("ready-intr", b'\x03'),
        ("ready-susp", b'\x1a'),
        ("ready-quit", b'\x1c'),
        ("ready-raw", b'\x03'),
    ];
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(&(_, key)) = keys.iter().find(|(prompt, _)| *prompt == line) {
                    master.write_all(&[key]).expect("type on the pty");
                }
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().expect("wait for oxv");
    reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    let output = seen.join("\n");
    let account = format!("status: {status:?}\n--- stdout ---\n{output}\n--- stderr ---\n{stderr}");
    assert!(start.elapsed() <= LIMIT, "hung\n{account}");
    assert!(!output.contains("FAIL"), "{account}");
    let passed = seen.iter().filter(|l| l.starts_with("ok: ")).count();
    assert_eq!(passed, 10, "every check ran\n{account}");
    assert_eq!(status.code(), Some(0), "{account}");
}
