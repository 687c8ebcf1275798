//! Switching between threads: kernel stacks, the switch itself, and the app's FPU state.
//!
//! Every thread has its own kernel stack. A switch is a function call: `oxv_switch` pushes the
//! callee-saved registers on the old stack, saves its stack pointer, loads the new one and
//! pops. A thread that has never run has a stack prepared to "return" into
//! `oxv_thread_start`, which leaves to ring 3 through the common trap-return path with the
//! [`TrapFrame`] its creator wrote at the top of the stack.
//!
//! The kernel never touches x87/SSE/AVX registers (it is built soft-float), so they hold the
//! running thread's user state at all times; a switch saves the old thread's with XSAVE (or
//! FXSAVE) and restores the new one's.

use super::trap::TrapFrame;
use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use core::arch::{asm, global_asm};
use core::mem::size_of;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

global_asm!(
    r#"
    .section .text.oxv_switch, "ax", @progbits
    .p2align 4
    .global oxv_switch
oxv_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

    .global oxv_thread_start
oxv_thread_start:
    call oxv_thread_first_run
    jmp oxv_trap_return
    "#
);

// SAFETY: the switch and thread-start stubs are defined by the global_asm! above with these
// signatures (System V ABI).
unsafe extern "C" {
    fn oxv_switch(prev_rsp: *mut u64, next_rsp: u64);
    fn oxv_thread_start();
}

#[unsafe(no_mangle)]
extern "C" fn oxv_thread_first_run() {
    crate::sched::after_switch();
    // A new thread goes straight to ring 3: it gives up the kernel lock its CPU held
    // through the switch (see `crate::smp`).
    crate::smp::unlock();
}

/// Saves the running thread's callee-saved registers and stack pointer into `*prev_rsp` and
/// resumes the thread whose saved stack pointer is `next_rsp`.
///
/// # Safety
/// Interrupts are off; `next_rsp` was saved by this function (or built by
/// [`prepare_new_stack`]) for a thread that is not running, on a stack that is alive; no
/// lock is held that the next thread may need.
pub unsafe fn switch(prev_rsp: *mut u64, next_rsp: u64) {
    // SAFETY: per the caller's contract.
    unsafe { oxv_switch(prev_rsp, next_rsp) }
}

/// Writes `frame` at the top of a fresh kernel stack, below it a switch frame that returns
/// into `oxv_thread_start`; returns the stack pointer to give [`switch`].
///
/// # Safety
/// `stack_top` is the 16-byte aligned top of a kernel stack of at least 4 KiB that nothing
/// else uses.
pub unsafe fn prepare_new_stack(stack_top: u64, frame: &TrapFrame) -> u64 {
    let frame_at = stack_top - size_of::<TrapFrame>() as u64;
    // Six callee-saved registers (zero: rbp = 0 ends backtraces) and the return address.
    let rsp = frame_at - 7 * 8;
    // SAFETY: all of it lies inside the caller's fresh stack.
    unsafe {
        (frame_at as *mut TrapFrame).write(*frame);
        let slots = rsp as *mut u64;
        for i in 0..6 {
            slots.add(i).write(0);
        }
        slots.add(6).write(oxv_thread_start as *const () as u64);
    }
    rsp
}

static XSAVE_SIZE: AtomicUsize = AtomicUsize::new(512);
static XCR0: AtomicU64 = AtomicU64::new(0);
static MXCSR_MASK: AtomicU64 = AtomicU64::new(0xffbf);
static INIT_STATE: spin::Once<FpuState> = spin::Once::new();

/// Records the XSAVE layout (call once at boot, after XCR0 is set and before any app code
/// runs, so the registers hold their initial state; `xcr0 == 0` means FXSAVE).
pub fn init_fpu(xcr0: u64) {
    XCR0.store(xcr0, Ordering::Relaxed);
    if xcr0 != 0 {
        let size = super::cpu::cpuid(0xd, 0).ebx as usize;
        XSAVE_SIZE.store(size.max(576), Ordering::Relaxed);
    }
    if let Some(init) = FpuState::capture() {
        // The FXSAVE image's MXCSR_MASK (0 means the architectural default 0xffbf).
        let mask = u32::from_le_bytes(init.bytes()[28..32].try_into().expect("4 bytes"));
        if mask != 0 {
            MXCSR_MASK.store(mask as u64, Ordering::Relaxed);
        }
        INIT_STATE.call_once(|| init);
    }
}

/// Bytes of the XSAVE (or FXSAVE) image.
pub fn fpu_state_size() -> usize {
    XSAVE_SIZE.load(Ordering::Relaxed)
}

/// The XSAVE features enabled (0 with FXSAVE).
pub fn xcr0() -> u64 {
    XCR0.load(Ordering::Relaxed)
}

/// Puts this CPU's x87/SSE/AVX registers in their initial state (what a signal handler
/// starts with).
pub fn reset_fpu() {
    if let Some(init) = INIT_STATE.get() {
        init.restore();
    }
}

