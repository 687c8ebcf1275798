//! Starting the application processors (APs): the real-mode trampoline and INIT-SIPI-SIPI.
//!
//! An AP wakes up in 16-bit real mode at the 4 KiB page the startup IPI names (below 1 MiB),
//! with no stack, paging off and its own registers at reset values. The trampoline below is
//! copied to [`TRAMPOLINE_PA`]; it loads a small GDT, enters protected mode, turns on PAE,
//! loads a page-table root that maps the trampoline's own page 1:1 plus the kernel half
//! (built at [`TRAMPOLINE_ROOT_PA`] from the kernel's tables), enables long mode and
//! jumps to the kernel's AP entry on the stack the boot CPU gave it, with one argument. The
//! trampoline holds no kernel address of its own (only its physical page's): the entry is a
//! run-time function pointer and the kernel half is the kernel's, both at the KASLR-slid base.
//!
//! The boot CPU starts the APs one at a time, so a single set of trampoline parameters
//! serves them all. The pages used (0x8000..0xc000) lie in the first MiB, which the frame
//! allocator never hands out and QEMU's PVH boot does not use (start_info, the command line
//! and the memory map sit elsewhere; `boot` checks).
//!
//! The sequence follows Intel's SDM vol. 3, 9.4.4 ("MP initialization example") and the
//! MultiProcessor Specification's INIT-SIPI-SIPI: INIT, 10 ms, SIPI, 200 µs, SIPI.

use super::paging::{PageTableRoot, phys_to_virt, pte};
use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};

/// Where the trampoline code is copied (its page number is the SIPI vector).
pub const TRAMPOLINE_PA: u64 = 0x8000;
/// The trampoline's page-table root (PML4), PDPT and page directory: three pages.
pub const TRAMPOLINE_ROOT_PA: u64 = 0x9000;
/// The whole low range the AP start-up uses.
pub const LOW_RANGE: core::ops::Range<u64> = 0x8000..0xc000;

// Parameter slots of the trampoline page (offsets from its start; the assembly places them).
const OFF_GDT: u64 = 0x10;
const OFF_GDTR: u64 = 0x30;
const OFF_CR3: u64 = 0x38;
const OFF_EFER: u64 = 0x3c;
const OFF_STACK: u64 = 0x40;
const OFF_ENTRY: u64 = 0x48;
const OFF_ARG: u64 = 0x50;
const OFF_CODE: u64 = 0x60;

global_asm!(
    r#"
    .section .rodata.oxv_ap_trampoline, "a", @progbits
    .p2align 12
    .global oxv_ap_tramp_start
oxv_ap_tramp_start:
    .code16
    jmp oxv_ap_real

    .org {gdt}
    .quad 0
    .quad 0x00cf9a000000ffff            /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .quad 0x00af9a000000ffff            /* 0x18: 64-bit code */
    .org {gdtr}
    .word 4 * 8 - 1
    .long {base} + {gdt}
    .org {cr3}
    .long 0
    .org {efer}
    .long 0
    .org {stack}
    .quad 0
    .org {entry}
    .quad 0
    .org {arg}
    .quad 0

    .org {code}
oxv_ap_real:
    cli
    cld
    xor ax, ax
    mov ds, ax
    lgdt [{base} + {gdtr}]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    /* jmp far 0x08:pm32 (ptr16:32 with an operand-size prefix) */
    .byte 0x66, 0xea
    .long oxv_ap_pm32 - oxv_ap_tramp_start + {base}
    .word 0x08

    .code32
oxv_ap_pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 0x20                        /* PAE */
    mov cr4, eax
    mov eax, [{base} + {cr3}]
    mov cr3, eax
    mov ecx, 0xC0000080                 /* EFER */
    rdmsr
    or eax, [{base} + {efer}]
    wrmsr
    mov eax, cr0
    or eax, 0x80010000                  /* PG | WP */
    mov cr0, eax
    /* jmp far 0x18:lm64 */
    .byte 0xea
    .long oxv_ap_lm64 - oxv_ap_tramp_start + {base}
    .word 0x18

    .code64
oxv_ap_lm64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [{base} + {stack}]
    mov rdi, [{base} + {arg}]
    mov rax, [{base} + {entry}]
    xor ebp, ebp
    push 0                              /* a null return address: ends backtraces */
    jmp rax
    .global oxv_ap_tramp_end
oxv_ap_tramp_end:
    "#,
    base = const TRAMPOLINE_PA,
    gdt = const OFF_GDT,
    gdtr = const OFF_GDTR,
    cr3 = const OFF_CR3,
    efer = const OFF_EFER,
    stack = const OFF_STACK,
    entry = const OFF_ENTRY,
    arg = const OFF_ARG,
    code = const OFF_CODE,
);

// SAFETY: these labels are defined by the global_asm! above; only their addresses are
// taken, to find the trampoline image.
unsafe extern "C" {
    static oxv_ap_tramp_start: u8;
    static oxv_ap_tramp_end: u8;
}

/// What an AP starts with.
pub struct ApStart {
    /// The AP's APIC id.
    pub apic_id: u32,
    /// The top of the stack its entry runs on.
    pub stack_top: u64,
    /// The 64-bit function it jumps to, with `arg` in rdi.
    pub entry: extern "C" fn(u64) -> !,
    /// The entry's argument.
    pub arg: u64,
}

static PREPARED: AtomicBool = AtomicBool::new(false);

