//! Socket data calls without the kernel lock: read(2), write(2), readv(2), writev(2),
//! recvfrom(2) and sendto(2) on a TCP socket, so that several CPUs move socket data at once (issue #6).
//!
//! The general entry ([`crate::arch::syscall`]) asks [`try_run`] first. It looks the fd up
//! (the fd table has its own lock; the file is kept by a reference of its own) and runs the
//! call here only if the file is a socket that `oxv_net` says may run unlocked
//! ([`oxv_net::socket::runs_unlocked`]); anything else, and everything with `strace` on or
//! with the kernel command line option `nounlockednet`, goes the usual way: kernel lock,
//! `handle`.
//!
//! The call runs the same code as under the lock (`oxv_vfs` read/write, `oxv_net`
//! sendto/recvfrom), which takes only spin locks whose order is written down in
//! [`crate::smp`]. Whatever it cannot do without the kernel lock takes the lock first and
//! keeps it until the call returns to ring 3 (the exit releases it if this CPU holds it):
//!
//! - blocking: the blocker's `parker` takes it, before the wait registers anywhere
//!   ([`crate::devices::KernelBlocker`]);
//! - a fault in a user copy: the trap path takes it for the fault, as for any fault;
//! - a busy staging lock (held across user copies): [`crate::smp::yield_to_kernel_lock`];
//! - `SIGPIPE`, an `EINTR` restart, a signal, a reschedule or a stop on the way out: here;
//! - dropping the last reference to the file (another thread closed the fd meanwhile): here.
//!
//! Not here: the other socket calls (connect, accept, options...), sendmsg/recvmsg (their
//! control messages are not audited), and UDP, UNIX and netlink sockets, which keep the lock.

use super::{STRACE, after_error};
use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::process::Process;
use crate::thread::Thread;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use linux_raw_sys::general as nr;
use oxv_abi::errno::encode_result;
use oxv_abi::linux::net::Ucred;
use oxv_abi::{Errno, SysResult, Syscall, SyscallArgs};
use oxv_net::syscalls::{self as net, SocketCx};
use oxv_vfs::OpenFile;
use oxv_vfs::syscalls as fs;

/// Whether `number` is one of the calls [`try_run`] may take.
fn candidate(number: u64) -> bool {
    number == nr::__NR_read as u64
        || number == nr::__NR_write as u64
        || number == nr::__NR_readv as u64
        || number == nr::__NR_writev as u64
        || number == nr::__NR_recvfrom as u64
        || number == nr::__NR_sendto as u64
}

/// Runs the call in `frame` here, without the kernel lock, if it is a data call on a socket
/// that allows it; returns false (having changed nothing and taken no lock) otherwise. On
/// true the call ran, with its return-to-user work; the CPU may hold the kernel lock then
/// (the caller releases it).
pub fn try_run(frame: &mut TrapFrame) -> bool {
    if !crate::smp::unlocked_net() || STRACE.load(Ordering::Relaxed) || !candidate(frame.rax) {
        return false;
    }
    let call = decode(frame);
    if !matches!(
        call,
        Syscall::Read { .. }
            | Syscall::Write { .. }
            | Syscall::Readv { .. }
            | Syscall::Writev { .. }
            | Syscall::Recvfrom { .. }
            | Syscall::Sendto { .. }
    ) {
        return false;
    }
    crate::sched::with_running(|me| {
        let p = me.process();
        let Ok(file) = p.files.get(frame.rdi as u32 as i32) else {
            return false;
        };
        if !oxv_net::socket::runs_unlocked(&file) {
            release(file);
            return false;
        }
        run(me, p, &call, frame);
        release(file);
        true
    })
}

/// Drops this call's reference to the file; the last one (the fd was closed meanwhile)
/// runs the file's release, which is not written for running without the kernel lock.
fn release(file: Arc<OpenFile>) {
    // `into_inner` gives the file only to the reference that was last, atomically: a close
    // on another CPU between a count check and the drop cannot leave the release unlocked.
    if let Some(last) = Arc::into_inner(file) {
        crate::smp::lock();
        drop(last);
    }
}

fn decode(frame: &TrapFrame) -> Syscall {
    Syscall::decode(&SyscallArgs::new(
        frame.rax,
        [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ],
    ))
}

/// A send on a broken connection without `MSG_NOSIGNAL`: `SIGPIPE` to the calling thread,
/// from the process itself, as the general path's socket dispatch raises it.
fn raise_sigpipe(p: &Process) {
    let sig = oxv_abi::linux::signal::Signal::SIGPIPE;
    let info = oxv_abi::linux::sigframe::SigInfo::from_process(
        sig.number() as i32,
        oxv_abi::linux::sigframe::code::SI_USER,
        p.pid,
        0,
    );
    crate::signal::raise(&crate::sched::current(), sig, info);
}

fn run(me: &Thread, p: &Process, call: &Syscall, frame: &mut TrapFrame) {
    let number = frame.rax;
    let mem = &mut CurrentUserMemory;
    let files = &p.files;
    let cx = || SocketCx {
        net: crate::net::net(),
        files,
        fs: &p.fs,
        cred: Ucred {
            pid: p.pid,
            uid: 0,
            gid: 0,
        },
    };
    let r: SysResult = match *call {
        Syscall::Read { fd, buf } => fs::read_write::read(files, mem, fd, buf),
        Syscall::Write { fd, buf } => fs::read_write::write(files, mem, fd, buf),
        Syscall::Readv { fd, iov, iovcnt } => fs::read_write::readv(files, mem, fd, iov, iovcnt),
        Syscall::Writev { fd, iov, iovcnt } => fs::read_write::writev(files, mem, fd, iov, iovcnt),
        Syscall::Recvfrom {
            sockfd,
            buf,
            flags,
            src_addr,
            addrlen,
        } => net::recvfrom(&cx(), mem, sockfd, buf, flags, src_addr, addrlen),
        Syscall::Sendto {
            sockfd,
            buf,
            flags,
            dest_addr,
            addrlen,
        } => {
            let r = net::sendto(&cx(), mem, sockfd, buf, flags, dest_addr, addrlen);
            if net::raises_sigpipe(&r, flags) {
                crate::smp::lock();
                raise_sigpipe(p);
            }
            r
        }
        // `try_run` admits only the six.
        _ => Err(Errno::ENOSYS),
    };
    frame.rax = encode_result(r);
    let restart = match r {
        Ok(_) | Err(Errno::EAGAIN) => None,
        Err(e) => {
            // SIGPIPE (write(2)) and EINTR restarts touch signal state: under the lock.
            crate::smp::lock();
            after_error(call, number, e)
        }
    };
    // The conditions `on_return_to_user` tests first; without any, nothing needs the lock.
    let quiet = restart.is_none()
        && !crate::sched::resched_wanted()
        && !me.sig_pending.load(Ordering::Acquire)
        && !me.killed.load(Ordering::Acquire)
        && !me.rseq_event.load(Ordering::Relaxed)
        && !p.shared_pending.load(Ordering::Acquire)
        && !p.stopped.load(Ordering::Acquire);
    if quiet && !crate::smp::holds_lock() {
        return;
    }
    crate::smp::lock();
    crate::signal::on_return_to_user(p, frame, restart);
}
