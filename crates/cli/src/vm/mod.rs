//! Running one VM to its end: QEMU, the channel sockets, the pumps, and the verdict.
//!
//! `oxv` listens on four Unix sockets before starting QEMU, whose chardevs connect to them
//! as clients at startup (the connection completes in the kernel's backlog, so QEMU never
//! waits for us). Startup can still fail (a bad option, a missing kernel): while accepting,
//! the loop also watches QEMU's exit and gives up after a deadline, so nothing hangs, and
//! QEMU's stderr is always captured for the report.
//!
//! The run ends when QEMU exits (the kernel writes isa-debug-exit after its last record), or
//! when `oxv` stops it: `--timeout`, our stdout closed, Ctrl-C, or the VM still running a
//! few seconds after its final record. Then all streams are drained to their end before the
//! verdict, because records and app output travel on different sockets and may arrive in
//! any order. The verdict comes from the records, never from QEMU's exit status
//! (`notes/protocol.md`).

mod interrupt;
mod pump;

use std::collections::VecDeque;
use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::CliError;
use crate::protocol::record::{Killed, Record, classify};
use crate::qemu::{Channel, QEMU, VmConfig, display_command};
use pump::Event;

/// How long QEMU may take to connect its chardevs before `oxv` gives up on it.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
/// How long the VM may keep running after its final record before it is stopped.
const POWER_OFF_GRACE: Duration = Duration::from_secs(5);
/// How many kernel-log lines are kept for a failure report.
const KLOG_KEEP: usize = 10_000;
/// How often the run loop looks at QEMU, the clock and signals.
const POLL: Duration = Duration::from_millis(5);

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct VmOptions {
    /// Show the kernel log and QEMU's stderr live, and the QEMU command line.
    pub verbose: bool,
    /// Stop the VM after this long.
    pub timeout: Option<Duration>,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The app exited with this status.
    Exit(u8),
    /// The app was killed by a signal.
    Killed(Killed),
    /// The kernel panicked.
    Panic {
        /// The panic message lines.
        message: Vec<String>,
        /// Return addresses, innermost first, if the backtrace record arrived.
        backtrace: Option<Vec<u64>>,
    },
    /// The VM stopped without a final record.
    NoRecord {
        /// QEMU's exit status, if it exited by itself.
        qemu: Option<ExitStatus>,
        /// QEMU exited before connecting its channels (it failed to start).
        before_connect: bool,
    },
    /// `--timeout` expired.
    Timeout,
    /// Our stdout was closed; the VM was stopped.
    StdoutClosed,
    /// `oxv` received this signal; the VM was stopped.
    Interrupted(i32),
}

/// What a run produced besides the app's own output.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// Kernel-log lines (the last [`KLOG_KEEP`]), records and the panic message excluded.
    pub klog: VecDeque<String>,
    /// Kernel-log lines dropped from the front of `klog`.
    pub klog_dropped: usize,
    /// QEMU's own stdout and stderr.
    pub qemu_output: String,
    /// From the `boot` record: microseconds from kernel entry to the app.
    pub boot_us: Option<u64>,
    /// Oddities worth telling (malformed records, a VM that did not power off).
    pub warnings: Vec<String>,
    /// Wall time from QEMU's start to its end.
    pub wall: Duration,
}

