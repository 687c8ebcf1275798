//! PVH entry: from 32-bit protected mode to 64-bit Rust in the higher half.
//!
//! QEMU (and Firecracker, Cloud Hypervisor) find the entry through the Xen ELF note
//! `XEN_ELFNOTE_PHYS32_ENTRY` and start it with paging off, `ebx` = the physical address of
//! `hvm_start_info`, and no usable GDT. The stub below, linked at its physical address in
//! `.boot`, reads the TSC first (boot-time measurement starts here), builds throw-away page
//! tables that map the first 4 GiB three times (identity, direct map at
//! [`super::paging::DIRECT_MAP_BASE`], and the kernel window at -2 GiB), enters long mode and
//! jumps to [`crate::kernel_start`] on the boot stack. Rust then builds the real tables.

use core::arch::global_asm;

/// Size of the stack the boot CPU runs on until the first thread has its own.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

/// A stack with the alignment the x86_64 ABI requires at its top (16 bytes). Rust code relies
/// on it: `core::fmt` tags pointers to stack data in their low bits.
#[repr(C, align(16))]
pub struct Stack<const N: usize>(pub [u8; N]);

/// The boot CPU's stack (in `.bss`, so it costs no image space).
#[unsafe(no_mangle)]
static mut BOOT_STACK: Stack<BOOT_STACK_SIZE> = Stack([0; BOOT_STACK_SIZE]);

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                     /* name size: "Xen\0" */
    .long 8                     /* desc size: a 64-bit address (QEMU reads 8 bytes for ELF64) */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .quad pvh_start32

    .section .boot.text, "ax", @progbits
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov esp, offset boot_stack32_top    /* PVH leaves esp undefined; retf below needs one */
    mov edi, ebx                /* hvm_start_info (physical) */
    rdtsc
    mov esi, eax                /* entry TSC, low half */
    mov ebp, edx                /* entry TSC, high half */

    /* 2048 2 MiB pages: physical 0..4 GiB in four page directories. */
    mov edx, offset boot_pd
    mov eax, 0x83               /* present | writable | huge */
    xor ecx, ecx
2:  mov [edx + ecx * 8], eax
    add eax, 0x200000
    inc ecx
    cmp ecx, 2048
    jne 2b

    /* Low PDPT: four entries, one per page directory. */
    mov edx, offset boot_pdpt_low
    mov eax, offset boot_pd
    or eax, 3
    mov [edx], eax
    add eax, 4096
    mov [edx + 8], eax
    add eax, 4096
    mov [edx + 16], eax
    add eax, 4096
    mov [edx + 24], eax

    /* High PDPT: entries 510 and 511 map the first 2 GiB at -2 GiB (the kernel window). */
    mov edx, offset boot_pdpt_high
    mov eax, offset boot_pd
    or eax, 3
    mov [edx + 510 * 8], eax
    add eax, 4096
    mov [edx + 511 * 8], eax

    /* PML4: 0 = identity (for this stub), 256 = direct map, 511 = kernel window. */
    mov edx, offset boot_pml4
    mov eax, offset boot_pdpt_low
    or eax, 3
    mov [edx], eax
    mov [edx + 256 * 8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov [edx + 511 * 8], eax

    mov eax, offset boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20                /* PAE */
    mov cr4, eax

    /* EFER: long mode, and NX when the CPU has it (the kernel maps data NX). cpuid keeps
     * esi/edi/ebp. */
    mov eax, 0x80000001
    cpuid
    mov ebx, 0x100
    test edx, 0x100000
    jz 3f
    or ebx, 0x800
3:  mov ecx, 0xC0000080
    rdmsr
    or eax, ebx
    wrmsr

    mov eax, cr0
    or eax, 0x80010001          /* PG | WP | PE */
    mov cr0, eax

    lgdt [boot_gdtr]
    push 0x08
    mov eax, offset pvh_start64
    push eax
    retf

    .code64
pvh_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax

    /* Zero .bss (the loader should have; do not depend on it). The section is page
     * aligned and page sized (linker script), so whole quadwords cover it. */
    mov r8, rdi
    movabs rdi, offset __bss_start
    movabs rcx, offset __bss_end
    sub rcx, rdi
    shr rcx, 3
    xor eax, eax
    rep stosq
    mov rdi, r8

    movabs rsp, offset BOOT_STACK
    add rsp, {stack_size}        /* 16-byte aligned top */
    mov edi, edi                /* start_info: zero-extend */
    mov esi, esi
    shl rbp, 32
    or rsi, rbp                 /* entry TSC */
    xor ebp, ebp                /* end of the frame-pointer chain */
    push 0                      /* a null return address: rsp is 8 mod 16, as after a call */
    movabs rax, offset oxv_kernel_start
    jmp rax

    .section .boot.data, "aw", @progbits
    .p2align 12
boot_pml4:
    .fill 4096, 1, 0
boot_pdpt_low:
    .fill 4096, 1, 0
boot_pdpt_high:
    .fill 4096, 1, 0
boot_pd:
    .fill 4 * 4096, 1, 0
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdtr:
    .word 3 * 8 - 1
    .long boot_gdt
    .p2align 4
boot_stack32:
    .fill 64, 1, 0
boot_stack32_top:
    "#,
    stack_size = const BOOT_STACK_SIZE,
);
