//! The x86_64 signal frame: what Linux pushes on the user stack to run a handler, and what
//! `rt_sigreturn(2)` reads back (`arch/x86/include/uapi/asm/sigcontext.h`,
//! `include/uapi/asm-generic/ucontext.h`, `arch/x86/kernel/signal_64.c`'s `rt_sigframe`).
//!
//! From the handler's stack pointer up: the return address (`sa_restorer`), the
//! [`UContext`] (general registers in a [`SigContext`], the signal mask, the alternate stack),
//! the [`SigInfo`], and, separately and 64-byte aligned below the frame, the XSAVE image the
//! `SigContext::fpstate` pointer names (an FXSAVE image whose software bytes
//! [`FpxSwBytes`] announce the extended XSAVE part, ended by [`FP_XSTATE_MAGIC2`]).

use linux_raw_sys::general as raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The general registers saved for a handler (`struct sigcontext`, 256 bytes).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[allow(missing_docs)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    /// The exception's error code.
    pub err: u64,
    /// The exception vector.
    pub trapno: u64,
    /// The first word of the blocked mask (legacy).
    pub oldmask: u64,
    /// The faulting address of a page fault.
    pub cr2: u64,
    /// User address of the saved FPU state (0 if none).
    pub fpstate: u64,
    pub reserved1: [u64; 8],
}

/// The kernel's `stack_t` inside a ucontext.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct UcStack {
    /// Base.
    pub ss_sp: u64,
    /// Flags (`SS_ONSTACK`, `SS_DISABLE`, `SS_AUTODISARM`).
    pub ss_flags: i32,
    /// Padding.
    pub _pad: u32,
    /// Size.
    pub ss_size: u64,
}

/// The kernel's `struct ucontext` (304 bytes; glibc's `ucontext_t` extends it).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct UContext {
    /// `UC_*` flags.
    pub uc_flags: u64,
    /// Unused by the kernel.
    pub uc_link: u64,
    /// The alternate stack at delivery.
    pub uc_stack: UcStack,
    /// The interrupted registers.
    pub uc_mcontext: SigContext,
    /// The blocked mask to restore.
    pub uc_sigmask: u64,
}

/// `siginfo_t`: 128 bytes, a header then a union whose member depends on the signal and code.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SigInfo {
    /// The signal number.
    pub si_signo: i32,
    /// An errno value (unused by Linux for most signals).
    pub si_errno: i32,
    /// Why the signal was sent (`SI_USER`, `SEGV_MAPERR`, ...).
    pub si_code: i32,
    /// Padding before the union.
    pub _pad0: i32,
    /// The union: `si_pid`/`si_uid` for kill, `si_addr` for faults, and so on.
    pub fields: [u64; 14],
}

impl SigInfo {
    /// A signal sent by a process (`kill`, `tgkill`): `si_pid`, `si_uid`.
    pub fn from_process(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut s = SigInfo {
            si_signo: signo,
            si_code: code,
            ..SigInfo::default()
        };
        s.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
        s
    }

    /// A child's state change (`SIGCHLD`, waitid(2)): `si_pid`, `si_uid`, `si_status` (the
    /// exit code or the signal), `si_utime` and `si_stime` (clock ticks).
    pub fn from_child(
        signo: i32,
        code: i32,
        pid: i32,
        uid: u32,
        status: i32,
        utime: u64,
        stime: u64,
    ) -> SigInfo {
        let mut s = SigInfo::from_process(signo, code, pid, uid);
        s.fields[1] = status as u32 as u64;
        s.fields[2] = utime;
        s.fields[3] = stime;
        s
    }

    /// A fault (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`): `si_addr`.
    pub fn from_fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut s = SigInfo {
            si_signo: signo,
            si_code: code,
            ..SigInfo::default()
        };
        s.fields[0] = addr;
        s
    }

    /// `si_addr` (for faults).
    pub fn addr(&self) -> u64 {
        self.fields[0]
    }
}

/// The software bytes at offset 464 of the FXSAVE image in a signal frame.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FpxSwBytes {
    /// [`FP_XSTATE_MAGIC1`] when an XSAVE image follows.
    pub magic1: u32,
    /// Bytes of the XSAVE image plus the trailing magic.
    pub extended_size: u32,
    /// The XSAVE features present (XCR0).
    pub xfeatures: u64,
    /// Bytes of the XSAVE image.
    pub xstate_size: u32,
    /// Reserved.
    pub padding: [u32; 7],
}

/// Marks an XSAVE-format signal frame (in [`FpxSwBytes::magic1`]).
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// Follows the XSAVE image in a signal frame.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of [`FpxSwBytes`] in the FXSAVE image.
pub const FPX_SW_BYTES_OFFSET: usize = 464;

