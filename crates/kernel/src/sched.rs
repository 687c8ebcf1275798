//! The scheduler: which thread runs, blocking and waking, sleeping, and the timer interrupt.
//!
//! One CPU for now. The kernel is not preemptible: it runs with interrupts off, and a thread
//! only leaves the CPU when it blocks, exits, yields, or is preempted on its way back to ring 3
//! (a timer interrupt there sets `need_resched`). The run queue is FIFO with a 10 ms time
//! slice; the timer is one-shot and armed for the earliest of the next sleeper's deadline and
//! the end of the slice when another thread waits for the CPU (tickless otherwise). With
//! nothing to run, the idle loop halts until an interrupt.
//!
//! The data structures (run queue, timer queue, futex table) are oxv-sched's; this module owns
//! the single instance and the hardware (APIC timer, context switch).

use crate::arch::{apic, context, cpu, percpu};
use crate::thread::{State, Thread, ThreadRef, Wake};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use oxv_sched::futex::FutexTable;
use oxv_sched::timer::{TimerId, TimerQueue};
use spin::Mutex;

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
    current: Option<ThreadRef>,
    idle: Option<ThreadRef>,
    run: VecDeque<ThreadRef>,
    timers: TimerQueue<TimerEvent>,
    /// Futex waiters, keyed by user address (one address space).
    pub futexes: FutexTable<ThreadRef>,
    /// Every live thread of the app, by tid.
    threads: BTreeMap<i32, ThreadRef>,
    /// Exited threads whose stacks are freed after the next switch.
    dead: Vec<ThreadRef>,
    slice_end: u64,
}

static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    current: None,
    idle: None,
    run: VecDeque::new(),
    timers: TimerQueue::new(),
    futexes: FutexTable::new(),
    threads: BTreeMap::new(),
    dead: Vec::new(),
    slice_end: 0,
});

static NEED_RESCHED: AtomicBool = AtomicBool::new(false);

/// The running thread, for the hot paths that only read it (no lock, no reference count).
/// Always equal to `SCHED.current`, which keeps it alive while it runs.
static RUNNING: AtomicPtr<Thread> = AtomicPtr::new(core::ptr::null_mut());

/// Runs `f` on the running thread without taking the scheduler lock.
pub fn with_running<R>(f: impl FnOnce(&Thread) -> R) -> R {
    let t = RUNNING.load(Ordering::Relaxed);
    assert!(!t.is_null(), "sched::init runs before any thread");
    // SAFETY: `RUNNING` points at the thread on the CPU, which `SCHED.current` keeps alive
    // until the scheduler has switched away from it; the caller is that thread, so it cannot
    // be freed while `f` runs (a thread that exits never returns to its caller).
    f(unsafe { &*t })
}

/// TSC value when the running thread got the CPU.
static SWITCHED_AT: AtomicU64 = AtomicU64::new(0);

/// Charges the time since the last switch to `prev` and its process, as it leaves the CPU
/// (the idle thread's time is nobody's).
fn charge(prev: &Thread) {
    let t = cpu::rdtsc();
    let ran = t.saturating_sub(SWITCHED_AT.swap(t, Ordering::Relaxed));
    if let Some(p) = prev.process_opt() {
        prev.cpu_ticks.fetch_add(ran, Ordering::Relaxed);
        p.cpu_ticks.fetch_add(ran, Ordering::Relaxed);
    }
}

/// Ticks the running app thread has used since it got the CPU (0 when idle runs).
fn running_ticks(current: &Thread) -> u64 {
    if current.is_idle() {
        0
    } else {
        cpu::rdtsc().saturating_sub(SWITCHED_AT.load(Ordering::Relaxed))
    }
}

/// CPU time process `p` has used, in ns: its threads' time on the CPU, live or exited
/// (`CLOCK_PROCESS_CPUTIME_ID`, getrusage, times, the CPU-time interval timers). Time in
/// the kernel on its behalf counts; idle time does not.
pub fn process_cpu_ns(p: &crate::process::Process) -> u64 {
    let mut ticks = p.cpu_ticks.load(Ordering::Relaxed);
    with_running(|t| {
        if t.process_opt()
            .is_some_and(|q| core::ptr::eq(q.as_ref(), p))
        {
            ticks += running_ticks(t);
        }
    });
    crate::time::clock().ticks_to_ns(ticks)
}

/// CPU time thread `t` has used, in ns (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns(t: &ThreadRef) -> u64 {
    let mut ticks = t.cpu_ticks.load(Ordering::Relaxed);
    if *t == current() {
        ticks += running_ticks(t);
    }
    crate::time::clock().ticks_to_ns(ticks)
}

fn now() -> u64 {
    crate::time::monotonic_ns()
}

/// Makes the code running now (the boot path) the idle thread.
pub fn init() {
    let idle = ThreadRef(Arc::new(Thread::idle()));
    SWITCHED_AT.store(cpu::rdtsc(), Ordering::Relaxed);
    let mut s = SCHED.lock();
    RUNNING.store(Arc::as_ptr(&idle.0).cast_mut(), Ordering::Relaxed);
    s.current = Some(idle.clone());
    s.idle = Some(idle);
}

