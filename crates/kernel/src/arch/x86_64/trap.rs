//! Exceptions and interrupts: the IDT, the entry stubs, and the trap frame.
//!
//! Every vector has a tiny stub that pushes an error code (0 when the CPU pushes none) and its
//! vector number, then jumps to one common path that swaps GS when the trap came from ring 3,
//! saves the general registers into a [`TrapFrame`] on the kernel stack and calls
//! [`crate::trap::handle`]. The same frame layout serves system calls (vector
//! [`SYSCALL_VECTOR`]), so signal delivery, thread creation and the return to ring 3 deal
//! with a single shape.

use super::gdt::{IST_DOUBLE_FAULT, IST_NMI, KERNEL_CS};
use core::arch::{asm, global_asm};
use core::mem::size_of;

/// The `vector` a system call's frame carries.
pub const SYSCALL_VECTOR: u64 = 0x100;

/// The registers of an interrupted context, in the order the entry code pushes them.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Exception vector, or [`SYSCALL_VECTOR`].
    pub vector: u64,
    /// The CPU's error code (0 when the exception has none).
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

const _: () = assert!(size_of::<TrapFrame>() == 176);

impl TrapFrame {
    /// Whether the trap came from ring 3.
    pub fn came_from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

global_asm!(
    r#"
    .macro TRAP_ERR n
    .global oxv_trap_\n
oxv_trap_\n:
    push \n
    jmp oxv_trap_common
    .endm

    .macro TRAP_NOERR n
    .global oxv_trap_\n
oxv_trap_\n:
    push 0
    push \n
    jmp oxv_trap_common
    .endm

    .section .text.oxv_traps, "ax", @progbits
    .p2align 4
    .irp n, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
    TRAP_ERR \n
    .endr
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41
    TRAP_NOERR \n
    .endr
    .irp n, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73
    TRAP_NOERR \n
    .endr
    .irp n, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105
    TRAP_NOERR \n
    .endr
    .irp n, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137
    TRAP_NOERR \n
    .endr
    .irp n, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169
    TRAP_NOERR \n
    .endr
    .irp n, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201
    TRAP_NOERR \n
    .endr
    .irp n, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233
    TRAP_NOERR \n
    .endr
    .irp n, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255
    TRAP_NOERR \n
    .endr

    .p2align 4
    .global oxv_trap_common
oxv_trap_common:
    test qword ptr [rsp + 24], 3    /* CS of the interrupted context */
    jz 1f
    swapgs
1:  push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call oxv_trap_entry

    .global oxv_trap_return
oxv_trap_return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     /* vector, error code */
    test qword ptr [rsp + 8], 3     /* CS we return to */
    jz 2f
    swapgs
2:  iretq

    .section .rodata.oxv_trap_table, "a", @progbits
    .p2align 3
    .global oxv_trap_table
oxv_trap_table:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .quad oxv_trap_\n
    .endr
    .irp n, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
    .quad oxv_trap_\n
    .endr
    .irp n, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95
    .quad oxv_trap_\n
    .endr
    .irp n, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127
    .quad oxv_trap_\n
    .endr
    .irp n, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159
    .quad oxv_trap_\n
    .endr
    .irp n, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191
    .quad oxv_trap_\n
    .endr
    .irp n, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223
    .quad oxv_trap_\n
    .endr
    .irp n, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255
    .quad oxv_trap_\n
    .endr
"#
);

// SAFETY: the table of trap stub addresses is defined by the global_asm! above: 256
// entries of 8 bytes, read-only.
unsafe extern "C" {
    static oxv_trap_table: [u64; 256];
}

#[unsafe(no_mangle)]
extern "C" fn oxv_trap_entry(frame: &mut TrapFrame) {
    // An idle CPU's idle time ends here, before any handler work.
    crate::idle_clock::interrupt_entry();
    // Every interrupt, including the ones answered below without the kernel lock.
    crate::irqstat::count(frame.vector);
    // The shootdown IPI is answered without the kernel lock: its sender holds it and waits.
    if frame.vector == super::apic::TLB_VECTOR as u64 {
        crate::smp::tlb_interrupt();
        return;
    }
    // A kick that interrupts kernel code (the idle loop's halt) has nothing to do but wake
    // the CPU: the idle loop takes the lock itself.
    if frame.vector == super::apic::KICK_VECTOR as u64 && !frame.came_from_user() {
        super::apic::eoi();
        return;
    }
    let locked = crate::smp::lock();
    crate::trap::handle(frame);
    if locked {
        crate::smp::unlock();
    }
}

#[repr(C)]
#[derive(Copy, Clone)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attrs: u8,
    offset_mid: u16,
    offset_high: u32,
    _reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt = Idt([Gate {
    offset_low: 0,
    selector: 0,
    ist: 0,
    attrs: 0,
    offset_mid: 0,
    offset_high: 0,
    _reserved: 0,
}; 256]);

/// Fills and loads the IDT. Vectors 3 (int3) and 4 (into) may be raised from ring 3.
pub fn init() {
    // SAFETY: called once per CPU during boot with interrupts off; IDT is only written by
    // the boot CPU before any other CPU runs, and the table of stub addresses is static.
    unsafe {
        let idt = &mut *core::ptr::addr_of_mut!(IDT);
        for (v, gate) in idt.0.iter_mut().enumerate() {
            let addr = oxv_trap_table[v];
            let dpl: u8 = if v == 3 || v == 4 { 3 } else { 0 };
            let ist = match v {
                8 => IST_DOUBLE_FAULT,
                2 | 18 => IST_NMI,
                _ => 0,
            };
            *gate = Gate {
                offset_low: addr as u16,
                selector: KERNEL_CS,
                ist,
                attrs: 0x8e | (dpl << 5), // present, 64-bit interrupt gate
                offset_mid: (addr >> 16) as u16,
                offset_high: (addr >> 32) as u32,
                _reserved: 0,
            };
        }
        load();
    }
}

/// Loads the (already filled) IDT on this CPU.
pub fn load() {
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let ptr = Pointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: core::ptr::addr_of!(IDT) as u64,
    };
    // SAFETY: the IDT is a static filled with valid gates by `init`.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(nostack, readonly, preserves_flags)) };
}
