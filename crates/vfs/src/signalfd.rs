//! signalfd(2): a file that reads the calling thread's pending signals.
//!
//! The VFS holds the file (its mask, read(2), readiness) and the syscall handlers
//! ([`crate::syscalls::signalfd`]); the embedder, which owns signals, implements
//! [`SignalSource`]: take a pending signal of the *calling* thread (its own queue, then the
//! process's), say whether one is pending, and notify one [`PollQueue`] whenever a signal is
//! raised anywhere.
//!
//! Semantics of Linux's `fs/signalfd.c`: read(2) needs room for one `signalfd_siginfo`
//! (128 bytes, `EINVAL` otherwise), waits until a signal of the mask is pending (`EAGAIN`
//! when non-blocking), then returns as many as fit and are pending; the file is readable
//! while one of its signals is pending for the thread that polls. `SIGKILL` and `SIGSTOP`
//! are never in the mask. The signals should be blocked, or they are delivered the usual way
//! before the file sees them.

use crate::blocker::Blocker;
use crate::file::FileOps;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::Metadata;
use crate::readiness::{PollQueue, wait_until_ready};
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::signal::{SigSet, Signal};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `SFD_CLOEXEC` (= `O_CLOEXEC`).
pub const SFD_CLOEXEC: u32 = linux_raw_sys::general::O_CLOEXEC;
/// `SFD_NONBLOCK` (= `O_NONBLOCK`).
pub const SFD_NONBLOCK: u32 = linux_raw_sys::general::O_NONBLOCK;

/// `struct signalfd_siginfo` (signalfd(2)): 128 bytes.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[allow(missing_docs)]
pub struct SignalfdSiginfo {
    pub ssi_signo: u32,
    pub ssi_errno: i32,
    pub ssi_code: i32,
    pub ssi_pid: u32,
    pub ssi_uid: u32,
    pub ssi_fd: i32,
    pub ssi_tid: u32,
    pub ssi_band: u32,
    pub ssi_overrun: u32,
    pub ssi_trapno: u32,
    pub ssi_status: i32,
    pub ssi_int: i32,
    pub ssi_ptr: u64,
    pub ssi_utime: u64,
    pub ssi_stime: u64,
    pub ssi_addr: u64,
    pub ssi_addr_lsb: u16,
    pub _pad2: u16,
    pub ssi_syscall: i32,
    pub ssi_call_addr: u64,
    pub ssi_arch: u32,
    pub _pad: [u8; 28],
}

// The layout of <linux/signalfd.h> (not in linux-raw-sys), pinned.
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<SignalfdSiginfo>() == 128);
    assert!(offset_of!(SignalfdSiginfo, ssi_pid) == 12);
    assert!(offset_of!(SignalfdSiginfo, ssi_int) == 44);
    assert!(offset_of!(SignalfdSiginfo, ssi_ptr) == 48);
    assert!(offset_of!(SignalfdSiginfo, ssi_addr) == 72);
    assert!(offset_of!(SignalfdSiginfo, ssi_call_addr) == 88);
    assert!(offset_of!(SignalfdSiginfo, ssi_arch) == 96);
};

/// Where signalfds get signals from. Implemented by the embedder; every method is about the
/// calling thread.
pub trait SignalSource: Send + Sync {
    /// Takes the next pending signal in `mask` (the thread's own first, then the process's),
    /// as Linux's `dequeue_signal` picks it.
    fn dequeue(&self, mask: SigSet) -> Option<SignalfdSiginfo>;
    /// Whether a signal in `mask` is pending.
    fn pending(&self, mask: SigSet) -> bool;
    /// The queue notified whenever a signal is raised.
    fn queue(&self) -> &PollQueue;
}

/// A signalfd. See the [module docs](self).
pub struct SignalFd {
    mask: AtomicU64,
    source: Arc<dyn SignalSource>,
    blocker: Arc<dyn Blocker>,
}

impl SignalFd {
    /// A signalfd for the signals in `mask` (`SIGKILL`/`SIGSTOP` dropped).
    pub fn new(
        mask: SigSet,
        source: Arc<dyn SignalSource>,
        blocker: Arc<dyn Blocker>,
    ) -> Arc<SignalFd> {
        Arc::new(SignalFd {
            mask: AtomicU64::new(clean(mask).0),
            source,
            blocker,
        })
    }

    /// The mask.
    pub fn mask(&self) -> SigSet {
        SigSet(self.mask.load(Ordering::Acquire))
    }

    /// Replaces the mask (signalfd(2) on an existing signalfd) and wakes readers.
    pub fn set_mask(&self, mask: SigSet) {
        self.mask.store(clean(mask).0, Ordering::Release);
        self.source.queue().notify(PollEvents::IN);
    }
}

fn clean(mask: SigSet) -> SigSet {
    mask.without(Signal::SIGKILL).without(Signal::SIGSTOP)
}

const SIZE: usize = core::mem::size_of::<SignalfdSiginfo>();

impl FileOps for SignalFd {
    /// Blocks until one of the signals is pending, unless `nonblocking`.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        let room = dst.len() / SIZE;
        if room == 0 {
            return Err(Errno::EINVAL);
        }
        let first = wait_until_ready(
            &*self.blocker,
            self.source.queue(),
            PollEvents::IN,
            nonblocking,
            || self.source.dequeue(self.mask()).ok_or(Errno::EAGAIN),
        )?;
        dst.fill(0, first.as_bytes())?;
        let mut done = 1;
        while done < room {
            let Some(next) = self.source.dequeue(self.mask()) else {
                break;
            };
            match dst.fill(done * SIZE, next.as_bytes()) {
                Ok(n) if n == SIZE => done += 1,
                _ => break,
            }
        }
        Ok(done * SIZE)
    }

    fn write(
        &self,
        _pos: WritePos,
        _src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(crate::eventfd::anon_metadata())
    }

    fn poll(&self) -> PollEvents {
        if self.source.pending(self.mask()) {
            PollEvents::IN | PollEvents::RDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(self.source.queue())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
