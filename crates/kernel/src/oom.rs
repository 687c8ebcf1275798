//! The out-of-memory killer: when neither the kernel heap nor a user page can get memory
//! after reclaim, the process holding the most memory is killed with `SIGKILL`, as Linux's
//! `mm/oom_kill.c` does, and one line on the console (the VM's stderr) says so:
//!
//! ```text
//! oxv: Out of memory: Killed process 7 (app) total-vm:81920kB, anon-rss:78000kB, file-rss:0kB, shmem-rss:0kB, pgtables:180kB
//! oxv: Mem-Info: free:420kB total:126976kB kernel-heap:2304kB files:1024kB kernel-stack:96kB
//! ```
//!
//! The victim is the live process with the largest resident set plus page tables (Linux's
//! `oom_badness` without `oom_score_adj`, which oxv does not keep). While a victim is still
//! dying, no other process is killed: its memory is about to come back (Linux waits for the
//! victim the same way). The victim's user memory is unmapped at once (Linux's OOM reaper,
//! see [`reap`]) when its address space is not busy, so the caller that ran out finds frames
//! on its retry; else it comes back when the victim's last thread is gone, and the heap
//! bridges the gap with its emergency reserve (see `oxv_mm::heap`). A victim that neither
//! dies nor can be reaped for a while (it waits where the kill does not reach) is given up
//! on and the next largest process is chosen (Linux's `MMF_OOM_SKIP`). A victim that died
//! without giving its memory back (a vfork(2) child shares it) is no longer waited for:
//! the next kill frees it.
//!
//! An address space locked by its owner (the faulting process holds its own while the fault
//! asks for a frame) cannot be measured; it is credited with what RAM holds that neither
//! the other processes nor the kernel account for, an upper bound of its size.
//!
//! A user fault that still finds no frame does not kill the faulting process unless it is
//! the victim: [`fault_out_of_memory`] lets it wait for the victim's memory (when it could
//! not be reaped at once: its address space was busy or shared, or it was already exiting)
//! and retry, as Linux's `pagefault_out_of_memory` does.
//!
//! The kill is a group exit decided at once (Linux's `SIGNAL_GROUP_EXIT`): the victim's
//! status becomes `SIGKILL` and each of its threads is told to die, so whatever a thread
//! meets on its way out (a fault on memory the reaper took) cannot change how the process
//! ended. The reaper never takes the memory from under a thread in ring 3: it first waits
//! (briefly, after a kick) until no thread of the victim runs app code on another CPU; if
//! one still does, the reap is left to a later call or to the victim's exit. So a victim
//! never runs an instruction of its own once its memory is gone.
//!
//! The reaper needs the SMP kernel lock: a call running without it (a socket data call,
//! see `crate::smp`) that runs out only chooses and kills the victim, and leaves the reap
//! to its own return to ring 3, which takes the lock ([`run_deferred`]). An allocation made
//! under the process table's lock (which the killer takes), or while this CPU holds the
//! scheduler lock (the kill wakes the victim's threads, which takes it:
//! `sched::locked_here`), leaves the whole kill to that point.
//!
//! A victim that just died may already have given back what the caller ran short of (its
//! exit ran on another CPU between the caller's failure and this call): then no one else is
//! killed (Linux's last allocation attempt under `oom_lock`).
//!
//! A call that goes on allocating after its own process was killed (a send that queues
//! buffer after buffer, a large tmpfs write) would drain the reserve while the kill cannot
//! free the memory (it is the kernel heap the call filled, or the reap waits for the call's
//! return): oxv-vfs and oxv-net stop such loops when the caller has a fatal signal pending
//! (`Blocker::fatal_signal_pending`, `FileMemory::fatal_signal_pending`, Linux's
//! `fatal_signal_pending`), and their large buffers are allocated fallibly (`ENOBUFS`,
//! `ENOMEM`). An allocation that the reserve cannot serve (spent, or smaller than the
//! request) calls the killer too, and is retried once (`oxv_mm::heap`); the kernel runs it
//! only with less than a 64th of RAM free (`mem::FramePressure`). A reserve spent on a
//! victim whose memory was heap is armed again only by a later growth that succeeds (the
//! heap never sets it aside from its own free memory).
//!
//! Not here: `oom_score_adj`, memory cgroups, and a kernel thread to run the killer from: it
//! runs in whatever context ran out, and defers itself where it cannot run (above).

use crate::process::{self, LifeState, Process};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::Signal;
use spin::Mutex;

