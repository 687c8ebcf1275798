//! Per-CPU data, reached through the GS base.
//!
//! While a CPU runs kernel code, GS points at its [`PerCpu`]; while it runs the app, the app's
//! GS base is live and ours waits in `KERNEL_GS_BASE` (`swapgs` exchanges them on every entry
//! from and exit to ring 3). The syscall entry stub uses the first fields at fixed offsets,
//! which the asserts below pin.

use super::cpu::{msr, wrmsr};
use super::gdt::{Gdt, Tss};
use core::cell::UnsafeCell;
use core::mem::offset_of;
use oxv_mm::FrameCache;

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
    }
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
