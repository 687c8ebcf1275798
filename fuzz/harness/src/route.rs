//! Runs one operation: resolves encoded arguments to registers, decodes the call with
//! [`Syscall::decode`] and routes it to the owning crate's handler, as
//! `crates/kernel/src/syscall/mod.rs` does (the arms are the kernel's, minus the calls the
//! kernel crate implements itself, which are counted as not hosted). Readiness, splice and
//! event files are in [`events`], sockets in [`sockets`], futex(2) in [`futex`].

mod events;
mod futex;
mod sockets;

pub use futex::{SPACE as FUTEX_SPACE, interrupt as futex_interrupt, run_woken as futex_run_woken};

use crate::Report;
use crate::input::{Access, Arg, Op, SCRATCH_BASE, SCRATCH_LEN, SPECIAL, STRINGS};
use crate::world::{PID, Process, USER_SP, World, with_file_io};
use linux_raw_sys::general as linux;
use oxv_abi::linux::fs::Pollfd;
use oxv_abi::linux::signal::SigSet;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, Syscall, SyscallArgs, UserMemory, UserPtr};
use oxv_mm::MmapArgs;
use oxv_sched::syscalls as sched;
use oxv_vfs::device::memory::ZERO_DEVICE;
use oxv_vfs::fake::FakeBlocker;
use oxv_vfs::syscalls as fs;
use oxv_vfs::{Blocker, FdTable, FileKind, FsContext};
use std::sync::Arc;

/// What a routed call did to the fd table, for the fd-table check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FdEffect {
    /// The call must leave the set of open fds as it was.
    None,
    /// A new fd was allocated: the lowest free one at or above `min`.
    Allocated {
        /// The lowest fd it could have been.
        min: i32,
    },
    /// A fd was installed at a chosen number (dup2, dup3).
    Installed(i32),
    /// A fd was closed.
    Closed(i32),
    /// Two new fds were allocated (pipe, pipe2): the two lowest free ones.
    Pair,
    /// Every fd in `first..=last` was closed (close_range without `CLOSE_RANGE_CLOEXEC`).
    ClosedRange {
        /// The first fd of the range.
        first: u32,
        /// The last fd of the range.
        last: u32,
    },
    /// Any number of fds received (recvmsg's `SCM_RIGHTS`): each the lowest free one, none
    /// closed.
    Received,
}

/// The outcome of one operation, for the checks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The handler's result (`None` for operations that are not system calls, or calls not
    /// hosted here).
    pub result: Option<SysResult>,
    /// What happened to the fd table.
    pub fds: FdEffect,
}

impl Effect {
    const NOTHING: Effect = Effect {
        result: None,
        fds: FdEffect::None,
    };
}

fn resolve(world: &World, a: &Arg) -> u64 {
    match *a {
        Arg::Raw(v) => v,
        Arg::Small(v) => v as i64 as u64,
        Arg::U32(v) => v as u64,
        Arg::Scratch(o) => SCRATCH_BASE + o as u64,
        Arg::Result(k) => {
            let results = &world.proc.results;
            results
                .len()
                .checked_sub(1 + k as usize)
                .map_or(0, |i| results[i])
        }
        Arg::Special(k) => SPECIAL[k as usize % SPECIAL.len()],
        Arg::Vma(i, pages) => {
            let n = world.mm.vmas().count();
            if n == 0 {
                0
            } else {
                let v = world
                    .mm
                    .vmas()
                    .nth(i as usize % n)
                    .expect("index below the count");
                v.start() + pages as u64 * 4096
            }
        }
        Arg::Size(b) if b < 64 => 1u64 << b,
        Arg::Size(b) => (b as u64 - 64) * 4096,
    }
}

/// Applies `op` to `world`; returns what the checks need to know, or a violation found while
/// applying it.
pub fn apply(world: &mut World, op: &Op, report: &mut Report) -> Result<Effect, String> {
    match op {
        Op::Syscall { nr, args } => {
            let regs = args.map(|a| resolve(world, &a));
            let effect = syscall(world, *nr as u64, regs, report);
            world.proc.tick();
            Ok(effect)
        }
        Op::Raw { nr, args } => {
            let effect = syscall(world, *nr, *args, report);
            world.proc.tick();
            Ok(effect)
        }
        Op::Poke { off, bytes } => {
            poke(world, *off, bytes);
            Ok(Effect::NOTHING)
        }
        Op::PokeStr { off, idx } => {
            let mut s = STRINGS[*idx as usize % STRINGS.len()].to_vec();
            s.push(0);
            poke(world, *off, &s);
            Ok(Effect::NOTHING)
        }
        Op::Touch { addr, access } => {
            let addr = resolve(world, addr);
            let access = match access {
                Access::Read => oxv_mm::Access::Read,
                Access::Write => oxv_mm::Access::Write,
                Access::Execute => oxv_mm::Access::Execute,
            };
            report.faults += 1;
            // A failure is the app's SIGSEGV/SIGBUS, a fine outcome; the checks look at what
            // the fault left behind.
            let _ = world.with_mm(|mm, plat| mm.handle_fault(addr, access, plat));
            Ok(Effect::NOTHING)
        }
    }
}

