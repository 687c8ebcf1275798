//! Per-CPU run queues: one FIFO of ready threads per CPU, with wake-up placement and work
//! stealing.
//!
//! Linux keeps a run queue per CPU and moves threads between them (wake-up placement in
//! `select_task_rq`, idle balancing); this module does the same with simple rules rather
//! than load tracking:
//!
//! 1. **Placement** ([`RunQueues::enqueue`]): a woken thread goes back to the CPU it last ran
//!    on if that CPU is idle with nothing queued (its cache may still hold the thread's
//!    data); else to another such idle CPU; else to the least loaded CPU it may use (load =
//!    queued threads plus one for a busy CPU), preferring the waker's CPU, then its last CPU,
//!    on ties.
//! 2. **Picking** ([`RunQueues::pick`]): a CPU takes the thread of its own queue with the
//!    least virtual run time (below), the oldest among equals; with its own queue empty it
//!    steals the first thread it may run from the longest queue that has one. So no CPU
//!    stays idle while any queue holds a thread it may run.
//! 3. **Virtual run time** ([`Schedulable::vruntime`]): the CPU time a thread has used, in
//!    ns, as the embedder charges it. Each queue keeps the least virtual run time it has
//!    started (`min_vruntime`, never decreasing), and a thread's virtual run time is moved
//!    relative to that when it joins a queue, as Linux's CFS does:
//!    - a woken thread is placed no further back than [`SLEEPER_CREDIT_NS`] before the
//!      queue's minimum, so a thread that slept (a server woken by a request, a consumer
//!      woken by its producer) runs before the CPU-bound threads queued there, but cannot
//!      bank its sleep to run for longer than the credit;
//!    - a new thread (one that never ran) starts at the queue's minimum, without credit;
//!    - a thread moving to another CPU's queue keeps its distance to the queue minimum.
//!
//!    An embedder that does not track run time (every thread at 0) gets plain FIFO queues.
//!
//! 4. **Wake-up preemption** ([`wakeup_preempt`]): a thread joining the queue of a busy CPU
//!    does not wait for the running thread's whole slice. Once that thread has run
//!    [`WAKEUP_GRANULARITY_NS`] of its slice it gives way at once; before that, at the
//!    granularity. Linux preempts a woken task when the running one is ahead of it by more
//!    than `sched_wakeup_granularity_ns` of virtual run time; with no run-time accounting
//!    here, time already run in the current slice stands in for that lead.
//!
//! Affinity follows sched_setaffinity(2): a thread runs only on the CPUs its mask names,
//! and a mask that names no CPU in use means any CPU (rather than none).
//!
//! The queues only hold handles; the kernel runs them, keeps them under its scheduler lock,
//! and decides which CPUs to interrupt. Beyond wake-up preemption and virtual run time it
//! has no time-slice or priority policy: every thread has the same weight (no nice levels).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// The most CPUs the queues serve (one bit each in an affinity mask).
pub const MAX_CPUS: usize = 64;

/// How long a running thread keeps its CPU, at least, once a woken thread waits for that
/// CPU ([`wakeup_preempt`]).
///
/// 1 ms, Linux's base `sched_wakeup_granularity_ns` (which it scales up by the log of the CPU
/// count to 2-4 ms on small machines, to cut switches between many CPU-bound tasks). It
/// bounds how late a woken thread runs behind a CPU-bound one to ~1 ms instead of the
/// 10 ms slice, while a CPU-bound thread still runs at least 1 ms between two switches, so
/// the switches cost it a few percent at most even under TCG (tens of µs each).
pub const WAKEUP_GRANULARITY_NS: u64 = 1_000_000;

/// How far before a queue's least virtual run time a woken thread is placed, at most.
///
/// 3 ms: Linux's sleeper credit (half its base `sched_latency_ns` of 6 ms, the
/// `GENTLE_FAIR_SLEEPERS` rule). Enough for a thread that slept to run ahead of the
/// CPU-bound ones, too little for it to starve them.
pub const SLEEPER_CREDIT_NS: u64 = 3_000_000;

/// When the thread running on a CPU gives way to a thread that joined that CPU's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeupPreempt {
    /// Now: it has run the granularity (or its slice is over).
    Now,
    /// At this time (ns, the clock of the arguments): when it will have run the
    /// granularity. The CPU's slice end moves there.
    At(u64),
}

