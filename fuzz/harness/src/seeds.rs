//! Hand-written seeds: short programs that reach states the strace-derived seeds do not, and
//! the reproducers of the bugs found (kept here as operations so they read as programs; the
//! `.bin` files under `fuzz/seeds/` and `fuzz/regressions/` are their encodings).

mod events;
mod futex;

pub use events::{events_tour, socket_tour};
pub use futex::{bug16_wake_op_wakes_requeue_pi_waiter, futex_tour, pi_owner_died, pi_tour};

use crate::input::{Access, Arg, Op, SPECIAL};
use linux_raw_sys::general as g;
use oxv_abi::Sysno;

/// `SCRATCH_BASE + off`.
const fn s(off: u16) -> Arg {
    Arg::Scratch(off)
}

/// A raw value.
const fn v(x: u64) -> Arg {
    Arg::Raw(x)
}

/// The result of the `k`-th previous call.
const fn r(k: u8) -> Arg {
    Arg::Result(k)
}

fn special(x: u64) -> Arg {
    let k = SPECIAL
        .iter()
        .position(|&sv| sv == x)
        .expect("a value from SPECIAL");
    Arg::Special(k as u8)
}

fn call(nr: Sysno, a: &[Arg]) -> Op {
    let mut args = [Arg::Small(0); 6];
    args[..a.len()].copy_from_slice(a);
    Op::Syscall {
        nr: nr.id() as u16,
        args,
    }
}

fn path(off: u16, p: &[u8]) -> Op {
    let mut bytes = p.to_vec();
    bytes.push(0);
    Op::Poke { off, bytes }
}

fn at_fdcwd() -> Arg {
    v(g::AT_FDCWD as i64 as u64)
}

