use super::*;

fn decode(nr: u64, args: [u64; 6]) -> Syscall {
    Syscall::decode(&SyscallArgs::new(nr, args))
}

/// The calls the walking skeleton needs; each must decode to a typed variant.
const REQUIRED: &[Sysno] = &[
    Sysno::read,
    Sysno::write,
    Sysno::open,
    Sysno::openat,
    Sysno::close,
    Sysno::stat,
    Sysno::fstat,
    Sysno::lstat,
    Sysno::mount,
    Sysno::umount2,
    Sysno::newfstatat,
    Sysno::statx,
    Sysno::poll,
    Sysno::ppoll,
    Sysno::lseek,
    Sysno::mmap,
    Sysno::mprotect,
    Sysno::munmap,
    Sysno::mremap,
    Sysno::madvise,
    Sysno::brk,
    Sysno::rt_sigaction,
    Sysno::rt_sigprocmask,
    Sysno::rt_sigreturn,
    Sysno::sigaltstack,
    Sysno::ioctl,
    Sysno::pread64,
    Sysno::pwrite64,
    Sysno::readv,
    Sysno::writev,
    Sysno::access,
    Sysno::faccessat,
    Sysno::faccessat2,
    Sysno::pipe,
    Sysno::pipe2,
    Sysno::dup,
    Sysno::dup2,
    Sysno::dup3,
    Sysno::fcntl,
    Sysno::sched_yield,
    Sysno::nanosleep,
    Sysno::clock_nanosleep,
    Sysno::getpid,
    Sysno::getppid,
    Sysno::gettid,
    Sysno::getuid,
    Sysno::geteuid,
    Sysno::getgid,
    Sysno::getegid,
    Sysno::exit,
    Sysno::exit_group,
    Sysno::uname,
    Sysno::getcwd,
    Sysno::chdir,
    Sysno::fchdir,
    Sysno::mkdir,
    Sysno::mkdirat,
    Sysno::unlink,
    Sysno::unlinkat,
    Sysno::rmdir,
    Sysno::rename,
    Sysno::renameat,
    Sysno::renameat2,
    Sysno::readlink,
    Sysno::readlinkat,
    Sysno::getdents64,
    Sysno::gettimeofday,
    Sysno::time,
    Sysno::clock_gettime,
    Sysno::clock_getres,
    Sysno::getrlimit,
    Sysno::setrlimit,
    Sysno::prlimit64,
    Sysno::sysinfo,
    Sysno::arch_prctl,
    Sysno::set_tid_address,
    Sysno::set_robust_list,
    Sysno::get_robust_list,
    Sysno::rseq,
    Sysno::futex,
    Sysno::futex_waitv,
    Sysno::sched_getaffinity,
    Sysno::sched_setaffinity,
    Sysno::getrandom,
    Sysno::kill,
    Sysno::tkill,
    Sysno::tgkill,
    Sysno::umask,
    Sysno::getpgrp,
    Sysno::getpgid,
    Sysno::getsid,
    Sysno::prctl,
    Sysno::fsync,
    Sysno::fdatasync,
    Sysno::sync,
    Sysno::syncfs,
    Sysno::statfs,
    Sysno::fstatfs,
    Sysno::truncate,
    Sysno::ftruncate,
    Sysno::creat,
    Sysno::link,
    Sysno::symlink,
    Sysno::linkat,
    Sysno::symlinkat,
    Sysno::preadv,
    Sysno::pwritev,
    Sysno::clone,
    Sysno::clone3,
    Sysno::rt_sigpending,
    Sysno::rt_sigsuspend,
    Sysno::rt_sigtimedwait,
    Sysno::rt_sigqueueinfo,
    Sysno::rt_tgsigqueueinfo,
    Sysno::pause,
    Sysno::getitimer,
    Sysno::setitimer,
    Sysno::alarm,
    Sysno::timer_create,
    Sysno::timer_settime,
    Sysno::timer_gettime,
    Sysno::timer_getoverrun,
    Sysno::timer_delete,
    Sysno::getcpu,
    Sysno::getrusage,
    Sysno::times,
    Sysno::sched_getscheduler,
    Sysno::sched_setscheduler,
    Sysno::sched_getparam,
    Sysno::sched_setparam,
    Sysno::sched_get_priority_max,
    Sysno::sched_get_priority_min,
    Sysno::sched_rr_get_interval,
    Sysno::getpriority,
    Sysno::setpriority,
    Sysno::msync,
    Sysno::mincore,
    Sysno::mlock,
    Sysno::munlock,
    Sysno::mlock2,
    Sysno::mlockall,
    Sysno::munlockall,
    Sysno::select,
    Sysno::pselect6,
    Sysno::epoll_create,
    Sysno::epoll_create1,
    Sysno::epoll_ctl,
    Sysno::epoll_wait,
    Sysno::epoll_pwait,
    Sysno::epoll_pwait2,
    Sysno::eventfd,
    Sysno::eventfd2,
    Sysno::timerfd_create,
    Sysno::timerfd_settime,
    Sysno::timerfd_gettime,
    Sysno::signalfd,
    Sysno::signalfd4,
    Sysno::close_range,
    Sysno::memfd_create,
    Sysno::socket,
    Sysno::socketpair,
    Sysno::bind,
    Sysno::listen,
    Sysno::accept,
    Sysno::accept4,
    Sysno::connect,
    Sysno::sendto,
    Sysno::recvfrom,
    Sysno::sendmsg,
    Sysno::recvmsg,
    Sysno::sendmmsg,
    Sysno::recvmmsg,
    Sysno::shutdown,
    Sysno::getsockname,
    Sysno::getpeername,
    Sysno::setsockopt,
    Sysno::getsockopt,
    Sysno::setpgid,
    Sysno::setsid,
    Sysno::fork,
    Sysno::vfork,
    Sysno::execve,
    Sysno::execveat,
    Sysno::wait4,
    Sysno::waitid,
    Sysno::flock,
    Sysno::chmod,
    Sysno::fchmod,
    Sysno::fchmodat,
    Sysno::fchmodat2,
    Sysno::chown,
    Sysno::fchown,
    Sysno::lchown,
    Sysno::fchownat,
    Sysno::utime,
    Sysno::utimes,
    Sysno::futimesat,
    Sysno::utimensat,
    Sysno::setxattr,
    Sysno::lsetxattr,
    Sysno::fsetxattr,
    Sysno::getxattr,
    Sysno::lgetxattr,
    Sysno::fgetxattr,
    Sysno::listxattr,
    Sysno::llistxattr,
    Sysno::flistxattr,
    Sysno::removexattr,
    Sysno::lremovexattr,
    Sysno::fremovexattr,
    Sysno::sendfile,
    Sysno::copy_file_range,
    Sysno::splice,
    Sysno::tee,
    Sysno::vmsplice,
    Sysno::fallocate,
    Sysno::openat2,
    Sysno::inotify_init,
    Sysno::inotify_init1,
    Sysno::inotify_add_watch,
    Sysno::inotify_rm_watch,
    Sysno::pidfd_open,
    Sysno::pidfd_send_signal,
    Sysno::pidfd_getfd,
];

