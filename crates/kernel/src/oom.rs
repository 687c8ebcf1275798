//! The out-of-memory killer: when neither the kernel heap nor a user page can get memory
//! after reclaim, the process holding the most memory is killed with `SIGKILL`, as Linux's
//! `mm/oom_kill.c` does, and one line on the console (the VM's stderr) says so:
//!
//! ```text
//! oxv: Out of memory: Killed process 7 (app) total-vm:81920kB, anon-rss:78000kB, file-rss:0kB, shmem-rss:0kB, pgtables:180kB
//! ```
//!
//! The victim is the live process with the largest resident set plus page tables (Linux's
//! `oom_badness` without `oom_score_adj`, which oxv does not keep). While a victim is still
//! dying, no other process is killed: its memory is about to come back (Linux waits for the
//! victim the same way). The victim's user memory is unmapped at once (Linux's OOM reaper,
//! see [`reap`]) when its address space is not busy, so the caller that ran out finds frames
//! on its retry; else it comes back when the victim's last thread is gone, and the heap
//! bridges the gap with its emergency reserve (see `oxv_mm::heap`). A victim that neither
//! dies nor can be reaped for a while (it waits where `SIGKILL` does not reach, as a
//! vfork(2) parent does) is given up on and the next largest process is chosen (Linux's
//! `MMF_OOM_SKIP`).
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
//! Not here: `oom_score_adj`, memory cgroups, and a kernel thread to run the killer from: it
//! runs in whatever context ran out, so it must not be reached with the scheduler or
//! process-table lock held (a heap allocation under those locks that also finds the reserve
//! needed would deadlock).

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
/// gives up waiting and chooses another (Linux's `MMF_OOM_SKIP` once its reaper gave up):
/// it may be blocked where `SIGKILL` does not reach it (a vfork(2) parent waits for its
/// child, which shares the memory).
const VICTIM_PATIENCE_NS: u64 = 50_000_000;
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
    if KILLING.swap(true, Ordering::Acquire) {
        return Outcome::Nothing;
    }
    let outcome = choose_and_kill();
    KILLING.store(false, Ordering::Release);
    outcome
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
    let info = SigInfo::from_process(sig.number() as i32, code::SI_KERNEL, 0, 0);
    let _ = crate::signal::raise_on_process(&victim, sig, info);
    report(&victim, &f);
    reap(&victim);
    Outcome::Killed { pid: victim.pid }
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
/// it soon) or shared (a vfork(2) child and its parent). The victim never runs user code
/// again: `SIGKILL` is pending, and a kernel access to its memory meanwhile is `EFAULT`.
fn reap(victim: &Process) {
    let mm = {
        let life = victim.life.lock();
        // Exiting: its threads are already tearing the address space down (the slot may
        // hold a placeholder by now).
        if *life != LifeState::Alive {
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
    if space.resident_pages() > 0 {
        process::with_platform(|plat| space.unmap_all(plat));
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
