//! Fakes of every trait the embedder implements, for host tests (of this crate and of
//! embedders): [`FakeClock`], [`FakeConsole`], [`FakeEntropy`], [`FakeProcess`],
//! [`FakeBlocker`]. None blocks and none reads the host's clock, so tests are deterministic.

use crate::blocker::Blocker;
use crate::device::{CharDevice, EntropySource};
use crate::procfs::ProcessInfo;
use crate::time::{RealtimeClock, Timestamp};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::{PollEvents, Winsize};
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
        })
    }

    /// Queues input bytes.
    pub fn push_input(&self, bytes: &[u8]) {
        self.input.lock().extend(bytes.iter().copied());
    }

    /// Ends the input: once drained, reads return 0.
    pub fn end_input(&self) {
        self.eof.store(true, Ordering::Relaxed);
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

/// A process with a fixed pid, executable path and arguments.
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
    fn pid(&self) -> u32 {
        self.pid
    }

    fn exe_path(&self) -> Vec<u8> {
        self.exe.clone()
    }

    fn cmdline(&self) -> Vec<u8> {
        self.cmdline.clone()
    }
}

/// A blocker whose waits return at once: a wait with a deadline moves the fake monotonic clock
/// to it; a wait without one returns `EINTR` (it would sleep forever). A hook run on every wait
/// lets a test make something ready "while blocked"; then waits without a deadline return `Ok`
/// (up to [`FakeBlocker::MAX_HOOKED_WAITS`] times).
#[derive(Default)]
pub struct FakeBlocker {
    now: AtomicU64,
    waits: AtomicUsize,
    on_wait: Option<Box<dyn Fn(usize) + Send + Sync>>,
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
            on_wait: Some(Box::new(hook)),
            ..Self::default()
        }
    }

    /// How many times `wait_until` was called.
    pub fn waits(&self) -> usize {
        self.waits.load(Ordering::Relaxed)
    }
}

impl Blocker for FakeBlocker {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    fn wait_until(&self, deadline: Option<u64>) -> Result<(), Errno> {
        let n = self.waits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(hook) = &self.on_wait {
            hook(n);
        }
        match deadline {
            Some(d) => {
                self.now.fetch_max(d, Ordering::Relaxed);
                Ok(())
            }
            // With a hook, the wakeup is presumably the hook's doing; give up after many
            // rounds rather than spin forever on a test bug.
            None if self.on_wait.is_some() && n <= Self::MAX_HOOKED_WAITS => Ok(()),
            None => Err(Errno::EINTR),
        }
    }
}
