//! The kernel's implementations of the VFS's device seams: the console (fds 0-2,
//! `/dev/console`, `/dev/tty`), entropy, the wall clock, blocking, and process info for
//! `/proc`.
//!
//! Stdin comes from COM1 (framed in split mode, see [`crate::stdin_frame`]), interrupt-driven
//! through the I/O APIC; stdout and stderr go to their own channels. Whether each of fds 0-2 is a terminal is the host's
//! answer (the CLI passes `tty=` with the fds that are terminals on its side, and
//! `winsize=ROWSxCOLS`), so `isatty(1)` in the app matches `isatty(1)` in the shell that ran
//! `cargo oxv run`: output piped on the host is a pipe-like stream in the guest.

use crate::arch::cpu;
use crate::arch::port::X86Ports;
use crate::console;
use crate::stdin_frame::{Decoded, StdinDecoder};
use crate::thread::{ThreadRef, Wake};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::{PollEvents, Winsize};
use oxv_drivers::uart16550::{COM1, Uart16550};
use oxv_sched::waitq::WaitQueue;
use oxv_vfs::Blocker;
use oxv_vfs::device::{CharDevice, EntropySource};
use oxv_vfs::procfs::ProcessInfo;
use oxv_vfs::time::{RealtimeClock, Timestamp};
use spin::Mutex;

/// Which console stream a device is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// fd 0.
    Stdin,
    /// fd 1.
    Stdout,
    /// fd 2.
    Stderr,
    /// `/dev/console` and `/dev/tty`: reads stdin, writes stderr (what reaches the user
    /// when stdout is redirected).
    Console,
}

struct StdinState {
    decoder: StdinDecoder,
    ready: VecDeque<u8>,
    framed: bool,
}

static STDIN: Mutex<StdinState> = Mutex::new(StdinState {
    decoder: StdinDecoder::new(),
    ready: VecDeque::new(),
    framed: false,
});

const UART: Uart16550<X86Ports> = Uart16550::new(X86Ports, COM1);
const READY_MAX: usize = 4096;
/// The legacy IRQ line of COM1.
pub const COM1_IRQ: u8 = 4;

/// Threads waiting for stdin input, or for any readiness change in poll(2).
static WAITERS: Mutex<WaitQueue<ThreadRef>> = Mutex::new(WaitQueue::new());
/// Whether COM1's receive interrupt is routed (else waiters re-check every millisecond).
static RX_IRQ: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Routes COM1's receive interrupt through the I/O APIC at `ioapic_pa`; false if it could
/// not (then waiters poll every millisecond).
pub fn enable_stdin_interrupt(ioapic_pa: u64) -> bool {
    if crate::arch::apic::route_isa_irq(ioapic_pa, COM1_IRQ, crate::mem::map_mmio) {
        UART.enable_rx_interrupt();
        RX_IRQ.store(true, core::sync::atomic::Ordering::Relaxed);
        return true;
    }
    false
}

/// COM1's interrupt: moves received bytes into the stdin queue and wakes the waiters.
pub fn stdin_interrupt() {
    crate::arch::apic::eoi();
    pump(&mut STDIN.lock());
    notify();
}

/// Wakes every thread waiting for input or in poll(2).
pub fn notify() {
    let woken = WAITERS.lock().wake_all();
    if !woken.is_empty() {
        crate::sched::with(|s| {
            for t in &woken {
                s.wake(t, Wake::Event);
            }
        });
    }
}

/// Blocks the calling thread until [`notify`] or `deadline` (monotonic ns); without an
/// interrupt-driven input source, at most a millisecond. `Err(EINTR)` if a signal came.
fn wait_for_event(deadline: Option<u64>) -> Result<(), Errno> {
    let cap = if RX_IRQ.load(core::sync::atomic::Ordering::Relaxed) {
        None
    } else {
        Some(crate::time::monotonic_ns() + 1_000_000)
    };
    let until = match (deadline, cap) {
        (Some(d), Some(c)) => Some(d.min(c)),
        (d, c) => d.or(c),
    };
    let why = crate::sched::block(until, |_, me| WAITERS.lock().push(me.clone()));
    if why != Wake::Event {
        WAITERS.lock().remove(&crate::sched::current());
    }
    if why == Wake::Signal {
        Err(Errno::EINTR)
    } else {
        Ok(())
    }
}

