use super::*;
use crate::errno::Errno;
use crate::syscall::SyscallArgs;
use crate::user::fake::FakeUserMemory;
use syscalls::Sysno;

const STR: u64 = 0x1000; // strings and buffers
const DATA: u64 = 0x2000; // structs

fn mem() -> FakeUserMemory {
    let mut m = FakeUserMemory::new();
    m.map(STR, 0x1000, true);
    m.map(DATA, 0x1000, true);
    m
}

fn call(s: Sysno, args: &[u64]) -> Syscall {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    Syscall::decode(&SyscallArgs::new(s.id() as u64, a))
}

fn entry(m: &FakeUserMemory, c: &Syscall) -> String {
    let mut s = String::new();
    format_call(c, m, &mut s).unwrap();
    s
}

fn line(m: &FakeUserMemory, c: &Syscall, r: SysResult) -> String {
    let mut s = String::new();
    format_line(c, r, m, &mut s).unwrap();
    s
}

fn result(c: &Syscall, r: SysResult) -> String {
    let mut s = String::new();
    format_result(c, r, &mut s).unwrap();
    s
}

const AT_FDCWD: u64 = g::AT_FDCWD as i64 as u64;

#[test]
fn openat_like_strace() {
    let mut m = mem();
    m.poke(STR, b"/etc/passwd\0");
    let flags = (g::O_RDONLY | g::O_CLOEXEC) as u64;
    let c = call(Sysno::openat, &[AT_FDCWD, STR, flags, 0o777]);
    assert_eq!(
        entry(&m, &c),
        r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)"#
    );
    let flags = (g::O_WRONLY | g::O_CREAT | g::O_TRUNC) as u64;
    let c = call(Sysno::openat, &[3, STR, flags, 0o644]);
    assert_eq!(
        entry(&m, &c),
        r#"openat(3, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644)"#
    );
    let c = call(
        Sysno::open,
        &[STR, (g::O_RDWR | g::O_SYNC) as u64 | 0x4000_0000],
    );
    assert_eq!(
        entry(&m, &c),
        r#"open("/etc/passwd", O_RDWR|O_SYNC|0x40000000)"#
    );
}

#[test]
fn write_escapes_and_truncates_like_strace() {
    let mut m = mem();
    m.poke(STR, b"hi\n");
    assert_eq!(
        entry(&m, &call(Sysno::write, &[1, STR, 3])),
        r#"write(1, "hi\n", 3)"#
    );
    m.poke(STR, b"a\"b\\c\td\0e\x001\x7f\xff");
    assert_eq!(
        entry(&m, &call(Sysno::write, &[2, STR, 13])),
        r#"write(2, "a\"b\\c\td\0e\0001\177\377", 13)"#
    );
    m.poke(STR, &[b'x'; 40]);
    assert_eq!(
        entry(&m, &call(Sysno::write, &[1, STR, 40])),
        format!("write(1, \"{}\"..., 40)", "x".repeat(32))
    );
    // Unreadable data is shown as its address.
    assert_eq!(
        entry(&m, &call(Sysno::write, &[1, 0x9000, 3])),
        "write(1, 0x9000, 3)"
    );
}

