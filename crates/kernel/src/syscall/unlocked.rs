//! Socket data calls without the kernel lock: read(2), write(2), readv(2), writev(2),
//! recvfrom(2), sendto(2), sendmsg(2), recvmsg(2), sendmmsg(2) and recvmmsg(2) on TCP, UDP
//! and `AF_UNIX` sockets, so that several CPUs move socket data at once (issue #6).
//!
//! The general entry ([`crate::arch::syscall`]) asks [`try_run`] first. It looks the fd up
//! (the fd table has its own lock; the file is kept by a reference of its own) and runs the
//! call here only if the file is a socket that `oxv_net` says may run unlocked
//! ([`oxv_net::socket::runs_unlocked`]); anything else, and everything with `strace` on or
//! with the kernel command line option `nounlockednet`, goes the usual way: kernel lock,
//! `handle`.
//!
//! The call runs the same code as under the lock (`oxv_vfs` read/write, `oxv_net`
//! readv/writev/sendto/recvfrom/sendmsg/recvmsg), which takes only spin locks whose order is written down
//! in [`crate::smp`] (each socket module says which of its own it takes). Whatever it cannot
//! do without the kernel lock takes the lock first and keeps it until the call returns to
//! ring 3 (the exit releases it if this CPU holds it):
//!
//! - blocking: the blocker's `parker` takes it, before the wait registers anywhere
//!   ([`crate::devices::KernelBlocker`]);
//! - a fault in a user copy: the trap path takes it for the fault, as for any fault;
//! - a busy staging lock (held across user copies): [`crate::smp::yield_to_kernel_lock`];
//! - what `oxv_net` marks with `oxv_net::socket::serialize` (the hook set here takes the
//!   lock): files passed with `SCM_RIGHTS`, from the moment sendmsg(2) looks them up or a
//!   receive returns them (installing them in the fd table, or closing what does not fit,
//!   may run a file's release), files dropped by read(2)/recvfrom(2) of a message carrying
//!   them, the last reference to an `AF_UNIX` socket (its queue may hold such files), and an
//!   `AF_UNIX` path looked up by sendto(2)/sendmsg(2) (a walk of the file system);
//! - `SIGPIPE`, an `EINTR` restart, a signal, a reschedule or a stop on the way out: here;
//! - dropping the last reference to the file (another thread closed the fd meanwhile): here.
//!
//! Control messages otherwise need nothing of the kernel: `SCM_CREDENTIALS` is copied like
//! data, TCP and UDP ignore `SCM_RIGHTS` without looking the fds up, and recvmmsg(2)'s
//! timeout reads the blocker's clock, as the waits do.
//!
//! Not here: the other socket calls (connect, accept, options...), netlink sockets, and
//! pread/pwrite-style calls (`ESPIPE` on sockets anyway), which keep the lock.

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
use oxv_net::syscalls::{self as net, SocketCx, msg};
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
        || number == nr::__NR_sendmsg as u64
        || number == nr::__NR_recvmsg as u64
        || number == nr::__NR_sendmmsg as u64
        || number == nr::__NR_recvmmsg as u64
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
            | Syscall::Sendmsg { .. }
            | Syscall::Recvmsg { .. }
            | Syscall::Sendmmsg { .. }
            | Syscall::Recvmmsg { .. }
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

/// A send on a broken connection without `MSG_NOSIGNAL` (`r` with `flags`): `SIGPIPE` to
/// the calling thread, from the process itself, as the general path's socket dispatch
/// raises it (under the kernel lock).
fn sigpipe_if(r: &SysResult, flags: u32) {
    if net::raises_sigpipe(r, flags) {
        crate::smp::lock();
        crate::signal::raise_on_caller(oxv_abi::linux::signal::Signal::SIGPIPE);
    }
}

/// What `oxv_net` runs before work that needs the kernel lock (`oxv_net::socket::serialize`):
/// take it, and keep it until the call returns to ring 3.
fn take_kernel_lock() {
    crate::smp::lock();
}

fn run(me: &Thread, p: &Process, call: &Syscall, frame: &mut TrapFrame) {
    // Set before the first call that needs it (one load once set).
    oxv_net::socket::set_serialize_hook(take_kernel_lock);
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
        // As the general path: a socket takes all the buffers in one receive or send.
        Syscall::Readv { fd, iov, iovcnt } => net::readv(files, mem, fd, iov, iovcnt)
            .unwrap_or_else(|| fs::read_write::readv(files, mem, fd, iov, iovcnt)),
        Syscall::Writev { fd, iov, iovcnt } => net::writev(files, mem, fd, iov, iovcnt)
            .unwrap_or_else(|| fs::read_write::writev(files, mem, fd, iov, iovcnt)),
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
            sigpipe_if(&r, flags);
            r
        }
        Syscall::Sendmsg { sockfd, msg, flags } => {
            let r = msg::sendmsg(&cx(), mem, sockfd, msg, flags);
            sigpipe_if(&r, flags);
            r
        }
        Syscall::Recvmsg { sockfd, msg, flags } => msg::recvmsg(&cx(), mem, sockfd, msg, flags),
        Syscall::Sendmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
        } => {
            let r = msg::sendmmsg(&cx(), mem, sockfd, msgvec, vlen, flags);
            sigpipe_if(&r, flags);
            r
        }
        Syscall::Recvmmsg {
            sockfd,
            msgvec,
            vlen,
            flags,
            timeout,
        } => msg::recvmmsg(&cx(), mem, sockfd, msgvec, vlen, flags, timeout),
        // `try_run` admits only these.
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
