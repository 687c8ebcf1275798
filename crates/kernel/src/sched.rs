//! The scheduler: which thread runs, blocking and waking, sleeping, and the timer interrupt.
//!
//! The kernel is not preemptible: it runs with interrupts off, and a thread only leaves its
//! CPU when it blocks, exits, yields, or is preempted on its way back to ring 3 (a timer
//! interrupt there sets the CPU's `need_resched`). Every CPU has its own idle thread, its
//! own running thread and its own FIFO run queue ([`oxv_sched::runqueue`]), with a 10 ms
//! time slice. A thread made runnable joins the queue of its last CPU if that one is idle,
//! else of another idle CPU, else of the least loaded CPU it may use; an idle target CPU is
//! kicked. A busy target CPU's slice is cut short (wake-up preemption,
//! [`oxv_sched::runqueue::wakeup_preempt`]): it switches at once if its thread has run
//! 1 ms of its slice, else when it has. A CPU takes from its own queue first and steals
//! from the others when it is empty, so no CPU halts while a thread it may run waits. (Kernel code on several CPUs is
//! still serialized by the kernel lock, see [`crate::smp`]: the queues sit under the one
//! scheduler lock; what they buy is placement, not less contention.)
//!
//! Each CPU's timer is one-shot and armed for the earliest of the next sleeper's deadline
//! and the end of a slice that a waiting thread needs: its own when a thread it may run
//! waits, and that of another busy CPU whose own queue holds threads (so a thread queued on
//! a CPU whose timer is off still gets its turn: the CPU whose timer fires sends it a
//! kick with `need_resched` set). Tickless otherwise. With nothing to run, a CPU's idle
//! loop halts until an interrupt.
//!
//! The data structures (run queues, timer queue, futex table) are oxv-sched's; this module
//! owns the single instance and the hardware (APIC timer, context switch).

use crate::arch::percpu::{self, CpuShared, MAX_CPUS};
use crate::arch::{apic, context, cpu};
use crate::thread::{NO_CPU, State, Thread, ThreadRef, Wake};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use oxv_sched::cpu_lock::CpuMutex;
use oxv_sched::futex::FutexTable;
use oxv_sched::runqueue::{RunQueues, Schedulable, WakeupPreempt, wakeup_preempt};
use oxv_sched::timer::{TimerId, TimerQueue};

/// How long a thread runs before another ready thread gets the CPU.
const TIME_SLICE_NS: u64 = 10_000_000;

/// What a timer event does when it fires.
enum TimerEvent {
    /// Wake a thread blocked in a wait with a timeout (if it still is, in that wait).
    Timeout { thread: ThreadRef, generation: u64 },
    /// An app timer (setitimer, alarm, timer_create) expired; `crate::timers` acts on it.
    App(crate::timers::Expiry),
}

/// All scheduler state, behind one lock taken with interrupts off.
pub struct Scheduler {
    /// The thread each CPU runs, by CPU number.
    current: [Option<ThreadRef>; MAX_CPUS],
    /// Each CPU's idle thread.
    idle: [Option<ThreadRef>; MAX_CPUS],
    /// Each CPU's ready threads.
    run: RunQueues<ThreadRef>,
    timers: TimerQueue<TimerEvent>,
    /// Futex waiters, keyed by user address (one address space).
    pub futexes: FutexTable<ThreadRef>,
    /// Every live thread of the app, by tid.
    threads: BTreeMap<i32, ThreadRef>,
    /// Exited threads whose stacks are freed after the next switch.
    dead: Vec<ThreadRef>,
}

static SCHED: CpuMutex<Scheduler> = CpuMutex::new(Scheduler {
    current: [const { None }; MAX_CPUS],
    idle: [const { None }; MAX_CPUS],
    run: RunQueues::new(),
    timers: TimerQueue::new(),
    futexes: FutexTable::new(),
    threads: BTreeMap::new(),
    dead: Vec::new(),
});

/// Whether this CPU holds the scheduler lock: code that may run under it (a heap allocation
/// that reaches the OOM killer) must not take it again (it would spin for ever).
#[inline]
pub fn locked_here() -> bool {
    SCHED.held_by(cpu_index())
}

/// This CPU's scheduling state.
#[inline(always)]
fn here() -> &'static CpuShared {
    &percpu::this_cpu().shared
}

/// This CPU's number.
#[inline(always)]
fn cpu_index() -> usize {
    percpu::this_cpu().cpu_id as usize
}

