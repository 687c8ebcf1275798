//! System-call dispatch: decode, route to the subsystem that owns the call, encode.
//!
//! The hottest calls (getpid, clock_gettime, ...) never get here: the entry stub runs them
//! from a table indexed by number ([`fast`]), on a light frame and without the kernel lock.
//! Every other call takes `handle` → `Syscall::decode` (a match on the number) → one arm
//! below → the handler → `encode_result`. No allocation and no formatting unless `strace`
//! is on.
//! Every decoded call is routed by an exhaustive match; a number oxv does not decode is
//! `ENOSYS`, counted per number ([`table::count_unknown`]). `docs/syscalls.md` is generated
//! from [`table`] and a test keeps it current.

mod execve;
pub mod fast;
pub mod futex;
pub mod info;
mod memory;
pub mod mount;
pub mod pidfd;
pub(crate) mod resource;
mod signal;
mod socket;
pub mod thread;
mod timer;
pub mod unlocked;
mod wait;

use crate::coverage as table;

use crate::arch::trap::TrapFrame;
use crate::arch::usercopy::CurrentUserMemory;
use crate::devices::{KernelBlocker, blocker};
use crate::process::{self, Process};
use crate::signal::Restart;
use core::sync::atomic::{AtomicBool, Ordering};
use oxv_abi::errno::encode_result;
use oxv_abi::{Errno, SysResult, Syscall, SyscallArgs, UserPtr};
use oxv_vfs::syscalls as fs;

static STRACE: AtomicBool = AtomicBool::new(false);

/// Turns syscall tracing on (kernel command line `strace`).
pub fn set_strace(on: bool) {
    STRACE.store(on, Ordering::Relaxed);
}

/// Entry from the arch syscall stub: runs the call in `frame` and leaves its result in `rax`.
pub fn handle(frame: &mut TrapFrame) {
    // The process is borrowed from the running thread, which holds it: no reference count
    // traffic on the fast path.
    crate::sched::with_running(|me| handle_for(me.process(), frame))
}

fn handle_for(p: &Process, frame: &mut TrapFrame) {
    let nr = frame.rax;
    let call = Syscall::decode(&SyscallArgs::new(
        nr,
        [
            frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
        ],
    ));
    let r = if STRACE.load(Ordering::Relaxed) {
        traced(p, &call, frame)
    } else {
        let r = dispatch(p, &call, frame);
        frame.rax = encode_result(r);
        r
    };
    let restart = match r {
        Ok(_) => None,
        Err(e) => after_error(&call, nr, e),
    };
    crate::signal::on_return_to_user(p, frame, restart);
}

/// The way back to ring 3 after a light-path call ([`fast`]) that found work pending: the
/// stub built the full frame, holding the call's result.
pub fn return_work(frame: &mut TrapFrame) {
    crate::sched::with_running(|me| crate::signal::on_return_to_user(me.process(), frame, None))
}

/// What a failed call may still need: `SIGPIPE` for a write to a broken pipe, and for
/// `EINTR`, how the call may be restarted.
#[cold]
#[inline(never)]
fn after_error(call: &Syscall, nr: u64, e: Errno) -> Option<(u64, Restart)> {
    raise_sigpipe(call, Err(e));
    if e == Errno::EINTR {
        restart_rule(call).map(|how| (nr, how))
    } else {
        None
    }
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
        | S::Pwrite64 { .. } => Some(Restart::UnlessHandlerWithoutSaRestartFlag),
        // FUTEX_WAIT without a timeout; with one, Linux restarts through restart_block only
        // when no handler runs, and oxv returns EINTR then.
        S::Futex {
            futex_op,
            timeout: 0,
            ..
        } if futex_op & 0x7f == 0 || futex_op & 0x7f == 9 => {
            Some(Restart::UnlessHandlerWithoutSaRestartFlag)
        }
        // The PI lock waits: Linux's -ERESTARTNOINTR, restarted even after a handler without
        // SA_RESTART.
        S::Futex { futex_op, .. } if is_pi_lock_wait(*futex_op) => Some(Restart::Always),
        // futex_waitv: -ERESTARTSYS.
        S::FutexWaitv { .. } => Some(Restart::UnlessHandlerWithoutSaRestartFlag),
        S::Poll { .. } | S::Ppoll { .. } | S::Select { .. } | S::Pselect6 { .. } => {
            Some(Restart::UnlessHandler)
        }
        S::Wait4 { .. } | S::Waitid { .. } => Some(Restart::UnlessHandlerWithoutSaRestartFlag),
        // A lock wait (F_SETLKW, flock(2) without LOCK_NB) returns -ERESTARTSYS in Linux.
        S::Fcntl { cmd, .. } if fs::lock::is_blocking_command(*cmd) => {
            Some(Restart::UnlessHandlerWithoutSaRestartFlag)
        }
        S::Flock { .. } => Some(Restart::UnlessHandlerWithoutSaRestartFlag),
        // A terminal's SIGTTOU from the background: -ERESTARTSYS.
        S::Ioctl { request, .. } if oxv_vfs::tty::ioctl_restarts(*request) => {
            Some(Restart::UnlessHandlerWithoutSaRestartFlag)
        }
        // Socket calls restart under SA_RESTART (Linux returns -ERESTARTSYS when no
        // SO_RCVTIMEO/SO_SNDTIMEO is set; oxv does not tell the two apart).
        S::Accept { .. }
        | S::Accept4 { .. }
        | S::Connect { .. }
        | S::Sendto { .. }
        | S::Recvfrom { .. }
        | S::Sendmsg { .. }
        | S::Recvmsg { .. }
        | S::Sendmmsg { .. }
        | S::Recvmmsg { .. } => Some(Restart::UnlessHandlerWithoutSaRestartFlag),
        _ => None,
    }
}

