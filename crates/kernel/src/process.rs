//! Processes: the process table, what each process owns, and how processes end.
//!
//! A [`Process`] is a thread group (Linux's `signal_struct` plus the parts of `task_struct`
//! its threads share): an address space, open files, root/cwd/umask, signal dispositions and
//! the process-directed pending queue, limits, timers, CPU time, and its family (parent,
//! children, process group, session). Its threads (`crate::thread`) hold it by `Arc`; the
//! process table holds every process that has not been reaped.
//!
//! Life and death, as Linux does it:
//! - The first process (pid 1) is the app; its exit status (or the signal that killed it)
//!   ends the VM, whatever its descendants are doing.
//! - A process ends when its last thread exits, or when one thread calls exit_group(2) or
//!   dies of a signal: the other threads are killed ([`Thread::killed`], acted on at their
//!   next return to ring 3). The last thread out releases the address space and the files,
//!   gives the children to pid 1, and leaves a zombie with its wait status for the parent,
//!   which gets its exit signal (`SIGCHLD`) — or, if the parent ignores `SIGCHLD` or set
//!   `SA_NOCLDWAIT`, is reaped at once.
//!
//! Locking: the parts are locked separately. The address space's lock sleeps (a page fault
//! may wait for a disk) and is never held across a copy to or from user memory; the family
//! lock and the table lock are spin locks held for a few instructions, table before family.

use crate::arch::trap::TrapFrame;
use crate::arch::user_pt::{DirectMapBytes, LocalTlb, UserPageTable};
use crate::mem::KernelFrames;
use crate::sched;
use crate::sync::{ArcSleepGuard, SleepMutex};
use crate::thread::{Thread, ThreadRef, Wake};
use crate::trap::Access;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use oxv_abi::linux::signal::Signal;
use oxv_mm::{AddressSpace, FrameSource, PhysAddr, PhysFrame, Platform};
use oxv_sched::rlimit::Rlimits;
use oxv_sched::signal::{SigActions, SigQueue};
use oxv_vfs::{FdTable, FsContext};
use spin::Mutex;

/// An address space that frees its pages and page tables when the last user lets go.
pub struct UserSpace(Option<AddressSpace<UserPageTable>>);

impl UserSpace {
    /// Wraps `aspace`.
    pub fn new(aspace: AddressSpace<UserPageTable>) -> UserSpace {
        UserSpace(Some(aspace))
    }

    /// The page-table root to load into CR3 to run in this address space.
    pub fn root(&self) -> u64 {
        self.page_table().root().0
    }
}

impl Deref for UserSpace {
    type Target = AddressSpace<UserPageTable>;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("only Drop takes the address space")
    }
}

impl DerefMut for UserSpace {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("only Drop takes the address space")
    }
}

impl Drop for UserSpace {
    fn drop(&mut self) {
        let Some(aspace) = self.0.take() else { return };
        let root = aspace.page_table().root();
        if crate::arch::cpu::cr3() == root.0 {
            // The CPU still runs on these tables (the last thread of the process is exiting
            // on them, or the idle thread kept them): leave them before they are freed.
            crate::smp::load_root(0);
        }
        with_platform(|plat| {
            aspace.teardown(plat);
        });
        if let Some(frame) = PhysFrame::from_start_address(PhysAddr::new(root.0)) {
            let _ = KernelFrames.release(frame);
        }
    }
}

/// A shareable, sleeping-locked address space.
pub type Mm = Arc<SleepMutex<UserSpace>>;

/// The address space every ended process holds in place of its own, which it gives up at
/// its exit: one real, empty address space shared by them all, made at the first exit.
/// Zombies stay in the process table, and the walks over every process's address space
/// (truncation unmapping a file's pages from all of them, `/proc/meminfo`) must find an
/// address space there, with nothing in it, rather than a released one.
static ENDED_SPACE: Mutex<Option<Mm>> = Mutex::new(None);

fn ended_space() -> Mm {
    if let Some(mm) = ENDED_SPACE.lock().as_ref() {
        return mm.clone();
    }
    let Some(pt) = UserPageTable::new(crate::mem::kernel_page_table(), &mut KernelFrames) else {
        // No frame for it: a placeholder without tables (what Deref refuses) until an
        // exit finds one.
        return Arc::new(SleepMutex::new(UserSpace(None)));
    };
    let config = crate::exec::aspace_config(crate::exec::stack_top());
    let mm = Arc::new(SleepMutex::new(UserSpace::new(AddressSpace::new(
        pt, config,
    ))));
    // (Another exit may have made one meanwhile: the loser's is freed when `mm` drops.)
    ENDED_SPACE.lock().get_or_insert(mm).clone()
}

