//! Per-CPU data, reached through the GS base.
//!
//! While a CPU runs kernel code, GS points at its [`PerCpu`]; while it runs the app, the app's
//! GS base is live and ours waits in `KERNEL_GS_BASE` (`swapgs` exchanges them on every entry
//! from and exit to ring 3). The syscall entry stub uses the first fields at fixed offsets,
//! which the asserts below pin.

use super::cpu::{msr, wrmsr};
use super::gdt::{Gdt, Tss};
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use oxv_mm::FrameCache;

/// The most CPUs the kernel runs on (the width of the affinity masks it reports).
pub const MAX_CPUS: usize = 64;

/// A CPU's scheduling and cross-CPU state: what other CPUs read or signal through. All
/// atomics, because other CPUs look at them.
#[derive(Default)]
pub struct CpuShared {
    /// The thread on this CPU (a `*const Thread`, kept alive by the scheduler).
    pub running: AtomicUsize,
    /// The timer (or another CPU) asked this CPU to reschedule before returning to ring 3.
    pub need_resched: AtomicBool,
    /// TSC when the running thread got this CPU.
    pub switched_at: AtomicU64,
    /// Monotonic ns when the running thread's time slice began.
    pub slice_start: AtomicU64,
    /// Monotonic ns when the running thread's time slice ends (brought forward by wake-up
    /// preemption).
    pub slice_end: AtomicU64,
    /// Whether this CPU runs its idle thread.
    pub idle: AtomicBool,
    /// The user page-table root loaded here (0: only the kernel's), for TLB shootdowns.
    pub user_root: AtomicU64,
    /// A TLB flush was asked of this CPU and not done yet.
    pub tlb_pending: AtomicBool,
    /// This CPU spins for the kernel lock (and flushes its TLB once it has it).
    pub waiting_kernel_lock: AtomicBool,
    /// This CPU holds the kernel lock.
    pub holds_kernel_lock: AtomicBool,
}

/// One CPU's private state.
#[repr(C, align(64))]
pub struct PerCpu {
    /// This structure's own address (`gs:[0]`), so Rust code can find it.
    pub self_ptr: u64,
    /// Top of the running thread's kernel stack (`gs:[8]`), loaded by the syscall entry.
    pub kernel_rsp: u64,
    /// Scratch slot for the app's rsp during syscall entry (`gs:[16]`).
    pub user_rsp: u64,
    /// Logical CPU number.
    pub cpu_id: u64,
    /// This CPU's TSS.
    pub tss: Tss,
    /// This CPU's GDT.
    pub gdt: Gdt,
    /// This CPU's local APIC id (IPIs are addressed with it).
    pub apic_id: AtomicU32,
    /// Scheduling and cross-CPU state.
    pub shared: CpuShared,
    /// This CPU's stash of free frames (see `crate::mem::KernelFrames`). Only this CPU
    /// touches it, with interrupts disabled, so no lock is needed.
    pub frame_cache: UnsafeCell<FrameCache>,
}

/// `gs:` offset of [`PerCpu::kernel_rsp`].
pub const KERNEL_RSP_OFFSET: usize = 8;
/// `gs:` offset of [`PerCpu::user_rsp`].
pub const USER_RSP_OFFSET: usize = 16;
const _: () = assert!(offset_of!(PerCpu, kernel_rsp) == KERNEL_RSP_OFFSET);
const _: () = assert!(offset_of!(PerCpu, user_rsp) == USER_RSP_OFFSET);

const IST_STACK: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK]; 2]);

static mut BSP: PerCpu = PerCpu {
    self_ptr: 0,
    kernel_rsp: 0,
    user_rsp: 0,
    cpu_id: 0,
    tss: unsafe_zeroed_tss(),
    gdt: Gdt([0; 7]),
    apic_id: AtomicU32::new(0),
    shared: CpuShared {
        running: AtomicUsize::new(0),
        need_resched: AtomicBool::new(false),
        switched_at: AtomicU64::new(0),
        slice_start: AtomicU64::new(0),
        slice_end: AtomicU64::new(0),
        idle: AtomicBool::new(false),
        user_root: AtomicU64::new(0),
        tlb_pending: AtomicBool::new(false),
        waiting_kernel_lock: AtomicBool::new(false),
        holds_kernel_lock: AtomicBool::new(false),
    },
    frame_cache: UnsafeCell::new(FrameCache::new()),
};
static mut BSP_IST: IstStacks = IstStacks([[0; IST_STACK]; 2]);

const fn unsafe_zeroed_tss() -> Tss {
    // SAFETY: Tss is plain integers; all-zero is a valid (empty) TSS.
    unsafe { core::mem::zeroed() }
}

/// Sets up the boot CPU: its GDT and TSS (with IST stacks for double faults and NMIs) and
/// the GS base. Call once, before the IDT is loaded.
pub fn init_bsp() {
    // SAFETY: runs once on the boot CPU before anything else touches BSP or BSP_IST; the
    // statics live forever, as `Gdt::load` requires; we only take raw addresses.
    unsafe {
        let pc = &mut *core::ptr::addr_of_mut!(BSP);
        let ist = core::ptr::addr_of_mut!(BSP_IST) as u64;
        pc.self_ptr = pc as *mut PerCpu as u64;
        pc.tss.ist[(super::gdt::IST_DOUBLE_FAULT - 1) as usize] = ist + IST_STACK as u64;
        pc.tss.ist[(super::gdt::IST_NMI - 1) as usize] = ist + 2 * IST_STACK as u64;
        pc.gdt = Gdt::new(&pc.tss);
        let pc: &'static PerCpu = &*(pc as *const PerCpu);
        pc.gdt.load();
        wrmsr(msr::GS_BASE, pc.self_ptr);
        wrmsr(msr::KERNEL_GS_BASE, 0);
        CPUS[0].store(pc as *const PerCpu as *mut PerCpu, Ordering::Release);
    }
    ONLINE.store(1, Ordering::Release);
}

