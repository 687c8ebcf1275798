//! eventfd(2): a 64-bit counter as a file, for one thread or process to wake another.
//!
//! Semantics of Linux's `fs/eventfd.c`:
//!
//! - read(2) needs an 8-byte buffer (`EINVAL` if smaller); it waits while the counter is 0
//!   (`EAGAIN` when non-blocking), then returns the counter and zeroes it, or with
//!   `EFD_SEMAPHORE` returns 1 and decrements it;
//! - write(2) takes an 8-byte value (`EINVAL` if the buffer is smaller, or the value is
//!   `u64::MAX`) and adds it, waiting while the sum would exceed `u64::MAX - 1` (`EAGAIN` when
//!   non-blocking);
//! - readiness: `IN` while the counter is non-zero, `OUT` while 1 can still be added.

use crate::blocker::Blocker;
use crate::file::FileOps;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::{DeviceId, FileKind, Metadata};
use crate::readiness::{PollQueue, wait_until_ready};
use crate::time::Timestamp;
use alloc::sync::Arc;
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use spin::Mutex;

/// `EFD_SEMAPHORE`.
pub const EFD_SEMAPHORE: u32 = linux_raw_sys::general::EFD_SEMAPHORE;
/// `EFD_CLOEXEC` (= `O_CLOEXEC`).
pub const EFD_CLOEXEC: u32 = linux_raw_sys::general::EFD_CLOEXEC;
/// `EFD_NONBLOCK` (= `O_NONBLOCK`).
pub const EFD_NONBLOCK: u32 = linux_raw_sys::general::EFD_NONBLOCK;

/// The largest value the counter can hold.
pub const MAX_COUNT: u64 = u64::MAX - 1;

/// The device number fstat(2) shows for anonymous-inode files (eventfd, epoll, timerfd,
/// signalfd): Linux's anon_inodefs.
pub const ANON_INODE_DEVICE: DeviceId = DeviceId::new(0, 15);

/// What fstat(2) shows for an anonymous-inode file: mode 0600 without a file type, as Linux's
/// `anon_inode` has.
pub fn anon_metadata() -> Metadata {
    Metadata {
        dev: ANON_INODE_DEVICE,
        ino: 1,
        kind: FileKind::Regular,
        perm: 0o600,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: DeviceId::default(),
        size: 0,
        blocks: 0,
        blksize: 4096,
        atime: Timestamp::EPOCH,
        mtime: Timestamp::EPOCH,
        ctime: Timestamp::EPOCH,
    }
}

/// An eventfd's counter. See the [module docs](self).
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    queue: PollQueue,
    blocker: Arc<dyn Blocker>,
}

impl EventFd {
    /// A counter starting at `initval`; `semaphore` is `EFD_SEMAPHORE`.
    pub fn new(initval: u64, semaphore: bool, blocker: Arc<dyn Blocker>) -> Arc<EventFd> {
        Arc::new(EventFd {
            count: Mutex::new(initval),
            semaphore,
            queue: PollQueue::new(),
            blocker,
        })
    }

    /// The counter now.
    pub fn count(&self) -> u64 {
        *self.count.lock()
    }

