//! System-call dispatch: decode, route to the subsystem that owns the call, encode.
//!
//! The hot path is `handle` → `Syscall::decode` (a match on the number) → one arm below →
//! the handler → `encode_result`. No allocation and no formatting unless `strace` is on.
//! Every decoded call is routed by an exhaustive match; a number oxv does not decode is
//! `ENOSYS`, counted per number ([`table::count_unknown`]). `docs/syscalls.md` is generated
//! from [`table`] and a test keeps it current.

mod futex;
mod info;
mod memory;
mod resource;
mod signal;
mod thread;
mod timer;

use crate::coverage as table;

use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::devices::KernelBlocker;
use crate::process::{self, Process};
use crate::signal::Restart;
use core::sync::atomic::{AtomicBool, Ordering};
use oxv_abi::errno::encode_result;
use oxv_abi::{Errno, SysResult, Syscall, SyscallArgs};
use oxv_vfs::syscalls as fs;

static STRACE: AtomicBool = AtomicBool::new(false);

/// Turns syscall tracing on (kernel command line `strace`).
pub fn set_strace(on: bool) {
    STRACE.store(on, Ordering::Relaxed);
}

/// Entry from the arch syscall stub: runs the call in `frame` and leaves its result in `rax`.
pub fn handle(frame: &mut TrapFrame) {
    let args = SyscallArgs::new(
        frame.rax,
        [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ],
    );
    let call = Syscall::decode(&args);
    let r = if STRACE.load(Ordering::Relaxed) {
        traced(&call, frame)
    } else {
        let r = dispatch(&call, frame);
        frame.rax = encode_result(r);
        r
    };
    let restart = if r == Err(Errno::EINTR) {
        restart_rule(&call).map(|how| (args.nr, how))
    } else {
        None
    };
    crate::signal::on_return_to_user(process::current(), frame, restart);
}

/// Which calls Linux restarts after a signal (they return `-ERESTARTSYS` or
/// `-ERESTARTNOHAND` internally); every other `EINTR` reaches the app.
fn restart_rule(call: &Syscall) -> Option<Restart> {
    use Syscall as S;
    match call {
        S::Read { .. }
        | S::Readv { .. }
        | S::Write { .. }
        | S::Writev { .. }
        | S::Pread64 { .. }
        | S::Pwrite64 { .. } => Some(Restart::UnlessHandlerWithoutRestart),
        // FUTEX_WAIT without a timeout; with one, Linux restarts through restart_block only
        // when no handler runs, and oxv returns EINTR then.
        S::Futex {
            futex_op,
            timeout: 0,
            ..
        } if futex_op & 0x7f == 0 || futex_op & 0x7f == 9 => {
            Some(Restart::UnlessHandlerWithoutRestart)
        }
        S::Poll { .. } | S::Ppoll { .. } => Some(Restart::UnlessHandler),
        _ => None,
    }
}

fn traced(call: &Syscall, frame: &mut TrapFrame) -> SysResult {
    if matches!(call, Syscall::Exit { .. } | Syscall::ExitGroup { .. }) {
        strace_line(|w| {
            oxv_abi::strace::format_call(call, &CurrentUserMemory, w)?;
            w.write_str(" = ?")
        });
    }
    let r = dispatch(call, frame);
    strace_line(|w| oxv_abi::strace::format_line(call, r, &CurrentUserMemory, w));
    frame.rax = encode_result(r);
    r
}

/// Writes one strace line to the app's stderr channel (where strace(1) writes too).
fn strace_line(f: impl FnOnce(&mut dyn core::fmt::Write) -> core::fmt::Result) {
    struct Stderr;
    impl core::fmt::Write for Stderr {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            crate::console::write_stderr(s.as_bytes());
            Ok(())
        }
    }
    let mut w = Stderr;
    let _ = f(&mut w);
    crate::console::write_stderr(b"\n");
}

