//! Signal state as rt_sigaction(2), rt_sigprocmask(2) and sigaltstack(2) record it.
//!
//! [`SignalState`] holds what those calls set and report: the 64 dispositions, the blocked
//! mask, the pending set and the alternate signal stack ([`AltStack`]). It stores values the
//! way Linux does, so that reading them back gives Linux's answers, including the quiet edits
//! Linux makes on the way in:
//!
//! - unknown `sa_flags` bits are cleared ([`SA_KNOWN_FLAGS`]), which is how programs detect a
//!   kernel that lacks a flag (`SA_UNSUPPORTED`, rt_sigaction(2));
//! - `SIGKILL` and `SIGSTOP` are removed from every stored mask, and their dispositions cannot
//!   be changed;
//! - setting a disposition that ignores a signal discards it if pending (POSIX, and Linux's
//!   `do_sigaction`);
//! - the alternate stack keeps the flags the app passed and reports `SS_ONSTACK` or
//!   `SS_DISABLE` from the stack pointer, as `sas_ss_flags` does.
//!
//! This module does not deliver signals: nothing here builds a signal frame, chooses a thread
//! or acts on a pending signal. The embedder's send path records blocked signals with
//! [`SignalState::add_pending`] and finds what is due with [`SignalState::deliverable`].
//!
//! Linux keeps dispositions per process (shared by `CLONE_SIGHAND` threads, [`SigActions`])
//! and the mask, the pending queue and the alternate stack per thread ([`ThreadSignals`]);
//! signals sent to the whole process wait in a second [`SigQueue`] the embedder keeps per
//! process. [`SignalState`] joins the two halves for a single-threaded process.

use alloc::collections::VecDeque;
use core::fmt;
use linux_raw_sys::general as raw;
use oxv_abi::Errno;
use oxv_abi::linux::sigframe::SigInfo;
use oxv_abi::linux::signal::{
    DefaultAction, KernelSigaction, MINSIGSTKSZ, NSIG, SIG_DFL, SIG_IGN, SigSet, Signal, StackT,
    sa, ss,
};

/// The `sa_flags` bits Linux stores (`UAPI_SA_FLAGS` on x86_64); the rest are cleared, so an
/// app that sets `SA_UNSUPPORTED` and reads it back learns which flags the kernel knows.
pub const SA_KNOWN_FLAGS: u64 = sa::NOCLDSTOP
    | sa::NOCLDWAIT
    | sa::SIGINFO
    | sa::ONSTACK
    | sa::RESTART
    | sa::NODEFER
    | sa::RESETHAND
    | raw::SA_EXPOSE_TAGBITS as u64
    | sa::RESTORER;

// Linux asserts the same at build time: the probe bit must never read back as set.
const _: () = assert!(SA_KNOWN_FLAGS & raw::SA_UNSUPPORTED as u64 == 0);

/// `SS_FLAG_BITS`: the `ss_flags` bits that modify a stack rather than name a mode
/// (`SS_AUTODISARM`).
pub const SS_FLAG_BITS: i32 = raw::SS_FLAG_BITS as i32;

const _: () = assert!(SS_FLAG_BITS == ss::AUTODISARM);

/// Number of signals, as an array length.
const SIGNAL_COUNT: usize = NSIG as usize;

/// Why rt_sigaction(2) refused a new disposition.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SigactionError {
    /// `SIGKILL` and `SIGSTOP` cannot be caught or ignored (`EINVAL`).
    Uncatchable(Signal),
}

impl fmt::Display for SigactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigactionError::Uncatchable(sig) => write!(f, "the action of {sig} cannot be changed"),
        }
    }
}

impl core::error::Error for SigactionError {}

impl From<SigactionError> for Errno {
    fn from(e: SigactionError) -> Errno {
        match e {
            SigactionError::Uncatchable(_) => Errno::EINVAL,
        }
    }
}

/// Why sigaltstack(2) refused a new alternate stack.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AltStackError {
    /// The thread is running on the current alternate stack (`EPERM`).
    OnStack,
    /// `ss_flags` names no mode Linux knows: only 0, `SS_ONSTACK` and `SS_DISABLE`, each
    /// optionally with `SS_AUTODISARM` (`EINVAL`).
    BadFlags(i32),
    /// The stack is smaller than `MINSIGSTKSZ` (`ENOMEM`).
    TooSmall(u64),
}

