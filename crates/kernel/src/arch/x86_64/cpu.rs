//! CPU identification, control registers and the few privileged instructions the kernel uses.

use core::arch::asm;
use core::arch::x86_64::{__cpuid_count, _rdtsc, CpuidResult};

/// `cpuid` with a sub-leaf.
pub fn cpuid(leaf: u32, sub: u32) -> CpuidResult {
    // `cpuid` is available on every x86_64 CPU and has no side effects.
    __cpuid_count(leaf, sub)
}

/// The time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc is unprivileged here (CR4.TSD is clear) and has no side effects.
    unsafe { _rdtsc() }
}

/// Reads DR6, the debug status register (why the last #DB happened).
pub fn read_dr6() -> u64 {
    let v: u64;
    // SAFETY: reading a debug register in ring 0 has no side effects.
    unsafe { asm!("mov {}, dr6", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Reads a model-specific register.
pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: callers pass architectural MSRs that exist on every x86_64 CPU we boot on
    // (EFER, STAR, LSTAR, SFMASK, FS/GS bases); reading them has no side effects.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    ((hi as u64) << 32) | lo as u64
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must keep the kernel's invariants (e.g. EFER.LME set).
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller guarantees the MSR and value are valid.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack, preserves_flags))
    };
}

/// MSR numbers.
pub mod msr {
    /// Extended feature enables.
    pub const EFER: u32 = 0xc000_0080;
    /// Segment selectors for SYSCALL/SYSRET.
    pub const STAR: u32 = 0xc000_0081;
    /// SYSCALL entry point.
    pub const LSTAR: u32 = 0xc000_0082;
    /// RFLAGS bits cleared on SYSCALL.
    pub const SFMASK: u32 = 0xc000_0084;
    /// FS base (the app's TLS pointer).
    pub const FS_BASE: u32 = 0xc000_0100;
    /// GS base (active).
    pub const GS_BASE: u32 = 0xc000_0101;
    /// GS base swapped in by `swapgs`.
    pub const KERNEL_GS_BASE: u32 = 0xc000_0102;
}

/// Halts until the next interrupt.
pub fn halt() {
    // SAFETY: hlt only waits; with interrupts off it stops this CPU, which is the intent of
    // callers that loop forever.
    unsafe { asm!("hlt", options(nomem, nostack, preserves_flags)) };
}

/// Enables interrupts, halts until one arrives and has been handled, and disables them
/// again (the idle loop's wait).
pub fn idle_halt() {
    // SAFETY: `sti; hlt` is atomic with respect to interrupts (sti takes effect after the
    // next instruction), so a wake-up interrupt cannot slip in before the halt; interrupts
    // are off again when this returns, as kernel code expects.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}

/// The local APIC's task-priority class (CR8): interrupts whose vector's upper four bits
/// are at or below it stay pending.
pub fn task_priority() -> u8 {
    let v: u64;
    // SAFETY: reading CR8 has no side effects.
    unsafe { asm!("mov {}, cr8", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v as u8
}

/// Sets the task-priority class (see [`task_priority`]); masked interrupts stay pending in
/// the APIC and arrive once it is lowered again.
pub fn set_task_priority(class: u8) {
    // SAFETY: CR8 only filters which pending interrupts the APIC delivers to this CPU.
    unsafe {
        asm!("mov cr8, {}", in(reg) u64::from(class & 0xf), options(nomem, nostack, preserves_flags))
    };
}

/// Disables interrupts and halts forever.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: cli only masks interrupts on this CPU.
        unsafe { asm!("cli", options(nomem, nostack)) };
        halt();
    }
}

/// CR2: the address of the last page fault.
pub fn cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// CR3: the active top-level page table.
pub fn cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Loads CR3 (switches address space, flushes non-global TLB entries).
///
/// # Safety
/// `pml4` must be the physical address of a valid PML4 that maps the running kernel.
pub unsafe fn set_cr3(pml4: u64) {
    // SAFETY: the caller guarantees the new tables map the kernel identically.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) };
}

/// CR4.
pub fn cr4() -> u64 {
    let v: u64;
    // SAFETY: reading CR4 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Writes CR4.
///
/// # Safety
/// Each bit set must be supported by the CPU and consistent with the kernel's state.
pub unsafe fn set_cr4(v: u64) {
    // SAFETY: the caller checked CPUID for every bit it sets.
    unsafe { asm!("mov cr4, {}", in(reg) v, options(nostack, preserves_flags)) };
}

/// Invalidates the TLB entry for one page.
pub fn invlpg(addr: u64) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) addr, options(nostack, preserves_flags)) };
}

/// CPU features the kernel acts on, read once at boot.
#[derive(Copy, Clone, Debug, Default)]
pub struct Features {
    /// No-execute pages (EFER.NXE).
    pub nx: bool,
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// XSAVE and XGETBV/XSETBV.
    pub xsave: bool,
    /// AVX (needs XSAVE to enable).
    pub avx: bool,
    /// AVX-512 foundation.
    pub avx512: bool,
    /// RDRAND.
    pub rdrand: bool,
    /// RDSEED.
    pub rdseed: bool,
    /// Global pages.
    pub pge: bool,
    /// FSGSBASE instructions.
    pub fsgsbase: bool,
    /// Running under a hypervisor.
    pub hypervisor: bool,
    /// The hypervisor's signature ("TCGTCGTCGTCG", "KVMKVMKVM\0\0\0").
    pub hv_vendor: [u8; 12],
    /// CPUID.1 EDX (AT_HWCAP on x86_64).
    pub hwcap: u32,
}