#[test]
fn mmap_and_its_result() {
    let m = mem();
    let prot = (g::PROT_READ | g::PROT_WRITE) as u64;
    let flags = (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64;
    let c = call(Sysno::mmap, &[0, 4096, prot, flags, u64::MAX, 0]);
    assert_eq!(
        entry(&m, &c),
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
    );
    assert_eq!(result(&c, Ok(0x7f12_3456_7000)), "= 0x7f1234567000");
    let c = call(
        Sysno::mmap,
        &[
            0x40_0000,
            8192,
            0,
            (g::MAP_SHARED | g::MAP_FIXED) as u64,
            3,
            0x3000,
        ],
    );
    assert_eq!(
        entry(&m, &c),
        "mmap(0x400000, 8192, PROT_NONE, MAP_SHARED|MAP_FIXED, 3, 0x3000)"
    );
    assert_eq!(result(&call(Sysno::brk, &[0]), Ok(0x60_0000)), "= 0x600000");
}

#[test]
fn errors_print_name_and_message() {
    let c = call(Sysno::close, &[9]);
    assert_eq!(
        result(&c, Err(Errno::ENOENT)),
        "= -1 ENOENT (No such file or directory)"
    );
    assert_eq!(
        result(&c, Err(Errno::EBADF)),
        "= -1 EBADF (Bad file descriptor)"
    );
    assert_eq!(result(&c, Ok(0)), "= 0");
    for &e in Errno::ALL {
        assert!(!errno_message(e).is_empty());
    }
    let mut m = mem();
    m.poke(STR, b"/nope\0");
    let c = call(Sysno::openat, &[AT_FDCWD, STR, 0]);
    assert_eq!(
        line(&m, &c, Err(Errno::ENOENT)),
        r#"openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)"#
    );
}

#[test]
fn unknown_calls_show_raw_registers() {
    let m = mem();
    let c = Syscall::decode(&SyscallArgs::new(0x190, [1, 2, 3, 0, 0, 0xff]));
    assert_eq!(entry(&m, &c), "syscall_0x190(0x1, 0x2, 0x3, 0, 0, 0xff)");
    assert_eq!(
        result(&c, Err(Errno::ENOSYS)),
        "= -1 ENOSYS (Function not implemented)"
    );
    // A Linux call oxv does not decode keeps its name.
    let c = call(Sysno::kexec_load, &[0x11, 0]);
    assert_eq!(entry(&m, &c), "kexec_load(0x11, 0, 0, 0, 0, 0)");
    let c = call(Sysno::clone, &[0x11, 0]);
    assert_eq!(entry(&m, &c), "clone(0x11, 0x0, 0x0, 0x0, 0x0)");
}

#[test]
fn unreadable_and_null_paths() {
    let mut m = mem();
    assert_eq!(entry(&m, &call(Sysno::chdir, &[0])), "chdir(NULL)");
    assert_eq!(entry(&m, &call(Sysno::chdir, &[0x9000])), "chdir(0x9000)");
    // A string running into an unmapped page is unreadable as a whole.
    m.poke(0x2ffe, b"ab");
    assert_eq!(entry(&m, &call(Sysno::unlink, &[0x2ffe])), "unlink(0x2ffe)");
    // A path longer than PATH_MAX is cut.
    let mut big = FakeUserMemory::new();
    big.map(0x10000, 0x2000, true);
    big.poke(0x10000, &[b'a'; 0x2000]);
    let s = entry(&big, &call(Sysno::rmdir, &[0x10000]));
    assert!(s.ends_with("\"...)"), "{}", &s[s.len() - 10..]);
    assert_eq!(s.len(), "rmdir(\"\"...)".len() + PATH_MAX);
}

#[test]
fn read_shows_the_data_once_returned() {
    let mut m = mem();
    m.poke(STR, b"abc");
    let c = call(Sysno::read, &[3, STR, 64]);
    assert_eq!(entry(&m, &c), "read(3, 0x1000, 64)");
    assert_eq!(line(&m, &c, Ok(3)), r#"read(3, "abc", 64) = 3"#);
    assert_eq!(
        line(&m, &c, Err(Errno::EAGAIN)),
        "read(3, 0x1000, 64) = -1 EAGAIN (Resource temporarily unavailable)"
    );
    m.poke(STR, b"/root\0");
    let c = call(Sysno::getcwd, &[STR, 4096]);
    assert_eq!(line(&m, &c, Ok(6)), r#"getcwd("/root", 4096) = 6"#);
}

#[test]
fn signals_and_sigactions() {
    let mut m = mem();
    let act = KernelSigaction {
        handler: 0x40_1000,
        flags: (g::SA_RESTORER | g::SA_RESTART) as u64,
        restorer: 0x40_2000,
        mask: SigSet::EMPTY.with(Signal::SIGINT).with(Signal::SIGTERM),
    };
    UserPtr::new(DATA).write(&mut m, &act).unwrap();
    let c = call(Sysno::rt_sigaction, &[g::SIGINT as u64, DATA, 0, 8]);
    assert_eq!(
        entry(&m, &c),
        "rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[INT TERM], \
         sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}, NULL, 8)"
    );
    UserPtr::new(DATA)
        .write(
            &mut m,
            &KernelSigaction {
                handler: SIG_IGN,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        entry(
            &m,
            &call(Sysno::rt_sigaction, &[g::SIGPIPE as u64, DATA, 0, 8])
        ),
        "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, NULL, 8)"
    );
    UserPtr::new(DATA)
        .write(&mut m, &SigSet(!((1 << 31) | (1 << 32))))
        .unwrap();
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::rt_sigprocmask,
                &[g::SIG_BLOCK as u64, DATA, DATA + 8, 8]
            )
        ),
        "rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], 0x2008, 8)"
    );
    assert_eq!(entry(&m, &call(Sysno::kill, &[1, 15])), "kill(1, SIGTERM)");
    assert_eq!(entry(&m, &call(Sysno::kill, &[1, 0])), "kill(1, 0)");
    assert_eq!(
        entry(&m, &call(Sysno::tgkill, &[5, 6, 34])),
        "tgkill(5, 6, SIGRT_2)"
    );
}

#[test]
fn time_and_futex() {
    let mut m = mem();
    UserPtr::new(DATA)
        .write(
            &mut m,
            &Timespec {
                tv_sec: 1,
                tv_nsec: 500,
            },
        )
        .unwrap();
    assert_eq!(
        entry(&m, &call(Sysno::nanosleep, &[DATA, 0])),
        "nanosleep({tv_sec=1, tv_nsec=500}, NULL)"
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::clock_nanosleep,
                &[g::CLOCK_MONOTONIC as u64, g::TIMER_ABSTIME as u64, DATA, 0]
            )
        ),
        "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=1, tv_nsec=500}, NULL)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::clock_gettime, &[u32::MAX as u64, DATA])),
        "clock_gettime(-1, 0x2000)"
    );
    let wait = (g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG) as u64;
    assert_eq!(
        entry(&m, &call(Sysno::futex, &[0x2100, wait, 2, 0])),
        "futex(0x2100, FUTEX_WAIT_PRIVATE, 2, NULL)"
    );
    let wake = (g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG) as u64;
    assert_eq!(
        entry(&m, &call(Sysno::futex, &[0x2100, wake, 1, 7, 8, 9])),
        "futex(0x2100, FUTEX_WAKE_PRIVATE, 1)"
    );
    let bitset = (g::FUTEX_WAIT_BITSET | g::FUTEX_CLOCK_REALTIME) as u64;
    assert_eq!(
        entry(
            &m,
            &call(Sysno::futex, &[0x2100, bitset, 0, DATA, 0, u32::MAX as u64])
        ),
        "futex(0x2100, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=500}, FUTEX_BITSET_MATCH_ANY)"
    );
}