/// Runs `f` on the running thread without taking the scheduler lock.
#[inline]
pub fn with_running<R>(f: impl FnOnce(&Thread) -> R) -> R {
    let t = percpu::running() as *const Thread;
    assert!(!t.is_null(), "sched::init runs before any thread");
    // SAFETY: this CPU's `running` points at the thread on it, which `SCHED.current` keeps
    // alive until the scheduler has switched away from it; the caller is that thread, so it
    // cannot be freed while `f` runs (a thread that exits never returns to its caller).
    f(unsafe { &*t })
}

/// The CPU running thread `t` now, if any.
fn cpu_running(t: &Thread) -> Option<&'static percpu::PerCpu> {
    (0..percpu::online())
        .filter_map(percpu::cpu)
        .find(|c| c.shared.running.load(Ordering::Relaxed) == t as *const Thread as usize)
}

/// Charges the time since the last switch to `prev` and its process, as it leaves the CPU
/// (the idle thread's time is nobody's).
fn charge(prev: &Thread) {
    let t = cpu::rdtsc();
    let ran = t.saturating_sub(here().switched_at.swap(t, Ordering::Relaxed));
    if let Some(p) = prev.process_opt() {
        prev.cpu_ticks.fetch_add(ran, Ordering::Relaxed);
        p.cpu_ticks.fetch_add(ran, Ordering::Relaxed);
        prev.vruntime
            .fetch_add(crate::time::clock().ticks_to_ns(ran), Ordering::Relaxed);
    }
}

/// Ticks app thread `t` has used since it got its CPU (0 when it is not running).
fn running_ticks(t: &Thread) -> u64 {
    if t.is_idle() {
        return 0;
    }
    match cpu_running(t) {
        Some(c) => cpu::rdtsc().saturating_sub(c.shared.switched_at.load(Ordering::Relaxed)),
        None => 0,
    }
}

/// CPU time process `p` has used, in ns: its threads' time on the CPU, live or exited
/// (`CLOCK_PROCESS_CPUTIME_ID`, getrusage, times, the CPU-time interval timers). Time in
/// the kernel on its behalf counts; idle time does not.
pub fn process_cpu_ns(p: &crate::process::Process) -> u64 {
    let mut ticks = p.cpu_ticks.load(Ordering::Relaxed);
    for c in (0..percpu::online()).filter_map(percpu::cpu) {
        let t = c.shared.running.load(Ordering::Relaxed) as *const Thread;
        if t.is_null() {
            continue;
        }
        // SAFETY: a CPU's `running` thread is kept alive by `SCHED.current`, and the kernel
        // lock (or being the only CPU) keeps it from switching while we look.
        let t = unsafe { &*t };
        if t.process_opt()
            .is_some_and(|q| core::ptr::eq(q.as_ref(), p))
        {
            ticks += running_ticks(t);
        }
    }
    crate::time::clock().ticks_to_ns(ticks)
}

/// CPU time thread `t` has used, in ns (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns(t: &ThreadRef) -> u64 {
    let ticks = t.cpu_ticks.load(Ordering::Relaxed) + running_ticks(t);
    crate::time::clock().ticks_to_ns(ticks)
}

fn now() -> u64 {
    crate::time::monotonic_ns()
}

/// Makes the code running now on this CPU (the boot path, or an AP's start) its idle
/// thread.
pub fn init_cpu() {
    let idle = ThreadRef(Arc::new(Thread::idle()));
    let here = here();
    here.switched_at.store(cpu::rdtsc(), Ordering::Relaxed);
    here.idle.store(true, Ordering::Relaxed);
    let mut s = SCHED.lock(cpu_index());
    here.running
        .store(Arc::as_ptr(&idle.0) as usize, Ordering::Relaxed);
    let n = cpu_index();
    s.run.add_cpu(n);
    s.current[n] = Some(idle.clone());
    s.idle[n] = Some(idle);
}

/// Sets up the scheduler on the boot CPU.
pub fn init() {
    init_cpu();
}

/// Adds a new thread of the app and makes it runnable.
pub fn spawn(t: ThreadRef) {
    let mut s = SCHED.lock(cpu_index());
    s.threads.insert(t.tid, t.clone());
    t.set_state(State::Ready);
    s.make_ready(t);
}

/// The running thread.
pub fn current() -> ThreadRef {
    SCHED.lock(cpu_index()).current[cpu_index()]
        .clone()
        .expect("sched::init runs before any thread")
}

