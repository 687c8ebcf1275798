//! Typed decoding of raw system-call registers.
//!
//! A system call arrives as seven registers: the number in `rax`, the arguments in `rdi`,
//! `rsi`, `rdx`, `r10`, `r8`, `r9` ([`SyscallArgs`]). [`Syscall::decode`] turns them into a
//! [`Syscall`] whose fields have the types the kernel's `SYSCALL_DEFINE` gives them. Decoding
//! never fails and never touches memory: pointers become [`UserPtr`]/[`UserBuf`]/[`UserCStr`]
//! allegations, checked only when a handler copies through them, and flag words stay raw for
//! the handler to validate in the order Linux does. Numbers nobody decodes yet are
//! [`Syscall::Unknown`], which the kernel answers with `ENOSYS`.
//!
//! Truncation follows Linux exactly, because an app may leave garbage in the high half of a
//! register that holds an `int`:
//! - the syscall number is the low 32 bits of `rax`, read as an `int` (Linux's entry code
//!   sign-extends `eax`), so `rax = 0x1_0000_0000` is `read` there as here;
//! - `int` and `unsigned int` arguments (fds, dirfds, signal numbers, most flags) are the low
//!   32 bits: an fd is an `i32`, so `rdi = 0xffff_ffff` is fd `-1` (`EBADF`);
//! - `long`/`size_t`/pointer arguments keep all 64 bits.
//!
//! Field names are the argument names of the man pages.

use crate::linux::fs::{Iovec, Pollfd, Stat, Statfs, Statx};
use crate::linux::net::{MmsgHdr, MsgHdr};
use crate::linux::process::CloneArgs;
use crate::linux::sigframe::SigInfo;
use crate::linux::signal::{KernelSigaction, SigSet, StackT};
use crate::linux::system::{Rlimit64, Sysinfo, Utsname};
use crate::linux::time::{Timespec, Timeval, Timezone};
use crate::linux::timer::{Itimerspec, Itimerval, Rusage, SchedParam, Sigevent, Tms};
use crate::user::{UserAddr, UserBuf, UserCStr, UserPtr};

/// The Linux x86_64 system-call numbers (from the `syscalls` crate), re-exported so that
/// users of this crate need no direct dependency on it.
pub use syscalls::Sysno;

/// The registers of one system call, as the entry code saved them.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct SyscallArgs {
    /// `rax`: the system call number.
    pub nr: u64,
    /// `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`.
    pub args: [u64; 6],
}

impl SyscallArgs {
    /// Bundles a number and its arguments.
    pub const fn new(nr: u64, args: [u64; 6]) -> Self {
        SyscallArgs { nr, args }
    }
}

/// The system call a raw `rax` selects, as Linux reads it: the low 32 bits, sign-extended.
pub const fn sysno_of(nr: u64) -> Option<Sysno> {
    let n = nr as u32 as i32;
    if n < 0 { None } else { Sysno::new(n as usize) }
}

/// An `int` or `unsigned int` argument: the low 32 bits, as the kernel reads it.
const fn int(r: u64) -> i32 {
    r as u32 as i32
}

/// An `unsigned int` argument.
const fn uint(r: u64) -> u32 {
    r as u32
}

/// A `umode_t` argument: the low 16 bits.
const fn umode(r: u64) -> u32 {
    r as u16 as u32
}

const fn ptr<T>(r: u64) -> UserPtr<T> {
    UserPtr::new(r)
}

const fn addr(r: u64) -> UserAddr {
    UserAddr::new(r)
}

const fn cstr(r: u64) -> UserCStr {
    UserCStr::new(r)
}

const fn buf(p: u64, len: u64) -> UserBuf {
    UserBuf::new(p, len)
}

