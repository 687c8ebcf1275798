//! Threads: clone(2)/clone3(2) for threads, exit(2) of one thread, gettid, set_tid_address.
//!
//! oxv runs one process, so clone creates threads sharing everything (`CLONE_VM | CLONE_FS |
//! CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD`, what glibc, musl and Rust's std pass). A new
//! process (clone without `CLONE_VM`, vfork, fork) is `ENOSYS` until processes exist
//! (issue 10). Flag combinations Linux rejects are `EINVAL` in Linux's order.

use crate::arch::context::{FpuState, prepare_new_stack};
use crate::arch::cpu;
use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::process::Process;
use crate::sched;
use crate::thread::{KernelStack, Thread, ThreadRef, Wake};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};
use oxv_abi::linux::process::*;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};
use oxv_sched::futex::MATCH_ANY;
use oxv_sched::signal::ThreadSignals;

/// Kernel stacks are 16 KiB.
const KERNEL_STACK_ORDER: u8 = 2;

static NEXT_TID: AtomicI32 = AtomicI32::new(2);

/// clone(2).
pub fn clone(
    frame: &TrapFrame,
    flags: u64,
    stack: UserAddr,
    parent_tid: UserPtr<i32>,
    child_tid: UserPtr<i32>,
    tls: u64,
) -> SysResult {
    let args = CloneArgs {
        flags: flags & !CSIGNAL,
        exit_signal: flags & CSIGNAL,
        stack: stack.get(),
        stack_size: 0,
        parent_tid: parent_tid.addr().get(),
        child_tid: child_tid.addr().get(),
        tls,
        ..CloneArgs::default()
    };
    if flags & CLONE_CLEAR_SIGHAND != 0 || flags > u32::MAX as u64 {
        // clone(2) takes an int for its flags; these bits only exist in clone3.
        return Err(Errno::EINVAL);
    }
    do_clone(frame, args)
}