const RW: u64 = (g::PROT_READ | g::PROT_WRITE) as u64;
const PRIV_ANON: u64 = (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64;

/// Bug 1: read(2)/pread(2) into a private file mapping of the same tmpfs file, before the
/// page was touched. The read holds the inode lock while it copies out; the copy faults the
/// page in, which reads the same file and spins on that lock forever.
pub fn bug1_read_into_own_mapping() -> Vec<Op> {
    vec![
        path(0, b"/tmp/a"),
        call(
            Sysno::openat,
            &[
                at_fdcwd(),
                s(0),
                v((g::O_RDWR | g::O_CREAT) as u64),
                v(0o600),
            ],
        ),
        call(Sysno::write, &[r(0), s(0x100), v(4096)]),
        call(
            Sysno::mmap,
            &[v(0), v(4096), v(RW), v(g::MAP_PRIVATE as u64), r(1), v(0)],
        ),
        call(Sysno::pread64, &[r(2), r(0), v(4096), v(0)]),
    ]
}

/// Bug 1, the other direction: write(2) from an untouched private mapping of the same file.
pub fn bug1_write_from_own_mapping() -> Vec<Op> {
    vec![
        path(0, b"/tmp/a"),
        call(
            Sysno::openat,
            &[
                at_fdcwd(),
                s(0),
                v((g::O_RDWR | g::O_CREAT) as u64),
                v(0o600),
            ],
        ),
        call(Sysno::write, &[r(0), s(0x100), v(8192)]),
        call(
            Sysno::mmap,
            &[
                v(0),
                v(8192),
                v(g::PROT_READ as u64),
                v(g::MAP_PRIVATE as u64),
                r(1),
                v(0),
            ],
        ),
        call(Sysno::pwrite64, &[r(2), r(0), v(100), v(4096)]),
    ]
}

/// Bug 2: lowering `RLIMIT_NOFILE` does not limit new fds (the kernel never passes the limit
/// to the fd table): open(2) returns fd 3 under a limit of 3, where Linux says `EMFILE`.
pub fn bug2_rlimit_nofile_ignored() -> Vec<Op> {
    let mut limit = Vec::new();
    limit.extend_from_slice(&3u64.to_le_bytes());
    limit.extend_from_slice(&3u64.to_le_bytes());
    vec![
        Op::Poke {
            off: 0x200,
            bytes: limit,
        },
        call(
            Sysno::prlimit64,
            &[v(0), v(g::RLIMIT_NOFILE as u64), s(0x200), v(0)],
        ),
        path(0, b"/dev/null"),
        call(Sysno::open, &[s(0), v(g::O_RDONLY as u64)]),
    ]
}

/// Bug 10: a 2 GiB write(2) to the terminal from a large shared anonymous mapping (every
/// page reads as zeros) took 17 s under the fuzzer's 10 s limit: the terminal translated
/// newlines byte by byte in 256-byte chunks, and the harness's console kept every byte.
pub fn bug10_terminal_write_2gib() -> Vec<Op> {
    vec![
        call(
            Sysno::mmap,
            &[
                v(0),
                v(1 << 32),
                v(RW),
                v((g::MAP_SHARED | g::MAP_ANONYMOUS) as u64),
                v(u64::MAX),
                v(0),
            ],
        ),
        call(Sysno::write, &[v(1), r(0), special(0x7fff_f000)]),
    ]
}

/// Bug 12, the netlink side: sendto(2) of a 2 GiB buffer on a netlink socket sized a kernel
/// buffer by it (Linux: `EMSGSIZE` past the send buffer). The UDP side (recvfrom(2) into a
/// 2 GiB buffer sized the staging buffer by it) is the fuzzer's own input,
/// `regressions/bug12-udp-recv-2gib.bin`.
pub fn bug12_netlink_send_2gib() -> Vec<Op> {
    use oxv_abi::linux::net as n;
    vec![
        call(
            Sysno::mmap,
            &[
                v(0),
                v(1 << 32),
                v(RW),
                v((g::MAP_SHARED | g::MAP_ANONYMOUS) as u64),
                v(u64::MAX),
                v(0),
            ],
        ),
        call(
            Sysno::socket,
            &[
                v(n::AF_NETLINK as u64),
                v(n::SOCK_RAW as u64),
                v(n::NETLINK_ROUTE as u64),
            ],
        ),
        call(
            Sysno::sendto,
            &[r(0), r(1), special(0x7fff_f000), v(0), v(0), v(0)],
        ),
    ]
}

/// Memory: mappings of every kind, splits, protections, the break, faults, stack growth.
pub fn memory_tour() -> Vec<Op> {
    vec![
        call(
            Sysno::mmap,
            &[v(0), v(0x10000), v(RW), v(PRIV_ANON), v(u64::MAX), v(0)],
        ),
        call(Sysno::mprotect, &[r(0), v(0x3000), v(g::PROT_READ as u64)]),
        Op::Touch {
            addr: Arg::Vma(2, 1),
            access: Access::Write,
        },
        call(Sysno::munmap, &[r(1), v(0x1000)]),
        call(
            Sysno::mmap,
            &[
                special(0x10000),
                v(0x2000),
                v(g::PROT_NONE as u64),
                v(PRIV_ANON | g::MAP_FIXED_NOREPLACE as u64),
                v(u64::MAX),
                v(0),
            ],
        ),
        call(Sysno::brk, &[v(0)]),
        call(Sysno::brk, &[v(0x0203_0000)]),
        Op::Touch {
            addr: v(0x0202_0000),
            access: Access::Write,
        },
        call(Sysno::brk, &[v(0x0201_0800)]),
        Op::Touch {
            addr: special(crate::input::STACK_TOP - 0x80_0000 - 0x1000),
            access: Access::Write,
        },
        Op::Touch {
            addr: v(crate::input::STACK_TOP - 0x4_0000),
            access: Access::Write,
        },
        call(
            Sysno::mmap,
            &[
                v(0),
                v(0x4000),
                v(RW),
                v(PRIV_ANON | g::MAP_POPULATE as u64),
                v(u64::MAX),
                v(0),
            ],
        ),
        call(
            Sysno::mprotect,
            &[r(0), v(0x4000), v((g::PROT_READ | g::PROT_EXEC) as u64)],
        ),
        call(Sysno::munmap, &[v(0), v(u64::MAX)]),
        call(
            Sysno::madvise,
            &[r(2), v(0x1000), v(g::MADV_DONTNEED as u64)],
        ),
    ]
}

/// Files: create, write, read back, seek, truncate, directories, links, renames, getdents.
pub fn file_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    vec![
        path(0, b"/tmp/dir"),
        call(Sysno::mkdir, &[s(0), v(0o755)]),
        path(0x40, b"/tmp/dir/f"),
        call(
            Sysno::openat,
            &[
                at_fdcwd(),
                s(0x40),
                o(g::O_RDWR | g::O_CREAT | g::O_TRUNC),
                v(0o644),
            ],
        ),
        call(Sysno::write, &[r(0), s(0x40), v(11)]),
        call(Sysno::lseek, &[r(1), v(0), o(g::SEEK_SET)]),
        call(Sysno::read, &[r(2), s(0x1000), v(64)]),
        call(Sysno::ftruncate, &[r(3), v(1 << 20)]),
        call(
            Sysno::pread64,
            &[r(4), s(0x2000), v(8192), v((1 << 20) - 100)],
        ),
        call(Sysno::fstat, &[r(5), s(0x3000)]),
        path(0x80, b"/tmp/dir/g"),
        call(Sysno::link, &[s(0x40), s(0x80)]),
        call(Sysno::symlink, &[s(0x40), s(0x100)]),
        path(0xc0, b"/tmp/dir/h"),
        call(Sysno::rename, &[s(0x80), s(0xc0)]),
        call(
            Sysno::openat,
            &[at_fdcwd(), s(0), o(g::O_RDONLY | g::O_DIRECTORY), v(0)],
        ),
        call(Sysno::getdents64, &[r(0), s(0x4000), v(4096)]),
        call(Sysno::fchdir, &[r(1)]),
        call(Sysno::getcwd, &[s(0x5000), v(256)]),
        call(Sysno::unlinkat, &[r(3), s(0x40), v(0)]),
        call(Sysno::dup2, &[r(4), v(200)]),
        call(Sysno::fcntl, &[r(0), o(g::F_DUPFD_CLOEXEC), v(5)]),
        call(Sysno::close, &[v(200)]),
        call(
            Sysno::readlink,
            &[special(crate::input::RO_BASE), s(0x6000), v(64)],
        ),
        call(
            Sysno::mmap,
            &[v(0), v(8192), v(RW), v(g::MAP_PRIVATE as u64), v(3), v(0)],
        ),
        Op::Touch {
            addr: r(0),
            access: Access::Read,
        },
        Op::Touch {
            addr: r(1),
            access: Access::Write,
        },
    ]
}