impl fmt::Display for AltStackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AltStackError::OnStack => f.write_str("the thread is running on its alternate stack"),
            AltStackError::BadFlags(flags) => write!(f, "invalid ss_flags {flags:#x}"),
            AltStackError::TooSmall(size) => {
                write!(
                    f,
                    "alternate stack of {size} bytes is below MINSIGSTKSZ ({MINSIGSTKSZ})"
                )
            }
        }
    }
}

impl core::error::Error for AltStackError {}

impl From<AltStackError> for Errno {
    fn from(e: AltStackError) -> Errno {
        match e {
            AltStackError::OnStack => Errno::EPERM,
            AltStackError::BadFlags(_) => Errno::EINVAL,
            AltStackError::TooSmall(_) => Errno::ENOMEM,
        }
    }
}

/// A thread's alternate signal stack, stored as Linux stores it (`sas_ss_sp`, `sas_ss_size`,
/// `sas_ss_flags`): the flags are the app's, and the reported state is derived from them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    sp: u64,
    size: u64,
    flags: i32,
}

impl AltStack {
    /// What a program finds after execve(2): Linux clears the base and size but keeps the
    /// flags, which are 0 from init on down, so the stack reports as `SS_DISABLE`.
    pub const AFTER_EXEC: AltStack = AltStack {
        sp: 0,
        size: 0,
        flags: 0,
    };

    /// What a thread created by clone(2) with `CLONE_VM` and without `CLONE_VFORK` starts
    /// with (Linux's `sas_ss_reset`).
    pub const NEW_THREAD: AltStack = AltStack {
        sp: 0,
        size: 0,
        flags: ss::DISABLE,
    };

    /// The lowest address of the stack (0 when disabled).
    pub const fn sp(self) -> u64 {
        self.sp
    }

    /// The size in bytes (0 when disabled).
    pub const fn size(self) -> u64 {
        self.size
    }

    /// The `ss_flags` the app last set, including a mode of `SS_ONSTACK` that Linux accepts
    /// and ignores.
    pub const fn flags(self) -> i32 {
        self.flags
    }

    /// Whether `sp` lies on the stack. x86_64 stacks grow down, so the range is
    /// `(sp, sp + size]` (Linux's `__on_sig_stack`).
    pub const fn contains(self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// Whether a thread whose stack pointer is `sp` counts as running on the stack. With
    /// `SS_AUTODISARM` it never does: Linux disarms the stack while a handler runs on it, so
    /// a nested signal starts afresh (Linux's `on_sig_stack`).
    pub const fn in_use(self, sp: u64) -> bool {
        self.flags & ss::AUTODISARM == 0 && self.contains(sp)
    }

    /// The `ss_flags` sigaltstack(2) reports for a thread at `sp`: `SS_DISABLE` without a
    /// stack, `SS_ONSTACK` on it, else 0, plus `SS_AUTODISARM` if set.
    pub const fn reported_flags(self, sp: u64) -> i32 {
        let state = if self.size == 0 {
            ss::DISABLE
        } else if self.in_use(sp) {
            ss::ONSTACK
        } else {
            0
        };
        state | (self.flags & SS_FLAG_BITS)
    }

    /// The `stack_t` sigaltstack(2) writes to `old_ss` for a thread at `sp`.
    pub const fn to_user(self, sp: u64) -> StackT {
        StackT {
            ss_sp: self.sp,
            ss_flags: self.reported_flags(sp),
            _pad: 0,
            ss_size: self.size,
        }
    }
}

/// Pending signals with their information, as Linux queues them: a standard signal is
/// pending at most once (a second one merges), a real-time signal queues every instance in
/// sending order, up to a limit. One queue per thread (signals sent to it) and one per process
/// (signals sent to the process, taken by whichever thread gets there first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigQueue {
    set: SigSet,
    entries: VecDeque<SigInfo>,
}

/// Signals Linux delivers before any other (`SYNCHRONOUS_MASK`): those a fault raises.
const SYNCHRONOUS: SigSet = SigSet::EMPTY
    .with(Signal::SIGSEGV)
    .with(Signal::SIGBUS)
    .with(Signal::SIGILL)
    .with(Signal::SIGTRAP)
    .with(Signal::SIGFPE)
    .with(Signal::SIGSYS);

impl SigQueue {
    /// An empty queue.
    pub const fn new() -> SigQueue {
        SigQueue {
            set: SigSet::EMPTY,
            entries: VecDeque::new(),
        }
    }

    /// The signals with at least one instance queued.
    pub const fn set(&self) -> SigSet {
        self.set
    }

