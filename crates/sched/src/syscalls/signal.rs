//! rt_sigaction(2), rt_sigprocmask(2) and sigaltstack(2) over a process's [`SigActions`] and
//! the calling thread's [`ThreadSignals`].
//!
//! These calls only record and report state; no signal is delivered here (see
//! [`crate::signal`]). Each follows Linux's `kernel/signal.c` in what it checks, in which
//! order, and what it leaves behind when a late step fails: a new action or mask is kept
//! even when copying out the old one then faults, as on Linux.

use crate::signal::{SigActions, ThreadSignals};
use oxv_abi::linux::signal::{KernelSigaction, SIGSET_SIZE, SigSet, SigmaskHow, Signal, StackT};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// rt_sigaction(2): reads and/or replaces the disposition of `sig`.
///
/// Linux's order: `sigsetsize` other than 8 is `EINVAL`; `act` (if not null) is copied in
/// (`EFAULT`); a signal outside 1..=64, or a new action for `SIGKILL`/`SIGSTOP`, is
/// `EINVAL`; the action is stored (see [`SigActions::set_action`]); then the previous one is
/// copied out to `oldact` if not null (`EFAULT`, with the new action kept). Querying
/// `SIGKILL` with a null `act` is allowed.
pub fn rt_sigaction(
    actions: &mut SigActions,
    thread: &mut ThreadSignals,
    mem: &mut dyn UserMemory,
    sig: i32,
    act: UserPtr<KernelSigaction>,
    oldact: UserPtr<KernelSigaction>,
    sigsetsize: usize,
) -> SysResult {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let new = if act.is_null() {
        None
    } else {
        Some(act.read(mem)?)
    };
    let sig = Signal::try_from(sig)?;
    let old = match new {
        Some(new) => {
            let old = actions.set_action(sig, new)?;
            // Linux discards a signal that becomes ignored from the pending sets (the caller's
            // here; an embedder with several threads clears the others').
            if actions.is_ignored(sig) {
                thread.clear_pending(sig);
            }
            old
        }
        None => actions.action(sig),
    };
    if !oldact.is_null() {
        oldact.write(mem, &old)?;
    }
    Ok(0)
}

/// rt_sigprocmask(2): reads and/or changes the thread's blocked mask.
///
/// Linux's order: `sigsetsize` other than 8 is `EINVAL`; if `set` is not null it is copied in
/// (`EFAULT`), then `how` is checked (`EINVAL`; ignored when `set` is null) and the mask
/// changed (`SIGKILL`/`SIGSTOP` silently stay unblocked); then the previous mask is copied out
/// to `oldset` if not null (`EFAULT`, with the new mask kept).
pub fn rt_sigprocmask(
    st: &mut ThreadSignals,
    mem: &mut dyn UserMemory,
    how: i32,
    set: UserPtr<SigSet>,
    oldset: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = st.blocked();
    if !set.is_null() {
        let set = set.read(mem)?;
        let how = SigmaskHow::try_from(how)?;
        st.set_blocked(how.apply(old, set));
    }
    if !oldset.is_null() {
        oldset.write(mem, &old)?;
    }
    Ok(0)
}