/// Every CPU's data by logical number (null until that CPU is set up).
static CPUS: [AtomicPtr<PerCpu>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// How many CPUs run kernel code (numbered 0..ONLINE).
static ONLINE: AtomicUsize = AtomicUsize::new(0);

/// How many CPUs are online.
#[inline]
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// The data of CPU `n`, if it is online.
pub fn cpu(n: usize) -> Option<&'static PerCpu> {
    let p = CPUS.get(n)?.load(Ordering::Acquire);
    // SAFETY: entries are only ever set to leaked (or static) PerCpu blocks, which live
    // forever.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Runs `f` on another CPU's frame cache, to count it. The caller holds the kernel lock
/// (see `crate::smp`): a CPU only touches its cache in kernel code, so that CPU is not
/// changing it meanwhile.
pub fn with_frame_cache_of<R>(pc: &PerCpu, f: impl FnOnce(&FrameCache) -> R) -> R {
    // SAFETY: per the contract above, no CPU writes this cache while `f` reads it, and the
    // reference does not outlive `f`.
    f(unsafe { &*pc.frame_cache.get() })
}

/// Builds the per-CPU block of AP number `cpu_id` (run on the boot CPU): its TSS with the
/// two IST stacks whose tops are given, and its GDT. The AP loads it with [`load_ap`].
pub fn new_ap(cpu_id: usize, apic_id: u32, ist_double_fault: u64, ist_nmi: u64) -> &'static PerCpu {
    let mut pc = Box::new(PerCpu {
        self_ptr: 0,
        kernel_rsp: 0,
        user_rsp: 0,
        cpu_id: cpu_id as u64,
        tss: Tss::default(),
        gdt: Gdt([0; 7]),
        apic_id: AtomicU32::new(apic_id),
        shared: CpuShared::default(),
        frame_cache: UnsafeCell::new(FrameCache::new()),
    });
    pc.tss.ist[(super::gdt::IST_DOUBLE_FAULT - 1) as usize] = ist_double_fault;
    pc.tss.ist[(super::gdt::IST_NMI - 1) as usize] = ist_nmi;
    let pc = Box::leak(pc);
    pc.self_ptr = pc as *mut PerCpu as u64;
    pc.gdt = Gdt::new(&pc.tss);
    pc
}

/// Loads the running AP's GDT, TSS and GS base from `pc` (built by [`new_ap`]) and counts
/// the CPU online. APs come online in order, one at a time.
pub fn load_ap(pc: &'static PerCpu) {
    // SAFETY: `pc` is leaked, so its GDT and TSS live forever as `Gdt::load` requires; this
    // CPU is the only one that loads them (a TSS is per CPU); GS_BASE then points at it.
    unsafe {
        pc.gdt.load();
        wrmsr(msr::GS_BASE, pc.self_ptr);
        wrmsr(msr::KERNEL_GS_BASE, 0);
    }
    let n = pc.cpu_id as usize;
    CPUS[n].store(pc as *const PerCpu as *mut PerCpu, Ordering::Release);
    ONLINE.fetch_max(n + 1, Ordering::AcqRel);
}

/// This CPU's data.
pub fn this_cpu() -> &'static PerCpu {
    let p: u64;
    // SAFETY: GS points at this CPU's PerCpu whenever kernel code runs (set in init_bsp,
    // swapped back on every entry from ring 3).
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags));
        &*(p as *const PerCpu)
    }
}

/// `gs:` offset of this CPU's running-thread pointer.
const RUNNING_OFFSET: usize = offset_of!(PerCpu, shared) + offset_of!(CpuShared, running);
/// `gs:` offset of this CPU's need-resched flag.
const NEED_RESCHED_OFFSET: usize = offset_of!(PerCpu, shared) + offset_of!(CpuShared, need_resched);

/// This CPU's running thread pointer ([`CpuShared::running`]) in one GS-relative load: the
/// system-call path reads it several times.
#[inline(always)]
pub fn running() -> usize {
    let v: usize;
    // SAFETY: GS points at this CPU's PerCpu whenever kernel code runs (see `this_cpu`); the
    // offset is that of an AtomicUsize inside it, and an aligned 8-byte load is atomic.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) v, off = const RUNNING_OFFSET,
                         options(nostack, readonly, preserves_flags))
    };
    v
}

/// This CPU's [`CpuShared::need_resched`] in one GS-relative load (checked on every return
/// to ring 3).
#[inline(always)]
pub fn need_resched() -> bool {
    let v: u8;
    // SAFETY: as in `running`: the offset is that of an AtomicBool inside this CPU's PerCpu.
    unsafe {
        core::arch::asm!("mov {}, byte ptr gs:[{off}]", out(reg_byte) v,
                         off = const NEED_RESCHED_OFFSET, options(nostack, readonly, preserves_flags))
    };
    v != 0
}

/// Sets the kernel stack used on the next entry from ring 3 (syscall and traps).
pub fn set_kernel_stack(top: u64) {
    let p = this_cpu() as *const PerCpu as *mut PerCpu;
    // SAFETY: only this CPU writes its own PerCpu, with interrupts off (callers switch
    // threads or start the first one); the fields are plain integers.
    unsafe {
        (*p).kernel_rsp = top;
        (*p).tss.rsp0 = top;
    }
}
