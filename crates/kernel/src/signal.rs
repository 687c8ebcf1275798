//! Signal delivery: raising signals on threads, running handlers in ring 3, and
//! `rt_sigreturn(2)`.
//!
//! Semantics follow signal(7) and Linux's `kernel/signal.c` and `arch/x86/kernel/signal*.c`:
//! - A signal raised on a thread is pending until the thread returns to ring 3 with it
//!   unblocked; then its disposition acts: ignore, the default action (terminate: the VM ends
//!   with 128+n; stop/continue: see [`crate::jobctl`]), or a handler.
//! - A handler runs on the thread's stack (or its alternate stack with `SA_ONSTACK`) with an
//!   `rt_sigframe` below it: the interrupted registers, mask and alternate stack in a
//!   `ucontext`, the `siginfo`, and the XSAVE image of the x87/SSE/AVX state; it returns
//!   through `sa_restorer`, which calls rt_sigreturn to restore all of it.
//! - A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) is delivered at once; if it is
//!   blocked or ignored, the process dies of it (Linux's `force_sig`).
//! - A thread blocked in the kernel is woken (`EINTR`) by a signal it does not block.
//!
//! - A signal sent to a thread (tkill, a fault) waits in that thread's queue; one sent to the
//!   process (kill, sigqueue, a timer) waits in the process's queue for whichever thread
//!   does not block it. Standard signals merge; real-time ones queue every instance with its
//!   value, up to `RLIMIT_SIGPENDING`.
//! - An interrupted system call is restarted after a handler with `SA_RESTART` or when no
//!   handler runs, as its [`Restart`] rule says.

use crate::arch::context;
use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::process::Process;
use crate::sched;
use crate::thread::{State, Thread, ThreadRef, Wake};
use alloc::vec;
use core::mem::{offset_of, size_of};
use core::sync::atomic::Ordering;
use oxv_abi::linux::sigframe::*;
use oxv_abi::linux::signal::{
    DefaultAction, KernelSigaction, SIG_DFL, SIG_IGN, SigSet, Signal, StackT, sa, ss,
};
use oxv_abi::{UserAddr, UserMemory, UserPtr};
use zerocopy::IntoBytes;

/// RFLAGS bits a handler and rt_sigreturn may change (Linux's `FIX_EFLAGS`): AC, OF, DF, TF,
/// SF, ZF, AF, PF, CF and RF.
const FIX_EFLAGS: u64 = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;

/// Bytes below the interrupted stack pointer that the frame must not touch (the ABI's red
/// zone).
const RED_ZONE: u64 = 128;

/// How an interrupted system call continues once the signal is dealt with (Linux's
/// `-ERESTARTSYS` family, which never reaches the app).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Restarted unless a handler without `SA_RESTART` runs (read, write, futex wait).
    UnlessHandlerWithoutSaRestartFlag,
    /// Restarted only when no handler runs (poll, ppoll).
    UnlessHandler,
    /// Restarted even after a handler without `SA_RESTART` (Linux's `-ERESTARTNOINTR`: the
    /// PI futex lock waits).
    Always,
}

/// Whether a thread that blocks `blocked` and waits in sigtimedwait(2) for `awaited` would
/// take `sig` now (Linux's `wants_signal`: sigtimedwait unblocks what it waits for).
fn wants(blocked: SigSet, awaited: u64, sig: Signal) -> bool {
    !blocked.contains(sig) || awaited & sig.bit() != 0
}

fn thread_wants(t: &Thread, sig: Signal) -> bool {
    wants(
        t.signals.lock().blocked(),
        t.sigwait_set.load(Ordering::Acquire),
        sig,
    )
}

/// How many more real-time signals may be queued, counting every queue of every process
/// (`RLIMIT_SIGPENDING` counts per user, and everything runs as root).
fn queue_room(p: &Process) -> usize {
    let limit = p
        .limits
        .lock()
        .soft(oxv_abi::linux::system::RlimitResource::Sigpending);
    let shared: usize = crate::process::all()
        .iter()
        .map(|q| q.shared_signals.lock().len())
        .sum();
    let private: usize = sched::with(|s| s.threads().map(|t| t.signals.lock().queued()).sum());
    usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(shared + private)
}