/// Devices and procfs: /dev/zero into memory, /dev/full, urandom, the terminal's ioctls, poll.
pub fn device_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    let mut pollfds = Vec::new();
    for fd in [0i32, 1, 99, -1] {
        pollfds.extend_from_slice(&fd.to_le_bytes());
        pollfds.extend_from_slice(&(g::POLLIN as i16 | g::POLLOUT as i16).to_le_bytes());
        pollfds.extend_from_slice(&0i16.to_le_bytes());
    }
    vec![
        path(0, b"/dev/zero"),
        call(Sysno::open, &[s(0), o(g::O_RDONLY)]),
        call(Sysno::read, &[r(0), s(0x100), v(0x2_0000)]),
        path(0x20, b"/dev/full"),
        call(Sysno::open, &[s(0x20), o(g::O_WRONLY)]),
        call(Sysno::write, &[r(0), s(0x100), v(10)]),
        path(0x40, b"/proc/self/exe"),
        call(Sysno::readlink, &[s(0x40), s(0x200), v(4)]),
        call(
            Sysno::ioctl,
            &[v(0), v(linux_raw_sys::ioctl::TCGETS as u64), s(0x300)],
        ),
        call(
            Sysno::ioctl,
            &[
                v(1),
                v(linux_raw_sys::ioctl::TIOCGWINSZ as u64),
                special(u64::MAX),
            ],
        ),
        Op::Poke {
            off: 0x400,
            bytes: pollfds,
        },
        call(Sysno::poll, &[s(0x400), v(4), v(10)]),
        call(Sysno::ppoll, &[s(0x400), v(4), v(0), s(0x500), v(8)]),
        call(Sysno::read, &[v(0), s(0x600), v(100)]),
        call(Sysno::read, &[v(0), s(0x600), v(100)]),
        path(0x60, b"/proc/self/cmdline"),
        call(Sysno::open, &[s(0x60), o(g::O_RDONLY)]),
        call(
            Sysno::read,
            &[r(0), special(crate::input::SCRATCH_BASE + 0xffff), v(100)],
        ),
    ]
}

