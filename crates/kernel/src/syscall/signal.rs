//! The signal system calls: dispositions (rt_sigaction), sending (kill, tkill, tgkill,
//! rt_sigqueueinfo), waiting (pause, rt_sigsuspend, rt_sigtimedwait), pending (rt_sigpending),
//! and the temporary masks of ppoll, pselect6, epoll_pwait and epoll_pwait2. Delivery itself is
//! in [`crate::signal`].

use crate::devices::KernelBlocker;
use crate::process::Process;
use crate::sched;
use crate::signal::{
    Sent, dequeue, discard_everywhere, has_deliverable, pending_for, raise, raise_on_process,
};
use crate::thread::Wake;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use oxv_abi::linux::fs::Pollfd;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::{KernelSigaction, SIGSET_SIZE, SigSet, Signal};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};

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
                discard_everywhere(p, sig);
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

/// The processes kill(2) with `pid` reaches from process `p`: one process (`pid > 0`, also
/// through the id of any of its threads), `p`'s process group (0), every process but pid 1
/// (-1), or the group `-pid`. Zombies count as found (Linux finds them too) but get nothing.
fn kill_targets(p: &Process, pid: i32) -> Result<Vec<Arc<Process>>, Errno> {
    let found: Vec<Arc<Process>> = match pid {
        1.. => {
            let by_pid = crate::process::lookup(pid)
                .or_else(|| sched::with(|s| s.thread(pid)).map(|t| t.process().clone()));
            by_pid.into_iter().collect()
        }
        0 => {
            let pgid = p.family.lock().pgid;
            in_group(pgid)
        }
        -1 => crate::process::all()
            .into_iter()
            .filter(|q| q.pid != crate::process::INIT_PID)
            .collect(),
        i32::MIN => return Err(Errno::ESRCH),
        _ => in_group(-pid),
    };
    if found.is_empty() {
        Err(Errno::ESRCH)
    } else {
        Ok(found)
    }
}

fn in_group(pgid: i32) -> Vec<Arc<Process>> {
    crate::process::all()
        .into_iter()
        .filter(|q| q.family.lock().pgid == pgid)
        .collect()
}

/// Sends `sig` to `target` unless it is a zombie (or `sig` is 0, the existence check).
fn send(target: &Process, sig: Option<Signal>, info: SigInfo) -> Sent {
    match sig {
        Some(sig) if target.life_status().is_none() => raise_on_process(target, sig, info),
        _ => Sent::Queued,
    }
}

/// kill(2).
pub fn kill(p: &Process, pid: i32, sig: i32) -> SysResult {
    let sig = check_sig(sig)?;
    let targets = kill_targets(p, pid)?;
    let signo = sig.map_or(0, |s| s.number() as i32);
    for t in &targets {
        send(
            t,
            sig,
            SigInfo::from_process(signo, code::SI_USER, p.pid, 0),
        );
    }
    Ok(0)
}

fn to_thread(
    p: &Process,
    tgid: Option<i32>,
    tid: i32,
    sig: i32,
    info: Option<SigInfo>,
) -> SysResult {
    let target = sched::with(|s| s.thread(tid)).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|tgid| target.process().pid != tgid) {
        return Err(Errno::ESRCH);
    }
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
    to_thread(p, None, tid, sig, None)
}

/// tgkill(2).
pub fn tgkill(p: &Process, tgid: i32, tid: i32, sig: i32) -> SysResult {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    to_thread(p, Some(tgid), tid, sig, None)
}

/// The siginfo a process passes to rt_(tg)sigqueueinfo(2): Linux refuses codes that only the
/// kernel may send (`si_code >= 0`, or `SI_TKILL`) when the target is another process.
fn queued_info(
    p: &Process,
    target_pid: i32,
    mem: &dyn UserMemory,
    sig: i32,
    info: UserPtr<SigInfo>,
) -> Result<SigInfo, Errno> {
    let mut i = info.read(mem)?;
    if target_pid != p.pid && (i.si_code >= 0 || i.si_code == code::SI_TKILL) {
        return Err(Errno::EPERM);
    }
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
    let i = queued_info(p, tgid, mem, sig, info)?;
    let sig = check_sig(sig)?;
    let target = crate::process::lookup(tgid).ok_or(Errno::ESRCH)?;
    if send(&target, sig, i) == Sent::OverLimit {
        return Err(Errno::EAGAIN);
    }
    Ok(0)
}

