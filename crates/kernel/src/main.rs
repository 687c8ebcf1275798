//! # oxv-kernel: the oxv unikernel
//!
//! Boots through PVH, sets up one x86_64 address space with the kernel in the top half and
//! a Linux app in ring 3, and serves the app's system calls from the oxv crates. This crate
//! is glue: the policy lives in `oxv-mm`, `oxv-sched`, `oxv-vfs`, `oxv-net`; the hardware
//! access in `arch` (all of the kernel's `unsafe`) and `oxv-drivers`.
//!
//! Built only for `x86_64-unknown-none`; on the host this binary just says so. Modules with
//! no hardware dependency (the syscall coverage table) also build on the host for tests.
#![cfg_attr(target_os = "none", no_std, no_main)]
// On the host only the hardware-free modules build, for their tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

extern crate alloc;

#[cfg(target_os = "none")]
#[macro_use]
mod console;

mod acpi;
mod coverage;
mod random;
mod stdin_frame;
mod vdso;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod devices;
#[cfg(target_os = "none")]
mod disks;
#[cfg(target_os = "none")]
mod exec;
#[cfg(target_os = "none")]
mod file_map;
#[cfg(target_os = "none")]
mod idle_clock;
#[cfg(target_os = "none")]
mod irqstat;
#[cfg(target_os = "none")]
mod jobctl;
#[cfg(target_os = "none")]
mod mem;
#[cfg(target_os = "none")]
mod memmap;
mod mptable;
#[cfg(target_os = "none")]
mod net;
#[cfg(target_os = "none")]
mod oom;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
mod process;
/// What /proc shows, from the process table.
#[cfg(target_os = "none")]
mod procinfo;
#[cfg(target_os = "none")]
mod rseq;
#[cfg(target_os = "none")]
mod sched;
#[cfg(target_os = "none")]
mod signal;
#[cfg(target_os = "none")]
mod signalfd;
#[cfg(target_os = "none")]
mod smp;
#[cfg(target_os = "none")]
mod sync;
#[cfg(target_os = "none")]
mod syscall;
#[cfg(target_os = "none")]
mod thread;
#[cfg(target_os = "none")]
mod time;
#[cfg(target_os = "none")]
mod timerfd;
#[cfg(target_os = "none")]
mod timers;
#[cfg(target_os = "none")]
mod trap;
#[cfg(target_os = "none")]
mod tty_signals;
#[cfg(target_os = "none")]
mod vdso_mapping;
#[cfg(target_os = "none")]
mod virtio;
// The bounce pool's slot counting is pure: its tests run on the host.
#[cfg(all(test, not(target_os = "none")))]
#[path = "virtio/bounce.rs"]
mod virtio_bounce;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "oxv-kernel is a unikernel: build it with --target x86_64-unknown-none (`cargo oxv run` does)"
    );
    std::process::exit(2);
}

/// The first Rust code, on the boot stack with the boot page tables. `start_info` is the
/// physical address of PVH's `hvm_start_info`; `entry_tsc` the TSC at the first instruction.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
extern "C" fn oxv_kernel_start(start_info: u64, entry_tsc: u64) -> ! {
    boot::start(start_info, entry_tsc)
}
