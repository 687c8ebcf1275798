//! The symbolic names strace prints for flag words and enumerated arguments, built from the
//! `linux-raw-sys` constants, and the error messages of strerror(3).

use crate::errno::Errno;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl as io;
use linux_raw_sys::prctl as pr;

/// A list of `(name, value)` pairs. For flag words, a multi-bit name must come before the
/// names of its bits, so that `O_SYNC` wins over `O_DSYNC`.
pub(super) type Names = &'static [(&'static str, u64)];

macro_rules! names {
    ($m:ident; $($n:ident),* $(,)?) => {
        &[$((stringify!($n), $m::$n as u64)),*]
    };
}

/// open(2) flags other than the access mode.
pub(super) const OPEN_FLAGS: Names = names!(g;
    O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_SYNC, O_DSYNC, FASYNC, O_DIRECT,
    O_LARGEFILE, O_TMPFILE, O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH,
);

/// The access modes (`flags & O_ACCMODE`).
pub(super) const OPEN_ACCMODE: Names = names!(g; O_RDONLY, O_WRONLY, O_RDWR);

/// mmap(2) protections.
pub(super) const PROT: Names =
    names!(g; PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP);

/// The mapping types (`flags & MAP_TYPE`).
pub(super) const MAP_TYPES: Names =
    names!(g; MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_DROPPABLE);

/// mmap(2) flags other than the type.
pub(super) const MAP_FLAGS: Names = names!(g;
    MAP_FIXED, MAP_ANONYMOUS, MAP_32BIT, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE,
    MAP_LOCKED, MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_SYNC,
    MAP_FIXED_NOREPLACE,
);

/// mremap(2) flags.
pub(super) const MREMAP: Names = names!(g; MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP);

/// madvise(2) advice values.
pub(super) const MADV: Names = names!(g;
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
    MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_HWPOISON, MADV_SOFT_OFFLINE, MADV_MERGEABLE,
    MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
    MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
    MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED, MADV_COLLAPSE, MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
);

/// access(2) modes (`F_OK` is the zero value).
pub(super) const ACCESS_MODE: Names = names!(g; R_OK, W_OK, X_OK);

/// `AT_*` flags of the `*at` calls. `AT_EACCESS` shares its bit with `AT_REMOVEDIR`, so
/// each call gets its own list.
pub(super) const AT_STAT_FLAGS: Names =
    names!(g; AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH);
/// statx(2) flags: the sync type (`AT_STATX_SYNC_AS_STAT` is 0) and the lookup flags.
pub(super) const AT_STATX_FLAGS: Names = names!(g;
    AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC, AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH,
);
/// unlinkat(2) flags.
pub(super) const AT_UNLINK_FLAGS: Names = names!(g; AT_REMOVEDIR);
/// faccessat2(2) flags.
pub(super) const AT_ACCESS_FLAGS: Names = names!(g; AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH);
/// renameat2(2) flags.
pub(super) const RENAME_FLAGS: Names =
    names!(g; RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);

/// statx(2) mask bits; `STATX_BASIC_STATS` first so it absorbs its eleven bits.
pub(super) const STATX_MASK: Names = names!(g;
    STATX_BASIC_STATS, STATX_TYPE, STATX_MODE, STATX_NLINK, STATX_UID, STATX_GID, STATX_ATIME,
    STATX_MTIME, STATX_CTIME, STATX_INO, STATX_SIZE, STATX_BLOCKS, STATX_BTIME, STATX_MNT_ID,
    STATX_DIOALIGN, STATX_MNT_ID_UNIQUE, STATX_SUBVOL, STATX_WRITE_ATOMIC, STATX_DIO_READ_ALIGN,
);

/// lseek(2) `whence` values.
pub(super) const SEEK: Names = names!(g; SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);

/// clock ids.
pub(super) const CLOCKS: Names = names!(g;
    CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
    CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI,
);

/// clock_nanosleep(2) flags.
pub(super) const TIMER_FLAGS: Names = names!(g; TIMER_ABSTIME);

/// rt_sigprocmask(2) `how`.
pub(super) const SIGMASK_HOW: Names = names!(g; SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK);

/// sigaction `SA_*` flags.
pub(super) const SA_FLAGS: Names = names!(g;
    SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO, SA_RESTORER, SA_ONSTACK, SA_RESTART, SA_NODEFER,
    SA_RESETHAND,
);