    /// How many instances are queued.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Queues `info` (its `si_signo` names the signal). A standard signal already queued is
    /// merged (dropped); a real-time one is dropped only when `limit` instances are queued
    /// (RLIMIT_SIGPENDING). Returns whether it was queued.
    pub fn push(&mut self, info: SigInfo, limit: usize) -> bool {
        let Ok(sig) = Signal::try_from(info.si_signo) else {
            return false;
        };
        if (!sig.is_realtime() && self.set.contains(sig)) || self.entries.len() >= limit {
            return false;
        }
        self.set = self.set.with(sig);
        self.entries.push_back(info);
        true
    }

    /// Queues `info` unless it is a real-time signal and `room` (what `RLIMIT_SIGPENDING`
    /// leaves across all of the process's queues) is 0. Returns false only then: a standard
    /// signal already pending merges, which counts as sent.
    pub fn push_within(&mut self, info: SigInfo, room: usize) -> bool {
        let Ok(sig) = Signal::try_from(info.si_signo) else {
            return false;
        };
        if sig.is_realtime() && room == 0 {
            return false;
        }
        self.push(info, usize::MAX);
        true
    }

    /// Takes the oldest instance of `sig`.
    pub fn take(&mut self, sig: Signal) -> Option<SigInfo> {
        let n = sig.number() as i32;
        let i = self.entries.iter().position(|e| e.si_signo == n)?;
        let info = self.entries.remove(i)?;
        if !self.entries.iter().any(|e| e.si_signo == n) {
            self.set = self.set.without(sig);
        }
        Some(info)
    }

    /// Drops every instance of `sig` (its disposition became "ignore").
    pub fn discard(&mut self, sig: Signal) {
        let n = sig.number() as i32;
        self.entries.retain(|e| e.si_signo != n);
        self.set = self.set.without(sig);
    }

    /// The signal Linux would deliver next among `allowed`: synchronous ones first, then the
    /// lowest number.
    pub fn next(&self, allowed: SigSet) -> Option<Signal> {
        let ready = SigSet(self.set.0 & allowed.0);
        SigSet(ready.0 & SYNCHRONOUS.0)
            .first()
            .or_else(|| ready.first())
    }
}

/// The dispositions of a process's signals (shared by its threads, like `CLONE_SIGHAND`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigActions {
    /// `actions[n - 1]` is the disposition of signal `n`.
    actions: [KernelSigaction; SIGNAL_COUNT],
}

impl Default for SigActions {
    fn default() -> Self {
        Self::new()
    }
}

impl SigActions {
    /// Every signal at `SIG_DFL`, as after execve(2) from a Linux init.
    pub const fn new() -> SigActions {
        SigActions {
            actions: [KernelSigaction {
                handler: SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: SigSet::EMPTY,
            }; SIGNAL_COUNT],
        }
    }

    /// The disposition of `sig`, as rt_sigaction(2) reports it.
    pub fn action(&self, sig: Signal) -> KernelSigaction {
        self.actions[index(sig)]
    }

    /// Installs `act` for `sig` and returns the previous disposition.
    ///
    /// Like Linux, keeps only the [`SA_KNOWN_FLAGS`] bits and drops `SIGKILL`/`SIGSTOP` from
    /// the handler mask. Fails for `SIGKILL` and `SIGSTOP`. If the new disposition ignores
    /// `sig`, the caller discards it from every pending set ([`SigActions::is_ignored`]).
    pub fn set_action(
        &mut self,
        sig: Signal,
        act: KernelSigaction,
    ) -> Result<KernelSigaction, SigactionError> {
        if sig.is_unblockable() {
            return Err(SigactionError::Uncatchable(sig));
        }
        let stored = KernelSigaction {
            flags: act.flags & SA_KNOWN_FLAGS,
            mask: act.mask.blockable(),
            ..act
        };
        Ok(core::mem::replace(&mut self.actions[index(sig)], stored))
    }

    /// Whether `sig`'s disposition discards it: `SIG_IGN`, or `SIG_DFL` for a signal whose
    /// default action is to ignore (Linux's `sig_handler_ignored`).
    pub fn is_ignored(&self, sig: Signal) -> bool {
        match self.action(sig).handler {
            SIG_IGN => true,
            SIG_DFL => sig.default_action() == DefaultAction::Ignore,
            _ => false,
        }
    }

    /// What execve(2) does to dispositions: caught signals go back to `SIG_DFL` (ignored ones
    /// stay ignored), and every action loses its flags, restorer and mask.
    pub fn reset_for_exec(&mut self) {
        for act in &mut self.actions {
            let handler = if act.handler == SIG_IGN {
                SIG_IGN
            } else {
                SIG_DFL
            };
            *act = KernelSigaction {
                handler,
                flags: 0,
                restorer: 0,
                mask: SigSet::EMPTY,
            };
        }
    }
}

