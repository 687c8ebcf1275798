//! Threads: a kernel stack, the saved context while switched out, and the per-thread parts of
//! the Linux process model (tid, signal mask and alternate stack, TLS base, `set_tid_address`
//! and robust-list pointers, x87/SSE/AVX state).
//!
//! A thread is shared as a [`ThreadRef`] (an `Arc` compared by identity). Its state machine:
//! `Ready` (in a CPU's run queue) → `Running` (on the CPU) → `Blocked` (waiting, with a
//! generation number that stale timeouts compare against) or `Dead` (kept until the scheduler
//! has switched away from its stack, then freed).

use crate::arch::context::FpuState;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use oxv_abi::linux::signal::SigSet;
use oxv_sched::signal::ThreadSignals;
use spin::Mutex;

/// Where a thread is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Waiting in the run queue.
    Ready = 0,
    /// On the CPU.
    Running = 1,
    /// Waiting for an event.
    Blocked = 2,
    /// Exited; its stack is freed once nothing runs on it.
    Dead = 3,
}

/// Why a blocked thread was woken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Wake {
    /// The event it waited for happened (a futex wake, input arrived).
    Event = 1,
    /// Its timeout expired.
    Timeout = 2,
    /// A signal arrived.
    Signal = 3,
}

/// A kernel stack: a block of frames seen through the direct map.
pub struct KernelStack {
    /// Highest address (exclusive), 16-byte aligned.
    pub top: u64,
    /// Size as a power-of-two number of pages.
    pub order: u8,
}

/// One thread.
pub struct Thread {
    /// Thread id (the process id for the first thread).
    pub tid: i32,
    /// The saved kernel stack pointer while switched out (written by the context switch).
    ctx: UnsafeCell<u64>,
    /// `None` for the idle thread, which runs on the boot stack.
    stack: Option<KernelStack>,
    /// `None` for the idle thread, which has no user state.
    pub fpu: Option<FpuState>,
    state: AtomicU8,
    wake: AtomicU8,
    /// Increments at every block; a timeout carries the value it was armed for.
    block_gen: AtomicU64,
    /// Signal mask, pending set, alternate stack.
    pub signals: Mutex<ThreadSignals>,
    /// FS base (TLS pointer) while switched out.
    pub fs_base: AtomicU64,
    /// User GS base while switched out.
    pub gs_base: AtomicU64,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: cleared and futex-woken at exit.
    pub clear_child_tid: AtomicU64,
    /// `set_robust_list` head.
    pub robust_list: AtomicU64,
    /// The process this thread belongs to (`None` for the idle thread).
    process: Option<Arc<crate::process::Process>>,
    /// The page-table root the thread runs on (its process's address space; 0 for the idle
    /// thread, which keeps whatever was loaded).
    pub cr3: AtomicU64,
    /// The thread must end at its next return to ring 3 (its process is exiting or exec'ing).
    pub killed: AtomicBool,
    /// A vfork(2) parent waits for this (set when the child exec'd or ended).
    pub vfork_done: AtomicBool,
    /// CPU time used (TSC ticks), up to the thread's last switch away.
    pub cpu_ticks: AtomicU64,
    /// Virtual run time in ns (see `oxv_sched::runqueue`): the CPU time it used, moved by
    /// the run queues when it joins one.
    pub vruntime: AtomicU64,
    /// The rseq(2) area registered (see `crate::rseq`); changed only by the thread itself.
    pub rseq: Mutex<Option<oxv_sched::rseq::Registration>>,
    /// Whether `rseq` holds a registration (read at every switch, without the lock).
    pub rseq_registered: AtomicBool,
    /// The thread was switched away (or just registered) since it last looked at its area.
    pub rseq_event: AtomicBool,
    /// The CPU last written into the rseq area's CPU fields.
    pub rseq_cpu: AtomicU32,
    /// Whether any signal is queued for this thread (updated under the `signals` lock): the
    /// cheap check on every return to ring 3.
    pub sig_pending: AtomicBool,
    /// The mask to restore after a handler when sigsuspend/ppoll swapped it in.
    pub saved_mask: Mutex<Option<SigSet>>,
    /// Signals a sigtimedwait(2) in this thread waits for (they wake it although blocked).
    pub sigwait_set: AtomicU64,
    /// The CPUs the thread may run on (bit n: CPU n), sched_setaffinity(2).
    pub affinity: AtomicU64,
    /// The CPU the thread last ran on ([`NO_CPU`] before it first runs): the scheduler
    /// prefers it when the thread wakes.
    pub last_cpu: AtomicU32,
}

/// [`Thread::last_cpu`] of a thread that has not run yet.
pub const NO_CPU: u32 = u32::MAX;

// SAFETY: `ctx` is only accessed by the scheduler, with interrupts off, for a thread that is
// not running on another CPU (the context switch writes the outgoing thread's, reads the
// incoming one's); every other field is atomic or locked.
unsafe impl Sync for Thread {}
// SAFETY: as above.
unsafe impl Send for Thread {}