#[test]
fn every_required_call_decodes_to_a_variant() {
    for &s in REQUIRED {
        let call = decode(s.id() as u64, [0; 6]);
        assert!(
            !matches!(call, Syscall::Unknown { .. }),
            "{} decoded as Unknown",
            s.name()
        );
        assert!(
            Syscall::DECODED.contains(&s),
            "{} missing from DECODED",
            s.name()
        );
    }
    assert_eq!(
        Syscall::DECODED.len(),
        REQUIRED.len(),
        "DECODED lists a call not required"
    );
}

#[test]
fn sysno_round_trips_for_every_linux_number() {
    for s in Sysno::iter() {
        let nr = s.id() as u64;
        let call = decode(nr, [1, 2, 3, 4, 5, 6]);
        assert_eq!(call.sysno(), Some(s), "nr {nr}");
        assert_eq!(call.name(), s.name());
        let known = !matches!(call, Syscall::Unknown { .. });
        assert_eq!(known, Syscall::DECODED.contains(&s), "{}", s.name());
        if let Syscall::Unknown { nr: n, args } = call {
            assert_eq!((n, args), (nr, [1, 2, 3, 4, 5, 6]));
        }
    }
}

#[test]
fn numbers_linux_does_not_define_are_unknown() {
    // 335 (uretprobe) is a real number oxv does not decode: Unknown, but named.
    let call = decode(335, [0; 6]);
    assert!(matches!(call, Syscall::Unknown { nr: 335, .. }));
    assert_eq!(call.name(), "uretprobe");
    for nr in [
        400,
        10_000,
        u64::MAX,
        0x4000_0000,
        0x4000_0000 + 1,
        0xffff_ffff,
        0x8000_0000,
    ] {
        let call = decode(nr, [7; 6]);
        assert_eq!(call, Syscall::Unknown { nr, args: [7; 6] }, "nr {nr:#x}");
        assert_eq!(call.sysno(), None);
        assert_eq!(call.name(), "unknown");
    }
}