/// FUTEX_LOCK_PI, FUTEX_LOCK_PI2 and FUTEX_WAIT_REQUEUE_PI (the op without its flags).
fn is_pi_lock_wait(futex_op: i32) -> bool {
    use linux_raw_sys::general::{FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI};
    let op = (futex_op & 0x7f) as u32;
    op == FUTEX_LOCK_PI || op == FUTEX_LOCK_PI2 || op == FUTEX_WAIT_REQUEUE_PI
}

/// A write that found no reader on a pipe: Linux also sends `SIGPIPE` to the calling
/// thread, from the process itself (`SI_USER`).
fn raise_sigpipe(call: &Syscall, r: SysResult) {
    use Syscall as S;
    let write = matches!(
        call,
        S::Write { .. }
            | S::Writev { .. }
            | S::Pwrite64 { .. }
            | S::Pwritev { .. }
            | S::Splice { .. }
            | S::Vmsplice { .. }
            | S::Tee { .. }
            | S::Sendfile { .. }
    );
    if write && oxv_vfs::pipe::raises_sigpipe(&r) {
        crate::signal::raise_on_caller(oxv_abi::linux::signal::Signal::SIGPIPE);
    }
}

#[cold]
#[inline(never)]
fn traced(p: &Process, call: &Syscall, frame: &mut TrapFrame) -> SysResult {
    if matches!(call, Syscall::Exit { .. } | Syscall::ExitGroup { .. }) {
        strace_line(|w| {
            oxv_abi::strace::format_call(call, &CurrentUserMemory, w)?;
            w.write_str(" = ?")
        });
    }
    let r = dispatch(p, call, frame);
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

/// The calling process as the VFS's lock calls see it: its pid, and how its thread blocks.
fn locker(p: &Process) -> fs::lock::LockCaller<'static> {
    fs::lock::LockCaller {
        pid: p.pid,
        blocker: &KernelBlocker,
    }
}