/// Set while a CPU runs the killer: another CPU that runs out meanwhile waits for the
/// outcome instead of choosing a second victim.
static KILLING: AtomicBool = AtomicBool::new(false);
/// The pid of the last victim (0: none), to wait for rather than kill again while it dies.
static VICTIM: AtomicI32 = AtomicI32::new(0);
/// When the last victim was killed (monotonic ns).
static VICTIM_AT: AtomicU64 = AtomicU64::new(0);
/// How long a victim whose memory could not be reaped may take to die before the killer
/// gives up waiting and chooses another (Linux's `MMF_OOM_SKIP` once its reaper gave up,
/// after a second): it may be blocked where the kill does not reach it. One second, as
/// Linux, not less: a victim killed in its own fault still has to run to exit, and the
/// host may not run its vCPU for tens of milliseconds (50 ms was too short: on a busy host
/// the killer gave up on a victim about to exit and killed a small bystander as well).
const VICTIM_PATIENCE_NS: u64 = 1_000_000_000;
/// Victims given up on (see [`VICTIM_PATIENCE_NS`]), still alive: never chosen again. A
/// fixed array: the killer runs when the heap is short.
static SKIPPED: Mutex<[i32; 8]> = Mutex::new([0; 8]);

/// What the killer did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Killed this process (or found it already dying from an earlier kill).
    Killed {
        /// Its pid.
        pid: i32,
    },
    /// Nothing to kill: no live process (boot), or another CPU is choosing.
    Nothing,
    /// No kill needed: an earlier victim died since and its memory is back.
    Recovered,
}

/// The memory of one candidate, in pages.
#[derive(Copy, Clone, Default)]
struct Footprint {
    total_vm: u64,
    anon: u64,
    file: u64,
    shmem: u64,
    page_tables: u64,
    /// Whether the figures were measured (else: estimated, its address space was busy).
    measured: bool,
}

impl Footprint {
    fn badness(&self) -> u64 {
        self.anon + self.file + self.shmem + self.page_tables
    }
}

/// Kills the process with the largest footprint (see the [module docs](self)), unless a
/// victim of an earlier call is still dying.
pub fn kill_largest() -> Outcome {
    if process::table_busy() || crate::sched::locked_here() {
        // An allocation made under the process table's lock (the killer walks the table) or
        // under the scheduler lock on this CPU (the kill wakes the victim's threads): the
        // kill waits for this CPU's next return to ring 3, or its idle loop (every thread
        // may be blocked), where no spin lock is held. The allocation was served from the
        // heap's reserve meanwhile.
        KILL_DEFERRED.store(true, Ordering::Release);
        ask_for_return_work();
        return Outcome::Nothing;
    }
    let unlocked = crate::smp::active() && !crate::smp::holds_lock();
    if unlocked {
        // A call without the kernel lock (it may hold spin locks): the victim is chosen and
        // told to die now, so that its memory comes back as soon as its threads exit (on
        // other CPUs), but the reaper's shootdown and its look at the other CPUs need the
        // lock: this CPU's next return to ring 3 takes it and reaps.
        REAP_DEFERRED.store(true, Ordering::Release);
        ask_for_return_work();
    }
    if KILLING.swap(true, Ordering::Acquire) {
        return Outcome::Nothing;
    }
    if !unlocked {
        REAP_DEFERRED.store(false, Ordering::Relaxed);
    }
    let outcome = choose_and_kill();
    KILLING.store(false, Ordering::Release);
    outcome
}

/// A reap left by a call that ran without the kernel lock, not done yet.
static REAP_DEFERRED: AtomicBool = AtomicBool::new(false);
/// A kill left by an allocation made under the process table's lock, not done yet.
static KILL_DEFERRED: AtomicBool = AtomicBool::new(false);

/// Makes this CPU's next return to ring 3 take the slow path (under the kernel lock), which
/// calls [`run_deferred`]: a reschedule request does that.
fn ask_for_return_work() {
    crate::arch::percpu::this_cpu()
        .shared
        .need_resched
        .store(true, Ordering::Relaxed);
}

/// On the way back to ring 3 or in the idle loop before it halts, under the kernel lock and
/// with no spin lock held: the kill or the reap that [`kill_largest`] could not do where it
/// was called.
#[inline]
pub fn run_deferred() {
    if KILL_DEFERRED.swap(false, Ordering::AcqRel) {
        kill_largest();
    }
    if !REAP_DEFERRED.load(Ordering::Acquire) || KILLING.swap(true, Ordering::Acquire) {
        return;
    }
    REAP_DEFERRED.store(false, Ordering::Relaxed);
    if let Some(p) = process::lookup(VICTIM.load(Ordering::Acquire)) {
        reap(&p);
    }
    KILLING.store(false, Ordering::Release);
}

