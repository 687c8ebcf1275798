//! Device files: what the embedder's hardware looks like to the app.
//!
//! The embedder implements two narrow traits:
//!
//! - [`CharDevice`]: a byte stream such as the console (serial port, virtio-console). The VFS
//!   puts a [`Terminal`] on it, which adds what a Linux tty adds: termios settings
//!   (TCGETS/TCSETS*), a window size (TIOCGWINSZ/TIOCSWINSZ), job control (the controlling
//!   session and foreground group with TIOCGPGRP/TIOCSPGRP/TIOCSCTTY/TIOCNOTTY/TIOCGSID,
//!   `SIGTTIN`/`SIGTTOU` for the background, `EIO` for an orphaned group: [`crate::tty`],
//!   shared with the ptys) and output post-processing (NL to CR NL while `OPOST | ONLCR` is
//!   set, as Linux does by default). A [`TerminalFile`] is an open file on it; the kernel puts
//!   one on fds 0, 1 and 2, and `/dev/console` and `/dev/tty` open more. Several devices can
//!   be one terminal ([`Terminal::sharing`]: the console's input and output streams), with
//!   one set of settings and one job control.
//! - [`EntropySource`]: random bytes, for `/dev/random` and `/dev/urandom`.
//!
//! The memory devices (`/dev/null`, `/dev/zero`, `/dev/full`) and the random devices are in
//! [`memory`]. [`crate::devfs`] registers all of them and makes their nodes.
//!
//! Not a line discipline: there is no input editing or echo; bytes from the device reach the
//! app as they come. `ICANON` and `ECHO` are recorded but not acted on; an embedder that wants
//! echo does it in its device. The `ISIG` keys (^C, ^\, ^Z) are the embedder's to apply as
//! bytes arrive ([`Terminal::typed`]), since Linux acts on them when they are typed, not when
//! they are read: an app busy computing gets its `SIGINT` too.

pub mod memory;

use crate::file::FileOps;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::CharDriver;
use crate::node::{DeviceId, FileKind, Metadata};
use crate::readiness::PollQueue;
use crate::time::Timestamp;
use crate::tty::{JobControl, NoTtySignals};
use alloc::sync::Arc;
use linux_raw_sys::general as raw;
use oxv_abi::linux::fs::{
    FIONREAD, ONLCR, OPOST, OpenFlags, PollEvents, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ,
    TIOCSWINSZ, Termios, Winsize,
};
use oxv_abi::linux::signal::Signal;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use spin::Mutex;

/// A byte-stream device the embedder provides (the console). See the [module docs](self).
pub trait CharDevice: Send + Sync {
    /// Reads at least one byte into `buf` (non-empty), **blocking** until one is available;
    /// `Ok(0)` means end of input. With `nonblocking`, returns `Err(EAGAIN)` instead of
    /// blocking. May return `Err(EINTR)` if a signal arrives while blocked.
    fn read(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize, Errno>;

    /// Writes bytes from `buf`, returning how many were taken (at least one unless `buf` is
    /// empty). May block while the device drains.
    fn write(&self, buf: &[u8]) -> Result<usize, Errno>;

    /// Readiness now: `IN` when a read would not block, `OUT` when a write would not, `HUP`
    /// when input has ended. Must not block.
    fn poll(&self) -> PollEvents;

    /// Bytes that can be read without blocking (FIONREAD). The default says 0.
    fn bytes_readable(&self) -> usize {
        0
    }

    /// The terminal size, or `None` if this device is not a terminal: then every tty ioctl is
    /// `ENOTTY`, so isatty(3) is false on it.
    fn window_size(&self) -> Option<Winsize>;

    /// The queue the device notifies when [`CharDevice::poll`] may have changed (input came,
    /// input ended). `None` (the default) for a device that cannot tell: poll(2) then looks
    /// again every few milliseconds, and epoll(7) refuses it (`EPERM`).
    fn poll_queue(&self) -> Option<&PollQueue> {
        None
    }
}

/// Random bytes for `/dev/random`, `/dev/urandom` (and later getrandom(2)). The embedder
/// implements it (RDRAND, virtio-rng, a seeded generator).
pub trait EntropySource: Send + Sync {
    /// Fills `buf` with random bytes. Must not block and must not fail.
    fn fill(&self, buf: &mut [u8]);
}

/// Linux's device number for `/dev/console`.
pub const CONSOLE_DEVICE: DeviceId = DeviceId::new(5, 1);
/// Linux's device number for `/dev/tty`.
pub const TTY_DEVICE: DeviceId = DeviceId::new(5, 0);

/// A terminal: a [`CharDevice`] plus tty state shared by all its open files (and by the
/// other devices of the same terminal, [`Terminal::sharing`]).
pub struct Terminal {
    device: Arc<dyn CharDevice>,
    rdev: DeviceId,
    shared: Arc<TtyState>,
}

/// What the devices of one terminal share.
struct TtyState {
    termios: Mutex<Termios>,
    winsize: Mutex<Option<Winsize>>,
    jobs: JobControl,
}

/// What a byte typed on a terminal is ([`Terminal::typed`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    /// Input for the app.
    Data,
    /// An `ISIG` key: the embedder drops it, drops the input queued before it too when
    /// `flush` (no `NOFLSH`), and raises `sig` on the foreground group
    /// ([`JobControl::signal_foreground`]) once its own locks are let go.
    Signal {
        /// `SIGINT`, `SIGQUIT` or `SIGTSTP`.
        sig: Signal,
        /// Whether the queued input goes too.
        flush: bool,
    },
}

