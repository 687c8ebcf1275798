//! What the kernel does with an exception or interrupt.
//!
//! - A page fault from the app, or from the kernel's user-copy routine on a user address, is
//!   first offered to the app's address space (demand paging). If the address is not valid
//!   for the access, the app gets SIGSEGV — or the user copy resumes at its fixup and returns
//!   `EFAULT`.
//! - Any other exception from the app is the matching signal (SIGILL, SIGFPE, SIGBUS,
//!   SIGTRAP, SIGSEGV), which kills it until signal handlers exist.
//! - An exception in the kernel is a bug: a panic with the full register dump.
//! - An exception from a thread told to die (`process::must_die`) just ends it: its process
//!   already has its status (a kill), and its memory may be gone (the OOM reaper).

use crate::arch::trap::TrapFrame;
use crate::arch::usercopy;
use crate::arch::{apic, cpu};
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::Signal;
use oxv_abi::user::USER_END;

const NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 FP error",
    "alignment check",
    "machine check",
    "SIMD FP error",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
];

/// Page-fault error-code bits.
mod pf {
    pub const WRITE: u64 = 2;
    pub const INSTRUCTION: u64 = 16;
}

/// The kind of access that faulted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// Entry from the arch trap stub.
pub fn handle(frame: &mut TrapFrame) {
    if frame.vector < 32
        && frame.came_from_user()
        && crate::sched::with_running(crate::process::must_die)
    {
        // Told to die (its process was killed): the fault of a thread on its way out is no
        // signal of its own (the OOM reaper may have taken the memory it touched).
        crate::syscall::thread::exit_thread();
    }
    match frame.vector {
        14 => page_fault(frame),
        v if v == apic::TIMER_VECTOR as u64 => crate::sched::timer_interrupt(),
        v if v == apic::SPURIOUS_VECTOR as u64 => {}
        // Another CPU made work for this one: the idle loop or the return to ring 3 below
        // looks at it.
        v if v == apic::KICK_VECTOR as u64 => apic::eoi(),
        v if v == apic::isa_vector(crate::devices::COM1_IRQ) as u64 => {
            crate::devices::stdin_interrupt()
        }
        v if crate::virtio::owns_vector(v) => crate::virtio::interrupt(v),
        32..=255 => apic::eoi(), // an interrupt nobody asked for (a legacy PIC line): drop it
        v => exception(frame, v),
    }
    if frame.came_from_user() {
        crate::signal::on_return_to_user(&crate::process::current(), frame, None);
    }
}

fn page_fault(frame: &mut TrapFrame) {
    let addr = cpu::cr2();
    let access = if frame.error & pf::INSTRUCTION != 0 {
        Access::Execute
    } else if frame.error & pf::WRITE != 0 {
        Access::Write
    } else {
        Access::Read
    };
    let fixup = if frame.came_from_user() {
        None
    } else {
        usercopy::fixup_for(frame.rip)
    };
    if frame.came_from_user() || (fixup.is_some() && addr < USER_END) {
        match crate::process::resolve_fault(addr, access) {
            Ok(()) => return,
            Err(_) if fixup.is_some() => {
                frame.rip = fixup.expect("checked above");
                return;
            }
            Err((sig, code)) => {
                let info = SigInfo::from_fault(sig.number() as i32, code, addr);
                crate::signal::force_fault(frame, sig, info);
                return;
            }
        }
    }
    if let Some(resume) = fixup {
        // A kernel-half address handed to the user copy (the range check should have
        // caught it, but never crash for it).
        frame.rip = resume;
        return;
    }
    kernel_fault(frame, Some(addr));
}