/// The unmasked floating-point exceptions pending in this CPU's registers, in the bit layout
/// the x87 status word and MXCSR share (invalid 0x1, denormal 0x2, divide 0x4, overflow
/// 0x8, underflow 0x10, precision 0x20): `simd` reads MXCSR (for #XM), else the x87 status
/// and control words (for #MF). The registers hold the app's state: the kernel does not use
/// floating point.
pub fn unmasked_fp_exceptions(simd: bool) -> u32 {
    if simd {
        let mut mxcsr: u32 = 0;
        // SAFETY: stmxcsr stores 4 bytes to the local; SSE is enabled at boot.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack, preserves_flags)) };
        mxcsr & !(mxcsr >> 7) & 0x3f
    } else {
        let (mut status, mut control): (u16, u16) = (0, 0);
        // SAFETY: fnstsw/fnstcw store 2 bytes each to the locals and change no state.
        unsafe {
            asm!("fnstsw [{}]", "fnstcw [{}]", in(reg) &mut status, in(reg) &mut control,
                 options(nostack, preserves_flags))
        };
        u32::from(status & !control) & 0x3f
    }
}

/// One thread's x87/SSE/AVX registers, saved while it does not run.
pub struct FpuState {
    area: *mut u8,
    layout: Layout,
}

// SAFETY: the area is owned memory, only touched by the CPU switching the thread.
unsafe impl Send for FpuState {}
// SAFETY: as above; shared references never access the area.
unsafe impl Sync for FpuState {}

impl FpuState {
    /// A copy of the registers as they are now on this CPU (a new thread inherits its
    /// creator's, as with clone(2)). `None` when out of memory.
    pub fn capture() -> Option<FpuState> {
        let layout = Layout::from_size_align(XSAVE_SIZE.load(Ordering::Relaxed), 64).ok()?;
        // SAFETY: the layout has a non-zero size.
        let area = unsafe { alloc_zeroed(layout) };
        if area.is_null() {
            return None;
        }
        let s = FpuState { area, layout };
        s.save();
        Some(s)
    }

    /// The saved image.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `area` is a live allocation of `layout.size()` bytes owned by `self`.
        unsafe { core::slice::from_raw_parts(self.area, self.layout.size()) }
    }

    /// Replaces the image with `image` (an app-supplied signal frame's FPU state), made safe to
    /// load: reserved MXCSR bits cleared, the XSAVE header limited to enabled features in the
    /// standard format, so that restoring it cannot fault in the kernel.
    ///
    /// Only the CPU running the thread calls this, with no slice from [`FpuState::bytes`] alive.
    pub fn load_sanitized(&self, image: &[u8]) {
        // SAFETY: `area` is a live allocation of `layout.size()` bytes owned by `self`; only the
        // thread's own CPU touches it (on its way to or from ring 3), and no other reference
        // to it exists while this runs (see above).
        let area = unsafe { core::slice::from_raw_parts_mut(self.area, self.layout.size()) };
        let n = image.len().min(area.len());
        area[..n].copy_from_slice(&image[..n]);
        area[n..].fill(0);
        let mask = MXCSR_MASK.load(Ordering::Relaxed) as u32;
        let mxcsr = u32::from_le_bytes(area[24..28].try_into().expect("4 bytes")) & mask;
        area[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        let xcr0 = XCR0.load(Ordering::Relaxed);
        if xcr0 != 0 && area.len() >= 576 {
            let bv = u64::from_le_bytes(area[512..520].try_into().expect("8 bytes")) & xcr0;
            area[512..520].copy_from_slice(&bv.to_le_bytes());
            area[520..576].fill(0); // XCOMP_BV (standard format) and the reserved header
        }
    }

    /// Saves this CPU's registers into the area.
    pub fn save(&self) {
        let xcr0 = XCR0.load(Ordering::Relaxed);
        // SAFETY: `area` is 64-byte aligned and XSAVE_SIZE long (the size CPUID gives for the
        // enabled components); XSAVE/FXSAVE only write it.
        unsafe {
            if xcr0 != 0 {
                asm!("xsave64 [{}]", in(reg) self.area, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                asm!("fxsave64 [{}]", in(reg) self.area, options(nostack));
            }
        }
    }

    /// Loads the area into this CPU's registers.
    pub fn restore(&self) {
        let xcr0 = XCR0.load(Ordering::Relaxed);
        // SAFETY: the area holds a valid image written by `save` (or zeros: for XRSTOR an
        // all-zero XSTATE_BV means the init state, which is valid).
        unsafe {
            if xcr0 != 0 {
                asm!("xrstor64 [{}]", in(reg) self.area, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                asm!("fxrstor64 [{}]", in(reg) self.area, options(nostack));
            }
        }
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        // SAFETY: allocated in `capture` with this layout.
        unsafe { dealloc(self.area, self.layout) }
    }
}