    fn try_take(&self) -> Result<u64, Errno> {
        let v = {
            let mut c = self.count.lock();
            if *c == 0 {
                return Err(Errno::EAGAIN);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            v
        };
        self.queue.notify(PollEvents::OUT | PollEvents::WRNORM);
        Ok(v)
    }

    fn try_add(&self, n: u64) -> Result<(), Errno> {
        {
            let mut c = self.count.lock();
            if MAX_COUNT - *c < n {
                return Err(Errno::EAGAIN);
            }
            *c += n;
        }
        if n > 0 {
            self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        }
        Ok(())
    }
}

impl FileOps for EventFd {
    /// Blocks while the counter is 0, unless `nonblocking`.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        if dst.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = wait_until_ready(
            &*self.blocker,
            &self.queue,
            PollEvents::IN,
            nonblocking,
            || self.try_take(),
        )?;
        // Like Linux, the value is taken before it is copied out: a fault loses it.
        dst.fill(0, &v.to_ne_bytes())
    }

    /// Blocks while the value does not fit, unless `nonblocking`.
    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        if src.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; 8];
        if src.fetch(0, &mut bytes)? < 8 {
            return Err(Errno::EFAULT);
        }
        let n = u64::from_ne_bytes(bytes);
        if n == u64::MAX {
            return Err(Errno::EINVAL);
        }
        wait_until_ready(
            &*self.blocker,
            &self.queue,
            PollEvents::OUT,
            nonblocking,
            || self.try_add(n),
        )?;
        Ok(Written { count: 8, end: 0 })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(anon_metadata())
    }

    fn poll(&self) -> PollEvents {
        let c = *self.count.lock();
        let mut ev = PollEvents::empty();
        if c > 0 {
            ev |= PollEvents::IN | PollEvents::RDNORM;
        }
        if c < MAX_COUNT {
            ev |= PollEvents::OUT | PollEvents::WRNORM;
        }
        ev
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeBlocker;

    fn efd(init: u64, sem: bool, b: &FakeBlocker) -> Arc<EventFd> {
        EventFd::new(init, sem, Arc::new(b.clone()))
    }

    fn read(e: &EventFd, nonblocking: bool) -> Result<u64, Errno> {
        let mut buf = [0u8; 8];
        e.read(0, &mut ReadBuf::kernel(&mut buf), nonblocking)?;
        Ok(u64::from_ne_bytes(buf))
    }

    fn write(e: &EventFd, v: u64, nonblocking: bool) -> Result<usize, Errno> {
        e.write(
            WritePos::At(0),
            &WriteBuf::kernel(&v.to_ne_bytes()),
            nonblocking,
        )
        .map(|w| w.count)
    }

    #[test]
    fn counter_mode_takes_everything() {
        let b = FakeBlocker::new();
        let e = efd(3, false, &b);
        assert_eq!(write(&e, 4, true), Ok(8));
        assert_eq!(read(&e, true), Ok(7));
        assert_eq!(read(&e, true), Err(Errno::EAGAIN));
        assert_eq!(read(&e, false), Err(Errno::EINTR), "nothing will come");
        assert_eq!(e.poll(), PollEvents::OUT | PollEvents::WRNORM);
    }

    #[test]
    fn semaphore_mode_takes_one() {
        let b = FakeBlocker::new();
        let e = efd(2, true, &b);
        assert_eq!(read(&e, true), Ok(1));
        assert_eq!(read(&e, true), Ok(1));
        assert_eq!(read(&e, true), Err(Errno::EAGAIN));
    }

    #[test]
    fn overflow_rules() {
        let b = FakeBlocker::new();
        let e = efd(0, false, &b);
        assert_eq!(write(&e, u64::MAX, true), Err(Errno::EINVAL));
        assert_eq!(write(&e, MAX_COUNT, true), Ok(8));
        assert!(!e.poll().contains(PollEvents::OUT));
        assert_eq!(write(&e, 1, true), Err(Errno::EAGAIN));
        assert_eq!(write(&e, 0, true), Ok(8), "adding 0 always fits");
        assert_eq!(read(&e, true), Ok(MAX_COUNT));
        assert_eq!(write(&e, 1, true), Ok(8));
    }

    #[test]
    fn short_buffers_are_einval() {
        let b = FakeBlocker::new();
        let e = efd(1, false, &b);
        let mut small = [0u8; 7];
        assert_eq!(
            e.read(0, &mut ReadBuf::kernel(&mut small), true),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            e.write(WritePos::At(0), &WriteBuf::kernel(&[1; 7]), true),
            Err(Errno::EINVAL)
        );
        assert_eq!(e.count(), 1);
    }

    #[test]
    fn a_blocked_reader_is_woken_by_a_write() {
        let slot: Arc<Mutex<Option<Arc<EventFd>>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let b = FakeBlocker::on_wait(move |n| {
            if n == 2 {
                let e = s.lock().clone().unwrap();
                write(&e, 5, true).unwrap();
            }
        });
        let e = efd(0, false, &b);
        *slot.lock() = Some(e.clone());
        assert_eq!(read(&e, false), Ok(5));
        assert_eq!(b.waits(), 2);
        assert_eq!(b.unparks(), 1, "the write unparked the reader");
        *slot.lock() = None;
    }
}
