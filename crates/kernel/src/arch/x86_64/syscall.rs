//! The SYSCALL/SYSRET path: the hot path of the whole kernel.
//!
//! Entry swaps to the kernel GS and switches to the running thread's kernel stack (from
//! `PerCpu::kernel_rsp`). Then one of two paths runs:
//!
//! - **Light path**, for the numbers the fast table ([`crate::syscall::fast`]) has a handler
//!   for: the stub saves only what the Linux ABI says survives a system call and the C ABI
//!   lets a callee clobber (the six argument registers, RIP in RCX, RFLAGS in R11, the user
//!   RSP) and calls the handler with the arguments already in the C argument registers
//!   (R10 moves to RCX). RBX, RBP and R12-R15 are preserved by the handler itself. The
//!   handler returns the result in RAX and a [`FastStatus`] in RDX: `Done` goes straight
//!   back with `sysret`; `Work` (a signal, a reschedule, a stop is pending) builds the full
//!   [`TrapFrame`] from the live registers and runs the return-to-user work on it;
//!   `Declined` (strace is on, or an argument needs the general path) restores every
//!   register and takes the full path as if the light one had not been tried.
//! - **Full path** for everything else: a complete [`TrapFrame`], exactly like the trap
//!   path's, so signal delivery, `fork`, `clone`, `execve` and `rt_sigreturn` see one shape.
//!   The Rust handler returns whether the frame may go back with `sysret` (the fast exit) or
//!   needs `iretq`: `sysret` restores RIP from RCX and RFLAGS from R11, so it only fits when
//!   those still hold what SYSCALL put there (not after sigreturn or for a new thread), and
//!   only for a canonical user RIP (Intel CPUs fault in ring 0 otherwise).
//!
//! The light path's `sysret` needs no such check: RCX and R11 come back untouched, and RCX
//! is the address after a `syscall` instruction in a user page, below `USER_TOP`, so it is
//! canonical.

use super::cpu::{msr, rdmsr, wrmsr};
use super::gdt::{KERNEL_CS, USER_CS, USER_DS};
use super::percpu::{KERNEL_RSP_OFFSET, USER_RSP_OFFSET};
use super::trap::{SYSCALL_VECTOR, TrapFrame};
use core::arch::global_asm;

/// RFLAGS bits cleared on entry: TF, IF, DF, IOPL, NT, AC (so SMAP applies in the kernel).
const SFMASK_BITS: u64 = 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x40000;

/// How a light-path handler ended (returned in RDX, next to the result in RAX).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastStatus {
    /// Ran; nothing to do before returning to ring 3.
    Done = 0,
    /// Ran; a signal, reschedule, stop or kill waits: the full return-to-user work runs.
    Work = 1,
    /// Did not run: the full path runs the call from the start.
    Declined = 2,
}

/// What a light-path handler returns: RAX (the encoded result) and RDX (the status).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FastReturn {
    /// The value for the app's RAX (`encode_result`); ignored when declined.
    pub rax: u64,
    /// What the entry stub does next.
    pub status: FastStatus,
}

impl FastReturn {
    /// The handler did not run the call.
    pub const DECLINED: FastReturn = FastReturn {
        rax: 0,
        status: FastStatus::Declined,
    };
}

/// A light-path handler: the six system-call arguments, in order, as the C ABI passes them.
pub type FastHandler = extern "C" fn(u64, u64, u64, u64, u64, u64) -> FastReturn;

