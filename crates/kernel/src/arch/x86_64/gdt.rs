//! The GDT and TSS, one pair per CPU (a TSS descriptor is marked busy when loaded, so CPUs
//! cannot share one).
//!
//! Selector layout is dictated by SYSCALL/SYSRET (STAR): kernel code, kernel data, then user
//! data *before* user code, because SYSRET loads SS from STAR[63:48]+8 and CS from +16.

use core::arch::asm;
use core::mem::size_of;

/// Kernel code selector.
pub const KERNEL_CS: u16 = 0x08;
/// Kernel data selector.
pub const KERNEL_DS: u16 = 0x10;
/// User data selector (RPL 3).
pub const USER_DS: u16 = 0x18 | 3;
/// User 64-bit code selector (RPL 3).
pub const USER_CS: u16 = 0x20 | 3;
/// TSS selector.
pub const TSS_SEL: u16 = 0x28;

/// Interrupt stack table slot for double faults (1-based, as the IDT encodes it).
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST slot for NMI and machine checks.
pub const IST_NMI: u8 = 2;

/// The 64-bit task-state segment: only the stack pointers matter in long mode.
#[repr(C, packed(4))]
#[derive(Default)]
pub struct Tss {
    _reserved0: u32,
    /// Stack loaded on a trap from ring 3 (the current thread's kernel stack top).
    pub rsp0: u64,
    _rsp1: u64,
    _rsp2: u64,
    _reserved1: u64,
    /// Interrupt stack table (entries 1..=7 at indices 0..=6).
    pub ist: [u64; 7],
    _reserved2: u64,
    _reserved3: u16,
    iomap_base: u16,
}

const _: () = assert!(size_of::<Tss>() == 104);

/// A CPU's descriptor table: null, kcode, kdata, udata, ucode, TSS (two slots).
#[repr(C, align(16))]
pub struct Gdt(pub [u64; 7]);

impl Gdt {
    /// A GDT whose TSS descriptor points at `tss`.
    pub fn new(tss: &Tss) -> Gdt {
        let base = tss as *const Tss as u64;
        let limit = (size_of::<Tss>() - 1) as u64;
        let tss_low = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89 << 40) // present, 64-bit TSS (available)
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        let tss_high = base >> 32;
        Gdt([
            0,
            0x00af_9a00_0000_ffff, // kernel code: L, P, DPL 0
            0x00cf_9200_0000_ffff, // kernel data
            0x00cf_f200_0000_ffff, // user data: DPL 3
            0x00af_fa00_0000_ffff, // user code: L, DPL 3
            tss_low,
            tss_high,
        ])
    }

    /// Loads this GDT and the TSS, and reloads the segment registers.
    ///
    /// # Safety
    /// `self` and the TSS it points at must stay at their addresses for as long as the CPU
    /// runs (they are per-CPU statics or leaked allocations).
    pub unsafe fn load(&'static self) {
        #[repr(C, packed)]
        struct Pointer {
            limit: u16,
            base: u64,
        }
        let ptr = Pointer {
            limit: (size_of::<Gdt>() - 1) as u16,
            base: self as *const Gdt as u64,
        };
        // SAFETY: the table is valid and 'static (caller); the far return reloads CS with the
        // kernel code selector that the table defines, and the data selectors exist.
        unsafe {
            asm!(
                "lgdt [{ptr}]",
                "push {cs}",
                "lea {tmp}, [rip + 2f]",
                "push {tmp}",
                "retfq",
                "2:",
                "mov {tmp:e}, {ds}",
                "mov ds, {tmp:e}",
                "mov es, {tmp:e}",
                "mov ss, {tmp:e}",
                "ltr {tss:x}",
                ptr = in(reg) &ptr,
                cs = const KERNEL_CS as u64,
                ds = const KERNEL_DS as u32,
                tss = in(reg) TSS_SEL,
                tmp = out(reg) _,
            );
        }
    }
}