/// Copies the trampoline to low memory and builds its page tables from the kernel's
/// `kernel` root (the kernel half) plus a 1:1 map of the first 2 MiB. `nx` sets EFER.NXE
/// on the APs as on the boot CPU.
pub fn prepare(kernel: PageTableRoot, nx: bool) {
    // SAFETY: only the addresses of the linker-resolved labels are used.
    let (start, end) = unsafe {
        (
            &oxv_ap_tramp_start as *const u8,
            &oxv_ap_tramp_end as *const u8,
        )
    };
    let len = end as usize - start as usize;
    assert!(len <= 4096, "the AP trampoline fits in its page");
    // SAFETY: the low pages of LOW_RANGE are RAM in the direct map that nothing else uses
    // (the frame allocator never hands out the first MiB, and boot checked that PVH's data
    // lies elsewhere); the trampoline image is `len` readable bytes of .rodata.
    unsafe {
        core::ptr::copy_nonoverlapping(start, phys_to_virt(TRAMPOLINE_PA) as *mut u8, len);
    }
    let root = PageTableRoot(TRAMPOLINE_ROOT_PA);
    super::paging::zero_frame(TRAMPOLINE_ROOT_PA);
    root.share_kernel_half(kernel);
    let mut next = TRAMPOLINE_ROOT_PA + 4096;
    root.map_2m(0, 0, pte::WRITABLE, &mut || {
        let f = next;
        next += 4096;
        (f < LOW_RANGE.end).then_some(f)
    })
    .expect("the trampoline's two tables fit in its low range");
    write_param(Slot::Cr3, TRAMPOLINE_ROOT_PA);
    let efer = 0x100 | if nx { 0x800 } else { 0 }; // LME, NXE
    write_param(Slot::Efer, efer);
    PREPARED.store(true, Ordering::Release);
}

/// A parameter slot of the trampoline.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Slot {
    Cr3,
    Efer,
    Stack,
    Entry,
    Arg,
}

/// Writes one parameter slot of the copied trampoline (the 4-byte slots take the low half).
fn write_param(slot: Slot, value: u64) {
    let offset = match slot {
        Slot::Cr3 => OFF_CR3,
        Slot::Efer => OFF_EFER,
        Slot::Stack => OFF_STACK,
        Slot::Entry => OFF_ENTRY,
        Slot::Arg => OFF_ARG,
    };
    let at = phys_to_virt(TRAMPOLINE_PA + offset);
    // SAFETY: `at` is inside the trampoline copy in low RAM (direct map), at a slot the
    // assembly reserved with the matching size and alignment; no AP runs the trampoline
    // while the boot CPU writes it (APs are started one at a time).
    unsafe {
        if matches!(slot, Slot::Cr3 | Slot::Efer) {
            (at as *mut u32).write_volatile(value as u32);
        } else {
            (at as *mut u64).write_volatile(value);
        }
    }
}

/// Starts one AP with INIT-SIPI-SIPI; it runs `start.entry(start.arg)` on its stack.
/// `delay_us` waits (TSC-timed). Returns once the IPIs are sent: the caller waits for the
/// AP to report in.
///
/// # Panics
/// If [`prepare`] has not run.
pub fn start_ap(start: &ApStart, delay_us: &dyn Fn(u64)) {
    assert!(PREPARED.load(Ordering::Acquire), "smp::prepare ran");
    write_param(Slot::Stack, start.stack_top);
    write_param(Slot::Entry, start.entry as usize as u64);
    write_param(Slot::Arg, start.arg);
    let vector = (TRAMPOLINE_PA >> 12) as u8;
    super::apic::send_init(start.apic_id);
    delay_us(10_000);
    super::apic::send_startup(start.apic_id, vector);
    delay_us(200);
    super::apic::send_startup(start.apic_id, vector);
}

/// Whether this CPU has RDTSCP (and so the TSC_AUX register the vDSO's getcpu reads).
pub fn has_rdtscp() -> bool {
    super::cpu::cpuid(0x8000_0001, 0).edx & (1 << 27) != 0
}

/// Puts this CPU's number in TSC_AUX, where RDTSCP (the vDSO's getcpu) finds it.
pub fn set_tsc_aux(cpu_id: u64) {
    if has_rdtscp() {
        // SAFETY: TSC_AUX exists when RDTSCP does (CPUID checked); it only holds a value.
        unsafe { super::cpu::wrmsr(0xc000_0103, cpu_id) };
    }
}

/// The 64-bit entry of an AP, on the stack the boot CPU gave it, still on the trampoline's
/// page tables, interrupts off. `arg` is its leaked `PerCpu` block.
pub extern "C" fn ap_entry(arg: u64) -> ! {
    // SAFETY: the kernel's tables map the kernel (and the stack we run on, in the direct
    // map) at the same addresses as the trampoline's, and live forever.
    unsafe { crate::mem::kernel_page_table().activate() };
    // SAFETY: `arg` is the address of a leaked PerCpu that `percpu::new_ap` built for this
    // CPU and that nothing else uses yet.
    let pc: &'static super::percpu::PerCpu = unsafe { &*(arg as *const super::percpu::PerCpu) };
    let features = super::cpu::Features::detect();
    super::cpu::enable_features(&features);
    super::percpu::load_ap(pc);
    super::trap::load();
    super::syscall::init();
    super::apic::init_ap();
    set_tsc_aux(pc.cpu_id);
    crate::smp::ap_main()
}
