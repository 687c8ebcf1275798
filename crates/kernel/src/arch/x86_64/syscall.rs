//! The SYSCALL/SYSRET path: the hot path of the whole kernel.
//!
//! Entry swaps to the kernel GS, switches to the running thread's kernel stack (from
//! `PerCpu::kernel_rsp`), and pushes a [`TrapFrame`] exactly like the trap path so the rest of
//! the kernel sees one shape. The Rust handler returns whether the frame may go back with
//! `sysret` (the fast exit) or needs `iretq`: `sysret` restores RIP from RCX and RFLAGS from
//! R11, so it only fits when those still hold what SYSCALL put there (not after sigreturn or
//! for a new thread), and only for a canonical user RIP (Intel CPUs fault in ring 0 otherwise).

use super::cpu::{msr, rdmsr, wrmsr};
use super::gdt::{KERNEL_CS, USER_CS, USER_DS};
use super::percpu::{KERNEL_RSP_OFFSET, USER_RSP_OFFSET};
use super::trap::{SYSCALL_VECTOR, TrapFrame};
use core::arch::global_asm;

/// RFLAGS bits cleared on entry: TF, IF, DF, IOPL, NT, AC (so SMAP applies in the kernel).
const SFMASK_BITS: u64 = 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x40000;

global_asm!(
    r#"
    .section .text.oxv_syscall, "ax", @progbits
    .p2align 4
    .global oxv_syscall_entry
oxv_syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{kernel_rsp}]
    push {user_ss}
    push qword ptr gs:[{user_rsp}]
    push r11                        /* rflags */
    push {user_cs}
    push rcx                        /* rip */
    push 0                          /* error code */
    push {vector}
    push rax
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
    call oxv_syscall_rust
    test al, al
    jnz oxv_trap_return             /* slow exit through iretq */
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
    mov rcx, [rsp + 16]             /* rip */
    mov r11, [rsp + 32]             /* rflags */
    mov rsp, [rsp + 40]             /* user rsp */
    swapgs
    sysretq
    "#,
    user_rsp = const USER_RSP_OFFSET,
    kernel_rsp = const KERNEL_RSP_OFFSET,
    user_ss = const USER_DS as u64,
    user_cs = const USER_CS as u64,
    vector = const SYSCALL_VECTOR,
);

// SAFETY: the syscall entry stub is defined by the global_asm! above; it is only ever
// installed in LSTAR, never called from Rust.
unsafe extern "C" {
    fn oxv_syscall_entry();
}

#[unsafe(no_mangle)]
extern "C" fn oxv_syscall_rust(frame: &mut TrapFrame) -> bool {
    // One CPU: straight to the handler (one load and a branch for SMP's sake).
    if crate::smp::active() {
        syscall_locked(frame);
    } else {
        crate::syscall::handle(frame);
    }
    // sysret is only safe for an unchanged, canonical user return context.
    !(frame.rcx == frame.rip
        && frame.r11 == frame.rflags
        && frame.rip < 0x0000_7fff_ffff_f000
        && frame.cs == USER_CS as u64
        && frame.ss == USER_DS as u64)
}

/// A system call on an SMP machine: under the kernel lock (see `crate::smp`).
#[inline(never)]
fn syscall_locked(frame: &mut TrapFrame) {
    let locked = crate::smp::lock();
    crate::syscall::handle(frame);
    if locked {
        crate::smp::unlock();
    }
}

/// Enables SYSCALL and points it at the entry stub (per CPU).
pub fn init() {
    // SAFETY: EFER.SCE only enables the instruction; STAR's selectors match the GDT layout
    // (kernel CS/SS at 0x08/0x10, user SS/CS at 0x18/0x20 with RPL 3); LSTAR points at the
    // entry stub above.
    unsafe {
        wrmsr(msr::EFER, rdmsr(msr::EFER) | 1);
        let star = ((KERNEL_CS as u64) << 32) | (((USER_DS as u64 & !3) - 8) << 48);
        wrmsr(msr::STAR, star);
        wrmsr(msr::LSTAR, oxv_syscall_entry as *const () as usize as u64);
        wrmsr(msr::SFMASK, SFMASK_BITS);
    }
}