#[test]
fn numbers_and_ints_are_the_low_32_bits_like_linux() {
    // Linux sign-extends eax: the high half of rax is ignored.
    assert!(matches!(
        decode(0x1_0000_0000, [0; 6]),
        Syscall::Read { .. }
    ));
    assert_eq!(
        decode(Sysno::close.id() as u64, [0xffff_ffff, 0, 0, 0, 0, 0]),
        Syscall::Close { fd: -1 }
    );
    assert_eq!(
        decode(
            Sysno::close.id() as u64,
            [0xdead_0000_0000_0003, 0, 0, 0, 0, 0]
        ),
        Syscall::Close { fd: 3 }
    );
    // A size_t keeps all 64 bits.
    let Syscall::Write { fd, buf } = decode(1, [1, 0x1000, u64::MAX, 0, 0, 0]) else {
        panic!("not write")
    };
    assert_eq!((fd, buf.addr.get(), buf.len), (1, 0x1000, usize::MAX));
}

#[test]
fn arguments_land_in_the_right_fields() {
    let at_fdcwd = (-100i64) as u64;
    assert_eq!(
        decode(
            Sysno::openat.id() as u64,
            [at_fdcwd, 0x2000, 0o2_000_000, 0o644, 9, 9]
        ),
        Syscall::Openat {
            dirfd: -100,
            pathname: UserCStr::new(0x2000),
            flags: 0o2_000_000,
            mode: 0o644
        }
    );
    assert_eq!(
        decode(Sysno::mmap.id() as u64, [0, 4096, 3, 0x22, u64::MAX, 0]),
        Syscall::Mmap {
            addr: UserAddr::NULL,
            length: 4096,
            prot: 3,
            flags: 0x22,
            fd: -1,
            offset: 0
        }
    );
    // sched_getaffinity(pid, len, mask): the pointer is the third register.
    assert_eq!(
        decode(
            Sysno::sched_getaffinity.id() as u64,
            [0, 128, 0x5000, 0, 0, 0]
        ),
        Syscall::SchedGetaffinity {
            pid: 0,
            mask: UserBuf::new(0x5000, 128)
        }
    );
    // getdents64's count is an unsigned int.
    assert_eq!(
        decode(
            Sysno::getdents64.id() as u64,
            [3, 0x6000, 0x1_0000_0010, 0, 0, 0]
        ),
        Syscall::Getdents64 {
            fd: 3,
            dirp: UserBuf::new(0x6000, 0x10)
        }
    );
    assert_eq!(
        decode(
            Sysno::futex.id() as u64,
            [0x7000, 0x80, 1, 0x8000, 0x9000, 0xffff_ffff_ffff_ffff]
        ),
        Syscall::Futex {
            uaddr: UserPtr::new(0x7000),
            futex_op: 0x80,
            val: 1,
            timeout: 0x8000,
            uaddr2: UserPtr::new(0x9000),
            val3: u32::MAX,
        }
    );
    assert_eq!(
        decode(Sysno::lseek.id() as u64, [3, (-5i64) as u64, 1, 0, 0, 0]),
        Syscall::Lseek {
            fd: 3,
            offset: -5,
            whence: 1
        }
    );
    assert_eq!(
        decode(Sysno::rt_sigreturn.id() as u64, [1; 6]),
        Syscall::RtSigreturn
    );
    // The memory calls: lengths keep 64 bits, flags are ints.
    assert_eq!(
        decode(
            Sysno::msync.id() as u64,
            [0x1000, u64::MAX, 0x1_0000_0004, 0, 0, 0]
        ),
        Syscall::Msync {
            addr: UserAddr::new(0x1000),
            length: usize::MAX,
            flags: 4
        }
    );
    assert_eq!(
        decode(
            Sysno::mincore.id() as u64,
            [0x1000, 0x3000, 0x9000, 0, 0, 0]
        ),
        Syscall::Mincore {
            addr: UserAddr::new(0x1000),
            length: 0x3000,
            vec: UserAddr::new(0x9000)
        }
    );
    assert_eq!(
        decode(
            Sysno::mlock2.id() as u64,
            [0x2000, 0x1000, 0xffff_ffff, 0, 0, 0]
        ),
        Syscall::Mlock2 {
            addr: UserAddr::new(0x2000),
            len: 0x1000,
            flags: -1
        }
    );
    assert_eq!(
        decode(Sysno::munlock.id() as u64, [0x2000, 0x1000, 0, 0, 0, 0]),
        Syscall::Munlock {
            addr: UserAddr::new(0x2000),
            len: 0x1000
        }
    );
    assert_eq!(
        decode(Sysno::mlockall.id() as u64, [0x1_0000_0003, 0, 0, 0, 0, 0]),
        Syscall::Mlockall { flags: 3 }
    );
    assert_eq!(
        decode(Sysno::munlockall.id() as u64, [9; 6]),
        Syscall::Munlockall
    );
    assert_eq!(
        decode(
            Sysno::readlink.id() as u64,
            [0x1000, 0x2000, 0xffff_ffff, 0, 0, 0]
        ),
        Syscall::Readlink {
            pathname: UserCStr::new(0x1000),
            buf: UserAddr::new(0x2000),
            bufsiz: -1
        }
    );
}

