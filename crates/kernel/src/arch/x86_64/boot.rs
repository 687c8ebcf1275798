//! PVH entry: from 32-bit protected mode to 64-bit Rust in the higher half, at a random base.
//!
//! QEMU (and Firecracker, Cloud Hypervisor) find the entry through the Xen ELF note
//! `XEN_ELFNOTE_PHYS32_ENTRY` and start it with paging off, `ebx` = the physical address of
//! `hvm_start_info`, and no usable GDT. The stub below, linked at its physical address in
//! `.boot`, reads the TSC first (boot-time measurement starts here), picks the kernel's slide
//! (KASLR, see below), builds throw-away page tables that map the first 4 GiB twice (identity
//! and the direct map at [`super::paging::DIRECT_MAP_BASE`]) and the image at its slid base in
//! the kernel window at -2 GiB, enters long mode, slides the image's absolute addresses, and
//! jumps to [`crate::kernel_start`] on the boot stack. Rust then builds the real tables.
//!
//! # KASLR
//!
//! The image is linked at [`super::paging::KERNEL_VMA`] and loaded at its physical address;
//! at boot it runs at `KERNEL_VMA + slide`, with the slide a multiple of 2 MiB below 1 GiB
//! minus the image (one page directory: every kernel address stays in the top 2 GiB the
//! kernel code model needs). That is 9 bits of entropy, as Linux's x86_64 kernel text
//! (1 GiB in 2 MiB steps). The random number comes from RDRAND when CPUID has it, else from
//! the TSC. The slide is 0 when the command line has the `nokaslr` option (before `--`: the
//! app's argv cannot turn it off) or when the image has no relocation table (a kernel the host
//! tool did not process, e.g. `cargo build` alone).
//!
//! The table ([`KASLR_TABLE_SIZE`] bytes in `.boot`, zero in the linked ELF) is filled in by
//! the host tool (`crates/cli/src/kaslr.rs`) from the relocations the linker keeps
//! (`--emit-relocs`): a header (`KASLR_MAGIC`, 0, the number of 64-bit sites, the number of
//! 32-bit sites), then each site's physical address as a `u32`, 64-bit sites first. A site
//! holds an absolute address in the kernel window (an `R_X86_64_64` or `R_X86_64_32S`
//! relocation, or a GOT slot); the stub adds the slide to each, in place, while it still runs
//! identity-mapped and before anything reads them. PC-relative references need nothing, and
//! the stub's own 32-bit physical references are not in the table. The table is in the boot
//! stub's pages, which the frame allocator gets back after boot.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

/// The size of the relocation table the host tool fills in (header included).
pub const KASLR_TABLE_SIZE: usize = 128 * 1024;

/// The table's first word once the host tool filled it in ("OXVK", little-endian).
pub const KASLR_MAGIC: u32 = u32::from_le_bytes(*b"OXVK");

/// How far the image was moved from its link address (set by the boot stub, before Rust runs).
#[unsafe(no_mangle)]
static OXV_KASLR_SLIDE: AtomicU64 = AtomicU64::new(0);

/// The kernel image's slide: its run-time address minus its link-time address.
pub fn kaslr_slide() -> u64 {
    OXV_KASLR_SLIDE.load(Ordering::Relaxed)
}

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

    call kaslr_choose_slot      /* eax = the slide in 2 MiB units; keeps esi, edi, ebp */
    mov [kaslr_slot], eax

    /* The kernel window's page directory: the image at KERNEL_VMA + slot * 2 MiB, that is
     * entry i maps physical (i - slot) * 2 MiB. */
    mov edx, offset boot_pd_kernel
    lea ecx, [edx + eax * 8]
    lea edx, [edx + 4096]
    mov eax, 0x83               /* present | writable | huge */
