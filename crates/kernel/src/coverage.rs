//! Which Linux system calls oxv implements: the source of `docs/syscalls.md`.
//!
//! Every x86_64 system call has one status here. The dispatcher (`syscall::dispatch`) routes
//! exactly the calls listed as implemented or partial; everything else returns `ENOSYS` and
//! is counted. A host test renders this table and fails when `docs/syscalls.md` differs
//! (regenerate with `OXV_UPDATE_DOCS=1 cargo test -p oxv-kernel`).

use core::sync::atomic::{AtomicU32, Ordering};
#[cfg(not(target_os = "none"))]
use oxv_abi::Sysno;

/// How far oxv implements a system call.
#[cfg(not(target_os = "none"))]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Linux semantics, including the error cases.
    Implemented,
    /// Works for common uses; the note says what is missing.
    Partial(&'static str),
    /// Decoded but answered with `ENOSYS` for now; the note says why or when.
    Stub(&'static str),
}

#[cfg(not(target_os = "none"))]
use Status::{Implemented as Done, Partial};

/// The implemented and partial calls. Anything not listed is missing (`ENOSYS`). Host-only
/// data: it documents the dispatcher and is checked against the decoder by tests.
#[cfg(not(target_os = "none"))]
pub const COVERAGE: &[(Sysno, Status)] = &[
    (Sysno::read, Done),
    (Sysno::write, Done),
    (
        Sysno::open,
        Partial("no O_TMPFILE; FIFOs, sockets and block devices cannot be opened"),
    ),
    (Sysno::close, Done),
    (Sysno::stat, Done),
    (Sysno::fstat, Done),
    (Sysno::lstat, Done),
    (Sysno::poll, Done),
    (Sysno::lseek, Done),
    (
        Sysno::mmap,
        Partial(
            "MAP_HUGETLB is ENOMEM (no hugetlbfs); MAP_SHARED files on tmpfs and ext2 only (other file systems: ENODEV)",
        ),
    ),
    (Sysno::mprotect, Done),
    (Sysno::munmap, Done),
    (Sysno::brk, Done),
    (Sysno::rt_sigaction, Done),
    (Sysno::rt_sigprocmask, Done),
    (Sysno::rt_sigreturn, Done),
    (Sysno::rt_sigpending, Done),
    (Sysno::rt_sigtimedwait, Done),
    (Sysno::rt_sigqueueinfo, Done),
    (Sysno::rt_tgsigqueueinfo, Done),
    (Sysno::rt_sigsuspend, Done),
    (Sysno::pause, Done),
    (Sysno::getitimer, Done),
    (Sysno::setitimer, Done),
    (Sysno::alarm, Done),
    (
        Sysno::timer_create,
        Partial(
            "SIGEV_THREAD is the libc's job; CLOCK_THREAD_CPUTIME_ID timers count the process's CPU time",
        ),
    ),
    (Sysno::timer_settime, Done),
    (Sysno::timer_gettime, Done),
    (Sysno::timer_getoverrun, Done),
    (Sysno::timer_delete, Done),
    (
        Sysno::clone,
        Partial(
            "no namespaces or cgroups (ENOSYS); CLONE_PIDFD with CLONE_THREAD is EINVAL (as before Linux 6.9); CLONE_SIGHAND without CLONE_THREAD copies the dispositions",
        ),
    ),
    (Sysno::clone3, Partial("as clone(2); set_tid is EINVAL")),
    (Sysno::fork, Done),
    (Sysno::vfork, Done),
    (
        Sysno::execve,
        Partial("shared fd tables (CLONE_FILES) are not unshared at exec"),
    ),
    (Sysno::execveat, Partial("as execve(2)")),
    (Sysno::wait4, Done),
    (Sysno::waitid, Done),
    (
        Sysno::pidfd_open,
        Partial("process pidfds only (no PIDFD_THREAD)"),
    ),
    (
        Sysno::pidfd_send_signal,
        Partial(
            "no PIDFD_SIGNAL_THREAD/THREAD_GROUP/PROCESS_GROUP flags (EINVAL, as before Linux 6.9)",
        ),
    ),
    (Sysno::pidfd_getfd, Done),
    (Sysno::setpgid, Done),
    (Sysno::setsid, Done),
    (
        Sysno::getrusage,
        Partial("all CPU time is user time; no page-fault or context-switch counts"),
    ),
    (Sysno::times, Partial("all CPU time is user time")),
    (Sysno::getcpu, Done),
    (
        Sysno::sched_setscheduler,
        Partial("SCHED_OTHER/BATCH/IDLE only; real-time policies are EPERM"),
    ),
    (Sysno::sched_getscheduler, Done),
    (Sysno::sched_setparam, Partial("as sched_setscheduler(2)")),
    (Sysno::sched_getparam, Done),
    (Sysno::sched_get_priority_max, Done),
    (Sysno::sched_get_priority_min, Done),
    (Sysno::sched_rr_get_interval, Done),
    (
        Sysno::getpriority,
        Partial("nice values are recorded; the scheduler does not weigh them"),
    ),
    (Sysno::setpriority, Partial("as getpriority(2)")),
    (
        Sysno::ioctl,
        Partial(
            "tty ioctls (TCGETS/TCSETS*, TIOCGWINSZ/TIOCSWINSZ; on the console and pty slaves alike the controlling-terminal ioctls TIOCGPGRP/TIOCSPGRP/TIOCSCTTY/TIOCNOTTY/TIOCGSID, with SIGTTOU/EIO for a background or orphaned group; a process holds no controlling terminal of its own, its session's is used), pty ioctls (TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, TCFLSH, TIOCGPTPEER (the fd has no path), TIOCSWINSZ raises SIGWINCH), FIONREAD, FIONBIO",
        ),
    ),
    (Sysno::pread64, Done),
    (Sysno::pwrite64, Done),
    (Sysno::readv, Done),
    (Sysno::writev, Done),
    (Sysno::access, Done),
    (Sysno::pipe, Done),
    (Sysno::select, Done),
    (Sysno::sched_yield, Done),
    (Sysno::mremap, Done),
    (Sysno::msync, Done),
    (Sysno::mincore, Done),
    (
        Sysno::madvise,
        Partial(
            "MADV_GUARD_INSTALL is EINVAL (as before Linux 6.13); MADV_COLLAPSE does not collapse; no swap, so COLD/PAGEOUT do nothing",
        ),
    ),
    (
        Sysno::mlock,
        Partial("the app has CAP_IPC_LOCK: RLIMIT_MEMLOCK does not apply"),
    ),
    (Sysno::munlock, Done),
    (Sysno::mlock2, Partial("as mlock(2)")),
    (Sysno::mlockall, Partial("as mlock(2)")),
    (Sysno::munlockall, Done),
    (Sysno::dup, Done),
    (Sysno::dup2, Done),
    (Sysno::nanosleep, Done),
    (Sysno::getpid, Done),
    (
        Sysno::socket,
        Partial(
            "AF_INET/AF_INET6 TCP and UDP, AF_UNIX stream/dgram/seqpacket, AF_NETLINK NETLINK_ROUTE; raw IP sockets EPERM, other families EAFNOSUPPORT",
        ),
    ),
    (Sysno::socketpair, Done),
    (Sysno::bind, Done),
    (Sysno::listen, Done),
    (Sysno::accept, Done),
    (Sysno::accept4, Done),
    (Sysno::connect, Done),
    (
        Sysno::sendto,
        Partial("no MSG_OOB; UDP sockets get no ICMP errors (no ECONNREFUSED)"),
    ),
    (Sysno::recvfrom, Partial("no MSG_OOB or MSG_ERRQUEUE")),
    (
        Sysno::sendmsg,
        Partial("as sendto(2); ancillary data: SCM_RIGHTS and SCM_CREDENTIALS"),
    ),
    (
        Sysno::recvmsg,
        Partial("as recvfrom(2); ancillary data: SCM_RIGHTS and SCM_CREDENTIALS"),
    ),
    (Sysno::sendmmsg, Partial("as sendmsg(2)")),
    (Sysno::recvmmsg, Partial("as recvmsg(2)")),
    (Sysno::shutdown, Done),
    (Sysno::getsockname, Done),
    (Sysno::getpeername, Done),
    (
        Sysno::setsockopt,
        Partial(
            "SOL_SOCKET options, TCP_NODELAY and TCP keepalive options, IP_TTL/IP_TOS, IPV6_V6ONLY (others ENOPROTOOPT; SO_LINGER only as an abort on close)",
        ),
    ),
    (
        Sysno::getsockopt,
        Partial(
            "as setsockopt(2), plus SO_TYPE/DOMAIN/PROTOCOL/ERROR/ACCEPTCONN/PEERCRED; no TCP_INFO",
        ),
    ),
    (Sysno::exit, Done),
    (Sysno::kill, Done),
    (Sysno::uname, Done),
    (
        Sysno::fcntl,
        Partial(
            "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, F_GETPIPE_SZ/SETPIPE_SZ, F_ADD_SEALS/GET_SEALS, record and OFD locks; no leases or F_NOTIFY",
        ),
    ),
    (Sysno::fsync, Done),
    (Sysno::fdatasync, Done),
    (Sysno::sync, Done),
    (Sysno::syncfs, Done),
    (
        Sysno::statfs,
        Partial("f_flags reports ST_NOATIME where Linux's default mounts report ST_RELATIME"),
    ),
    (
        Sysno::fstatfs,
        Partial("f_flags reports ST_NOATIME where Linux's default mounts report ST_RELATIME"),
    ),
    (
        Sysno::mount,
        Partial(
            "tmpfs, proc, sysfs, devtmpfs, ext2 from /dev/vd*; remount, bind (not MS_REC), propagation flags accepted (all mounts private); no MS_MOVE (EINVAL); nodev and noexec enforced, nosuid/atime flags stored and shown; remount read-only EBUSY for writers through that mount only (not other binds of the file system, not deleted open files); tmpfs size=/nr_blocks=/nr_inodes= enforced and changed by remount (EINVAL below use), statfs shows them",
        ),
    ),
    (
        Sysno::umount2,
        Partial(
            "MNT_FORCE is accepted and does nothing more; a lazily detached subtree loses its inner mounts",
        ),
    ),
    (Sysno::truncate, Done),
    (Sysno::ftruncate, Done),
    (Sysno::getdents64, Done),
    (Sysno::getcwd, Done),
    (Sysno::chdir, Done),
    (Sysno::fchdir, Done),
    (Sysno::rename, Done),
    (Sysno::mkdir, Done),
    (Sysno::rmdir, Done),
    (Sysno::creat, Done),
    (Sysno::link, Done),
    (Sysno::unlink, Done),
    (Sysno::symlink, Done),
    (Sysno::readlink, Done),
    (Sysno::umask, Done),
    (Sysno::gettimeofday, Done),
    (Sysno::getrlimit, Done),
    (Sysno::sysinfo, Partial("no load averages")),
    (Sysno::getuid, Done),
    (Sysno::getgid, Done),
    (Sysno::geteuid, Done),
    (Sysno::getegid, Done),
    (Sysno::getppid, Done),
    (Sysno::getpgrp, Done),
    (Sysno::getpgid, Done),
    (Sysno::getsid, Done),
    (Sysno::sigaltstack, Done),
    (
        Sysno::setrlimit,
        Partial(
            "enforced: RLIMIT_NOFILE, RLIMIT_FSIZE (writes, truncation, fallocate; SIGXFSZ), RLIMIT_STACK (exec), RLIMIT_NPROC (fork), RLIMIT_SIGPENDING; the others are recorded",
        ),
    ),
    (
        Sysno::prctl,
        Partial("PR_SET_NAME/PR_GET_NAME, PR_GET_DUMPABLE/PR_SET_DUMPABLE, PR_CAPBSET_READ"),
    ),
    (Sysno::arch_prctl, Done),
    (Sysno::gettid, Done),
    (Sysno::tkill, Done),
    (Sysno::time, Done),
    (
        Sysno::futex,
        Partial(
            "every op but FUTEX_FD; PI locks pass to waiters in FIFO order with no priority boosting (one scheduling class, all priorities equal); a non-SA_RESTART handler during a PI lock wait gives EINTR where Linux restarts",
        ),
    ),
    (
        Sysno::sched_setaffinity,
        Partial("the online CPUs; the mask is checked, not enforced"),
    ),
    (Sysno::sched_getaffinity, Done),
    (Sysno::set_tid_address, Done),
    (Sysno::clock_gettime, Done),
    (Sysno::clock_getres, Done),
    (
        Sysno::clock_nanosleep,
        Partial("CPU-time clocks are EOPNOTSUPP"),
    ),
    (Sysno::exit_group, Done),
    (Sysno::tgkill, Done),
    (Sysno::openat, Partial("as open(2)")),
    (Sysno::mkdirat, Done),
    (Sysno::newfstatat, Done),
    (Sysno::unlinkat, Done),
    (Sysno::renameat, Done),
    (Sysno::linkat, Done),
    (Sysno::symlinkat, Done),
    (Sysno::readlinkat, Done),
    (Sysno::faccessat, Done),
    (Sysno::pselect6, Done),
    (Sysno::ppoll, Done),
    (Sysno::set_robust_list, Done),
    (Sysno::get_robust_list, Done),
    (
        Sysno::futex_waitv,
        Partial("FUTEX2_SIZE_U32 words only; FUTEX2_NUMA/FUTEX2_MPOL are EINVAL"),
    ),
    (Sysno::dup3, Done),
    (
        Sysno::pipe2,
        Partial("O_NOTIFICATION_PIPE is ENOPKG, as on a kernel without watch queues"),
    ),
    (Sysno::epoll_create, Done),
    (Sysno::epoll_create1, Done),
    (Sysno::epoll_ctl, Done),
    (Sysno::epoll_wait, Done),
    (Sysno::epoll_pwait, Done),
    (Sysno::epoll_pwait2, Done),
    (Sysno::eventfd, Done),
    (Sysno::eventfd2, Done),
    (
        Sysno::timerfd_create,
        Partial("the _ALARM clocks act as their plain clocks (the VM never suspends)"),
    ),
    (
        Sysno::timerfd_settime,
        Partial(
            "TFD_TIMER_CANCEL_ON_SET is accepted but never cancels: the wall clock is never set",
        ),
    ),
    (Sysno::timerfd_gettime, Done),
    (Sysno::signalfd, Done),
    (Sysno::signalfd4, Done),
    (
        Sysno::close_range,
        Partial("CLOSE_RANGE_UNSHARE does not unshare the fd table"),
    ),
    (
        Sysno::memfd_create,
        Partial("MFD_HUGETLB gets ordinary pages; sealing does not check existing shared mappings"),
    ),
    (Sysno::preadv, Done),
    (Sysno::pwritev, Done),
    (Sysno::prlimit64, Partial("as setrlimit(2)")),
    (
        Sysno::renameat2,
        Partial("RENAME_NOREPLACE; RENAME_EXCHANGE and RENAME_WHITEOUT are EINVAL"),
    ),
    (Sysno::getrandom, Done),
    (Sysno::statx, Done),
    (
        Sysno::rseq,
        Partial("Linux 6.1's: the original 32-byte area only; node_id and mm_cid are not written"),
    ),
    (Sysno::faccessat2, Done),
    (Sysno::flock, Done),
    (Sysno::chmod, Done),
    (Sysno::fchmod, Done),
    (Sysno::fchmodat, Done),
    (Sysno::fchmodat2, Done),
    (
        Sysno::chown,
        Partial("one user (root): ids are stored and reported, never checked"),
    ),
    (Sysno::fchown, Partial("as chown(2)")),
    (Sysno::lchown, Partial("as chown(2)")),
    (Sysno::fchownat, Partial("as chown(2)")),
    (Sysno::utime, Done),
    (Sysno::utimes, Done),
    (Sysno::futimesat, Done),
    (Sysno::utimensat, Done),
    (
        Sysno::setxattr,
        Partial("tmpfs keeps any namespace; ext2 has none (EOPNOTSUPP); no ACL enforcement"),
    ),
    (Sysno::lsetxattr, Partial("as setxattr(2)")),
    (Sysno::fsetxattr, Partial("as setxattr(2)")),
    (Sysno::getxattr, Partial("as setxattr(2)")),
    (Sysno::lgetxattr, Partial("as setxattr(2)")),
    (Sysno::fgetxattr, Partial("as setxattr(2)")),
    (Sysno::listxattr, Partial("as setxattr(2)")),
    (Sysno::llistxattr, Partial("as setxattr(2)")),
    (Sysno::flistxattr, Partial("as setxattr(2)")),
    (Sysno::removexattr, Partial("as setxattr(2)")),
    (Sysno::lremovexattr, Partial("as setxattr(2)")),
    (Sysno::fremovexattr, Partial("as setxattr(2)")),
    (
        Sysno::sendfile,
        Partial("copies through a kernel buffer (no page lending)"),
    ),
    (
        Sysno::copy_file_range,
        Partial("as sendfile(2); no reflinks"),
    ),
    (
        Sysno::splice,
        Partial("as sendfile(2); sockets take part as plain files"),
    ),
    (Sysno::tee, Done),
    (
        Sysno::vmsplice,
        Partial("copies instead of lending pages; SPLICE_F_GIFT ignored"),
    ),
    (
        Sysno::fallocate,
        Partial("tmpfs: allocate, KEEP_SIZE and PUNCH_HOLE; other modes and ext2 EOPNOTSUPP"),
    ),
    (
        Sysno::openat2,
        Partial("as open(2); every RESOLVE_*; RESOLVE_CACHED lookups never EAGAIN (all in memory)"),
    ),
    (
        Sysno::inotify_init,
        Partial(
            "events from the file system calls; none for I/O through mappings, no IN_UNMOUNT; \
             a file's directory hears its open/write/close only if watched when it was opened",
        ),
    ),
    (Sysno::inotify_init1, Partial("as inotify_init(2)")),
    (
        Sysno::inotify_add_watch,
        Partial("as inotify_init(2); IN_EXCL_UNLINK ignored"),
    ),
    (Sysno::inotify_rm_watch, Done),
];

/// The status of `s` (`None`: not implemented).
#[cfg(not(target_os = "none"))]
pub fn status(s: Sysno) -> Option<Status> {
    COVERAGE.iter().find(|(n, _)| *n == s).map(|&(_, st)| st)
}

static UNKNOWN: [AtomicU32; 512] = [const { AtomicU32::new(0) }; 512];
static UNKNOWN_OTHER: AtomicU32 = AtomicU32::new(0);

/// Counts a call to a number oxv does not implement.
pub fn count_unknown(nr: u64) {
    match UNKNOWN.get(nr as usize) {
        Some(c) => c.fetch_add(1, Ordering::Relaxed),
        None => UNKNOWN_OTHER.fetch_add(1, Ordering::Relaxed),
    };
}

/// Calls `f(number, count)` for every unimplemented number the app called.
pub fn for_each_unknown(mut f: impl FnMut(u64, u32)) {
    for (nr, c) in UNKNOWN.iter().enumerate() {
        let c = c.load(Ordering::Relaxed);
        if c > 0 {
            f(nr as u64, c);
        }
    }
    let other = UNKNOWN_OTHER.load(Ordering::Relaxed);
    if other > 0 {
        f(u64::MAX, other);
    }
}

/// Renders `docs/syscalls.md`.
#[cfg(not(target_os = "none"))]
pub fn render() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let all: Vec<Sysno> = Sysno::iter().collect();
    let (mut done, mut partial, mut stub) = (0, 0, 0);
    for s in &all {
        match status(*s) {
            Some(Status::Implemented) => done += 1,
            Some(Status::Partial(_)) => partial += 1,
            Some(Status::Stub(_)) => stub += 1,
            None => {}
        }
    }
    let missing = all.len() - done - partial - stub;
    out.push_str("# Linux system calls in oxv\n\n");
    out.push_str("Generated from `crates/kernel/src/coverage.rs` (the dispatcher's table); a test fails when\n");
    out.push_str(
        "this file is stale. Regenerate with `OXV_UPDATE_DOCS=1 cargo test -p oxv-kernel`.\n\n",
    );
    out.push_str(
        "Every call not marked implemented or partial returns `ENOSYS`; the kernel counts them\n",
    );
    out.push_str("and `--verbose` lists them at exit.\n\n");
    let _ = writeln!(
        out,
        "x86_64 system calls: {} — implemented {done}, partial {partial}, ENOSYS (decoded, pending) {stub}, ENOSYS (missing) {missing}.\n",
        all.len()
    );
    out.push_str("| nr | name | status | notes |\n|---:|---|---|---|\n");
    for s in all {
        let (st, note) = match status(s) {
            Some(Status::Implemented) => ("implemented", ""),
            Some(Status::Partial(n)) => ("partial", n),
            Some(Status::Stub(n)) => ("ENOSYS", n),
            None => ("ENOSYS", "not implemented"),
        };
        let _ = writeln!(out, "| {} | `{}` | {} | {} |", s.id(), s.name(), st, note);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decoded_call_has_a_status() {
        // The decoder and the dispatcher grow together; the table must say what a new call
        // does, so that docs/syscalls.md never calls a dispatched call missing.
        for s in oxv_abi::Syscall::DECODED {
            assert!(
                status(*s).is_some(),
                "{} is decoded but has no status",
                s.name()
            );
        }
    }

    #[test]
    fn every_call_is_listed_once() {
        for (i, (a, _)) in COVERAGE.iter().enumerate() {
            assert!(
                COVERAGE[i + 1..].iter().all(|(b, _)| a != b),
                "{} listed twice",
                a.name()
            );
        }
    }

    #[test]
    fn implemented_calls_are_decoded() {
        // A call the table claims must reach a handler, so the decoder must know it.
        for (s, st) in COVERAGE {
            let call = oxv_abi::Syscall::decode(&oxv_abi::SyscallArgs::new(s.id() as u64, [0; 6]));
            assert!(
                !matches!(call, oxv_abi::Syscall::Unknown { .. }),
                "{} is {:?} in the table but not decoded",
                s.name(),
                st
            );
        }
    }

    #[test]
    fn docs_syscalls_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/syscalls.md");
        let want = render();
        if std::env::var_os("OXV_UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/syscalls.md");
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/syscalls.md is stale: run `OXV_UPDATE_DOCS=1 cargo test -p oxv-kernel`"
        );
    }

    #[test]
    fn unknown_calls_are_counted() {
        count_unknown(333);
        count_unknown(333);
        count_unknown(9999);
        let mut seen = Vec::new();
        for_each_unknown(|nr, c| seen.push((nr, c)));
        assert!(seen.contains(&(333, 2)));
        assert!(seen.contains(&(u64::MAX, 1)));
    }
}