/// Wake-up preemption: when the thread that got its CPU at `slice_start` with a slice
/// until `slice_end` gives way to a thread queued for that CPU at `now` (all ns on one
/// clock). Never later than the slice end, never before the thread ran
/// [`WAKEUP_GRANULARITY_NS`] of its slice (unless its slice was shorter).
#[inline]
pub fn wakeup_preempt(slice_start: u64, slice_end: u64, now: u64) -> WakeupPreempt {
    let at = slice_end.min(slice_start.saturating_add(WAKEUP_GRANULARITY_NS));
    if at <= now {
        WakeupPreempt::Now
    } else {
        WakeupPreempt::At(at)
    }
}

/// What the run queues need to know about a thread.
pub trait Schedulable {
    /// The CPUs the thread may run on: bit n for CPU n (sched_setaffinity(2)).
    fn affinity(&self) -> u64;
    /// The CPU the thread last ran on, if it ran yet.
    fn last_cpu(&self) -> Option<usize>;
    /// Its virtual run time in ns: the CPU time it used, shifted by the queues when it is
    /// placed (module doc). The default, 0 for every thread, makes the queues FIFO.
    fn vruntime(&self) -> u64 {
        0
    }
    /// Sets the virtual run time (called by the queues when the thread joins one). The
    /// embedder adds the CPU time the thread uses to what it stores here.
    fn set_vruntime(&self, vruntime: u64) {
        let _ = vruntime;
    }
}

/// One CPU's queue: its threads in order of virtual run time (FIFO among equals).
#[derive(Debug)]
struct Queue<T> {
    threads: VecDeque<T>,
    /// The largest virtual run time of a thread this queue started: a floor for placement.
    min_vruntime: u64,
}

impl<T: Schedulable> Queue<T> {
    /// Inserts `t` behind every thread with no more virtual run time.
    fn insert(&mut self, t: T) {
        let v = t.vruntime();
        let at = self.threads.partition_point(|q| q.vruntime() <= v);
        self.threads.insert(at, t);
    }
}

/// One run queue per CPU.
#[derive(Debug)]
pub struct RunQueues<T> {
    queues: Vec<Queue<T>>,
}

impl<T> Default for RunQueues<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> RunQueues<T> {
    /// No CPUs yet (add them with [`RunQueues::add_cpu`]).
    pub const fn new() -> Self {
        RunQueues { queues: Vec::new() }
    }

    /// Makes CPUs `0..=cpu` take part.
    ///
    /// # Panics
    /// If `cpu` is not below [`MAX_CPUS`] (the kernel never brings up more).
    pub fn add_cpu(&mut self, cpu: usize) {
        assert!(cpu < MAX_CPUS, "an affinity mask has one bit per CPU");
        while self.queues.len() <= cpu {
            self.queues.push(Queue {
                threads: VecDeque::new(),
                min_vruntime: 0,
            });
        }
    }

    /// How many CPUs take part.
    pub fn cpus(&self) -> usize {
        self.queues.len()
    }

    /// Bit n set for every CPU taking part.
    fn online_mask(&self) -> u64 {
        match self.queues.len() {
            MAX_CPUS.. => u64::MAX,
            k => (1u64 << k) - 1,
        }
    }

    /// Threads queued on CPU `cpu` (0 for a CPU not taking part).
    pub fn len(&self, cpu: usize) -> usize {
        self.queues.get(cpu).map_or(0, |q| q.threads.len())
    }

    /// Threads queued on all CPUs.
    pub fn total(&self) -> usize {
        self.queues.iter().map(|q| q.threads.len()).sum()
    }

    /// Whether no thread is queued anywhere.
    pub fn is_empty(&self) -> bool {
        self.queues.iter().all(|q| q.threads.is_empty())
    }

    /// The least virtual run time queue `cpu` has started (0 for a CPU not taking part).
    pub fn min_vruntime(&self, cpu: usize) -> u64 {
        self.queues.get(cpu).map_or(0, |q| q.min_vruntime)
    }
}

impl<T: Schedulable> RunQueues<T> {
    /// Whether `t` may run on CPU `cpu`: its mask names it, or names no CPU taking part.
    pub fn allowed(&self, t: &T, cpu: usize) -> bool {
        let mask = t.affinity();
        cpu < self.queues.len() && (mask & (1 << cpu) != 0 || mask & self.online_mask() == 0)
    }

    /// The CPUs `t` may run on, as a mask.
    pub fn allowed_mask(&self, t: &T) -> u64 {
        let online = self.online_mask();
        match t.affinity() & online {
            0 => online,
            m => m,
        }
    }