/// How long a fault that ran out waits for the victim's memory before it retries (a few
/// scheduler ticks: the victim's threads must run to exit when it could not be reaped).
const FAULT_RETRY_WAIT_NS: u64 = 10_000_000;

/// A user page fault of `me` found no frame even after reclaim and the killer (which ran
/// inside the allocation, with `me`'s address space locked, so it could not measure `me`
/// nor always free the victim at once). As Linux's `pagefault_out_of_memory`: unless `me`
/// is the one being killed, the killer runs again now that the address space is unlocked
/// (it finds the victim still dying, reaps it if it can now, or chooses a new one once the
/// old one is dead), the thread waits a moment for the victim's memory, and the caller
/// retries the fault. Returns whether a retry is worth it (`false`: `me` is dying).
///
/// Sleeps: the caller holds no lock (the fault path, with its address space unlocked).
pub fn fault_out_of_memory(me: &Process) -> bool {
    let dying = || {
        VICTIM.load(Ordering::Acquire) == me.pid
            || *me.life.lock() != LifeState::Alive
            || crate::sched::current().killed.load(Ordering::Acquire)
    };
    if dying() {
        return false;
    }
    if let Outcome::Killed { pid } = kill_largest()
        && pid == me.pid
    {
        return false;
    }
    // A signal ends the wait early; the retry follows either way.
    let _ = crate::sched::sleep_until(crate::time::monotonic_ns() + FAULT_RETRY_WAIT_NS);
    !dying()
}

fn choose_and_kill() -> Outcome {
    let last = VICTIM.load(Ordering::Acquire);
    if last != 0
        && let Some(p) = process::lookup(last)
        && !matches!(*p.life.lock(), LifeState::Zombie(_))
    {
        // Its address space may have been busy the first time.
        reap(&p);
        let waited = crate::time::monotonic_ns().saturating_sub(VICTIM_AT.load(Ordering::Relaxed));
        if waited < VICTIM_PATIENCE_NS || !skip(last) {
            return Outcome::Killed { pid: last };
        }
    } else if last != 0 && memory_came_back() {
        return Outcome::Recovered;
    }
    let skipped = live_skipped();
    // A victim given up on may be free to die now (the last victim was what it waited
    // for): it gets the same patience from the last kill before anyone else is chosen.
    let since_kill = crate::time::monotonic_ns().saturating_sub(VICTIM_AT.load(Ordering::Relaxed));
    if since_kill < VICTIM_PATIENCE_NS {
        for &pid in skipped.iter().filter(|&&q| q != 0) {
            if let Some(p) = process::lookup(pid)
                && !matches!(*p.life.lock(), LifeState::Zombie(_))
            {
                reap(&p);
                return Outcome::Killed { pid };
            }
        }
    }
    let mut best: Option<(Arc<Process>, Footprint)> = None;
    let mut busy: Option<Arc<Process>> = None;
    let mut measured_pages = 0;
    // Before the scheduler runs a thread there is no process, and nothing to ask.
    let current = (crate::arch::percpu::running() != 0)
        .then(|| crate::sched::with_running(|t| t.process_opt().map(|p| p.pid)))
        .flatten();
    for p in process::all() {
        if skipped.contains(&p.pid) {
            continue;
        }
        let mm = {
            let life = p.life.lock();
            if *life != LifeState::Alive {
                // Dying already: its memory is on its way back (an exit, another kill).
                if matches!(*life, LifeState::Exiting(_)) {
                    return Outcome::Killed { pid: p.pid };
                }
                continue;
            }
            // Taken under the life lock: the address space of a live process is real (it is
            // swapped for a placeholder only once the process is exiting).
            p.mm.get()
        };
        let Some(space) = mm.try_lock() else {
            // Prefer the running process as the busy one: it holds its own address space
            // while it faults.
            if busy.is_none() || Some(p.pid) == current {
                busy = Some(p);
            }
            continue;
        };
        let u = space.memory_usage();
        let f = Footprint {
            total_vm: space.vmas().map(|v| v.len()).sum::<u64>() / 4096,
            anon: u.anon_pages,
            file: u.file_pages,
            shmem: u.shmem_pages,
            page_tables: u.page_table_frames,
            measured: true,
        };
        drop(space);
        measured_pages += f.badness();
        if best.as_ref().is_none_or(|(_, b)| f.badness() > b.badness()) {
            best = Some((p, f));
        }
    }
    if let Some(p) = busy {
        let (free, total) = crate::mem::frame_stats();
        let used = (total - free) as u64;
        let rest = used.saturating_sub(measured_pages + crate::mem::kernel_pages());
        let f = Footprint {
            anon: rest,
            ..Footprint::default()
        };
        if best.as_ref().is_none_or(|(_, b)| f.badness() > b.badness()) {
            best = Some((p, f));
        }
    }
    let Some((victim, f)) = best else {
        return Outcome::Nothing;
    };
    VICTIM_AT.store(crate::time::monotonic_ns(), Ordering::Relaxed);
    VICTIM.store(victim.pid, Ordering::Release);
    let sig = Signal::SIGKILL;
    // Its status is settled first: nothing a thread meets on its way out changes it.
    process::kill_process(&victim, sig);
    // The signal too: it continues a stopped victim (job control), as any SIGKILL does.
    let info = SigInfo::from_process(sig.number() as i32, code::SI_KERNEL, 0, 0);
    let _ = crate::signal::raise_on_process(&victim, sig, info);
    report(&victim, &f);
    reap(&victim);
    Outcome::Killed { pid: victim.pid }
}