fn dispatch(call: &Syscall, frame: &mut TrapFrame) -> SysResult {
    let p: &Process = process::current();
    let mem = &mut CurrentUserMemory;
    let (cx, files) = (&p.fs, &p.files);
    use Syscall as S;
    match *call {
        // Files (oxv-vfs).
        S::Read { fd, buf } => fs::read_write::read(files, mem, fd, buf),
        S::Write { fd, buf } => fs::read_write::write(files, mem, fd, buf),
        S::Pread64 { fd, buf, offset } => fs::read_write::pread64(files, mem, fd, buf, offset),
        S::Pwrite64 { fd, buf, offset } => fs::read_write::pwrite64(files, mem, fd, buf, offset),
        S::Readv { fd, iov, iovcnt } => fs::read_write::readv(files, mem, fd, iov, iovcnt),
        S::Writev { fd, iov, iovcnt } => fs::read_write::writev(files, mem, fd, iov, iovcnt),
        S::Open {
            pathname,
            flags,
            mode,
        } => fs::open::open(cx, files, mem, pathname, flags, mode),
        S::Openat {
            dirfd,
            pathname,
            flags,
            mode,
        } => fs::open::openat(cx, files, mem, dirfd, pathname, flags, mode),
        S::Close { fd } => fs::open::close(files, fd),
        S::Lseek { fd, offset, whence } => fs::lseek::lseek(files, fd, offset, whence),
        S::Stat { pathname, statbuf } => fs::stat::stat(cx, files, mem, pathname, statbuf),
        S::Lstat { pathname, statbuf } => fs::stat::lstat(cx, files, mem, pathname, statbuf),
        S::Fstat { fd, statbuf } => fs::stat::fstat(files, mem, fd, statbuf),
        S::Newfstatat {
            dirfd,
            pathname,
            statbuf,
            flags,
        } => fs::stat::newfstatat(cx, files, mem, dirfd, pathname, statbuf, flags),
        S::Statx {
            dirfd,
            pathname,
            flags,
            mask,
            statxbuf,
        } => fs::stat::statx(cx, files, mem, dirfd, pathname, flags, mask, statxbuf),
        S::Getdents64 { fd, dirp } => fs::getdents::getdents64(files, mem, fd, dirp),
        S::Getcwd { buf } => fs::cwd::getcwd(cx, mem, buf),
        S::Chdir { path } => fs::cwd::chdir(cx, files, mem, path),
        S::Fchdir { fd } => fs::cwd::fchdir(cx, files, fd),
        S::Mkdir { pathname, mode } => fs::mkdir::mkdir(cx, files, mem, pathname, mode),
        S::Mkdirat {
            dirfd,
            pathname,
            mode,
        } => fs::mkdir::mkdirat(cx, files, mem, dirfd, pathname, mode),
        S::Unlink { pathname } => fs::unlink::unlink(cx, files, mem, pathname),
        S::Rmdir { pathname } => fs::unlink::rmdir(cx, files, mem, pathname),
        S::Unlinkat {
            dirfd,
            pathname,
            flags,
        } => fs::unlink::unlinkat(cx, files, mem, dirfd, pathname, flags),
        S::Rename { oldpath, newpath } => fs::rename::rename(cx, files, mem, oldpath, newpath),
        S::Renameat {
            olddirfd,
            oldpath,
            newdirfd,
            newpath,
        } => fs::rename::renameat(cx, files, mem, olddirfd, oldpath, newdirfd, newpath),
        S::Renameat2 {
            olddirfd,
            oldpath,
            newdirfd,
            newpath,
            flags,
        } => fs::rename::renameat2(cx, files, mem, olddirfd, oldpath, newdirfd, newpath, flags),
        S::Readlink {
            pathname,
            buf,
            bufsiz,
        } => fs::readlink::readlink(cx, files, mem, pathname, buf, bufsiz),
        S::Readlinkat {
            dirfd,
            pathname,
            buf,
            bufsiz,
        } => fs::readlink::readlinkat(cx, files, mem, dirfd, pathname, buf, bufsiz),
        S::Access { pathname, mode } => fs::access::access(cx, files, mem, pathname, mode),
        S::Faccessat {
            dirfd,
            pathname,
            mode,
        } => fs::access::faccessat(cx, files, mem, dirfd, pathname, mode),
        S::Faccessat2 {
            dirfd,
            pathname,
            mode,
            flags,
        } => fs::access::faccessat2(cx, files, mem, dirfd, pathname, mode, flags),
        S::Dup { oldfd } => fs::dup::dup(files, oldfd),
        S::Dup2 { oldfd, newfd } => fs::dup::dup2(files, oldfd, newfd),
        S::Dup3 {
            oldfd,
            newfd,
            flags,
        } => fs::dup::dup3(files, oldfd, newfd, flags),
        S::Fcntl { fd, cmd, arg } => fs::fcntl::fcntl(files, fd, cmd, arg),
        S::Ioctl { fd, request, arg } => fs::ioctl::ioctl(files, mem, fd, request, arg),
        S::Umask { mask } => fs::umask::umask(cx, mask),
        S::Fsync { fd } => fs::truncate::fsync(files, fd),
        S::Fdatasync { fd } => fs::truncate::fdatasync(files, fd),
        S::Truncate { path, length } => fs::truncate::truncate(cx, files, mem, path, length),
        S::Ftruncate { fd, length } => fs::truncate::ftruncate(files, fd, length),
        S::Creat { pathname, mode } => fs::open::creat(cx, files, mem, pathname, mode),
        S::Link { oldpath, newpath } => fs::link::link(cx, files, mem, oldpath, newpath),
        S::Symlink { target, linkpath } => fs::link::symlink(cx, files, mem, target, linkpath),
        S::Linkat {
            olddirfd,
            oldpath,
            newdirfd,
            newpath,
            flags,
        } => fs::link::linkat(cx, files, mem, olddirfd, oldpath, newdirfd, newpath, flags),
        S::Symlinkat {
            target,
            newdirfd,
            linkpath,
        } => fs::link::symlinkat(cx, files, mem, target, newdirfd, linkpath),
        S::Preadv {
            fd,
            iov,
            iovcnt,
            offset,
        } => fs::read_write::preadv(files, mem, fd, iov, iovcnt, offset),
        S::Pwritev {
            fd,
            iov,
            iovcnt,
            offset,
        } => fs::read_write::pwritev(files, mem, fd, iov, iovcnt, offset),
        S::Poll { fds, nfds, timeout } => {
            fs::poll::poll(files, mem, &KernelBlocker, fds, nfds, timeout)
        }
        S::Ppoll {
            fds,
            nfds,
            tmo_p,
            sigmask,
            sigsetsize,
        } => signal::ppoll(p, mem, fds, nfds, tmo_p, sigmask, sigsetsize),

        // Memory (oxv-mm).
        S::Mmap {
            addr,
            length,
            prot,
            flags,
            fd,
            offset,
        } => memory::mmap(p, addr, length, prot, flags, fd, offset),
        S::Munmap { addr, length } => memory::munmap(p, addr, length),
        S::Mprotect { addr, len, prot } => memory::mprotect(p, addr, len, prot),
        S::Brk { addr } => memory::brk(p, addr),
        S::Madvise {
            addr,
            length,
            advice,
        } => memory::madvise(p, addr, length, advice),

        // Signals, time, limits (oxv-sched).
        S::RtSigaction {
            signum,
            act,
            oldact,
            sigsetsize,
        } => signal::rt_sigaction(p, mem, signum, act, oldact, sigsetsize),
        S::RtSigprocmask {
            how,
            set,
            oldset,
            sigsetsize,
        } => crate::sched::with_running(|me| {
            oxv_sched::syscalls::signal::rt_sigprocmask(
                &mut me.signals.lock(),
                mem,
                how,
                set,
                oldset,
                sigsetsize,
            )
        }),
        S::Sigaltstack { ss, old_ss } => oxv_sched::syscalls::signal::sigaltstack(
            &mut crate::sched::current().signals.lock(),
            mem,
            ss,
            old_ss,
            frame.rsp,
        ),
        S::Kill { pid, sig } => signal::kill(p, pid, sig),
        S::Tkill { tid, sig } => signal::tkill(p, tid, sig),
        S::Tgkill { tgid, tid, sig } => signal::tgkill(p, tgid, tid, sig),
        S::ClockGettime { clockid, tp } => info::clock_gettime(mem, clockid, tp),
        S::ClockGetres { clockid, res } => {
            oxv_sched::syscalls::time::clock_getres(mem, clockid, res)
        }
        S::Gettimeofday { tv, tz } => oxv_sched::syscalls::time::gettimeofday(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            mem,
            tv,
            tz,
        ),
        S::Time { tloc } => oxv_sched::syscalls::time::time(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            mem,
            tloc,
        ),
        S::Nanosleep { req, rem } => oxv_sched::syscalls::time::nanosleep(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            &info::Sleep,
            mem,
            req,
            rem,
        ),
        S::ClockNanosleep {
            clockid,
            flags,
            request,
            remain,
        } => oxv_sched::syscalls::time::clock_nanosleep(
            crate::time::clock(),
            crate::arch::cpu::rdtsc(),
            &info::Sleep,
            mem,
            clockid,
            flags,
            request,
            remain,
        ),
        S::Getrlimit { resource, rlim } => {
            oxv_sched::syscalls::rlimit::getrlimit(&p.limits.lock(), mem, resource, rlim)
        }
        S::Setrlimit { resource, rlim } => {
            oxv_sched::syscalls::rlimit::setrlimit(&mut p.limits.lock(), mem, resource, rlim)
        }
        S::Prlimit64 {
            pid,
            resource,
            new_limit,
            old_limit,
        } => oxv_sched::syscalls::rlimit::prlimit64(
            &mut p.limits.lock(),
            mem,
            pid,
            resource,
            new_limit,
            old_limit,
            p.pid,
        ),
        S::Futex {
            uaddr,
            futex_op,
            val,
            timeout,
            uaddr2,
            val3,
        } => futex::futex(mem, uaddr, futex_op, val, timeout, uaddr2, val3),
        S::SchedYield => {
            crate::sched::yield_now();
            Ok(0)
        }

        // Process and system information.
        S::Getpid | S::Getpgrp => Ok(p.pid as usize),
        S::Gettid => Ok(crate::sched::with_running(|t| t.tid) as usize),
        S::Getppid => Ok(0),
        S::Getpgid { pid } | S::Getsid { pid } => {
            info::same_process(p, pid).map(|_| p.pid as usize)
        }
        S::Getuid | S::Geteuid | S::Getgid | S::Getegid => Ok(0),
        S::Exit { status } => thread::exit(p, status),
        S::ExitGroup { status } => process::exit(status),
        S::Clone {
            flags,
            stack,
            parent_tid,
            child_tid,
            tls,
        } => thread::clone(frame, flags, stack, parent_tid, child_tid, tls),
        S::Clone3 { cl_args, size } => thread::clone3(frame, mem, cl_args, size),
        S::Uname { buf } => info::uname(mem, buf),
        S::Sysinfo { info } => info::sysinfo(mem, info),
        S::Getrandom { buf, flags } => info::getrandom(mem, buf, flags),
        S::ArchPrctl { code, addr } => info::arch_prctl(mem, code, addr),
        S::SetTidAddress { tidptr } => thread::set_tid_address(tidptr),
        S::SetRobustList { head, len } => info::set_robust_list(head, len),
        S::GetRobustList {
            pid,
            head_ptr,
            len_ptr,
        } => info::get_robust_list(p, mem, pid, head_ptr, len_ptr),
        S::SchedGetaffinity { pid, mask } => info::sched_getaffinity(p, mem, pid, mask),
        S::SchedSetaffinity { pid, mask } => info::sched_setaffinity(p, mem, pid, mask),
        S::Prctl { option, arg2, .. } => info::prctl(p, mem, option, arg2),

        // Decoded but not implemented yet: an honest ENOSYS (see docs/syscalls.md).
        S::RtSigreturn => Ok(crate::signal::sigreturn(frame) as usize),
        S::RtSigpending { set, sigsetsize } => signal::rt_sigpending(mem, set, sigsetsize),
        S::RtSigsuspend { mask, sigsetsize } => signal::rt_sigsuspend(mem, mask, sigsetsize),
        S::RtSigtimedwait {
            set,
            info,
            timeout,
            sigsetsize,
        } => signal::rt_sigtimedwait(mem, set, info, timeout, sigsetsize),
        S::RtSigqueueinfo { tgid, sig, info } => signal::rt_sigqueueinfo(p, mem, tgid, sig, info),
        S::RtTgsigqueueinfo {
            tgid,
            tid,
            sig,
            info,
        } => signal::rt_tgsigqueueinfo(p, mem, tgid, tid, sig, info),
        S::Pause => signal::pause(),
        S::Getitimer { which, curr_value } => timer::getitimer(mem, which, curr_value),
        S::Setitimer {
            which,
            new_value,
            old_value,
        } => timer::setitimer(mem, which, new_value, old_value),
        S::Alarm { seconds } => timer::alarm(seconds),
        S::TimerCreate {
            clockid,
            sevp,
            timerid,
        } => timer::timer_create(mem, clockid, sevp, timerid),
        S::TimerSettime {
            timerid,
            flags,
            new_value,
            old_value,
        } => timer::timer_settime(mem, timerid, flags, new_value, old_value),
        S::TimerGettime {
            timerid,
            curr_value,
        } => timer::timer_gettime(mem, timerid, curr_value),
        S::TimerGetoverrun { timerid } => timer::timer_getoverrun(timerid),
        S::TimerDelete { timerid } => timer::timer_delete(timerid),
        S::Getcpu { cpu, node } => resource::getcpu(mem, cpu, node),
        S::Getrusage { who, usage } => resource::getrusage(p, mem, who, usage),
        S::Times { buf } => resource::times(mem, buf),
        S::SchedGetscheduler { pid } => resource::sched_getscheduler(p, pid),
        S::SchedSetscheduler { pid, policy, param } => {
            resource::sched_setscheduler(p, mem, pid, policy, param)
        }
        S::SchedGetparam { pid, param } => resource::sched_getparam(p, mem, pid, param),
        S::SchedSetparam { pid, param } => resource::sched_setparam(p, mem, pid, param),
        S::SchedGetPriorityMax { policy } => resource::sched_get_priority_max(policy),
        S::SchedGetPriorityMin { policy } => resource::sched_get_priority_min(policy),
        S::SchedRrGetInterval { pid, tp } => resource::sched_rr_get_interval(p, mem, pid, tp),
        S::Getpriority { which, who } => resource::getpriority(p, which, who),
        S::Setpriority { which, who, prio } => resource::setpriority(p, which, who, prio),
        S::Rseq { .. } | S::Pipe { .. } | S::Pipe2 { .. } | S::Mremap { .. } => Err(Errno::ENOSYS),
        S::Unknown { nr, .. } => {
            table::count_unknown(nr);
            Err(Errno::ENOSYS)
        }
    }
}
