//! The per-call part of the strace formatter: which arguments each call shows, and how.

use super::names::*;
use super::{MAX_STRING, Printer};
use crate::linux::system::ArchPrctlCode;
use crate::linux::time::Timespec;
use crate::syscall::Syscall;
use crate::user::{PATH_MAX, UserAddr, UserCStr, UserPtr};
use core::fmt;
use linux_raw_sys::general as g;

/// msync(2) flags.
const MSYNC_FLAGS: Names = &[
    ("MS_ASYNC", g::MS_ASYNC as u64),
    ("MS_INVALIDATE", g::MS_INVALIDATE as u64),
    ("MS_SYNC", g::MS_SYNC as u64),
];

/// mlock2(2) flags.
const MLOCK2_FLAGS: Names = &[("MLOCK_ONFAULT", g::MLOCK_ONFAULT as u64)];

/// mlockall(2) flags.
const MLOCKALL_FLAGS: Names = &[
    ("MCL_CURRENT", g::MCL_CURRENT as u64),
    ("MCL_FUTURE", g::MCL_FUTURE as u64),
    ("MCL_ONFAULT", g::MCL_ONFAULT as u64),
];

/// epoll_create1(2) flags.
const EPOLL_CREATE_FLAGS: Names = &[("EPOLL_CLOEXEC", g::EPOLL_CLOEXEC as u64)];

/// epoll_ctl(2) operations.
const EPOLL_CTL_OPS: Names = &[
    ("EPOLL_CTL_ADD", g::EPOLL_CTL_ADD as u64),
    ("EPOLL_CTL_DEL", g::EPOLL_CTL_DEL as u64),
    ("EPOLL_CTL_MOD", g::EPOLL_CTL_MOD as u64),
];

/// epoll event bits and flags.
const EPOLL_EVENTS: Names = &[
    ("EPOLLIN", g::EPOLLIN as u64),
    ("EPOLLPRI", g::EPOLLPRI as u64),
    ("EPOLLOUT", g::EPOLLOUT as u64),
    ("EPOLLERR", g::EPOLLERR as u64),
    ("EPOLLHUP", g::EPOLLHUP as u64),
    ("EPOLLNVAL", g::EPOLLNVAL as u64),
    ("EPOLLRDNORM", g::EPOLLRDNORM as u64),
    ("EPOLLRDBAND", g::EPOLLRDBAND as u64),
    ("EPOLLWRNORM", g::EPOLLWRNORM as u64),
    ("EPOLLWRBAND", g::EPOLLWRBAND as u64),
    ("EPOLLMSG", g::EPOLLMSG as u64),
    ("EPOLLRDHUP", g::EPOLLRDHUP as u64),
    ("EPOLLEXCLUSIVE", g::EPOLLEXCLUSIVE as u64),
    ("EPOLLWAKEUP", g::EPOLLWAKEUP as u64),
    ("EPOLLONESHOT", g::EPOLLONESHOT as u64),
    ("EPOLLET", g::EPOLLET as u64),
];

/// eventfd2(2) flags.
const EFD_FLAGS: Names = &[
    ("EFD_SEMAPHORE", g::EFD_SEMAPHORE as u64),
    ("EFD_NONBLOCK", g::EFD_NONBLOCK as u64),
    ("EFD_CLOEXEC", g::EFD_CLOEXEC as u64),
];

/// timerfd_create(2) flags.
const TFD_FLAGS: Names = &[
    ("TFD_NONBLOCK", g::TFD_NONBLOCK as u64),
    ("TFD_CLOEXEC", g::TFD_CLOEXEC as u64),
];

/// timerfd_settime(2) flags.
const TFD_SETTIME_FLAGS: Names = &[
    ("TFD_TIMER_ABSTIME", g::TFD_TIMER_ABSTIME as u64),
    ("TFD_TIMER_CANCEL_ON_SET", g::TFD_TIMER_CANCEL_ON_SET as u64),
];

/// signalfd4(2) flags (`SFD_*` are the `O_*` values).
const SFD_FLAGS: Names = &[
    ("SFD_NONBLOCK", g::O_NONBLOCK as u64),
    ("SFD_CLOEXEC", g::O_CLOEXEC as u64),
];

/// close_range(2) flags: `CLOSE_RANGE_UNSHARE` and `CLOSE_RANGE_CLOEXEC` from
/// <linux/close_range.h>, which linux-raw-sys does not carry.
const CLOSE_RANGE_FLAGS: Names = &[
    ("CLOSE_RANGE_UNSHARE", 1 << 1),
    ("CLOSE_RANGE_CLOEXEC", 1 << 2),
];

/// memfd_create(2) flags.
const MFD_FLAGS: Names = &[
    ("MFD_CLOEXEC", g::MFD_CLOEXEC as u64),
    ("MFD_ALLOW_SEALING", g::MFD_ALLOW_SEALING as u64),
    ("MFD_HUGETLB", g::MFD_HUGETLB as u64),
    ("MFD_NOEXEC_SEAL", g::MFD_NOEXEC_SEAL as u64),
    ("MFD_EXEC", g::MFD_EXEC as u64),
];