/// The address space a process runs in: replaced by execve(2), shared with a vfork(2) child
/// until it execs.
pub struct MmSlot(Mutex<Mm>);

impl MmSlot {
    /// A slot holding `mm`.
    pub fn new(mm: Mm) -> MmSlot {
        MmSlot(Mutex::new(mm))
    }

    /// Locks the address space (sleeping if another thread holds it).
    pub fn lock(&self) -> ArcSleepGuard<UserSpace> {
        let mm = self.0.lock().clone();
        SleepMutex::lock_arc(&mm)
    }

    /// The address space itself.
    pub fn get(&self) -> Mm {
        self.0.lock().clone()
    }

    /// Puts `mm` in place of the current address space, which is returned.
    pub fn replace(&self, mm: Mm) -> Mm {
        core::mem::replace(&mut *self.0.lock(), mm)
    }
}

/// How a process ended, as wait(2) reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(2) or exit_group(2) with this status (low 8 bits kept).
    Exited(i32),
    /// Killed by this signal.
    Killed(Signal),
}

impl ExitStatus {
    /// The status word wait4(2) writes (`WIFEXITED`/`WIFSIGNALED` encoding).
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => (code & 0xff) << 8,
            ExitStatus::Killed(sig) => sig.number() as i32,
        }
    }
}

/// A process's place among the others (its parent is [`Process::ppid`]).
pub struct Family {
    /// Process group id.
    pub pgid: i32,
    /// Session id.
    pub sid: i32,
    /// Children not yet reaped, by pid.
    pub children: BTreeMap<i32, Arc<Process>>,
    /// Whether this process has called execve(2) (setpgid on a child that did is `EACCES`).
    pub did_exec: bool,
}

/// What a process's life looks like from its parent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LifeState {
    /// Running (at least one thread alive).
    Alive,
    /// Exiting: its threads are being killed.
    Exiting(ExitStatus),
    /// Dead, waiting for its parent to reap it.
    Zombie(ExitStatus),
}

/// A process. See the [module docs](self).
pub struct Process {
    /// Process id (the thread-group id; also the tid of its first thread).
    pub pid: i32,
    /// The address space.
    pub mm: MmSlot,
    /// Root, cwd, umask (shared with `CLONE_FS` children).
    pub fs: Arc<FsContext>,
    /// Open files (shared with `CLONE_FILES` children).
    pub files: Arc<FdTable>,
    /// Signal dispositions (shared by the threads; masks are per thread).
    pub actions: Mutex<SigActions>,
    /// Signals sent to the process (kill, sigqueue, timers) and not yet taken: whichever
    /// thread does not block one takes it.
    pub shared_signals: Mutex<SigQueue>,
    /// Whether `shared_signals` is non-empty (updated under its lock): the cheap check on
    /// every return to ring 3.
    pub shared_pending: AtomicBool,
    /// Resource limits.
    pub limits: Mutex<Rlimits>,
    /// The thread name (prctl PR_SET_NAME), NUL-padded.
    pub comm: Mutex<[u8; 16]>,
    /// The executable's path and argv (NUL-separated), for /proc.
    pub image: Mutex<ImageInfo>,
    /// The parent's pid (0 for pid 1); changes when the parent dies (to pid 1).
    pub ppid: AtomicI32,
    /// Group, session and children.
    pub family: Mutex<Family>,
    /// Alive, exiting or a zombie.
    pub life: Mutex<LifeState>,
    /// The signal the parent gets when this process ends (`SIGCHLD` unless clone said
    /// otherwise; `None` for none).
    pub exit_signal: Option<Signal>,
    /// Live threads.
    pub threads: AtomicUsize,
    /// CPU time (TSC ticks) used by threads that exited, and by the others up to their last
    /// switch away.
    pub cpu_ticks: AtomicU64,
    /// CPU time of reaped children (getrusage `RUSAGE_CHILDREN`, times' `cutime`).
    pub children_cpu_ticks: AtomicU64,
    /// Threads blocked in wait4/waitid for a child to change state.
    pub child_waiters: Mutex<Vec<ThreadRef>>,
    /// The parent thread a vfork(2) child releases when it execs or exits.
    pub vfork_parent: Mutex<Option<ThreadRef>>,
    /// The process's interval and POSIX timers.
    pub timers: Mutex<crate::timers::Timers>,
    /// Stopped by a stop signal (`crate::jobctl`).
    pub stopped: AtomicBool,
    /// A stop or continue not yet reported to the parent's wait.
    pub child_event: Mutex<Option<crate::jobctl::ChildEvent>>,
}