/// Signals, time and limits.
pub fn process_tour() -> Vec<Op> {
    let mut act = Vec::new();
    for w in [0x40_1000u64, u64::MAX, 0x40_2000, u64::MAX] {
        act.extend_from_slice(&w.to_le_bytes());
    }
    let mut stack = Vec::new();
    stack.extend_from_slice(&0x1000_8000u64.to_le_bytes());
    stack.extend_from_slice(&0i32.to_le_bytes());
    stack.extend_from_slice(&0i32.to_le_bytes());
    stack.extend_from_slice(&0x4000u64.to_le_bytes());
    let mut ts = Vec::new();
    ts.extend_from_slice(&0i64.to_le_bytes());
    ts.extend_from_slice(&999_999_999i64.to_le_bytes());
    vec![
        Op::Poke {
            off: 0x100,
            bytes: act,
        },
        call(Sysno::rt_sigaction, &[v(2), s(0x100), s(0x200), v(8)]),
        call(Sysno::rt_sigaction, &[v(9), s(0x100), s(0x200), v(8)]),
        call(
            Sysno::rt_sigprocmask,
            &[v(g::SIG_BLOCK as u64), s(0x108), s(0x300), v(8)],
        ),
        Op::Poke {
            off: 0x400,
            bytes: stack,
        },
        call(Sysno::sigaltstack, &[s(0x400), s(0x500)]),
        call(
            Sysno::clock_gettime,
            &[v(g::CLOCK_MONOTONIC as u64), s(0x600)],
        ),
        call(Sysno::clock_getres, &[v(u32::MAX as u64), s(0x600)]),
        Op::Poke {
            off: 0x700,
            bytes: ts,
        },
        call(Sysno::nanosleep, &[s(0x700), s(0x800)]),
        call(
            Sysno::clock_nanosleep,
            &[
                v(g::CLOCK_REALTIME as u64),
                v(g::TIMER_ABSTIME as u64),
                s(0x700),
                special(u64::MAX),
            ],
        ),
        call(Sysno::gettimeofday, &[s(0x900), s(0x910)]),
        call(Sysno::time, &[special(crate::input::RO_BASE)]),
        call(Sysno::getrlimit, &[v(g::RLIMIT_STACK as u64), s(0xa00)]),
        call(Sysno::setrlimit, &[v(g::RLIMIT_CORE as u64), s(0x100)]),
        call(
            Sysno::prlimit64,
            &[v(0), v(g::RLIMIT_NOFILE as u64), v(0), s(0xb00)],
        ),
        call(Sysno::umask, &[v(0o7777)]),
    ]
}

/// `struct open_how` (openat2(2)): flags, mode, resolve.
fn open_how(flags: u32, mode: u64, resolve: u32) -> Vec<u8> {
    let mut how = Vec::new();
    how.extend_from_slice(&(flags as u64).to_le_bytes());
    how.extend_from_slice(&mode.to_le_bytes());
    how.extend_from_slice(&(resolve as u64).to_le_bytes());
    how
}

