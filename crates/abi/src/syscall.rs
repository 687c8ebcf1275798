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

use crate::linux::fs::{Iovec, Pollfd, Stat, Statx};
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
    madvise => Madvise { addr: UserAddr = addr(a[0]), length: usize = a[1] as usize, advice: i32 = int(a[2]) },
    dup => Dup { oldfd: i32 = int(a[0]) },
    dup2 => Dup2 { oldfd: i32 = int(a[0]), newfd: i32 = int(a[1]) },
    nanosleep => Nanosleep { req: UserPtr<Timespec> = ptr(a[0]), rem: UserPtr<Timespec> = ptr(a[1]) },
    getpid => Getpid,
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
    /// `mask` is the `(user_mask_ptr, len)` pair; `len` is an `unsigned int`.
    sched_setaffinity => SchedSetaffinity { pid: i32 = int(a[0]), mask: UserBuf = buf(a[2], uint(a[1]) as u64) },
    /// `mask` is the `(user_mask_ptr, len)` pair; `len` is an `unsigned int`.
    sched_getaffinity => SchedGetaffinity { pid: i32 = int(a[0]), mask: UserBuf = buf(a[2], uint(a[1]) as u64) },
    /// `dirp` is the buffer; its length is an `unsigned int` in the kernel.
    fsync => Fsync { fd: i32 = int(a[0]) },
    fdatasync => Fdatasync { fd: i32 = int(a[0]) },
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
    dup3 => Dup3 { oldfd: i32 = int(a[0]), newfd: i32 = int(a[1]), flags: u32 = uint(a[2]) },
    pipe2 => Pipe2 { pipefd: UserPtr<[i32; 2]> = ptr(a[0]), flags: u32 = uint(a[1]) },
    prlimit64 => Prlimit64 {
        pid: i32 = int(a[0]),
        resource: u32 = uint(a[1]),
        new_limit: UserPtr<Rlimit64> = ptr(a[2]),
        old_limit: UserPtr<Rlimit64> = ptr(a[3]),
    },
    renameat2 => Renameat2 {
        olddirfd: i32 = int(a[0]),
        oldpath: UserCStr = cstr(a[1]),
        newdirfd: i32 = int(a[2]),
        newpath: UserCStr = cstr(a[3]),
        flags: u32 = uint(a[4]),
    },
    getrandom => Getrandom { buf: UserBuf = buf(a[0], a[1]), flags: u32 = uint(a[2]) },
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
}

impl Syscall {
    /// Decodes from a raw number and arguments (see [`Syscall::decode`]).
    pub fn from_raw(nr: u64, args: [u64; 6]) -> Syscall {
        Syscall::decode(&SyscallArgs { nr, args })
    }
}

#[cfg(test)]
mod tests;