/// Sets whether stdin is framed (split console) or raw.
pub fn set_stdin_framed(framed: bool) {
    STDIN.lock().framed = framed;
}

/// Moves what the UART holds into the ready queue.
fn pump(st: &mut StdinState) {
    while st.ready.len() < READY_MAX {
        let Some(b) = UART.try_read_byte() else { break };
        if !st.framed {
            st.ready.push_back(b);
            continue;
        }
        match st.decoder.push(b) {
            Decoded::Data(x) => st.ready.push_back(x),
            Decoded::Nothing => {}
            Decoded::Eof => break,
        }
    }
}

/// One console stream.
pub struct ConsoleDevice {
    stream: Stream,
    winsize: Option<Winsize>,
}

impl ConsoleDevice {
    /// A console stream; `winsize` is `Some` when the host says it is a terminal.
    pub fn new(stream: Stream, winsize: Option<Winsize>) -> ConsoleDevice {
        ConsoleDevice { stream, winsize }
    }

    fn readable(&self) -> bool {
        matches!(self.stream, Stream::Stdin | Stream::Console)
    }
}

impl CharDevice for ConsoleDevice {
    fn read(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        loop {
            {
                let mut st = STDIN.lock();
                pump(&mut st);
                if !st.ready.is_empty() {
                    let n = buf.len().min(st.ready.len());
                    for (i, b) in st.ready.drain(..n).enumerate() {
                        buf[i] = b;
                    }
                    return Ok(n);
                }
                if st.decoder.at_eof() {
                    return Ok(0);
                }
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            wait_for_event(None)?;
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        match self.stream {
            Stream::Stdout => console::write_stdout(buf),
            Stream::Stderr | Stream::Console => console::write_stderr(buf),
            Stream::Stdin => return Err(Errno::EBADF),
        }
        Ok(buf.len())
    }

    fn poll(&self) -> PollEvents {
        match self.stream {
            Stream::Stdout | Stream::Stderr => PollEvents::OUT,
            Stream::Stdin | Stream::Console => {
                let mut st = STDIN.lock();
                pump(&mut st);
                let mut ev = if self.stream == Stream::Console {
                    PollEvents::OUT
                } else {
                    PollEvents::empty()
                };
                if !st.ready.is_empty() || st.decoder.at_eof() {
                    ev |= PollEvents::IN;
                }
                if st.decoder.at_eof() && st.ready.is_empty() {
                    ev |= PollEvents::HUP;
                }
                ev
            }
        }
    }

    fn bytes_readable(&self) -> usize {
        if !self.readable() {
            return 0;
        }
        let mut st = STDIN.lock();
        pump(&mut st);
        st.ready.len()
    }

    fn window_size(&self) -> Option<Winsize> {
        self.winsize
    }
}

/// Random bytes for `/dev/random` and `/dev/urandom`.
pub struct KernelEntropy;

impl EntropySource for KernelEntropy {
    fn fill(&self, buf: &mut [u8]) {
        crate::random::fill(buf);
    }
}

/// The wall clock for file timestamps.
pub struct KernelClock;

impl RealtimeClock for KernelClock {
    fn now(&self) -> Timestamp {
        let ns = crate::time::clock().realtime_ns(cpu::rdtsc());
        let (sec, nsec) = oxv_sched::clock::split_ns(ns);
        Timestamp {
            secs: sec,
            nanos: nsec as u32,
        }
    }
}

/// Waiting in poll(2): the thread sleeps until the deadline or a readiness change (console
/// input, see [`notify`]); callers recheck readiness and wait again. Files whose readiness can
/// change (the console today, pipes and sockets later) must call [`notify`] when it does.
pub struct KernelBlocker;

impl Blocker for KernelBlocker {
    fn now_ns(&self) -> u64 {
        crate::time::monotonic_ns()
    }

    fn wait_until(&self, deadline: Option<u64>) -> Result<(), Errno> {
        wait_for_event(deadline)
    }
}

/// What `/proc/self` shows.
pub struct KernelProcessInfo {
    /// The process id.
    pub pid: u32,
    /// The executable's path.
    pub exe: Vec<u8>,
    /// argv, NUL-separated, NUL-terminated.
    pub cmdline: Vec<u8>,
}

impl ProcessInfo for KernelProcessInfo {
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