#[test]
fn socket_calls_decode_with_linux_argument_types() {
    let minus_one = u64::MAX;
    assert_eq!(
        decode(
            Sysno::socket.id() as u64,
            [2 | (1 << 32), 0x80801, 0, 0, 0, 0]
        ),
        Syscall::Socket {
            domain: 2,
            type_: 0x80801,
            protocol: 0
        }
    );
    // sendto(fd, buf, len, flags, addr, addrlen): the length is a size_t, addrlen an int.
    assert_eq!(
        decode(
            Sysno::sendto.id() as u64,
            [3, 0x1000, 1 << 33, 0x4000, 0x2000, minus_one]
        ),
        Syscall::Sendto {
            sockfd: 3,
            buf: UserBuf::new(0x1000, 1 << 33),
            flags: 0x4000,
            dest_addr: UserAddr::new(0x2000),
            addrlen: -1
        }
    );
    assert_eq!(
        decode(Sysno::accept4.id() as u64, [4, 0, 0, 0x800, 0, 0]),
        Syscall::Accept4 {
            sockfd: 4,
            addr: UserAddr::NULL,
            addrlen: UserPtr::new(0),
            flags: 0x800
        }
    );
    assert_eq!(
        decode(Sysno::recvmmsg.id() as u64, [5, 0x3000, 8, 0x40, 0x4000, 0]),
        Syscall::Recvmmsg {
            sockfd: 5,
            msgvec: UserPtr::new(0x3000),
            vlen: 8,
            flags: 0x40,
            timeout: UserPtr::new(0x4000)
        }
    );
    for s in [
        Sysno::socketpair,
        Sysno::bind,
        Sysno::listen,
        Sysno::accept,
        Sysno::connect,
        Sysno::recvfrom,
        Sysno::sendmsg,
        Sysno::recvmsg,
        Sysno::sendmmsg,
        Sysno::shutdown,
        Sysno::getsockname,
        Sysno::getpeername,
        Sysno::setsockopt,
        Sysno::getsockopt,
    ] {
        assert!(
            !matches!(decode(s.id() as u64, [0; 6]), Syscall::Unknown { .. }),
            "{s} decodes"
        );
    }
}

#[test]
fn readiness_and_event_file_calls_decode_their_arguments() {
    assert_eq!(
        decode(
            Sysno::epoll_ctl.id() as u64,
            [0x1_0000_0004, 1, 0xffff_ffff, 0x7000, 0, 0]
        ),
        Syscall::EpollCtl {
            epfd: 4,
            op: 1,
            fd: -1,
            event: UserAddr::new(0x7000)
        }
    );
    assert_eq!(
        decode(
            Sysno::epoll_pwait2.id() as u64,
            [3, 0x8000, 16, 0x9000, 0xa000, 8]
        ),
        Syscall::EpollPwait2 {
            epfd: 3,
            events: UserAddr::new(0x8000),
            maxevents: 16,
            timeout: UserPtr::new(0x9000),
            sigmask: UserPtr::new(0xa000),
            sigsetsize: 8
        }
    );
    assert_eq!(
        decode(
            Sysno::pselect6.id() as u64,
            [5, 0x1000, 0, 0x2000, 0x3000, 0x4000]
        ),
        Syscall::Pselect6 {
            nfds: 5,
            readfds: UserAddr::new(0x1000),
            writefds: UserAddr::new(0),
            exceptfds: UserAddr::new(0x2000),
            timeout: UserPtr::new(0x3000),
            sigmask: UserAddr::new(0x4000)
        }
    );
    assert_eq!(
        decode(
            Sysno::eventfd2.id() as u64,
            [0x1_0000_0007, 0x80801, 0, 0, 0, 0]
        ),
        Syscall::Eventfd2 {
            initval: 7,
            flags: 0x80801
        }
    );
    assert_eq!(
        decode(Sysno::timerfd_settime.id() as u64, [3, 1, 0x1000, 0, 0, 0]),
        Syscall::TimerfdSettime {
            fd: 3,
            flags: 1,
            new_value: UserPtr::new(0x1000),
            old_value: UserPtr::new(0)
        }
    );
    assert_eq!(
        decode(
            Sysno::signalfd4.id() as u64,
            [u64::MAX, 0x1000, 8, 0x800, 0, 0]
        ),
        Syscall::Signalfd4 {
            fd: -1,
            mask: UserPtr::new(0x1000),
            sizemask: 8,
            flags: 0x800
        }
    );
    assert_eq!(
        decode(
            Sysno::close_range.id() as u64,
            [3, u32::MAX as u64, 4, 0, 0, 0]
        ),
        Syscall::CloseRange {
            first: 3,
            last: u32::MAX,
            flags: 4
        }
    );
}