fn index(sig: Signal) -> usize {
    sig.number() as usize - 1
}

/// One thread's signal state: blocked mask, pending queue and alternate stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSignals {
    /// Never contains `SIGKILL` or `SIGSTOP`.
    blocked: SigSet,
    /// Signals raised for this thread and not yet delivered.
    pending: SigQueue,
    alt_stack: AltStack,
}

impl Default for ThreadSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadSignals {
    /// Nothing blocked or pending, no alternate stack ([`AltStack::AFTER_EXEC`]).
    pub const fn new() -> ThreadSignals {
        ThreadSignals {
            blocked: SigSet::EMPTY,
            pending: SigQueue::new(),
            alt_stack: AltStack::AFTER_EXEC,
        }
    }

    /// The state of a thread created by clone(2) from a thread in state `parent`: the same
    /// mask, nothing pending, no alternate stack (Linux clears it for new threads with
    /// `CLONE_VM`).
    pub const fn for_new_thread(parent: &ThreadSignals) -> ThreadSignals {
        ThreadSignals {
            blocked: parent.blocked,
            pending: SigQueue::new(),
            alt_stack: AltStack::NEW_THREAD,
        }
    }

    /// The state of the thread of a child process made by fork(2) (clone without
    /// `CLONE_VM`, or vfork): the same mask and alternate stack, nothing pending.
    pub const fn for_fork(parent: &ThreadSignals) -> ThreadSignals {
        ThreadSignals {
            blocked: parent.blocked,
            pending: SigQueue::new(),
            alt_stack: parent.alt_stack,
        }
    }

    /// The thread's blocked mask.
    pub const fn blocked(&self) -> SigSet {
        self.blocked
    }

    /// Replaces the thread's blocked mask; `SIGKILL` and `SIGSTOP` are silently left out.
    pub const fn set_blocked(&mut self, mask: SigSet) {
        self.blocked = mask.blockable();
    }

    /// Signals raised and not yet delivered.
    pub const fn pending(&self) -> SigSet {
        self.pending.set()
    }

    /// How many signal instances are queued for the thread.
    pub fn queued(&self) -> usize {
        self.pending.len()
    }

    /// The queue of pending signals with their information.
    pub fn queue(&mut self) -> &mut SigQueue {
        &mut self.pending
    }

    /// Records `sig` as pending with no particular information. A standard signal already
    /// pending stays pending once (Linux merges them).
    pub fn add_pending(&mut self, sig: Signal) {
        let info = SigInfo {
            si_signo: sig.number() as i32,
            ..SigInfo::default()
        };
        self.pending.push(info, usize::MAX);
    }

    /// Removes every instance of `sig` from the pending queue (delivered or discarded).
    pub fn clear_pending(&mut self, sig: Signal) {
        self.pending.discard(sig);
    }

    /// Pending signals the thread does not block: non-empty means a signal must be delivered
    /// before the thread returns to the app.
    pub const fn deliverable(&self) -> SigSet {
        self.pending.set().difference(self.blocked)
    }

    /// The thread's alternate signal stack.
    pub const fn alt_stack(&self) -> AltStack {
        self.alt_stack
    }

    /// Replaces the thread's alternate stack with `new` for a thread whose stack pointer is
    /// `user_sp`, with sigaltstack(2)'s checks in Linux's order: not while running on the
    /// current one, a known mode, then (unless disabling) at least `MINSIGSTKSZ` bytes. A
    /// request equal to the stored stack succeeds before the size check, as on Linux.
    pub fn set_alt_stack(&mut self, new: StackT, user_sp: u64) -> Result<(), AltStackError> {
        if self.alt_stack.in_use(user_sp) {
            return Err(AltStackError::OnStack);
        }
        let mode = new.ss_flags & !SS_FLAG_BITS;
        if mode != 0 && mode != ss::ONSTACK && mode != ss::DISABLE {
            return Err(AltStackError::BadFlags(new.ss_flags));
        }
        let requested = AltStack {
            sp: new.ss_sp,
            size: new.ss_size,
            flags: new.ss_flags,
        };
        if requested == self.alt_stack {
            return Ok(());
        }
        self.alt_stack = if mode == ss::DISABLE {
            AltStack {
                sp: 0,
                size: 0,
                flags: new.ss_flags,
            }
        } else if new.ss_size < MINSIGSTKSZ as u64 {
            return Err(AltStackError::TooSmall(new.ss_size));
        } else {
            requested
        };
        Ok(())
    }

