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
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::{PollEvents, Winsize};
use oxv_abi::linux::signal::Signal;
use oxv_drivers::uart16550::{COM1, Uart16550};
use oxv_sched::waitq::WaitQueue;
use oxv_vfs::blocker::{Blocker, Parker};
use oxv_vfs::device::{CharDevice, EntropySource, Terminal, Typed};
use oxv_vfs::readiness::PollQueue;
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

/// Threads blocked in a read of stdin.
static WAITERS: Mutex<WaitQueue<ThreadRef>> = Mutex::new(WaitQueue::new());
/// The console's readiness queue (poll(2), epoll(7) on fds 0-2, `/dev/console`, `/dev/tty`),
/// notified when input arrives.
static CONSOLE_QUEUE: spin::Once<PollQueue> = spin::Once::new();

fn console_queue() -> &'static PollQueue {
    CONSOLE_QUEUE.call_once(PollQueue::new)
}
/// Whether COM1's receive interrupt is routed (else waiters re-check every millisecond).
static RX_IRQ: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Routes COM1's receive interrupt through the I/O APIC at `ioapic_pa` to the calling CPU
/// (the boot CPU: typed input is rare, so it takes no share of the spread of
/// [`crate::smp::device_irq_cpu`]); false if it could not (then waiters poll every
/// millisecond).
pub fn enable_stdin_interrupt(ioapic_pa: u64) -> bool {
    let here = crate::arch::apic::id();
    if crate::arch::apic::route_isa_irq(ioapic_pa, COM1_IRQ, here, crate::mem::map_mmio) {
        UART.enable_rx_interrupt();
        RX_IRQ.store(true, core::sync::atomic::Ordering::Relaxed);
        return true;
    }
    false
}

/// COM1's interrupt: moves received bytes into the stdin queue and wakes the waiters.
pub fn stdin_interrupt() {
    crate::arch::apic::eoi();
    with_stdin(|_| ());
    notify();
}

/// The terminal typed input reaches (stdin, when it is a terminal on the host): its `ISIG`
/// keys raise their signals as the bytes arrive, as Linux's n_tty does, so an app busy
/// computing is interrupted too. Unset, stdin is data: every byte reaches the app.
static TYPED: spin::Once<Arc<Terminal>> = spin::Once::new();

/// Makes `term` the terminal of typed input ([`TYPED`]). Called once, at boot.
pub fn set_typed_input(term: Arc<Terminal>) {
    TYPED.call_once(|| term);
}

/// Locks stdin, moves what arrived into it, runs `f` on it, then raises the signals typed
/// keys asked for on the console's foreground group (after the lock is let go: raising wakes
/// threads).
fn with_stdin<R>(f: impl FnOnce(&mut StdinState) -> R) -> R {
    let mut raised = Vec::new();
    let r = {
        let mut st = STDIN.lock();
        pump(&mut st, &mut raised);
        f(&mut st)
    };
    if let Some(term) = TYPED.get() {
        for sig in raised {
            term.jobs().signal_foreground(sig);
        }
    }
    r
}

