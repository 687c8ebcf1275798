//! The signal system calls: dispositions (rt_sigaction), sending (kill, tkill, tgkill,
//! rt_sigqueueinfo), waiting (pause, rt_sigsuspend, rt_sigtimedwait), pending (rt_sigpending),
//! and ppoll's temporary mask. Delivery itself is in [`crate::signal`].

use crate::devices::KernelBlocker;
use crate::process::Process;
use crate::sched;
use crate::signal::{
    Sent, dequeue, discard_everywhere, has_deliverable, pending_for, raise, raise_on_process,
};
use crate::thread::Wake;
use core::sync::atomic::Ordering;
use oxv_abi::linux::fs::Pollfd;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::{KernelSigaction, SIGSET_SIZE, SigSet, Signal};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

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
    let me = sched::current();
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
                drop(actions);
                discard_everywhere(sig);
            }
        }
    }
    r
}

fn check_sig(sig: i32) -> Result<Option<Signal>, Errno> {
    match sig {
        0 => Ok(None),
        _ => Signal::try_from(sig).map(Some),
    }
}

/// kill(2): only this process (or every process, -1) exists.
pub fn kill(p: &Process, pid: i32, sig: i32) -> SysResult {
    let sig = check_sig(sig)?;
    if pid != p.pid && pid != 0 && pid != -1 && pid != -p.pid {
        return Err(Errno::ESRCH);
    }
    if let Some(sig) = sig {
        raise_on_process(
            sig,
            SigInfo::from_process(sig.number() as i32, code::SI_USER, p.pid, 0),
        );
    }
    Ok(0)
}

fn to_thread(p: &Process, tid: i32, sig: i32, info: Option<SigInfo>) -> SysResult {
    let target = sched::with(|s| s.thread(tid)).ok_or(Errno::ESRCH)?;
    if let Some(sig) = check_sig(sig)? {
        let info = info.unwrap_or_else(|| {
            SigInfo::from_process(sig.number() as i32, code::SI_TKILL, p.pid, 0)
        });
        if raise(&target, sig, info) == Sent::OverLimit {
            return Err(Errno::EAGAIN);
        }
    }
    Ok(0)
}

/// tkill(2).
pub fn tkill(p: &Process, tid: i32, sig: i32) -> SysResult {
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    to_thread(p, tid, sig, None)
}

/// tgkill(2).
pub fn tgkill(p: &Process, tgid: i32, tid: i32, sig: i32) -> SysResult {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid != p.pid {
        return Err(Errno::ESRCH);
    }
    to_thread(p, tid, sig, None)
}

/// The siginfo a process passes to rt_(tg)sigqueueinfo(2): Linux refuses codes that only the
/// kernel may send (`si_code >= 0`, or `SI_TKILL`) when the target is another process; oxv
/// has one process, so the caller is always the target and any code is allowed.
fn queued_info(mem: &dyn UserMemory, sig: i32, info: UserPtr<SigInfo>) -> Result<SigInfo, Errno> {
    let mut i = info.read(mem)?;
    i.si_signo = sig;
    Ok(i)
}

/// rt_sigqueueinfo(2).
pub fn rt_sigqueueinfo(
    p: &Process,
    mem: &dyn UserMemory,
    tgid: i32,
    sig: i32,
    info: UserPtr<SigInfo>,
) -> SysResult {
    let i = queued_info(mem, sig, info)?;
    let sig = check_sig(sig)?;
    if tgid != p.pid {
        return Err(Errno::ESRCH);
    }
    if let Some(sig) = sig {
        if raise_on_process(sig, i) == Sent::OverLimit {
            return Err(Errno::EAGAIN);
        }
    }
    Ok(0)
}

/// rt_tgsigqueueinfo(2).
pub fn rt_tgsigqueueinfo(
    p: &Process,
    mem: &dyn UserMemory,
    tgid: i32,
    tid: i32,
    sig: i32,
    info: UserPtr<SigInfo>,
) -> SysResult {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let i = queued_info(mem, sig, info)?;
    if tgid != p.pid {
        return Err(Errno::ESRCH);
    }
    to_thread(p, tid, sig, Some(i))
}