    /// Disarms the alternate stack when a handler using it starts with `SS_AUTODISARM`.
    pub fn disarm_alt_stack(&mut self) {
        self.alt_stack = AltStack::NEW_THREAD;
    }

    /// What execve(2) does: the alternate stack's base and size are cleared (its flags stay);
    /// the blocked mask and pending set survive.
    pub fn reset_for_exec(&mut self) {
        self.alt_stack = AltStack {
            sp: 0,
            size: 0,
            ..self.alt_stack
        };
    }
}

/// A single-threaded process's whole signal state: its dispositions and its one thread's
/// mask, pending set and alternate stack (what the tests and simple embedders use).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalState {
    /// The dispositions.
    pub actions: SigActions,
    /// The thread's state.
    pub thread: ThreadSignals,
}

impl SignalState {
    /// See [`SigActions::new`] and [`ThreadSignals::new`].
    pub const fn new() -> SignalState {
        SignalState {
            actions: SigActions::new(),
            thread: ThreadSignals::new(),
        }
    }

    /// See [`SigActions::action`].
    pub fn action(&self, sig: Signal) -> KernelSigaction {
        self.actions.action(sig)
    }

    /// See [`SigActions::set_action`]; also discards `sig` from the pending set if the new
    /// disposition ignores it.
    pub fn set_action(
        &mut self,
        sig: Signal,
        act: KernelSigaction,
    ) -> Result<KernelSigaction, SigactionError> {
        let old = self.actions.set_action(sig, act)?;
        if self.actions.is_ignored(sig) {
            self.thread.clear_pending(sig);
        }
        Ok(old)
    }

    /// See [`SigActions::is_ignored`].
    pub fn is_ignored(&self, sig: Signal) -> bool {
        self.actions.is_ignored(sig)
    }

    /// See [`ThreadSignals::blocked`].
    pub const fn blocked(&self) -> SigSet {
        self.thread.blocked()
    }

    /// See [`ThreadSignals::set_blocked`].
    pub const fn set_blocked(&mut self, mask: SigSet) {
        self.thread.set_blocked(mask)
    }

    /// See [`ThreadSignals::pending`].
    pub const fn pending(&self) -> SigSet {
        self.thread.pending()
    }

    /// See [`ThreadSignals::add_pending`].
    pub fn add_pending(&mut self, sig: Signal) {
        self.thread.add_pending(sig)
    }

    /// See [`ThreadSignals::clear_pending`].
    pub fn clear_pending(&mut self, sig: Signal) {
        self.thread.clear_pending(sig)
    }

    /// See [`ThreadSignals::deliverable`].
    pub const fn deliverable(&self) -> SigSet {
        self.thread.deliverable()
    }

    /// See [`ThreadSignals::alt_stack`].
    pub const fn alt_stack(&self) -> AltStack {
        self.thread.alt_stack()
    }

    /// See [`ThreadSignals::set_alt_stack`].
    pub fn set_alt_stack(&mut self, new: StackT, user_sp: u64) -> Result<(), AltStackError> {
        self.thread.set_alt_stack(new, user_sp)
    }

    /// See [`SigActions::reset_for_exec`] and [`ThreadSignals::reset_for_exec`].
    pub fn reset_for_exec(&mut self) {
        self.actions.reset_for_exec();
        self.thread.reset_for_exec();
    }
}

#[cfg(test)]
mod queue_tests {
    use super::*;

    fn info(sig: Signal, value: u64) -> SigInfo {
        let mut i = SigInfo {
            si_signo: sig.number() as i32,
            ..SigInfo::default()
        };
        i.fields[1] = value;
        i
    }

    #[test]
    fn standard_signals_merge_realtime_signals_queue() {
        let mut q = SigQueue::new();
        assert!(q.push(info(Signal::SIGUSR1, 1), 100));
        assert!(!q.push(info(Signal::SIGUSR1, 2), 100), "merged");
        let rt = Signal::new(35).unwrap();
        for v in 1..=3 {
            assert!(q.push(info(rt, v), 100));
        }
        assert_eq!(q.len(), 4);
        assert_eq!(q.take(rt).unwrap().fields[1], 1);
        assert_eq!(q.take(rt).unwrap().fields[1], 2);
        assert!(q.set().contains(rt), "one instance left");
        assert_eq!(q.take(rt).unwrap().fields[1], 3);
        assert!(!q.set().contains(rt));
        assert_eq!(q.take(Signal::SIGUSR1).unwrap().fields[1], 1);
        assert!(q.is_empty() && q.take(Signal::SIGUSR1).is_none());
    }

