//! timerfd(2): a timer that counts its expirations into a file, read as a `u64`.
//!
//! The split between the VFS and the embedder: this module holds the file (the expiration
//! count, read(2), readiness) and the syscall handlers hold the argument checks
//! ([`crate::syscalls::timerfd`]); the embedder implements [`TimerFdClock`], which owns the
//! clocks and the timer queue, arms and disarms timers, and calls [`TimerFd::expire`] when one
//! fires.
//!
//! Semantics of Linux's `fs/timerfd.c`: read(2) needs 8 bytes (`EINVAL` if smaller), waits
//! while no expiration happened since the last read or settime (`EAGAIN` when non-blocking),
//! then returns the count and zeroes it; the file is readable while the count is non-zero;
//! timerfd_settime(2) zeroes the count.

use crate::blocker::Blocker;
use crate::file::FileOps;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::Metadata;
use crate::readiness::{PollQueue, wait_until_ready};
use alloc::sync::{Arc, Weak};
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use spin::Mutex;

/// `TFD_TIMER_ABSTIME`.
pub const TFD_TIMER_ABSTIME: u32 = linux_raw_sys::general::TFD_TIMER_ABSTIME;
/// `TFD_TIMER_CANCEL_ON_SET`.
pub const TFD_TIMER_CANCEL_ON_SET: u32 = linux_raw_sys::general::TFD_TIMER_CANCEL_ON_SET;
/// `TFD_CLOEXEC`.
pub const TFD_CLOEXEC: u32 = linux_raw_sys::general::TFD_CLOEXEC;
/// `TFD_NONBLOCK`.
pub const TFD_NONBLOCK: u32 = linux_raw_sys::general::TFD_NONBLOCK;

/// The clock a timerfd runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// `CLOCK_REALTIME` (and `CLOCK_REALTIME_ALARM`): absolute times are wall-clock times.
    Realtime,
    /// `CLOCK_MONOTONIC`.
    Monotonic,
    /// `CLOCK_BOOTTIME` (and `CLOCK_BOOTTIME_ALARM`): monotonic, counting suspend.
    Boottime,
}

impl TimerClock {
    /// The clock for a timerfd_create(2) `clockid`; `None` for a clock a timerfd cannot use.
    pub fn from_clockid(clockid: i32) -> Option<TimerClock> {
        use linux_raw_sys::general as g;
        match u32::try_from(clockid).ok()? {
            g::CLOCK_REALTIME | g::CLOCK_REALTIME_ALARM => Some(TimerClock::Realtime),
            g::CLOCK_MONOTONIC => Some(TimerClock::Monotonic),
            g::CLOCK_BOOTTIME | g::CLOCK_BOOTTIME_ALARM => Some(TimerClock::Boottime),
            _ => None,
        }
    }
}

/// When a timer is to expire first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FirstExpiry {
    /// Never: disarm it.
    Disarm,
    /// After this many ns.
    After(u64),
    /// At this time on the timer's clock, in ns (a time already past expires at once).
    At(u64),
}

/// A timer setting: time to the next expiry and the period, in ns (0 = disarmed / once).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TimerSetting {
    /// Time left until the next expiry; 0 when disarmed.
    pub value_ns: u64,
    /// The period; 0 for a one-shot timer.
    pub interval_ns: u64,
}

/// The embedder's timers for timerfds. Implementations keep, per timer id, the clock, the
/// next expiry and the period, and call [`TimerFd::expire`] with the number of expirations
/// (more than 1 when periods were missed) when it fires.
pub trait TimerFdClock: Send + Sync {
    /// A new timer id on `clock`, disarmed.
    fn create(&self, clock: TimerClock) -> u64;
    /// Arms (or with [`FirstExpiry::Disarm`] disarms) `timer`, then every `interval_ns`;
    /// returns the previous setting.
    fn set(&self, timer: &TimerFd, first: FirstExpiry, interval_ns: u64) -> TimerSetting;
    /// The current setting of timer `id`.
    fn get(&self, id: u64) -> TimerSetting;
    /// Timer `id`'s file is closed: forget it.
    fn release(&self, id: u64);
}

/// A timerfd. See the [module docs](self).
pub struct TimerFd {
    me: Weak<TimerFd>,
    id: u64,
    clock: TimerClock,
    ticks: Mutex<u64>,
    queue: PollQueue,
    blocker: Arc<dyn Blocker>,
    backend: Arc<dyn TimerFdClock>,
}