impl Printer<'_> {
    fn futex(
        &mut self,
        uaddr: UserPtr<u32>,
        op: i32,
        val: u32,
        timeout: u64,
        uaddr2: UserPtr<u32>,
        val3: u32,
    ) -> fmt::Result {
        let cmd = (op & g::FUTEX_CMD_MASK) as u64;
        self.ptr(uaddr)?;
        self.sep()?;
        match lookup(FUTEX_CMDS, cmd) {
            Some(name) => {
                self.s(name)?;
                if op as u32 & g::FUTEX_PRIVATE_FLAG != 0 {
                    self.s("_PRIVATE")?;
                }
                if op as u32 & g::FUTEX_CLOCK_REALTIME != 0 {
                    self.s("|FUTEX_CLOCK_REALTIME")?;
                }
            }
            None => write!(self.out, "{:#x}", op as u32)?,
        }
        write!(self.out, ", {val}")?;
        let ts = UserPtr::<Timespec>::new(timeout);
        match cmd as u32 {
            g::FUTEX_WAKE => Ok(()),
            g::FUTEX_WAIT => {
                self.sep()?;
                self.timespec(ts)
            }
            g::FUTEX_WAIT_BITSET => {
                self.sep()?;
                self.timespec(ts)?;
                self.sep()?;
                self.bitset(val3)
            }
            g::FUTEX_WAKE_BITSET => {
                self.sep()?;
                self.bitset(val3)
            }
            g::FUTEX_REQUEUE => {
                write!(self.out, ", {}, ", timeout as u32)?;
                self.ptr(uaddr2)
            }
            g::FUTEX_CMP_REQUEUE => {
                write!(self.out, ", {}, ", timeout as u32)?;
                self.ptr(uaddr2)?;
                write!(self.out, ", {val3}")
            }
            _ => {
                self.sep()?;
                self.hex(timeout)?;
                self.sep()?;
                self.ptr(uaddr2)?;
                self.sep()?;
                self.hex(val3 as u64)
            }
        }
    }

    fn bitset(&mut self, v: u32) -> fmt::Result {
        if v == g::FUTEX_BITSET_MATCH_ANY {
            self.s("FUTEX_BITSET_MATCH_ANY")
        } else {
            self.hex(v as u64)
        }
    }

    fn fcntl(&mut self, fd: i32, cmd: u32, arg: u64) -> fmt::Result {
        self.dec(fd)?;
        self.sep()?;
        self.named(cmd as i64, FCNTL_CMDS)?;
        match cmd {
            g::F_GETFD
            | g::F_GETFL
            | g::F_GETOWN
            | g::F_GETSIG
            | g::F_GETLEASE
            | g::F_GETPIPE_SZ
            | g::F_GET_SEALS => Ok(()),
            g::F_SETFD => {
                self.sep()?;
                self.flags(arg as u32 as u64, FD_FLAGS, "0")
            }
            g::F_SETFL => {
                self.sep()?;
                self.open_flags(arg as u32)
            }
            g::F_DUPFD | g::F_DUPFD_CLOEXEC | g::F_SETOWN | g::F_SETSIG | g::F_SETPIPE_SZ => {
                self.sep()?;
                self.dec(arg as u32 as i32)
            }
            _ => {
                self.sep()?;
                self.hex(arg)
            }
        }
    }

    pub(super) fn call(&mut self, call: &Syscall) -> fmt::Result {
        if let Syscall::Unknown { nr, args } = call {
            match call.sysno() {
                Some(s) => self.s(s.name())?,
                None => write!(self.out, "syscall_{nr:#x}")?,
            }
            self.s("(")?;
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    self.sep()?;
                }
                self.hex(*a)?;
            }
            return self.s(")");
        }
        self.s(call.name())?;
        self.s("(")?;
        self.args(call)?;
        self.s(")")
    }

    fn args(&mut self, call: &Syscall) -> fmt::Result {
        use Syscall as S;
        match *call {
            S::Read { fd, buf } => {
                self.dec(fd)?;
                self.sep()?;
                self.out_buf(buf)?;
                write!(self.out, ", {}", buf.len)
            }
            S::Write { fd, buf } => {
                self.dec(fd)?;
                self.sep()?;
                self.bytes(buf.addr, buf.len)?;
                write!(self.out, ", {}", buf.len)
            }
            S::Pread64 { fd, buf, offset } => {
                self.dec(fd)?;
                self.sep()?;
                self.out_buf(buf)?;
                write!(self.out, ", {}, {offset}", buf.len)
            }
            S::Pwrite64 { fd, buf, offset } => {
                self.dec(fd)?;
                self.sep()?;
                self.bytes(buf.addr, buf.len)?;
                write!(self.out, ", {}, {offset}", buf.len)
            }
            S::Readv { fd, iov, iovcnt } => {
                self.dec(fd)?;
                self.sep()?;
                self.iovecs(iov, iovcnt, self.result)?;
                write!(self.out, ", {iovcnt}")
            }
            S::Writev { fd, iov, iovcnt } => {
                self.dec(fd)?;
                self.sep()?;
                self.iovecs(iov, iovcnt, Some(usize::MAX))?;
                write!(self.out, ", {iovcnt}")
            }
            S::Open {
                pathname,
                flags,
                mode,
            } => {
                self.path(pathname)?;
                self.sep()?;
                self.open_flags(flags)?;
                self.open_mode(flags, mode)
            }
            S::Openat {
                dirfd,
                pathname,
                flags,
                mode,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.open_flags(flags)?;
                self.open_mode(flags, mode)
            }
            S::Close { fd }
            | S::Fchdir { fd }
            | S::Dup { oldfd: fd }
            | S::Fsync { fd }
            | S::Fdatasync { fd }
            | S::Syncfs { fd } => self.dec(fd),
            S::Statfs { path, buf } => {
                self.path(path)?;
                self.sep()?;
                self.ptr(buf)
            }
            S::Fstatfs { fd, buf } => {
                self.dec(fd)?;
                self.sep()?;
                self.ptr(buf)
            }
            S::Mount {
                source,
                target,
                filesystemtype,
                mountflags,
                data,
            } => {
                self.path(source)?;
                self.sep()?;
                self.path(target)?;
                self.sep()?;
                self.path(filesystemtype)?;
                self.sep()?;
                self.hex(mountflags)?;
                self.sep()?;
                self.addr(data)
            }
            S::Umount2 { target, flags } => {
                self.path(target)?;
                self.sep()?;
                self.hex(flags as u32 as u64)
            }
            S::Clone {
                flags,
                stack,
                parent_tid,
                child_tid,
                tls,
            } => write!(
                self.out,
                "{flags:#x}, {:#x}, {:#x}, {:#x}, {tls:#x}",
                stack.get(),
                parent_tid.addr().get(),
                child_tid.addr().get()
            ),
            S::Clone3 { cl_args, size } => write!(self.out, "{:#x}, {size}", cl_args.addr().get()),
            S::RtSigpending { set, sigsetsize }
            | S::RtSigsuspend {
                mask: set,
                sigsetsize,
            } => {
                write!(self.out, "{:#x}, {sigsetsize}", set.addr().get())
            }
            S::RtSigtimedwait {
                set,
                info,
                timeout,
                sigsetsize,
            } => write!(
                self.out,
                "{:#x}, {:#x}, {:#x}, {sigsetsize}",
                set.addr().get(),
                info.addr().get(),
                timeout.addr().get()
            ),
            S::RtSigqueueinfo { tgid, sig, info } => {
                write!(self.out, "{tgid}, {sig}, {:#x}", info.addr().get())
            }
            S::RtTgsigqueueinfo {
                tgid,
                tid,
                sig,
                info,
            } => write!(self.out, "{tgid}, {tid}, {sig}, {:#x}", info.addr().get()),
            S::Pause => Ok(()),
            S::Getitimer { which, curr_value } => {
                write!(self.out, "{which}, {:#x}", curr_value.addr().get())
            }
            S::Setitimer {
                which,
                new_value,
                old_value,
            } => write!(
                self.out,
                "{which}, {:#x}, {:#x}",
                new_value.addr().get(),
                old_value.addr().get()
            ),
            S::Alarm { seconds } => write!(self.out, "{seconds}"),
            S::TimerCreate {
                clockid,
                sevp,
                timerid,
            } => write!(
                self.out,
                "{clockid}, {:#x}, {:#x}",
                sevp.addr().get(),
                timerid.addr().get()
            ),
            S::TimerSettime {
                timerid,
                flags,
                new_value,
                old_value,
            } => write!(
                self.out,
                "{timerid}, {flags}, {:#x}, {:#x}",
                new_value.addr().get(),
                old_value.addr().get()
            ),
            S::TimerGettime {
                timerid,
                curr_value,
            } => write!(self.out, "{timerid}, {:#x}", curr_value.addr().get()),
            S::TimerGetoverrun { timerid } | S::TimerDelete { timerid } => {
                write!(self.out, "{timerid}")
            }
            S::Getcpu { cpu, node } => write!(
                self.out,
                "{:#x}, {:#x}",
                cpu.addr().get(),
                node.addr().get()
            ),
            S::Getrusage { who, usage } => write!(self.out, "{who}, {:#x}", usage.addr().get()),
            S::Times { buf } => write!(self.out, "{:#x}", buf.addr().get()),
            S::SchedGetscheduler { pid } => write!(self.out, "{pid}"),
            S::SchedSetscheduler { pid, policy, param } => {
                write!(self.out, "{pid}, {policy}, {:#x}", param.addr().get())
            }
            S::SchedGetparam { pid, param } | S::SchedSetparam { pid, param } => {
                write!(self.out, "{pid}, {:#x}", param.addr().get())
            }
            S::SchedGetPriorityMax { policy } | S::SchedGetPriorityMin { policy } => {
                write!(self.out, "{policy}")
            }
            S::SchedRrGetInterval { pid, tp } => write!(self.out, "{pid}, {:#x}", tp.addr().get()),
            S::Getpriority { which, who } => write!(self.out, "{which}, {who}"),
            S::Setpriority { which, who, prio } => write!(self.out, "{which}, {who}, {prio}"),
            S::Ftruncate { fd, length } => {
                self.dec(fd)?;
                write!(self.out, ", {length}")
            }
            S::Truncate { path, length } => {
                self.path(path)?;
                write!(self.out, ", {length}")
            }
            S::Creat { pathname, mode } => {
                self.path(pathname)?;
                self.sep()?;
                self.mode(mode)
            }
            S::Link { oldpath, newpath } => {
                self.path(oldpath)?;
                self.sep()?;
                self.path(newpath)
            }
            S::Symlink { target, linkpath } => {
                self.path(target)?;
                self.sep()?;
                self.path(linkpath)
            }
            S::Linkat {
                olddirfd,
                oldpath,
                newdirfd,
                newpath,
                flags,
            } => {
                self.rename_pair(olddirfd, oldpath, newdirfd, newpath)?;
                write!(self.out, ", {flags:#x}")
            }
            S::Symlinkat {
                target,
                newdirfd,
                linkpath,
            } => {
                self.path(target)?;
                self.sep()?;
                self.dirfd(newdirfd)?;
                self.sep()?;
                self.path(linkpath)
            }
            S::Preadv {
                fd,
                iov,
                iovcnt,
                offset,
            } => {
                self.dec(fd)?;
                self.sep()?;
                self.iovecs(iov, iovcnt, self.result)?;
                write!(self.out, ", {iovcnt}, {offset}")
            }
            S::Pwritev {
                fd,
                iov,
                iovcnt,
                offset,
            } => {
                self.dec(fd)?;
                self.sep()?;
                self.iovecs(iov, iovcnt, Some(usize::MAX))?;
                write!(self.out, ", {iovcnt}, {offset}")
            }
            S::Stat { pathname, statbuf } | S::Lstat { pathname, statbuf } => {
                self.path(pathname)?;
                self.sep()?;
                self.ptr(statbuf)
            }
            S::Fstat { fd, statbuf } => {
                self.dec(fd)?;
                self.sep()?;
                self.ptr(statbuf)
            }
            S::Newfstatat {
                dirfd,
                pathname,
                statbuf,
                flags,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.ptr(statbuf)?;
                self.sep()?;
                self.flags(flags as u64, AT_STAT_FLAGS, "0")
            }
            S::Statx {
                dirfd,
                pathname,
                flags,
                mask,
                statxbuf,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.flags(flags as u64, AT_STATX_FLAGS, "AT_STATX_SYNC_AS_STAT")?;
                self.sep()?;
                self.flags(mask as u64, STATX_MASK, "0")?;
                self.sep()?;
                self.ptr(statxbuf)
            }
            S::Poll { fds, nfds, timeout } => {
                self.ptr(fds)?;
                write!(self.out, ", {nfds}, {timeout}")
            }
            S::Ppoll {
                fds,
                nfds,
                tmo_p,
                sigmask,
                sigsetsize,
            } => {
                self.ptr(fds)?;
                write!(self.out, ", {nfds}, ")?;
                self.timespec(tmo_p)?;
                self.sep()?;
                self.sigset_ptr(sigmask)?;
                write!(self.out, ", {sigsetsize}")
            }
            S::Lseek { fd, offset, whence } => {
                write!(self.out, "{fd}, {offset}, ")?;
                self.named(whence as i64, SEEK)
            }
            S::Mmap {
                addr,
                length,
                prot,
                flags,
                fd,
                offset,
            } => {
                self.addr(addr)?;
                write!(self.out, ", {length}, ")?;
                self.flags(prot, PROT, "PROT_NONE")?;
                self.sep()?;
                self.map_flags(flags)?;
                write!(self.out, ", {fd}, ")?;
                self.hex(offset)
            }
            S::Mprotect { addr, len, prot } => {
                self.addr(addr)?;
                write!(self.out, ", {len}, ")?;
                self.flags(prot, PROT, "PROT_NONE")
            }
            S::Munmap { addr, length } => {
                self.addr(addr)?;
                write!(self.out, ", {length}")
            }
            S::Mremap {
                old_address,
                old_size,
                new_size,
                flags,
                new_address,
            } => {
                self.addr(old_address)?;
                write!(self.out, ", {old_size}, {new_size}, ")?;
                self.flags(flags, MREMAP, "0")?;
                if flags & g::MREMAP_FIXED as u64 != 0 {
                    self.sep()?;
                    self.addr(new_address)?;
                }
                Ok(())
            }
            S::Madvise {
                addr,
                length,
                advice,
            } => {
                self.addr(addr)?;
                write!(self.out, ", {length}, ")?;
                self.named(advice as i64, MADV)
            }
            S::Brk { addr } => self.addr(addr),
            S::Msync {
                addr,
                length,
                flags,
            } => {
                self.addr(addr)?;
                write!(self.out, ", {length}, ")?;
                self.flags(flags as u32 as u64, MSYNC_FLAGS, "0")
            }
            S::Mincore { addr, length, vec } => {
                self.addr(addr)?;
                write!(self.out, ", {length}, ")?;
                self.addr(vec)
            }
            S::Mlock { addr, len } | S::Munlock { addr, len } => {
                self.addr(addr)?;
                write!(self.out, ", {len}")
            }
            S::Mlock2 { addr, len, flags } => {
                self.addr(addr)?;
                write!(self.out, ", {len}, ")?;
                self.flags(flags as u32 as u64, MLOCK2_FLAGS, "0")
            }
            S::Mlockall { flags } => self.flags(flags as u32 as u64, MLOCKALL_FLAGS, "0"),
            S::Munlockall => Ok(()),
            S::RtSigaction {
                signum,
                act,
                oldact,
                sigsetsize,
            } => {
                self.signal(signum)?;
                self.sep()?;
                self.sigaction(act)?;
                self.sep()?;
                match self.result {
                    Some(_) => self.sigaction(oldact)?,
                    None => self.ptr(oldact)?,
                }
                write!(self.out, ", {sigsetsize}")
            }
            S::RtSigprocmask {
                how,
                set,
                oldset,
                sigsetsize,
            } => {
                self.named(how as i64, SIGMASK_HOW)?;
                self.sep()?;
                self.sigset_ptr(set)?;
                self.sep()?;
                match self.result {
                    Some(_) => self.sigset_ptr(oldset)?,
                    None => self.ptr(oldset)?,
                }
                write!(self.out, ", {sigsetsize}")
            }
            S::RtSigreturn
            | S::Sync
            | S::SchedYield
            | S::Getpid
            | S::Getppid
            | S::Gettid
            | S::Getuid
            | S::Geteuid
            | S::Getgid
            | S::Getegid
            | S::Getpgrp => Ok(()),
            S::Sigaltstack { ss, old_ss } => {
                self.stack_t(ss)?;
                self.sep()?;
                match self.result {
                    Some(_) => self.stack_t(old_ss),
                    None => self.ptr(old_ss),
                }
            }
            S::Ioctl { fd, request, arg } => {
                self.dec(fd)?;
                self.sep()?;
                match lookup(IOCTLS, request as u64) {
                    Some(n) => self.s(n)?,
                    None => write!(self.out, "{request:#x}")?,
                }
                self.sep()?;
                self.hex(arg)
            }
            S::Access { pathname, mode } => {
                self.path(pathname)?;
                self.sep()?;
                self.flags(mode as u64, ACCESS_MODE, "F_OK")
            }
            S::Faccessat {
                dirfd,
                pathname,
                mode,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.flags(mode as u64, ACCESS_MODE, "F_OK")
            }
            S::Faccessat2 {
                dirfd,
                pathname,
                mode,
                flags,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.flags(mode as u64, ACCESS_MODE, "F_OK")?;
                self.sep()?;
                self.flags(flags as u64, AT_ACCESS_FLAGS, "0")
            }
            S::Pipe { pipefd } => self.pipefd(pipefd),
            S::Pipe2 { pipefd, flags } => {
                self.pipefd(pipefd)?;
                self.sep()?;
                self.flags(flags as u64, OPEN_FLAGS, "0")
            }
            S::Dup2 { oldfd, newfd } => write!(self.out, "{oldfd}, {newfd}"),
            S::Dup3 {
                oldfd,
                newfd,
                flags,
            } => {
                write!(self.out, "{oldfd}, {newfd}, ")?;
                self.flags(flags as u64, OPEN_FLAGS, "0")
            }
            S::Fcntl { fd, cmd, arg } => self.fcntl(fd, cmd, arg),
            S::Nanosleep { req, rem } => {
                self.timespec(req)?;
                self.sep()?;
                self.ptr(rem)
            }
            S::ClockNanosleep {
                clockid,
                flags,
                request,
                remain,
            } => {
                self.named(clockid as i64, CLOCKS)?;
                self.sep()?;
                self.flags(flags as u64, TIMER_FLAGS, "0")?;
                self.sep()?;
                self.timespec(request)?;
                self.sep()?;
                self.ptr(remain)
            }
            S::Exit { status } | S::ExitGroup { status } => self.dec(status),
            S::Uname { buf } => self.ptr(buf),
            S::Getcwd { buf } => {
                match self.result {
                    Some(_) => self.cstr(UserCStr(buf.addr), buf.len.min(PATH_MAX))?,
                    None => self.addr(buf.addr)?,
                }
                write!(self.out, ", {}", buf.len)
            }
            S::Chdir { path: p } | S::Rmdir { pathname: p } | S::Unlink { pathname: p } => {
                self.path(p)
            }
            S::Mkdir { pathname, mode } => {
                self.path(pathname)?;
                self.sep()?;
                self.mode(mode)
            }
            S::Mkdirat {
                dirfd,
                pathname,
                mode,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.mode(mode)
            }
            S::Unlinkat {
                dirfd,
                pathname,
                flags,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.flags(flags as u64, AT_UNLINK_FLAGS, "0")
            }
            S::Rename { oldpath, newpath } => {
                self.path(oldpath)?;
                self.sep()?;
                self.path(newpath)
            }
            S::Renameat {
                olddirfd,
                oldpath,
                newdirfd,
                newpath,
            } => self.rename_pair(olddirfd, oldpath, newdirfd, newpath),
            S::Renameat2 {
                olddirfd,
                oldpath,
                newdirfd,
                newpath,
                flags,
            } => {
                self.rename_pair(olddirfd, oldpath, newdirfd, newpath)?;
                self.sep()?;
                self.flags(flags as u64, RENAME_FLAGS, "0")
            }
            S::Readlink {
                pathname,
                buf,
                bufsiz,
            } => {
                self.path(pathname)?;
                self.sep()?;
                self.readlink_buf(buf, bufsiz)
            }
            S::Readlinkat {
                dirfd,
                pathname,
                buf,
                bufsiz,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.readlink_buf(buf, bufsiz)
            }
            S::Getdents64 { fd, dirp } => {
                self.dec(fd)?;
                self.sep()?;
                self.addr(dirp.addr)?;
                write!(self.out, ", {}", dirp.len)
            }
            S::Gettimeofday { tv, tz } => {
                self.ptr(tv)?;
                self.sep()?;
                self.ptr(tz)
            }
            S::Time { tloc } => self.ptr(tloc),
            S::ClockGettime { clockid, tp: t } | S::ClockGetres { clockid, res: t } => {
                self.named(clockid as i64, CLOCKS)?;
                self.sep()?;
                self.ptr(t)
            }
            S::Getrlimit { resource, rlim } => {
                self.named(resource as i64, RLIMITS)?;
                self.sep()?;
                match self.result {
                    Some(_) => self.rlimit(rlim),
                    None => self.ptr(rlim),
                }
            }
            S::Setrlimit { resource, rlim } => {
                self.named(resource as i64, RLIMITS)?;
                self.sep()?;
                self.rlimit(rlim)
            }
            S::Prlimit64 {
                pid,
                resource,
                new_limit,
                old_limit,
            } => {
                write!(self.out, "{pid}, ")?;
                self.named(resource as i64, RLIMITS)?;
                self.sep()?;
                self.rlimit(new_limit)?;
                self.sep()?;
                match self.result {
                    Some(_) => self.rlimit(old_limit),
                    None => self.ptr(old_limit),
                }
            }
            S::Sysinfo { info } => self.ptr(info),
            S::ArchPrctl { code, addr } => {
                match ArchPrctlCode::try_from(code) {
                    Ok(c) => self.s(c.name())?,
                    Err(_) => write!(self.out, "{code:#x}")?,
                }
                self.sep()?;
                self.hex(addr)
            }
            S::SetTidAddress { tidptr } => self.ptr(tidptr),
            S::SetRobustList { head, len } => {
                self.addr(head)?;
                write!(self.out, ", {len}")
            }
            S::GetRobustList {
                pid,
                head_ptr,
                len_ptr,
            } => {
                write!(self.out, "{pid}, ")?;
                self.ptr(head_ptr)?;
                self.sep()?;
                self.ptr(len_ptr)
            }
            S::Rseq {
                rseq,
                rseq_len,
                flags,
                sig,
            } => {
                self.addr(rseq)?;
                write!(self.out, ", {rseq_len:#x}, {flags}, {sig:#x}")
            }
            S::Futex {
                uaddr,
                futex_op,
                val,
                timeout,
                uaddr2,
                val3,
            } => self.futex(uaddr, futex_op, val, timeout, uaddr2, val3),
            S::FutexWaitv {
                waiters,
                nr_futexes,
                flags,
                timeout,
                clockid,
            } => {
                self.addr(waiters)?;
                write!(self.out, ", {nr_futexes}, {flags:#x}, ")?;
                self.ptr(timeout)?;
                self.sep()?;
                self.named(clockid as i64, CLOCKS)
            }
            S::SchedGetaffinity { pid, mask } | S::SchedSetaffinity { pid, mask } => {
                write!(self.out, "{pid}, {}, ", mask.len)?;
                self.addr(mask.addr)
            }
            S::Getrandom { buf, flags } => {
                self.out_buf(buf)?;
                write!(self.out, ", {}, ", buf.len)?;
                self.flags(flags as u64, GRND_FLAGS, "0")
            }
            S::Kill { pid: a, sig } | S::Tkill { tid: a, sig } => {
                write!(self.out, "{a}, ")?;
                self.signal(sig)
            }
            S::PidfdOpen { pid, flags } => write!(self.out, "{pid}, {flags:#x}"),
            S::PidfdSendSignal {
                pidfd,
                sig,
                info,
                flags,
            } => {
                write!(self.out, "{pidfd}, ")?;
                self.signal(sig)?;
                write!(self.out, ", {:#x}, {flags:#x}", info.addr().get())
            }
            S::PidfdGetfd {
                pidfd,
                targetfd,
                flags,
            } => write!(self.out, "{pidfd}, {targetfd}, {flags:#x}"),
            S::Tgkill { tgid, tid, sig } => {
                write!(self.out, "{tgid}, {tid}, ")?;
                self.signal(sig)
            }
            S::Umask { mask } => self.mode(mask),
            S::Getpgid { pid } | S::Getsid { pid } => self.dec(pid),
            S::Setpgid { pid, pgid } => {
                self.dec(pid)?;
                self.sep()?;
                self.dec(pgid)
            }
            S::Setsid | S::Fork | S::Vfork => Ok(()),
            S::Execve {
                pathname,
                argv,
                envp,
            } => {
                self.path(pathname)?;
                self.sep()?;
                self.addr(argv)?;
                self.sep()?;
                self.addr(envp)
            }
            S::Execveat {
                dirfd,
                pathname,
                argv,
                envp,
                flags,
            } => {
                self.dirfd(dirfd)?;
                self.sep()?;
                self.path(pathname)?;
                self.sep()?;
                self.addr(argv)?;
                self.sep()?;
                self.addr(envp)?;
                self.sep()?;
                self.hex(flags as u32 as u64)
            }
            S::Wait4 {
                pid,
                wstatus,
                options,
                rusage,
            } => {
                self.dec(pid)?;
                self.sep()?;
                self.addr(wstatus.addr())?;
                self.sep()?;
                self.hex(options as u32 as u64)?;
                self.sep()?;
                self.addr(rusage.addr())
            }
            S::Waitid {
                idtype,
                id,
                infop,
                options,
                rusage,
            } => {
                self.dec(idtype)?;
                self.sep()?;
                self.dec(id)?;
                self.sep()?;
                self.addr(infop.addr())?;
                self.sep()?;
                self.hex(options as u32 as u64)?;
                self.sep()?;
                self.addr(rusage.addr())
            }
            S::Prctl {
                option,
                arg2,
                arg3,
                arg4,
                arg5,
            } => {
                self.named(option as i64, PRCTL_OPTIONS)?;
                if option as u32 == linux_raw_sys::prctl::PR_SET_NAME {
                    self.sep()?;
                    return self.cstr(UserCStr::new(arg2), MAX_STRING);
                }
                for a in [arg2, arg3, arg4, arg5] {
                    self.sep()?;
                    self.hex(a)?;
                }
                Ok(())
            }
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
            | S::Getsockopt { .. } => self.socket_args(call).unwrap_or(Ok(())),
            S::Select { .. }
            | S::Pselect6 { .. }
            | S::EpollCreate { .. }
            | S::EpollCreate1 { .. }
            | S::EpollCtl { .. }
            | S::EpollWait { .. }
            | S::EpollPwait { .. }
            | S::EpollPwait2 { .. }
            | S::Eventfd { .. }
            | S::Eventfd2 { .. }
            | S::TimerfdCreate { .. }
            | S::TimerfdSettime { .. }
            | S::TimerfdGettime { .. }
            | S::Signalfd { .. }
            | S::Signalfd4 { .. }
            | S::CloseRange { .. }
            | S::MemfdCreate { .. } => self.readiness_args(call),
            S::Flock { .. }
            | S::Chmod { .. }
            | S::Fchmod { .. }
            | S::Fchmodat { .. }
            | S::Fchmodat2 { .. }
            | S::Chown { .. }
            | S::Fchown { .. }
            | S::Lchown { .. }
            | S::Fchownat { .. }
            | S::Utime { .. }
            | S::Utimes { .. }
            | S::Futimesat { .. }
            | S::Utimensat { .. }
            | S::Setxattr { .. }
            | S::Lsetxattr { .. }
            | S::Fsetxattr { .. }
            | S::Getxattr { .. }
            | S::Lgetxattr { .. }
            | S::Fgetxattr { .. }
            | S::Listxattr { .. }
            | S::Llistxattr { .. }
            | S::Flistxattr { .. }
            | S::Removexattr { .. }
            | S::Lremovexattr { .. }
            | S::Fremovexattr { .. }
            | S::Sendfile { .. }
            | S::CopyFileRange { .. }
            | S::Splice { .. }
            | S::Tee { .. }
            | S::Vmsplice { .. }
            | S::Fallocate { .. }
            | S::Openat2 { .. }
            | S::InotifyInit
            | S::InotifyInit1 { .. }
            | S::InotifyAddWatch { .. }
            | S::InotifyRmWatch { .. } => self.file_args(call).unwrap_or(Ok(())),
            S::Unknown { .. } => Ok(()),
        }
    }

    /// The arguments of the readiness and event-file calls (epoll, select, eventfd, timerfd,
    /// signalfd) and of close_range and memfd_create; nothing for any other call.
    fn readiness_args(&mut self, call: &Syscall) -> fmt::Result {
        use Syscall as S;
        match *call {
            S::Select {
                nfds,
                readfds,
                writefds,
                exceptfds,
                timeout,
            } => self.select_args(nfds, [readfds, writefds, exceptfds], timeout.addr(), None),
            S::Pselect6 {
                nfds,
                readfds,
                writefds,
                exceptfds,
                timeout,
                sigmask,
            } => self.select_args(
                nfds,
                [readfds, writefds, exceptfds],
                timeout.addr(),
                Some(sigmask),
            ),
            S::EpollCreate { size } => self.dec(size),
            S::EpollCreate1 { flags } => self.flags(flags as u64, EPOLL_CREATE_FLAGS, "0"),
            S::EpollCtl {
                epfd,
                op,
                fd,
                event,
            } => self.epoll_ctl(epfd, op, fd, event),
            S::EpollWait {
                epfd,
                events,
                maxevents,
                timeout,
            } => {
                write!(self.out, "{epfd}, ")?;
                self.addr(events)?;
                write!(self.out, ", {maxevents}, {timeout}")
            }
            S::EpollPwait {
                epfd,
                events,
                maxevents,
                timeout,
                sigmask,
                sigsetsize,
            } => {
                write!(self.out, "{epfd}, ")?;
                self.addr(events)?;
                write!(self.out, ", {maxevents}, {timeout}, ")?;
                self.sigset_ptr(sigmask)?;
                write!(self.out, ", {sigsetsize}")
            }
            S::EpollPwait2 {
                epfd,
                events,
                maxevents,
                timeout,
                sigmask,
                sigsetsize,
            } => {
                write!(self.out, "{epfd}, ")?;
                self.addr(events)?;
                write!(self.out, ", {maxevents}, ")?;
                self.timespec(timeout)?;
                self.sep()?;
                self.sigset_ptr(sigmask)?;
                write!(self.out, ", {sigsetsize}")
            }
            S::Eventfd { initval } => self.dec(initval),
            S::Eventfd2 { initval, flags } => {
                write!(self.out, "{initval}, ")?;
                self.flags(flags as u64, EFD_FLAGS, "0")
            }
            S::TimerfdCreate { clockid, flags } => {
                self.named(clockid as i64, CLOCKS)?;
                self.sep()?;
                self.flags(flags as u64, TFD_FLAGS, "0")
            }
            S::TimerfdSettime {
                fd,
                flags,
                new_value,
                old_value,
            } => {
                write!(self.out, "{fd}, ")?;
                self.flags(flags as u32 as u64, TFD_SETTIME_FLAGS, "0")?;
                self.sep()?;
                self.ptr(new_value)?;
                self.sep()?;
                self.ptr(old_value)
            }
            S::TimerfdGettime { fd, curr_value } => {
                write!(self.out, "{fd}, ")?;
                self.ptr(curr_value)
            }
            S::Signalfd { fd, mask, sizemask } => {
                write!(self.out, "{fd}, ")?;
                self.sigset_ptr(mask)?;
                write!(self.out, ", {sizemask}")
            }
            S::Signalfd4 {
                fd,
                mask,
                sizemask,
                flags,
            } => {
                write!(self.out, "{fd}, ")?;
                self.sigset_ptr(mask)?;
                write!(self.out, ", {sizemask}, ")?;
                self.flags(flags as u64, SFD_FLAGS, "0")
            }
            S::CloseRange { first, last, flags } => {
                write!(self.out, "{first}, ")?;
                if last == u32::MAX {
                    self.s("~0U")?;
                } else {
                    self.dec(last)?;
                }
                self.sep()?;
                self.flags(flags as u64, CLOSE_RANGE_FLAGS, "0")
            }
            S::MemfdCreate { name, flags } => {
                self.cstr(name, MAX_STRING)?;
                self.sep()?;
                self.flags(flags as u64, MFD_FLAGS, "0")
            }
            _ => Ok(()),
        }
    }

    fn select_args(
        &mut self,
        nfds: i32,
        sets: [UserAddr; 3],
        timeout: UserAddr,
        sigmask: Option<UserAddr>,
    ) -> fmt::Result {
        self.dec(nfds)?;
        for set in sets {
            self.sep()?;
            self.addr(set)?;
        }
        self.sep()?;
        match sigmask {
            None => self.addr(timeout),
            Some(m) => {
                self.timespec(UserPtr::new(timeout.get()))?;
                self.sep()?;
                self.addr(m)
            }
        }
    }

    fn epoll_ctl(&mut self, epfd: i32, op: i32, fd: i32, event: UserAddr) -> fmt::Result {
        write!(self.out, "{epfd}, ")?;
        self.named(op as i64, EPOLL_CTL_OPS)?;
        write!(self.out, ", {fd}, ")?;
        // struct epoll_event is packed: events (u32) then data (u64), 12 bytes.
        let mut raw = [0u8; 12];
        if event.is_null() || self.mem.copy_in(event, &mut raw).is_err() {
            return self.addr(event);
        }
        let events = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let data = u64::from_le_bytes(raw[4..].try_into().expect("8 bytes"));
        self.s("{events=")?;
        self.flags(events as u64, EPOLL_EVENTS, "0")?;
        write!(self.out, ", data={data:#x}}}")
    }

    /// open(2)'s mode argument, shown only when the flags make the kernel use it.
    fn open_mode(&mut self, flags: u32, mode: u32) -> fmt::Result {
        let tmpfile = flags & g::O_TMPFILE == g::O_TMPFILE;
        if flags & g::O_CREAT != 0 || tmpfile {
            self.sep()?;
            self.mode(mode)?;
        }
        Ok(())
    }

    fn map_flags(&mut self, flags: u64) -> fmt::Result {
        let ty = flags & g::MAP_TYPE as u64;
        match lookup(MAP_TYPES, ty) {
            Some(n) => self.s(n)?,
            None => write!(self.out, "{ty:#x}")?,
        }
        let rest = flags & !(g::MAP_TYPE as u64);
        if rest != 0 {
            self.s("|")?;
            self.flags(rest, MAP_FLAGS, "0")?;
        }
        Ok(())
    }

    pub(super) fn pipefd(&mut self, p: UserPtr<[i32; 2]>) -> fmt::Result {
        match (self.result, p.read(self.mem)) {
            (Some(_), Ok([r, w])) => write!(self.out, "[{r}, {w}]"),
            _ => self.ptr(p),
        }
    }

    fn rename_pair(
        &mut self,
        olddirfd: i32,
        oldpath: UserCStr,
        newdirfd: i32,
        newpath: UserCStr,
    ) -> fmt::Result {
        self.dirfd(olddirfd)?;
        self.sep()?;
        self.path(oldpath)?;
        self.sep()?;
        self.dirfd(newdirfd)?;
        self.sep()?;
        self.path(newpath)
    }

    fn readlink_buf(&mut self, buf: UserAddr, bufsiz: i32) -> fmt::Result {
        match self.result {
            Some(n) => self.bytes(buf, n)?,
            None => self.addr(buf)?,
        }
        write!(self.out, ", {bufsiz}")
    }
}