/// openat2(2) and inotify(7): resolve restrictions, sizes of `open_how`, watches, the events a
/// file creation queues, reads of an empty instance, and the process and CPU calls around
/// them (pidfd_open, pidfd_send_signal, pidfd_getfd, getcpu, sched_{get,set}affinity: the
/// kernel crate answers those itself, so they only count as not hosted here, but an input
/// that mixes them keeps the result references of the later calls honest).
pub fn newer_calls_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    let how_size = v(24);
    let mut mask = Vec::new();
    mask.extend_from_slice(&1u64.to_le_bytes());
    vec![
        path(0, b"/tmp"),
        path(0x20, b"/data/link"),
        path(0x40, b"new"),
        path(0x60, b"../etc/passwd"),
        Op::Poke {
            off: 0x100,
            bytes: open_how(g::O_RDONLY | g::O_DIRECTORY, 0, g::RESOLVE_NO_XDEV),
        },
        call(Sysno::openat2, &[at_fdcwd(), s(0), s(0x100), how_size]),
        Op::Poke {
            off: 0x120,
            bytes: open_how(
                g::O_RDWR | g::O_CREAT | g::O_EXCL,
                0o600,
                g::RESOLVE_BENEATH,
            ),
        },
        call(Sysno::openat2, &[r(0), s(0x40), s(0x120), how_size]),
        Op::Poke {
            off: 0x180,
            bytes: open_how(g::O_RDONLY, 0, g::RESOLVE_BENEATH),
        },
        call(Sysno::openat2, &[r(1), s(0x60), s(0x180), how_size]),
        Op::Poke {
            off: 0x140,
            bytes: open_how(g::O_RDONLY, 0, g::RESOLVE_NO_SYMLINKS),
        },
        call(Sysno::openat2, &[at_fdcwd(), s(0x20), s(0x140), how_size]),
        Op::Poke {
            off: 0x160,
            bytes: open_how(g::O_RDONLY, 0o777, g::RESOLVE_IN_ROOT | g::RESOLVE_CACHED),
        },
        call(Sysno::openat2, &[r(3), s(0x60), s(0x160), how_size]),
        call(Sysno::openat2, &[at_fdcwd(), s(0), s(0x100), v(16)]),
        call(Sysno::openat2, &[at_fdcwd(), s(0), s(0x100), v(4096)]),
        call(
            Sysno::openat2,
            &[at_fdcwd(), s(0), special(u64::MAX), how_size],
        ),
        call(Sysno::inotify_init1, &[o(g::IN_NONBLOCK | g::IN_CLOEXEC)]),
        call(Sysno::inotify_add_watch, &[r(0), s(0), o(g::IN_ALL_EVENTS)]),
        path(0x80, b"/tmp/watched"),
        call(
            Sysno::openat,
            &[at_fdcwd(), s(0x80), o(g::O_RDWR | g::O_CREAT), v(0o644)],
        ),
        call(Sysno::write, &[r(0), s(0x80), v(12)]),
        call(Sysno::close, &[r(1)]),
        call(Sysno::unlink, &[s(0x80)]),
        call(Sysno::read, &[r(5), s(0x1000), v(4096)]),
        call(Sysno::read, &[r(6), s(0x1000), v(4)]),
        call(Sysno::inotify_rm_watch, &[r(7), r(6)]),
        call(Sysno::inotify_rm_watch, &[r(8), v(999)]),
        call(Sysno::inotify_add_watch, &[v(0), s(0), o(g::IN_CREATE)]),
        call(Sysno::inotify_init, &[]),
        call(Sysno::read, &[r(0), s(0x1000), v(4096)]),
        call(Sysno::pidfd_open, &[v(1), v(0)]),
        call(Sysno::pidfd_getfd, &[r(0), v(1), v(0)]),
        call(Sysno::pidfd_send_signal, &[r(1), v(0), v(0), v(0)]),
        call(Sysno::getcpu, &[s(0x2000), s(0x2004), v(0)]),
        call(Sysno::sched_getaffinity, &[v(0), v(128), s(0x2100)]),
        Op::Poke {
            off: 0x2200,
            bytes: mask,
        },
        call(Sysno::sched_setaffinity, &[v(0), v(8), s(0x2200)]),
    ]
}

