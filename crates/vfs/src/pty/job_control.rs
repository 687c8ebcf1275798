//! The terminal's side of job control: what a process outside the foreground group may do to
//! its controlling terminal, as credentials(7) ("job control"), termios(3) (`TOSTOP`) and
//! Linux's `__tty_check_change` decide it.
//!
//! Only a caller whose session took this terminal as its controlling terminal (`TIOCSCTTY`)
//! and whose process group is not the foreground group is checked; any other caller, and any
//! caller while there is no foreground group, goes ahead. For a checked caller:
//!
//! - if it blocks or ignores the signal the operation would raise, a read fails with `EIO`
//!   (`SIGTTIN`) and the rest goes ahead (`SIGTTOU`);
//! - else, if its group is orphaned (no member has a parent in another group of the same
//!   session), the operation fails with `EIO`: nobody could continue a stopped group;
//! - else the signal goes to its whole group (`si_code` `SI_KERNEL`) and the operation fails
//!   with `EINTR`, which the embedder turns into Linux's `-ERESTARTSYS`: restarted after a
//!   stop and `SIGCONT`, or after a handler with `SA_RESTART`.
//!
//! Which operations are checked is the callers' business ([`super`]): slave reads (`SIGTTIN`),
//! slave writes with `TOSTOP` set, and the ioctls that change the terminal (`SIGTTOU`).
//!
//! Not here: which process is calling, its signal state and the process tree; the embedder
//! answers those through [`TtySignals`].

use super::TtySignals;
use oxv_abi::Errno;
use oxv_abi::linux::signal::Signal;

/// The calling process as its terminal sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TtyCaller {
    /// Its process group.
    pub pgrp: i32,
    /// Its session (the session leader's pid).
    pub session: i32,
}

/// Whether the caller may touch a terminal whose controlling session is `session` (0 for
/// none) and whose foreground group is `foreground` (0 for none) in a way that raises `sig`
/// (`SIGTTIN` or `SIGTTOU`) from the background. `EIO` or `EINTR` (after raising `sig` on the
/// caller's group) when it may not; see the [module docs](self).
pub(super) fn check(
    signals: &dyn TtySignals,
    session: i32,
    foreground: i32,
    sig: Signal,
) -> Result<(), Errno> {
    if session == 0 || foreground == 0 {
        return Ok(());
    }
    let Some(me) = signals.caller() else {
        return Ok(());
    };
    if me.session != session || me.pgrp == foreground {
        return Ok(());
    }
    if signals.caller_refuses(sig) {
        return if sig == Signal::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    if signals.group_orphaned(me.pgrp) {
        return Err(Errno::EIO);
    }
    signals.signal_group(me.pgrp, sig);
    Err(Errno::EINTR)
}
