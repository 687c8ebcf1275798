//! Creating and ending threads and processes: clone(2)/clone3(2)/fork(2)/vfork(2), exit(2) of
//! one thread, gettid, set_tid_address.
//!
//! `CLONE_THREAD` makes a thread of the caller's process (glibc, musl and Rust's std pass
//! `CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD`); without it, clone
//! makes a child process: its own copy-on-write copy of the address space (or the same one
//! with `CLONE_VM`, as vfork and posix_spawn use), a copy of the fd table and cwd (or the same
//! ones with `CLONE_FILES`/`CLONE_FS`), a copy of the dispositions, and the caller's mask
//! and alternate stack with nothing pending. `CLONE_VFORK` suspends the caller until the
//! child execs or exits. Flag combinations Linux rejects are `EINVAL` in Linux's order;
//! namespaces and cgroups are `ENOSYS`.
//!
//! `CLONE_SIGHAND` without `CLONE_THREAD` copies the dispositions instead of sharing them (a
//! known difference; no common program relies on it).

use crate::arch::context::{FpuState, prepare_new_stack};
use crate::arch::cpu;
use crate::arch::trap::TrapFrame;
use crate::arch::user_pt::UserPageTable;
use crate::arch::usercopy::CurrentUserMemory;
use crate::mem::KernelFrames;
use crate::process::{Family, LifeState, MmSlot, Process, UserSpace};
use crate::sched;
use crate::sync::SleepMutex;
use crate::thread::{KernelStack, Thread, ThreadRef, Wake};
use crate::timers::Timers;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use core::sync::atomic::{AtomicI32, Ordering};
use oxv_abi::linux::process::*;
use oxv_abi::linux::signal::Signal;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};
use oxv_mm::{FrameSource, PhysAddr, PhysFrame};
use oxv_sched::futex::MATCH_ANY;
use oxv_sched::signal::SigQueue;
use oxv_sched::signal::ThreadSignals;
use spin::Mutex;

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
        // clone(2) returns the pidfd through the parent_tid pointer.
        pidfd: if flags & CLONE_PIDFD != 0 {
            parent_tid.addr().get()
        } else {
            0
        },
        ..CloneArgs::default()
    };
    if flags & CLONE_CLEAR_SIGHAND != 0 || flags > u32::MAX as u64 {
        // clone(2) takes an int for its flags; these bits only exist in clone3.
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_PIDFD != 0 && flags & CLONE_PARENT_SETTID != 0 {
        // Both would use the same pointer.
        return Err(Errno::EINVAL);
    }
    do_clone(frame, args)
}

