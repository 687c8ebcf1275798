//! The kernel side of timerfd(2): [`KernelTimerFds`] arms each timerfd on the scheduler's
//! timer queue (as [`crate::timers::Expiry::TimerFd`]) and counts its expirations into the
//! file ([`oxv_vfs::timerfd::TimerFd::expire`]). The file, read(2) and the argument checks are
//! oxv-vfs's.
//!
//! Every clock is kept as a monotonic deadline: `CLOCK_BOOTTIME` is `CLOCK_MONOTONIC` (the VM
//! never suspends), and an absolute `CLOCK_REALTIME` time is turned into the monotonic instant
//! the wall clock reaches it, with the wall clock as it is when the timer is set. A periodic
//! timer that fires late counts the periods it missed, as Linux's `hrtimer_forward` does.

use crate::sched;
use crate::timers::Expiry;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use oxv_sched::timer::TimerId;
use oxv_vfs::timerfd::{FirstExpiry, TimerClock, TimerFd, TimerFdClock, TimerSetting};
use spin::Mutex;

struct Entry {
    file: Weak<TimerFd>,
    clock: TimerClock,
    /// The next expiry (monotonic ns) and its queue entry, while armed.
    armed: Option<(u64, TimerId)>,
    interval_ns: u64,
    /// Bumped at every set: an expiry of an older setting is stale.
    generation: u64,
}

struct Registry {
    timers: BTreeMap<u64, Entry>,
    next_id: u64,
}

static TIMERFDS: Mutex<Registry> = Mutex::new(Registry {
    timers: BTreeMap::new(),
    next_id: 1,
});

fn now() -> u64 {
    crate::time::monotonic_ns()
}

/// The timerfds' timers (a handle on the kernel's single registry).
pub struct KernelTimerFds;

/// The backend for timerfd_create(2).
pub fn backend() -> Arc<dyn TimerFdClock> {
    Arc::new(KernelTimerFds)
}

impl Entry {
    fn setting(&self) -> TimerSetting {
        TimerSetting {
            value_ns: self.armed.map_or(0, |(at, _)| at.saturating_sub(now())),
            interval_ns: self.interval_ns,
        }
    }

    fn disarm(&mut self) {
        if let Some((_, id)) = self.armed.take() {
            sched::cancel_app_timer(id);
        }
        self.generation += 1;
    }

    /// The expiry due at `at` happened by `now` (and is no longer queued): re-arms a periodic
    /// timer for its next period after `now`, and returns how many expirations that was (1
    /// plus the periods missed).
    fn expire_at(&mut self, id: u64, at: u64, now: u64) -> u64 {
        let mut count = 1;
        if self.interval_ns > 0 {
            let mut next = at.saturating_add(self.interval_ns);
            if next <= now {
                let missed = (now - next) / self.interval_ns + 1;
                count += missed;
                next = next.saturating_add(missed.saturating_mul(self.interval_ns));
            }
            self.enqueue(id, next);
        }
        count
    }

    fn enqueue(&mut self, id: u64, at: u64) {
        let what = Expiry::TimerFd {
            id,
            generation: self.generation,
        };
        self.armed = Some((at, sched::add_app_timer(at, what)));
    }
}

impl TimerFdClock for KernelTimerFds {
    fn create(&self, clock: TimerClock) -> u64 {
        let mut r = TIMERFDS.lock();
        let id = r.next_id;
        r.next_id += 1;
        r.timers.insert(
            id,
            Entry {
                file: Weak::new(),
                clock,
                armed: None,
                interval_ns: 0,
                generation: 0,
            },
        );
        id
    }

    fn set(&self, timer: &TimerFd, first: FirstExpiry, interval_ns: u64) -> TimerSetting {
        let (old, due) = {
            let mut r = TIMERFDS.lock();
            let id = timer.id();
            let Some(e) = r.timers.get_mut(&id) else {
                return TimerSetting::default();
            };
            let old = e.setting();
            e.disarm();
            e.file = timer.weak();
            let t = now();
            let at = match first {
                FirstExpiry::Disarm => {
                    e.interval_ns = 0;
                    return old;
                }
                FirstExpiry::After(ns) => t.saturating_add(ns),
                FirstExpiry::At(when) => match e.clock {
                    TimerClock::Realtime => {
                        crate::time::clock().realtime_to_monotonic_ns(when as i128)
                    }
                    TimerClock::Monotonic | TimerClock::Boottime => when,
                },
            };
            e.interval_ns = interval_ns;
            if at > t {
                e.enqueue(id, at);
                (old, 0)
            } else {
                // Already due: it expires now, as Linux's hrtimer does, so a read right after
                // settime sees it.
                (old, e.expire_at(id, at, t))
            }
        };
        timer.expire(due);
        old
    }

    fn get(&self, id: u64) -> TimerSetting {
        TIMERFDS
            .lock()
            .timers
            .get(&id)
            .map(Entry::setting)
            .unwrap_or_default()
    }

    fn release(&self, id: u64) {
        if let Some(mut e) = TIMERFDS.lock().timers.remove(&id) {
            e.disarm();
        }
    }
}

/// Timerfd `id`'s expiry came off the timer queue (interrupt context, no lock held): counts
/// it (and any periods missed) into the file and re-arms a periodic timer.
pub fn expired(id: u64, generation: u64) {
    let (file, count) = {
        let mut r = TIMERFDS.lock();
        let Some(e) = r.timers.get_mut(&id) else {
            return;
        };
        if e.generation != generation {
            return;
        }
        let Some((at, _)) = e.armed.take() else {
            return;
        };
        let count = e.expire_at(id, at, now());
        (e.file.upgrade(), count)
    };
    if let Some(f) = file {
        f.expire(count);
    }
}
