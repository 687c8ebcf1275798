//! Signals as rt_sigaction(2), rt_sigprocmask(2), sigaltstack(2) and kill(2) see them.
//!
//! These are the *kernel's* views, which differ from glibc's: the kernel `struct sigaction`
//! ([`KernelSigaction`]) orders its fields handler, flags, restorer, mask, and its mask is
//! one 64-bit word ([`SigSet`]), not glibc's 1024-bit `sigset_t`. A `sigsetsize` argument
//! other than 8 is `EINVAL` on x86_64 ([`SIGSET_SIZE`]).
//!
//! Signal numbers run from 1 to 64 ([`Signal`]); 0 is not a signal (kill(2) uses it to probe
//! a process, which its handler checks before converting). The default actions are those of
//! signal(7).

use crate::errno::Errno;
use core::fmt;
use linux_raw_sys::general as raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The number of signals (`_NSIG`): signals are `1..=NSIG`.
pub const NSIG: u32 = raw::_NSIG;

/// The `sigsetsize` argument every rt_sig* call must pass on x86_64.
pub const SIGSET_SIZE: usize = core::mem::size_of::<SigSet>();

/// `SIG_DFL`: the handler value meaning "default action" (`(__sighandler_t)0`).
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`: the handler value meaning "ignore" (`(__sighandler_t)1`).
pub const SIG_IGN: u64 = 1;

/// `SA_*` flags of [`KernelSigaction::flags`].
pub mod sa {
    use linux_raw_sys::general as raw;
    /// `SA_NOCLDSTOP`
    pub const NOCLDSTOP: u64 = raw::SA_NOCLDSTOP as u64;
    /// `SA_NOCLDWAIT`
    pub const NOCLDWAIT: u64 = raw::SA_NOCLDWAIT as u64;
    /// `SA_SIGINFO`: the handler takes `(sig, siginfo_t *, ucontext_t *)`.
    pub const SIGINFO: u64 = raw::SA_SIGINFO as u64;
    /// `SA_RESTORER`: `restorer` holds the return trampoline (libc always sets it on x86_64).
    pub const RESTORER: u64 = raw::SA_RESTORER as u64;
    /// `SA_ONSTACK`: run on the alternate stack from sigaltstack(2).
    pub const ONSTACK: u64 = raw::SA_ONSTACK as u64;
    /// `SA_RESTART`: restart interrupted system calls.
    pub const RESTART: u64 = raw::SA_RESTART as u64;
    /// `SA_NODEFER`: do not block the signal while its handler runs.
    pub const NODEFER: u64 = raw::SA_NODEFER as u64;
    /// `SA_RESETHAND`: reset to `SIG_DFL` on delivery.
    pub const RESETHAND: u64 = raw::SA_RESETHAND as u64;
}

/// `SS_*` flags of [`StackT::ss_flags`].
pub mod ss {
    use linux_raw_sys::general as raw;
    /// `SS_ONSTACK`: (reported) the thread is running on the alternate stack.
    pub const ONSTACK: i32 = raw::SS_ONSTACK as i32;
    /// `SS_DISABLE`: no alternate stack.
    pub const DISABLE: i32 = raw::SS_DISABLE as i32;
    /// `SS_AUTODISARM`: disarm the stack while a handler runs on it.
    pub const AUTODISARM: i32 = raw::SS_AUTODISARM as i32;
}

/// `MINSIGSTKSZ`: the smallest alternate stack sigaltstack(2) accepts (`ENOMEM` below).
pub const MINSIGSTKSZ: usize = raw::MINSIGSTKSZ as usize;
/// `SIGSTKSZ`: the recommended alternate stack size.
pub const SIGSTKSZ: usize = raw::SIGSTKSZ as usize;

/// A signal number in `1..=64`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u8);

/// What happens when a signal arrives with `SIG_DFL` (signal(7), "Standard signals").
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate the process and dump core (oxv reports it like a termination).
    CoreDump,
    /// Ignore the signal.
    Ignore,
    /// Stop the process.
    Stop,
    /// Continue a stopped process.
    Continue,
}

macro_rules! signals {
    ($($name:ident),* $(,)?) => {
        impl Signal {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Signal = Signal(raw::$name as u8);
            )*

            /// The standard (non-real-time) signal name, as strace prints it (`"SIGINT"`).
            const fn standard_name(self) -> Option<&'static str> {
                $(
                    if self.0 as u32 == raw::$name {
                        return Some(stringify!($name));
                    }
                )*
                None
            }
        }
    };
}

// SIGIOT, SIGPOLL and SIGUNUSED are aliases; listing them after the primary names keeps
// `standard_name` returning the primary one.
signals! {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP,
    SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR,
    SIGSYS,
}

impl Signal {
    /// The first real-time signal number the kernel defines (`SIGRTMIN` = 32).
    pub const SIGRTMIN: Signal = Signal(raw::SIGRTMIN as u8);

    /// The signal with number `n`, if `1 <= n <= 64`.
    pub const fn new(n: u32) -> Option<Signal> {
        if n >= 1 && n <= NSIG {
            Some(Signal(n as u8))
        } else {
            None
        }
    }

    /// The signal number.
    pub const fn number(self) -> u32 {
        self.0 as u32
    }

    /// The bit of this signal in a [`SigSet`].
    pub const fn bit(self) -> u64 {
        1u64 << (self.0 - 1)
    }

    /// Whether this is a real-time signal (queued, not merged).
    pub const fn is_realtime(self) -> bool {
        self.0 as u32 >= raw::SIGRTMIN
    }

    /// `SIGKILL` and `SIGSTOP` cannot be caught, ignored or blocked.
    pub const fn is_unblockable(self) -> bool {
        self.0 as u32 == raw::SIGKILL || self.0 as u32 == raw::SIGSTOP
    }

    /// The action `SIG_DFL` takes (signal(7)); real-time signals terminate.
    pub const fn default_action(self) -> DefaultAction {
        match self.0 as u32 {
            raw::SIGCHLD | raw::SIGURG | raw::SIGWINCH => DefaultAction::Ignore,
            raw::SIGSTOP | raw::SIGTSTP | raw::SIGTTIN | raw::SIGTTOU => DefaultAction::Stop,
            raw::SIGCONT => DefaultAction::Continue,
            raw::SIGQUIT
            | raw::SIGILL
            | raw::SIGTRAP
            | raw::SIGABRT
            | raw::SIGBUS
            | raw::SIGFPE
            | raw::SIGSEGV
            | raw::SIGXCPU
            | raw::SIGXFSZ
            | raw::SIGSYS => DefaultAction::CoreDump,
            _ => DefaultAction::Terminate,
        }
    }
}

impl TryFrom<i32> for Signal {
    type Error = Errno;
    /// `EINVAL` outside `1..=64`, as rt_sigaction(2) and kill(2) return.
    fn try_from(n: i32) -> Result<Signal, Errno> {
        u32::try_from(n)
            .ok()
            .and_then(Signal::new)
            .ok_or(Errno::EINVAL)
    }
}

/// strace's names: `SIGINT`, `SIGRTMIN`, then `SIGRT_1` .. `SIGRT_32`.
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.standard_name() {
            Some(n) => f.write_str(n),
            None if self.0 as u32 == raw::SIGRTMIN => f.write_str("SIGRTMIN"),
            None => write!(f, "SIGRT_{}", self.0 as u32 - raw::SIGRTMIN),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The kernel's signal mask: bit `n - 1` stands for signal `n` (`kernel_sigset_t`).
#[repr(transparent)]
#[derive(
    Copy, Clone, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SigSet(pub u64);

const _: () = {
    assert!(core::mem::size_of::<SigSet>() == core::mem::size_of::<raw::kernel_sigset_t>());
    assert!(NSIG as usize == 8 * core::mem::size_of::<SigSet>());
};

impl SigSet {
    /// No signals.
    pub const EMPTY: SigSet = SigSet(0);
    /// Every signal.
    pub const FULL: SigSet = SigSet(u64::MAX);

    /// Whether `sig` is in the set.
    pub const fn contains(self, sig: Signal) -> bool {
        self.0 & sig.bit() != 0
    }

    /// The set with `sig` added.
    pub const fn with(self, sig: Signal) -> SigSet {
        SigSet(self.0 | sig.bit())
    }

    /// The set with `sig` removed.
    pub const fn without(self, sig: Signal) -> SigSet {
        SigSet(self.0 & !sig.bit())
    }

    /// Signals in either set.
    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    /// Signals in `self` but not in `other`.
    pub const fn difference(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    /// The set with `SIGKILL` and `SIGSTOP` removed: what Linux stores as a blocked mask,
    /// silently, whatever the app asked for.
    pub const fn blockable(self) -> SigSet {
        self.without(Signal::SIGKILL).without(Signal::SIGSTOP)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest-numbered signal in the set (standard signals are delivered first).
    pub const fn first(self) -> Option<Signal> {
        if self.0 == 0 {
            None
        } else {
            Some(Signal(self.0.trailing_zeros() as u8 + 1))
        }
    }

    /// The signals in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        (1..=NSIG)
            .filter_map(Signal::new)
            .filter(move |s| self.contains(*s))
    }
}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// How rt_sigprocmask(2) combines `set` with the current mask.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum SigmaskHow {
    /// `SIG_BLOCK`: add `set`.
    Block = raw::SIG_BLOCK as i32,
    /// `SIG_UNBLOCK`: remove `set`.
    Unblock = raw::SIG_UNBLOCK as i32,
    /// `SIG_SETMASK`: replace with `set`.
    SetMask = raw::SIG_SETMASK as i32,
}

impl TryFrom<i32> for SigmaskHow {
    type Error = Errno;
    /// `EINVAL` for anything else, as rt_sigprocmask(2) returns.
    fn try_from(how: i32) -> Result<SigmaskHow, Errno> {
        match how {
            h if h == SigmaskHow::Block as i32 => Ok(SigmaskHow::Block),
            h if h == SigmaskHow::Unblock as i32 => Ok(SigmaskHow::Unblock),
            h if h == SigmaskHow::SetMask as i32 => Ok(SigmaskHow::SetMask),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl SigmaskHow {
    /// The new mask from the current one and `set` (SIGKILL/SIGSTOP never blocked).
    pub const fn apply(self, current: SigSet, set: SigSet) -> SigSet {
        match self {
            SigmaskHow::Block => current.union(set).blockable(),
            SigmaskHow::Unblock => current.difference(set),
            SigmaskHow::SetMask => set.blockable(),
        }
    }
}

/// The kernel's `struct sigaction`, as rt_sigaction(2) copies it (not glibc's layout).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct KernelSigaction {
    /// The handler address, or [`SIG_DFL`] / [`SIG_IGN`].
    pub handler: u64,
    /// `SA_*` flags ([`sa`]).
    pub flags: u64,
    /// The return trampoline (`__restore_rt`), used when [`sa::RESTORER`] is set.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: SigSet,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    type K = raw::kernel_sigaction;
    assert!(size_of::<KernelSigaction>() == size_of::<K>());
    assert!(offset_of!(KernelSigaction, handler) == offset_of!(K, sa_handler_kernel));
    assert!(offset_of!(KernelSigaction, flags) == offset_of!(K, sa_flags));
    assert!(offset_of!(KernelSigaction, restorer) == offset_of!(K, sa_restorer));
    assert!(offset_of!(KernelSigaction, mask) == offset_of!(K, sa_mask));
    // The uapi `struct sigaction` of asm/signal.h has the same order on x86_64.
    assert!(size_of::<KernelSigaction>() == size_of::<raw::sigaction>());
    assert!(offset_of!(KernelSigaction, mask) == offset_of!(raw::sigaction, sa_mask));
};

/// `stack_t`, sigaltstack(2)'s description of an alternate signal stack.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StackT {
    /// Lowest address of the stack.
    pub ss_sp: u64,
    /// [`ss::DISABLE`], [`ss::ONSTACK`], [`ss::AUTODISARM`].
    pub ss_flags: i32,
    /// Padding the C struct leaves implicitly (always written as 0).
    pub _pad: u32,
    /// Size in bytes.
    pub ss_size: u64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    type S = raw::sigaltstack;
    assert!(size_of::<StackT>() == size_of::<S>());
    assert!(offset_of!(StackT, ss_sp) == offset_of!(S, ss_sp));
    assert!(offset_of!(StackT, ss_flags) == offset_of!(S, ss_flags));
    assert!(offset_of!(StackT, ss_size) == offset_of!(S, ss_size));
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers_and_names() {
        assert_eq!(Signal::SIGINT.number(), 2);
        assert_eq!(Signal::SIGKILL.number(), 9);
        assert_eq!(Signal::SIGSYS.number(), 31);
        assert_eq!(format!("{}", Signal::SIGSEGV), "SIGSEGV");
        assert_eq!(
            format!("{}", Signal::new(6).unwrap()),
            "SIGABRT",
            "SIGIOT is an alias"
        );
        assert_eq!(
            format!("{}", Signal::new(29).unwrap()),
            "SIGIO",
            "SIGPOLL is an alias"
        );
        assert_eq!(format!("{}", Signal::new(32).unwrap()), "SIGRTMIN");
        assert_eq!(format!("{}", Signal::new(34).unwrap()), "SIGRT_2");
        assert_eq!(format!("{}", Signal::new(64).unwrap()), "SIGRT_32");
    }

    #[test]
    fn signal_range_is_1_to_64() {
        assert_eq!(Signal::try_from(0), Err(Errno::EINVAL));
        assert_eq!(Signal::try_from(-1), Err(Errno::EINVAL));
        assert_eq!(Signal::try_from(65), Err(Errno::EINVAL));
        assert_eq!(Signal::try_from(64).map(Signal::number), Ok(64));
        assert_eq!(Signal::new(1).unwrap().bit(), 1);
        assert_eq!(Signal::new(64).unwrap().bit(), 1 << 63);
    }

    #[test]
    fn default_actions_follow_signal_7() {
        assert_eq!(Signal::SIGCHLD.default_action(), DefaultAction::Ignore);
        assert_eq!(Signal::SIGWINCH.default_action(), DefaultAction::Ignore);
        assert_eq!(Signal::SIGSEGV.default_action(), DefaultAction::CoreDump);
        assert_eq!(Signal::SIGTERM.default_action(), DefaultAction::Terminate);
        assert_eq!(Signal::SIGPIPE.default_action(), DefaultAction::Terminate);
        assert_eq!(Signal::SIGTSTP.default_action(), DefaultAction::Stop);
        assert_eq!(Signal::SIGCONT.default_action(), DefaultAction::Continue);
        assert_eq!(
            Signal::new(40).unwrap().default_action(),
            DefaultAction::Terminate
        );
    }

    #[test]
    fn sigprocmask_never_blocks_kill_or_stop() {
        let all = SigSet::FULL;
        let m = SigmaskHow::Block.apply(SigSet::EMPTY, all);
        assert!(!m.contains(Signal::SIGKILL) && !m.contains(Signal::SIGSTOP));
        assert!(m.contains(Signal::SIGINT));
        let m = SigmaskHow::SetMask.apply(SigSet::EMPTY, SigSet::EMPTY.with(Signal::SIGSTOP));
        assert!(m.is_empty());
        let m = SigmaskHow::Unblock.apply(
            m.with(Signal::SIGINT).with(Signal::SIGTERM),
            SigSet::EMPTY.with(Signal::SIGINT),
        );
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![Signal::SIGTERM]);
        assert_eq!(SigmaskHow::try_from(3), Err(Errno::EINVAL));
        assert_eq!(SigmaskHow::try_from(0), Ok(SigmaskHow::Block));
        assert_eq!(
            SigSet::EMPTY
                .with(Signal::SIGTERM)
                .with(Signal::SIGHUP)
                .first(),
            Some(Signal::SIGHUP)
        );
    }

    #[test]
    fn sigaction_bytes_are_the_kernel_order() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x10; // handler
        bytes[8] = sa::SIGINFO as u8; // flags (low byte)
        bytes[16] = 0x20; // restorer
        bytes[24] = 0b10; // mask: SIGINT
        let act = KernelSigaction::read_from_bytes(&bytes).unwrap();
        assert_eq!(act.handler, 0x10);
        assert_eq!(act.flags, sa::SIGINFO);
        assert_eq!(act.restorer, 0x20);
        assert!(act.mask.contains(Signal::SIGINT));
        assert_eq!(SIGSET_SIZE, 8);
        assert_eq!(core::mem::size_of::<StackT>(), 24);
    }
}