/// How long after a kill a shortage may still be the one the victim's death ended.
const RECOVERY_WINDOW_NS: u64 = 1_000_000_000;

/// Whether the last victim, killed less than [`RECOVERY_WINDOW_NS`] ago and dead now, gave
/// back enough that the caller's shortage is over: at least a 64th of RAM free (what the
/// page cache leaves the kernel, `mem::PageCacheFrames`). The caller failed before the
/// victim's memory came back (its exit ran on another CPU meanwhile); killing another
/// process for it would be wrong (Linux retries the allocation under `oom_lock` before it
/// chooses a victim).
fn memory_came_back() -> bool {
    let since_kill = crate::time::monotonic_ns().saturating_sub(VICTIM_AT.load(Ordering::Relaxed));
    if since_kill >= RECOVERY_WINDOW_NS {
        return false;
    }
    let (free, total) = crate::mem::frame_stats();
    free >= (total / 64).max(64)
}

/// The victims given up on that are still alive; the others' entries are cleared (so that
/// a later process with a reused pid is a candidate again).
fn live_skipped() -> [i32; 8] {
    let mut skipped = SKIPPED.lock();
    for q in skipped.iter_mut().filter(|q| **q != 0) {
        if process::lookup(*q).is_none_or(|p| matches!(*p.life.lock(), LifeState::Zombie(_))) {
            *q = 0;
        }
    }
    *skipped
}

/// Gives up waiting for victim `pid` (see [`VICTIM_PATIENCE_NS`]); `false` if the list of
/// such victims is full of live ones (then the killer goes on waiting).
fn skip(pid: i32) -> bool {
    let mut skipped = SKIPPED.lock();
    let free = skipped.iter().position(|&q| {
        q == 0 || process::lookup(q).is_none_or(|p| matches!(*p.life.lock(), LifeState::Zombie(_)))
    });
    let Some(i) = free else {
        return false;
    };
    skipped[i] = pid;
    true
}

/// Frees the user memory of `victim`, told to die, now rather than when its last thread is
/// gone (Linux's OOM reaper): its threads may not run for a while (one CPU, and the kernel
/// that ran out is not preemptible), and the memory is what the caller is waiting for.
/// Skipped when the address space is busy (its owner is faulting or in mmap(2): it frees
/// it soon) or shared (a vfork(2) child and its parent), and while a thread of the victim
/// still runs app code on another CPU (see [`threads_out_of_ring3`]): the victim never runs
/// user code once its memory is gone. A kernel access to its memory meanwhile is `EFAULT`.
/// Needs the kernel lock (with several CPUs): it holds other CPUs' threads where they are.
fn reap(victim: &Process) {
    if crate::smp::active() && !crate::smp::holds_lock() {
        return;
    }
    let mm = {
        let life = victim.life.lock();
        // A zombie's slot holds a placeholder. No thread left: the last one is tearing the
        // address space down (the slot may hold a placeholder by now).
        if matches!(*life, LifeState::Zombie(_)) || victim.threads.load(Ordering::Acquire) == 0 {
            return;
        }
        victim.mm.get()
    };
    // The slot's reference and this one: no vfork child or parent shares it.
    if Arc::strong_count(&mm) > 2 {
        return;
    }
    let Some(mut space) = mm.try_lock() else {
        return;
    };
    if !threads_out_of_ring3(victim) {
        return;
    }
    if space.resident_pages() > 0 {
        process::with_platform(|plat| space.unmap_all(plat));
    }
}