    /// Queues a thread that became runnable and returns the CPU whose queue it joined (see
    /// the module doc for the rules). `waker` is the CPU doing this; `idle` has bit n set
    /// for every CPU that runs nothing (its idle thread).
    ///
    /// # Panics
    /// If no CPU takes part yet.
    pub fn enqueue(&mut self, t: T, waker: usize, idle: u64) -> usize {
        let cpu = self.place(&t, waker, idle);
        let floor = self.queues[cpu].min_vruntime;
        let v = match t.last_cpu().filter(|&c| c < self.queues.len()) {
            // Never ran: starts level with the queue, no credit.
            None => t.vruntime().max(floor),
            Some(last) => {
                let v = self.moved(t.vruntime(), last, cpu);
                v.max(floor.saturating_sub(SLEEPER_CREDIT_NS))
            }
        };
        t.set_vruntime(v);
        self.queues[cpu].insert(t);
        cpu
    }

    /// Virtual run time `v` from queue `from` re-based on queue `to` (same distance to the
    /// queue minimum).
    fn moved(&self, v: u64, from: usize, to: usize) -> u64 {
        if from == to {
            return v;
        }
        let (a, b) = (self.queues[from].min_vruntime, self.queues[to].min_vruntime);
        // v - a + b, without leaving u64.
        if v >= a {
            b.saturating_add(v - a)
        } else {
            b.saturating_sub(a - v)
        }
    }

    fn place(&self, t: &T, waker: usize, idle: u64) -> usize {
        if self.queues.len() == 1 {
            return 0;
        }
        let allowed = self.allowed_mask(t);
        let free = |c: usize| idle & (1 << c) != 0 && self.queues[c].threads.is_empty();
        let last = t.last_cpu().filter(|&c| allowed & (1 << c) != 0);
        if let Some(c) = last.filter(|&c| free(c)) {
            return c;
        }
        let cpus = || (0..self.queues.len()).filter(|&c| allowed & (1 << c) != 0);
        if let Some(c) = cpus().find(|&c| free(c)) {
            return c;
        }
        let load = |c: usize| self.queues[c].threads.len() + usize::from(idle & (1 << c) == 0);
        // Ties: the waker (it often blocks right after waking), then the last CPU.
        let rank = |c: usize| (load(c), c != waker, Some(c) != last);
        cpus()
            .min_by_key(|&c| rank(c))
            .expect("the allowed mask names a CPU taking part")
    }

    /// Puts `t` back on CPU `cpu`'s own queue (a thread preempted there), by its virtual
    /// run time (with the CPU time it just used charged, behind the threads that used less).
    ///
    /// # Panics
    /// If `cpu` does not take part.
    pub fn push(&mut self, cpu: usize, t: T) {
        self.queues[cpu].insert(t);
    }

    /// Takes the next thread for CPU `cpu`: the first of its own queue that may run there,
    /// else the first one that may run there from the longest other queue holding one
    /// (moved onto this CPU's virtual run time).
    pub fn pick(&mut self, cpu: usize) -> Option<T> {
        let t = match self.take_allowed(cpu, cpu) {
            Some(t) => t,
            None => {
                let victim = (0..self.queues.len())
                    .filter(|&q| q != cpu && self.queue_has_for(q, cpu))
                    .max_by_key(|&q| (self.queues[q].threads.len(), core::cmp::Reverse(q)))?;
                let t = self.take_allowed(victim, cpu)?;
                t.set_vruntime(self.moved(t.vruntime(), victim, cpu));
                t
            }
        };
        let q = &mut self.queues[cpu];
        q.min_vruntime = q.min_vruntime.max(t.vruntime());
        Some(t)
    }

    /// Whether [`RunQueues::pick`] would find a thread for CPU `cpu`.
    pub fn has_work_for(&self, cpu: usize) -> bool {
        (0..self.queues.len()).any(|q| self.queue_has_for(q, cpu))
    }

    /// Whether CPU `cpu`'s own queue holds a thread that may run there.
    pub fn has_local_work(&self, cpu: usize) -> bool {
        cpu < self.queues.len() && self.queue_has_for(cpu, cpu)
    }

    fn queue_has_for(&self, q: usize, cpu: usize) -> bool {
        self.queues[q].threads.iter().any(|t| self.allowed(t, cpu))
    }

    fn take_allowed(&mut self, q: usize, cpu: usize) -> Option<T> {
        let threads = &self.queues.get(q)?.threads;
        if threads.front().is_some_and(|t| self.allowed(t, cpu)) {
            return self.queues[q].threads.pop_front();
        }
        let at = threads.iter().position(|t| self.allowed(t, cpu))?;
        self.queues[q].threads.remove(at)
    }
}

impl<T: PartialEq> RunQueues<T> {
    /// Takes `t` out of whichever queue holds it; false if none does.
    pub fn remove(&mut self, t: &T) -> bool {
        for q in &mut self.queues {
            if let Some(at) = q.threads.iter().position(|x| x == t) {
                q.threads.remove(at);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests;