/// What became of a raised signal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued (or merged with the same standard signal already pending).
    Queued,
    /// Discarded at once: the process ignores it and the target does not block it.
    Ignored,
    /// A real-time signal over `RLIMIT_SIGPENDING` (sigqueue(3) fails with `EAGAIN`).
    OverLimit,
}

fn room_for(p: &Process, sig: Signal) -> usize {
    // Standard signals merge, so only real-time ones can grow a queue.
    if sig.is_realtime() {
        queue_room(p)
    } else {
        usize::MAX
    }
}

/// Raises `sig` on thread `t` with `info` (tkill, tgkill, a fault, a thread-directed timer).
/// A signal the process ignores and `t` does not block is discarded at once (Linux's
/// `sig_ignored`). If `t` would take it and is waiting in the kernel, it is woken so that
/// its call returns `EINTR` and the signal is delivered.
pub fn raise(t: &ThreadRef, sig: Signal, info: SigInfo) -> Sent {
    let p = t.process();
    crate::jobctl::on_send(p, sig);
    if p.actions.lock().is_ignored(sig) && !t.signals.lock().blocked().contains(sig) {
        return Sent::Ignored;
    }
    let room = room_for(p, sig);
    let wanted = {
        let mut st = t.signals.lock();
        if !st.queue().push_within(info, room) {
            return Sent::OverLimit;
        }
        t.sig_pending.store(true, Ordering::Release);
        wants(st.blocked(), t.sigwait_set.load(Ordering::Acquire), sig)
    };
    if wanted && t.state() == State::Blocked {
        sched::with(|s| s.wake(t, Wake::Signal));
    }
    // `t` may be in ring 3 on another CPU: it takes the signal on its next kernel exit.
    crate::smp::kick_busy_cpus();
    crate::signalfd::notify();
    Sent::Queued
}

/// Raises `sig` on the calling thread as sent by its own process (`SI_USER`), as Linux's
/// `send_sig(sig, current, 0)` does for `SIGPIPE` and `SIGXFSZ`.
pub fn raise_on_caller(sig: Signal) -> Sent {
    let me = sched::current();
    let pid = me.process().pid;
    let info = SigInfo::from_process(sig.number() as i32, code::SI_USER, pid, 0);
    raise(&me, sig, info)
}

/// Raises `sig` on process `p` (kill, sigqueue, a process timer, a child's exit): it joins
/// the process's queue, and one thread that would take it (the caller first, if it is one
/// of `p`'s) is woken to do so.
pub fn raise_on_process(p: &Process, sig: Signal, info: SigInfo) -> Sent {
    crate::jobctl::on_send(p, sig);
    let me = sched::current();
    let mine = me
        .process_opt()
        .is_some_and(|q| core::ptr::eq(q.as_ref(), p));
    let target = if mine && thread_wants(&me, sig) {
        Some(me)
    } else {
        // From the idle thread (a timer interrupt), another process, or the caller blocks
        // it.
        p.thread_list().into_iter().find(|t| thread_wants(t, sig))
    };
    let unblocked = target
        .as_ref()
        .is_some_and(|t| !t.signals.lock().blocked().contains(sig));
    if unblocked && p.actions.lock().is_ignored(sig) {
        return Sent::Ignored;
    }
    let room = room_for(p, sig);
    {
        let mut q = p.shared_signals.lock();
        if !q.push_within(info, room) {
            return Sent::OverLimit;
        }
        p.shared_pending.store(true, Ordering::Release);
    }
    if let Some(t) = target {
        if t.state() == State::Blocked {
            sched::with(|s| s.wake(&t, Wake::Signal));
        }
    }
    crate::smp::kick_busy_cpus();
    crate::signalfd::notify();
    Sent::Queued
}