/// sigaltstack `SS_*` flags.
pub(super) const SS_FLAGS: Names = names!(g; SS_ONSTACK, SS_DISABLE, SS_AUTODISARM);

/// fcntl(2) commands.
pub(super) const FCNTL_CMDS: Names = names!(g;
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN, F_GETOWN,
    F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX, F_GETOWNER_UIDS, F_OFD_GETLK, F_OFD_SETLK,
    F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_DUPFD_QUERY, F_CREATED_QUERY, F_CANCELLK,
    F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS, F_GET_RW_HINT,
    F_SET_RW_HINT, F_GET_FILE_RW_HINT, F_SET_FILE_RW_HINT,
);

/// fcntl(2) `F_SETFD` flags.
pub(super) const FD_FLAGS: Names = names!(g; FD_CLOEXEC);

/// ioctl(2) requests worth naming (terminal and file ones libc issues on start-up).
pub(super) const IOCTLS: Names = names!(io;
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, FIONREAD,
    FIONBIO, FIOCLEX, FIONCLEX,
);

/// getrandom(2) flags.
pub(super) const GRND_FLAGS: Names = names!(g; GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE);

/// rlimit resources.
pub(super) const RLIMITS: Names = names!(g;
    RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC,
    RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE,
    RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME,
);

/// futex(2) commands (`op & FUTEX_CMD_MASK`).
pub(super) const FUTEX_CMDS: Names = names!(g;
    FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
    FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
    FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2,
);

/// prctl(2) options libc and language runtimes use.
pub(super) const PRCTL_OPTIONS: Names = names!(pr;
    PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_KEEPCAPS,
    PR_SET_KEEPCAPS, PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ,
    PR_GET_TIMERSLACK, PR_SET_TIMERSLACK, PR_SET_MM, PR_SET_PTRACER, PR_SET_CHILD_SUBREAPER,
    PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS,
    PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_SET_VMA,
);

/// The name of `v` in `table`, if any.
pub(super) fn lookup(table: Names, v: u64) -> Option<&'static str> {
    table.iter().find(|(_, x)| *x == v).map(|(n, _)| *n)
}

