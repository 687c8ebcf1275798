//! Fakes of every trait the embedder implements, for host tests (of this crate and of
//! embedders): [`FakeClock`], [`FakeConsole`], [`FakeEntropy`], [`FakeProcess`],
//! [`FakeBlocker`], [`FakeTtySignals`]. None blocks and none reads the host's clock, so tests are deterministic.

use crate::blocker::{Blocker, Parker};
use crate::device::{CharDevice, EntropySource};
use crate::procfs::ProcessInfo;
use crate::readiness::PollQueue;
use crate::time::{RealtimeClock, Timestamp};
use crate::tty::{TtyCaller, TtySignals};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::{PollEvents, Winsize};
use oxv_abi::linux::signal::Signal;
use spin::Mutex;

/// A wall clock that moves only when told to.
pub struct FakeClock {
    secs: AtomicI64,
}

impl FakeClock {
    /// A clock reading `secs` seconds after the epoch.
    pub fn at(secs: i64) -> Arc<FakeClock> {
        Arc::new(FakeClock {
            secs: AtomicI64::new(secs),
        })
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.secs.fetch_add(secs, Ordering::Relaxed);
    }
}

impl RealtimeClock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.secs.load(Ordering::Relaxed))
    }
}

/// A console: input the test queues, output the test inspects, an optional window size.
pub struct FakeConsole {
    input: Mutex<VecDeque<u8>>,
    eof: AtomicBool,
    output: Mutex<Vec<u8>>,
    winsize: Option<Winsize>,
    queue: PollQueue,
}

impl FakeConsole {
    /// A terminal of `rows` x `cols`.
    pub fn tty(rows: u16, cols: u16) -> Arc<FakeConsole> {
        Self::with_winsize(Some(Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }))
    }

    /// A byte stream that is not a terminal (a serial log, say): tty ioctls are `ENOTTY`.
    pub fn not_a_tty() -> Arc<FakeConsole> {
        Self::with_winsize(None)
    }

    fn with_winsize(winsize: Option<Winsize>) -> Arc<FakeConsole> {
        Arc::new(FakeConsole {
            input: Mutex::new(VecDeque::new()),
            eof: AtomicBool::new(false),
            output: Mutex::new(Vec::new()),
            winsize,
            queue: PollQueue::new(),
        })
    }

    /// Queues input bytes (and tells pollers).
    pub fn push_input(&self, bytes: &[u8]) {
        self.input.lock().extend(bytes.iter().copied());
        self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
    }

    /// Ends the input: once drained, reads return 0.
    pub fn end_input(&self) {
        self.eof.store(true, Ordering::Relaxed);
        self.queue.notify(PollEvents::IN | PollEvents::HUP);
    }

    /// Everything written so far.
    pub fn output(&self) -> Vec<u8> {
        self.output.lock().clone()
    }
}

impl CharDevice for FakeConsole {
    /// Never blocks: with nothing queued and input not ended, a blocking read returns `EINTR`
    /// (as if a signal interrupted the wait a real device would do), a non-blocking one
    /// `EAGAIN`.
    fn read(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize, Errno> {
        let mut input = self.input.lock();
        if input.is_empty() {
            return if self.eof.load(Ordering::Relaxed) {
                Ok(0)
            } else if nonblocking {
                Err(Errno::EAGAIN)
            } else {
                Err(Errno::EINTR)
            };
        }
        let n = buf.len().min(input.len());
        for (d, s) in buf.iter_mut().zip(input.drain(..n)) {
            *d = s;
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        self.output.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::OUT;
        if !self.input.lock().is_empty() {
            ev |= PollEvents::IN;
        }
        if self.eof.load(Ordering::Relaxed) {
            ev |= PollEvents::IN | PollEvents::HUP;
        }
        ev
    }

    fn bytes_readable(&self) -> usize {
        self.input.lock().len()
    }

    fn window_size(&self) -> Option<Winsize> {
        self.winsize
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.queue)
    }
}

/// A deterministic entropy source (xorshift64*; not random, for tests only).
pub struct FakeEntropy {
    state: Mutex<u64>,
}

impl FakeEntropy {
    /// A generator seeded with `seed` (0 is replaced by a fixed non-zero seed).
    pub fn seeded(seed: u64) -> Arc<FakeEntropy> {
        Arc::new(FakeEntropy {
            state: Mutex::new(if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            }),
        })
    }
}