/// The information a parent gets with its child's exit signal (`SIGCHLD`): `CLD_EXITED`
/// with the exit code, or `CLD_KILLED` with the signal, and the child's pid and CPU time.
pub fn child_info(sig: Signal, child: &Process, status: crate::process::ExitStatus) -> SigInfo {
    let (code, value) = match status {
        crate::process::ExitStatus::Exited(c) => (code::CLD_EXITED, c),
        crate::process::ExitStatus::Killed(s) => (code::CLD_KILLED, s.number() as i32),
    };
    // clock_t ticks (AT_CLKTCK = 100); oxv reports all CPU time as user time.
    let utime = sched::process_cpu_ns(child) / 10_000_000;
    SigInfo::from_child(sig.number() as i32, code, child.pid, 0, value, utime, 0)
}

/// Whether thread `t` has a signal it must take before returning to ring 3.
pub fn has_deliverable(t: &Thread) -> bool {
    let p = t.process();
    let private = t.sig_pending.load(Ordering::Acquire);
    let shared = p.shared_pending.load(Ordering::Acquire);
    if !private && !shared {
        return false;
    }
    let st = t.signals.lock();
    !st.deliverable().is_empty()
        || (shared
            && !p
                .shared_signals
                .lock()
                .set()
                .difference(st.blocked())
                .is_empty())
}

/// Signals pending for thread `t`: its own and the process's.
pub fn pending_for(t: &Thread) -> SigSet {
    let p = t.process();
    let own = t.signals.lock().pending();
    own.union(p.shared_signals.lock().set())
}

/// Takes the next signal in `allowed` for thread `t`, as Linux's `dequeue_signal`: the
/// thread's own queue first, then the process's; faults before other signals, then the
/// lowest number, and a real-time signal's instances in sending order.
pub fn dequeue(t: &Thread, allowed: SigSet) -> Option<(Signal, SigInfo)> {
    let p = t.process();
    let taken = {
        let mut st = t.signals.lock();
        let q = st.queue();
        let own = q.next(allowed).and_then(|sig| Some((sig, q.take(sig)?)));
        t.sig_pending.store(!q.is_empty(), Ordering::Release);
        own
    };
    let taken = taken.or_else(|| {
        let mut q = p.shared_signals.lock();
        let shared = q.next(allowed).and_then(|sig| Some((sig, q.take(sig)?)));
        p.shared_pending.store(!q.is_empty(), Ordering::Release);
        shared
    })?;
    crate::timers::signal_taken(p, &taken.1);
    Some(taken)
}

/// Discards every pending instance of `sig` in process `p` and its threads (its disposition
/// became "ignore").
pub fn discard_everywhere(p: &Process, sig: Signal) {
    for t in p.thread_list() {
        let mut st = t.signals.lock();
        st.clear_pending(sig);
        t.sig_pending.store(st.queued() != 0, Ordering::Release);
    }
    let mut q = p.shared_signals.lock();
    q.discard(sig);
    p.shared_pending.store(!q.is_empty(), Ordering::Release);
}

/// On the way back to ring 3 (after a syscall or a trap from ring 3): reschedules if asked,
/// then delivers the first deliverable signal of the running thread. `restart` describes a
/// system call that returned `EINTR` (its number and how it may be restarted): it is
/// restarted (`rax` = the number, `rip` back on the `syscall` instruction) when the rules
/// allow.
#[inline]
pub fn on_return_to_user(p: &Process, frame: &mut TrapFrame, restart: Option<(u64, Restart)>) {
    // The common case, inline and without the scheduler lock: nothing to do.
    let thread_quiet = sched::with_running(|me| {
        !me.sig_pending.load(Ordering::Acquire)
            && !me.killed.load(Ordering::Acquire)
            && !me.rseq_event.load(Ordering::Relaxed)
    });
    if restart.is_none()
        && !sched::resched_wanted()
        && thread_quiet
        && !p.shared_pending.load(Ordering::Acquire)
        && !p.stopped.load(Ordering::Acquire)
    {
        return;
    }
    return_to_user_slow(p, frame, restart);
    // Last, on the final instruction pointer (after a restart or a handler's frame), as
    // Linux's exit-to-user loop does.
    sched::with_running(|me| crate::rseq::on_return(me, frame));
}