/// Runs `f` with the scheduler locked (interrupts are off in the kernel).
pub fn with<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    f(&mut SCHED.lock(cpu_index()))
}

impl Scheduler {
    /// Makes a blocked thread runnable with `why`; false if it was not blocked (already woken).
    pub fn wake(&mut self, t: &ThreadRef, why: Wake) -> bool {
        if t.state() != State::Blocked {
            return false;
        }
        t.set_wake(why);
        t.set_state(State::Ready);
        self.make_ready(t.clone());
        true
    }

    /// Queues a runnable thread on the CPU [`RunQueues::enqueue`] chooses. That CPU is
    /// kicked if it is idle. If it is busy, wake-up preemption
    /// ([`oxv_sched::runqueue::wakeup_preempt`]) brings the end of its running thread's
    /// slice forward to the wake-up granularity: past that, the CPU switches now (this one
    /// on its way out of the kernel, another one kicked with `need_resched` set); before
    /// it, this CPU's timer is armed to watch for the new slice end (the running thread may
    /// spin in ring 3 waiting for the new one: tickless, nothing else would preempt it).
    fn make_ready(&mut self, t: ThreadRef) {
        let me = cpu_index();
        let target = self.run.enqueue(t, me, idle_cpus());
        let c = if target == me {
            here()
        } else {
            match percpu::cpu(target) {
                Some(c) => &c.shared,
                None => return,
            }
        };
        if c.idle.load(Ordering::Relaxed) {
            if target != me {
                crate::smp::kick_cpu(target);
            }
            return;
        }
        let t = now();
        let cut = wakeup_preempt(
            c.slice_start.load(Ordering::Relaxed),
            c.slice_end.load(Ordering::Relaxed),
            t,
        );
        match cut {
            WakeupPreempt::Now => c.slice_end.store(t, Ordering::Relaxed),
            WakeupPreempt::At(at) => c.slice_end.store(at, Ordering::Relaxed),
        }
        if target == me {
            if cut == WakeupPreempt::Now {
                here().need_resched.store(true, Ordering::Relaxed);
            }
        } else {
            self.end_remote_slices(t);
        }
        self.arm_timer_at(t);
    }

    /// Asks every other busy CPU whose slice is over and whose own queue holds a thread to
    /// switch (its timer may be off: it was alone when its slice began).
    fn end_remote_slices(&self, t: u64) {
        let me = cpu_index();
        for n in (0..self.run.cpus()).filter(|&n| n != me) {
            let Some(c) = percpu::cpu(n) else { continue };
            if !c.shared.idle.load(Ordering::Relaxed)
                && t >= c.shared.slice_end.load(Ordering::Relaxed)
                && self.run.has_local_work(n)
                && !c.shared.need_resched.swap(true, Ordering::Relaxed)
            {
                crate::smp::kick_cpu(n);
            }
        }
    }

    /// Kicks every idle CPU (but this one) that has a queued thread to run.
    fn kick_idle_with_work(&self) {
        let me = cpu_index();
        let idle = idle_cpus();
        for n in (0..self.run.cpus()).filter(|&n| n != me && idle & (1 << n) != 0) {
            if self.run.has_work_for(n) {
                crate::smp::kick_cpu(n);
            }
        }
    }

    /// The thread with id `tid`, if it is alive.
    pub fn thread(&self, tid: i32) -> Option<ThreadRef> {
        self.threads.get(&tid).cloned()
    }

    /// Every live thread.
    pub fn threads(&self) -> impl Iterator<Item = &ThreadRef> {
        self.threads.values()
    }

    fn arm_timer(&mut self) {
        self.arm_timer_at(now());
    }

    /// [`Scheduler::arm_timer`] with the time already read (`t`, monotonic ns).
    fn arm_timer_at(&mut self, t: u64) {
        let mut deadline = self.timers.next_deadline();
        if let Some(slice_end) = self.slice_deadline() {
            deadline = Some(deadline.map_or(slice_end, |d| d.min(slice_end)));
        }
        match deadline {
            Some(d) => apic::arm_oneshot(d.saturating_sub(t).max(1000)),
            None => apic::disarm(),
        }
    }