impl EntropySource for FakeEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let mut s = self.state.lock();
        for chunk in buf.chunks_mut(8) {
            *s ^= *s >> 12;
            *s ^= *s << 25;
            *s ^= *s >> 27;
            let v = s.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A process with a fixed pid, executable path and arguments, and fixed one-line memory
/// files (`maps` names the executable).
pub struct FakeProcess {
    pid: u32,
    exe: Vec<u8>,
    cmdline: Vec<u8>,
}

impl FakeProcess {
    /// A process `pid` running `exe` with arguments `args`.
    pub fn new(pid: u32, exe: &[u8], args: &[&[u8]]) -> Arc<FakeProcess> {
        let mut cmdline = Vec::new();
        for a in args {
            cmdline.extend_from_slice(a);
            cmdline.push(0);
        }
        Arc::new(FakeProcess {
            pid,
            exe: exe.to_vec(),
            cmdline,
        })
    }
}

impl ProcessInfo for FakeProcess {
    fn current_pid(&self) -> u32 {
        self.pid
    }

    /// This process and one child, `pid + 1`, running `/bin/child`.
    fn pids(&self) -> Vec<u32> {
        alloc::vec![self.pid, self.pid + 1]
    }

    fn exe_path(&self, pid: u32) -> Option<Vec<u8>> {
        if pid == self.pid {
            Some(self.exe.clone())
        } else if pid == self.pid + 1 {
            Some(b"/bin/child".to_vec())
        } else {
            None
        }
    }

    fn pid_file(&self, pid: u32, file: crate::procfs::PidFile) -> Option<Vec<u8>> {
        use crate::procfs::PidFile;
        self.exe_path(pid)?;
        Some(match file {
            PidFile::Cmdline => self.cmdline.clone(),
            // One line: the executable's text at 4 MiB.
            PidFile::Maps => {
                let mut line = b"00400000-00401000 r-xp 00000000 00:01 2 ".to_vec();
                line.extend_from_slice(&self.exe);
                line.push(b'\n');
                line
            }
            PidFile::Smaps => b"Size: 4 kB\n".to_vec(),
            PidFile::Status => alloc::format!("Pid:\t{pid}\n").into_bytes(),
            PidFile::Stat
            | PidFile::Limits
            | PidFile::Environ
            | PidFile::Mounts
            | PidFile::MountInfo => Vec::new(),
        })
    }

    /// fd 0 is a terminal, fd 3 a pipe.
    fn fds(&self, pid: u32) -> Option<Vec<(u32, Vec<u8>)>> {
        self.exe_path(pid)?;
        Some(alloc::vec![
            (0, b"/dev/pts/0".to_vec()),
            (3, b"pipe:[7]".to_vec())
        ])
    }

    fn system_file(&self, file: crate::procfs::SystemFile) -> Vec<u8> {
        match file {
            crate::procfs::SystemFile::Meminfo => b"MemTotal: 1 kB\n".to_vec(),
            _ => Vec::new(),
        }
    }

    fn sysctl(&self, name: &str) -> Vec<u8> {
        alloc::format!("{name}\n").into_bytes()
    }
}

/// A blocker whose waits return at once: a wait with a deadline moves the fake monotonic clock
/// to it; a wait without one returns `EINTR` (it would sleep forever). A hook run on every wait
/// lets a test make something ready "while blocked"; then waits without a deadline return `Ok`
/// (up to [`FakeBlocker::MAX_HOOKED_WAITS`] times). A wait whose waiter was already woken
/// returns at once and is not counted, as a kernel would not sleep then.
#[derive(Clone, Default)]
pub struct FakeBlocker {
    state: Arc<FakeBlockerState>,
}

#[derive(Default)]
struct FakeBlockerState {
    now: AtomicU64,
    waits: AtomicUsize,
    unparks: AtomicUsize,
    on_wait: Option<Box<dyn Fn(usize) + Send + Sync>>,
    /// `fatal_signal_pending` answers `false` this many more times, then `true` (`None`:
    /// never killed).
    killed_after: Mutex<Option<usize>>,
}

impl FakeBlocker {
    /// Waits without a deadline after which a hooked blocker returns `EINTR`.
    pub const MAX_HOOKED_WAITS: usize = 1000;

    /// A blocker at monotonic time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `hook(n)` at the start of the `n`-th wait (from 1).
    pub fn on_wait(hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        FakeBlocker {
            state: Arc::new(FakeBlockerState {
                on_wait: Some(Box::new(hook)),
                ..FakeBlockerState::default()
            }),
        }
    }

    /// How many times a thread went to sleep.
    pub fn waits(&self) -> usize {
        self.state.waits.load(Ordering::Relaxed)
    }

    /// How many times a parker was unparked.
    pub fn unparks(&self) -> usize {
        self.state.unparks.load(Ordering::Relaxed)
    }

    /// Moves the fake monotonic clock forward.
    pub fn advance(&self, ns: u64) {
        self.state.now.fetch_add(ns, Ordering::Relaxed);
    }

    /// Makes the caller be killed after `asks` more questions: [`Blocker::fatal_signal_pending`]
    /// answers `false` that many times, then `true` (0: killed now).
    pub fn kill_after(&self, asks: usize) {
        *self.state.killed_after.lock() = Some(asks);
    }
}

impl Blocker for FakeBlocker {
    fn now_ns(&self) -> u64 {
        self.state.now.load(Ordering::Relaxed)
    }

    fn parker(&self) -> Arc<dyn Parker> {
        Arc::new(FakeParker(self.state.clone()))
    }

    fn fatal_signal_pending(&self) -> bool {
        match &mut *self.state.killed_after.lock() {
            None => false,
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
        }
    }
}

struct FakeParker(Arc<FakeBlockerState>);

impl Parker for FakeParker {
    fn park(&self, woken: &AtomicBool, deadline: Option<u64>) -> Result<(), Errno> {
        if woken.load(Ordering::SeqCst) {
            return Ok(());
        }
        let s = &self.0;
        let n = s.waits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(hook) = &s.on_wait {
            hook(n);
        }
        if woken.load(Ordering::SeqCst) {
            return Ok(());
        }
        match deadline {
            Some(d) => {
                s.now.fetch_max(d, Ordering::Relaxed);
                Ok(())
            }
            // With a hook, the wakeup is presumably the hook's doing; give up after many
            // rounds rather than spin forever on a test bug.
            None if s.on_wait.is_some() && n <= FakeBlocker::MAX_HOOKED_WAITS => Ok(()),
            None => Err(Errno::EINTR),
        }
    }

    fn unpark(&self) {
        self.0.unparks.fetch_add(1, Ordering::Relaxed);
    }
}

/// The processes a terminal sees ([`TtySignals`]), as a test sets them: records what is
/// raised; the caller is the leader of session and group 42 until a test moves it
/// ([`FakeTtySignals::caller`]); groups 42 and 43 live in session 42
/// ([`FakeTtySignals::groups`]); nothing refuses signals or is orphaned until a test says so.
pub struct FakeTtySignals {
    /// Every `(group, signal)` raised, in order.
    pub raised: Mutex<Vec<(i32, Signal)>>,
    /// The calling process.
    pub caller: Mutex<TtyCaller>,
    /// The signals the caller blocks or ignores.
    pub refuses: Mutex<Vec<Signal>>,
    /// Whether every group is orphaned.
    pub orphaned: AtomicBool,
    /// The live groups and their sessions, `(group, session)`.
    pub groups: Mutex<Vec<(i32, i32)>>,
}

impl FakeTtySignals {
    /// The state the [type docs](FakeTtySignals) describe.
    pub fn new() -> Arc<FakeTtySignals> {
        Arc::new(FakeTtySignals {
            raised: Mutex::new(Vec::new()),
            caller: Mutex::new(TtyCaller {
                pid: 42,
                pgrp: 42,
                session: 42,
            }),
            refuses: Mutex::new(Vec::new()),
            orphaned: AtomicBool::new(false),
            groups: Mutex::new(alloc::vec![(42, 42), (43, 42)]),
        })
    }

    /// What was raised since the last call.
    pub fn take(&self) -> Vec<(i32, Signal)> {
        core::mem::take(&mut *self.raised.lock())
    }
}

impl TtySignals for FakeTtySignals {
    fn signal_group(&self, pgrp: i32, sig: Signal) {
        self.raised.lock().push((pgrp, sig));
    }

    fn caller(&self) -> Option<TtyCaller> {
        Some(*self.caller.lock())
    }

    fn caller_refuses(&self, sig: Signal) -> bool {
        self.refuses.lock().contains(&sig)
    }

    fn group_orphaned(&self, _pgrp: i32) -> bool {
        self.orphaned.load(Ordering::Relaxed)
    }

    fn group_session(&self, pgrp: i32) -> Option<i32> {
        let groups = self.groups.lock();
        groups.iter().find(|&&(g, _)| g == pgrp).map(|&(_, s)| s)
    }
}

/// A [`Blocker`] over real host threads (`std::thread::park`), for tests where one thread
/// blocks and another wakes it.
#[cfg(test)]
pub(crate) mod threads {
    use super::*;
    use std::time::{Duration, Instant};

    /// Monotonic time from its creation; parkers park the calling host thread.
    pub(crate) struct ThreadBlocker {
        start: Instant,
    }

    impl ThreadBlocker {
        pub(crate) fn new() -> Arc<ThreadBlocker> {
            Arc::new(ThreadBlocker {
                start: Instant::now(),
            })
        }
    }

    impl Blocker for ThreadBlocker {
        fn now_ns(&self) -> u64 {
            self.start.elapsed().as_nanos() as u64
        }

        fn parker(&self) -> Arc<dyn Parker> {
            Arc::new(ThreadParker {
                thread: std::thread::current(),
                start: self.start,
            })
        }
    }

    struct ThreadParker {
        thread: std::thread::Thread,
        start: Instant,
    }

    impl Parker for ThreadParker {
        fn park(&self, woken: &AtomicBool, deadline: Option<u64>) -> Result<(), Errno> {
            // std's park/unpark keeps a token, so an unpark between the check and the park
            // is not lost.
            while !woken.load(Ordering::SeqCst) {
                match deadline {
                    Some(d) => {
                        let now = self.start.elapsed().as_nanos() as u64;
                        if now >= d {
                            return Ok(());
                        }
                        std::thread::park_timeout(Duration::from_nanos(d - now));
                    }
                    None => std::thread::park(),
                }
            }
            Ok(())
        }

        fn unpark(&self) {
            self.thread.unpark();
        }
    }
}