/// [`on_return_to_user`] when something may need doing: a reschedule, a signal, a stop, a
/// restart, or death.
#[cold]
#[inline(never)]
fn return_to_user_slow(p: &Process, frame: &mut TrapFrame, restart: Option<(u64, Restart)>) {
    // An OOM reap (or kill) the killer could not do where it ran (a call without the
    // kernel lock, or under the process table's lock) is done here (it asked for a
    // reschedule to get here).
    crate::oom::run_deferred();
    sched::preempt_point();
    let do_restart = |frame: &mut TrapFrame| {
        if let Some((nr, _)) = restart {
            frame.rax = nr;
            frame.rip -= 2; // `syscall` is two bytes
        }
    };
    let thread_quiet = sched::with_running(|me| {
        !me.sig_pending.load(Ordering::Acquire) && !me.killed.load(Ordering::Acquire)
    });
    if thread_quiet
        && !p.shared_pending.load(Ordering::Acquire)
        && !p.stopped.load(Ordering::Acquire)
    {
        do_restart(frame);
        return;
    }
    if sched::with_running(crate::process::must_die) {
        crate::syscall::thread::exit_thread();
    }
    let me = sched::current();
    loop {
        crate::jobctl::park_while_stopped(p, &me);
        if me.killed.load(Ordering::Acquire) {
            crate::syscall::thread::exit_thread();
        }
        let blocked = me.signals.lock().blocked();
        let Some((sig, info)) = dequeue(&me, SigSet(!blocked.0)) else {
            // sigsuspend's temporary mask goes away once no handler will run; what it
            // blocked may be deliverable now.
            if let Some(mask) = me.saved_mask.lock().take() {
                me.signals.lock().set_blocked(mask);
                continue;
            }
            do_restart(frame);
            return;
        };
        let act = p.actions.lock().action(sig);
        match act.handler {
            SIG_IGN => continue,
            SIG_DFL => match sig.default_action() {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    crate::jobctl::stop(p, sig);
                    continue;
                }
                DefaultAction::Terminate | DefaultAction::CoreDump => {
                    let addr = is_fault(sig).then(|| info.addr());
                    crate::process::kill(frame, sig, addr)
                }
            },
            _ => {
                if let Some((_, how)) = restart {
                    let restart = match how {
                        Restart::Always => true,
                        Restart::UnlessHandlerWithoutSaRestartFlag => act.flags & sa::RESTART != 0,
                        Restart::UnlessHandler => false,
                    };
                    if restart {
                        do_restart(frame);
                    }
                }
                if run_handler(p, &me, frame, sig, &info, act).is_err() {
                    // The frame could not be written (a bad stack): Linux forces SIGSEGV.
                    crate::process::kill(frame, Signal::SIGSEGV, None);
                }
                return;
            }
        }
    }
}

fn is_fault(sig: Signal) -> bool {
    matches!(
        sig,
        Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGILL | Signal::SIGFPE | Signal::SIGTRAP
    )
}

/// Delivers a synchronous fault signal now: to its handler if one is installed and the
/// signal is not blocked (then `frame` enters the handler when the trap returns), else the
/// process dies of it.
pub fn force_fault(frame: &mut TrapFrame, sig: Signal, info: SigInfo) {
    let p = crate::process::current();
    let me = sched::current();
    let act = p.actions.lock().action(sig);
    let blocked = me.signals.lock().blocked().contains(sig);
    let catchable = act.handler != SIG_DFL && act.handler != SIG_IGN && !blocked;
    if catchable && run_handler(&p, &me, frame, sig, &info, act).is_ok() {
        return;
    }
    crate::process::kill(frame, sig, Some(info.addr()))
}