impl TimerFd {
    /// A disarmed timer on `clock`, registered with `backend`.
    pub fn new(
        clock: TimerClock,
        backend: Arc<dyn TimerFdClock>,
        blocker: Arc<dyn Blocker>,
    ) -> Arc<TimerFd> {
        let id = backend.create(clock);
        Arc::new_cyclic(|me| TimerFd {
            me: me.clone(),
            id,
            clock,
            ticks: Mutex::new(0),
            queue: PollQueue::new(),
            blocker,
            backend,
        })
    }

    /// The timerfd behind `file`, if it is one.
    pub fn of(file: &crate::file::OpenFile) -> Option<&TimerFd> {
        file.ops().as_any()?.downcast_ref::<TimerFd>()
    }

    /// A weak handle on it, for the backend to keep.
    pub fn weak(&self) -> Weak<TimerFd> {
        self.me.clone()
    }

    /// The id the backend gave it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its clock.
    pub fn clock(&self) -> TimerClock {
        self.clock
    }

    /// The backend's timers.
    pub fn backend(&self) -> &Arc<dyn TimerFdClock> {
        &self.backend
    }

    /// Counts `n` expirations and wakes readers. Called by the backend; must not block.
    pub fn expire(&self, n: u64) {
        if n == 0 {
            return;
        }
        {
            let mut t = self.ticks.lock();
            *t = t.saturating_add(n);
        }
        self.queue.notify(PollEvents::IN | PollEvents::RDNORM);
    }

    /// Expirations not read yet.
    pub fn ticks(&self) -> u64 {
        *self.ticks.lock()
    }

    /// Forgets the expirations not read (timerfd_settime(2) does).
    pub fn clear(&self) {
        *self.ticks.lock() = 0;
    }

    fn try_take(&self) -> Result<u64, Errno> {
        let mut t = self.ticks.lock();
        if *t == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(core::mem::take(&mut *t))
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.backend.release(self.id);
    }
}

impl FileOps for TimerFd {
    /// Blocks until an expiration, unless `nonblocking`.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        if dst.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let n = wait_until_ready(
            &*self.blocker,
            &self.queue,
            PollEvents::IN,
            nonblocking,
            || self.try_take(),
        )?;
        dst.fill(0, &n.to_ne_bytes())
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
        if self.ticks() > 0 {
            PollEvents::IN | PollEvents::RDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// A [`TimerFdClock`] for host tests: records settings, fires only when told.
pub mod fake {
    use super::*;
    use alloc::collections::BTreeMap;

    /// Timers that never fire on their own; [`FakeTimers::fire`] fires one.
    #[derive(Default)]
    pub struct FakeTimers {
        timers: Mutex<BTreeMap<u64, (Weak<TimerFd>, TimerSetting)>>,
        next: Mutex<u64>,
    }

    impl FakeTimers {
        /// No timers yet.
        pub fn new() -> Arc<FakeTimers> {
            Arc::new(FakeTimers::default())
        }

        /// Fires timer `id` `n` times (a one-shot timer is disarmed after).
        pub fn fire(&self, id: u64, n: u64) {
            let file = {
                let mut t = self.timers.lock();
                let Some((file, setting)) = t.get_mut(&id) else {
                    return;
                };
                if setting.interval_ns == 0 {
                    setting.value_ns = 0;
                }
                file.upgrade()
            };
            if let Some(f) = file {
                f.expire(n);
            }
        }

        /// How many timers are registered.
        pub fn len(&self) -> usize {
            self.timers.lock().len()
        }

        /// Whether none is.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    impl TimerFdClock for FakeTimers {
        fn create(&self, _clock: TimerClock) -> u64 {
            let mut n = self.next.lock();
            *n += 1;
            self.timers
                .lock()
                .insert(*n, (Weak::new(), TimerSetting::default()));
            *n
        }

        fn set(&self, timer: &TimerFd, first: FirstExpiry, interval_ns: u64) -> TimerSetting {
            let new = match first {
                FirstExpiry::Disarm => TimerSetting::default(),
                FirstExpiry::After(ns) | FirstExpiry::At(ns) => TimerSetting {
                    value_ns: ns.max(1),
                    interval_ns,
                },
            };
            let mut t = self.timers.lock();
            let slot = t
                .entry(timer.id())
                .or_insert((Weak::new(), TimerSetting::default()));
            slot.0 = timer.weak();
            core::mem::replace(&mut slot.1, new)
        }

        fn get(&self, id: u64) -> TimerSetting {
            self.timers.lock().get(&id).map(|s| s.1).unwrap_or_default()
        }

        fn release(&self, id: u64) {
            self.timers.lock().remove(&id);
        }
    }
}