    /// The earliest end of a slice that a queued thread waits for: this CPU's when it may
    /// run a queued thread, another busy CPU's when that CPU's own queue holds one.
    fn slice_deadline(&self) -> Option<u64> {
        let me = cpu_index();
        if !crate::smp::active() {
            // One CPU: every queued thread may run on it.
            return (!self.run.is_empty()).then(|| here().slice_end.load(Ordering::Relaxed));
        }
        let mut end: Option<u64> = None;
        for n in 0..self.run.cpus() {
            let Some(c) = percpu::cpu(n) else { continue };
            let waiting = if n == me {
                self.run.has_work_for(n)
            } else {
                !c.shared.idle.load(Ordering::Relaxed) && self.run.has_local_work(n)
            };
            if waiting {
                let e = c.shared.slice_end.load(Ordering::Relaxed);
                end = Some(end.map_or(e, |d| d.min(e)));
            }
        }
        end
    }
}

impl Schedulable for ThreadRef {
    fn affinity(&self) -> u64 {
        self.affinity.load(Ordering::Relaxed)
    }

    fn last_cpu(&self) -> Option<usize> {
        match self.last_cpu.load(Ordering::Relaxed) {
            NO_CPU => None,
            n => Some(n as usize),
        }
    }

    fn vruntime(&self) -> u64 {
        self.vruntime.load(Ordering::Relaxed)
    }

    fn set_vruntime(&self, vruntime: u64) {
        self.vruntime.store(vruntime, Ordering::Relaxed);
    }
}

/// Bit n set for every online CPU that runs its idle thread.
fn idle_cpus() -> u64 {
    if !crate::smp::active() {
        return u64::from(here().idle.load(Ordering::Relaxed));
    }
    (0..percpu::online())
        .filter(|&n| percpu::cpu(n).is_some_and(|c| c.shared.idle.load(Ordering::Relaxed)))
        .fold(0, |m, n| m | 1 << n)
}

/// Whether thread `t` may run on CPU `n`: its affinity names it, or names no online CPU
/// (then any will do rather than none).
fn allowed(t: &Thread, n: usize) -> bool {
    let mask = t.affinity.load(Ordering::Relaxed);
    let online = match percpu::online() {
        64.. => u64::MAX,
        k => (1u64 << k) - 1,
    };
    mask & (1 << n) != 0 || mask & online == 0
}

/// Sets the CPUs thread `t` may run on. If it runs on a CPU that is not one of them, it
/// moves: now if it is the caller, at that CPU's next kernel exit otherwise.
pub fn set_affinity(t: &ThreadRef, mask: u64) {
    t.affinity.store(mask, Ordering::Relaxed);
    let n = cpu_index();
    {
        let mut s = SCHED.lock(cpu_index());
        if t.state() == State::Ready && s.run.remove(t) {
            // Queued: requeue it where the new mask allows.
            s.make_ready(t.clone());
            return;
        }
    }
    if *t == current() {
        if !allowed(t, n) {
            yield_now();
        }
        return;
    }
    if let Some(c) = cpu_running(t) {
        if !allowed(t, c.cpu_id as usize) {
            c.shared.need_resched.store(true, Ordering::Relaxed);
            crate::smp::kick_cpu(c.cpu_id as usize);
        }
    }
}

/// Blocks the running thread until it is woken (or `timeout_at`, a monotonic deadline,
/// passes). `register` runs under the scheduler lock after the thread is marked blocked: it
/// puts the thread where a waker will find it (a futex queue, a wait queue). Returns why the
/// thread woke; the caller removes it from wherever `register` put it if the reason is not
/// `Event`.
pub fn block(timeout_at: Option<u64>, register: impl FnOnce(&mut Scheduler, &ThreadRef)) -> Wake {
    block_if(timeout_at, |s, me| {
        register(s, me);
        true
    })
    .unwrap_or(Wake::Event)
}

/// Like [`block`], but `register` decides under the lock whether to block at all (false: it
/// does not, and `None` is returned) — the compare-and-sleep of futex(2).
pub fn block_if(
    timeout_at: Option<u64>,
    register: impl FnOnce(&mut Scheduler, &ThreadRef) -> bool,
) -> Option<Wake> {
    let me = current();
    let timer: Option<TimerId>;
    {
        let mut s = SCHED.lock(cpu_index());
        let generation = me.begin_block();
        if !register(&mut s, &me) {
            me.set_state(State::Running);
            return None;
        }
        timer = timeout_at.map(|at| {
            s.timers.insert(
                at,
                TimerEvent::Timeout {
                    thread: me.clone(),
                    generation,
                },
            )
        });
        s.arm_timer();
    }
    schedule();
    let why = me.wake_reason();
    if let Some(id) = timer {
        SCHED.lock(cpu_index()).timers.cancel(id);
    }
    Some(why)
}

