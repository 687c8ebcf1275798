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