/// rt_sigpending(2): signals pending for the caller or the process while blocked.
pub fn rt_sigpending(
    mem: &mut dyn UserMemory,
    set: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    if sigsetsize > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let me = sched::current();
    let blocked = me.signals.lock().blocked();
    let pending = SigSet(pending_for(&me).0 & blocked.0);
    mem.copy_out(set.addr(), &pending.0.to_le_bytes()[..sigsetsize])?;
    Ok(0)
}

/// Sleeps until a signal is delivered to the caller; always ends in EINTR.
fn wait_for_signal() -> SysResult {
    let me = sched::current();
    while !has_deliverable(&me) {
        sched::block(None, |_, _| {});
    }
    Err(Errno::EINTR)
}

/// pause(2).
pub fn pause() -> SysResult {
    wait_for_signal()
}

/// rt_sigsuspend(2): waits with `mask` in place; the handler's frame records the old mask,
/// so it comes back when the handler returns (Linux's saved sigmask).
pub fn rt_sigsuspend(mem: &dyn UserMemory, mask: UserPtr<SigSet>, sigsetsize: usize) -> SysResult {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let new = mask.read(mem)?;
    let me = sched::current();
    let old = {
        let mut st = me.signals.lock();
        let old = st.blocked();
        st.set_blocked(new.blockable());
        old
    };
    *me.saved_mask.lock() = Some(old);
    wait_for_signal()
}

/// rt_sigtimedwait(2): takes a pending signal from `set` (normally blocked), waiting for one
/// until the timeout; `EAGAIN` on timeout, `EINTR` if another signal is delivered first.
pub fn rt_sigtimedwait(
    mem: &mut dyn UserMemory,
    set: UserPtr<SigSet>,
    info: UserPtr<SigInfo>,
    timeout: UserPtr<Timespec>,
    sigsetsize: usize,
) -> SysResult {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let these = set.read(mem)?.blockable();
    let deadline = if timeout.is_null() {
        None
    } else {
        let ns = timeout.read(mem)?.to_nanos()?;
        Some(crate::time::monotonic_ns().saturating_add(ns))
    };
    let me = sched::current();
    loop {
        if let Some((sig, i)) = dequeue(&me, these) {
            if !info.is_null() {
                info.write(mem, &i)?;
            }
            return Ok(sig.number() as usize);
        }
        if has_deliverable(&me) {
            return Err(Errno::EINTR);
        }
        if deadline.is_some_and(|d| d <= crate::time::monotonic_ns()) {
            return Err(Errno::EAGAIN);
        }
        me.sigwait_set.store(these.0, Ordering::Release);
        let why = sched::block(deadline, |_, _| {});
        me.sigwait_set.store(0, Ordering::Release);
        if why == Wake::Timeout {
            continue; // one more look: a signal may have come with the timeout
        }
    }
}

/// ppoll(2): the temporary signal mask is in place for the call; if a signal interrupts it,
/// the old mask is restored after the handler runs (as Linux's saved sigmask).
#[allow(clippy::too_many_arguments)]
pub fn ppoll(
    p: &Process,
    mem: &mut dyn UserMemory,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    tmo: UserPtr<Timespec>,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    let me = sched::current();
    let saved = if sigmask.is_null() {
        None
    } else {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = sigmask.read(mem)?;
        let mut st = me.signals.lock();
        let old = st.blocked();
        st.set_blocked(new.blockable());
        Some(old)
    };
    let r = oxv_vfs::syscalls::poll::ppoll(&p.files, mem, &KernelBlocker, fds, nfds, tmo);
    if let Some(old) = saved {
        if r == Err(Errno::EINTR) && has_deliverable(&me) {
            *me.saved_mask.lock() = Some(old);
        } else {
            me.signals.lock().set_blocked(old);
        }
    }
    r
}
