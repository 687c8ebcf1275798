//! Frame-pointer backtraces (the kernel is built with `force-frame-pointers`).

use core::arch::asm;

/// Calls `f` with each return address on the current call stack, innermost first.
pub fn walk(mut f: impl FnMut(u64)) {
    let mut rbp: u64;
    // SAFETY: reads the frame-pointer register only.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    for _ in 0..64 {
        // Frames live on kernel stacks, all in the kernel half; stop at anything else
        // (the boot stub pushed a null frame pointer as the end of the chain).
        if rbp < super::paging::DIRECT_MAP_BASE || rbp % 8 != 0 {
            break;
        }
        // SAFETY: `rbp` is an aligned kernel-half address in a chain of frames that the
        // compiler built with frame pointers; kernel stacks are always mapped.
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        f(ret);
        if next <= rbp {
            break;
        }
        rbp = next;
    }
}