4:  mov [ecx], eax
    add eax, 0x200000
    add ecx, 8
    cmp ecx, edx
    jne 4b

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

    /* High PDPT: entry 510 is the kernel window at -2 GiB. */
    mov edx, offset boot_pdpt_high
    mov eax, offset boot_pd_kernel
    or eax, 3
    mov [edx + 510 * 8], eax

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

    /* The slide's slot: 0 without a relocation table or with `nokaslr` among the options,
     * else a random number below __kaslr_slots. Keeps esi, edi (start_info) and ebp. */
kaslr_choose_slot:
    cmp dword ptr [oxv_kaslr_table], {magic}
    jne 20f
    cmp dword ptr [edi + 28], 0 /* a command line above 4 GiB: not reachable here */
    jne 16f
    mov ebx, [edi + 24]         /* the command line's physical address */
    test ebx, ebx
    jz 16f
10: mov al, [ebx]               /* skip blanks */
    test al, al
    jz 16f
    cmp al, 0x20
    ja 11f
    inc ebx
    jmp 10b
11: mov ecx, ebx                /* a token: [ebx, ecx) */
12: mov al, [ecx]
    cmp al, 0x20
    jbe 13f
    inc ecx
    jmp 12b
13: mov eax, ecx
    sub eax, ebx
    cmp eax, 2
    jne 14f
    cmp word ptr [ebx], 0x2d2d  /* "--": the options end */
    je 16f
14: cmp eax, 7
    jne 15f
    cmp dword ptr [ebx], 0x616b6f6e     /* "noka" */
    jne 15f
    cmp word ptr [ebx + 4], 0x6c73      /* "sl" */
    jne 15f
    cmp byte ptr [ebx + 6], 0x72        /* "r" */
    je 20f
15: mov ebx, ecx
    jmp 10b

16: mov eax, 1                  /* RDRAND is CPUID.1:ECX[30] */
    cpuid
    bt ecx, 30
    jnc 18f
    mov ecx, 32                 /* RDRAND may fail transiently: retry, then the TSC */
17: rdrand eax
    jc 19f
    dec ecx
    jnz 17b
18: rdtsc                       /* the low bits differ from boot to boot */
    imul eax, eax, 0x9e3779b1
    shr eax, 8
19: xor edx, edx
    mov ecx, offset __kaslr_slots
    div ecx
    mov eax, edx
    ret
20: xor eax, eax
    ret

    .code64
pvh_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax

    /* Slide the image: add the slide to every site of the table, through the identity map
     * (the sites' physical addresses), before anything reads one. The movabs below are
     * sites too. */
    mov eax, [rip + kaslr_slot]
    mov r9, rax
    shl r9, 21                  /* the slide in bytes */
    jz 7f
    lea rbx, [rip + oxv_kaslr_table]
    mov ecx, [rbx + 8]          /* 64-bit sites */
    mov edx, [rbx + 12]         /* 32-bit sites */
    lea r10, [rbx + 16]
5:  test ecx, ecx
    jz 6f
    mov eax, [r10]
    add [rax], r9
    add r10, 4
    dec ecx
    jmp 5b
6:  test edx, edx
    jz 7f
    mov eax, [r10]
    add [rax], r9d
    add r10, 4
    dec edx
    jmp 6b
7:

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
    movabs rax, offset OXV_KASLR_SLIDE
    mov [rax], r9

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
boot_pd_kernel:
    .fill 4096, 1, 0
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdtr:
    .word 3 * 8 - 1
    .long boot_gdt
    .p2align 4
kaslr_slot:
    .long 0
    .p2align 4
boot_stack32:
    .fill 64, 1, 0
boot_stack32_top:

    .section .boot.kaslr, "aw", @progbits
    .p2align 3
    .global oxv_kaslr_table
oxv_kaslr_table:
    .fill {table_size}, 1, 0
    .global oxv_kaslr_table_end
oxv_kaslr_table_end:
    "#,
    stack_size = const BOOT_STACK_SIZE,
    magic = const KASLR_MAGIC,
    table_size = const KASLR_TABLE_SIZE,
);