impl Terminal {
    /// A terminal over `device` with Linux's default settings
    /// ([`Termios::linux_default`]) and device number [`CONSOLE_DEVICE`], raising no signals
    /// and checking no caller ([`NoTtySignals`]). It is the controlling terminal of session
    /// 1 with group 1 in the foreground (the app, in oxv).
    pub fn new(device: Arc<dyn CharDevice>) -> Arc<Terminal> {
        Terminal::with_jobs(
            device,
            JobControl::controlling(Arc::new(NoTtySignals), 1, 1),
        )
    }

    /// As [`Terminal::new`], with `jobs` as its job control (the embedder's
    /// [`crate::tty::TtySignals`], and the session it starts as the controlling terminal
    /// of).
    pub fn with_jobs(device: Arc<dyn CharDevice>, jobs: JobControl) -> Arc<Terminal> {
        Arc::new(Terminal {
            device,
            rdev: CONSOLE_DEVICE,
            shared: Arc::new(TtyState {
                termios: Mutex::new(Termios::linux_default()),
                winsize: Mutex::new(None),
                jobs,
            }),
        })
    }

    /// Another device of the terminal `with` (the console's output stream beside its input
    /// stream): the same settings, window size and job control.
    pub fn sharing(device: Arc<dyn CharDevice>, with: &Terminal) -> Arc<Terminal> {
        Arc::new(Terminal {
            device,
            rdev: with.rdev,
            shared: with.shared.clone(),
        })
    }

    /// The device.
    pub fn device(&self) -> &Arc<dyn CharDevice> {
        &self.device
    }

    /// The current termios settings.
    pub fn termios(&self) -> Termios {
        *self.shared.termios.lock()
    }

    /// The job control: controlling session, foreground group.
    pub fn jobs(&self) -> &JobControl {
        &self.shared.jobs
    }

    /// Sets the foreground process group TIOCGPGRP reports.
    pub fn set_foreground(&self, pgrp: i32) {
        self.shared.jobs.set_foreground(pgrp);
    }

    /// What the byte `c`, typed on the device, is: a signal key under `ISIG` (n_tty's
    /// `n_tty_receive_signal_char`, without the echo: the console's echo is the host's), or
    /// data. Always data on a device that is not a terminal: a pipe's bytes are the app's.
    pub fn typed(&self, c: u8) -> Typed {
        if !self.is_tty() {
            return Typed::Data;
        }
        let t = self.termios();
        match crate::tty::signal_key(&t, c) {
            Some(sig) => Typed::Signal {
                sig,
                flush: t.c_lflag & raw::NOFLSH == 0,
            },
            None => Typed::Data,
        }
    }

    /// The window size: the last TIOCSWINSZ, else the device's; `None` if not a terminal.
    pub fn window_size(&self) -> Option<Winsize> {
        let size = self.device.window_size()?;
        Some(self.shared.winsize.lock().unwrap_or(size))
    }

    /// A new open file on this terminal.
    pub fn open(self: &Arc<Self>) -> Arc<TerminalFile> {
        Arc::new(TerminalFile { term: self.clone() })
    }

    fn is_tty(&self) -> bool {
        self.device.window_size().is_some()
    }

    fn translates_newlines(&self) -> bool {
        // A stream that is not a terminal has no line discipline to post-process output.
        if !self.is_tty() {
            return false;
        }
        let t = self.termios();
        t.c_oflag & OPOST != 0 && t.c_oflag & ONLCR != 0
    }