#[test]
fn misc_calls() {
    let mut m = mem();
    assert_eq!(
        entry(&m, &call(Sysno::arch_prctl, &[0x1002, 0x7000])),
        "arch_prctl(ARCH_SET_FS, 0x7000)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::arch_prctl, &[0x3001, 0x7000])),
        "arch_prctl(0x3001, 0x7000)"
    );
    assert_eq!(entry(&m, &call(Sysno::exit_group, &[0])), "exit_group(0)");
    assert_eq!(result(&call(Sysno::exit_group, &[0]), Ok(0)), "= ?");
    assert_eq!(entry(&m, &call(Sysno::getpid, &[])), "getpid()");
    assert_eq!(entry(&m, &call(Sysno::umask, &[0o22])), "umask(022)");
    assert_eq!(result(&call(Sysno::umask, &[0o22]), Ok(0o77)), "= 077");
    assert_eq!(
        entry(&m, &call(Sysno::lseek, &[3, (-2i64) as u64, 2])),
        "lseek(3, -2, SEEK_END)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::fcntl, &[3, g::F_GETFD as u64, 99])),
        "fcntl(3, F_GETFD)"
    );
    assert_eq!(
        entry(
            &m,
            &call(Sysno::fcntl, &[3, g::F_SETFD as u64, g::FD_CLOEXEC as u64])
        ),
        "fcntl(3, F_SETFD, FD_CLOEXEC)"
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::fcntl,
                &[3, g::F_SETFL as u64, (g::O_RDWR | g::O_NONBLOCK) as u64]
            )
        ),
        "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)"
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::ioctl,
                &[1, linux_raw_sys::ioctl::TIOCGWINSZ as u64, DATA]
            )
        ),
        "ioctl(1, TIOCGWINSZ, 0x2000)"
    );
    m.poke(STR, b"/x\0");
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::newfstatat,
                &[AT_FDCWD, STR, DATA, g::AT_SYMLINK_NOFOLLOW as u64]
            )
        ),
        r#"newfstatat(AT_FDCWD, "/x", 0x2000, AT_SYMLINK_NOFOLLOW)"#
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::statx,
                &[
                    AT_FDCWD,
                    STR,
                    g::AT_EMPTY_PATH as u64,
                    g::STATX_BASIC_STATS as u64,
                    DATA
                ]
            )
        ),
        r#"statx(AT_FDCWD, "/x", AT_EMPTY_PATH, STATX_BASIC_STATS, 0x2000)"#
    );
    assert_eq!(
        entry(
            &m,
            &call(Sysno::unlinkat, &[AT_FDCWD, STR, g::AT_REMOVEDIR as u64])
        ),
        r#"unlinkat(AT_FDCWD, "/x", AT_REMOVEDIR)"#
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::faccessat2,
                &[
                    AT_FDCWD,
                    STR,
                    (g::R_OK | g::X_OK) as u64,
                    g::AT_EACCESS as u64
                ]
            )
        ),
        r#"faccessat2(AT_FDCWD, "/x", R_OK|X_OK, AT_EACCESS)"#
    );
    assert_eq!(
        entry(&m, &call(Sysno::access, &[STR, 0])),
        r#"access("/x", F_OK)"#
    );
    assert_eq!(
        entry(&m, &call(Sysno::mkdir, &[STR, 0o755])),
        r#"mkdir("/x", 0755)"#
    );
    UserPtr::new(DATA).write(&mut m, &[3i32, 4]).unwrap();
    let c = call(Sysno::pipe2, &[DATA, g::O_CLOEXEC as u64]);
    assert_eq!(entry(&m, &c), "pipe2(0x2000, O_CLOEXEC)");
    assert_eq!(line(&m, &c, Ok(0)), "pipe2([3, 4], O_CLOEXEC) = 0");
    UserPtr::new(DATA)
        .write(
            &mut m,
            &Rlimit64 {
                rlim_cur: 1024,
                rlim_max: RLIM_INFINITY,
            },
        )
        .unwrap();
    assert_eq!(
        entry(
            &m,
            &call(Sysno::prlimit64, &[0, g::RLIMIT_NOFILE as u64, DATA, 0])
        ),
        "prlimit64(0, RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=RLIM64_INFINITY}, NULL)"
    );
    m.poke(STR, b"worker\0");
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::prctl,
                &[linux_raw_sys::prctl::PR_SET_NAME as u64, STR]
            )
        ),
        r#"prctl(PR_SET_NAME, "worker")"#
    );
    assert_eq!(
        entry(
            &m,
            &call(Sysno::madvise, &[0x7000, 4096, g::MADV_DONTNEED as u64])
        ),
        "madvise(0x7000, 4096, MADV_DONTNEED)"
    );
    assert_eq!(
        entry(
            &m,
            &call(
                Sysno::mremap,
                &[0x7000, 4096, 8192, g::MREMAP_MAYMOVE as u64, 0x9000]
            )
        ),
        "mremap(0x7000, 4096, 8192, MREMAP_MAYMOVE)"
    );
}