/// The kernel writes into scratch (an initialized buffer the app prepared), whatever the
/// region's protection is now; nothing happens if the range is no longer mapped.
fn poke(world: &mut World, off: u16, bytes: &[u8]) {
    let off = off as u64 % SCRATCH_LEN;
    let len = (bytes.len() as u64).min(SCRATCH_LEN - off) as usize;
    let _ = world.with_mm(|mm, plat| mm.write_bytes(SCRATCH_BASE + off, &bytes[..len], plat));
}

fn syscall(world: &mut World, nr: u64, regs: [u64; 6], report: &mut Report) -> Effect {
    let call = Syscall::decode(&SyscallArgs::new(nr, regs));
    let fds = fd_effect(&call);
    let result = dispatch(world, &call);
    match result {
        Some(r) => {
            report.calls += 1;
            if r.is_err() {
                report.errors += 1;
            }
            world.proc.results.push(oxv_abi::errno::encode_result(r));
        }
        None => {
            report.not_hosted += 1;
            world.proc.results.push(0);
        }
    }
    Effect {
        result,
        fds: match result {
            Some(Ok(_)) => fds,
            _ => FdEffect::None,
        },
    }
}

/// What a successful `call` does to the fd table.
fn fd_effect(call: &Syscall) -> FdEffect {
    use Syscall as S;
    match *call {
        S::Open { .. }
        | S::Openat { .. }
        | S::Openat2 { .. }
        | S::Creat { .. }
        | S::Dup { .. }
        | S::InotifyInit
        | S::InotifyInit1 { .. }
        | S::Eventfd { .. }
        | S::Eventfd2 { .. }
        | S::EpollCreate { .. }
        | S::EpollCreate1 { .. }
        | S::MemfdCreate { .. }
        | S::TimerfdCreate { .. }
        | S::Signalfd { fd: -1, .. }
        | S::Signalfd4 { fd: -1, .. }
        | S::Socket { .. }
        | S::Accept { .. }
        | S::Accept4 { .. } => FdEffect::Allocated { min: 0 },
        S::Fcntl { cmd, arg, .. } if cmd == linux::F_DUPFD || cmd == linux::F_DUPFD_CLOEXEC => {
            FdEffect::Allocated {
                min: (arg as u32 as i32).max(0),
            }
        }
        S::Dup2 { newfd, .. } | S::Dup3 { newfd, .. } => FdEffect::Installed(newfd),
        S::Close { fd } => FdEffect::Closed(fd),
        S::Pipe { .. } | S::Pipe2 { .. } | S::Socketpair { .. } => FdEffect::Pair,
        S::Recvmsg { .. } | S::Recvmmsg { .. } => FdEffect::Received,
        S::CloseRange { first, last, flags } if flags & fs::dup::CLOSE_RANGE_CLOEXEC == 0 => {
            FdEffect::ClosedRange { first, last }
        }
        _ => FdEffect::None,
    }
}

/// Routes `call` to its handler; `None` if the kernel crate answers it itself.
fn dispatch(world: &mut World, call: &Syscall) -> Option<SysResult> {
    use Syscall as S;
    if let Some(r) = world.with_mem(|mem, p| route_files(&p.cx, &p.files, mem, &p.blocker, call)) {
        return Some(r);
    }
    Some(match *call {
        // Memory (oxv-mm), through the kernel's thin wrappers
        // (crates/kernel/src/syscall/memory.rs).
        S::Mmap {
            addr,
            length,
            prot,
            flags,
            fd,
            offset,
        } => mmap(world, addr.get(), length, prot, flags, fd, offset),
        S::Munmap { addr, length } => {
            world.with_mm(|mm, plat| mm.munmap(addr.get(), length as u64, plat).map(|()| 0))
        }
        S::Mprotect { addr, len, prot } => {
            if prot > u32::MAX as u64 {
                Err(Errno::EINVAL)
            } else {
                world.with_mm(|mm, plat| {
                    mm.mprotect(addr.get(), len as u64, prot as u32, plat)
                        .map(|()| 0)
                })
            }
        }
        S::Brk { addr } => world.with_mm(|mm, plat| Ok(mm.brk(addr.get(), plat) as usize)),
        _ => {
            return world.with_mem(|mem, p| {
                events::route(p, mem, call)
                    .or_else(|| sockets::route(p, mem, call))
                    .or_else(|| futex::route(&mut p.threads, mem, call))
                    .or_else(|| route_process(p, mem, call))
            });
        }
    })
}

