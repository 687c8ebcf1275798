//! Kernel panics: print the message and a frame-pointer backtrace as control records, then stop
//! the VM. The host CLI symbolizes the addresses with the kernel ELF's symbol table.

use crate::arch::cpu;
use crate::console;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if PANICKING.swap(true, Ordering::SeqCst) {
        console::log_fmt_unlocked(format_args!("oxv: panic while panicking\n"));
        crate::arch::exit_vm(1);
    }
    console::log_fmt_unlocked(format_args!("\x1eoxv:panic\n"));
    console::log_fmt_unlocked(format_args!("oxv: kernel panic: {}\n", info));
    console::log_fmt_unlocked(format_args!("\x1eoxv:backtrace"));
    crate::arch::backtrace::walk(|ret| {
        console::log_fmt_unlocked(format_args!(" {ret:#x}"));
    });
    console::log_fmt_unlocked(format_args!("\n"));
    let _ = cpu::rdtsc;
    crate::arch::exit_vm(1);
}