/// Builds the signal frame for `sig` on the app's stack and points `frame` at the handler.
fn run_handler(
    p: &Process,
    me: &Thread,
    frame: &mut TrapFrame,
    sig: Signal,
    info: &SigInfo,
    act: KernelSigaction,
) -> Result<(), ()> {
    if act.flags & sa::RESTORER == 0 {
        return Err(());
    }
    crate::rseq::before_signal(me, frame)?;
    let mem = &mut CurrentUserMemory;
    let (alt, old_mask) = {
        let st = me.signals.lock();
        (st.alt_stack(), st.blocked())
    };
    let uc_mask = me.saved_mask.lock().take().unwrap_or(old_mask);

    // Where the frame goes: the alternate stack if asked for and not already on it.
    let mut sp = frame.rsp;
    let use_alt = act.flags & sa::ONSTACK != 0
        && alt.size() != 0
        && alt.flags() & ss::DISABLE == 0
        && !alt.contains(sp);
    if use_alt {
        sp = alt.sp() + alt.size();
    } else {
        sp = sp.wrapping_sub(RED_ZONE);
    }

    // The x87/SSE/AVX state: saved (the registers hold the app's state), tagged as an XSAVE
    // frame, below the rt_sigframe.
    let fpu = me.fpu.as_ref().ok_or(())?;
    fpu.save();
    let xsize = context::fpu_state_size();
    let xcr0 = context::xcr0();
    let mut image = vec![0u8; xsize + 4];
    image[..xsize].copy_from_slice(&fpu.bytes()[..xsize]);
    if xcr0 != 0 {
        let sw = FpxSwBytes {
            magic1: FP_XSTATE_MAGIC1,
            extended_size: (xsize + 4) as u32,
            xfeatures: xcr0,
            xstate_size: xsize as u32,
            padding: [0; 7],
        };
        image[FPX_SW_BYTES_OFFSET..FPX_SW_BYTES_OFFSET + size_of::<FpxSwBytes>()]
            .copy_from_slice(sw.as_bytes());
        image[xsize..].copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    sp = sp.checked_sub(image.len() as u64).ok_or(())? & !63;
    let fp_addr = sp;
    mem.copy_out(UserAddr::new(fp_addr), &image)
        .map_err(|_| ())?;

    // The rt_sigframe, placed so the handler starts as if called (rsp + 8 aligned to 16).
    sp = (sp.checked_sub(size_of::<RtSigframe>() as u64).ok_or(())? & !15) - 8;
    let uc_stack = alt.to_user(frame.rsp);
    let f = RtSigframe {
        pretcode: act.restorer,
        uc: UContext {
            uc_flags: if xcr0 != 0 { UC_FP_XSTATE } else { 0 }
                | UC_SIGCONTEXT_SS
                | UC_STRICT_RESTORE_SS,
            uc_link: 0,
            uc_stack: UcStack {
                ss_sp: uc_stack.ss_sp,
                ss_flags: uc_stack.ss_flags,
                _pad: 0,
                ss_size: uc_stack.ss_size,
            },
            uc_mcontext: SigContext {
                r8: frame.r8,
                r9: frame.r9,
                r10: frame.r10,
                r11: frame.r11,
                r12: frame.r12,
                r13: frame.r13,
                r14: frame.r14,
                r15: frame.r15,
                rdi: frame.rdi,
                rsi: frame.rsi,
                rbp: frame.rbp,
                rbx: frame.rbx,
                rdx: frame.rdx,
                rax: frame.rax,
                rcx: frame.rcx,
                rsp: frame.rsp,
                rip: frame.rip,
                eflags: frame.rflags,
                cs: frame.cs as u16,
                gs: 0,
                fs: 0,
                ss: frame.ss as u16,
                err: if frame.vector < 32 { frame.error } else { 0 },
                trapno: if frame.vector < 32 { frame.vector } else { 0 },
                oldmask: uc_mask.0,
                cr2: if sig == Signal::SIGSEGV || sig == Signal::SIGBUS {
                    info.addr()
                } else {
                    0
                },
                fpstate: fp_addr,
                reserved1: [0; 8],
            },
            uc_sigmask: uc_mask.0,
        },
        info: *info,
    };
    mem.copy_out(UserAddr::new(sp), f.as_bytes())
        .map_err(|_| ())?;

    // Enter the handler: handler(sig, &info, &uc) with the initial FPU state.
    frame.rdi = sig.number() as u64;
    frame.rsi = sp + offset_of!(RtSigframe, info) as u64;
    frame.rdx = sp + offset_of!(RtSigframe, uc) as u64;
    frame.rax = 0;
    frame.rsp = sp;
    frame.rip = act.handler;
    frame.rflags &= !(0x400 | 0x10000 | 0x100); // DF, RF, TF
    context::reset_fpu();

    let mut st = me.signals.lock();
    if use_alt && alt.flags() & ss::AUTODISARM != 0 {
        st.disarm_alt_stack();
    }
    let mut mask = uc_mask.union(act.mask);
    if act.flags & sa::NODEFER == 0 {
        mask = mask.with(sig);
    }
    st.set_blocked(mask);
    drop(st);
    if act.flags & sa::RESETHAND != 0 {
        let _ = p.actions.lock().set_action(
            sig,
            KernelSigaction {
                handler: SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: SigSet::EMPTY,
            },
        );
    }
    Ok(())
}

/// rt_sigreturn(2): restores what [`run_handler`] saved. Returns the restored `rax`.
pub fn sigreturn(frame: &mut TrapFrame) -> u64 {
    let mem = &mut CurrentUserMemory;
    let me = sched::current();
    // The handler's `ret` popped `pretcode`: the frame starts 8 bytes below the stack pointer.
    let at = frame.rsp.wrapping_sub(8);
    let Ok(f) = UserPtr::<RtSigframe>::new(at).read(mem) else {
        crate::process::kill(frame, Signal::SIGSEGV, Some(at));
    };
    let mc = f.uc.uc_mcontext;
    if mc.rip >= oxv_abi::user::USER_END {
        // iretq to a non-canonical address would fault in the kernel.
        crate::process::kill(frame, Signal::SIGSEGV, Some(mc.rip));
    }
    frame.r8 = mc.r8;
    frame.r9 = mc.r9;
    frame.r10 = mc.r10;
    frame.r11 = mc.r11;
    frame.r12 = mc.r12;
    frame.r13 = mc.r13;
    frame.r14 = mc.r14;
    frame.r15 = mc.r15;
    frame.rdi = mc.rdi;
    frame.rsi = mc.rsi;
    frame.rbp = mc.rbp;
    frame.rbx = mc.rbx;
    frame.rdx = mc.rdx;
    frame.rax = mc.rax;
    frame.rcx = mc.rcx;
    frame.rsp = mc.rsp;
    frame.rip = mc.rip;
    frame.rflags = (frame.rflags & !FIX_EFLAGS) | (mc.eflags & FIX_EFLAGS);

    {
        let mut st = me.signals.lock();
        st.set_blocked(SigSet(f.uc.uc_sigmask));
        // Like Linux's restore_altstack: a failing request is ignored.
        let s = f.uc.uc_stack;
        let _ = st.set_alt_stack(
            StackT {
                ss_sp: s.ss_sp,
                ss_flags: s.ss_flags,
                _pad: 0,
                ss_size: s.ss_size,
            },
            frame.rsp,
        );
    }

    if let Some(fpu) = me.fpu.as_ref() {
        if mc.fpstate == 0 {
            context::reset_fpu();
        } else {
            let mut image = vec![0u8; context::fpu_state_size()];
            if mem.copy_in(UserAddr::new(mc.fpstate), &mut image).is_err() {
                crate::process::kill(frame, Signal::SIGSEGV, Some(mc.fpstate));
            }
            fpu.load_sanitized(&image);
            fpu.restore();
        }
    }
    frame.rax
}