/// Signals, time and limits (oxv-sched), with the kernel's arms.
fn route_process(p: &mut Process, mem: &mut dyn UserMemory, call: &Syscall) -> Option<SysResult> {
    use Syscall as S;
    Some(match *call {
        S::RtSigaction {
            signum,
            act,
            oldact,
            sigsetsize,
        } => {
            let st = &mut p.signals;
            sched::rt_sigaction(
                &mut st.actions,
                &mut st.thread,
                mem,
                signum,
                act,
                oldact,
                sigsetsize,
            )
        }
        S::RtSigprocmask {
            how,
            set,
            oldset,
            sigsetsize,
        } => sched::rt_sigprocmask(&mut p.signals.thread, mem, how, set, oldset, sigsetsize),
        S::Sigaltstack { ss, old_ss } => {
            sched::sigaltstack(&mut p.signals.thread, mem, ss, old_ss, USER_SP)
        }
        S::ClockGettime { clockid, tp } => {
            let now = p.rdtsc();
            sched::clock_gettime(&p.clock, now, now / 2, mem, clockid, tp)
        }
        S::ClockGetres { clockid, res } => sched::clock_getres(mem, clockid, res),
        S::Gettimeofday { tv, tz } => {
            let now = p.rdtsc();
            sched::gettimeofday(&p.clock, now, mem, tv, tz)
        }
        S::Time { tloc } => {
            let now = p.rdtsc();
            sched::time(&p.clock, now, mem, tloc)
        }
        S::Nanosleep { req, rem } => {
            let now = p.rdtsc();
            sched::nanosleep(&p.clock, now, &p.sleeper, mem, req, rem)
        }
        S::ClockNanosleep {
            clockid,
            flags,
            request,
            remain,
        } => {
            let now = p.rdtsc();
            sched::clock_nanosleep(
                &p.clock, now, &p.sleeper, mem, clockid, flags, request, remain,
            )
        }
        S::Getrlimit { resource, rlim } => sched::getrlimit(&p.limits, mem, resource, rlim),
        S::Setrlimit { resource, rlim } => sched::setrlimit(&mut p.limits, mem, resource, rlim),
        S::Prlimit64 {
            pid,
            resource,
            new_limit,
            old_limit,
        } => sched::prlimit64(&mut p.limits, mem, pid, resource, new_limit, old_limit, PID),
        S::Ppoll {
            fds,
            nfds,
            tmo_p,
            sigmask,
            sigsetsize,
        } => ppoll(p, mem, fds, nfds, tmo_p, sigmask, sigsetsize),
        S::SchedYield => Ok(0),
        // The kernel crate answers everything else itself (process identity, kill,
        // uname, getrandom, arch_prctl, prctl, madvise, ...), or it is ENOSYS there.
        _ => return None,
    })
}

/// mmap(2) as `crates/kernel/src/syscall/memory.rs` does it (since c1d1c7e, which fixed
/// bug 3 of docs/robustness.md: file contents were never mapped).
fn mmap(
    world: &mut World,
    addr: u64,
    length: usize,
    prot: u64,
    flags: u64,
    fd: i32,
    offset: u64,
) -> SysResult {
    oxv_mm::aspace::map::check_offset(offset)?;
    let flags = flags as u32;
    let mut args = MmapArgs::anonymous(addr, length as u64, prot as u32, flags);
    if flags & linux::MAP_ANONYMOUS == 0 {
        let file = world.proc.files.get(fd)?;
        if !file.is_readable() {
            return Err(Errno::EACCES);
        }
        let meta = file.stat()?;
        if meta.kind == FileKind::CharDevice && meta.rdev == ZERO_DEVICE {
            // A private map of /dev/zero is anonymous memory; `args` already says so.
        } else if meta.kind == FileKind::Regular {
            let source = world.proc.map_source(file).ok_or(Errno::ENODEV)?;
            args = MmapArgs::file(addr, length as u64, prot as u32, flags, source, offset);
        } else {
            return Err(Errno::ENODEV);
        }
    }
    world.with_mm(|mm, plat| mm.mmap(args, plat).map(|a| a as usize))
}