/// File attributes and the small file calls: modes, owners, times, extended attributes,
/// statfs, an eventfd, fallocate, copy_file_range, sync.
pub fn attributes_tour() -> Vec<Op> {
    let o = |f: u32| v(f as u64);
    let mut times = Vec::new();
    for (sec, nsec) in [(1_000_000_000i64, 0i64), (0, g::UTIME_NOW as i64)] {
        times.extend_from_slice(&sec.to_le_bytes());
        times.extend_from_slice(&nsec.to_le_bytes());
    }
    let mut counter = Vec::new();
    counter.extend_from_slice(&7u64.to_le_bytes());
    vec![
        path(0, b"/tmp/f"),
        path(0x20, b"user.fuzz"),
        path(0x40, b"/data/link"),
        call(
            Sysno::openat,
            &[at_fdcwd(), s(0), o(g::O_RDWR | g::O_CREAT), v(0o644)],
        ),
        call(Sysno::chmod, &[s(0), v(0o4755)]),
        call(Sysno::fchmod, &[r(1), v(0o7777)]),
        call(Sysno::fchmodat, &[at_fdcwd(), s(0x40), v(0o600)]),
        call(Sysno::chown, &[s(0), v(1000), v(u32::MAX as u64)]),
        call(Sysno::lchown, &[s(0x40), v(0), v(0)]),
        call(
            Sysno::fchownat,
            &[r(5), s(0x60), v(1), v(1), o(g::AT_EMPTY_PATH)],
        ),
        call(Sysno::statfs, &[s(0), s(0x1000)]),
        call(Sysno::fstatfs, &[r(7), special(u64::MAX)]),
        Op::Poke {
            off: 0x200,
            bytes: times,
        },
        call(Sysno::utimensat, &[at_fdcwd(), s(0), s(0x200), v(0)]),
        call(Sysno::utimes, &[s(0x40), v(0)]),
        call(
            Sysno::setxattr,
            &[s(0), s(0x20), s(0x40), v(10), o(g::XATTR_CREATE)],
        ),
        call(Sysno::getxattr, &[s(0), s(0x20), s(0x1000), v(64)]),
        call(Sysno::getxattr, &[s(0), s(0x20), s(0x1000), v(2)]),
        call(Sysno::listxattr, &[s(0), s(0x1000), v(0)]),
        call(Sysno::fremovexattr, &[r(14), s(0x20)]),
        call(Sysno::lgetxattr, &[s(0x40), s(0x20), s(0x1000), v(64)]),
        call(Sysno::eventfd2, &[v(3), o(g::EFD_NONBLOCK)]),
        Op::Poke {
            off: 0x300,
            bytes: counter,
        },
        call(Sysno::write, &[r(0), s(0x300), v(8)]),
        call(Sysno::read, &[r(1), s(0x400), v(8)]),
        call(Sysno::read, &[r(2), s(0x400), v(8)]),
        call(Sysno::read, &[r(3), s(0x400), v(4)]),
        call(
            Sysno::fallocate,
            &[r(21), o(g::FALLOC_FL_KEEP_SIZE), v(0), v(1 << 16)],
        ),
        call(Sysno::ftruncate, &[r(22), v(5000)]),
        call(
            Sysno::copy_file_range,
            &[r(23), v(0), r(23), s(0x500), v(4096), v(0)],
        ),
        call(Sysno::sync, &[]),
        call(Sysno::syncfs, &[r(25)]),
        call(Sysno::pipe2, &[s(0x600), o(g::O_NONBLOCK | g::O_CLOEXEC)]),
        call(Sysno::write, &[v(6), s(0x80), v(100)]),
        call(Sysno::read, &[v(5), s(0x700), v(200)]),
        call(Sysno::read, &[v(5), s(0x700), v(200)]),
        call(Sysno::close_range, &[v(5), v(u32::MAX as u64), v(4)]),
        call(Sysno::close_range, &[v(4), v(4), v(0)]),
        call(Sysno::pipe, &[special(u64::MAX)]),
        call(Sysno::pipe, &[s(0x610)]),
        call(Sysno::close_range, &[v(3), v(u32::MAX as u64), v(0)]),
    ]
}

/// Every hand-written seed, by name (reproducers of fixed or open bugs are not seeds: see
/// [`regressions`]).
pub fn all() -> Vec<(&'static str, Vec<Op>)> {
    vec![
        ("memory-tour", memory_tour()),
        ("file-tour", file_tour()),
        ("device-tour", device_tour()),
        ("process-tour", process_tour()),
        ("newer-calls-tour", newer_calls_tour()),
        ("attributes-tour", attributes_tour()),
        ("events-tour", events_tour()),
        ("socket-tour", socket_tour()),
        ("futex-tour", futex_tour()),
        ("pi-tour", pi_tour()),
        ("pi-owner-died", pi_owner_died()),
    ]
}

/// The reproducer of every bug found, by file name under `fuzz/regressions/`.
pub fn regressions() -> Vec<(&'static str, Vec<Op>)> {
    vec![
        ("bug1-read-into-own-mapping", bug1_read_into_own_mapping()),
        ("bug1-write-from-own-mapping", bug1_write_from_own_mapping()),
        ("bug2-rlimit-nofile-ignored", bug2_rlimit_nofile_ignored()),
        ("bug10-terminal-write-2gib", bug10_terminal_write_2gib()),
        ("bug12-netlink-send-2gib", bug12_netlink_send_2gib()),
        (
            "bug16-wake-op-wakes-requeue-pi-waiter",
            bug16_wake_op_wakes_requeue_pi_waiter(),
        ),
    ]
}
