//! Restartable sequences in the kernel: rseq(2), and the return-to-user step that keeps a
//! registered thread's CPU fields right and aborts its interrupted critical section (the
//! rules are `oxv_sched::rseq`'s).
//!
//! When: a registered thread gets an "event" when it is switched away from its CPU (which
//! covers preemption and migration: it can only change CPUs through a switch) and when
//! rseq(2) registers it; the return to ring 3 that follows runs [`on_return`]. A signal
//! delivery runs the fixup on the interrupted context before the signal frame is built
//! ([`before_signal`]), so a handler never returns into the middle of a section. A failure
//! (an invalid descriptor, a wrong signature, an unreadable area) kills the process with
//! `SIGSEGV`, as Linux's `force_sigsegv`.
//!
//! Inheritance follows Linux: fork keeps the registration (same address, new process),
//! a `CLONE_VM` child (a thread, vfork) starts unregistered, and execve drops it.

use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::thread::Thread;
use core::sync::atomic::Ordering;
use oxv_abi::linux::signal::Signal;
use oxv_abi::{SysResult, UserAddr};
use oxv_sched::rseq::{self, Registration};

/// rseq(2) for the calling thread.
///
/// Only the thread itself changes its registration, so it is read and stored without
/// holding the lock across the user copy (a fault there may switch threads, and the
/// switch looks at the registration).
pub fn syscall(me: &Thread, area: UserAddr, len: u32, flags: u32, sig: u32) -> SysResult {
    let current = *me.rseq.lock();
    let new = rseq::rseq(&mut CurrentUserMemory, current, area, len, flags, sig)?;
    set(me, new);
    Ok(0)
}

/// Gives `t` registration `reg` (a new one gets an event, so that its CPU fields are
/// written before it runs user code).
pub fn set(t: &Thread, reg: Option<Registration>) {
    *t.rseq.lock() = reg;
    t.rseq_cpu.store(NOT_WRITTEN, Ordering::Relaxed);
    t.rseq_registered.store(reg.is_some(), Ordering::Relaxed);
    t.rseq_event.store(reg.is_some(), Ordering::Relaxed);
}

/// The thread is leaving its CPU: it must look at its area before it runs user code again.
#[inline]
pub fn on_switch_out(t: &Thread) {
    if t.rseq_registered.load(Ordering::Relaxed) {
        t.rseq_event.store(true, Ordering::Relaxed);
    }
}

/// The registration of a child of `parent`: fork keeps it, a `CLONE_VM` child has none.
pub fn for_child(parent: &Thread, clone_vm: bool) -> Option<Registration> {
    if clone_vm { None } else { *parent.rseq.lock() }
}

/// On the way back to ring 3: if an event happened since the thread last looked, runs the
/// fixup on `frame` and writes its CPU. Kills the process with `SIGSEGV` on failure.
#[inline]
pub fn on_return(me: &Thread, frame: &mut TrapFrame) {
    if me.rseq_event.load(Ordering::Relaxed) {
        run(me, frame);
    }
}

/// Before a signal frame is built on `frame`: the fixup, so that the frame saves the abort
/// address rather than a point inside the section. Err if the process must get `SIGSEGV`.
pub fn before_signal(me: &Thread, frame: &mut TrapFrame) -> Result<(), ()> {
    let Some(reg) = *me.rseq.lock() else {
        return Ok(());
    };
    resume(me, &reg, frame)
}

#[cold]
fn run(me: &Thread, frame: &mut TrapFrame) {
    let Some(reg) = *me.rseq.lock() else {
        me.rseq_event.store(false, Ordering::Relaxed);
        return;
    };
    if resume(me, &reg, frame).is_err() {
        crate::process::kill(frame, Signal::SIGSEGV, None);
    }
}

/// [`Thread::rseq_cpu`] before the first write.
pub const NOT_WRITTEN: u32 = u32::MAX;

/// `oxv_sched::rseq::resume`, except that the CPU fields are written only when the CPU
/// differs from the one last written (the thread stayed on its CPU across most switches;
/// the two user writes were most of the cost of a switch for a glibc thread).
fn resume(me: &Thread, reg: &Registration, frame: &mut TrapFrame) -> Result<(), ()> {
    me.rseq_event.store(false, Ordering::Relaxed);
    let cpu = crate::arch::percpu::this_cpu().cpu_id as u32;
    let mem = &mut CurrentUserMemory;
    let r = rseq::fixup(mem, reg, frame.rip).and_then(|abort| {
        if me.rseq_cpu.load(Ordering::Relaxed) != cpu {
            rseq::write_cpu(mem, reg.area, cpu, cpu)?;
            me.rseq_cpu.store(cpu, Ordering::Relaxed);
        }
        Ok(abort)
    });
    match r {
        Ok(Some(abort)) => {
            frame.rip = abort;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            kdebug!("rseq: tid {}: {e:?}, SIGSEGV", me.tid);
            Err(())
        }
    }
}
