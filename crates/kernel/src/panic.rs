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
    if is_allocation_failure(info) {
        console::log_fmt_unlocked(format_args!(
            "oxv: the kernel is out of memory: its heap could not grow and its emergency \
             reserve is spent (the OOM killer's victim had not freed its memory yet); \
             give the VM more memory (--mem)\n"
        ));
    }
    // Link-time addresses (the KASLR slide taken off): the host symbolizes them with the
    // kernel ELF as is, and the log does not give the slide away.
    let slide = crate::arch::boot::kaslr_slide();
    console::log_fmt_unlocked(format_args!("\x1eoxv:backtrace"));
    crate::arch::backtrace::walk(|ret| {
        console::log_fmt_unlocked(format_args!(" {:#x}", ret.wrapping_sub(slide)));
    });
    console::log_fmt_unlocked(format_args!("\n"));
    let _ = cpu::rdtsc;
    crate::arch::exit_vm(1);
}

/// Whether the panic is the allocation error handler's (`memory allocation of N bytes
/// failed`): the kernel heap could not serve an allocation even from its reserve.
fn is_allocation_failure(info: &PanicInfo<'_>) -> bool {
    /// Compares the formatted message with a prefix, without allocating.
    struct StartsWith {
        rest: &'static [u8],
        matches: bool,
    }
    impl core::fmt::Write for StartsWith {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = self.rest.len().min(s.len());
            if s.as_bytes()[..n] != self.rest[..n] {
                self.matches = false;
                return Err(core::fmt::Error);
            }
            self.rest = &self.rest[n..];
            Ok(())
        }
    }
    let mut w = StartsWith {
        rest: b"memory allocation of ",
        matches: true,
    };
    let _ = core::fmt::write(&mut w, format_args!("{}", info.message()));
    w.matches && w.rest.is_empty()
}