impl Features {
    /// Reads CPUID.
    pub fn detect() -> Features {
        let l1 = cpuid(1, 0);
        let l7 = if cpuid(0, 0).eax >= 7 {
            cpuid(7, 0)
        } else {
            CpuidResult {
                eax: 0,
                ebx: 0,
                ecx: 0,
                edx: 0,
            }
        };
        let ext = cpuid(0x8000_0001, 0);
        let hypervisor = l1.ecx & (1 << 31) != 0;
        let mut hv_vendor = [0u8; 12];
        if hypervisor {
            let h = cpuid(0x4000_0000, 0);
            hv_vendor[0..4].copy_from_slice(&h.ebx.to_le_bytes());
            hv_vendor[4..8].copy_from_slice(&h.ecx.to_le_bytes());
            hv_vendor[8..12].copy_from_slice(&h.edx.to_le_bytes());
        }
        Features {
            nx: ext.edx & (1 << 20) != 0,
            smep: l7.ebx & (1 << 7) != 0,
            smap: l7.ebx & (1 << 20) != 0,
            fsgsbase: l7.ebx & 1 != 0,
            avx512: l7.ebx & (1 << 16) != 0,
            rdseed: l7.ebx & (1 << 18) != 0,
            xsave: l1.ecx & (1 << 26) != 0,
            avx: l1.ecx & (1 << 28) != 0,
            rdrand: l1.ecx & (1 << 30) != 0,
            pge: l1.edx & (1 << 13) != 0,
            hypervisor,
            hv_vendor,
            hwcap: l1.edx,
        }
    }
}

/// XSAVE state components the kernel enables for the app (XCR0 bits).
pub mod xcr0 {
    /// x87 state.
    pub const X87: u64 = 1;
    /// SSE (XMM) state.
    pub const SSE: u64 = 2;
    /// AVX (upper YMM halves).
    pub const AVX: u64 = 4;
    /// AVX-512 opmask, ZMM_Hi256, Hi16_ZMM.
    pub const AVX512: u64 = 0xe0;
}

/// Turns on what the app's code and the kernel's protection need: SSE (and AVX through XSAVE
/// when present), SMEP, SMAP, global pages, FSGSBASE. Returns the XCR0 value set (0 when the
/// CPU has no XSAVE).
pub fn enable_features(f: &Features) -> u64 {
    let mut cr0: u64;
    // SAFETY: reads CR0.
    unsafe { asm!("mov {}, cr0", out(reg) cr0, options(nomem, nostack, preserves_flags)) };
    cr0 |= 1 << 1; // MP: wait/fwait honour TS
    cr0 |= 1 << 5; // NE: native x87 error reporting
    cr0 &= !(1 << 2); // EM off: x87 present
    cr0 &= !(1 << 3); // TS off: no lazy FPU switching
    // SAFETY: these CR0 bits only configure FPU behaviour.
    unsafe { asm!("mov cr0, {}", in(reg) cr0, options(nostack, preserves_flags)) };

    let mut cr4 = cr4();
    cr4 |= (1 << 9) | (1 << 10); // OSFXSR, OSXMMEXCPT
    if f.pge {
        cr4 |= 1 << 7;
    }
    if f.smep {
        cr4 |= 1 << 20;
    }
    if f.smap {
        cr4 |= 1 << 21;
    }
    if f.fsgsbase {
        cr4 |= 1 << 16;
    }
    if f.xsave {
        cr4 |= 1 << 18; // OSXSAVE
    }
    // SAFETY: every bit set above was checked in CPUID.
    unsafe { set_cr4(cr4) };

    let mut xcr0_value = 0;
    if f.xsave {
        let supported = {
            let d = cpuid(0xd, 0);
            ((d.edx as u64) << 32) | d.eax as u64
        };
        xcr0_value = xcr0::X87 | xcr0::SSE;
        if f.avx {
            xcr0_value |= xcr0::AVX;
        }
        if f.avx512 && supported & xcr0::AVX512 == xcr0::AVX512 {
            xcr0_value |= xcr0::AVX512;
        }
        xcr0_value &= supported;
        // SAFETY: CR4.OSXSAVE is on and every bit is in CPUID.(0xd,0)'s supported mask.
        unsafe {
            asm!("xsetbv", in("ecx") 0u32, in("eax") xcr0_value as u32, in("edx") (xcr0_value >> 32) as u32,
                 options(nomem, nostack, preserves_flags))
        };
    }
    let mxcsr: u32 = 0x1f80;
    // SAFETY: resets x87 and SSE control state to the Linux process defaults.
    unsafe { asm!("fninit", "ldmxcsr [{}]", in(reg) &mxcsr, options(nostack, preserves_flags)) };
    xcr0_value
}

/// A hardware random 64-bit value (RDSEED, else RDRAND), if the CPU has either and it
/// delivers within a few retries.
pub fn hw_random(f: &Features) -> Option<u64> {
    for _ in 0..16 {
        let (v, ok): (u64, u8);
        if f.rdseed {
            // SAFETY: rdseed is present (CPUID); it only writes its output and CF.
            unsafe {
                asm!("rdseed {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack))
            };
        } else if f.rdrand {
            // SAFETY: rdrand is present (CPUID).
            unsafe {
                asm!("rdrand {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack))
            };
        } else {
            return None;
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// Sets the FS base (the app's thread pointer).
pub fn set_fs_base(v: u64) {
    // SAFETY: FS_BASE is architectural; any canonical value is valid, and callers check the
    // value is a user address (wrmsr faults on non-canonical values, which they reject).
    unsafe { wrmsr(msr::FS_BASE, v) }
}