/// How long [`threads_out_of_ring3`] waits for the victim's threads on other CPUs to enter
/// the kernel after a kick. An IPI takes microseconds, but the host may not run the other
/// vCPU for tens of milliseconds, and a reap given up on fails the allocation that is
/// waiting for it (fork(2) returns `ENOMEM`: 20 ms was too short on a busy host). A TLB
/// shootdown waits for such a vCPU without any limit; this wait has one only so that a
/// CPU that never answers cannot hang the killer.
const LEAVE_RING3_WAIT_NS: u64 = 500_000_000;

/// Makes sure no thread of `victim` runs in ring 3, or can return there: each is told to
/// die (a thread cloned after the kill too), and each running on another CPU is kicked and
/// waited for until that CPU waits for the kernel lock, which this CPU holds. A thread there
/// (or anywhere in the kernel, or off any CPU) leaves the kernel only through the
/// return-to-ring-3 checks, which end it (its `killed` flag, set here before the look). An
/// unlocked call ends the same way: it tests the flag on its way out, and a kick arrives as
/// soon as it turns interrupts on. `false` if one was still in ring 3 after
/// [`LEAVE_RING3_WAIT_NS`].
///
/// Called with the kernel lock held (or on one CPU): no other CPU switches threads
/// meanwhile, so each CPU's running thread stays what it is.
fn threads_out_of_ring3(victim: &Process) -> bool {
    let threads = victim.thread_list();
    for t in &threads {
        if !t.killed.load(Ordering::Acquire) {
            process::kill_thread(t);
        }
    }
    if !crate::smp::active() {
        return true;
    }
    let me = crate::arch::percpu::this_cpu().cpu_id as usize;
    let in_ring3 = |n: usize| {
        crate::arch::percpu::cpu(n).is_some_and(|c| {
            let running = c.shared.running.load(Ordering::Acquire);
            threads
                .iter()
                .any(|t| Arc::as_ptr(&t.0) as usize == running)
                && !c.shared.waiting_kernel_lock.load(Ordering::SeqCst)
        })
    };
    let online = crate::arch::percpu::online();
    for n in (0..online).filter(|&n| n != me && in_ring3(n)) {
        crate::smp::kick_cpu(n);
    }
    let deadline = crate::time::monotonic_ns() + LEAVE_RING3_WAIT_NS;
    loop {
        if !(0..online).any(|n| n != me && in_ring3(n)) {
            return true;
        }
        if crate::time::monotonic_ns() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
}

/// The console line, in Linux's words (`dump_header` aside). It goes to the VM's stderr,
/// where Linux's console would show it (the kernel log is only shown with `--verbose`),
/// formatted on the stack: the heap is short.
fn report(p: &Process, f: &Footprint) {
    use core::fmt::Write;
    let comm = *p.comm.lock();
    let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    let name = core::str::from_utf8(&comm[..len]).unwrap_or("?");
    let kb = |pages: u64| pages * 4;
    let mut line = LineBuf::default();
    let _ = if f.measured {
        writeln!(
            line,
            "oxv: Out of memory: Killed process {} ({name}) total-vm:{}kB, anon-rss:{}kB, \
             file-rss:{}kB, shmem-rss:{}kB, pgtables:{}kB",
            p.pid,
            kb(f.total_vm),
            kb(f.anon),
            kb(f.file),
            kb(f.shmem),
            kb(f.page_tables)
        )
    } else {
        // Its address space was locked (it was faulting): what RAM holds beyond the others
        // and the kernel is its size.
        writeln!(
            line,
            "oxv: Out of memory: Killed process {} ({name}) rss:~{}kB (estimated: it was \
             faulting)",
            p.pid,
            kb(f.anon)
        )
    };
    crate::console::write_stderr(line.as_bytes());
    // Where the rest of RAM is (Linux's `show_mem`, in one line): a victim much smaller
    // than RAM means the kernel or its files hold the memory.
    let m = crate::mem::kernel_memory();
    let mut line = LineBuf::default();
    let _ = writeln!(
        line,
        "oxv: Mem-Info: free:{}kB total:{}kB kernel-heap:{}kB files:{}kB kernel-stack:{}kB",
        m.free_kb, m.total_kb, m.heap_kb, m.files_kb, m.kernel_stack_kb
    );
    crate::console::write_stderr(line.as_bytes());
}

/// A line formatted on the stack (cut at its capacity).
struct LineBuf {
    bytes: [u8; 256],
    len: usize,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl LineBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