impl Thread {
    /// A thread that will start by "returning" on `stack` at `initial_rsp` (see
    /// `arch::context::prepare_new_stack`).
    pub fn new(
        tid: i32,
        stack: KernelStack,
        initial_rsp: u64,
        fpu: FpuState,
        signals: ThreadSignals,
        process: Arc<crate::process::Process>,
        cr3: u64,
    ) -> Thread {
        Thread {
            process: Some(process),
            cr3: AtomicU64::new(cr3),
            killed: AtomicBool::new(false),
            vfork_done: AtomicBool::new(false),
            tid,
            ctx: UnsafeCell::new(initial_rsp),
            stack: Some(stack),
            fpu: Some(fpu),
            state: AtomicU8::new(State::Ready as u8),
            wake: AtomicU8::new(0),
            block_gen: AtomicU64::new(0),
            signals: Mutex::new(signals),
            fs_base: AtomicU64::new(0),
            gs_base: AtomicU64::new(0),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            cpu_ticks: AtomicU64::new(0),
            vruntime: AtomicU64::new(0),
            rseq: Mutex::new(None),
            rseq_registered: AtomicBool::new(false),
            rseq_event: AtomicBool::new(false),
            rseq_cpu: AtomicU32::new(crate::rseq::NOT_WRITTEN),
            sig_pending: AtomicBool::new(false),
            saved_mask: Mutex::new(None),
            sigwait_set: AtomicU64::new(0),
            affinity: AtomicU64::new(u64::MAX),
            last_cpu: AtomicU32::new(NO_CPU),
        }
    }

    /// The idle thread: whatever runs on the boot stack when nothing else can.
    pub fn idle() -> Thread {
        Thread {
            process: None,
            cr3: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            vfork_done: AtomicBool::new(false),
            tid: 0,
            ctx: UnsafeCell::new(0),
            stack: None,
            fpu: None,
            state: AtomicU8::new(State::Running as u8),
            wake: AtomicU8::new(0),
            block_gen: AtomicU64::new(0),
            signals: Mutex::new(ThreadSignals::new()),
            fs_base: AtomicU64::new(0),
            gs_base: AtomicU64::new(0),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            cpu_ticks: AtomicU64::new(0),
            vruntime: AtomicU64::new(0),
            rseq: Mutex::new(None),
            rseq_registered: AtomicBool::new(false),
            rseq_event: AtomicBool::new(false),
            rseq_cpu: AtomicU32::new(crate::rseq::NOT_WRITTEN),
            sig_pending: AtomicBool::new(false),
            saved_mask: Mutex::new(None),
            sigwait_set: AtomicU64::new(0),
            affinity: AtomicU64::new(u64::MAX),
            last_cpu: AtomicU32::new(NO_CPU),
        }
    }

    /// The thread's process.
    ///
    /// # Panics
    /// For the idle thread, which has none.
    pub fn process(&self) -> &Arc<crate::process::Process> {
        self.process
            .as_ref()
            .expect("only app threads are asked for their process")
    }

    /// The thread's process, `None` for the idle thread.
    pub fn process_opt(&self) -> Option<&Arc<crate::process::Process>> {
        self.process.as_ref()
    }

    /// Whether this is the idle thread.
    pub fn is_idle(&self) -> bool {
        self.stack.is_none()
    }

    /// The top of the thread's kernel stack (where traps from ring 3 land).
    pub fn kernel_stack_top(&self) -> Option<u64> {
        self.stack.as_ref().map(|s| s.top)
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Ready,
            1 => State::Running,
            2 => State::Blocked,
            _ => State::Dead,
        }
    }

    /// Sets the state (the scheduler's lock orders these changes).
    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// Marks the thread blocked for a new wait and returns the wait's generation.
    pub fn begin_block(&self) -> u64 {
        self.wake.store(0, Ordering::Relaxed);
        self.set_state(State::Blocked);
        self.block_gen.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The generation of the current (or last) wait.
    pub fn block_generation(&self) -> u64 {
        self.block_gen.load(Ordering::Acquire)
    }

    /// Records why the thread was woken.
    pub fn set_wake(&self, w: Wake) {
        self.wake.store(w as u8, Ordering::Release);
    }

    /// Why the thread was last woken.
    pub fn wake_reason(&self) -> Wake {
        match self.wake.load(Ordering::Acquire) {
            2 => Wake::Timeout,
            3 => Wake::Signal,
            _ => Wake::Event,
        }
    }

    /// The saved-context slot, for the context switch.
    pub fn ctx_ptr(&self) -> *mut u64 {
        self.ctx.get()
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if let Some(s) = self.stack.take() {
            crate::mem::free_kernel_stack(s.top, s.order);
        }
    }
}

/// A shared handle on a thread, equal only to handles on the same thread.
#[derive(Clone)]
pub struct ThreadRef(pub Arc<Thread>);

impl PartialEq for ThreadRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl core::ops::Deref for ThreadRef {
    type Target = Thread;
    fn deref(&self) -> &Thread {
        &self.0
    }
}