fn exception(frame: &mut TrapFrame, vector: u64) {
    if frame.came_from_user() {
        // What Linux's handlers send (arch/x86/kernel/traps.c): si_addr is the faulting
        // instruction, except for SI_KERNEL (#GP, int3, ...), where it is 0.
        let (sig, code) = match vector {
            0 => (Signal::SIGFPE, code::FPE_INTDIV),
            16 | 19 => match fp_exception_code(vector == 19) {
                Some(code) => (Signal::SIGFPE, code),
                // Nothing unmasked is pending (Linux ignores such a spurious exception).
                None => return,
            },
            1 => (Signal::SIGTRAP, debug_code()),
            3 => (Signal::SIGTRAP, code::SI_KERNEL),
            6 => (Signal::SIGILL, code::ILL_ILLOPN),
            11 | 12 | 17 => (Signal::SIGBUS, code::SI_KERNEL),
            _ => (Signal::SIGSEGV, code::SI_KERNEL),
        };
        let addr = if code == code::SI_KERNEL {
            0
        } else {
            frame.rip
        };
        crate::signal::force_fault(
            frame,
            sig,
            SigInfo::from_fault(sig.number() as i32, code, addr),
        );
        return;
    }
    kernel_fault(frame, None);
}

/// The `si_code` of an x87 (#MF) or SIMD (#XM) floating-point exception, from the first
/// pending unmasked exception in Linux's order of precedence; `None` if there is none.
fn fp_exception_code(simd: bool) -> Option<i32> {
    let err = crate::arch::context::unmasked_fp_exceptions(simd);
    Some(if err & 0x01 != 0 {
        code::FPE_FLTINV
    } else if err & 0x04 != 0 {
        code::FPE_FLTDIV
    } else if err & 0x08 != 0 {
        code::FPE_FLTOVF
    } else if err & 0x12 != 0 {
        code::FPE_FLTUND
    } else if err & 0x20 != 0 {
        code::FPE_FLTRES
    } else {
        return None;
    })
}

/// The `si_code` of a debug exception from ring 3: a single step (`TF`, DR6.BS) is
/// `TRAP_TRACE`, anything else a breakpoint.
fn debug_code() -> i32 {
    const DR6_BS: u64 = 1 << 14;
    if crate::arch::cpu::read_dr6() & DR6_BS != 0 {
        code::TRAP_TRACE
    } else {
        code::TRAP_BRKPT
    }
}

fn kernel_fault(frame: &TrapFrame, addr: Option<u64>) -> ! {
    let name = NAMES
        .get(frame.vector as usize)
        .copied()
        .unwrap_or("interrupt");
    dump(frame, addr);
    // A page fault on a stack's guard page could not push its own frame, so it arrives as a
    // double fault (on its IST stack) with CR2 still naming the guard page.
    let cr2 = addr.unwrap_or_else(crate::arch::cpu::cr2);
    if matches!(frame.vector, 8 | 14) && crate::mem::is_stack_guard(cr2) {
        panic!(
            "kernel stack overflow (guard page {:#x} hit) at rip {:#x}",
            cr2, frame.rip
        );
    }
    panic!(
        "{} (vector {}, error {:#x}) in the kernel at rip {:#x}",
        name, frame.vector, frame.error, frame.rip
    );
}

/// Prints a trap frame to the kernel log.
pub fn dump(f: &TrapFrame, cr2: Option<u64>) {
    let name = NAMES.get(f.vector as usize).copied().unwrap_or("interrupt");
    let origin = if f.came_from_user() {
        "app (ring 3)"
    } else {
        "kernel (ring 0)"
    };
    kprintln!(
        "oxv: {} (vector {}, error {:#x}) from the {}",
        name,
        f.vector,
        f.error,
        origin
    );
    if let Some(a) = cr2 {
        kprintln!("  cr2 {a:#018x}");
    }
    kprintln!(
        "  rip {:#018x} cs {:#x} rflags {:#x} rsp {:#018x} ss {:#x}",
        f.rip,
        f.cs,
        f.rflags,
        f.rsp,
        f.ss
    );
    kprintln!(
        "  rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx
    );
    kprintln!(
        "  rsi {:#018x} rdi {:#018x} rbp {:#018x} r8  {:#018x}",
        f.rsi,
        f.rdi,
        f.rbp,
        f.r8
    );
    kprintln!(
        "  r9  {:#018x} r10 {:#018x} r11 {:#018x} r12 {:#018x}",
        f.r9,
        f.r10,
        f.r11,
        f.r12
    );
    kprintln!(
        "  r13 {:#018x} r14 {:#018x} r15 {:#018x}",
        f.r13,
        f.r14,
        f.r15
    );
}