/// sigaltstack(2): reads and/or replaces the thread's alternate signal stack. `user_sp` is
/// the app's stack pointer at the system call (Linux's `current_user_stack_pointer()`).
///
/// Linux's order: `ss` (if not null) is copied in (`EFAULT`); the current stack is recorded
/// for `old_ss`; the new one is checked and stored (`EPERM` while running on the current one,
/// `EINVAL` for unknown flags, `ENOMEM` below `MINSIGSTKSZ`: see
/// [`ThreadSignals::set_alt_stack`]); only if that succeeded is the old stack copied out to
/// `old_ss` if not null (`EFAULT`, with the new stack kept).
pub fn sigaltstack(
    st: &mut ThreadSignals,
    mem: &mut dyn UserMemory,
    ss: UserPtr<StackT>,
    old_ss: UserPtr<StackT>,
    user_sp: u64,
) -> SysResult {
    let new = if ss.is_null() {
        None
    } else {
        Some(ss.read(mem)?)
    };
    let old = st.alt_stack().to_user(user_sp);
    if let Some(new) = new {
        st.set_alt_stack(new, user_sp)?;
    }
    if !old_ss.is_null() {
        old_ss.write(mem, &old)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{AltStack, SA_KNOWN_FLAGS, SignalState};
    use crate::syscalls::test_memory::{BAD, RO, RW, memory};
    use oxv_abi::linux::signal::{MINSIGSTKSZ, SIG_IGN, sa, ss};
    use oxv_abi::user::fake::FakeUserMemory;
    use zerocopy::IntoBytes;

    const SIGINT: i32 = 2;
    const SIGKILL: i32 = 9;
    const SIGSTOP: i32 = 19;
    const SIG_BLOCK: i32 = 0;
    const SIG_SETMASK: i32 = 2;

    fn null<T>() -> UserPtr<T> {
        UserPtr::new(0)
    }

    fn at<T>(addr: u64) -> UserPtr<T> {
        UserPtr::new(addr)
    }

    fn handler() -> KernelSigaction {
        KernelSigaction {
            handler: 0x40_1000,
            flags: sa::SIGINFO | sa::RESTORER,
            restorer: 0x40_2000,
            mask: SigSet::EMPTY.with(Signal::SIGTERM),
        }
    }

    fn poke<T: IntoBytes + zerocopy::Immutable>(mem: &mut FakeUserMemory, addr: u64, v: &T) {
        mem.poke(addr, v.as_bytes());
    }

    fn peek<T: zerocopy::FromBytes + IntoBytes + zerocopy::Immutable + zerocopy::KnownLayout>(
        mem: &FakeUserMemory,
        addr: u64,
    ) -> T {
        at::<T>(addr).read(mem).expect("test reads mapped memory")
    }

    // ---- rt_sigaction -------------------------------------------------------------------

    #[test]
    fn sigaction_installs_and_reports_the_old_action() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &handler());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                at(RW),
                at(RW + 0x100),
                8
            ),
            Ok(0)
        );
        assert_eq!(
            peek::<KernelSigaction>(&mem, RW + 0x100),
            KernelSigaction::default()
        );
        assert_eq!(st.action(Signal::SIGINT), handler());
        // Query only.
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                null(),
                at(RW + 0x200),
                8
            ),
            Ok(0)
        );
        assert_eq!(peek::<KernelSigaction>(&mem, RW + 0x200), handler());
        // Neither pointer: just validates.
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                null(),
                null(),
                8
            ),
            Ok(0)
        );
    }

    #[test]
    fn sigaction_same_buffer_for_act_and_oldact() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &handler());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                at(RW),
                at(RW),
                8
            ),
            Ok(0)
        );
        assert_eq!(
            peek::<KernelSigaction>(&mem, RW),
            KernelSigaction::default()
        );
        assert_eq!(st.action(Signal::SIGINT), handler());
    }

    #[test]
    fn sigaction_reads_back_only_known_flags() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        let probe = KernelSigaction {
            flags: sa::SIGINFO | 0x400 | (1 << 33),
            ..handler()
        };
        poke(&mut mem, RW, &probe);
        rt_sigaction(
            &mut st.actions,
            &mut st.thread,
            &mut mem,
            SIGINT,
            at(RW),
            null(),
            8,
        )
        .unwrap();
        rt_sigaction(
            &mut st.actions,
            &mut st.thread,
            &mut mem,
            SIGINT,
            null(),
            at(RW + 0x100),
            8,
        )
        .unwrap();
        assert_eq!(peek::<KernelSigaction>(&mem, RW + 0x100).flags, sa::SIGINFO);
        assert_eq!(sa::SIGINFO & SA_KNOWN_FLAGS, sa::SIGINFO);
    }

    #[test]
    fn sigaction_bad_sigsetsize_comes_first() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        for size in [0, 4, 7, 9, 128] {
            assert_eq!(
                rt_sigaction(
                    &mut st.actions,
                    &mut st.thread,
                    &mut mem,
                    0,
                    at(BAD),
                    at(BAD),
                    size
                ),
                Err(Errno::EINVAL)
            );
        }
    }

    #[test]
    fn sigaction_efault_on_act_beats_a_bad_signal() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                0,
                at(BAD),
                null(),
                8
            ),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGKILL,
                at(BAD),
                null(),
                8
            ),
            Err(Errno::EFAULT)
        );
        // A read-only act is fine: it is only read.
        poke(&mut mem, RO, &handler());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                at(RO),
                null(),
                8
            ),
            Ok(0)
        );
    }

    #[test]
    fn sigaction_invalid_signal_is_einval_before_oldact() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        for sig in [0, -1, 65, i32::MIN, i32::MAX] {
            assert_eq!(
                rt_sigaction(
                    &mut st.actions,
                    &mut st.thread,
                    &mut mem,
                    sig,
                    null(),
                    at(BAD),
                    8
                ),
                Err(Errno::EINVAL)
            );
        }
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                64,
                null(),
                at(RW),
                8
            ),
            Ok(0)
        );
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                1,
                null(),
                at(RW),
                8
            ),
            Ok(0)
        );
    }

    #[test]
    fn sigaction_kill_and_stop_can_be_queried_not_changed() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        let ign = KernelSigaction {
            handler: SIG_IGN,
            ..Default::default()
        };
        poke(&mut mem, RW, &ign);
        for sig in [SIGKILL, SIGSTOP] {
            mem.poke(RW + 0x100, &[0xff; 32]);
            assert_eq!(
                rt_sigaction(
                    &mut st.actions,
                    &mut st.thread,
                    &mut mem,
                    sig,
                    at(RW),
                    at(RW + 0x100),
                    8
                ),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                mem.peek(RW + 0x100, 32),
                [0xff; 32],
                "oldact untouched on error"
            );
            assert_eq!(
                rt_sigaction(
                    &mut st.actions,
                    &mut st.thread,
                    &mut mem,
                    sig,
                    null(),
                    at(RW + 0x100),
                    8
                ),
                Ok(0)
            );
            assert_eq!(
                peek::<KernelSigaction>(&mem, RW + 0x100),
                KernelSigaction::default()
            );
        }
    }

    #[test]
    fn sigaction_stores_the_new_action_even_if_oldact_faults() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &handler());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                at(RW),
                at(RO),
                8
            ),
            Err(Errno::EFAULT)
        );
        assert_eq!(st.action(Signal::SIGINT), handler());
        assert_eq!(
            rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                &mut mem,
                SIGINT,
                null(),
                at(BAD),
                8
            ),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn sigaction_mask_never_holds_kill_or_stop() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(
            &mut mem,
            RW,
            &KernelSigaction {
                mask: SigSet::FULL,
                ..handler()
            },
        );
        rt_sigaction(
            &mut st.actions,
            &mut st.thread,
            &mut mem,
            SIGINT,
            at(RW),
            null(),
            8,
        )
        .unwrap();
        rt_sigaction(
            &mut st.actions,
            &mut st.thread,
            &mut mem,
            SIGINT,
            null(),
            at(RW + 0x100),
            8,
        )
        .unwrap();
        assert_eq!(
            peek::<KernelSigaction>(&mem, RW + 0x100).mask,
            SigSet::FULL.blockable()
        );
    }

    // ---- rt_sigprocmask -----------------------------------------------------------------

    #[test]
    fn sigprocmask_applies_how_and_reports_the_old_mask() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(
            &mut mem,
            RW,
            &SigSet::EMPTY.with(Signal::SIGINT).with(Signal::SIGKILL),
        );
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, SIG_BLOCK, at(RW), at(RW + 8), 8),
            Ok(0)
        );
        assert_eq!(peek::<SigSet>(&mem, RW + 8), SigSet::EMPTY);
        assert_eq!(
            st.blocked(),
            SigSet::EMPTY.with(Signal::SIGINT),
            "SIGKILL dropped"
        );

        poke(&mut mem, RW, &SigSet::EMPTY.with(Signal::SIGTERM));
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, SIG_SETMASK, at(RW), at(RW + 8), 8),
            Ok(0)
        );
        assert_eq!(
            peek::<SigSet>(&mem, RW + 8),
            SigSet::EMPTY.with(Signal::SIGINT)
        );
        assert_eq!(st.blocked(), SigSet::EMPTY.with(Signal::SIGTERM));

        // Query only.
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, SIG_BLOCK, null(), at(RW + 16), 8),
            Ok(0)
        );
        assert_eq!(
            peek::<SigSet>(&mem, RW + 16),
            SigSet::EMPTY.with(Signal::SIGTERM)
        );
    }

    #[test]
    fn sigprocmask_bad_sigsetsize_comes_first() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, 99, at(BAD), at(BAD), 16),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn sigprocmask_efault_on_set_beats_a_bad_how() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, 99, at(BAD), null(), 8),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, 99, at(RW), at(BAD), 8),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn sigprocmask_ignores_how_without_a_set() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, 99, null(), at(RW), 8),
            Ok(0)
        );
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, -1, null(), null(), 8),
            Ok(0)
        );
    }

    #[test]
    fn sigprocmask_keeps_the_new_mask_if_oldset_faults() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &SigSet::EMPTY.with(Signal::SIGUSR1));
        assert_eq!(
            rt_sigprocmask(&mut st.thread, &mut mem, SIG_BLOCK, at(RW), at(RO), 8),
            Err(Errno::EFAULT)
        );
        assert_eq!(st.blocked(), SigSet::EMPTY.with(Signal::SIGUSR1));
    }

    // ---- sigaltstack --------------------------------------------------------------------

    const SIZE: u64 = MINSIGSTKSZ as u64;
    const ALT: u64 = 0x10_0000;
    const SP_OFF_STACK: u64 = 0x7fff_0000;
    const SP_ON_STACK: u64 = ALT + 0x100;

    fn stack_t(sp: u64, size: u64, flags: i32) -> StackT {
        StackT {
            ss_sp: sp,
            ss_flags: flags,
            _pad: 0,
            ss_size: size,
        }
    }

    #[test]
    fn sigaltstack_reports_disabled_then_the_installed_stack() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        mem.poke(RW + 0x100, &[0xaa; 24]);
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                null(),
                at(RW + 0x100),
                SP_OFF_STACK
            ),
            Ok(0)
        );
        assert_eq!(
            peek::<StackT>(&mem, RW + 0x100),
            stack_t(0, 0, ss::DISABLE),
            "padding zeroed"
        );

        poke(&mut mem, RW, &stack_t(ALT, SIZE, 0));
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                at(RW),
                at(RW + 0x100),
                SP_OFF_STACK
            ),
            Ok(0)
        );
        assert_eq!(peek::<StackT>(&mem, RW + 0x100), stack_t(0, 0, ss::DISABLE));
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                null(),
                at(RW + 0x100),
                SP_OFF_STACK
            ),
            Ok(0)
        );
        assert_eq!(peek::<StackT>(&mem, RW + 0x100), stack_t(ALT, SIZE, 0));
        // On the stack: reported as SS_ONSTACK.
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                null(),
                at(RW + 0x100),
                SP_ON_STACK
            ),
            Ok(0)
        );
        assert_eq!(
            peek::<StackT>(&mem, RW + 0x100),
            stack_t(ALT, SIZE, ss::ONSTACK)
        );
    }

    #[test]
    fn sigaltstack_efault_on_ss_comes_first() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &stack_t(ALT, SIZE, 0));
        sigaltstack(&mut st.thread, &mut mem, at(RW), null(), SP_OFF_STACK).unwrap();
        // Even on the stack (EPERM) a bad ss is EFAULT first.
        assert_eq!(
            sigaltstack(&mut st.thread, &mut mem, at(BAD), null(), SP_ON_STACK),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn sigaltstack_eperm_on_stack_beats_bad_flags_and_leaves_old_ss() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &stack_t(ALT, SIZE, 0));
        sigaltstack(&mut st.thread, &mut mem, at(RW), null(), SP_OFF_STACK).unwrap();
        poke(&mut mem, RW, &stack_t(0, 0, 0x40));
        mem.poke(RW + 0x100, &[0xaa; 24]);
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                at(RW),
                at(RW + 0x100),
                SP_ON_STACK
            ),
            Err(Errno::EPERM)
        );
        assert_eq!(
            mem.peek(RW + 0x100, 24),
            [0xaa; 24],
            "old_ss is written only on success"
        );
    }

    #[test]
    fn sigaltstack_autodisarm_stack_is_never_in_use() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &stack_t(ALT, SIZE, ss::AUTODISARM));
        sigaltstack(&mut st.thread, &mut mem, at(RW), null(), SP_OFF_STACK).unwrap();
        // From inside the stack it can be replaced, and reports no SS_ONSTACK.
        poke(&mut mem, RW, &stack_t(ALT, SIZE * 2, 0));
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                at(RW),
                at(RW + 0x100),
                SP_ON_STACK
            ),
            Ok(0)
        );
        assert_eq!(
            peek::<StackT>(&mem, RW + 0x100),
            stack_t(ALT, SIZE, ss::AUTODISARM)
        );
    }

    #[test]
    fn sigaltstack_bad_flags_beat_small_size() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        for flags in [0x40, ss::ONSTACK | ss::DISABLE, -1, 4] {
            poke(&mut mem, RW, &stack_t(ALT, 1, flags));
            assert_eq!(
                sigaltstack(&mut st.thread, &mut mem, at(RW), null(), 0),
                Err(Errno::EINVAL),
                "{flags:#x}"
            );
        }
        poke(&mut mem, RW, &stack_t(ALT, SIZE - 1, ss::AUTODISARM));
        assert_eq!(
            sigaltstack(&mut st.thread, &mut mem, at(RW), null(), 0),
            Err(Errno::ENOMEM)
        );
        assert_eq!(st.alt_stack(), AltStack::AFTER_EXEC);
    }

    #[test]
    fn sigaltstack_disable_needs_no_size() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &stack_t(ALT, SIZE, 0));
        sigaltstack(&mut st.thread, &mut mem, at(RW), null(), SP_OFF_STACK).unwrap();
        poke(&mut mem, RW, &stack_t(0x1234, 1, ss::DISABLE));
        assert_eq!(
            sigaltstack(
                &mut st.thread,
                &mut mem,
                at(RW),
                at(RW + 0x100),
                SP_OFF_STACK
            ),
            Ok(0)
        );
        assert_eq!(peek::<StackT>(&mem, RW + 0x100), stack_t(ALT, SIZE, 0));
        assert_eq!(
            st.alt_stack().to_user(SP_OFF_STACK),
            stack_t(0, 0, ss::DISABLE)
        );
    }

    #[test]
    fn sigaltstack_keeps_the_new_stack_if_old_ss_faults() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RW, &stack_t(ALT, SIZE, 0));
        assert_eq!(
            sigaltstack(&mut st.thread, &mut mem, at(RW), at(RO), SP_OFF_STACK),
            Err(Errno::EFAULT)
        );
        assert_eq!(st.alt_stack().sp(), ALT);
    }

    #[test]
    fn sigaltstack_ss_may_be_read_only_and_both_null_is_fine() {
        let (mut st, mut mem) = (SignalState::new(), memory());
        poke(&mut mem, RO, &stack_t(ALT, SIZE, 0));
        assert_eq!(
            sigaltstack(&mut st.thread, &mut mem, at(RO), null(), SP_OFF_STACK),
            Ok(0)
        );
        assert_eq!(
            sigaltstack(&mut st.thread, &mut mem, null(), null(), SP_OFF_STACK),
            Ok(0)
        );
        assert_eq!(st.alt_stack().size(), SIZE);
    }
}
