//! The threads that move bytes between the channel sockets and `oxv`'s own stdio.
//!
//! One thread per direction: app stdout and stderr are copied as they come (stdout flushed
//! after every chunk, since an interactive program's output must appear promptly); the
//! kernel-log and COM1 streams are split into lines and sent to the run loop as events;
//! our stdin is framed (`protocol::stdin`) onto COM1. Output threads end at end-of-stream,
//! which comes when QEMU exits; the stdin thread is never joined, because it may be blocked
//! reading a terminal that will never send anything.
//!
//! Stdin is held back until the kernel is up ([`GuestReady`]): firmware that runs before it
//! (SeaBIOS on q35) reads COM1 as its console and would swallow the first bytes. The kernel
//! is up when anything arrives on the kernel-log, stdout or stderr channel, which firmware
//! never writes; after [`READY_FALLBACK`] stdin is relayed anyway, so a kernel that logs
//! nothing still gets its input.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::protocol::lines::LineSplitter;
use crate::protocol::stdin::{END_OF_INPUT, frame_into};

/// What the pumps tell the run loop.
#[derive(Debug)]
pub enum Event {
    /// A complete log line (from the kernel-log channel or COM1).
    Line(String),
    /// Writing to our stdout failed (e.g. EPIPE: the reader went away).
    StdoutClosed,
}

const CHUNK: usize = 64 * 1024;

/// How long stdin waits for a sign of the kernel before it is relayed regardless.
pub const READY_FALLBACK: Duration = Duration::from_secs(5);

/// Set once the kernel has written to one of its own channels; see the module doc.
#[derive(Debug, Clone, Default)]
pub struct GuestReady(Arc<(Mutex<bool>, Condvar)>);

impl GuestReady {
    /// Records that the kernel is up.
    pub fn set(&self) {
        let (flag, cond) = &*self.0;
        if let Ok(mut ready) = flag.lock() {
            if !*ready {
                *ready = true;
                cond.notify_all();
            }
        }
    }

    /// Waits until the kernel is up or `limit` has passed.
    pub fn wait(&self, limit: Duration) {
        let (flag, cond) = &*self.0;
        if let Ok(ready) = flag.lock() {
            // A poisoned lock or a timeout both mean: stop waiting.
            let _ = cond.wait_timeout_while(ready, limit, |ready| !*ready);
        }
    }
}

/// Reads until end of stream, retrying interrupted reads; `sink` gets every chunk and
/// returns false to stop early.
fn copy_chunks(mut from: impl Read, mut sink: impl FnMut(&[u8]) -> bool) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if !sink(&buf[..n]) {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// Copies the app's stdout to ours, flushing each chunk; a failed write ends the copy and
/// sends [`Event::StdoutClosed`].
pub fn app_stdout(from: UnixStream, events: Sender<Event>, ready: GuestReady) -> JoinHandle<()> {
    thread::spawn(move || {
        let stdout = io::stdout();
        copy_chunks(from, |chunk| {
            ready.set();
            let mut out = stdout.lock();
            if out.write_all(chunk).and_then(|()| out.flush()).is_err() {
                // The run loop may already be gone; nothing else to do then.
                let _ = events.send(Event::StdoutClosed);
                return false;
            }
            true
        });
    })
}

/// Copies the app's stderr to ours. Write errors are ignored (and the stream still drained,
/// so the guest is never blocked by a closed stderr).
pub fn app_stderr(from: UnixStream, ready: GuestReady) -> JoinHandle<()> {
    thread::spawn(move || {
        let stderr = io::stderr();
        copy_chunks(from, |chunk| {
            ready.set();
            let mut err = stderr.lock();
            // Deliberately ignored: see the doc comment.
            let _ = err.write_all(chunk).and_then(|()| err.flush());
            true
        });
    })
}

/// Splits a log stream into lines and sends them as events; data on it marks the guest
/// ready when `ready` is given (the kernel-log channel, not COM1, which firmware writes too).
pub fn log_lines(
    from: UnixStream,
    events: Sender<Event>,
    ready: Option<GuestReady>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut splitter = LineSplitter::new();
        copy_chunks(from, |chunk| {
            if let Some(ready) = &ready {
                ready.set();
            }
            let mut open = true;
            splitter.push(chunk, |line| open &= events.send(Event::Line(line)).is_ok());
            open
        });
        if let Some(tail) = splitter.finish() {
            // The run loop may already be gone; the tail is then of no use.
            let _ = events.send(Event::Line(tail));
        }
    })
}

/// Copies a byte stream into a shared buffer (QEMU's own stdout/stderr), echoing it to our
/// stderr when `echo` is set.
pub fn capture(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
    echo: bool,
) -> JoinHandle<()> {
    thread::spawn(move || {
        copy_chunks(from, |chunk| {
            if echo {
                // Best effort: a closed stderr must not stop the capture.
                let _ = io::stderr().write_all(chunk);
            }
            into.lock()
                .map(|mut buf| buf.extend_from_slice(chunk))
                .is_ok()
        });
    })
}

/// Relays our stdin, framed, to COM1, ending with the end-of-input mark, once the guest is
/// ready. A read error counts as end of input; a write error (QEMU gone) ends the relay.
/// Detached: see the module doc.
pub fn stdin_relay(mut to: UnixStream, ready: GuestReady) {
    thread::spawn(move || {
        ready.wait(READY_FALLBACK);
        let stdin = io::stdin();
        let mut framed = Vec::with_capacity(CHUNK * 2);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match stdin.lock().read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            framed.clear();
            if n == 0 {
                framed.extend_from_slice(&END_OF_INPUT);
            } else {
                frame_into(&buf[..n], &mut framed);
            }
            if to.write_all(&framed).is_err() || n == 0 {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn ready_releases_waiters_and_the_fallback_bounds_the_wait() {
        let ready = GuestReady::default();
        let started = Instant::now();
        ready.wait(Duration::from_millis(50));
        assert!(started.elapsed() >= Duration::from_millis(50));

        let waiter = {
            let ready = ready.clone();
            thread::spawn(move || {
                let started = Instant::now();
                ready.wait(Duration::from_secs(30));
                started.elapsed()
            })
        };
        thread::sleep(Duration::from_millis(20));
        ready.set();
        assert!(waiter.join().unwrap() < Duration::from_secs(10));
    }

    #[test]
    fn log_lines_become_events_including_an_unterminated_tail() {
        let (mut guest, host) = UnixStream::pair().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let ready = GuestReady::default();
        let pump = log_lines(host, tx, Some(ready.clone()));
        guest.write_all(b"one\ntw").unwrap();
        guest.write_all(b"o\r\nthree").unwrap();
        drop(guest);
        pump.join().unwrap();
        let lines: Vec<String> = rx
            .try_iter()
            .map(|e| match e {
                Event::Line(l) => l,
                Event::StdoutClosed => panic!("no stdout here"),
            })
            .collect();
        assert_eq!(lines, ["one", "two", "three"]);
        let started = Instant::now();
        ready.wait(Duration::from_secs(30));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "log data marks the guest ready"
        );
    }
}