/// Adds a new thread of the app and makes it runnable.
pub fn spawn(t: ThreadRef) {
    let mut s = SCHED.lock();
    s.threads.insert(t.tid, t.clone());
    t.set_state(State::Ready);
    s.run.push_back(t);
}

/// The running thread.
pub fn current() -> ThreadRef {
    SCHED
        .lock()
        .current
        .clone()
        .expect("sched::init runs before any thread")
}

/// Runs `f` with the scheduler locked (interrupts are off in the kernel).
pub fn with<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    f(&mut SCHED.lock())
}

impl Scheduler {
    /// Makes a blocked thread runnable with `why`; false if it was not blocked (already woken).
    pub fn wake(&mut self, t: &ThreadRef, why: Wake) -> bool {
        if t.state() != State::Blocked {
            return false;
        }
        t.set_wake(why);
        t.set_state(State::Ready);
        self.run.push_back(t.clone());
        true
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
        let mut deadline = self.timers.next_deadline();
        if !self.run.is_empty() {
            deadline = Some(deadline.map_or(self.slice_end, |d| d.min(self.slice_end)));
        }
        match deadline {
            Some(d) => apic::arm_oneshot(d.saturating_sub(now()).max(1000)),
            None => apic::disarm(),
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
        let mut s = SCHED.lock();
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
        SCHED.lock().timers.cancel(id);
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
    NEED_RESCHED.store(true, Ordering::Relaxed);
    schedule();
}

/// Switches to the next ready thread (or idle). The running thread goes back to the run queue
/// if it is still runnable. Returns when the calling thread is scheduled again.
pub fn schedule() {
    NEED_RESCHED.store(false, Ordering::Relaxed);
    let (prev_ctx, next_rsp, prev_user, next) = {
        let mut s = SCHED.lock();
        let prev = s.current.clone().expect("a thread always runs");
        if prev.state() == State::Running && !prev.is_idle() {
            prev.set_state(State::Ready);
            s.run.push_back(prev.clone());
        }
        let next = match s.run.pop_front() {
            Some(t) => t,
            None => s.idle.clone().expect("sched::init created idle"),
        };
        next.set_state(State::Running);
        RUNNING.store(Arc::as_ptr(&next.0).cast_mut(), Ordering::Relaxed);
        s.current = Some(next.clone());
        s.slice_end = now() + TIME_SLICE_NS;
        s.arm_timer();
        if prev == next {
            return;
        }
        charge(&prev);
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
            // SAFETY: `root` is the page-table root of the thread's live address space (the
            // thread's process keeps it alive); every user address space maps the kernel.
            unsafe { cpu::set_cr3(root) };
        }
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
    let dead = core::mem::take(&mut SCHED.lock().dead);
    drop(dead);
}

/// Ends the running thread (exit(2) of a thread that is not the last).
pub fn exit_current() -> ! {
    {
        let mut s = SCHED.lock();
        let me = s.current.clone().expect("a thread always runs");
        me.set_state(State::Dead);
        s.threads.remove(&me.tid);
        s.dead.push(me);
    }
    schedule();
    unreachable!("a dead thread is never scheduled again");
}

/// Arms an app timer to expire at `deadline` (monotonic ns); returns its id for cancelling.
pub fn add_app_timer(deadline: u64, what: crate::timers::Expiry) -> TimerId {
    let mut s = SCHED.lock();
    let id = s.timers.insert(deadline, TimerEvent::App(what));
    s.arm_timer();
    id
}

/// Cancels an app timer armed with [`add_app_timer`] (no effect if it already fired).
pub fn cancel_app_timer(id: TimerId) {
    SCHED.lock().timers.cancel(id);
}

/// The timer interrupt: wakes sleepers whose deadline passed, fires app timers, and asks
/// for a reschedule when the running thread's slice is over and another is ready.
pub fn timer_interrupt() {
    apic::eoi();
    let mut fired = Vec::new();
    {
        let mut s = SCHED.lock();
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
        if !s.run.is_empty()
            && (t >= s.slice_end || s.current.as_ref().is_some_and(|c| c.is_idle()))
        {
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
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
    NEED_RESCHED.load(Ordering::Relaxed)
}

/// Called on the way back to ring 3: switches away if the timer asked for it.
pub fn preempt_point() {
    if NEED_RESCHED.load(Ordering::Relaxed) {
        schedule();
    }
}

/// The idle loop: runs ready threads, halts when there are none. Never returns.
pub fn idle_loop() -> ! {
    loop {
        let runnable = !SCHED.lock().run.is_empty();
        if runnable {
            schedule();
            continue;
        }
        // SAFETY: `sti; hlt` is atomic with respect to interrupts (sti takes effect after the
        // next instruction), so a wake-up interrupt cannot slip in before the halt; interrupts
        // are off again before the scheduler lock is taken.
        unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
    }
}