/// Puts a call's temporary signal mask in place (ppoll, pselect6, epoll_pwait), as
/// `crates/kernel/src/syscall/signal.rs` does; returns the mask to restore.
fn swap_in_mask(
    p: &mut Process,
    mem: &dyn UserMemory,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> Result<Option<SigSet>, Errno> {
    if sigmask.is_null() {
        return Ok(None);
    }
    if sigsetsize != core::mem::size_of::<SigSet>() {
        return Err(Errno::EINVAL);
    }
    let new = sigmask.read(mem)?;
    let old = p.signals.blocked();
    p.signals.set_blocked(new.blockable());
    Ok(Some(old))
}

/// Puts back the mask [`swap_in_mask`] replaced (at once: no handler runs here).
fn restore_mask(p: &mut Process, saved: Option<SigSet>) {
    if let Some(old) = saved {
        p.signals.set_blocked(old);
    }
}

/// ppoll(2) as `crates/kernel/src/syscall/signal.rs` does it: the timeout first, then the
/// temporary mask for the call.
fn ppoll(
    p: &mut Process,
    mem: &mut dyn UserMemory,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    tmo: UserPtr<Timespec>,
    sigmask: UserPtr<SigSet>,
    sigsetsize: usize,
) -> SysResult {
    let rel = fs::poll::ppoll_timeout(mem, tmo)?;
    let saved = swap_in_mask(p, mem, sigmask, sigsetsize)?;
    let r = fs::poll::ppoll_with_timeout(&p.files, mem, &p.blocker, fds, nfds, tmo, rel);
    restore_mask(p, saved);
    r
}

/// The blocker as the handlers that keep it take it (a clone shares the fake's state).
fn shared(blocker: &FakeBlocker) -> Arc<dyn Blocker> {
    Arc::new(blocker.clone())
}

/// The file calls (oxv-vfs), with the arms of the kernel's dispatch.
#[allow(clippy::too_many_lines)]
fn route_files(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &FakeBlocker,
    call: &Syscall,
) -> Option<SysResult> {
    use Syscall as S;
    // A read or write holds the file's inode lock across its user copy: mark the inode so a
    // mapping of the same file faulting in under it is caught (bug 1 in docs/robustness.md).
    let io = |fd: i32, f: &mut dyn FnMut() -> SysResult| with_file_io(files, fd, f);
    Some(match *call {
        S::Read { fd, buf } => io(fd, &mut || fs::read_write::read(files, mem, fd, buf)),
        S::Write { fd, buf } => io(fd, &mut || fs::read_write::write(files, mem, fd, buf)),
        S::Pread64 { fd, buf, offset } => io(fd, &mut || {
            fs::read_write::pread64(files, mem, fd, buf, offset)
        }),
        S::Pwrite64 { fd, buf, offset } => io(fd, &mut || {
            fs::read_write::pwrite64(files, mem, fd, buf, offset)
        }),
        S::Readv { fd, iov, iovcnt } => io(fd, &mut || {
            fs::read_write::readv(files, mem, fd, iov, iovcnt)
        }),
        S::Writev { fd, iov, iovcnt } => io(fd, &mut || {
            fs::read_write::writev(files, mem, fd, iov, iovcnt)
        }),
        S::Preadv {
            fd,
            iov,
            iovcnt,
            offset,
        } => io(fd, &mut || {
            fs::read_write::preadv(files, mem, fd, iov, iovcnt, offset)
        }),
        S::Pwritev {
            fd,
            iov,
            iovcnt,
            offset,
        } => io(fd, &mut || {
            fs::read_write::pwritev(files, mem, fd, iov, iovcnt, offset)
        }),
        S::Getdents64 { fd, dirp } => {
            io(fd, &mut || fs::getdents::getdents64(files, mem, fd, dirp))
        }
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
        S::Openat2 {
            dirfd,
            pathname,
            how,
            size,
        } => fs::openat2::openat2(cx, files, mem, dirfd, pathname, how, size),
        S::Creat { pathname, mode } => fs::open::creat(cx, files, mem, pathname, mode),
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
        S::Fcntl { fd, cmd, arg } => {
            let caller = fs::lock::LockCaller { pid: PID, blocker };
            fs::lock::fcntl(cx, files, mem, caller, fd, cmd, arg)
        }
        S::Ioctl { fd, request, arg } => fs::ioctl::ioctl(files, mem, fd, request, arg),
        S::Umask { mask } => fs::umask::umask(cx, mask),
        S::Fsync { fd } => fs::truncate::fsync(files, fd),
        S::Fdatasync { fd } => fs::truncate::fdatasync(files, fd),
        S::Truncate { path, length } => fs::truncate::truncate(cx, files, mem, path, length),
        S::Ftruncate { fd, length } => fs::truncate::ftruncate(files, fd, length),
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
        S::Poll { fds, nfds, timeout } => fs::poll::poll(files, mem, blocker, fds, nfds, timeout),
        // An instance's reads block on the process's blocker, as the kernel's on its own.
        S::InotifyInit => fs::inotify::inotify_init(cx, files, &shared(blocker)),
        S::InotifyInit1 { flags } => fs::inotify::inotify_init1(cx, files, &shared(blocker), flags),
        S::InotifyAddWatch { fd, pathname, mask } => {
            fs::inotify::inotify_add_watch(cx, files, mem, fd, pathname, mask)
        }
        S::InotifyRmWatch { fd, wd } => fs::inotify::inotify_rm_watch(files, fd, wd),
        _ => return route_attributes(cx, files, mem, blocker, call),
    })
}

/// The rest of the file calls: attributes (mode, owner, times, xattrs), statfs, eventfd,
/// fallocate, sync, copy_file_range, pipes, close_range (oxv-vfs), with the kernel's arms.
#[allow(clippy::too_many_lines)]
fn route_attributes(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &FakeBlocker,
    call: &Syscall,
) -> Option<SysResult> {
    use Syscall as S;
    Some(match *call {
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
        S::Fchown { fd, owner, group } => fs::chown::fchown(cx, files, fd, owner, group),
        S::Fchownat {
            dirfd,
            pathname,
            owner,
            group,
            flags,
        } => fs::chown::fchownat(cx, files, mem, dirfd, pathname, owner, group, flags),
        S::Lchown {
            pathname,
            owner,
            group,
        } => fs::chown::lchown(cx, files, mem, pathname, owner, group),
        S::Statfs { path, buf } => fs::statfs::statfs(cx, files, mem, path, buf),
        S::Fstatfs { fd, buf } => fs::statfs::fstatfs(files, mem, fd, buf),
        S::Utime { filename, times } => fs::utimes::utime(cx, files, mem, filename, times),
        S::Utimes { filename, times } => fs::utimes::utimes(cx, files, mem, filename, times),
        S::Utimensat {
            dirfd,
            pathname,
            times,
            flags,
        } => fs::utimes::utimensat(cx, files, mem, dirfd, pathname, times, flags),
        S::Futimesat {
            dirfd,
            filename,
            times,
        } => fs::utimes::futimesat(cx, files, mem, dirfd, filename, times),
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
        S::Listxattr { pathname, list } => fs::xattr::listxattr(cx, files, mem, pathname, list),
        S::Llistxattr { pathname, list } => fs::xattr::llistxattr(cx, files, mem, pathname, list),
        S::Flistxattr { fd, list } => fs::xattr::flistxattr(cx, files, mem, fd, list),
        S::Removexattr { pathname, name } => fs::xattr::removexattr(cx, files, mem, pathname, name),
        S::Lremovexattr { pathname, name } => {
            fs::xattr::lremovexattr(cx, files, mem, pathname, name)
        }
        S::Fremovexattr { fd, name } => fs::xattr::fremovexattr(cx, files, mem, fd, name),
        S::Eventfd { initval } => fs::eventfd::eventfd(files, &shared(blocker), initval),
        S::Eventfd2 { initval, flags } => {
            fs::eventfd::eventfd2(files, &shared(blocker), initval, flags)
        }
        S::Fallocate {
            fd,
            mode,
            offset,
            len,
        } => fs::fallocate::fallocate(cx, files, fd, mode, offset, len),
        S::Pipe { pipefd } => fs::pipe::pipe(cx, files, mem, &shared(blocker), pipefd),
        S::Pipe2 { pipefd, flags } => {
            fs::pipe::pipe2(cx, files, mem, &shared(blocker), pipefd, flags)
        }
        S::CloseRange { first, last, flags } => fs::dup::close_range(files, first, last, flags),
        S::Sync => fs::sync::sync(cx),
        S::Syncfs { fd } => fs::sync::syncfs(files, fd),
        S::CopyFileRange {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => fs::sendfile::copy_file_range(files, mem, fd_in, off_in, fd_out, off_out, len, flags),
        _ => return None,
    })
}
