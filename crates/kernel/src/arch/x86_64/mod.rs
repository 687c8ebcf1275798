//! x86_64: boot, CPU setup, traps, system calls, page tables. All of the kernel's `unsafe`
//! lives under this module, each block with its justification.

pub mod apic;
pub mod backtrace;
pub mod boot;
pub mod context;
pub mod cpu;
pub mod gdt;
pub mod kernel_map;
pub mod paging;
pub mod percpu;
pub mod port;
pub mod pvh;
pub mod smp;
pub mod syscall;
pub mod trap;
pub mod user_pt;
pub mod usercopy;

use oxv_drivers::debug_exit::DebugExit;

/// Stops the VM through QEMU's isa-debug-exit (then halts, on VMMs without it).
pub fn exit_vm(value: u32) -> ! {
    DebugExit::new(port::X86Ports, 0xf4).exit(value);
    cpu::halt_forever()
}