/// pidfd_send_signal(2), in Linux 6.1's order: flags, the pidfd, the siginfo (`EFAULT`,
/// `EINVAL` when its signal is not `sig`, `EPERM` for a kernel-only code to another
/// process), then `ESRCH` for a reaped process and `EINVAL` for a bad signal.
pub fn pidfd_send_signal(
    p: &Process,
    mem: &dyn UserMemory,
    pidfd: i32,
    sig: i32,
    info: UserPtr<SigInfo>,
    flags: u32,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (_, pid, weak) = super::pidfd::lookup(&p.files, pidfd)?;
    let info = if info.is_null() {
        SigInfo::from_process(sig, code::SI_USER, p.pid, 0)
    } else {
        let i = info.read(mem)?;
        if i.si_signo != sig {
            return Err(Errno::EINVAL);
        }
        if pid != p.pid && (i.si_code >= 0 || i.si_code == code::SI_TKILL) {
            return Err(Errno::EPERM);
        }
        i
    };
    let target = weak.upgrade().ok_or(Errno::ESRCH)?;
    let sig = check_sig(sig)?;
    if send(&target, sig, info) == Sent::OverLimit {
        return Err(Errno::EAGAIN);
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
    let i = queued_info(p, tgid, mem, sig, info)?;
    to_thread(p, Some(tgid), tid, sig, Some(i))
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

/// Installs the temporary signal mask of ppoll, pselect6 and epoll_pwait(2) (Linux's
/// `set_user_sigmask`): nothing for a null `sigmask`, `EINVAL` for a size other than 8,
/// `EFAULT`; returns the mask it replaced.
fn swap_in_mask(
    mem: &dyn UserMemory,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> Result<Option<SigSet>, Errno> {
    if sigmask.is_null() {
        return Ok(None);
    }
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let new = sigmask.read(mem)?;
    let me = sched::current();
    let mut st = me.signals.lock();
    let old = st.blocked();
    st.set_blocked(new.blockable());
    Ok(Some(old))
}

/// Puts the mask [`swap_in_mask`] replaced back: at once, or, if a signal interrupted the
/// call and will run a handler, after the handler (Linux's saved sigmask).
fn restore_mask(saved: Option<SigSet>, r: &SysResult) {
    if let Some(old) = saved {
        let me = sched::current();
        if *r == Err(Errno::EINTR) && has_deliverable(&me) {
            *me.saved_mask.lock() = Some(old);
        } else {
            me.signals.lock().set_blocked(old);
        }
    }
}

/// ppoll(2): the timeout is read first, then the temporary signal mask is put in place for
/// the call; if a signal interrupts it, the old mask comes back after the handler runs.
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
    use oxv_vfs::syscalls::poll;
    let rel = poll::ppoll_timeout(mem, tmo)?;
    let saved = swap_in_mask(mem, sigmask, sigsetsize)?;
    let r = poll::ppoll_with_timeout(&p.files, mem, &KernelBlocker, fds, nfds, tmo, rel);
    restore_mask(saved, &r);
    r
}

/// pselect6(2): the sixth argument points to `{ sigset_t *ss; size_t ss_len; }`, read first
/// (`EFAULT`); then the timeout, then the mask, as Linux's `do_pselect`.
pub fn pselect6(
    p: &Process,
    mem: &mut dyn UserMemory,
    nfds: i32,
    sets: oxv_vfs::syscalls::select::FdSets,
    tmo: UserPtr<Timespec>,
    sigpack: UserAddr,
) -> SysResult {
    use oxv_vfs::syscalls::select;
    let (mask_ptr, mask_size) = if sigpack.is_null() {
        (0, 0)
    } else {
        let pack = UserPtr::<[u64; 2]>::new(sigpack.get()).read(mem)?;
        (pack[0], pack[1] as usize)
    };
    let rel = select::pselect6_timeout(mem, tmo)?;
    let saved = swap_in_mask(mem, UserPtr::new(mask_ptr), mask_size)?;
    let r = select::pselect6_with_timeout(&p.files, mem, &KernelBlocker, nfds, sets, tmo, rel);
    restore_mask(saved, &r);
    r
}

/// epoll_pwait(2): the mask first, then epoll_wait(2).
#[allow(clippy::too_many_arguments)]
pub fn epoll_pwait(
    p: &Process,
    mem: &mut dyn UserMemory,
    epfd: i32,
    events: UserAddr,
    maxevents: i32,
    timeout_ms: i32,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    let saved = swap_in_mask(mem, sigmask, sigsetsize)?;
    let r = oxv_vfs::syscalls::epoll::epoll_wait(
        &p.files,
        mem,
        &KernelBlocker,
        epfd,
        events,
        maxevents,
        timeout_ms,
    );
    restore_mask(saved, &r);
    r
}

/// epoll_pwait2(2): the timeout first (`EFAULT`, `EINVAL`), then the mask, then the wait.
#[allow(clippy::too_many_arguments)]
pub fn epoll_pwait2(
    p: &Process,
    mem: &mut dyn UserMemory,
    epfd: i32,
    events: UserAddr,
    maxevents: i32,
    tmo: UserPtr<Timespec>,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    use oxv_vfs::syscalls::epoll;
    let rel = epoll::pwait2_timeout(mem, tmo)?;
    let saved = swap_in_mask(mem, sigmask, sigsetsize)?;
    let r = epoll::epoll_pwait2(&p.files, mem, &KernelBlocker, epfd, events, maxevents, rel);
    restore_mask(saved, &r);
    r
}