/// What /proc shows about the program a process runs.
#[derive(Clone, Debug, Default)]
pub struct ImageInfo {
    /// The executable's absolute path.
    pub exe: Vec<u8>,
    /// argv, each followed by a NUL.
    pub cmdline: Vec<u8>,
    /// The environment it was started with, NUL-separated, NUL-terminated (`/proc/<pid>/environ`).
    pub environ: Vec<u8>,
}

/// Every process not yet reaped, by pid.
static TABLE: Mutex<BTreeMap<i32, Arc<Process>>> = Mutex::new(BTreeMap::new());

/// The pid of the app's first process, whose end ends the VM.
pub const INIT_PID: i32 = 1;

/// Adds `p` to the process table.
pub fn register(p: Arc<Process>) {
    TABLE.lock().insert(p.pid, p);
}

/// The process with id `pid`, unless it was reaped.
pub fn lookup(pid: i32) -> Option<Arc<Process>> {
    TABLE.lock().get(&pid).cloned()
}

/// Whether the process table is locked now, by this CPU or another: the OOM killer, which
/// walks it, cannot run inside an allocation made under that lock (the heap runs the killer
/// from inside the allocation, and the lock is not reentrant).
pub fn table_busy() -> bool {
    TABLE.is_locked()
}

/// Every process not yet reaped.
pub fn all() -> Vec<Arc<Process>> {
    TABLE.lock().values().cloned().collect()
}

/// How many processes exist (zombies included), for `RLIMIT_NPROC`.
pub fn count() -> usize {
    TABLE.lock().len()
}

/// The running thread's process.
pub fn current() -> Arc<Process> {
    sched::with_running(|t| t.process().clone())
}