fn dispatch(p: &Process, call: &Syscall, frame: &mut TrapFrame) -> SysResult {
    let mem = &mut CurrentUserMemory;
    let (cx, files) = (&p.fs, &p.files);
    use Syscall as S;
    match *call {
        // Files (oxv-vfs).
        S::Read { fd, buf } => fs::read_write::read(files, mem, fd, buf),
        S::Write { fd, buf } => fs::read_write::write(files, mem, fd, buf),
        S::Pread64 { fd, buf, offset } => fs::read_write::pread64(files, mem, fd, buf, offset),
        S::Pwrite64 { fd, buf, offset } => fs::read_write::pwrite64(files, mem, fd, buf, offset),
        // A socket takes all the buffers in one receive or send (one datagram).
        S::Readv { fd, iov, iovcnt } => oxv_net::syscalls::readv(files, mem, fd, iov, iovcnt)
            .unwrap_or_else(|| fs::read_write::readv(files, mem, fd, iov, iovcnt)),
        S::Writev { fd, iov, iovcnt } => oxv_net::syscalls::writev(files, mem, fd, iov, iovcnt)
            .unwrap_or_else(|| fs::read_write::writev(files, mem, fd, iov, iovcnt)),
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
        S::Fcntl { fd, cmd, arg } => fs::lock::fcntl(cx, files, mem, locker(p), fd, cmd, arg),
        S::Flock { fd, operation } => fs::lock::flock(cx, files, locker(p), fd, operation),
        S::Ioctl { fd, request, arg } => fs::ioctl::ioctl(files, mem, fd, request, arg),
        S::Umask { mask } => fs::umask::umask(cx, mask),
        S::Fsync { fd } => fs::sync::fsync(files, fd),
        S::Fdatasync { fd } => fs::sync::fdatasync(files, fd),
        S::Sync => fs::sync::sync(cx),
        S::Syncfs { fd } => fs::sync::syncfs(files, fd),
        S::Statfs { path, buf } => fs::statfs::statfs(cx, files, mem, path, buf),
        S::Fstatfs { fd, buf } => fs::statfs::fstatfs(files, mem, fd, buf),
        S::Mount {
            source,
            target,
            filesystemtype,
            mountflags,
            data,
        } => mount::mount(cx, mem, source, target, filesystemtype, mountflags, data),
        S::Umount2 { target, flags } => mount::umount2(cx, mem, target, flags),
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

        // Pipes, event files and readiness (oxv-vfs; the kernel supplies blocking, timers
        // and signals).
        S::Pipe { pipefd } => fs::pipe::pipe(cx, files, mem, &blocker(), pipefd),
        S::Pipe2 { pipefd, flags } => fs::pipe::pipe2(cx, files, mem, &blocker(), pipefd, flags),
        S::Select {
            nfds,
            readfds,
            writefds,
            exceptfds,
            timeout,
        } => {
            let sets = fs::select::FdSets {
                read: readfds,
                write: writefds,
                except: exceptfds,
            };
            fs::select::select(files, mem, &KernelBlocker, nfds, sets, timeout)
        }
        S::Pselect6 {
            nfds,
            readfds,
            writefds,
            exceptfds,
            timeout,
            sigmask,
        } => {
            let sets = fs::select::FdSets {
                read: readfds,
                write: writefds,
                except: exceptfds,
            };
            signal::pselect6(p, mem, nfds, sets, timeout, sigmask)
        }
        S::EpollCreate { size } => fs::epoll::epoll_create(files, size),
        S::EpollCreate1 { flags } => fs::epoll::epoll_create1(files, flags),
        S::EpollCtl {
            epfd,
            op,
            fd,
            event,
        } => fs::epoll::epoll_ctl(files, mem, epfd, op, fd, UserPtr::new(event.get())),
        S::EpollWait {
            epfd,
            events,
            maxevents,
            timeout,
        } => fs::epoll::epoll_wait(files, mem, &KernelBlocker, epfd, events, maxevents, timeout),
        S::EpollPwait {
            epfd,
            events,
            maxevents,
            timeout,
            sigmask,
            sigsetsize,
        } => signal::epoll_pwait(
            p, mem, epfd, events, maxevents, timeout, sigmask, sigsetsize,
        ),
        S::EpollPwait2 {
            epfd,
            events,
            maxevents,
            timeout,
            sigmask,
            sigsetsize,
        } => signal::epoll_pwait2(
            p, mem, epfd, events, maxevents, timeout, sigmask, sigsetsize,
        ),
        S::Eventfd { initval } => fs::eventfd::eventfd(files, &blocker(), initval),
        S::Eventfd2 { initval, flags } => fs::eventfd::eventfd2(files, &blocker(), initval, flags),
        S::TimerfdCreate { clockid, flags } => fs::timerfd::timerfd_create(
            files,
            &crate::timerfd::backend(),
            &blocker(),
            clockid,
            flags,
        ),
        S::TimerfdSettime {
            fd,
            flags,
            new_value,
            old_value,
        } => fs::timerfd::timerfd_settime(files, mem, fd, flags, new_value, old_value),
        S::TimerfdGettime { fd, curr_value } => {
            fs::timerfd::timerfd_gettime(files, mem, fd, curr_value)
        }
        S::Signalfd { fd, mask, sizemask } => fs::signalfd::signalfd(
            files,
            mem,
            &crate::signalfd::source(),
            &blocker(),
            fd,
            mask,
            sizemask,
        ),
        S::Signalfd4 {
            fd,
            mask,
            sizemask,
            flags,
        } => fs::signalfd::signalfd4(
            files,
            mem,
            &crate::signalfd::source(),
            &blocker(),
            fd,
            mask,
            sizemask,
            flags,
        ),
        S::CloseRange { first, last, flags } => fs::dup::close_range(files, first, last, flags),
        S::MemfdCreate { name, flags } => {
            let memory: alloc::sync::Arc<dyn oxv_vfs::tmpfs::FileMemory> =
                alloc::sync::Arc::new(crate::mem::FileFrames);
            fs::memfd::memfd_create(cx, files, mem, &memory, name, flags)
        }
        S::Chmod { pathname, mode } => fs::chmod::chmod(cx, files, mem, pathname, mode),
        S::Fchmod { fd, mode } => fs::chmod::fchmod(cx, files, fd, mode),
        S::Fchmodat {
            dirfd,
            pathname,
            mode,
        } => fs::chmod::fchmodat(cx, files, mem, dirfd, pathname, mode),
        S::Fchmodat2 {
            dirfd,
            pathname,
            mode,
            flags,
        } => fs::chmod::fchmodat2(cx, files, mem, dirfd, pathname, mode, flags),
        S::Chown {
            pathname,
            owner,
            group,
        } => fs::chown::chown(cx, files, mem, pathname, owner, group),
        S::Lchown {
            pathname,
            owner,
            group,
        } => fs::chown::lchown(cx, files, mem, pathname, owner, group),
        S::Fchown { fd, owner, group } => fs::chown::fchown(cx, files, fd, owner, group),
        S::Fchownat {
            dirfd,
            pathname,
            owner,
            group,
            flags,
        } => fs::chown::fchownat(cx, files, mem, dirfd, pathname, owner, group, flags),
        S::Utime { filename, times } => fs::utimes::utime(cx, files, mem, filename, times),
        S::Utimes { filename, times } => fs::utimes::utimes(cx, files, mem, filename, times),
        S::Futimesat {
            dirfd,
            filename,
            times,
        } => fs::utimes::futimesat(cx, files, mem, dirfd, filename, times),
        S::Utimensat {
            dirfd,
            pathname,
            times,
            flags,
        } => fs::utimes::utimensat(cx, files, mem, dirfd, pathname, times, flags),
        S::Setxattr {
            pathname,
            name,
            value,
            flags,
        } => fs::xattr::setxattr(cx, files, mem, pathname, name, value, flags),
        S::Lsetxattr {
            pathname,
            name,
            value,
            flags,
        } => fs::xattr::lsetxattr(cx, files, mem, pathname, name, value, flags),
        S::Fsetxattr {
            fd,
            name,
            value,
            flags,
        } => fs::xattr::fsetxattr(cx, files, mem, fd, name, value, flags),
        S::Getxattr {
            pathname,
            name,
            value,
        } => fs::xattr::getxattr(cx, files, mem, pathname, name, value),
        S::Lgetxattr {
            pathname,
            name,
            value,
        } => fs::xattr::lgetxattr(cx, files, mem, pathname, name, value),
        S::Fgetxattr { fd, name, value } => fs::xattr::fgetxattr(cx, files, mem, fd, name, value),
        S::Listxattr { pathname, list } => fs::xattr::listxattr(cx, files, mem, pathname, list),
        S::Llistxattr { pathname, list } => fs::xattr::llistxattr(cx, files, mem, pathname, list),
        S::Flistxattr { fd, list } => fs::xattr::flistxattr(cx, files, mem, fd, list),
        S::Removexattr { pathname, name } => fs::xattr::removexattr(cx, files, mem, pathname, name),
        S::Lremovexattr { pathname, name } => {
            fs::xattr::lremovexattr(cx, files, mem, pathname, name)
        }
        S::Fremovexattr { fd, name } => fs::xattr::fremovexattr(cx, files, mem, fd, name),
        S::Sendfile {
            out_fd,
            in_fd,
            offset,
            count,
        } => fs::sendfile::sendfile(files, mem, &KernelBlocker, out_fd, in_fd, offset, count),
        S::CopyFileRange {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => fs::sendfile::copy_file_range(files, mem, fd_in, off_in, fd_out, off_out, len, flags),
        S::Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => fs::splice::splice(
            files,
            mem,
            &KernelBlocker,
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        ),
        S::Tee {
            fd_in,
            fd_out,
            len,
            flags,
        } => fs::splice::tee(files, &KernelBlocker, fd_in, fd_out, len, flags),
        S::Vmsplice {
            fd,
            iov,
            nr_segs,
            flags,
        } => fs::splice::vmsplice(files, mem, &KernelBlocker, fd, iov, nr_segs, flags),
        S::Fallocate {
            fd,
            mode,
            offset,
            len,
        } => fs::fallocate::fallocate(cx, files, fd, mode, offset, len),
        S::Openat2 {
            dirfd,
            pathname,
            how,
            size,
        } => fs::openat2::openat2(cx, files, mem, dirfd, pathname, how, size),
        S::InotifyInit => fs::inotify::inotify_init(cx, files, &blocker()),
        S::InotifyInit1 { flags } => fs::inotify::inotify_init1(cx, files, &blocker(), flags),
        S::InotifyAddWatch { fd, pathname, mask } => {
            fs::inotify::inotify_add_watch(cx, files, mem, fd, pathname, mask)
        }
        S::InotifyRmWatch { fd, wd } => fs::inotify::inotify_rm_watch(files, fd, wd),

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
        S::Mremap {
            old_address,
            old_size,
            new_size,
            flags,
            new_address,
        } => memory::mremap(p, old_address, old_size, new_size, flags, new_address),
        S::Msync {
            addr,
            length,
            flags,
        } => memory::msync(p, addr, length, flags),
        S::Mincore { addr, length, vec } => memory::mincore(p, mem, addr, length, vec),
        S::Mlock { addr, len } => memory::mlock(p, addr, len, 0),
        S::Mlock2 { addr, len, flags } => memory::mlock(p, addr, len, flags),
        S::Munlock { addr, len } => memory::munlock(p, addr, len),
        S::Mlockall { flags } => memory::mlockall(p, flags),
        S::Munlockall => memory::munlockall(p),

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
        S::Setrlimit { resource, rlim } => resource::setrlimit(p, mem, resource, rlim),
        S::Prlimit64 {
            pid,
            resource,
            new_limit,
            old_limit,
        } => resource::prlimit64(p, mem, pid, resource, new_limit, old_limit),
        S::Futex {
            uaddr,
            futex_op,
            val,
            timeout,
            uaddr2,
            val3,
        } => futex::futex(mem, uaddr, futex_op, val, timeout, uaddr2, val3),
        S::FutexWaitv {
            waiters,
            nr_futexes,
            flags,
            timeout,
            clockid,
        } => futex::waitv::futex_waitv(mem, waiters, nr_futexes, flags, timeout, clockid),
        S::SchedYield => {
            crate::sched::yield_now();
            Ok(0)
        }

        // Process and system information.
        S::Getpid => Ok(p.pid as usize),
        S::Gettid => Ok(crate::sched::with_running(|t| t.tid) as usize),
        S::Getppid => wait::getppid(p),
        S::Getpgrp => wait::getpgrp(p),
        S::Getpgid { pid } => wait::getpgid(p, pid),
        S::Getsid { pid } => wait::getsid(p, pid),
        S::Setpgid { pid, pgid } => wait::setpgid(p, pid, pgid),
        S::Setsid => wait::setsid(p),
        S::Wait4 {
            pid,
            wstatus,
            options,
            rusage,
        } => wait::wait4(p, mem, pid, wstatus, options, rusage),
        S::Waitid {
            idtype,
            id,
            infop,
            options,
            rusage,
        } => wait::waitid(p, mem, idtype, id, infop, options, rusage),
        S::PidfdOpen { pid, flags } => pidfd::pidfd_open(p, pid, flags),
        S::PidfdSendSignal {
            pidfd,
            sig,
            info,
            flags,
        } => signal::pidfd_send_signal(p, mem, pidfd, sig, info, flags),
        S::PidfdGetfd {
            pidfd,
            targetfd,
            flags,
        } => pidfd::pidfd_getfd(p, pidfd, targetfd, flags),
        S::Fork => thread::fork(frame, false),
        S::Vfork => thread::fork(frame, true),
        S::Execve {
            pathname,
            argv,
            envp,
        } => execve::execve(frame, pathname, argv, envp),
        S::Execveat {
            dirfd,
            pathname,
            argv,
            envp,
            flags,
        } => execve::execveat(frame, dirfd, pathname, argv, envp, flags),
        S::Getuid | S::Geteuid | S::Getgid | S::Getegid => Ok(0),
        S::Exit { status } => thread::exit(status),
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
        // Sockets (oxv-net).
        S::Socket { .. }
        | S::Socketpair { .. }
        | S::Bind { .. }
        | S::Listen { .. }
        | S::Accept { .. }
        | S::Accept4 { .. }
        | S::Connect { .. }
        | S::Sendto { .. }
        | S::Recvfrom { .. }
        | S::Sendmsg { .. }
        | S::Recvmsg { .. }
        | S::Sendmmsg { .. }
        | S::Recvmmsg { .. }
        | S::Shutdown { .. }
        | S::Getsockname { .. }
        | S::Getpeername { .. }
        | S::Setsockopt { .. }
        | S::Getsockopt { .. } => socket::dispatch(call, p, mem),
        S::Rseq {
            rseq,
            rseq_len,
            flags,
            sig,
        } => crate::sched::with_running(|me| crate::rseq::syscall(me, rseq, rseq_len, flags, sig)),
        S::Unknown { nr, .. } => {
            table::count_unknown(nr);
            Err(Errno::ENOSYS)
        }
    }
}