/// fork(2) (`vfork`: vfork(2), which shares the address space and waits for the child to
/// exec or exit).
pub fn fork(frame: &TrapFrame, vfork: bool) -> SysResult {
    let flags = if vfork { CLONE_VM | CLONE_VFORK } else { 0 };
    do_clone(
        frame,
        CloneArgs {
            flags,
            exit_signal: Signal::SIGCHLD.number() as u64,
            ..CloneArgs::default()
        },
    )
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
    if f & CLONE_PIDFD != 0 && f & (CLONE_THREAD | CLONE_DETACHED) != 0 {
        return Err(Errno::EINVAL);
    }
    let unsupported = CLONE_NEWNS
        | CLONE_NEWCGROUP
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWNET
        | CLONE_NEWTIME
        | CLONE_INTO_CGROUP;
    if f & unsupported != 0 {
        return Err(Errno::ENOSYS);
    }
    let thread = f & CLONE_THREAD != 0;
    if thread && f & CLONE_CLEAR_SIGHAND != 0 {
        return Err(Errno::EINVAL);
    }
    let me = sched::current();
    let parent = me.process().clone();
    if f & CLONE_PIDFD != 0 {
        // Fail before anything exists if the pidfd cannot be stored (Linux undoes the fork).
        UserPtr::<i32>::new(a.pidfd).write(&mut CurrentUserMemory, &-1)?;
    }
    if !thread {
        // RLIMIT_NPROC bounds the processes (enforced for root too: one VM, one budget).
        let limit = parent
            .limits
            .lock()
            .soft(oxv_abi::linux::system::RlimitResource::Nproc);
        if crate::process::count() as u64 >= limit {
            return Err(Errno::EAGAIN);
        }
    }

    let tid = NEXT_TID.fetch_add(1, Ordering::Relaxed);
    let top = crate::mem::alloc_kernel_stack(KERNEL_STACK_ORDER).ok_or(Errno::ENOMEM)?;
    let stack = KernelStack {
        top,
        order: KERNEL_STACK_ORDER,
    };
    let Some(fpu) = FpuState::capture() else {
        crate::mem::free_kernel_stack(top, KERNEL_STACK_ORDER);
        return Err(Errno::ENOMEM);
    };
    let (process, cr3) = if thread {
        (parent.clone(), me.cr3.load(Ordering::Relaxed))
    } else {
        match new_process(&parent, tid, &a) {
            Ok(child) => {
                let cr3 = child.mm.lock().root();
                (child, cr3)
            }
            Err(e) => {
                crate::mem::free_kernel_stack(top, KERNEL_STACK_ORDER);
                return Err(e);
            }
        }
    };
    if f & CLONE_PIDFD != 0 {
        // Into the parent's table (the child shares it under CLONE_FILES), before the child
        // runs; the pointer was checked above.
        match super::pidfd::install(&parent.files, &process, false) {
            Ok(fd) => {
                let _ = UserPtr::<i32>::new(a.pidfd).write(&mut CurrentUserMemory, &fd);
            }
            Err(e) => {
                if let Some(adopter) = process.parent() {
                    adopter.family.lock().children.remove(&process.pid);
                }
                crate::process::reap(&process);
                crate::mem::free_kernel_stack(top, KERNEL_STACK_ORDER);
                return Err(e);
            }
        }
    }
    let mut child_frame = *frame;
    child_frame.rax = 0;
    if a.stack != 0 {
        child_frame.rsp = a.stack.wrapping_add(a.stack_size);
    }
    // SAFETY: `stack` is a fresh kernel stack of KERNEL_STACK_ORDER pages that nothing else
    // uses.
    let rsp = unsafe { prepare_new_stack(stack.top, &child_frame) };
    let signals = {
        let st = me.signals.lock();
        if f & CLONE_VM != 0 && f & CLONE_VFORK == 0 {
            ThreadSignals::for_new_thread(&st)
        } else {
            ThreadSignals::for_fork(&st)
        }
    };
    let t = Thread::new(tid, stack, rsp, fpu, signals, process.clone(), cr3);
    // A new thread (or process) starts with its creator's CPU affinity, as on Linux.
    t.affinity
        .store(me.affinity.load(Ordering::Relaxed), Ordering::Relaxed);
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
    crate::rseq::set(&t, crate::rseq::for_child(&me, f & CLONE_VM != 0));
    // Linux ignores faults on these two stores. The child's tid goes into the child's memory.
    if f & CLONE_PARENT_SETTID != 0 {
        let _ = UserPtr::<i32>::new(a.parent_tid).write(&mut CurrentUserMemory, &tid);
    }
    if f & CLONE_CHILD_SETTID != 0 {
        if f & CLONE_VM != 0 {
            let _ = UserPtr::<i32>::new(a.child_tid).write(&mut CurrentUserMemory, &tid);
        } else {
            let mut mm = process.mm.lock();
            let _ = crate::process::with_platform(|plat| {
                mm.write_bytes(a.child_tid, &tid.to_ne_bytes(), plat)
            });
        }
    }
    process.threads.fetch_add(1, Ordering::AcqRel);
    let t = ThreadRef(Arc::new(t));
    if f & CLONE_VFORK != 0 {
        *process.vfork_parent.lock() = Some(me.clone());
        me.vfork_done.store(false, Ordering::Release);
    }
    sched::spawn(t);
    if f & CLONE_VFORK != 0 {
        // Until the child execs or exits; only death (SIGKILL) ends the wait early.
        while !me.vfork_done.load(Ordering::Acquire) && !me.killed.load(Ordering::Acquire) {
            sched::block_if(None, |_, me| !me.vfork_done.load(Ordering::Acquire));
        }
    }
    Ok(tid as usize)
}