/// Runs `f` with the platform seams oxv-mm needs.
pub fn with_platform<R>(f: impl FnOnce(&mut Platform<'_>) -> R) -> R {
    let mut frames = KernelFrames;
    let mut plat = Platform {
        frames: &mut frames,
        bytes: &DirectMapBytes,
        tlb: &LocalTlb,
    };
    f(&mut plat)
}

/// Resolves a page fault at `addr` for the running thread; `Err` with the signal and
/// `si_code` when the access is invalid there.
///
/// When no frame is left and the OOM killer chose another process, the thread waits for the
/// victim's memory (it may have to exit first) and retries, and is killed only if that does
/// not help (Linux's `pagefault_out_of_memory`, see `oom::fault_out_of_memory`). It may
/// sleep, as any fault of a file mapping already does on the disk, so the kernel's own
/// accesses to user memory (which come here too) must not hold a spin lock either.
pub fn resolve_fault(addr: u64, access: Access) -> Result<(), (Signal, i32)> {
    let segv = (Signal::SIGSEGV, oxv_abi::linux::sigframe::code::SEGV_MAPERR);
    let Some(p) = sched::with_running(|t| t.process_opt().cloned()) else {
        return Err(segv);
    };
    let access = match access {
        Access::Read => oxv_mm::Access::Read,
        Access::Write => oxv_mm::Access::Write,
        Access::Execute => oxv_mm::Access::Execute,
    };
    let mut retries = 0;
    loop {
        let result = {
            let mut mm = p.mm.lock();
            with_platform(|plat| mm.handle_fault(addr, access, plat))
        };
        match result {
            // Another process was chosen to die: retry once its memory is back (see
            // `oom::fault_out_of_memory`), a bounded number of times.
            Err(e)
                if e.kind == oxv_mm::FaultKind::OutOfMemory
                    && retries < OOM_FAULT_RETRIES
                    && crate::oom::fault_out_of_memory(&p) =>
            {
                retries += 1;
            }
            result => {
                return result.map_err(|e| {
                    let sig = Signal::new(e.signal()).unwrap_or(Signal::SIGSEGV);
                    (sig, e.si_code())
                });
            }
        }
    }
}

/// How many times a user fault that found no frame is retried after the OOM killer chose
/// another process (each after a short wait for the victim's memory) before the faulting
/// process is killed itself: 1.5 s in all, enough for a victim that must first exit, and
/// for the killer to give up on one that does not (`oom::VICTIM_PATIENCE_NS`, 1 s) and
/// choose another.
const OOM_FAULT_RETRIES: u32 = 150;

impl Process {
    /// The threads of this process that are alive.
    pub fn thread_list(&self) -> Vec<ThreadRef> {
        sched::with(|s| {
            s.threads()
                .filter(|t| core::ptr::eq(t.process().as_ref(), self))
                .cloned()
                .collect()
        })
    }

    /// Wakes the threads waiting in wait4/waitid for a child.
    pub fn wake_child_waiters(&self) {
        let waiters = core::mem::take(&mut *self.child_waiters.lock());
        if !waiters.is_empty() {
            sched::with(|s| {
                for t in &waiters {
                    s.wake(t, Wake::Event);
                }
            });
        }
    }

    /// The parent process (pid 1 has none; an orphan's parent is pid 1).
    pub fn parent(&self) -> Option<Arc<Process>> {
        lookup(self.ppid.load(Ordering::Acquire))
    }
}

/// Starts the end of the running thread's process with `status` (exit_group(2) or a fatal
/// signal): every other thread is told to die; the calling thread then exits. Never
/// returns. Pid 1's end ends the VM at once.
pub fn exit_group(status: ExitStatus) -> ! {
    let p = current();
    {
        let mut life = p.life.lock();
        if *life == LifeState::Alive {
            *life = LifeState::Exiting(status);
        }
    }
    if p.pid == INIT_PID {
        end_vm(p.life_status().unwrap_or(status));
    }
    let me = sched::current();
    for t in p.thread_list() {
        if t != me {
            kill_thread(&t);
        }
    }
    drop(me);
    drop(p);
    crate::syscall::thread::exit_thread()
}

/// Tells thread `t` to die at its next return to ring 3, waking it if it waits.
pub fn kill_thread(t: &ThreadRef) {
    t.killed.store(true, Ordering::Release);
    sched::with(|s| {
        s.wake(t, Wake::Signal);
    });
    // It may be in ring 3 on another CPU: it dies on its next kernel exit.
    crate::smp::kick_busy_cpus();
}

/// Kills process `p` with `sig` from outside (the OOM killer), as Linux's group exit on a
/// fatal signal: its status is settled now (`Killed(sig)`, whatever its threads meet on
/// their way out, a fault included) and every thread is told to die ([`kill_thread`]).
/// Does nothing to a process already exiting. Pid 1's end still ends the VM, once its last
/// thread is gone.
pub fn kill_process(p: &Process, sig: Signal) {
    {
        let mut life = p.life.lock();
        if *life != LifeState::Alive {
            return;
        }
        *life = LifeState::Exiting(ExitStatus::Killed(sig));
    }
    for t in p.thread_list() {
        kill_thread(&t);
    }
}

impl Process {
    /// The status the process is exiting or exited with, if it is.
    pub fn life_status(&self) -> Option<ExitStatus> {
        match *self.life.lock() {
            LifeState::Alive => None,
            LifeState::Exiting(s) | LifeState::Zombie(s) => Some(s),
        }
    }
}

/// The last thread of `p` is gone (called by that thread, still on its stack): the process
/// becomes a zombie for its parent, or is reaped at once.
pub fn last_thread_gone(p: &Arc<Process>, exit_code: i32) {
    let status = {
        let mut life = p.life.lock();
        let status = match *life {
            LifeState::Exiting(s) => s,
            _ => ExitStatus::Exited(exit_code),
        };
        *life = LifeState::Exiting(status);
        status
    };
    if p.pid == INIT_PID {
        end_vm(status);
    }
    release_vfork_parent(p);
    // Its timers die with it; its memory and files go when the last reference does (a vfork
    // parent or a CLONE_FILES sibling may share them), but its own references go now.
    p.timers.lock().clear();
    drop(p.mm.replace(ended_space()));
    for fd in p.files.fds() {
        if Arc::strong_count(&p.files) == 1 {
            let _ = p.files.remove(fd);
        }
    }
    // The children go to pid 1, zombies included (pid 1 reaps them, or they stay until the
    // VM ends).
    let children = core::mem::take(&mut p.family.lock().children);
    if let Some(init) = lookup(INIT_PID) {
        let mut fam = init.family.lock();
        for (pid, child) in children {
            child.ppid.store(INIT_PID, Ordering::Release);
            fam.children.insert(pid, child);
        }
        drop(fam);
        init.wake_child_waiters();
    }
    *p.life.lock() = LifeState::Zombie(status);
    crate::syscall::pidfd::notify_exit();
    notify_parent(p, status);
}

/// Tells `p`'s parent that `p` ended: its exit signal, and a wake-up of its waiters. If the
/// parent ignores `SIGCHLD` (or set `SA_NOCLDWAIT`), `p` is reaped at once (POSIX's
/// automatic reaping).
fn notify_parent(p: &Arc<Process>, status: ExitStatus) {
    let Some(parent) = p.parent() else {
        reap(p);
        return;
    };
    let auto_reap = {
        let actions = parent.actions.lock();
        let act = actions.action(Signal::SIGCHLD);
        act.handler == oxv_abi::linux::signal::SIG_IGN
            || act.flags & oxv_abi::linux::signal::sa::NOCLDWAIT != 0
    };
    if let Some(sig) = p.exit_signal {
        let info = crate::signal::child_info(sig, p, status);
        let _ = crate::signal::raise_on_process(&parent, sig, info);
    }
    if auto_reap && p.exit_signal == Some(Signal::SIGCHLD) {
        parent.family.lock().children.remove(&p.pid);
        reap(p);
    }
    parent.wake_child_waiters();
}

/// Removes a dead process from the table: its pid is free again.
pub fn reap(p: &Process) {
    TABLE.lock().remove(&p.pid);
}

/// Lets the parent of a vfork(2) child run again (the child exec'd or ended).
pub fn release_vfork_parent(p: &Process) {
    if let Some(t) = p.vfork_parent.lock().take() {
        t.vfork_done.store(true, Ordering::Release);
        sched::with(|s| {
            s.wake(&t, Wake::Event);
        });
    }
}

/// Ends the VM with pid 1's status: its exit code, or 128 + the signal that killed it (also
/// used by boot when there is no app to run).
pub fn end_vm(status: ExitStatus) -> ! {
    // Like a clean shutdown: what the app sent reaches its peers, and what it wrote to
    // disk file systems reaches the disks.
    crate::net::flush_before_exit();
    crate::disks::sync_all();
    match status {
        ExitStatus::Exited(code) => {
            if crate::console::verbose() {
                crate::coverage::for_each_unknown(|nr, count| {
                    let name = oxv_abi::Sysno::new(nr as usize).map_or("?", |s| s.name());
                    kprintln!(
                        "oxv: unimplemented syscall {nr} ({name}) called {count} times (ENOSYS)"
                    );
                });
            }
            record!("exit", "status={}", code & 0xff);
        }
        ExitStatus::Killed(sig) => {
            let (addr, rip) = *LAST_FAULT.lock();
            match addr {
                Some(a) => record!(
                    "killed",
                    "sig={} name={} addr={:#x} rip={:#x}",
                    sig.number(),
                    sig,
                    a,
                    rip
                ),
                None => record!("killed", "sig={} name={} rip={:#x}", sig.number(), sig, rip),
            }
        }
    }
    crate::arch::exit_vm(0)
}

/// The faulting address and instruction of the last fatal signal (for pid 1's report).
static LAST_FAULT: Mutex<(Option<u64>, u64)> = Mutex::new((None, 0));

/// Kills the running thread's process with a fatal signal (its default action, or a fault
/// nobody handles). Never returns.
pub fn kill(frame: &TrapFrame, sig: Signal, addr: Option<u64>) -> ! {
    if crate::console::verbose() {
        crate::trap::dump(frame, addr);
    }
    *LAST_FAULT.lock() = (addr, frame.rip);
    exit_group(ExitStatus::Killed(sig))
}

/// Ends the running thread's process with `exit_group(status)`.
pub fn exit(status: i32) -> ! {
    exit_group(ExitStatus::Exited(status & 0xff))
}

/// Whether `t` belongs to a process that is being torn down or told to die.
pub fn must_die(t: &Thread) -> bool {
    t.killed.load(Ordering::Acquire)
}

/// Whether the running thread is told to die (an OOM kill, a group exit): Linux's
/// `fatal_signal_pending` as oxv-vfs and oxv-net ask it, to stop a call that would go on
/// allocating for a process about to end. No lock (the unlocked socket calls ask it); `false`
/// with no app thread running (boot, the idle loop). A `SIGKILL` sent with kill(2) counts
/// once it is delivered, on the way back to ring 3.
pub fn current_must_die() -> bool {
    crate::arch::percpu::running() != 0 && sched::with_running(|t| !t.is_idle() && must_die(t))
}