/// strerror(3)'s message for `e`, as glibc words it (strace prints it after the name).
pub fn errno_message(e: Errno) -> &'static str {
    use Errno::*;
    match e {
        EPERM => "Operation not permitted",
        ENOENT => "No such file or directory",
        ESRCH => "No such process",
        EINTR => "Interrupted system call",
        EIO => "Input/output error",
        ENXIO => "No such device or address",
        E2BIG => "Argument list too long",
        ENOEXEC => "Exec format error",
        EBADF => "Bad file descriptor",
        ECHILD => "No child processes",
        EAGAIN => "Resource temporarily unavailable",
        ENOMEM => "Cannot allocate memory",
        EACCES => "Permission denied",
        EFAULT => "Bad address",
        ENOTBLK => "Block device required",
        EBUSY => "Device or resource busy",
        EEXIST => "File exists",
        EXDEV => "Invalid cross-device link",
        ENODEV => "No such device",
        ENOTDIR => "Not a directory",
        EISDIR => "Is a directory",
        EINVAL => "Invalid argument",
        ENFILE => "Too many open files in system",
        EMFILE => "Too many open files",
        ENOTTY => "Inappropriate ioctl for device",
        ETXTBSY => "Text file busy",
        EFBIG => "File too large",
        ENOSPC => "No space left on device",
        ESPIPE => "Illegal seek",
        EROFS => "Read-only file system",
        EMLINK => "Too many links",
        EPIPE => "Broken pipe",
        EDOM => "Numerical argument out of domain",
        ERANGE => "Numerical result out of range",
        EDEADLK => "Resource deadlock avoided",
        ENAMETOOLONG => "File name too long",
        ENOLCK => "No locks available",
        ENOSYS => "Function not implemented",
        ENOTEMPTY => "Directory not empty",
        ELOOP => "Too many levels of symbolic links",
        ENOMSG => "No message of desired type",
        EIDRM => "Identifier removed",
        ECHRNG => "Channel number out of range",
        EL2NSYNC => "Level 2 not synchronized",
        EL3HLT => "Level 3 halted",
        EL3RST => "Level 3 reset",
        ELNRNG => "Link number out of range",
        EUNATCH => "Protocol driver not attached",
        ENOCSI => "No CSI structure available",
        EL2HLT => "Level 2 halted",
        EBADE => "Invalid exchange",
        EBADR => "Invalid request descriptor",
        EXFULL => "Exchange full",
        ENOANO => "No anode",
        EBADRQC => "Invalid request code",
        EBADSLT => "Invalid slot",
        EBFONT => "Bad font file format",
        ENOSTR => "Device not a stream",
        ENODATA => "No data available",
        ETIME => "Timer expired",
        ENOSR => "Out of streams resources",
        ENONET => "Machine is not on the network",
        ENOPKG => "Package not installed",
        EREMOTE => "Object is remote",
        ENOLINK => "Link has been severed",
        EADV => "Advertise error",
        ESRMNT => "Srmount error",
        ECOMM => "Communication error on send",
        EPROTO => "Protocol error",
        EMULTIHOP => "Multihop attempted",
        EDOTDOT => "RFS specific error",
        EBADMSG => "Bad message",
        EOVERFLOW => "Value too large for defined data type",
        ENOTUNIQ => "Name not unique on network",
        EBADFD => "File descriptor in bad state",
        EREMCHG => "Remote address changed",
        ELIBACC => "Can not access a needed shared library",
        ELIBBAD => "Accessing a corrupted shared library",
        ELIBSCN => ".lib section in a.out corrupted",
        ELIBMAX => "Attempting to link in too many shared libraries",
        ELIBEXEC => "Cannot exec a shared library directly",
        EILSEQ => "Invalid or incomplete multibyte or wide character",
        ERESTART => "Interrupted system call should be restarted",
        ESTRPIPE => "Streams pipe error",
        EUSERS => "Too many users",
        ENOTSOCK => "Socket operation on non-socket",
        EDESTADDRREQ => "Destination address required",
        EMSGSIZE => "Message too long",
        EPROTOTYPE => "Protocol wrong type for socket",
        ENOPROTOOPT => "Protocol not available",
        EPROTONOSUPPORT => "Protocol not supported",
        ESOCKTNOSUPPORT => "Socket type not supported",
        EOPNOTSUPP => "Operation not supported",
        EPFNOSUPPORT => "Protocol family not supported",
        EAFNOSUPPORT => "Address family not supported by protocol",
        EADDRINUSE => "Address already in use",
        EADDRNOTAVAIL => "Cannot assign requested address",
        ENETDOWN => "Network is down",
        ENETUNREACH => "Network is unreachable",
        ENETRESET => "Network dropped connection on reset",
        ECONNABORTED => "Software caused connection abort",
        ECONNRESET => "Connection reset by peer",
        ENOBUFS => "No buffer space available",
        EISCONN => "Transport endpoint is already connected",
        ENOTCONN => "Transport endpoint is not connected",
        ESHUTDOWN => "Cannot send after transport endpoint shutdown",
        ETOOMANYREFS => "Too many references: cannot splice",
        ETIMEDOUT => "Connection timed out",
        ECONNREFUSED => "Connection refused",
        EHOSTDOWN => "Host is down",
        EHOSTUNREACH => "No route to host",
        EALREADY => "Operation already in progress",
        EINPROGRESS => "Operation now in progress",
        ESTALE => "Stale file handle",
        EUCLEAN => "Structure needs cleaning",
        ENOTNAM => "Not a XENIX named type file",
        ENAVAIL => "No XENIX semaphores available",
        EISNAM => "Is a named type file",
        EREMOTEIO => "Remote I/O error",
        EDQUOT => "Disk quota exceeded",
        ENOMEDIUM => "No medium found",
        EMEDIUMTYPE => "Wrong medium type",
        ECANCELED => "Operation canceled",
        ENOKEY => "Required key not available",
        EKEYEXPIRED => "Key has expired",
        EKEYREVOKED => "Key has been revoked",
        EKEYREJECTED => "Key was rejected by service",
        EOWNERDEAD => "Owner died",
        ENOTRECOVERABLE => "State not recoverable",
        ERFKILL => "Operation not possible due to RF-kill",
        EHWPOISON => "Memory page has hardware error",
    }
}