/// `uc_flags`: the frame holds an XSAVE image.
pub const UC_FP_XSTATE: u64 = 1;
/// `uc_flags`: `ss` in the sigcontext is valid.
pub const UC_SIGCONTEXT_SS: u64 = 2;
/// `uc_flags`: rt_sigreturn restores `ss` as saved.
pub const UC_STRICT_RESTORE_SS: u64 = 4;

/// The frame below the handler's first stack slot: `pretcode`, then the ucontext and siginfo.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RtSigframe {
    /// The handler's return address: the `sa_restorer` trampoline calling rt_sigreturn.
    pub pretcode: u64,
    /// The saved context.
    pub uc: UContext,
    /// The signal's information.
    pub info: SigInfo,
}

/// `si_code` values.
pub mod code {
    use super::raw;
    /// Sent by kill(2).
    pub const SI_USER: i32 = raw::SI_USER as i32;
    /// Sent by the kernel.
    pub const SI_KERNEL: i32 = raw::SI_KERNEL as i32;
    /// Sent by tkill(2)/tgkill(2).
    pub const SI_TKILL: i32 = raw::SI_TKILL;
    /// Sent by a POSIX timer's expiry.
    pub const SI_TIMER: i32 = raw::SI_TIMER;
    /// SIGSEGV: no mapping at the address.
    pub const SEGV_MAPERR: i32 = raw::SEGV_MAPERR as i32;
    /// SIGSEGV: the mapping forbids the access.
    pub const SEGV_ACCERR: i32 = raw::SEGV_ACCERR as i32;
    /// SIGBUS: nonexistent physical address (past the end of a file mapping).
    pub const BUS_ADRERR: i32 = raw::BUS_ADRERR as i32;
    /// SIGILL: illegal opcode.
    pub const ILL_ILLOPN: i32 = raw::ILL_ILLOPN as i32;
    /// SIGFPE: integer divide by zero.
    pub const FPE_INTDIV: i32 = raw::FPE_INTDIV as i32;
    /// SIGFPE: floating-point divide by zero.
    pub const FPE_FLTDIV: i32 = raw::FPE_FLTDIV as i32;
    /// SIGFPE: floating-point overflow.
    pub const FPE_FLTOVF: i32 = raw::FPE_FLTOVF as i32;
    /// SIGFPE: floating-point underflow.
    pub const FPE_FLTUND: i32 = raw::FPE_FLTUND as i32;
    /// SIGFPE: floating-point inexact result.
    pub const FPE_FLTRES: i32 = raw::FPE_FLTRES as i32;
    /// SIGFPE: invalid floating-point operation.
    pub const FPE_FLTINV: i32 = raw::FPE_FLTINV as i32;
    /// SIGTRAP: breakpoint.
    pub const TRAP_BRKPT: i32 = raw::TRAP_BRKPT as i32;
    /// SIGCHLD: the child exited.
    pub const CLD_EXITED: i32 = raw::CLD_EXITED as i32;
    /// SIGCHLD: the child was killed by a signal.
    pub const CLD_KILLED: i32 = raw::CLD_KILLED as i32;
    /// SIGCHLD: the child was killed by a signal and dumped core.
    pub const CLD_DUMPED: i32 = raw::CLD_DUMPED as i32;
    /// SIGCHLD: the child was stopped by a signal.
    pub const CLD_STOPPED: i32 = raw::CLD_STOPPED as i32;
    /// SIGCHLD: the stopped child was continued.
    pub const CLD_CONTINUED: i32 = raw::CLD_CONTINUED as i32;
    /// SIGTRAP: single step.
    pub const TRAP_TRACE: i32 = raw::TRAP_TRACE as i32;
}

const _: () = assert!(core::mem::size_of::<SigContext>() == 256);
const _: () = assert!(core::mem::offset_of!(SigContext, rip) == 128);
const _: () = assert!(core::mem::offset_of!(SigContext, cs) == 144);
const _: () = assert!(core::mem::offset_of!(SigContext, fpstate) == 184);
const _: () = assert!(core::mem::size_of::<UContext>() == 304);
const _: () = assert!(core::mem::offset_of!(UContext, uc_mcontext) == 40);
const _: () = assert!(core::mem::size_of::<SigInfo>() == core::mem::size_of::<raw::siginfo>());
const _: () = assert!(core::mem::size_of::<FpxSwBytes>() == 48);
const _: () = assert!(core::mem::size_of::<RtSigframe>() == 440);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siginfo_fields() {
        let i = SigInfo::from_fault(11, code::SEGV_MAPERR, 0xdead);
        assert_eq!((i.si_signo, i.si_code, i.addr()), (11, 1, 0xdead));
        let k = SigInfo::from_process(10, code::SI_TKILL, 7, 0);
        assert_eq!(k.fields[0] as u32, 7);
        assert_eq!(code::SI_TKILL, -6);
    }
}