/// Sleeps until the monotonic time `deadline` (ns since boot); `Err` with the time of waking
/// if a signal interrupted the sleep.
pub fn sleep_until(deadline: u64) -> Result<(), u64> {
    if deadline <= now() {
        return Ok(());
    }
    match block(Some(deadline), |_, _| {}) {
        Wake::Signal => Err(now()),
        _ => Ok(()),
    }
}

/// Gives the CPU to the next ready thread, if any.
pub fn yield_now() {
    here().need_resched.store(true, Ordering::Relaxed);
    schedule();
    // Nothing else to run here may mean the thread waited for runs on another CPU: let it
    // into the kernel.
    crate::smp::relax();
}

/// Switches to the next ready thread (or idle). The running thread goes back to the run queue
/// if it is still runnable. Returns when the calling thread is scheduled again.
pub fn schedule() {
    let here = here();
    here.need_resched.store(false, Ordering::Relaxed);
    let n = cpu_index();
    let (prev_ctx, next_rsp, prev_user, next) = {
        let mut s = SCHED.lock(cpu_index());
        let prev = s.current[n].clone().expect("a thread always runs");
        // Charged before it may go back to the queue, which orders by run time.
        charge(&prev);
        let runnable = prev.state() == State::Running && !prev.is_idle();
        // A preempted (or yielding) thread goes behind every thread this CPU may run,
        // its own queue's and, with that empty, the others' (which it would steal).
        let next = match s.run.pick(n) {
            None if runnable && allowed(&prev, n) => prev.clone(),
            picked => {
                if runnable {
                    prev.set_state(State::Ready);
                    if allowed(&prev, n) {
                        s.run.push(n, prev.clone());
                    } else {
                        // Its affinity no longer names this CPU.
                        s.make_ready(prev.clone());
                    }
                }
                picked.unwrap_or_else(|| s.idle[n].clone().expect("sched::init_cpu created idle"))
            }
        };
        if !s.run.is_empty() {
            // More to run than this CPU takes (the thread it preempted, say).
            s.kick_idle_with_work();
        }
        if !next.is_idle() {
            next.last_cpu.store(n as u32, Ordering::Relaxed);
        }
        next.set_state(State::Running);
        here.running
            .store(Arc::as_ptr(&next.0) as usize, Ordering::Relaxed);
        here.idle.store(next.is_idle(), Ordering::Relaxed);
        s.current[n] = Some(next.clone());
        let t = now();
        here.slice_start.store(t, Ordering::Relaxed);
        here.slice_end.store(t + TIME_SLICE_NS, Ordering::Relaxed);
        s.arm_timer_at(t);
        if prev == next {
            return;
        }
        crate::rseq::on_switch_out(&prev);
        // Raw pointers only across the switch: the scheduler's own references (current, run
        // queue, dead list) keep both threads alive.
        (
            prev.ctx_ptr(),
            unsafe_read_ctx(&next),
            (!prev.is_idle()).then(|| prev.clone()),
            next,
        )
    };
    if let Some(p) = &prev_user {
        save_user_state(p);
    }
    if !next.is_idle() {
        load_user_state(&next);
        let root = next.cr3.load(Ordering::Relaxed);
        if root != 0 && root != cpu::cr3() {
            // `root` is the page-table root of the thread's live address space (the
            // thread's process keeps it alive); every user address space maps the kernel.
            crate::smp::load_root(root);
        }
    } else if crate::smp::active() {
        // An idle CPU keeps no address space loaded: it then needs no TLB shootdowns, and
        // an exiting process's tables are never live on a CPU that does not run it.
        crate::smp::load_root(0);
    }
    drop(prev_user);
    drop(next);
    // SAFETY: interrupts are off; the scheduler lock is released; `next_rsp` is the saved
    // context of a thread that is not running (it was in the run queue or is idle), and both
    // threads are kept alive by the scheduler's references.
    unsafe { context::switch(prev_ctx, next_rsp) };
    after_switch();
}

fn unsafe_read_ctx(t: &Thread) -> u64 {
    // SAFETY: the thread is not running (it was taken from the run queue or is idle and
    // not current), so its saved context is stable; reads are under the scheduler lock.
    unsafe { *t.ctx_ptr() }
}

