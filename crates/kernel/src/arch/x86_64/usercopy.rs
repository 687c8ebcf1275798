//! Copies between kernel buffers and the app's memory, with faults turned into errors.
//!
//! The copy is `rep movsq` for the quadwords and `rep movsb` for the tail, bracketed by
//! `stac`/`clac` (SMAP forbids kernel access to user pages otherwise). Quadwords, because
//! emulators run `rep movsb` one byte per iteration (8x slower under QEMU TCG) while hardware
//! with ERMS runs both at the same speed.
//!
//! A page fault on either instruction first goes through demand paging like any user fault
//! (both are restartable, so a resolved fault simply continues the copy). If the address is
//! not valid for the app, the fault handler resumes at a fixup: for the quadword copy, the
//! fixup finishes byte by byte, so the count of bytes copied before the bad address is exact;
//! for the byte copy, it returns the number of bytes left, and the caller gets `Fault`.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};
use oxv_abi::user::{Fault, UserAddr, UserMemory};

global_asm!(
    r#"
    .section .text.oxv_usercopy, "ax", @progbits
    .p2align 4
    /* usize oxv_copy_user_smap(dst, src, len): returns bytes NOT copied. */
    .global oxv_copy_user_smap
oxv_copy_user_smap:
    mov rcx, rdx
    shr rcx, 3
    and edx, 7
    stac
    .global oxv_copy_q_smap
oxv_copy_q_smap:
    rep movsq
    mov rcx, rdx
    .global oxv_copy_b_smap
oxv_copy_b_smap:
    rep movsb
    clac
    xor eax, eax
    ret
    .global oxv_copy_fixup_q_smap
oxv_copy_fixup_q_smap:
    lea rcx, [rdx + rcx * 8]        /* bytes left; find the exact fault byte by byte */
    jmp oxv_copy_b_smap
    .global oxv_copy_fixup_b_smap
oxv_copy_fixup_b_smap:
    clac
    mov rax, rcx
    ret

    .global oxv_copy_user_plain
oxv_copy_user_plain:
    mov rcx, rdx
    shr rcx, 3
    and edx, 7
    .global oxv_copy_q_plain
oxv_copy_q_plain:
    rep movsq
    mov rcx, rdx
    .global oxv_copy_b_plain
oxv_copy_b_plain:
    rep movsb
    xor eax, eax
    ret
    .global oxv_copy_fixup_q_plain
oxv_copy_fixup_q_plain:
    lea rcx, [rdx + rcx * 8]
    jmp oxv_copy_b_plain
    .global oxv_copy_fixup_b_plain
oxv_copy_fixup_b_plain:
    mov rax, rcx
    ret
    "#
);

// SAFETY: these are the copy routines and fault-fixup labels defined by the global_asm!
// above, with the signatures declared here (System V ABI; the labels are never called).
unsafe extern "C" {
    fn oxv_copy_user_smap(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn oxv_copy_user_plain(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn oxv_copy_q_smap();
    fn oxv_copy_b_smap();
    fn oxv_copy_fixup_q_smap();
    fn oxv_copy_fixup_b_smap();
    fn oxv_copy_q_plain();
    fn oxv_copy_b_plain();
    fn oxv_copy_fixup_q_plain();
    fn oxv_copy_fixup_b_plain();
}

static SMAP: AtomicBool = AtomicBool::new(false);

/// Records whether CR4.SMAP is on (then the copy must use `stac`/`clac`).
pub fn set_smap(on: bool) {
    SMAP.store(on, Ordering::Relaxed);
}

fn addr(f: unsafe extern "C" fn()) -> u64 {
    f as *const () as usize as u64
}

/// If `rip` is one of the user-copy instructions, the address to resume at to report a fault.
pub fn fixup_for(rip: u64) -> Option<u64> {
    let table = [
        (
            oxv_copy_q_smap as unsafe extern "C" fn(),
            oxv_copy_fixup_q_smap as unsafe extern "C" fn(),
        ),
        (oxv_copy_b_smap, oxv_copy_fixup_b_smap),
        (oxv_copy_q_plain, oxv_copy_fixup_q_plain),
        (oxv_copy_b_plain, oxv_copy_fixup_b_plain),
    ];
    table
        .iter()
        .find(|(insn, _)| addr(*insn) == rip)
        .map(|(_, fixup)| addr(*fixup))
}

fn copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
    // SAFETY: callers check that the user side of the range lies entirely in the user half
    // and the kernel side is a valid buffer of `len` bytes; faults on the user side are
    // caught by the page-fault handler through `fixup_for` and reported as bytes left.
    unsafe {
        if SMAP.load(Ordering::Relaxed) {
            oxv_copy_user_smap(dst, src, len)
        } else {
            oxv_copy_user_plain(dst, src, len)
        }
    }
}

/// The current app's memory, reached through the live page tables.
pub struct CurrentUserMemory;

impl UserMemory for CurrentUserMemory {
    fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault> {
        if !src.range_is_user(dst.len() as u64) {
            return Err(Fault { addr: src });
        }
        let left = copy(dst.as_mut_ptr(), src.get() as *const u8, dst.len());
        if left == 0 {
            Ok(())
        } else {
            Err(Fault {
                addr: UserAddr::new(src.get() + (dst.len() - left) as u64),
            })
        }
    }

    fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault> {
        if !dst.range_is_user(src.len() as u64) {
            return Err(Fault { addr: dst });
        }
        let left = copy(dst.get() as *mut u8, src.as_ptr(), src.len());
        if left == 0 {
            Ok(())
        } else {
            Err(Fault {
                addr: UserAddr::new(dst.get() + (src.len() - left) as u64),
            })
        }
    }
}