global_asm!(
    r#"
    /* The full TrapFrame of a system call, from the live user registers (RCX = RIP,
       R11 = RFLAGS, the user RSP in its per-CPU slot). */
    .macro OXV_SYSCALL_FRAME
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
    .endm

    .section .text.oxv_syscall, "ax", @progbits
    .p2align 4
    .global oxv_syscall_entry
oxv_syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{kernel_rsp}]
    cmp rax, {fast_len}
    jae 3f
    /* The kernel links in the top 2 GiB: the table's address fits a displacement. */
    cmp qword ptr [rax * 8 + {fast_table}], 0
    je 3f                           /* no light handler for this number */
    push rcx
    push r11
    push qword ptr gs:[{user_rsp}]  /* the handler may fault and sleep: keep it here */
    push rax
    push rdi
    push rsi
    push rdx
    push r8
    push r9
    push r10
    mov rcx, r10                    /* 4th argument: R10 in the syscall ABI, RCX in C */
    call qword ptr [rax * 8 + {fast_table}]
    test edx, edx
    jnz 1f
    pop r10
    pop r9
    pop r8
    pop rdx
    pop rsi
    pop rdi
    mov r11, [rsp + 16]             /* rflags */
    mov rcx, [rsp + 24]             /* rip */
    mov rsp, [rsp + 8]              /* user rsp */
    swapgs
    sysretq

1:  cmp edx, {declined}
    je 2f
    /* Ran, with return work pending: the full frame, holding the result in RAX. */
    pop r10
    pop r9
    pop r8
    pop rdx
    pop rsi
    pop rdi
    add rsp, 8                      /* the number */
    pop qword ptr gs:[{user_rsp}]
    pop r11
    pop rcx
    OXV_SYSCALL_FRAME
    mov rdi, rsp
    call oxv_syscall_return_work
    jmp 5f

2:  /* Declined: every register as SYSCALL left it, then the full path. */
    pop r10
    pop r9
    pop r8
    pop rdx
    pop rsi
    pop rdi
    pop rax
    pop qword ptr gs:[{user_rsp}]
    pop r11
    pop rcx
3:  OXV_SYSCALL_FRAME
    mov rdi, rsp
    call oxv_syscall_rust
5:  test al, al
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
    fast_len = const crate::syscall::fast::TABLE_LEN,
    fast_table = sym crate::syscall::fast::TABLE,
    declined = const FastStatus::Declined as u64,
);

// SAFETY: the syscall entry stub is defined by the global_asm! above; it is only ever
// installed in LSTAR, never called from Rust.
unsafe extern "C" {
    fn oxv_syscall_entry();
}

/// The full path: any system call, on a complete frame.
#[unsafe(no_mangle)]
extern "C" fn oxv_syscall_rust(frame: &mut TrapFrame) -> bool {
    // One CPU: straight to the handler (one load and a branch for SMP's sake).
    if crate::smp::active() {
        syscall_locked(frame);
    } else {
        crate::syscall::handle(frame);
    }
    needs_iret(frame)
}

/// A light-path call ran and left work for the way back to ring 3 (see the module doc).
#[unsafe(no_mangle)]
extern "C" fn oxv_syscall_return_work(frame: &mut TrapFrame) -> bool {
    let locked = crate::smp::lock();
    crate::syscall::return_work(frame);
    if locked {
        crate::smp::unlock();
    }
    needs_iret(frame)
}

/// Whether `frame` cannot go back with `sysret`: only an unchanged, canonical user return
/// context can.
fn needs_iret(frame: &TrapFrame) -> bool {
    !(frame.rcx == frame.rip
        && frame.r11 == frame.rflags
        && frame.rip < 0x0000_7fff_ffff_f000
        && frame.cs == USER_CS as u64
        && frame.ss == USER_DS as u64)
}

/// A system call on an SMP machine: under the kernel lock (see `crate::smp`), unless it is
/// a socket data call that runs without it ([`crate::syscall::unlocked`]). Such a call may
/// take the lock part-way, so the way out releases it if this CPU holds it (on entry from
/// ring 3 it never does).
#[inline(never)]
fn syscall_locked(frame: &mut TrapFrame) {
    if !crate::syscall::unlocked::try_run(frame) {
        crate::smp::lock();
        crate::syscall::handle(frame);
    }
    crate::smp::unlock_if_held();
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