/// clone3(2).
pub fn clone3(
    frame: &TrapFrame,
    mem: &dyn UserMemory,
    cl_args: UserPtr<CloneArgs>,
    size: usize,
) -> SysResult {
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let known = core::mem::size_of::<CloneArgs>();
    let mut raw = [0u8; core::mem::size_of::<CloneArgs>()];
    mem.copy_in(cl_args.addr(), &mut raw[..size.min(known)])?;
    // A larger struct from a newer libc is fine if the fields we do not know are zero.
    let mut extra = [0u8; 64];
    let mut at = known;
    while at < size {
        let n = (size - at).min(extra.len());
        mem.copy_in(
            cl_args.addr().checked_add(at as u64).ok_or(Errno::EFAULT)?,
            &mut extra[..n],
        )?;
        if extra[..n].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        at += n;
    }
    let args =
        <CloneArgs as zerocopy::FromBytes>::read_from_bytes(&raw).map_err(|_| Errno::EINVAL)?;
    if args.exit_signal & !CSIGNAL != 0 || args.set_tid_size != 0 || args.set_tid != 0 {
        return Err(Errno::EINVAL);
    }
    if (args.stack == 0) != (args.stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    do_clone(frame, args)
}

fn do_clone(frame: &TrapFrame, a: CloneArgs) -> SysResult {
    let f = a.flags;
    // Linux's copy_process checks, in its order.
    if f & (CLONE_NEWNS | CLONE_FS) == (CLONE_NEWNS | CLONE_FS)
        || f & (CLONE_NEWUSER | CLONE_FS) == (CLONE_NEWUSER | CLONE_FS)
    {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    // A new process, or a thread that does not share files and cwd: not supported yet.
    let thread_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
    let unsupported = CLONE_VFORK
        | CLONE_PIDFD
        | CLONE_PTRACE
        | CLONE_PARENT
        | CLONE_NEWNS
        | CLONE_NEWCGROUP
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWNET
        | CLONE_NEWTIME
        | CLONE_INTO_CGROUP
        | CLONE_CLEAR_SIGHAND;
    if f & thread_flags != thread_flags || f & unsupported != 0 {
        return Err(Errno::ENOSYS);
    }

    let tid = NEXT_TID.fetch_add(1, Ordering::Relaxed);
    let top = crate::mem::alloc_kernel_stack(KERNEL_STACK_ORDER).ok_or(Errno::ENOMEM)?;
    let fpu = match FpuState::capture() {
        Some(f) => f,
        None => {
            crate::mem::free_kernel_stack(top, KERNEL_STACK_ORDER);
            return Err(Errno::ENOMEM);
        }
    };
    let mut child = *frame;
    child.rax = 0;
    if a.stack != 0 {
        child.rsp = a.stack.wrapping_add(a.stack_size);
    }
    // SAFETY: `top` is a fresh kernel stack of 16 KiB that nothing else uses.
    let rsp = unsafe { prepare_new_stack(top, &child) };
    let parent = sched::current();
    let signals = ThreadSignals::for_new_thread(&parent.signals.lock());
    let t = Thread::new(
        tid,
        KernelStack {
            top,
            order: KERNEL_STACK_ORDER,
        },
        rsp,
        fpu,
        signals,
    );
    let fs = if f & CLONE_SETTLS != 0 {
        a.tls
    } else {
        cpu::rdmsr(cpu::msr::FS_BASE)
    };
    t.fs_base.store(fs, Ordering::Relaxed);
    t.gs_base
        .store(cpu::rdmsr(cpu::msr::KERNEL_GS_BASE), Ordering::Relaxed);
    if f & CLONE_CHILD_CLEARTID != 0 {
        t.clear_child_tid.store(a.child_tid, Ordering::Relaxed);
    }
    let mem = &mut CurrentUserMemory;
    // Linux ignores faults on these two stores.
    if f & CLONE_PARENT_SETTID != 0 {
        let _ = UserPtr::<i32>::new(a.parent_tid).write(mem, &tid);
    }
    if f & CLONE_CHILD_SETTID != 0 {
        let _ = UserPtr::<i32>::new(a.child_tid).write(mem, &tid);
    }
    sched::spawn(ThreadRef(Arc::new(t)));
    Ok(tid as usize)
}

/// Wakes one waiter of the futex word at `addr` (thread exit's `clear_child_tid`).
pub fn futex_wake_one(addr: u64) {
    sched::with(|s| {
        for t in s.futexes.wake(addr, 1, MATCH_ANY) {
            s.wake(&t, Wake::Event);
        }
    });
}

/// `FUTEX_WAITERS`: someone sleeps on the lock word.
const FUTEX_WAITERS: u32 = 0x8000_0000;
/// `FUTEX_OWNER_DIED`: the owner exited holding the lock.
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// The owner's tid bits of a robust lock word.
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Linux's `ROBUST_LIST_LIMIT`: a list longer than this is treated as corrupt.
const ROBUST_LIST_LIMIT: usize = 2048;

/// Marks a robust lock word owned by `tid` as owner-died and wakes a waiter (Linux's
/// `handle_futex_death`).
fn futex_death(uaddr: u64, tid: i32) {
    let mem = &mut CurrentUserMemory;
    let word = UserPtr::<u32>::new(uaddr);
    if uaddr % 4 != 0 {
        return;
    }
    let Ok(val) = word.read(mem) else { return };
    if val & FUTEX_TID_MASK != tid as u32 {
        return;
    }
    let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if word.write(mem, &new).is_ok() && val & FUTEX_WAITERS != 0 {
        futex_wake_one(uaddr);
    }
}

/// Walks the exiting thread's robust list (set_robust_list(2)): every lock it still holds
/// becomes owner-died, so the next locker gets `EOWNERDEAD`. A corrupt list ends the walk.
fn release_robust_list(head: u64, tid: i32) {
    let mem = &CurrentUserMemory;
    // struct robust_list_head { next, futex_offset, list_op_pending }
    let Ok(h) = UserPtr::<[u64; 3]>::new(head).read(mem) else {
        return;
    };
    let (offset, pending) = (h[1] as i64, h[2] & !1);
    let mut entry = h[0] & !1;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let Ok(next) = UserPtr::<u64>::new(entry).read(mem) else {
            break;
        };
        if entry != pending {
            futex_death(entry.wrapping_add_signed(offset), tid);
        }
        entry = next & !1;
    }
    if pending != 0 {
        futex_death(pending.wrapping_add_signed(offset), tid);
    }
}

/// exit(2): ends the calling thread; the last thread ends the process with `status`.
pub fn exit(_p: &Process, status: i32) -> ! {
    let me = sched::current();
    let robust = me.robust_list.swap(0, Ordering::Relaxed);
    if robust != 0 {
        release_robust_list(robust, me.tid);
    }
    let ctid = me.clear_child_tid.swap(0, Ordering::Relaxed);
    if ctid != 0 {
        // CLONE_CHILD_CLEARTID: what pthread_join waits on.
        let _ = UserPtr::<u32>::new(ctid).write(&mut CurrentUserMemory, &0);
        futex_wake_one(ctid);
    }
    drop(me);
    if sched::threads_left_after_current() == 0 {
        crate::process::exit(status);
    }
    sched::exit_current()
}

/// set_tid_address(2).
pub fn set_tid_address(tidptr: UserPtr<i32>) -> SysResult {
    let me = sched::current();
    me.clear_child_tid
        .store(tidptr.addr().get(), Ordering::Relaxed);
    Ok(me.tid as usize)
}
