//! Signals the skeleton can act on: a signal sent to the app itself takes its default action
//! (terminate, with the exit status 128+n the host sees), is discarded when ignored, or stays
//! pending when blocked. Running a handler needs signal delivery, which lands with threads
//! (issue 4): until then such a send is `ENOSYS`, never a silent success.

use crate::arch::trap::TrapFrame;
use crate::devices::KernelBlocker;
use crate::process::Process;
use oxv_abi::linux::fs::Pollfd;
use oxv_abi::linux::signal::{DefaultAction, KernelSigaction, SIG_DFL, SIG_IGN, SigSet, Signal};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// Takes the default action of pending signals that are no longer blocked (called after the
/// mask changes): ignored ones are discarded, fatal ones end the process. A signal with a
/// handler stays pending until delivery exists.
pub fn act_on_deliverable(p: &Process, frame: &TrapFrame) {
    let me = crate::sched::current();
    let mut st = me.signals.lock();
    for sig in st.deliverable().iter() {
        let handler = p.actions.lock().action(sig).handler;
        if handler == SIG_IGN {
            st.clear_pending(sig);
        } else if handler == SIG_DFL {
            match sig.default_action() {
                DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue => {
                    st.clear_pending(sig)
                }
                DefaultAction::Terminate | DefaultAction::CoreDump => {
                    drop(st);
                    crate::process::kill(frame, sig, None);
                }
            }
        }
    }
}

/// rt_sigaction(2): the process's dispositions, the calling thread's pending set; a signal
/// that becomes ignored is discarded from every thread's pending set, as on Linux.
pub fn rt_sigaction(
    p: &Process,
    mem: &mut dyn UserMemory,
    signum: i32,
    act: UserPtr<KernelSigaction>,
    oldact: UserPtr<KernelSigaction>,
    sigsetsize: usize,
) -> SysResult {
    let me = crate::sched::current();
    let mut actions = p.actions.lock();
    let r = oxv_sched::syscalls::signal::rt_sigaction(
        &mut actions,
        &mut me.signals.lock(),
        mem,
        signum,
        act,
        oldact,
        sigsetsize,
    );
    if r.is_ok() && !act.is_null() {
        if let Ok(sig) = Signal::try_from(signum) {
            if actions.is_ignored(sig) {
                crate::sched::with(|s| {
                    for t in s.threads() {
                        t.signals.lock().clear_pending(sig);
                    }
                });
            }
        }
    }
    r
}

/// Sends `sig` to thread `target` of this process (the caller when `target` is `None`).
fn send(p: &Process, frame: &TrapFrame, target: Option<i32>, sig: i32) -> SysResult {
    let thread = match target {
        None => crate::sched::current(),
        Some(tid) => crate::sched::with(|s| s.thread(tid)).ok_or(Errno::ESRCH)?,
    };
    if sig == 0 {
        return Ok(0);
    }
    let sig = Signal::try_from(sig)?;
    let mut st = thread.signals.lock();
    if st.blocked().contains(sig) && !sig.is_unblockable() {
        st.add_pending(sig);
        return Ok(0);
    }
    let handler = p.actions.lock().action(sig).handler;
    drop(st);
    if handler == SIG_IGN && !sig.is_unblockable() {
        return Ok(0);
    }
    if handler != SIG_DFL && !sig.is_unblockable() {
        return Err(Errno::ENOSYS);
    }
    match sig.default_action() {
        DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue => Ok(0),
        DefaultAction::Terminate | DefaultAction::CoreDump => {
            crate::process::kill(frame, sig, None)
        }
    }
}

/// kill(2): only this process (or every process, -1) exists; the signal goes to the caller.
pub fn kill(p: &Process, frame: &TrapFrame, pid: i32, sig: i32) -> SysResult {
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if pid != p.pid && pid != 0 && pid != -1 && pid != -p.pid {
        return Err(Errno::ESRCH);
    }
    send(p, frame, None, sig)
}

/// tkill(2).
pub fn tkill(p: &Process, frame: &TrapFrame, tid: i32, sig: i32) -> SysResult {
    if tid <= 0 || !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    send(p, frame, Some(tid), sig)
}

/// tgkill(2).
pub fn tgkill(p: &Process, frame: &TrapFrame, tgid: i32, tid: i32, sig: i32) -> SysResult {
    if tgid <= 0 || tid <= 0 || !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if tgid != p.pid {
        return Err(Errno::ESRCH);
    }
    send(p, frame, Some(tid), sig)
}

/// ppoll(2): the temporary signal mask is validated and applied for the call.
pub fn ppoll(
    p: &Process,
    mem: &mut dyn UserMemory,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    tmo: UserPtr<Timespec>,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    let saved = if sigmask.is_null() {
        None
    } else {
        if sigsetsize != core::mem::size_of::<SigSet>() {
            return Err(Errno::EINVAL);
        }
        let new = sigmask.read(mem)?;
        let me = crate::sched::current();
        let mut st = me.signals.lock();
        let old = st.blocked();
        st.set_blocked(new.blockable());
        Some(old)
    };
    let r = oxv_vfs::syscalls::poll::ppoll(&p.files, mem, &KernelBlocker, fds, nfds, tmo);
    if let Some(old) = saved {
        crate::sched::current().signals.lock().set_blocked(old);
    }
    r
}
