//! Job control: stopping and continuing processes, as signal(7) describes.
//!
//! - A stop signal (`SIGSTOP`, or `SIGTSTP`/`SIGTTIN`/`SIGTTOU` left at their default action)
//!   taken by one thread stops the whole process: every thread parks on its way back to
//!   ring 3 until the process is continued or killed. The parent gets `SIGCHLD` with
//!   `CLD_STOPPED` (unless it set `SA_NOCLDSTOP`) and can see the stop with
//!   wait4(`WUNTRACED`)/waitid(`WSTOPPED`).
//! - `SIGCONT` continues a stopped process when it is sent, whatever its disposition or mask
//!   (the handler, if any, runs later like any signal); the parent gets `CLD_CONTINUED` and
//!   wait(`WCONTINUED`) reports it. Sending `SIGCONT` discards pending stop signals, and
//!   sending a stop signal discards a pending `SIGCONT`.
//! - `SIGKILL` ends a stopped process: it wakes the parked threads so they can die.
//! - A `SIGTSTP`, `SIGTTIN` or `SIGTTOU` taken with its default action by a process whose
//!   group is orphaned ([`group_orphaned`]) is discarded, as Linux's `get_signal` does: no
//!   process outside the group could continue it, so stopping it would strand it. `SIGSTOP`
//!   stops it all the same.
//!
//! The terminal's side (a background group reading its terminal gets `SIGTTIN`, writing with
//! `TOSTOP` or changing its settings `SIGTTOU`, an orphaned one `EIO`) is oxv-vfs's `tty`
//! module (the console and the ptys) with [`crate::tty_signals`]; the stop itself is the
//! default action here.

use crate::process::Process;
use crate::sched;
use crate::thread::{Thread, Wake};
use core::sync::atomic::Ordering;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::{SigSet, Signal, sa};

/// A stop or continue the parent has not collected with wait yet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChildEvent {
    /// Stopped by this signal.
    Stopped(Signal),
    /// Continued by `SIGCONT`.
    Continued,
}

const STOP_SIGNALS: SigSet = SigSet::EMPTY
    .with(Signal::SIGSTOP)
    .with(Signal::SIGTSTP)
    .with(Signal::SIGTTIN)
    .with(Signal::SIGTTOU);

/// What sending `sig` to `p` does before it is queued (Linux's `prepare_signal`).
pub fn on_send(p: &Process, sig: Signal) {
    if sig == Signal::SIGCONT {
        discard(p, STOP_SIGNALS);
        if p.stopped.swap(false, Ordering::AcqRel) {
            *p.child_event.lock() = Some(ChildEvent::Continued);
            notify_parent(p, code::CLD_CONTINUED, Signal::SIGCONT);
            wake_threads(p);
        }
    } else if STOP_SIGNALS.contains(sig) {
        discard(p, SigSet::EMPTY.with(Signal::SIGCONT));
    } else if sig == Signal::SIGKILL && p.stopped.swap(false, Ordering::AcqRel) {
        wake_threads(p);
    }
}

fn discard(p: &Process, set: SigSet) {
    for sig in set.iter() {
        crate::signal::discard_everywhere(p, sig);
    }
}

fn wake_threads(p: &Process) {
    let threads = p.thread_list();
    sched::with(|s| {
        for t in &threads {
            s.wake(t, Wake::Event);
        }
    });
}

/// The default action of stop signal `sig`, taken by a thread of `p`: the process stops,
/// unless `sig` is not `SIGSTOP` and `p`'s group is orphaned (then `sig` is discarded, as
/// Linux's `is_current_pgrp_orphaned` check in `get_signal`).
pub fn stop(p: &Process, sig: Signal) {
    if sig != Signal::SIGSTOP {
        // Not in the call's argument: the family guard would live across the call, which
        // locks every process's family, this one's too.
        let pgrp = p.family.lock().pgid;
        if group_orphaned(pgrp) {
            return;
        }
    }
    if p.stopped.swap(true, Ordering::AcqRel) {
        return;
    }
    *p.child_event.lock() = Some(ChildEvent::Stopped(sig));
    notify_parent(p, code::CLD_STOPPED, sig);
}

/// Parks thread `me` while its process is stopped (until `SIGCONT`, `SIGKILL`, or its
/// process ends).
pub fn park_while_stopped(p: &Process, me: &Thread) {
    while p.stopped.load(Ordering::Acquire) && !me.killed.load(Ordering::Acquire) {
        sched::block_if(None, |_, _| {
            p.stopped.load(Ordering::Acquire) && !me.killed.load(Ordering::Acquire)
        });
    }
}

/// Tells `p`'s parent about a stop or continue: `SIGCHLD` unless it set `SA_NOCLDSTOP`, and
/// a wake-up of its waiters either way.
fn notify_parent(p: &Process, why: i32, sig: Signal) {
    let Some(parent) = p.parent() else { return };
    let nocldstop = parent.actions.lock().action(Signal::SIGCHLD).flags & sa::NOCLDSTOP != 0;
    if !nocldstop && p.exit_signal == Some(Signal::SIGCHLD) {
        let info = SigInfo::from_child(
            Signal::SIGCHLD.number() as i32,
            why,
            p.pid,
            0,
            sig.number() as i32,
            0,
            0,
        );
        let _ = crate::signal::raise_on_process(&parent, Signal::SIGCHLD, info);
    }
    parent.wake_child_waiters();
}

/// Whether process group `pgrp` is orphaned (POSIX; Linux's `will_become_orphaned_pgrp`): no
/// live member has a parent in another group of the same session, so nobody outside the
/// group can continue it once stopped. A group with no live member is orphaned too.
///
/// Unlike Linux, a parent that is pid 1 keeps its children's groups attached: in oxv pid 1
/// is the app, which acts as their shell, not an init that never does job control.
pub fn group_orphaned(pgrp: i32) -> bool {
    // Members being reaped count for nothing.
    !crate::process::all().iter().any(|p| {
        let (pgid, sid) = {
            let f = p.family.lock();
            (f.pgid, f.sid)
        };
        if pgid != pgrp || p.life_status().is_some() {
            return false;
        }
        p.parent().is_some_and(|parent| {
            let f = parent.family.lock();
            f.pgid != pgrp && f.sid == sid
        })
    })
}