fn save_user_state(t: &Thread) {
    if let Some(f) = &t.fpu {
        f.save();
    }
    t.fs_base
        .store(cpu::rdmsr(cpu::msr::FS_BASE), Ordering::Relaxed);
    t.gs_base
        .store(cpu::rdmsr(cpu::msr::KERNEL_GS_BASE), Ordering::Relaxed);
}

fn load_user_state(t: &Thread) {
    if let Some(f) = &t.fpu {
        f.restore();
    }
    cpu::set_fs_base(t.fs_base.load(Ordering::Relaxed));
    // SAFETY: while the kernel runs, KERNEL_GS_BASE holds the app's GS base (swapgs puts it
    // back on return); the value was read from the same MSR or set by arch_prctl.
    unsafe { cpu::wrmsr(cpu::msr::KERNEL_GS_BASE, t.gs_base.load(Ordering::Relaxed)) };
    if let Some(top) = t.kernel_stack_top() {
        percpu::set_kernel_stack(top);
    }
}

/// Runs on a thread right after it is switched to: frees the stacks of threads that exited.
pub fn after_switch() {
    let dead = core::mem::take(&mut SCHED.lock(cpu_index()).dead);
    drop(dead);
}

/// Ends the running thread (exit(2) of a thread that is not the last).
pub fn exit_current() -> ! {
    {
        let mut s = SCHED.lock(cpu_index());
        let me = s.current[cpu_index()]
            .clone()
            .expect("a thread always runs");
        me.set_state(State::Dead);
        s.threads.remove(&me.tid);
        s.dead.push(me);
    }
    schedule();
    unreachable!("a dead thread is never scheduled again");
}

/// Arms an app timer to expire at `deadline` (monotonic ns); returns its id for cancelling.
pub fn add_app_timer(deadline: u64, what: crate::timers::Expiry) -> TimerId {
    let mut s = SCHED.lock(cpu_index());
    let id = s.timers.insert(deadline, TimerEvent::App(what));
    s.arm_timer();
    id
}

/// Cancels an app timer armed with [`add_app_timer`] (no effect if it already fired).
pub fn cancel_app_timer(id: TimerId) {
    SCHED.lock(cpu_index()).timers.cancel(id);
}

/// The timer interrupt: wakes sleepers whose deadline passed, fires app timers, and asks
/// for a reschedule when the running thread's slice is over and another is ready.
pub fn timer_interrupt() {
    apic::eoi();
    let mut fired = Vec::new();
    {
        let mut s = SCHED.lock(cpu_index());
        let t = now();
        for ev in s.timers.expired(t) {
            match ev {
                TimerEvent::Timeout { thread, generation } => {
                    if thread.block_generation() == generation {
                        s.wake(&thread, Wake::Timeout);
                    }
                }
                TimerEvent::App(what) => fired.push(what),
            }
        }
        let here = here();
        if s.run.has_work_for(cpu_index())
            && (t >= here.slice_end.load(Ordering::Relaxed) || here.idle.load(Ordering::Relaxed))
        {
            here.need_resched.store(true, Ordering::Relaxed);
        }
        s.end_remote_slices(t);
        s.arm_timer();
    }
    // Raising signals takes thread and scheduler locks: outside the scheduler lock.
    for what in fired {
        crate::timers::expired(what);
    }
}

/// Whether a reschedule was asked for (the timer interrupt ended the running thread's slice).
#[inline]
pub fn resched_wanted() -> bool {
    percpu::need_resched()
}

/// Called on the way back to ring 3: switches away if the timer asked for it.
pub fn preempt_point() {
    if here().need_resched.load(Ordering::Relaxed) {
        schedule();
    }
}

/// The idle loop: runs ready threads, halts when there are none. Never returns.
///
/// Runs holding the kernel lock (see [`crate::smp`]) except while halted.
pub fn idle_loop() -> ! {
    loop {
        let runnable = SCHED.lock(cpu_index()).run.has_work_for(cpu_index());
        if runnable {
            schedule();
            continue;
        }
        // An OOM kill left by an allocation that could not run the killer (under the
        // scheduler lock, say) waits for a return to ring 3, which may never come if every
        // thread is blocked: here too no spin lock is held, and the kernel lock is.
        crate::oom::run_deferred();
        if SCHED.lock(cpu_index()).run.has_work_for(cpu_index()) {
            continue;
        }
        crate::smp::unlock();
        crate::idle_clock::halt();
        crate::smp::lock_from_idle();
    }
}