#[test]
fn writev_shows_each_buffer() {
    let mut m = mem();
    m.poke(STR, b"hello world\n");
    UserPtr::new(DATA).write(&mut m, &[STR, 5]).unwrap();
    UserPtr::new(DATA + 16)
        .write(&mut m, &[STR + 5, 7])
        .unwrap();
    assert_eq!(
        entry(&m, &call(Sysno::writev, &[1, DATA, 2])),
        r#"writev(1, [{iov_base="hello", iov_len=5}, {iov_base=" world\n", iov_len=7}], 2)"#
    );
    let c = call(Sysno::readv, &[0, DATA, 2]);
    assert_eq!(
        entry(&m, &c),
        "readv(0, [{iov_base=0x1000, iov_len=5}, {iov_base=0x1005, iov_len=7}], 2)"
    );
    assert_eq!(
        line(&m, &c, Ok(7)),
        r#"readv(0, [{iov_base="hello", iov_len=5}, {iov_base=" w", iov_len=7}], 2) = 7"#
    );
    assert_eq!(
        entry(&m, &call(Sysno::writev, &[1, 0x9000, 2])),
        "writev(1, 0x9000, 2)"
    );
}

#[test]
fn sigaltstack_struct() {
    let mut m = mem();
    let ss = StackT {
        ss_sp: 0x5000,
        ss_flags: g::SS_DISABLE as i32,
        _pad: 0,
        ss_size: 8192,
    };
    UserPtr::new(DATA).write(&mut m, &ss).unwrap();
    assert_eq!(
        entry(&m, &call(Sysno::sigaltstack, &[DATA, 0])),
        "sigaltstack({ss_sp=0x5000, ss_flags=SS_DISABLE, ss_size=8192}, NULL)"
    );
}