    fn metadata(&self) -> Metadata {
        Metadata {
            dev: DeviceId::default(),
            ino: 0,
            kind: FileKind::CharDevice,
            perm: 0o620,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: self.rdev,
            size: 0,
            blocks: 0,
            blksize: 1024,
            atime: Timestamp::EPOCH,
            mtime: Timestamp::EPOCH,
            ctime: Timestamp::EPOCH,
        }
    }
}

/// Makes a registered device number open files on a shared [`Terminal`].
pub struct TerminalDriver(pub Arc<Terminal>);

impl CharDriver for TerminalDriver {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(self.0.open())
    }
}

/// An open file on a [`Terminal`]: a stream (no offsets; lseek(2) is `ESPIPE`).
pub struct TerminalFile {
    term: Arc<Terminal>,
}

impl TerminalFile {
    /// The terminal.
    pub fn terminal(&self) -> &Arc<Terminal> {
        &self.term
    }
}

/// Size of the stack buffer console reads and writes go through.
const CHUNK: usize = 256;

impl FileOps for TerminalFile {
    /// Blocks (in the device) until at least one byte is available, unless `nonblocking`.
    /// A background process of the terminal's session gets `SIGTTIN` first.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        // As n_tty_read, before anything else (an empty read too).
        if self.term.is_tty() {
            self.term.jobs().check(Signal::SIGTTIN)?;
        }
        if dst.is_empty() {
            return Ok(0);
        }
        let mut buf = [0u8; CHUNK];
        let want = dst.len().min(CHUNK);
        let n = self.term.device.read(&mut buf[..want], nonblocking)?;
        dst.fill(0, &buf[..n.min(want)])
    }

    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        if self.term.is_tty() && self.term.termios().c_lflag & raw::TOSTOP != 0 {
            self.term.jobs().check(Signal::SIGTTOU)?;
        }
        let onlcr = self.term.translates_newlines();
        let mut done = 0usize;
        let mut inbuf = [0u8; CHUNK];
        let mut outbuf = [0u8; CHUNK * 2];
        while done < src.len() {
            let wanted = (src.len() - done).min(CHUNK);
            let got = match src.fetch(done, &mut inbuf[..wanted]) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            // A chunk without a newline goes out as it is (memchr, not a byte loop): a large
            // write of data without newlines stays a copy.
            let out: &[u8] = if onlcr && inbuf[..got].contains(&b'\n') {
                let mut o = 0;
                for &b in &inbuf[..got] {
                    if b == b'\n' {
                        outbuf[o] = b'\r';
                        o += 1;
                    }
                    outbuf[o] = b;
                    o += 1;
                }
                &outbuf[..o]
            } else {
                &inbuf[..got]
            };
            match write_all(&*self.term.device, out) {
                Ok(()) => done += got,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            if got < wanted {
                break;
            }
        }
        Ok(Written {
            count: done,
            end: 0,
        })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self.term.metadata())
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if request == FIONREAD {
            let n = self.term.device.bytes_readable().min(i32::MAX as usize) as i32;
            UserPtr::<i32>::new(arg).write(mem, &n)?;
            return Ok(0);
        }
        if !self.term.is_tty() {
            return Err(Errno::ENOTTY);
        }
        // The console has no TCFLSH or TCXONC: they stay ENOTTY, unchecked.
        self.term.jobs().check_ioctl(request, false)?;
        if let Some(r) = self.term.jobs().ioctl(true, request, arg, mem) {
            return r;
        }
        match request {
            TCGETS => {
                UserPtr::<Termios>::new(arg).write(mem, &self.term.termios())?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                // Output is written synchronously, so there is never anything to drain; input
                // queued in the device is not ours to flush for TCSETSF.
                let t = UserPtr::<Termios>::new(arg).read(mem)?;
                *self.term.shared.termios.lock() = t;
                Ok(0)
            }
            TIOCGWINSZ => {
                let ws = self.term.window_size().ok_or(Errno::ENOTTY)?;
                UserPtr::<Winsize>::new(arg).write(mem, &ws)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let ws = UserPtr::<Winsize>::new(arg).read(mem)?;
                *self.term.shared.winsize.lock() = Some(ws);
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        self.term.device.poll_queue()
    }

    fn poll(&self) -> PollEvents {
        let mut ev = self.term.device.poll();
        if ev.contains(PollEvents::IN) {
            ev |= PollEvents::RDNORM;
        }
        if ev.contains(PollEvents::OUT) {
            ev |= PollEvents::WRNORM;
        }
        ev
    }
}

/// Writes all of `buf` to `dev` (a device may take it in pieces).
fn write_all(dev: &dyn CharDevice, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        let n = dev.write(buf)?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        buf = &buf[n.min(buf.len())..];
    }
    Ok(())
}

#[cfg(test)]
mod tests;