macro_rules! syscall_table {
    (
        args = $a:ident;
        $(
            $(#[$doc:meta])*
            $sysno:ident => $variant:ident $({
                $( $field:ident : $ty:ty = $conv:expr ),* $(,)?
            })?
        ),* $(,)?
    ) => {
        /// A decoded system call: one variant per call oxv decodes, named after it, with the
        /// arguments typed as the kernel types them. Built by [`Syscall::decode`].
        #[derive(Copy, Clone, PartialEq, Eq, Debug)]
        pub enum Syscall {
            $(
                #[doc = concat!("`", stringify!($sysno), "(2)`.")]
                $(#[$doc])*
                $variant $({
                    $(
                        #[doc = concat!("The `", stringify!($field), "` argument.")]
                        $field: $ty,
                    )*
                })?,
            )*
            /// A call oxv does not decode (the kernel answers `ENOSYS`), with its raw
            /// registers for tracing. `nr` is `rax` unmodified.
            Unknown {
                /// `rax` as the app passed it.
                nr: u64,
                /// The six argument registers.
                args: [u64; 6],
            },
        }

        impl Syscall {
            /// Decodes the registers of a system call. Never fails, never reads memory.
            pub fn decode(regs: &SyscallArgs) -> Syscall {
                let $a = &regs.args;
                match sysno_of(regs.nr) {
                    $(
                        Some(Sysno::$sysno) => Syscall::$variant $({ $( $field: $conv ),* })?,
                    )*
                    _ => Syscall::Unknown { nr: regs.nr, args: regs.args },
                }
            }

            /// The call's number; for [`Syscall::Unknown`], the number if Linux defines one.
            pub fn sysno(&self) -> Option<Sysno> {
                match self {
                    $( Syscall::$variant { .. } => Some(Sysno::$sysno), )*
                    Syscall::Unknown { nr, .. } => sysno_of(*nr),
                }
            }

            /// The call's Linux name (`"openat"`); `"unknown"` for numbers Linux does not
            /// define.
            pub fn name(&self) -> &'static str {
                match self.sysno() {
                    Some(s) => s.name(),
                    None => "unknown",
                }
            }

            /// The system calls [`Syscall::decode`] turns into a variant other than
            /// [`Syscall::Unknown`].
            pub const DECODED: &'static [Sysno] = &[$(Sysno::$sysno),*];
        }
    };
}

syscall_table! {
    args = a;
    read => Read { fd: i32 = int(a[0]), buf: UserBuf = buf(a[1], a[2]) },
    write => Write { fd: i32 = int(a[0]), buf: UserBuf = buf(a[1], a[2]) },
    open => Open { pathname: UserCStr = cstr(a[0]), flags: u32 = uint(a[1]), mode: u32 = uint(a[2]) },
    close => Close { fd: i32 = int(a[0]) },
    stat => Stat { pathname: UserCStr = cstr(a[0]), statbuf: UserPtr<Stat> = ptr(a[1]) },
    fstat => Fstat { fd: i32 = int(a[0]), statbuf: UserPtr<Stat> = ptr(a[1]) },
    lstat => Lstat { pathname: UserCStr = cstr(a[0]), statbuf: UserPtr<Stat> = ptr(a[1]) },
    /// `fds` points to the first of `nfds` entries.
    poll => Poll { fds: UserPtr<Pollfd> = ptr(a[0]), nfds: u32 = uint(a[1]), timeout: i32 = int(a[2]) },
    lseek => Lseek { fd: i32 = int(a[0]), offset: i64 = a[1] as i64, whence: u32 = uint(a[2]) },
    /// `fd` is the low 32 bits (ignored with `MAP_ANONYMOUS`); `offset` must be page-aligned.
    mmap => Mmap {
        addr: UserAddr = addr(a[0]),
        length: usize = a[1] as usize,
        prot: u64 = a[2],
        flags: u64 = a[3],
        fd: i32 = int(a[4]),
        offset: u64 = a[5],
    },
    mprotect => Mprotect { addr: UserAddr = addr(a[0]), len: usize = a[1] as usize, prot: u64 = a[2] },
    munmap => Munmap { addr: UserAddr = addr(a[0]), length: usize = a[1] as usize },
    brk => Brk { addr: UserAddr = addr(a[0]) },
    rt_sigaction => RtSigaction {
        signum: i32 = int(a[0]),
        act: UserPtr<KernelSigaction> = ptr(a[1]),
        oldact: UserPtr<KernelSigaction> = ptr(a[2]),
        sigsetsize: usize = a[3] as usize,
    },
    rt_sigprocmask => RtSigprocmask {
        how: i32 = int(a[0]),
        set: UserPtr<SigSet> = ptr(a[1]),
        oldset: UserPtr<SigSet> = ptr(a[2]),
        sigsetsize: usize = a[3] as usize,
    },
    /// Takes no arguments: the frame is found from the user stack pointer.
    rt_sigreturn => RtSigreturn,
    /// `request` is the `unsigned int` command; `arg` is a pointer or a value, per request.
    ioctl => Ioctl { fd: i32 = int(a[0]), request: u32 = uint(a[1]), arg: u64 = a[2] },
    pread64 => Pread64 { fd: i32 = int(a[0]), buf: UserBuf = buf(a[1], a[2]), offset: i64 = a[3] as i64 },
    pwrite64 => Pwrite64 { fd: i32 = int(a[0]), buf: UserBuf = buf(a[1], a[2]), offset: i64 = a[3] as i64 },
    /// `iov` points to the first of `iovcnt` entries; `iovcnt` is an `unsigned long`.
    readv => Readv { fd: i32 = int(a[0]), iov: UserPtr<Iovec> = ptr(a[1]), iovcnt: u64 = a[2] },
    /// `iov` points to the first of `iovcnt` entries; `iovcnt` is an `unsigned long`.
    writev => Writev { fd: i32 = int(a[0]), iov: UserPtr<Iovec> = ptr(a[1]), iovcnt: u64 = a[2] },
    access => Access { pathname: UserCStr = cstr(a[0]), mode: u32 = uint(a[1]) },
    pipe => Pipe { pipefd: UserPtr<[i32; 2]> = ptr(a[0]) },
    sched_yield => SchedYield,
    mremap => Mremap {
        old_address: UserAddr = addr(a[0]),
        old_size: usize = a[1] as usize,
        new_size: usize = a[2] as usize,
        flags: u64 = a[3],
        new_address: UserAddr = addr(a[4]),
    },
    msync => Msync { addr: UserAddr = addr(a[0]), length: usize = a[1] as usize, flags: i32 = int(a[2]) },
    /// `vec` receives one byte per page of the range.
    mincore => Mincore { addr: UserAddr = addr(a[0]), length: usize = a[1] as usize, vec: UserAddr = addr(a[2]) },
    madvise => Madvise { addr: UserAddr = addr(a[0]), length: usize = a[1] as usize, advice: i32 = int(a[2]) },
    dup => Dup { oldfd: i32 = int(a[0]) },
    dup2 => Dup2 { oldfd: i32 = int(a[0]), newfd: i32 = int(a[1]) },
    nanosleep => Nanosleep { req: UserPtr<Timespec> = ptr(a[0]), rem: UserPtr<Timespec> = ptr(a[1]) },
    getpid => Getpid,
    /// `type_` is socket(2)'s `type`: the socket type, with `SOCK_NONBLOCK`/`SOCK_CLOEXEC`.
    socket => Socket { domain: i32 = int(a[0]), type_: i32 = int(a[1]), protocol: i32 = int(a[2]) },
    /// `addr` points to `addrlen` bytes of a socket address.
    connect => Connect { sockfd: i32 = int(a[0]), addr: UserAddr = addr(a[1]), addrlen: i32 = int(a[2]) },
    /// `addrlen` points to the `int` size of `addr`'s buffer (both may be null).
    accept => Accept { sockfd: i32 = int(a[0]), addr: UserAddr = addr(a[1]), addrlen: UserPtr<i32> = ptr(a[2]) },
    /// `dest_addr` may be null (a connected socket).
    sendto => Sendto {
        sockfd: i32 = int(a[0]),
        buf: UserBuf = buf(a[1], a[2]),
        flags: u32 = uint(a[3]),
        dest_addr: UserAddr = addr(a[4]),
        addrlen: i32 = int(a[5]),
    },
    /// `src_addr` and `addrlen` may be null.
    recvfrom => Recvfrom {
        sockfd: i32 = int(a[0]),
        buf: UserBuf = buf(a[1], a[2]),
        flags: u32 = uint(a[3]),
        src_addr: UserAddr = addr(a[4]),
        addrlen: UserPtr<i32> = ptr(a[5]),
    },
    sendmsg => Sendmsg { sockfd: i32 = int(a[0]), msg: UserPtr<MsgHdr> = ptr(a[1]), flags: u32 = uint(a[2]) },
    recvmsg => Recvmsg { sockfd: i32 = int(a[0]), msg: UserPtr<MsgHdr> = ptr(a[1]), flags: u32 = uint(a[2]) },
    shutdown => Shutdown { sockfd: i32 = int(a[0]), how: i32 = int(a[1]) },
    bind => Bind { sockfd: i32 = int(a[0]), addr: UserAddr = addr(a[1]), addrlen: i32 = int(a[2]) },
    listen => Listen { sockfd: i32 = int(a[0]), backlog: i32 = int(a[1]) },
    getsockname => Getsockname { sockfd: i32 = int(a[0]), addr: UserAddr = addr(a[1]), addrlen: UserPtr<i32> = ptr(a[2]) },
    getpeername => Getpeername { sockfd: i32 = int(a[0]), addr: UserAddr = addr(a[1]), addrlen: UserPtr<i32> = ptr(a[2]) },
    /// `sv` receives the two fds.
    socketpair => Socketpair {
        domain: i32 = int(a[0]),
        type_: i32 = int(a[1]),
        protocol: i32 = int(a[2]),
        sv: UserPtr<[i32; 2]> = ptr(a[3]),
    },
    /// `optval` points to `optlen` bytes.
    setsockopt => Setsockopt {
        sockfd: i32 = int(a[0]),
        level: i32 = int(a[1]),
        optname: i32 = int(a[2]),
        optval: UserAddr = addr(a[3]),
        optlen: i32 = int(a[4]),
    },
    /// `optlen` points to the `int` size of `optval`'s buffer.
    getsockopt => Getsockopt {
        sockfd: i32 = int(a[0]),
        level: i32 = int(a[1]),
        optname: i32 = int(a[2]),
        optval: UserAddr = addr(a[3]),
        optlen: UserPtr<i32> = ptr(a[4]),
    },
    exit => Exit { status: i32 = int(a[0]) },
    kill => Kill { pid: i32 = int(a[0]), sig: i32 = int(a[1]) },
    uname => Uname { buf: UserPtr<Utsname> = ptr(a[0]) },
    /// `cmd` is the `unsigned int` command; `arg` is an int, a pointer or unused, per command.
    fcntl => Fcntl { fd: i32 = int(a[0]), cmd: u32 = uint(a[1]), arg: u64 = a[2] },
    getcwd => Getcwd { buf: UserBuf = buf(a[0], a[1]) },
    chdir => Chdir { path: UserCStr = cstr(a[0]) },
    fchdir => Fchdir { fd: i32 = int(a[0]) },
    rename => Rename { oldpath: UserCStr = cstr(a[0]), newpath: UserCStr = cstr(a[1]) },
    mkdir => Mkdir { pathname: UserCStr = cstr(a[0]), mode: u32 = uint(a[1]) },
    rmdir => Rmdir { pathname: UserCStr = cstr(a[0]) },
    unlink => Unlink { pathname: UserCStr = cstr(a[0]) },
    /// `bufsiz` is an `int`: Linux answers `EINVAL` when it is `<= 0`.
    readlink => Readlink { pathname: UserCStr = cstr(a[0]), buf: UserAddr = addr(a[1]), bufsiz: i32 = int(a[2]) },
    umask => Umask { mask: u32 = uint(a[0]) },
    gettimeofday => Gettimeofday { tv: UserPtr<Timeval> = ptr(a[0]), tz: UserPtr<Timezone> = ptr(a[1]) },
    getrlimit => Getrlimit { resource: u32 = uint(a[0]), rlim: UserPtr<Rlimit64> = ptr(a[1]) },
    sysinfo => Sysinfo { info: UserPtr<Sysinfo> = ptr(a[0]) },
    getuid => Getuid,
    getgid => Getgid,
    geteuid => Geteuid,
    getegid => Getegid,
    getppid => Getppid,
    getpgrp => Getpgrp,
    getpgid => Getpgid { pid: i32 = int(a[0]) },
    getsid => Getsid { pid: i32 = int(a[0]) },
    setpgid => Setpgid { pid: i32 = int(a[0]), pgid: i32 = int(a[1]) },
    setsid => Setsid,
    fork => Fork,
    vfork => Vfork,
    /// `argv` and `envp` are NULL-terminated arrays of string pointers (either may be null).
    execve => Execve { pathname: UserCStr = cstr(a[0]), argv: UserAddr = addr(a[1]), envp: UserAddr = addr(a[2]) },
    execveat => Execveat {
        dirfd: i32 = int(a[0]),
        pathname: UserCStr = cstr(a[1]),
        argv: UserAddr = addr(a[2]),
        envp: UserAddr = addr(a[3]),
        flags: i32 = int(a[4]),
    },
    wait4 => Wait4 { pid: i32 = int(a[0]), wstatus: UserPtr<i32> = ptr(a[1]), options: i32 = int(a[2]), rusage: UserPtr<Rusage> = ptr(a[3]) },
    /// `idtype` is `P_ALL`, `P_PID`, `P_PGID` or `P_PIDFD`; `infop` receives a `siginfo_t`.
    waitid => Waitid {
        idtype: i32 = int(a[0]),
        id: i32 = int(a[1]),
        infop: UserPtr<SigInfo> = ptr(a[2]),
        options: i32 = int(a[3]),
        rusage: UserPtr<Rusage> = ptr(a[4]),
    },
    sigaltstack => Sigaltstack { ss: UserPtr<StackT> = ptr(a[0]), old_ss: UserPtr<StackT> = ptr(a[1]) },
    setrlimit => Setrlimit { resource: u32 = uint(a[0]), rlim: UserPtr<Rlimit64> = ptr(a[1]) },
    /// `option` selects the meaning of the four `unsigned long` arguments.
    prctl => Prctl { option: i32 = int(a[0]), arg2: u64 = a[1], arg3: u64 = a[2], arg4: u64 = a[3], arg5: u64 = a[4] },
    /// `addr` is a value for the `SET` codes and an `unsigned long *` for the `GET` codes.
    arch_prctl => ArchPrctl { code: u32 = uint(a[0]), addr: u64 = a[1] },
    gettid => Gettid,
    tkill => Tkill { tid: i32 = int(a[0]), sig: i32 = int(a[1]) },
    /// `tloc` may be null.
    time => Time { tloc: UserPtr<i64> = ptr(a[0]) },
    /// `timeout` is a `struct timespec *` for the wait operations and the `u32` `val2` for the
    /// requeue operations, so it stays raw.
    futex => Futex {
        uaddr: UserPtr<u32> = ptr(a[0]),
        futex_op: i32 = int(a[1]),
        val: u32 = uint(a[2]),
        timeout: u64 = a[3],
        uaddr2: UserPtr<u32> = ptr(a[4]),
        val3: u32 = uint(a[5]),
    },
    /// `waiters` is an array of `nr_futexes` `struct futex_waitv`; `timeout` (may be null)
    /// is an absolute time on `clockid`.
    futex_waitv => FutexWaitv {
        waiters: UserAddr = addr(a[0]),
        nr_futexes: u32 = uint(a[1]),
        flags: u32 = uint(a[2]),
        timeout: UserPtr<Timespec> = ptr(a[3]),
        clockid: i32 = int(a[4]),
    },
    /// `mask` is the `(user_mask_ptr, len)` pair; `len` is an `unsigned int`.
    sched_setaffinity => SchedSetaffinity { pid: i32 = int(a[0]), mask: UserBuf = buf(a[2], uint(a[1]) as u64) },
    /// `mask` is the `(user_mask_ptr, len)` pair; `len` is an `unsigned int`.
    sched_getaffinity => SchedGetaffinity { pid: i32 = int(a[0]), mask: UserBuf = buf(a[2], uint(a[1]) as u64) },
    /// `dirp` is the buffer; its length is an `unsigned int` in the kernel.
    fsync => Fsync { fd: i32 = int(a[0]) },
    fdatasync => Fdatasync { fd: i32 = int(a[0]) },
    sync => Sync,
    syncfs => Syncfs { fd: i32 = int(a[0]) },
    statfs => Statfs { path: UserCStr = cstr(a[0]), buf: UserPtr<Statfs> = ptr(a[1]) },
    fstatfs => Fstatfs { fd: i32 = int(a[0]), buf: UserPtr<Statfs> = ptr(a[1]) },
    /// `flags` is an `unsigned long`; `data` the options page, or a struct for some types.
    mount => Mount {
        source: UserCStr = cstr(a[0]),
        target: UserCStr = cstr(a[1]),
        filesystemtype: UserCStr = cstr(a[2]),
        mountflags: u64 = a[3],
        data: UserAddr = addr(a[4]),
    },
    umount2 => Umount2 { target: UserCStr = cstr(a[0]), flags: i32 = int(a[1]) },
    truncate => Truncate { path: UserCStr = cstr(a[0]), length: i64 = a[1] as i64 },
    ftruncate => Ftruncate { fd: i32 = int(a[0]), length: i64 = a[1] as i64 },
    creat => Creat { pathname: UserCStr = cstr(a[0]), mode: u32 = uint(a[1]) },
    link => Link { oldpath: UserCStr = cstr(a[0]), newpath: UserCStr = cstr(a[1]) },
    symlink => Symlink { target: UserCStr = cstr(a[0]), linkpath: UserCStr = cstr(a[1]) },
    linkat => Linkat {
        olddirfd: i32 = int(a[0]),
        oldpath: UserCStr = cstr(a[1]),
        newdirfd: i32 = int(a[2]),
        newpath: UserCStr = cstr(a[3]),
        flags: u32 = uint(a[4]),
    },
    symlinkat => Symlinkat { target: UserCStr = cstr(a[0]), newdirfd: i32 = int(a[1]), linkpath: UserCStr = cstr(a[2]) },
    preadv => Preadv { fd: i32 = int(a[0]), iov: UserPtr<Iovec> = ptr(a[1]), iovcnt: u64 = a[2], offset: i64 = a[3] as i64 },
    pwritev => Pwritev { fd: i32 = int(a[0]), iov: UserPtr<Iovec> = ptr(a[1]), iovcnt: u64 = a[2], offset: i64 = a[3] as i64 },
    clone => Clone {
        flags: u64 = a[0],
        stack: UserAddr = addr(a[1]),
        parent_tid: UserPtr<i32> = ptr(a[2]),
        child_tid: UserPtr<i32> = ptr(a[3]),
        tls: u64 = a[4],
    },
    clone3 => Clone3 { cl_args: UserPtr<CloneArgs> = ptr(a[0]), size: usize = a[1] as usize },
    rt_sigpending => RtSigpending { set: UserPtr<SigSet> = ptr(a[0]), sigsetsize: usize = a[1] as usize },
    rt_sigsuspend => RtSigsuspend { mask: UserPtr<SigSet> = ptr(a[0]), sigsetsize: usize = a[1] as usize },
    rt_sigtimedwait => RtSigtimedwait {
        set: UserPtr<SigSet> = ptr(a[0]),
        info: UserPtr<SigInfo> = ptr(a[1]),
        timeout: UserPtr<Timespec> = ptr(a[2]),
        sigsetsize: usize = a[3] as usize,
    },
    pidfd_open => PidfdOpen { pid: i32 = int(a[0]), flags: u32 = uint(a[1]) },
    pidfd_send_signal => PidfdSendSignal { pidfd: i32 = int(a[0]), sig: i32 = int(a[1]), info: UserPtr<SigInfo> = ptr(a[2]), flags: u32 = uint(a[3]) },
    pidfd_getfd => PidfdGetfd { pidfd: i32 = int(a[0]), targetfd: i32 = int(a[1]), flags: u32 = uint(a[2]) },
    rt_sigqueueinfo => RtSigqueueinfo { tgid: i32 = int(a[0]), sig: i32 = int(a[1]), info: UserPtr<SigInfo> = ptr(a[2]) },
    rt_tgsigqueueinfo => RtTgsigqueueinfo {
        tgid: i32 = int(a[0]),
        tid: i32 = int(a[1]),
        sig: i32 = int(a[2]),
        info: UserPtr<SigInfo> = ptr(a[3]),
    },
    pause => Pause,
    getitimer => Getitimer { which: i32 = int(a[0]), curr_value: UserPtr<Itimerval> = ptr(a[1]) },
    setitimer => Setitimer {
        which: i32 = int(a[0]),
        new_value: UserPtr<Itimerval> = ptr(a[1]),
        old_value: UserPtr<Itimerval> = ptr(a[2]),
    },
    alarm => Alarm { seconds: u32 = uint(a[0]) },
    timer_create => TimerCreate {
        clockid: i32 = int(a[0]),
        sevp: UserPtr<Sigevent> = ptr(a[1]),
        timerid: UserPtr<i32> = ptr(a[2]),
    },
    timer_settime => TimerSettime {
        timerid: i32 = int(a[0]),
        flags: i32 = int(a[1]),
        new_value: UserPtr<Itimerspec> = ptr(a[2]),
        old_value: UserPtr<Itimerspec> = ptr(a[3]),
    },
    timer_gettime => TimerGettime { timerid: i32 = int(a[0]), curr_value: UserPtr<Itimerspec> = ptr(a[1]) },
    timer_getoverrun => TimerGetoverrun { timerid: i32 = int(a[0]) },
    timer_delete => TimerDelete { timerid: i32 = int(a[0]) },
    getcpu => Getcpu { cpu: UserPtr<u32> = ptr(a[0]), node: UserPtr<u32> = ptr(a[1]) },
    getrusage => Getrusage { who: i32 = int(a[0]), usage: UserPtr<Rusage> = ptr(a[1]) },
    times => Times { buf: UserPtr<Tms> = ptr(a[0]) },
    sched_getscheduler => SchedGetscheduler { pid: i32 = int(a[0]) },
    sched_setscheduler => SchedSetscheduler { pid: i32 = int(a[0]), policy: i32 = int(a[1]), param: UserPtr<SchedParam> = ptr(a[2]) },
    sched_getparam => SchedGetparam { pid: i32 = int(a[0]), param: UserPtr<SchedParam> = ptr(a[1]) },
    sched_setparam => SchedSetparam { pid: i32 = int(a[0]), param: UserPtr<SchedParam> = ptr(a[1]) },
    sched_get_priority_max => SchedGetPriorityMax { policy: i32 = int(a[0]) },
    sched_get_priority_min => SchedGetPriorityMin { policy: i32 = int(a[0]) },
    sched_rr_get_interval => SchedRrGetInterval { pid: i32 = int(a[0]), tp: UserPtr<Timespec> = ptr(a[1]) },
    mlock => Mlock { addr: UserAddr = addr(a[0]), len: usize = a[1] as usize },
    munlock => Munlock { addr: UserAddr = addr(a[0]), len: usize = a[1] as usize },
    mlockall => Mlockall { flags: i32 = int(a[0]) },
    munlockall => Munlockall,
    getpriority => Getpriority { which: i32 = int(a[0]), who: i32 = int(a[1]) },
    setpriority => Setpriority { which: i32 = int(a[0]), who: i32 = int(a[1]), prio: i32 = int(a[2]) },
    getdents64 => Getdents64 { fd: i32 = int(a[0]), dirp: UserBuf = buf(a[1], uint(a[2]) as u64) },
    set_tid_address => SetTidAddress { tidptr: UserPtr<i32> = ptr(a[0]) },
    clock_gettime => ClockGettime { clockid: i32 = int(a[0]), tp: UserPtr<Timespec> = ptr(a[1]) },
    clock_getres => ClockGetres { clockid: i32 = int(a[0]), res: UserPtr<Timespec> = ptr(a[1]) },
    clock_nanosleep => ClockNanosleep {
        clockid: i32 = int(a[0]),
        flags: u32 = uint(a[1]),
        request: UserPtr<Timespec> = ptr(a[2]),
        remain: UserPtr<Timespec> = ptr(a[3]),
    },
    exit_group => ExitGroup { status: i32 = int(a[0]) },
    tgkill => Tgkill { tgid: i32 = int(a[0]), tid: i32 = int(a[1]), sig: i32 = int(a[2]) },
    openat => Openat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), flags: u32 = uint(a[2]), mode: u32 = uint(a[3]) },
    mkdirat => Mkdirat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mode: u32 = uint(a[2]) },
    newfstatat => Newfstatat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), statbuf: UserPtr<Stat> = ptr(a[2]), flags: u32 = uint(a[3]) },
    unlinkat => Unlinkat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), flags: u32 = uint(a[2]) },
    renameat => Renameat { olddirfd: i32 = int(a[0]), oldpath: UserCStr = cstr(a[1]), newdirfd: i32 = int(a[2]), newpath: UserCStr = cstr(a[3]) },
    /// `bufsiz` is an `int`: Linux answers `EINVAL` when it is `<= 0`.
    readlinkat => Readlinkat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), buf: UserAddr = addr(a[2]), bufsiz: i32 = int(a[3]) },
    faccessat => Faccessat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mode: u32 = uint(a[2]) },
    /// `fds` points to the first of `nfds` entries; `tmo_p` and `sigmask` may be null.
    ppoll => Ppoll {
        fds: UserPtr<Pollfd> = ptr(a[0]),
        nfds: u32 = uint(a[1]),
        tmo_p: UserPtr<Timespec> = ptr(a[2]),
        sigmask: UserPtr<SigSet> = ptr(a[3]),
        sigsetsize: usize = a[4] as usize,
    },
    /// `head` points to a `struct robust_list_head` of `len` bytes.
    set_robust_list => SetRobustList { head: UserAddr = addr(a[0]), len: usize = a[1] as usize },
    get_robust_list => GetRobustList { pid: i32 = int(a[0]), head_ptr: UserPtr<u64> = ptr(a[1]), len_ptr: UserPtr<u64> = ptr(a[2]) },
    accept4 => Accept4 {
        sockfd: i32 = int(a[0]),
        addr: UserAddr = addr(a[1]),
        addrlen: UserPtr<i32> = ptr(a[2]),
        flags: i32 = int(a[3]),
    },
    dup3 => Dup3 { oldfd: i32 = int(a[0]), newfd: i32 = int(a[1]), flags: u32 = uint(a[2]) },
    pipe2 => Pipe2 { pipefd: UserPtr<[i32; 2]> = ptr(a[0]), flags: u32 = uint(a[1]) },
    /// `msgvec` points to `vlen` entries; `timeout` may be null.
    recvmmsg => Recvmmsg {
        sockfd: i32 = int(a[0]),
        msgvec: UserPtr<MmsgHdr> = ptr(a[1]),
        vlen: u32 = uint(a[2]),
        flags: u32 = uint(a[3]),
        timeout: UserPtr<Timespec> = ptr(a[4]),
    },
    prlimit64 => Prlimit64 {
        pid: i32 = int(a[0]),
        resource: u32 = uint(a[1]),
        new_limit: UserPtr<Rlimit64> = ptr(a[2]),
        old_limit: UserPtr<Rlimit64> = ptr(a[3]),
    },
    /// `msgvec` points to `vlen` entries.
    sendmmsg => Sendmmsg { sockfd: i32 = int(a[0]), msgvec: UserPtr<MmsgHdr> = ptr(a[1]), vlen: u32 = uint(a[2]), flags: u32 = uint(a[3]) },
    renameat2 => Renameat2 {
        olddirfd: i32 = int(a[0]),
        oldpath: UserCStr = cstr(a[1]),
        newdirfd: i32 = int(a[2]),
        newpath: UserCStr = cstr(a[3]),
        flags: u32 = uint(a[4]),
    },
    getrandom => Getrandom { buf: UserBuf = buf(a[0], a[1]), flags: u32 = uint(a[2]) },
    mlock2 => Mlock2 { addr: UserAddr = addr(a[0]), len: usize = a[1] as usize, flags: i32 = int(a[2]) },
    statx => Statx {
        dirfd: i32 = int(a[0]),
        pathname: UserCStr = cstr(a[1]),
        flags: u32 = uint(a[2]),
        mask: u32 = uint(a[3]),
        statxbuf: UserPtr<Statx> = ptr(a[4]),
    },
    /// `rseq` points to a `struct rseq` of `rseq_len` bytes; `sig` is the abort signature.
    rseq => Rseq { rseq: UserAddr = addr(a[0]), rseq_len: u32 = uint(a[1]), flags: u32 = uint(a[2]), sig: u32 = uint(a[3]) },
    faccessat2 => Faccessat2 { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mode: u32 = uint(a[2]), flags: u32 = uint(a[3]) },
    /// The fd sets are `fd_set` bit arrays of `nfds` bits (null: no set); `timeout` may be
    /// null.
    select => Select {
        nfds: i32 = int(a[0]),
        readfds: UserAddr = addr(a[1]),
        writefds: UserAddr = addr(a[2]),
        exceptfds: UserAddr = addr(a[3]),
        timeout: UserPtr<Timeval> = ptr(a[4]),
    },
    /// `sigmask` points to `{ const sigset_t *ss; size_t ss_len; }` (may be null).
    pselect6 => Pselect6 {
        nfds: i32 = int(a[0]),
        readfds: UserAddr = addr(a[1]),
        writefds: UserAddr = addr(a[2]),
        exceptfds: UserAddr = addr(a[3]),
        timeout: UserPtr<Timespec> = ptr(a[4]),
        sigmask: UserAddr = addr(a[5]),
    },
    epoll_create => EpollCreate { size: i32 = int(a[0]) },
    epoll_create1 => EpollCreate1 { flags: u32 = uint(a[0]) },
    /// `event` points to a packed 12-byte `struct epoll_event` (ignored for `EPOLL_CTL_DEL`).
    epoll_ctl => EpollCtl { epfd: i32 = int(a[0]), op: i32 = int(a[1]), fd: i32 = int(a[2]), event: UserAddr = addr(a[3]) },
    /// `events` receives up to `maxevents` packed `struct epoll_event`s.
    epoll_wait => EpollWait { epfd: i32 = int(a[0]), events: UserAddr = addr(a[1]), maxevents: i32 = int(a[2]), timeout: i32 = int(a[3]) },
    epoll_pwait => EpollPwait {
        epfd: i32 = int(a[0]),
        events: UserAddr = addr(a[1]),
        maxevents: i32 = int(a[2]),
        timeout: i32 = int(a[3]),
        sigmask: UserPtr<SigSet> = ptr(a[4]),
        sigsetsize: usize = a[5] as usize,
    },
    epoll_pwait2 => EpollPwait2 {
        epfd: i32 = int(a[0]),
        events: UserAddr = addr(a[1]),
        maxevents: i32 = int(a[2]),
        timeout: UserPtr<Timespec> = ptr(a[3]),
        sigmask: UserPtr<SigSet> = ptr(a[4]),
        sigsetsize: usize = a[5] as usize,
    },
    eventfd => Eventfd { initval: u32 = uint(a[0]) },
    eventfd2 => Eventfd2 { initval: u32 = uint(a[0]), flags: u32 = uint(a[1]) },
    timerfd_create => TimerfdCreate { clockid: i32 = int(a[0]), flags: u32 = uint(a[1]) },
    timerfd_settime => TimerfdSettime {
        fd: i32 = int(a[0]),
        flags: i32 = int(a[1]),
        new_value: UserPtr<Itimerspec> = ptr(a[2]),
        old_value: UserPtr<Itimerspec> = ptr(a[3]),
    },
    timerfd_gettime => TimerfdGettime { fd: i32 = int(a[0]), curr_value: UserPtr<Itimerspec> = ptr(a[1]) },
    signalfd => Signalfd { fd: i32 = int(a[0]), mask: UserPtr<SigSet> = ptr(a[1]), sizemask: usize = a[2] as usize },
    signalfd4 => Signalfd4 { fd: i32 = int(a[0]), mask: UserPtr<SigSet> = ptr(a[1]), sizemask: usize = a[2] as usize, flags: u32 = uint(a[3]) },
    close_range => CloseRange { first: u32 = uint(a[0]), last: u32 = uint(a[1]), flags: u32 = uint(a[2]) },
    memfd_create => MemfdCreate { name: UserCStr = cstr(a[0]), flags: u32 = uint(a[1]) },
    flock => Flock { fd: i32 = int(a[0]), operation: u32 = uint(a[1]) },
    /// `mode` is a `umode_t`: the low 16 bits, as the kernel reads it.
    chmod => Chmod { pathname: UserCStr = cstr(a[0]), mode: u32 = umode(a[1]) },
    /// `mode` is a `umode_t`: the low 16 bits.
    fchmod => Fchmod { fd: i32 = int(a[0]), mode: u32 = umode(a[1]) },
    /// `mode` is a `umode_t`: the low 16 bits.
    fchmodat => Fchmodat { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mode: u32 = umode(a[2]) },
    /// `mode` is a `umode_t`: the low 16 bits.
    fchmodat2 => Fchmodat2 { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mode: u32 = umode(a[2]), flags: u32 = uint(a[3]) },
    /// `owner` and `group` are `uid_t`/`gid_t`; `u32::MAX` (-1) leaves one unchanged.
    chown => Chown { pathname: UserCStr = cstr(a[0]), owner: u32 = uint(a[1]), group: u32 = uint(a[2]) },
    fchown => Fchown { fd: i32 = int(a[0]), owner: u32 = uint(a[1]), group: u32 = uint(a[2]) },
    lchown => Lchown { pathname: UserCStr = cstr(a[0]), owner: u32 = uint(a[1]), group: u32 = uint(a[2]) },
    fchownat => Fchownat {
        dirfd: i32 = int(a[0]),
        pathname: UserCStr = cstr(a[1]),
        owner: u32 = uint(a[2]),
        group: u32 = uint(a[3]),
        flags: u32 = uint(a[4]),
    },
    /// `times` points to a `struct utimbuf` (`actime`, `modtime`); may be null.
    utime => Utime { filename: UserCStr = cstr(a[0]), times: UserPtr<[i64; 2]> = ptr(a[1]) },
    /// `times` points to two `struct timeval`s (access, modification); may be null.
    utimes => Utimes { filename: UserCStr = cstr(a[0]), times: UserPtr<[Timeval; 2]> = ptr(a[1]) },
    /// `times` points to two `struct timeval`s; may be null.
    futimesat => Futimesat { dirfd: i32 = int(a[0]), filename: UserCStr = cstr(a[1]), times: UserPtr<[Timeval; 2]> = ptr(a[2]) },
    /// `times` points to two `struct timespec`s (may be null); `pathname` may be null (the
    /// dirfd itself: futimens(3)).
    utimensat => Utimensat {
        dirfd: i32 = int(a[0]),
        pathname: UserCStr = cstr(a[1]),
        times: UserPtr<[Timespec; 2]> = ptr(a[2]),
        flags: u32 = uint(a[3]),
    },
    /// `value` is the `(value, size)` pair.
    setxattr => Setxattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]), flags: i32 = int(a[4]) },
    /// `value` is the `(value, size)` pair.
    lsetxattr => Lsetxattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]), flags: i32 = int(a[4]) },
    /// `value` is the `(value, size)` pair.
    fsetxattr => Fsetxattr { fd: i32 = int(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]), flags: i32 = int(a[4]) },
    /// `value` is the `(value, size)` pair; size 0 asks for the length.
    getxattr => Getxattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]) },
    /// `value` is the `(value, size)` pair; size 0 asks for the length.
    lgetxattr => Lgetxattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]) },
    /// `value` is the `(value, size)` pair; size 0 asks for the length.
    fgetxattr => Fgetxattr { fd: i32 = int(a[0]), name: UserCStr = cstr(a[1]), value: UserBuf = buf(a[2], a[3]) },
    /// `list` is the `(list, size)` pair; size 0 asks for the length.
    listxattr => Listxattr { pathname: UserCStr = cstr(a[0]), list: UserBuf = buf(a[1], a[2]) },
    /// `list` is the `(list, size)` pair; size 0 asks for the length.
    llistxattr => Llistxattr { pathname: UserCStr = cstr(a[0]), list: UserBuf = buf(a[1], a[2]) },
    /// `list` is the `(list, size)` pair; size 0 asks for the length.
    flistxattr => Flistxattr { fd: i32 = int(a[0]), list: UserBuf = buf(a[1], a[2]) },
    removexattr => Removexattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]) },
    lremovexattr => Lremovexattr { pathname: UserCStr = cstr(a[0]), name: UserCStr = cstr(a[1]) },
    fremovexattr => Fremovexattr { fd: i32 = int(a[0]), name: UserCStr = cstr(a[1]) },
    /// `offset` (may be null) is a `loff_t *` read and updated in place of `in_fd`'s offset.
    sendfile => Sendfile { out_fd: i32 = int(a[0]), in_fd: i32 = int(a[1]), offset: UserPtr<i64> = ptr(a[2]), count: usize = a[3] as usize },
    /// `off_in`/`off_out` (may be null) are `loff_t *`s used in place of the files' offsets.
    copy_file_range => CopyFileRange {
        fd_in: i32 = int(a[0]),
        off_in: UserPtr<i64> = ptr(a[1]),
        fd_out: i32 = int(a[2]),
        off_out: UserPtr<i64> = ptr(a[3]),
        len: usize = a[4] as usize,
        flags: u32 = uint(a[5]),
    },
    /// `off_in`/`off_out` (may be null; must be for a pipe) are `loff_t *`s.
    splice => Splice {
        fd_in: i32 = int(a[0]),
        off_in: UserPtr<i64> = ptr(a[1]),
        fd_out: i32 = int(a[2]),
        off_out: UserPtr<i64> = ptr(a[3]),
        len: usize = a[4] as usize,
        flags: u32 = uint(a[5]),
    },
    tee => Tee { fd_in: i32 = int(a[0]), fd_out: i32 = int(a[1]), len: usize = a[2] as usize, flags: u32 = uint(a[3]) },
    vmsplice => Vmsplice { fd: i32 = int(a[0]), iov: UserPtr<Iovec> = ptr(a[1]), nr_segs: u64 = a[2], flags: u32 = uint(a[3]) },
    fallocate => Fallocate { fd: i32 = int(a[0]), mode: i32 = int(a[1]), offset: i64 = a[2] as i64, len: i64 = a[3] as i64 },
    /// `how` points to a `struct open_how` of `size` bytes.
    openat2 => Openat2 { dirfd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), how: UserAddr = addr(a[2]), size: usize = a[3] as usize },
    inotify_init => InotifyInit,
    inotify_init1 => InotifyInit1 { flags: u32 = uint(a[0]) },
    inotify_add_watch => InotifyAddWatch { fd: i32 = int(a[0]), pathname: UserCStr = cstr(a[1]), mask: u32 = uint(a[2]) },
    inotify_rm_watch => InotifyRmWatch { fd: i32 = int(a[0]), wd: i32 = int(a[1]) },
}

impl Syscall {
    /// Decodes from a raw number and arguments (see [`Syscall::decode`]).
    pub fn from_raw(nr: u64, args: [u64; 6]) -> Syscall {
        Syscall::decode(&SyscallArgs { nr, args })
    }
}

#[cfg(test)]
mod tests;
