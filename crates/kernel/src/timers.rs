//! The app's timers: the three interval timers (setitimer(2), alarm(2)) and POSIX timers
//! (timer_create(2) and friends), on the scheduler's timer queue.
//!
//! An expiry raises the timer's signal (SIGALRM, SIGVTALRM, SIGPROF for the interval timers,
//! with `SI_KERNEL`; the chosen signal with `SI_TIMER`, the timer id, the overrun count and
//! `sigev_value` for POSIX timers) and re-arms a periodic timer for its next period. When a
//! POSIX timer expires while its previous signal is still pending, the expiry counts as an
//! overrun instead (timer_getoverrun(2)).
//!
//! `ITIMER_VIRTUAL` and `ITIMER_PROF` run on the process's CPU time
//! ([`sched::process_cpu_ns`]; oxv does not split user from system time, so both count all
//! of it). Such a timer is queued for the wall-clock instant its CPU deadline would come if
//! the app ran all the time; when that instant comes with CPU time still to go (the app slept
//! meanwhile), it is queued again for the rest.

use crate::process::Process;
use crate::sched;
use crate::signal::{Sent, raise, raise_on_process};
use alloc::collections::BTreeMap;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::Signal;
use oxv_sched::timer::TimerId;

/// Which timer expired (carried by the scheduler's timer queue). The generation tells a
/// stale expiry (of a timer re-armed or deleted since) from a current one.
#[derive(Copy, Clone, Debug)]
pub enum Expiry {
    /// Interval timer `which` (0 = real, 1 = virtual, 2 = prof) of process `pid`.
    Interval {
        pid: i32,
        which: usize,
        generation: u64,
    },
    /// POSIX timer `id` of process `pid`.
    Posix { pid: i32, id: i32, generation: u64 },
    /// Timerfd `id` ([`crate::timerfd`]; a file, not any one process's).
    TimerFd { id: u64, generation: u64 },
    /// The network stack's poll timer ([`crate::net`]).
    Net,
}

/// Whom a timer notifies.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Nobody (`SIGEV_NONE`): the timer is only read with timer_gettime.
    None,
    /// `signal` to the process, or to thread `tid`.
    Signal {
        signal: Signal,
        tid: Option<i32>,
        value: u64,
    },
}

/// One armed or disarmed timer.
#[derive(Clone, Debug, Default)]
struct Timer {
    /// Next expiry (on the timer's clock, ns) and its queue id, when armed.
    armed: Option<(u64, TimerId)>,
    /// Whether the timer's clock is the process's CPU time (else the monotonic clock).
    cpu: bool,
    interval_ns: u64,
    generation: u64,
    overrun: i32,
    last_overrun: i32,
}

struct Posix {
    timer: Timer,
    notify: Notify,
    /// Whether the timer's clock is the wall clock (absolute times are realtime instants).
    realtime: bool,
    /// The signal is raised and not yet taken: further expiries are overruns.
    signal_pending: bool,
}

/// One process's timers (a new process has none armed; exec keeps the interval timers and
/// deletes the POSIX ones, fork gives the child none, as Linux does).
pub struct Timers {
    interval: [Timer; 3],
    posix: BTreeMap<i32, Posix>,
    next_id: i32,
}

impl Default for Timers {
    fn default() -> Self {
        Self::new()
    }
}