/// The process a non-thread clone makes: see the module docs for what it shares and copies.
fn new_process(parent: &Arc<Process>, pid: i32, a: &CloneArgs) -> Result<Arc<Process>, Errno> {
    let f = a.flags;
    let mm = if f & CLONE_VM != 0 {
        parent.mm.get()
    } else {
        let pt = UserPageTable::new(crate::mem::kernel_page_table(), &mut KernelFrames)
            .ok_or(Errno::ENOMEM)?;
        let copy = {
            let mut mm = parent.mm.lock();
            crate::process::with_platform(|plat| mm.fork_copy(pt, plat))
        };
        match copy {
            Ok(aspace) => Arc::new(SleepMutex::new(UserSpace::new(aspace))),
            Err(e) => {
                let root = e.page_table.root().0;
                if let Some(frame) = PhysFrame::from_start_address(PhysAddr::new(root)) {
                    let _ = KernelFrames.release(frame);
                }
                return Err(Errno::ENOMEM);
            }
        }
    };
    let mut actions = parent.actions.lock().clone();
    if f & CLONE_CLEAR_SIGHAND != 0 {
        actions.reset_for_exec();
    }
    let (ppid, pgid, sid) = {
        let fam = parent.family.lock();
        let ppid = if f & CLONE_PARENT != 0 {
            parent.ppid.load(Ordering::Acquire)
        } else {
            parent.pid
        };
        (ppid, fam.pgid, fam.sid)
    };
    let exit_signal = Signal::try_from(a.exit_signal as i32).ok();
    let child = Arc::new(Process {
        pid,
        mm: MmSlot::new(mm),
        fs: if f & CLONE_FS != 0 {
            parent.fs.clone()
        } else {
            Arc::new(parent.fs.fork())
        },
        files: if f & CLONE_FILES != 0 {
            parent.files.clone()
        } else {
            Arc::new(parent.files.fork())
        },
        actions: Mutex::new(actions),
        shared_signals: Mutex::new(SigQueue::new()),
        shared_pending: AtomicBool::new(false),
        limits: Mutex::new(parent.limits.lock().clone()),
        comm: Mutex::new(*parent.comm.lock()),
        image: Mutex::new(parent.image.lock().clone()),
        ppid: AtomicI32::new(ppid),
        family: Mutex::new(Family {
            pgid,
            sid,
            children: BTreeMap::new(),
            did_exec: false,
        }),
        life: Mutex::new(LifeState::Alive),
        exit_signal,
        threads: AtomicUsize::new(0),
        cpu_ticks: AtomicU64::new(0),
        children_cpu_ticks: AtomicU64::new(0),
        child_waiters: Mutex::new(Vec::new()),
        vfork_parent: Mutex::new(None),
        timers: Mutex::new(Timers::new()),
        stopped: AtomicBool::new(false),
        child_event: Mutex::new(None),
    });
    crate::process::register(child.clone());
    let adopter = if ppid == parent.pid {
        Some(parent.clone())
    } else {
        crate::process::lookup(ppid)
    };
    if let Some(adopter) = adopter {
        adopter.family.lock().children.insert(pid, child.clone());
    }
    Ok(child)
}

/// Wakes one waiter of the futex word at `addr` (thread exit's `clear_child_tid`).
pub fn futex_wake_one(addr: u64) {
    // A shared-futex wake, as Linux's: it finds private waiters too, in private memory.
    let Ok(key) = super::futex::key_of(addr, false) else {
        return;
    };
    sched::with(|s| {
        for t in s.futexes.wake(key, 1, MATCH_ANY) {
            s.wake(&t, Wake::Event);
        }
    });
}

/// exit(2): ends the calling thread; the last thread ends the process with `status`.
pub fn exit(status: i32) -> ! {
    exit_thread_with(status & 0xff)
}

/// Ends the running thread (its process is exiting, or it exec'd away): see
/// [`exit_thread_with`].
pub fn exit_thread() -> ! {
    exit_thread_with(0)
}

/// Ends the running thread: its robust futexes are released and its `clear_child_tid`
/// cleared and woken (what pthread_join waits on); the last thread of a process ends the
/// process, with `code` unless the process is already exiting with a status of its own.
pub fn exit_thread_with(code: i32) -> ! {
    let me = sched::current();
    let robust = me.robust_list.swap(0, Ordering::Relaxed);
    super::futex::robust::thread_exit(&me, robust);
    let ctid = me.clear_child_tid.swap(0, Ordering::Relaxed);
    if ctid != 0 {
        // CLONE_CHILD_CLEARTID: what pthread_join waits on.
        let _ = UserPtr::<u32>::new(ctid).write(&mut CurrentUserMemory, &0);
        futex_wake_one(ctid);
    }
    let p = me.process().clone();
    drop(me);
    if p.threads.fetch_sub(1, Ordering::AcqRel) == 1 {
        crate::process::last_thread_gone(&p, code);
    }
    drop(p);
    sched::exit_current()
}

/// set_tid_address(2).
pub fn set_tid_address(tidptr: UserPtr<i32>) -> SysResult {
    let me = sched::current();
    me.clear_child_tid
        .store(tidptr.addr().get(), Ordering::Relaxed);
    Ok(me.tid as usize)
}