    #[test]
    fn limit_and_discard() {
        let mut q = SigQueue::new();
        let rt = Signal::new(40).unwrap();
        assert!(q.push(info(rt, 1), 2) && q.push(info(rt, 2), 2));
        assert!(!q.push(info(rt, 3), 2), "RLIMIT_SIGPENDING reached");
        assert!(
            !q.push_within(info(rt, 3), 0),
            "no room for a real-time signal"
        );
        assert!(
            q.push_within(info(Signal::SIGUSR2, 0), 0),
            "standard ones need none"
        );
        assert!(q.push_within(info(Signal::SIGUSR2, 0), 0), "and merge");
        assert_eq!(q.len(), 3);
        assert!(q.push_within(info(rt, 3), 1));
        assert_eq!(q.len(), 4);
        q.discard(rt);
        assert_eq!(q.len(), 1);
        assert_eq!(q.set(), SigSet::EMPTY.with(Signal::SIGUSR2));
    }

    #[test]
    fn synchronous_signals_come_first_then_lowest_number() {
        let mut q = SigQueue::new();
        q.push(info(Signal::SIGTERM, 0), 10);
        q.push(info(Signal::SIGINT, 0), 10);
        q.push(info(Signal::SIGSEGV, 0), 10);
        assert_eq!(q.next(SigSet::FULL), Some(Signal::SIGSEGV));
        assert_eq!(
            q.next(SigSet::FULL.without(Signal::SIGSEGV)),
            Some(Signal::SIGINT)
        );
        assert_eq!(q.next(SigSet::EMPTY), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler_at(addr: u64) -> KernelSigaction {
        KernelSigaction {
            handler: addr,
            flags: sa::RESTORER,
            restorer: 0x5000,
            mask: SigSet::EMPTY,
        }
    }

    fn stack(sp: u64, size: u64, flags: i32) -> StackT {
        StackT {
            ss_sp: sp,
            ss_flags: flags,
            _pad: 0,
            ss_size: size,
        }
    }

    const SIZE: u64 = MINSIGSTKSZ as u64;

    // ---- dispositions -------------------------------------------------------------------

    #[test]
    fn a_new_process_has_default_actions_and_nothing_blocked() {
        let st = SignalState::new();
        for n in 1..=NSIG {
            assert_eq!(
                st.action(Signal::new(n).unwrap()),
                KernelSigaction::default()
            );
        }
        assert!(st.blocked().is_empty() && st.pending().is_empty());
        assert_eq!(st.alt_stack().reported_flags(0x1234), ss::DISABLE);
    }

    #[test]
    fn set_action_returns_the_previous_one() {
        let mut st = SignalState::new();
        assert_eq!(
            st.set_action(Signal::SIGINT, handler_at(0x1000)),
            Ok(KernelSigaction::default())
        );
        assert_eq!(
            st.set_action(Signal::SIGINT, handler_at(0x2000)),
            Ok(handler_at(0x1000))
        );
        assert_eq!(st.action(Signal::SIGINT).handler, 0x2000);
        assert_eq!(
            st.action(Signal::SIGTERM),
            KernelSigaction::default(),
            "one signal only"
        );
    }

    #[test]
    fn kill_and_stop_cannot_be_caught() {
        let mut st = SignalState::new();
        for sig in [Signal::SIGKILL, Signal::SIGSTOP] {
            assert_eq!(
                st.set_action(sig, handler_at(0x1000)),
                Err(SigactionError::Uncatchable(sig))
            );
            assert_eq!(Errno::from(SigactionError::Uncatchable(sig)), Errno::EINVAL);
            assert_eq!(st.action(sig), KernelSigaction::default());
        }
    }

    #[test]
    fn unknown_flags_and_unblockable_mask_bits_are_dropped() {
        let mut st = SignalState::new();
        let act = KernelSigaction {
            handler: 0x1000,
            flags: sa::SIGINFO | raw::SA_UNSUPPORTED as u64 | 1 << 40,
            restorer: 0,
            mask: SigSet::FULL,
        };
        st.set_action(Signal::SIGUSR1, act).unwrap();
        let stored = st.action(Signal::SIGUSR1);
        assert_eq!(stored.flags, sa::SIGINFO);
        assert_eq!(stored.mask, SigSet::FULL.blockable());
        assert!(!stored.mask.contains(Signal::SIGKILL) && stored.mask.contains(Signal::SIGINT));
    }

    #[test]
    fn ignoring_a_pending_signal_discards_it() {
        let mut st = SignalState::new();
        for sig in [Signal::SIGUSR1, Signal::SIGCHLD, Signal::SIGHUP] {
            st.add_pending(sig);
        }
        // A handler keeps it pending.
        st.set_action(Signal::SIGUSR1, handler_at(0x1000)).unwrap();
        assert!(st.pending().contains(Signal::SIGUSR1));
        // SIG_IGN discards it.
        st.set_action(
            Signal::SIGUSR1,
            KernelSigaction {
                handler: SIG_IGN,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!st.pending().contains(Signal::SIGUSR1));
        // SIG_DFL discards a signal whose default is to ignore (SIGCHLD), not others (SIGHUP).
        st.set_action(Signal::SIGCHLD, KernelSigaction::default())
            .unwrap();
        st.set_action(Signal::SIGHUP, KernelSigaction::default())
            .unwrap();
        assert_eq!(st.pending(), SigSet::EMPTY.with(Signal::SIGHUP));
    }

    #[test]
    fn is_ignored_follows_the_handler_and_the_default_action() {
        let mut st = SignalState::new();
        assert!(st.is_ignored(Signal::SIGWINCH));
        assert!(!st.is_ignored(Signal::SIGTERM));
        st.set_action(
            Signal::SIGTERM,
            KernelSigaction {
                handler: SIG_IGN,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(st.is_ignored(Signal::SIGTERM));
        st.set_action(Signal::SIGWINCH, handler_at(0x1000)).unwrap();
        assert!(!st.is_ignored(Signal::SIGWINCH));
    }

    // ---- blocked mask -------------------------------------------------------------------

    #[test]
    fn the_blocked_mask_never_holds_kill_or_stop() {
        let mut st = SignalState::new();
        st.set_blocked(SigSet::FULL);
        assert_eq!(st.blocked(), SigSet::FULL.blockable());
        assert!(st.blocked().contains(Signal::new(64).unwrap()));
    }

    // ---- pending set --------------------------------------------------------------------

    #[test]
    fn pending_signals_merge_and_are_deliverable_once_unblocked() {
        let mut st = SignalState::new();
        st.set_blocked(SigSet::EMPTY.with(Signal::SIGUSR1));
        st.add_pending(Signal::SIGUSR1);
        st.add_pending(Signal::SIGUSR1);
        assert_eq!(st.pending(), SigSet::EMPTY.with(Signal::SIGUSR1));
        assert!(st.deliverable().is_empty(), "blocked");
        st.add_pending(Signal::SIGTERM);
        assert_eq!(st.deliverable(), SigSet::EMPTY.with(Signal::SIGTERM));
        st.clear_pending(Signal::SIGTERM);
        assert!(st.deliverable().is_empty() && st.pending().contains(Signal::SIGUSR1));
        st.set_blocked(SigSet::EMPTY);
        assert_eq!(st.deliverable(), st.pending());
    }

    // ---- alternate stack ----------------------------------------------------------------

    #[test]
    fn on_stack_means_sp_in_base_exclusive_to_top_inclusive() {
        let s = AltStack {
            sp: 0x1000,
            size: 0x1000,
            flags: 0,
        };
        assert!(!s.contains(0x1000), "the base is below the stack");
        assert!(s.contains(0x1001));
        assert!(s.contains(0x2000), "the top is the initial sp");
        assert!(!s.contains(0x2001));
        assert_eq!(s.reported_flags(0x1800), ss::ONSTACK);
        assert_eq!(s.reported_flags(0x8000), 0);
        let armed = AltStack {
            flags: ss::AUTODISARM,
            ..s
        };
        assert!(!armed.in_use(0x1800), "an autodisarm stack is never in use");
        assert_eq!(armed.reported_flags(0x1800), ss::AUTODISARM);
    }

    #[test]
    fn set_alt_stack_stores_the_app_flags() {
        let mut st = SignalState::new();
        st.set_alt_stack(stack(0x1000, SIZE, ss::AUTODISARM), 0x9000)
            .unwrap();
        assert_eq!(
            st.alt_stack(),
            AltStack {
                sp: 0x1000,
                size: SIZE,
                flags: ss::AUTODISARM
            }
        );
        // SS_ONSTACK as a mode is accepted, stored, and not reported.
        st.set_alt_stack(stack(0x4000, SIZE, ss::ONSTACK), 0x9000)
            .unwrap();
        assert_eq!(st.alt_stack().flags(), ss::ONSTACK);
        assert_eq!(st.alt_stack().reported_flags(0x9000), 0);
    }

    #[test]
    fn set_alt_stack_refuses_while_on_it() {
        let mut st = SignalState::new();
        st.set_alt_stack(stack(0x1000, SIZE, 0), 0x9000).unwrap();
        let sp_on_stack = 0x1000 + 16;
        // EPERM comes before the flag check.
        assert_eq!(
            st.set_alt_stack(stack(0, 0, 0x40), sp_on_stack),
            Err(AltStackError::OnStack)
        );
        assert_eq!(
            st.set_alt_stack(stack(0, 0, ss::DISABLE), sp_on_stack),
            Err(AltStackError::OnStack)
        );
        assert_eq!(st.alt_stack().sp(), 0x1000);
    }

    #[test]
    fn set_alt_stack_checks_flags_before_size() {
        let mut st = SignalState::new();
        assert_eq!(
            st.set_alt_stack(stack(0x1000, 1, 0x40), 0),
            Err(AltStackError::BadFlags(0x40))
        );
        assert_eq!(
            st.set_alt_stack(stack(0x1000, 1, ss::ONSTACK | ss::DISABLE), 0),
            Err(AltStackError::BadFlags(ss::ONSTACK | ss::DISABLE))
        );
        assert_eq!(
            st.set_alt_stack(stack(0x1000, SIZE - 1, 0), 0),
            Err(AltStackError::TooSmall(SIZE - 1))
        );
        assert_eq!(
            st.alt_stack(),
            AltStack::AFTER_EXEC,
            "nothing stored on error"
        );
        assert_eq!(Errno::from(AltStackError::TooSmall(0)), Errno::ENOMEM);
        assert_eq!(Errno::from(AltStackError::BadFlags(0)), Errno::EINVAL);
        assert_eq!(Errno::from(AltStackError::OnStack), Errno::EPERM);
    }

    #[test]
    fn disabling_clears_base_and_size_whatever_was_passed() {
        let mut st = SignalState::new();
        st.set_alt_stack(stack(0x1000, SIZE, 0), 0).unwrap();
        st.set_alt_stack(stack(0x7777, 5, ss::DISABLE | ss::AUTODISARM), 0)
            .unwrap();
        assert_eq!(
            st.alt_stack(),
            AltStack {
                sp: 0,
                size: 0,
                flags: ss::DISABLE | ss::AUTODISARM
            }
        );
        assert_eq!(
            st.alt_stack().reported_flags(0),
            ss::DISABLE | ss::AUTODISARM
        );
    }

    #[test]
    fn an_unchanged_request_succeeds_before_the_size_check() {
        // After execve the stored stack is {0, 0, 0}; asking for exactly that is a no-op on
        // Linux, not ENOMEM. A new thread's {0, 0, SS_DISABLE} makes the same request fail.
        let mut st = SignalState::new();
        assert_eq!(st.set_alt_stack(stack(0, 0, 0), 0), Ok(()));
        st.thread.disarm_alt_stack();
        assert_eq!(
            st.set_alt_stack(stack(0, 0, 0), 0),
            Err(AltStackError::TooSmall(0))
        );
    }

    // ---- execve ---------------------------------------------------------------------------

    #[test]
    fn exec_resets_handlers_but_keeps_ignores_mask_and_pending() {
        let mut st = SignalState::new();
        st.set_action(Signal::SIGINT, handler_at(0x1000)).unwrap();
        let ignore = KernelSigaction {
            handler: SIG_IGN,
            flags: sa::RESTART,
            restorer: 1,
            mask: SigSet::FULL,
        };
        st.set_action(Signal::SIGPIPE, ignore).unwrap();
        st.set_blocked(SigSet::EMPTY.with(Signal::SIGUSR2));
        st.add_pending(Signal::SIGUSR2);
        st.set_alt_stack(stack(0x1000, SIZE, ss::AUTODISARM), 0)
            .unwrap();

        st.reset_for_exec();

        assert_eq!(st.action(Signal::SIGINT), KernelSigaction::default());
        assert_eq!(
            st.action(Signal::SIGPIPE),
            KernelSigaction {
                handler: SIG_IGN,
                ..Default::default()
            }
        );
        assert_eq!(st.blocked(), SigSet::EMPTY.with(Signal::SIGUSR2));
        assert_eq!(st.pending(), SigSet::EMPTY.with(Signal::SIGUSR2));
        assert_eq!(
            st.alt_stack(),
            AltStack {
                sp: 0,
                size: 0,
                flags: ss::AUTODISARM
            }
        );
    }
}