impl Timers {
    /// No timers.
    pub const fn new() -> Timers {
        Timers {
            interval: [Timer::new(false), Timer::new(true), Timer::new(true)],
            posix: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// Disarms and deletes every timer (the process ended).
    pub fn clear(&mut self) {
        for t in &mut self.interval {
            t.disarm();
            t.interval_ns = 0;
        }
        self.delete_posix();
    }

    /// Deletes the POSIX timers (execve(2)).
    pub fn delete_posix(&mut self) {
        for (_, mut p) in core::mem::take(&mut self.posix) {
            p.timer.disarm();
        }
    }
}

fn now() -> u64 {
    crate::time::monotonic_ns()
}

impl Timer {
    const fn new(cpu: bool) -> Timer {
        Timer {
            armed: None,
            cpu,
            interval_ns: 0,
            generation: 0,
            overrun: 0,
            last_overrun: 0,
        }
    }

    /// The time on the timer's clock.
    fn clock_ns(&self, p: &Process) -> u64 {
        if self.cpu {
            sched::process_cpu_ns(p)
        } else {
            now()
        }
    }

    /// Time left to the next expiry and the period, in ns.
    fn read(&self, p: &Process) -> (u64, u64) {
        let left = self
            .armed
            .map_or(0, |(at, _)| at.saturating_sub(self.clock_ns(p)).max(1));
        (left, self.interval_ns)
    }

    /// Whether a CPU-time timer's queue entry fired before its CPU deadline (the process
    /// slept meanwhile).
    fn cpu_time_to_go(&self, p: &Process) -> bool {
        self.cpu && self.armed.is_some_and(|(at, _)| self.clock_ns(p) < at)
    }

    /// Queues the armed expiry again for the CPU time still to go.
    fn requeue(&mut self, p: &Process, what: Expiry) {
        if let Some((at, _)) = self.armed {
            self.enqueue(p, at, what);
        }
    }

    /// Puts expiry `at` (on the timer's clock) on the scheduler's wall-clock queue.
    fn enqueue(&mut self, p: &Process, at: u64, what: Expiry) {
        let wall = if self.cpu {
            now().saturating_add(at.saturating_sub(sched::process_cpu_ns(p)))
        } else {
            at
        };
        self.armed = Some((at, sched::add_app_timer(wall, what)));
    }

    fn disarm(&mut self) {
        if let Some((_, id)) = self.armed.take() {
            sched::cancel_app_timer(id);
        }
        self.generation += 1;
    }

    fn arm(&mut self, p: &Process, at: u64, interval_ns: u64, what: impl FnOnce(u64) -> Expiry) {
        self.disarm();
        self.interval_ns = interval_ns;
        self.overrun = 0;
        let generation = self.generation;
        self.enqueue(p, at, what(generation));
    }
}

/// Reads interval timer `which` of `p`: (time left, period) in ns.
pub fn get_interval(p: &Process, which: usize) -> (u64, u64) {
    p.timers.lock().interval[which].read(p)
}

/// Sets interval timer `which` to fire after `value_ns` (0 disarms), then every
/// `interval_ns`; returns the previous (time left, period).
pub fn set_interval(p: &Process, which: usize, value_ns: u64, interval_ns: u64) -> (u64, u64) {
    let pid = p.pid;
    let mut t = p.timers.lock();
    let old = t.interval[which].read(p);
    if value_ns == 0 {
        t.interval[which].disarm();
        t.interval[which].interval_ns = 0;
    } else {
        let at = t.interval[which].clock_ns(p).saturating_add(value_ns);
        t.interval[which].arm(p, at, interval_ns, |generation| Expiry::Interval {
            pid,
            which,
            generation,
        });
    }
    old
}

/// Creates a POSIX timer notifying as `notify(id)` says, on the process's CPU time if `cpu`;
/// returns its id.
pub fn create(p: &Process, realtime: bool, cpu: bool, notify: impl FnOnce(i32) -> Notify) -> i32 {
    let mut t = p.timers.lock();
    let id = t.next_id;
    t.next_id += 1;
    t.posix.insert(
        id,
        Posix {
            timer: Timer::new(cpu),
            notify: notify(id),
            realtime,
            signal_pending: false,
        },
    );
    id
}

/// Whether POSIX timer `id` runs on the wall clock; `None` for an unknown id.
pub fn is_realtime(p: &Process, id: i32) -> Option<bool> {
    p.timers.lock().posix.get(&id).map(|t| t.realtime)
}

/// When a timer is to expire first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FirstExpiry {
    /// Never: the timer is disarmed.
    Disarm,
    /// After this many ns on the timer's clock.
    After(u64),
    /// At this time on the timer's clock (the monotonic one for wall-clock timers); a time
    /// already past expires at once.
    At(u64),
}

/// Arms POSIX timer `id` to expire as `first` says, then every `interval_ns`; returns the
/// previous (time left, period), or `None` for an unknown id.
pub fn set_posix(
    proc: &Process,
    id: i32,
    first: FirstExpiry,
    interval_ns: u64,
) -> Option<(u64, u64)> {
    let pid = proc.pid;
    let mut t = proc.timers.lock();
    let p = t.posix.get_mut(&id)?;
    let old = p.timer.read(proc);
    let clock = p.timer.clock_ns(proc);
    let at = match first {
        FirstExpiry::Disarm => {
            p.timer.disarm();
            p.timer.interval_ns = 0;
            return Some(old);
        }
        FirstExpiry::After(ns) => clock.saturating_add(ns),
        FirstExpiry::At(at) => at.max(clock),
    };
    p.timer
        .arm(proc, at, interval_ns, |generation| Expiry::Posix {
            pid,
            id,
            generation,
        });
    Some(old)
}

/// Reads POSIX timer `id`: (time left, period), or `None` for an unknown id.
pub fn get_posix(p: &Process, id: i32) -> Option<(u64, u64)> {
    p.timers.lock().posix.get(&id).map(|t| t.timer.read(p))
}

/// The overrun count of POSIX timer `id`'s last delivered expiry.
pub fn overrun(p: &Process, id: i32) -> Option<i32> {
    p.timers.lock().posix.get(&id).map(|t| t.timer.last_overrun)
}

/// Deletes POSIX timer `id`; false if unknown.
pub fn delete(p: &Process, id: i32) -> bool {
    let mut t = p.timers.lock();
    match t.posix.remove(&id) {
        Some(mut p) => {
            p.timer.disarm();
            true
        }
        None => false,
    }
}

/// A POSIX timer's signal was taken by a thread of `proc`: the timer's next expiry raises it
/// again.
pub fn signal_taken(proc: &Process, info: &SigInfo) {
    if info.si_code == code::SI_TIMER {
        let id = info.fields[0] as u32 as i32;
        if let Some(p) = proc.timers.lock().posix.get_mut(&id) {
            p.signal_pending = false;
            p.timer.last_overrun = p.timer.overrun;
            p.timer.overrun = 0;
        }
    }
}

/// Acts on an expiry from the scheduler's timer queue (interrupt context, no lock held).
pub fn expired(what: Expiry) {
    let pid = match what {
        Expiry::Interval { pid, .. } | Expiry::Posix { pid, .. } => pid,
        Expiry::TimerFd { id, generation } => return crate::timerfd::expired(id, generation),
        Expiry::Net => return crate::net::timer_fired(),
    };
    let Some(proc) = crate::process::lookup(pid) else {
        return;
    };
    let proc = &*proc;
    let mut t = proc.timers.lock();
    let (timer, raise_now) = match what {
        Expiry::Interval {
            which, generation, ..
        } => {
            let timer = &mut t.interval[which];
            if timer.generation != generation {
                return;
            }
            if timer.cpu_time_to_go(proc) {
                timer.requeue(proc, what);
                return;
            }
            let sig = [Signal::SIGALRM, Signal::SIGVTALRM, Signal::SIGPROF][which];
            (
                timer,
                Some((
                    sig,
                    None,
                    SigInfo::from_process(sig.number() as i32, code::SI_KERNEL, 0, 0),
                )),
            )
        }
        Expiry::Posix { id, generation, .. } => {
            let Some(p) = t.posix.get_mut(&id) else {
                return;
            };
            if p.timer.generation != generation {
                return;
            }
            if p.timer.cpu_time_to_go(proc) {
                p.timer.requeue(proc, what);
                return;
            }
            let raise_now = match p.notify {
                Notify::None => None,
                Notify::Signal { .. } if p.signal_pending => {
                    p.timer.overrun = p.timer.overrun.saturating_add(1);
                    None
                }
                Notify::Signal { signal, tid, value } => {
                    p.signal_pending = true;
                    let mut info = SigInfo {
                        si_signo: signal.number() as i32,
                        si_code: code::SI_TIMER,
                        ..SigInfo::default()
                    };
                    info.fields[0] = (id as u32 as u64) | ((p.timer.overrun as u32 as u64) << 32);
                    info.fields[1] = value;
                    Some((signal, tid, info))
                }
            };
            (&mut p.timer, raise_now)
        }
        Expiry::TimerFd { .. } | Expiry::Net => return,
    };
    // Re-arm a periodic timer for its next period (skipped periods count as overruns).
    let t_now = timer.clock_ns(proc);
    let fired_at = timer.armed.take().map_or(t_now, |(at, _)| at);
    if timer.interval_ns > 0 {
        let mut next = fired_at + timer.interval_ns;
        if next <= t_now {
            let missed = (t_now - next) / timer.interval_ns + 1;
            timer.overrun = timer
                .overrun
                .saturating_add(missed.min(i32::MAX as u64) as i32);
            next += missed * timer.interval_ns;
        }
        timer.enqueue(proc, next, what);
    }
    drop(t);
    if let Some((sig, tid, info)) = raise_now {
        // SIGEV_THREAD_ID names a thread of this process; another one (or none) gets the
        // signal sent to the process.
        let thread = tid
            .and_then(|tid| sched::with(|s| s.thread(tid)))
            .filter(|t| core::ptr::eq(t.process().as_ref(), proc));
        let sent = match thread {
            Some(thread) => raise(&thread, sig, info),
            None => raise_on_process(proc, sig, info),
        };
        if sent != Sent::Queued {
            // Nothing will take this expiry's signal: the next one may raise it again.
            signal_taken(proc, &info);
        }
    }
}
