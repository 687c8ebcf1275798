//! The app's process: its address space, files, signal state and limits, and the one place
//! that starts, kills and ends it.
//!
//! oxv runs one process (pid 1), with any number of threads (`crate::thread`). Its parts are
//! separately locked so
//! that a page fault (which locks the address space) can happen while a
//! syscall holds the file table, never the other way round: no lock on the address space is
//! held across a copy to or from user memory.

use crate::arch::trap::TrapFrame;
use crate::arch::user_pt::{DirectMapBytes, LocalTlb, UserPageTable};
use crate::mem::KernelFrames;
use crate::trap::Access;
use core::sync::atomic::AtomicBool;
use oxv_abi::linux::signal::Signal;
use oxv_mm::{AddressSpace, Platform};
use oxv_sched::rlimit::Rlimits;
use oxv_sched::signal::{SigActions, SigQueue};
use oxv_vfs::{FdTable, FsContext};
use spin::{Mutex, Once};

/// The app process.
pub struct Process {
    /// Process id (and thread id of its only thread).
    pub pid: i32,
    /// The address space.
    pub mm: Mutex<AddressSpace<UserPageTable>>,
    /// Root, cwd, umask.
    pub fs: FsContext,
    /// Open files.
    pub files: FdTable,
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
}

static CURRENT: Once<Process> = Once::new();

/// Installs the first process.
pub fn install(p: Process) -> &'static Process {
    CURRENT.call_once(|| p)
}

/// The running process.
pub fn current() -> &'static Process {
    CURRENT
        .get()
        .expect("a process runs before any syscall or user fault")
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

/// Resolves a page fault at `addr` for the app; `Err` with the signal and `si_code` when the
/// access is invalid there.
pub fn resolve_fault(addr: u64, access: Access) -> Result<(), (Signal, i32)> {
    let Some(p) = CURRENT.get() else {
        return Err((Signal::SIGSEGV, oxv_abi::linux::sigframe::code::SEGV_MAPERR));
    };
    let access = match access {
        Access::Read => oxv_mm::Access::Read,
        Access::Write => oxv_mm::Access::Write,
        Access::Execute => oxv_mm::Access::Execute,
    };
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.handle_fault(addr, access, plat)).map_err(|e| {
        let sig = Signal::new(e.signal()).unwrap_or(Signal::SIGSEGV);
        (sig, e.si_code())
    })
}

/// Kills the app with a fatal signal and ends the VM.
pub fn kill(frame: &TrapFrame, sig: Signal, addr: Option<u64>) -> ! {
    if crate::console::verbose() {
        crate::trap::dump(frame, addr);
    }
    match addr {
        Some(a) => record!(
            "killed",
            "sig={} name={} addr={:#x} rip={:#x}",
            sig.number(),
            sig,
            a,
            frame.rip
        ),
        None => record!(
            "killed",
            "sig={} name={} rip={:#x}",
            sig.number(),
            sig,
            frame.rip
        ),
    }
    crate::arch::exit_vm(0)
}

/// Ends the app with `exit_group(status)` and the VM with it.
pub fn exit(status: i32) -> ! {
    if crate::console::verbose() {
        crate::coverage::for_each_unknown(|nr, count| {
            let name = oxv_abi::Sysno::new(nr as usize).map_or("?", |s| s.name());
            kprintln!("oxv: unimplemented syscall {nr} ({name}) called {count} times (ENOSYS)");
        });
    }
    record!("exit", "status={}", status & 0xff);
    crate::arch::exit_vm(0)
}