/// Runs the VM described by `cfg` to its end. The channel sockets are created in
/// `cfg.socket_dir`, which must exist.
pub fn run(cfg: &VmConfig, opts: &VmOptions) -> Result<Outcome, CliError> {
    let listeners = Channel::ALL
        .iter()
        .map(|&c| listen(&cfg.socket_path(c)))
        .collect::<Result<Vec<_>, _>>()?;

    let args = cfg.args();
    if opts.verbose {
        eprintln!("oxv: qemu: {}", display_command(QEMU, &args));
    }
    let _signals = interrupt::Guard::install();
    let started = Instant::now();
    let mut child = spawn_qemu(&args)?;
    let qemu_output = Arc::new(Mutex::new(Vec::new()));
    let mut captures = Vec::new();
    if let Some(out) = child.stdout.take() {
        captures.push(pump::capture(out, qemu_output.clone(), opts.verbose));
    }
    if let Some(err) = child.stderr.take() {
        captures.push(pump::capture(err, qemu_output.clone(), opts.verbose));
    }

    let mut run = RunState::new(opts.verbose);
    let deadline = opts.timeout.map(|t| started + t);
    let streams = match accept_all(&listeners, &mut child, deadline)? {
        Accepted::Streams(s) => s,
        Accepted::Stopped(ending) => {
            let qemu = reap(&mut child);
            captures.into_iter().for_each(|c| drop(c.join()));
            run.ended = Some(match ending {
                Ending::NoRecord { before_connect, .. } => Ending::NoRecord {
                    qemu,
                    before_connect,
                },
                other => other,
            });
            return Ok(run.finish(None, started.elapsed(), &qemu_output));
        }
    };
    drop(listeners);

    let [com1, stdout, stderr, klog] = streams;
    let (tx, rx) = mpsc::channel();
    let com1_in = com1
        .try_clone()
        .map_err(|e| CliError::io("cannot clone the COM1 socket", e))?;
    let ready = pump::GuestReady::default();
    pump::stdin_relay(com1_in, ready.clone());
    let pumps = vec![
        pump::app_stdout(stdout, tx.clone(), ready.clone()),
        pump::app_stderr(stderr, ready.clone()),
        pump::log_lines(klog, tx.clone(), Some(ready)),
        pump::log_lines(com1, tx, None),
    ];

    let mut qemu_status = None;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(event) => {
                run.handle(event);
                // Handle bursts of lines before looking at the clock again.
                while let Ok(event) = rx.try_recv() {
                    run.handle(event);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Every pump is done: QEMU is exiting; keep polling it.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        if let Some(status) = child
            .try_wait()
            .map_err(|e| CliError::io("cannot wait for QEMU", e))?
        {
            qemu_status = Some(status);
            break;
        }
        if let Some(sig) = interrupt::pending() {
            run.ended = Some(Ending::Interrupted(sig));
            break;
        }
        if run.stdout_closed {
            break;
        }
        if let Some(at) = run.final_at {
            if at.elapsed() > POWER_OFF_GRACE {
                run.warnings.push(format!(
                    "the VM was still running {} s after its final record; stopped it",
                    POWER_OFF_GRACE.as_secs()
                ));
                break;
            }
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            run.ended = Some(Ending::Timeout);
            break;
        }
    }
    if qemu_status.is_none() {
        qemu_status = reap(&mut child);
    }
    let wall = started.elapsed();
    // QEMU is gone, so every socket reaches end of stream and the pumps finish.
    for handle in pumps.into_iter().chain(captures) {
        // A pump that panicked lost its data; the verdict is still worth reporting.
        let _ = handle.join();
    }
    for event in rx.try_iter() {
        run.handle(event);
    }
    Ok(run.finish(qemu_status, wall, &qemu_output))
}

/// Binds a listening socket at `path`, replacing a stale one.
fn listen(path: &Path) -> Result<UnixListener, CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(CliError::io(format!("cannot remove {}", path.display()), e)),
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| CliError::io(format!("cannot listen on {}", path.display()), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| CliError::io("cannot configure a socket", e))?;
    Ok(listener)
}