/// Wakes every thread waiting for input, and tells the console's pollers.
pub fn notify() {
    if let Some(q) = CONSOLE_QUEUE.get() {
        q.notify(PollEvents::IN | PollEvents::RDNORM);
    }
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

/// Moves what the UART holds into the ready queue; a signal key of typed input ([`TYPED`])
/// goes into `raised` instead (and flushes the queue unless `NOFLSH`).
fn pump(st: &mut StdinState, raised: &mut Vec<Signal>) {
    while st.ready.len() < READY_MAX {
        let Some(b) = UART.try_read_byte() else { break };
        let b = if st.framed {
            match st.decoder.push(b) {
                Decoded::Data(x) => x,
                Decoded::Nothing => continue,
                Decoded::Eof => break,
            }
        } else {
            b
        };
        if let Some(Typed::Signal { sig, flush }) = TYPED.get().map(|t| t.typed(b)) {
            if flush {
                st.ready.clear();
            }
            raised.push(sig);
            continue;
        }
        st.ready.push_back(b);
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
            let got = with_stdin(|st| {
                if !st.ready.is_empty() {
                    let n = buf.len().min(st.ready.len());
                    for (i, b) in st.ready.drain(..n).enumerate() {
                        buf[i] = b;
                    }
                    return Some(n);
                }
                st.decoder.at_eof().then_some(0)
            });
            if let Some(n) = got {
                return Ok(n);
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
            Stream::Stdin | Stream::Console => with_stdin(|st| {
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
            }),
        }
    }

    fn bytes_readable(&self) -> usize {
        if !self.readable() {
            return 0;
        }
        with_stdin(|st| st.ready.len())
    }

    fn window_size(&self) -> Option<Winsize> {
        self.winsize
    }

    /// Output is always writable and never notifies; input notifies from the receive
    /// interrupt. Without that interrupt, stdin has no queue and poll(2) re-checks it.
    fn poll_queue(&self) -> Option<&PollQueue> {
        if self.readable() && !RX_IRQ.load(Ordering::Relaxed) {
            return None;
        }
        Some(console_queue())
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

/// How VFS calls wait (poll(2), a read of an empty pipe, epoll_wait(2)): the thread parks in
/// the scheduler until a readiness callback unparks it, its deadline passes, or a signal
/// comes. See [`KernelParker`] for why no wake-up is lost.
pub struct KernelBlocker;

impl Blocker for KernelBlocker {
    fn now_ns(&self) -> u64 {
        crate::time::monotonic_ns()
    }

    fn parker(&self) -> Arc<dyn Parker> {
        // A call running without the kernel lock (`crate::syscall::unlocked`) takes it here,
        // before it registers on any queue: parking switches threads, which needs the lock,
        // and this is the first step of every wait (no spin lock is held yet). It waits for
        // the lock halted, not spinning (`smp::lock_halting`): the holder is often the thread
        // this one waits for. Under the lock already, this is one flag test.
        crate::smp::lock_halting();
        Arc::new(KernelParker {
            thread: crate::sched::current(),
            generation: AtomicU64::new(0),
        })
    }

    fn fatal_signal_pending(&self) -> bool {
        crate::process::current_must_die()
    }
}

/// The blocker the VFS's files keep (pipes, eventfds, timerfds, signalfds).
pub fn blocker() -> Arc<dyn Blocker> {
    Arc::new(KernelBlocker)
}

/// Parks one thread. `park` checks the waiter's flag (and pending signals) under the
/// scheduler lock, in `block_if`'s register step, and records the generation of the wait it
/// enters; `unpark` wakes the thread only if it is still in that wait (the generation
/// matches), under the same lock. So a flag set after the check finds the thread blocked and
/// wakes it, and a late `unpark` never cuts short another wait (a futex, a sleep).
pub struct KernelParker {
    thread: ThreadRef,
    generation: AtomicU64,
}

impl Parker for KernelParker {
    fn park(&self, woken: &AtomicBool, deadline: Option<u64>) -> Result<(), Errno> {
        // Taken by `parker` already on every path; the switch below must have it.
        crate::smp::lock();
        let mut interrupted = false;
        let why = crate::sched::block_if(deadline, |_, me| {
            if woken.load(Ordering::SeqCst) {
                return false;
            }
            if crate::signal::has_deliverable(me) {
                interrupted = true;
                return false;
            }
            self.generation
                .store(me.block_generation(), Ordering::SeqCst);
            true
        });
        match why {
            Some(Wake::Signal) => Err(Errno::EINTR),
            None if interrupted => Err(Errno::EINTR),
            _ => Ok(()),
        }
    }

    fn unpark(&self) {
        crate::sched::with(|s| {
            if self.thread.block_generation() == self.generation.load(Ordering::SeqCst) {
                s.wake(&self.thread, Wake::Event);
            }
        });
    }
}