#[test]
fn every_decoded_call_formats_without_memory() {
    // No call may panic or fail to format, whatever garbage its registers hold.
    let empty = FakeUserMemory::new();
    for &s in Syscall::DECODED {
        for args in [
            [0u64; 6],
            [u64::MAX; 6],
            [0x1000, 0x20, 3, 0xffff_ffff, 0x8000_0000_0000, 7],
        ] {
            let c = Syscall::decode(&SyscallArgs::new(s.id() as u64, args));
            let text = line(&empty, &c, Ok(usize::MAX));
            assert!(text.starts_with(s.name()), "{text}");
            assert!(text.contains(") = "), "{text}");
        }
    }
}

#[test]
fn socket_calls_like_strace() {
    let mut m = mem();
    assert_eq!(
        entry(&m, &call(Sysno::socket, &[2, 1 | 0x80000, 0])),
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)"
    );
    // struct sockaddr_in for 127.0.0.1:8080.
    m.poke(
        DATA,
        &[2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(
        entry(&m, &call(Sysno::connect, &[3, DATA, 16])),
        "connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}, 16)"
    );
    let mut un = vec![1u8, 0];
    un.extend_from_slice(b"/tmp/s\0");
    m.poke(DATA + 0x100, &un);
    assert_eq!(
        entry(&m, &call(Sysno::bind, &[3, DATA + 0x100, 9])),
        "bind(3, {sa_family=AF_UNIX, sun_path=\"/tmp/s\"}, 9)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::setsockopt, &[3, 1, 2, 0, 4])),
        "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, NULL, 4)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::shutdown, &[3, 1])),
        "shutdown(3, SHUT_WR)"
    );
    assert_eq!(
        entry(&m, &call(Sysno::sendto, &[3, STR, 0, 0x4040, 0, 0])),
        "sendto(3, \"\", 0, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0)"
    );
}