fn spawn_qemu(args: &[std::ffi::OsString]) -> Result<Child, CliError> {
    let mut cmd = Command::new(QEMU);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs between fork and exec; it only calls prctl, which is
    // async-signal-safe, and allocates nothing. PR_SET_PDEATHSIG with a valid signal
    // number has no memory effects.
    unsafe {
        cmd.pre_exec(|| {
            // Take QEMU down with us if `oxv` is killed: an orphaned VM would run on forever.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CliError::Setup(format!("{QEMU} not found")),
        _ => CliError::io(format!("cannot start {QEMU}"), e),
    })
}

/// Kills QEMU if it still runs and waits for it; its status if it had exited by itself.
fn reap(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // Errors here mean it is already gone; waiting below settles it either way.
    let _ = child.kill();
    let _ = child.wait();
    None
}

enum Accepted {
    Streams([UnixStream; 4]),
    Stopped(Ending),
}

/// Accepts QEMU's four connections, in `Channel::ALL` order, watching for QEMU's exit,
/// signals, the run's deadline and the connect deadline.
fn accept_all(
    listeners: &[UnixListener],
    child: &mut Child,
    deadline: Option<Instant>,
) -> Result<Accepted, CliError> {
    let connect_deadline = Instant::now() + CONNECT_DEADLINE;
    let mut streams: Vec<Option<UnixStream>> = listeners.iter().map(|_| None).collect();
    loop {
        for (listener, slot) in listeners
            .iter()
            .zip(streams.iter_mut())
            .filter(|(_, s)| s.is_none())
        {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(|e| CliError::io("cannot configure a socket", e))?;
                    *slot = Some(stream);
                }
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CliError::io("cannot accept QEMU's connection", e)),
            }
        }
        if streams.iter().all(Option::is_some) {
            let streams: Vec<UnixStream> = streams.into_iter().flatten().collect();
            let streams: [UnixStream; 4] = streams
                .try_into()
                .expect("one stream per channel, all accepted");
            return Ok(Accepted::Streams(streams));
        }
        if child
            .try_wait()
            .map_err(|e| CliError::io("cannot wait for QEMU", e))?
            .is_some()
        {
            return Ok(Accepted::Stopped(Ending::NoRecord {
                qemu: None,
                before_connect: true,
            }));
        }
        if let Some(sig) = interrupt::pending() {
            return Ok(Accepted::Stopped(Ending::Interrupted(sig)));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Accepted::Stopped(Ending::Timeout));
        }
        if Instant::now() >= connect_deadline {
            return Ok(Accepted::Stopped(Ending::NoRecord {
                qemu: None,
                before_connect: true,
            }));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What the run loop has learned so far. Pure: fed events, it decides the ending, so it is
/// tested without QEMU.
#[derive(Debug)]
struct RunState {
    verbose: bool,
    klog: VecDeque<String>,
    klog_dropped: usize,
    exit: Option<u8>,
    killed: Option<Killed>,
    panic: Option<(Vec<String>, Option<Vec<u64>>)>,
    boot_us: Option<u64>,
    warnings: Vec<String>,
    stdout_closed: bool,
    /// When the final record (exit, killed, or a panic's backtrace) arrived.
    final_at: Option<Instant>,
    /// An ending decided by the loop itself (timeout, signal).
    ended: Option<Ending>,
}

impl RunState {
    fn new(verbose: bool) -> Self {
        RunState {
            verbose,
            klog: VecDeque::new(),
            klog_dropped: 0,
            exit: None,
            killed: None,
            panic: None,
            boot_us: None,
            warnings: Vec::new(),
            stdout_closed: false,
            final_at: None,
            ended: None,
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::StdoutClosed => self.stdout_closed = true,
            Event::Line(line) => {
                let parsed = classify(&line);
                if !parsed.text.is_empty() || parsed.record.is_none() {
                    self.text(parsed.text);
                }
                match parsed.record {
                    Some(Ok(record)) => self.record(record),
                    Some(Err(e)) => {
                        self.warnings.push(e.to_string());
                        self.text(&line.replace(crate::protocol::record::MARK, "^^"));
                    }
                    None => {}
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.verbose {
            eprintln!("{text}");
        }
        match &mut self.panic {
            Some((message, None)) => message.push(text.to_string()),
            _ => {
                if self.klog.len() == KLOG_KEEP {
                    self.klog.pop_front();
                    self.klog_dropped += 1;
                }
                self.klog.push_back(text.to_string());
            }
        }
    }

    fn record(&mut self, record: Record) {
        match record {
            Record::Exit { status } => {
                self.exit = Some(status);
                self.final_at.get_or_insert_with(Instant::now);
            }
            Record::Killed(k) => {
                self.killed = Some(k);
                self.final_at.get_or_insert_with(Instant::now);
            }
            Record::Panic => {
                if self.panic.is_none() {
                    self.panic = Some((Vec::new(), None));
                }
            }
            Record::Backtrace(addrs) => match &mut self.panic {
                Some((_, bt @ None)) => {
                    *bt = Some(addrs);
                    self.final_at.get_or_insert_with(Instant::now);
                }
                _ => self
                    .warnings
                    .push("a backtrace record without a panic record".into()),
            },
            Record::Boot { entry_to_app_us } => self.boot_us = entry_to_app_us,
            Record::Unknown { kind } => self.text(&format!("(unknown control record `{kind}`)")),
        }
    }

    /// The verdict, most serious first: a signal to `oxv`, a kernel panic, the app's death or
    /// exit, then what `oxv` saw without a record.
    fn ending(&mut self, qemu: Option<ExitStatus>) -> Ending {
        if let Some(Ending::Interrupted(sig)) = self.ended {
            return Ending::Interrupted(sig);
        }
        if let Some((message, backtrace)) = self.panic.take() {
            return Ending::Panic { message, backtrace };
        }
        if let Some(k) = self.killed.take() {
            return Ending::Killed(k);
        }
        if let Some(status) = self.exit {
            return Ending::Exit(status);
        }
        if self.stdout_closed {
            return Ending::StdoutClosed;
        }
        self.ended.take().unwrap_or(Ending::NoRecord {
            qemu,
            before_connect: false,
        })
    }

    fn finish(
        mut self,
        qemu: Option<ExitStatus>,
        wall: Duration,
        qemu_output: &Mutex<Vec<u8>>,
    ) -> Outcome {
        let ending = self.ending(qemu);
        let qemu_output = qemu_output
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Outcome {
            ending,
            klog: self.klog,
            klog_dropped: self.klog_dropped,
            qemu_output,
            boot_us: self.boot_us,
            warnings: self.warnings,
            wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[&str]) -> RunState {
        let mut s = RunState::new(false);
        for l in lines {
            s.handle(Event::Line(l.to_string()));
        }
        s
    }

    fn ending_of(lines: &[&str]) -> Ending {
        feed(lines).ending(None)
    }

    #[test]
    fn an_exit_record_is_the_status_and_log_lines_are_kept() {
        let mut s = feed(&[
            "oxv 0.1 booting",
            "\x1eoxv:boot entry_to_app_us=900",
            "\x1eoxv:exit status=42",
        ]);
        assert_eq!(s.ending(None), Ending::Exit(42));
        assert_eq!(s.klog, ["oxv 0.1 booting"]);
        assert_eq!(s.boot_us, Some(900));
        assert!(s.final_at.is_some());
    }

    #[test]
    fn killed_beats_exit_and_panic_beats_both() {
        let killed = "\x1eoxv:killed sig=11 name=SIGSEGV addr=0x0";
        let Ending::Killed(k) = ending_of(&[killed]) else {
            panic!()
        };
        assert_eq!(k.exit_status(), 139);
        assert!(matches!(
            ending_of(&["\x1eoxv:exit status=0", killed]),
            Ending::Killed(_)
        ));
        let e = ending_of(&[
            "\x1eoxv:exit status=0",
            "\x1eoxv:panic",
            "panicked at src/mm.rs:10: oops",
            "second line",
            "\x1eoxv:backtrace 0x10 0x20",
            "after",
        ]);
        assert_eq!(
            e,
            Ending::Panic {
                message: vec![
                    "panicked at src/mm.rs:10: oops".into(),
                    "second line".into()
                ],
                backtrace: Some(vec![0x10, 0x20]),
            }
        );
    }

    #[test]
    fn a_panic_without_backtrace_still_counts() {
        let mut s = feed(&["\x1eoxv:panic", "boom"]);
        assert!(s.final_at.is_none());
        assert_eq!(
            s.ending(None),
            Ending::Panic {
                message: vec!["boom".into()],
                backtrace: None
            }
        );
    }

    #[test]
    fn no_record_timeout_and_signals() {
        assert_eq!(
            ending_of(&["just log"]),
            Ending::NoRecord {
                qemu: None,
                before_connect: false
            }
        );
        let mut s = feed(&[]);
        s.ended = Some(Ending::Timeout);
        assert_eq!(s.ending(None), Ending::Timeout);
        // A record that arrived before the deadline wins over the timeout.
        let mut s = feed(&["\x1eoxv:exit status=3"]);
        s.ended = Some(Ending::Timeout);
        assert_eq!(s.ending(None), Ending::Exit(3));
        let mut s = feed(&["\x1eoxv:exit status=3"]);
        s.ended = Some(Ending::Interrupted(2));
        assert_eq!(s.ending(None), Ending::Interrupted(2));
        let mut s = feed(&[]);
        s.handle(Event::StdoutClosed);
        assert_eq!(s.ending(None), Ending::StdoutClosed);
    }

    #[test]
    fn malformed_and_unknown_records_are_logged_not_fatal() {
        let s = feed(&[
            "\x1eoxv:exit status=999",
            "\x1eoxv:future x=1",
            "pre\x1eoxv:exit status=1",
        ]);
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(
            s.klog,
            [
                "^^oxv:exit status=999",
                "(unknown control record `future`)",
                "pre"
            ]
        );
        assert_eq!(s.exit, Some(1));
    }

    #[test]
    fn the_log_keeps_only_its_tail() {
        let mut s = RunState::new(false);
        for i in 0..KLOG_KEEP + 3 {
            s.text(&i.to_string());
        }
        assert_eq!(s.klog.len(), KLOG_KEEP);
        assert_eq!(s.klog_dropped, 3);
        assert_eq!(s.klog.front().map(String::as_str), Some("3"));
    }
}
