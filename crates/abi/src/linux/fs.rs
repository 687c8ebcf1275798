//! File-system structs and flags: `struct stat`, `struct statx`, `struct iovec`,
//! `struct pollfd`, `struct winsize`, `struct termios`, the `linux_dirent64` header, and the
//! `O_*`, `AT_*`, `S_IF*`, `SEEK_*`, `POLL*`, `F_*`, `STATX_*` and tty ioctl numbers.
//!
//! The structs are views: they hold exactly what crosses the user boundary, with every byte
//! accounted for (explicit padding fields, no implicit padding), so they copy with `zerocopy`.
//! Their layouts are pinned to `linux-raw-sys` by the compile-time asserts next to each one.
//! Flag sets are `bitflags` types whose bits come from `linux-raw-sys`; they keep unknown bits
//! (`from_bits_retain`) so a handler can decide, as Linux does per call, whether unknown bits are
//! ignored or `EINVAL`.
//!
//! Field types follow the x86_64 kernel headers (`arch/x86/include/uapi/asm/stat.h`,
//! `include/uapi/linux/stat.h`, `include/uapi/asm-generic/termbits.h`), except that the
//! seconds fields of [`Stat`] are `i64` (the kernel declares them `unsigned long` but stores a
//! signed `time64_t` in them; libc reads them as `time_t`).

use bitflags::bitflags;
use linux_raw_sys::general as raw;
use linux_raw_sys::ioctl as rawio;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest byte count one read(2)/write(2) transfers: `INT_MAX` rounded down to a page
/// (Linux's `MAX_RW_COUNT`, `include/linux/fs.h`). Larger requests are clamped, not refused.
pub const MAX_RW_COUNT: usize = (i32::MAX as usize) & !(4096 - 1);

/// Largest `iovcnt` readv(2)/writev(2) accept (`UIO_MAXIOV`); more is `EINVAL`.
pub const UIO_MAXIOV: usize = raw::UIO_MAXIOV as usize;

/// Longest file-name component, in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = raw::NAME_MAX as usize;

/// Default `RLIMIT_NOFILE` soft limit: the number of fds a process may hold (`INR_OPEN_CUR`).
pub const NR_OPEN_DEFAULT: usize = raw::INR_OPEN_CUR as usize;

// ---------------------------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------------------------

/// `struct stat` as x86_64 fstat(2), stat(2), lstat(2) and newfstatat(2) fill it (144 bytes).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Stat {
    /// Device holding the file (`new_encode_dev` form).
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Hard-link count.
    pub st_nlink: u64,
    /// File type (`S_IF*`) and permission bits.
    pub st_mode: u32,
    /// Owner.
    pub st_uid: u32,
    /// Group.
    pub st_gid: u32,
    /// Padding, always zero.
    pub pad0: u32,
    /// Device number, for device files.
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O size.
    pub st_blksize: i64,
    /// Allocated 512-byte blocks.
    pub st_blocks: i64,
    /// Last access, seconds.
    pub st_atime: i64,
    /// Last access, nanoseconds.
    pub st_atime_nsec: u64,
    /// Last modification, seconds.
    pub st_mtime: i64,
    /// Last modification, nanoseconds.
    pub st_mtime_nsec: u64,
    /// Last status change, seconds.
    pub st_ctime: i64,
    /// Last status change, nanoseconds.
    pub st_ctime_nsec: u64,
    /// Reserved, always zero.
    pub unused: [i64; 3],
}

/// `struct statfs` as x86_64 statfs(2) and fstatfs(2) fill it (120 bytes).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Statfs {
    /// File-system type (its magic number, `EXT2_SUPER_MAGIC`, `TMPFS_MAGIC`...).
    pub f_type: i64,
    /// Optimal transfer block size.
    pub f_bsize: i64,
    /// Data blocks, in `f_frsize` units.
    pub f_blocks: i64,
    /// Free blocks.
    pub f_bfree: i64,
    /// Free blocks an unprivileged user may use.
    pub f_bavail: i64,
    /// Inodes.
    pub f_files: i64,
    /// Free inodes.
    pub f_ffree: i64,
    /// File-system id.
    pub f_fsid: [i32; 2],
    /// Longest file name.
    pub f_namelen: i64,
    /// Fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Reserved, always zero.
    pub f_spare: [i64; 4],
}

/// `f_flags` of [`Statfs`]: mounted read-only (`ST_RDONLY`, the same bit as `MS_RDONLY`).
pub const ST_RDONLY: u64 = raw::MS_RDONLY as u64;
/// `f_flags`: access times are not updated (`ST_NOATIME`, the same bit as `MS_NOATIME`).
pub const ST_NOATIME: u64 = raw::MS_NOATIME as u64;
/// `f_flags`: the flags are valid, always set by Linux's statfs(2) (`ST_VALID`, defined in
/// the kernel's `include/linux/statfs.h`, not exported to user headers).
pub const ST_VALID: u64 = 0x0020;

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// Reserved, always zero.
    pub reserved: i32,
}

/// `struct statx` as statx(2) fills it (256 bytes).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Statx {
    /// Which fields hold information (`STATX_*`).
    pub stx_mask: u32,
    /// Preferred I/O size.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Hard-link count.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// File type and permission bits.
    pub stx_mode: u16,
    /// Reserved.
    pub spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// Allocated 512-byte blocks.
    pub stx_blocks: u64,
    /// Which `stx_attributes` bits the file system supports.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Device number (major), for device files.
    pub stx_rdev_major: u32,
    /// Device number (minor), for device files.
    pub stx_rdev_minor: u32,
    /// Device holding the file (major).
    pub stx_dev_major: u32,
    /// Device holding the file (minor).
    pub stx_dev_minor: u32,
    /// Mount id.
    pub stx_mnt_id: u64,
    /// Direct-I/O memory alignment.
    pub stx_dio_mem_align: u32,
    /// Direct-I/O offset alignment.
    pub stx_dio_offset_align: u32,
    /// Subvolume id.
    pub stx_subvol: u64,
    /// Atomic-write minimum unit.
    pub stx_atomic_write_unit_min: u32,
    /// Atomic-write maximum unit.
    pub stx_atomic_write_unit_max: u32,
    /// Atomic-write maximum segments.
    pub stx_atomic_write_segments_max: u32,
    /// Direct-I/O read offset alignment.
    pub stx_dio_read_offset_align: u32,
    /// Optimised atomic-write maximum unit.
    pub stx_atomic_write_unit_max_opt: u32,
    /// Reserved.
    pub spare2: u32,
    /// Reserved.
    pub spare3: [u64; 8],
}

/// `struct iovec`: one segment of a readv(2)/writev(2) vector.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Iovec {
    /// Start address (a user pointer).
    pub iov_base: u64,
    /// Length in bytes (Linux refuses lengths that are negative as `ssize_t`).
    pub iov_len: u64,
}

/// `struct pollfd`: one entry of a poll(2) array.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Pollfd {
    /// The fd; negative entries are skipped (`revents` = 0).
    pub fd: i32,
    /// Requested events ([`PollEvents`] bits).
    pub events: i16,
    /// Returned events.
    pub revents: i16,
}

/// `struct winsize` (TIOCGWINSZ/TIOCSWINSZ).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Winsize {
    /// Rows, in characters.
    pub ws_row: u16,
    /// Columns, in characters.
    pub ws_col: u16,
    /// Width in pixels (unused by most programs).
    pub ws_xpixel: u16,
    /// Height in pixels (unused by most programs).
    pub ws_ypixel: u16,
}

/// Number of control characters in the kernel's `struct termios` (`NCCS` of the kernel ABI;
/// glibc's userspace `struct termios` is larger and converts).
pub const NCCS: usize = 19;

/// termios `c_oflag`: post-process output.
pub const OPOST: u32 = raw::OPOST;
/// termios `c_oflag`: map NL to CR NL on output.
pub const ONLCR: u32 = raw::ONLCR;
/// termios `c_lflag`: canonical (line-by-line) input.
pub const ICANON: u32 = raw::ICANON;
/// termios `c_lflag`: echo input.
pub const ECHO: u32 = raw::ECHO;

/// The kernel's `struct termios` (TCGETS/TCSETS*): 36 bytes, no speed fields.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Termios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes (includes the baud rate bits).
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline (0 = N_TTY).
    pub c_line: u8,
    /// Control characters, indexed by `V*`.
    pub c_cc: [u8; NCCS],
}

/// The fixed head of a `struct linux_dirent64` record; the NUL-terminated name follows it, and
/// the record is padded to 8 bytes (`d_reclen` includes name and padding).
///
/// `#[repr(packed)]` because the C struct's size (24) includes tail padding that the record
/// does not: the name starts at byte 19. Read fields by value, never by reference.
#[repr(C, packed)]
#[derive(Copy, Clone, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Dirent64Header {
    /// Inode number.
    pub d_ino: u64,
    /// Offset (cookie) of the next record: seek there to continue after this one.
    pub d_off: i64,
    /// Record length, including header, name, NUL and padding.
    pub d_reclen: u16,
    /// `DT_*` file type.
    pub d_type: u8,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Stat>() == size_of::<raw::stat>());
    assert!(size_of::<Stat>() == 144);
    assert!(offset_of!(Stat, st_dev) == offset_of!(raw::stat, st_dev));
    assert!(offset_of!(Stat, st_ino) == offset_of!(raw::stat, st_ino));
    assert!(offset_of!(Stat, st_nlink) == offset_of!(raw::stat, st_nlink));
    assert!(offset_of!(Stat, st_mode) == offset_of!(raw::stat, st_mode));
    assert!(offset_of!(Stat, st_uid) == offset_of!(raw::stat, st_uid));
    assert!(offset_of!(Stat, st_gid) == offset_of!(raw::stat, st_gid));
    assert!(offset_of!(Stat, pad0) == offset_of!(raw::stat, __pad0));
    assert!(offset_of!(Stat, st_rdev) == offset_of!(raw::stat, st_rdev));
    assert!(offset_of!(Stat, st_size) == offset_of!(raw::stat, st_size));
    assert!(offset_of!(Stat, st_blksize) == offset_of!(raw::stat, st_blksize));
    assert!(offset_of!(Stat, st_blocks) == offset_of!(raw::stat, st_blocks));
    assert!(offset_of!(Stat, st_atime) == offset_of!(raw::stat, st_atime));
    assert!(offset_of!(Stat, st_atime_nsec) == offset_of!(raw::stat, st_atime_nsec));
    assert!(offset_of!(Stat, st_mtime) == offset_of!(raw::stat, st_mtime));
    assert!(offset_of!(Stat, st_mtime_nsec) == offset_of!(raw::stat, st_mtime_nsec));
    assert!(offset_of!(Stat, st_ctime) == offset_of!(raw::stat, st_ctime));
    assert!(offset_of!(Stat, st_ctime_nsec) == offset_of!(raw::stat, st_ctime_nsec));
    assert!(offset_of!(Stat, unused) == offset_of!(raw::stat, __unused));

    assert!(size_of::<Statfs>() == size_of::<raw::statfs>());
    assert!(size_of::<Statfs>() == 120);
    assert!(offset_of!(Statfs, f_type) == offset_of!(raw::statfs, f_type));
    assert!(offset_of!(Statfs, f_bsize) == offset_of!(raw::statfs, f_bsize));
    assert!(offset_of!(Statfs, f_blocks) == offset_of!(raw::statfs, f_blocks));
    assert!(offset_of!(Statfs, f_bfree) == offset_of!(raw::statfs, f_bfree));
    assert!(offset_of!(Statfs, f_bavail) == offset_of!(raw::statfs, f_bavail));
    assert!(offset_of!(Statfs, f_files) == offset_of!(raw::statfs, f_files));
    assert!(offset_of!(Statfs, f_ffree) == offset_of!(raw::statfs, f_ffree));
    assert!(offset_of!(Statfs, f_fsid) == offset_of!(raw::statfs, f_fsid));
    assert!(offset_of!(Statfs, f_namelen) == offset_of!(raw::statfs, f_namelen));
    assert!(offset_of!(Statfs, f_frsize) == offset_of!(raw::statfs, f_frsize));
    assert!(offset_of!(Statfs, f_flags) == offset_of!(raw::statfs, f_flags));
    assert!(offset_of!(Statfs, f_spare) == offset_of!(raw::statfs, f_spare));

    assert!(size_of::<StatxTimestamp>() == size_of::<raw::statx_timestamp>());
    assert!(offset_of!(StatxTimestamp, tv_nsec) == offset_of!(raw::statx_timestamp, tv_nsec));
    assert!(offset_of!(StatxTimestamp, reserved) == offset_of!(raw::statx_timestamp, __reserved));

    assert!(size_of::<Statx>() == size_of::<raw::statx>());
    assert!(size_of::<Statx>() == 256);
    assert!(offset_of!(Statx, stx_mask) == offset_of!(raw::statx, stx_mask));
    assert!(offset_of!(Statx, stx_blksize) == offset_of!(raw::statx, stx_blksize));
    assert!(offset_of!(Statx, stx_attributes) == offset_of!(raw::statx, stx_attributes));
    assert!(offset_of!(Statx, stx_nlink) == offset_of!(raw::statx, stx_nlink));
    assert!(offset_of!(Statx, stx_uid) == offset_of!(raw::statx, stx_uid));
    assert!(offset_of!(Statx, stx_gid) == offset_of!(raw::statx, stx_gid));
    assert!(offset_of!(Statx, stx_mode) == offset_of!(raw::statx, stx_mode));
    assert!(offset_of!(Statx, spare0) == offset_of!(raw::statx, __spare0));
    assert!(offset_of!(Statx, stx_ino) == offset_of!(raw::statx, stx_ino));
    assert!(offset_of!(Statx, stx_size) == offset_of!(raw::statx, stx_size));
    assert!(offset_of!(Statx, stx_blocks) == offset_of!(raw::statx, stx_blocks));
    assert!(offset_of!(Statx, stx_attributes_mask) == offset_of!(raw::statx, stx_attributes_mask));
    assert!(offset_of!(Statx, stx_atime) == offset_of!(raw::statx, stx_atime));
    assert!(offset_of!(Statx, stx_btime) == offset_of!(raw::statx, stx_btime));
    assert!(offset_of!(Statx, stx_ctime) == offset_of!(raw::statx, stx_ctime));
    assert!(offset_of!(Statx, stx_mtime) == offset_of!(raw::statx, stx_mtime));
    assert!(offset_of!(Statx, stx_rdev_major) == offset_of!(raw::statx, stx_rdev_major));
    assert!(offset_of!(Statx, stx_rdev_minor) == offset_of!(raw::statx, stx_rdev_minor));
    assert!(offset_of!(Statx, stx_dev_major) == offset_of!(raw::statx, stx_dev_major));
    assert!(offset_of!(Statx, stx_dev_minor) == offset_of!(raw::statx, stx_dev_minor));
    assert!(offset_of!(Statx, stx_mnt_id) == offset_of!(raw::statx, stx_mnt_id));
    assert!(offset_of!(Statx, stx_dio_mem_align) == offset_of!(raw::statx, stx_dio_mem_align));
    assert!(
        offset_of!(Statx, stx_dio_offset_align) == offset_of!(raw::statx, stx_dio_offset_align)
    );
    assert!(offset_of!(Statx, stx_subvol) == offset_of!(raw::statx, stx_subvol));
    assert!(
        offset_of!(Statx, stx_atomic_write_unit_min)
            == offset_of!(raw::statx, stx_atomic_write_unit_min)
    );
    assert!(
        offset_of!(Statx, stx_atomic_write_unit_max)
            == offset_of!(raw::statx, stx_atomic_write_unit_max)
    );
    assert!(
        offset_of!(Statx, stx_atomic_write_segments_max)
            == offset_of!(raw::statx, stx_atomic_write_segments_max)
    );
    assert!(
        offset_of!(Statx, stx_dio_read_offset_align)
            == offset_of!(raw::statx, stx_dio_read_offset_align)
    );
    assert!(
        offset_of!(Statx, stx_atomic_write_unit_max_opt)
            == offset_of!(raw::statx, stx_atomic_write_unit_max_opt)
    );
    assert!(offset_of!(Statx, spare2) == offset_of!(raw::statx, __spare2));
    assert!(offset_of!(Statx, spare3) == offset_of!(raw::statx, __spare3));

    assert!(size_of::<Iovec>() == size_of::<raw::iovec>());
    assert!(offset_of!(Iovec, iov_base) == offset_of!(raw::iovec, iov_base));
    assert!(offset_of!(Iovec, iov_len) == offset_of!(raw::iovec, iov_len));

    assert!(size_of::<Pollfd>() == size_of::<raw::pollfd>());
    assert!(offset_of!(Pollfd, fd) == offset_of!(raw::pollfd, fd));
    assert!(offset_of!(Pollfd, events) == offset_of!(raw::pollfd, events));
    assert!(offset_of!(Pollfd, revents) == offset_of!(raw::pollfd, revents));

    assert!(size_of::<Winsize>() == size_of::<raw::winsize>());
    assert!(offset_of!(Winsize, ws_row) == offset_of!(raw::winsize, ws_row));
    assert!(offset_of!(Winsize, ws_col) == offset_of!(raw::winsize, ws_col));
    assert!(offset_of!(Winsize, ws_xpixel) == offset_of!(raw::winsize, ws_xpixel));
    assert!(offset_of!(Winsize, ws_ypixel) == offset_of!(raw::winsize, ws_ypixel));

    assert!(size_of::<Termios>() == size_of::<raw::termios>());
    assert!(size_of::<Termios>() == 36);
    assert!(align_of::<Termios>() == align_of::<raw::termios>());
    assert!(offset_of!(Termios, c_iflag) == offset_of!(raw::termios, c_iflag));
    assert!(offset_of!(Termios, c_oflag) == offset_of!(raw::termios, c_oflag));
    assert!(offset_of!(Termios, c_cflag) == offset_of!(raw::termios, c_cflag));
    assert!(offset_of!(Termios, c_lflag) == offset_of!(raw::termios, c_lflag));
    assert!(offset_of!(Termios, c_line) == offset_of!(raw::termios, c_line));
    assert!(offset_of!(Termios, c_cc) == offset_of!(raw::termios, c_cc));

    assert!(size_of::<Dirent64Header>() == offset_of!(raw::linux_dirent64, d_name));
    assert!(offset_of!(Dirent64Header, d_ino) == offset_of!(raw::linux_dirent64, d_ino));
    assert!(offset_of!(Dirent64Header, d_off) == offset_of!(raw::linux_dirent64, d_off));
    assert!(offset_of!(Dirent64Header, d_reclen) == offset_of!(raw::linux_dirent64, d_reclen));
    assert!(offset_of!(Dirent64Header, d_type) == offset_of!(raw::linux_dirent64, d_type));
};

impl Termios {
    /// The settings Linux gives a freshly opened terminal (`tty_std_termios` in
    /// `drivers/tty/tty_io.c`), which is what a program sees on a console nobody configured:
    ///
    /// - input: `ICRNL | IXON` (CR becomes NL; ^S/^Q flow control);
    /// - output: `OPOST | ONLCR` (NL is sent as CR NL);
    /// - control: `B38400 | CS8 | CREAD | HUPCL`;
    /// - local: `ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN` (cooked
    ///   mode with echo and signal keys);
    /// - control characters: INTR ^C, QUIT ^\, ERASE DEL, KILL ^U, EOF ^D, TIME 0, MIN 1,
    ///   START ^Q, STOP ^S, SUSP ^Z, REPRINT ^R, DISCARD ^O, WERASE ^W, LNEXT ^V; the rest 0.
    pub const fn linux_default() -> Termios {
        const fn ctrl(c: u8) -> u8 {
            c & 0x1f
        }
        let mut cc = [0u8; NCCS];
        cc[raw::VINTR as usize] = ctrl(b'C');
        cc[raw::VQUIT as usize] = ctrl(b'\\');
        cc[raw::VERASE as usize] = 0x7f;
        cc[raw::VKILL as usize] = ctrl(b'U');
        cc[raw::VEOF as usize] = ctrl(b'D');
        cc[raw::VTIME as usize] = 0;
        cc[raw::VMIN as usize] = 1;
        cc[raw::VSTART as usize] = ctrl(b'Q');
        cc[raw::VSTOP as usize] = ctrl(b'S');
        cc[raw::VSUSP as usize] = ctrl(b'Z');
        cc[raw::VREPRINT as usize] = ctrl(b'R');
        cc[raw::VDISCARD as usize] = ctrl(b'O');
        cc[raw::VWERASE as usize] = ctrl(b'W');
        cc[raw::VLNEXT as usize] = ctrl(b'V');
        Termios {
            c_iflag: raw::ICRNL | raw::IXON,
            c_oflag: raw::OPOST | raw::ONLCR,
            c_cflag: raw::B38400 | raw::CS8 | raw::CREAD | raw::HUPCL,
            c_lflag: raw::ISIG
                | raw::ICANON
                | raw::ECHO
                | raw::ECHOE
                | raw::ECHOK
                | raw::ECHOCTL
                | raw::ECHOKE
                | raw::IEXTEN,
            c_line: 0,
            c_cc: cc,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Flags and constants
// ---------------------------------------------------------------------------------------------

bitflags! {
    /// open(2) flags (`O_*`). The access mode (`O_RDONLY` = 0, `O_WRONLY`, `O_RDWR`) is the
    /// two-bit field [`OpenFlags::ACCMODE`]; read it with [`OpenFlags::access_bits`].
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct OpenFlags: u32 {
        /// Mask of the access-mode field.
        const ACCMODE = raw::O_ACCMODE;
        /// Write only (access-mode value 1).
        const WRONLY = raw::O_WRONLY;
        /// Read and write (access-mode value 2).
        const RDWR = raw::O_RDWR;
        /// Create the file if it does not exist.
        const CREAT = raw::O_CREAT;
        /// With `CREAT`: fail with `EEXIST` if it exists.
        const EXCL = raw::O_EXCL;
        /// Do not make a terminal the controlling terminal.
        const NOCTTY = raw::O_NOCTTY;
        /// Truncate a regular file to length 0.
        const TRUNC = raw::O_TRUNC;
        /// Every write goes to the end of the file.
        const APPEND = raw::O_APPEND;
        /// Non-blocking I/O.
        const NONBLOCK = raw::O_NONBLOCK;
        /// Synchronous data writes.
        const DSYNC = raw::O_DSYNC;
        /// Signal-driven I/O (`FASYNC`).
        const ASYNC = raw::FASYNC;
        /// Direct I/O.
        const DIRECT = raw::O_DIRECT;
        /// Large-file offsets (always on for 64-bit Linux; F_GETFL reports it).
        const LARGEFILE = raw::O_LARGEFILE;
        /// Fail with `ENOTDIR` unless the path is a directory.
        const DIRECTORY = raw::O_DIRECTORY;
        /// Fail with `ELOOP` if the last component is a symlink.
        const NOFOLLOW = raw::O_NOFOLLOW;
        /// Do not update the access time.
        const NOATIME = raw::O_NOATIME;
        /// Set `FD_CLOEXEC` on the new fd.
        const CLOEXEC = raw::O_CLOEXEC;
        /// Synchronous writes (includes `DSYNC`).
        const SYNC = raw::O_SYNC;
        /// A location-only fd: no I/O, usable as a dirfd and with fstat(2).
        const PATH = raw::O_PATH;
        /// An unnamed temporary file (includes `DIRECTORY`).
        const TMPFILE = raw::O_TMPFILE;
    }
}

impl OpenFlags {
    /// The raw access-mode field: 0 (`O_RDONLY`), 1 (`O_WRONLY`), 2 (`O_RDWR`) or 3 (accepted by
    /// Linux: an fd usable for ioctl(2) only).
    pub const fn access_bits(self) -> u32 {
        self.bits() & raw::O_ACCMODE
    }
}

/// `O_RDONLY`, the access-mode value 0 (not representable as a flag).
pub const O_RDONLY: u32 = raw::O_RDONLY;

bitflags! {
    /// `AT_*` flags of the `*at(2)` calls.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct AtFlags: u32 {
        /// Do not follow a symlink in the last component.
        const SYMLINK_NOFOLLOW = raw::AT_SYMLINK_NOFOLLOW;
        /// linkat(2): follow a symlink in the last component.
        const SYMLINK_FOLLOW = raw::AT_SYMLINK_FOLLOW;
        /// Do not trigger an automount.
        const NO_AUTOMOUNT = raw::AT_NO_AUTOMOUNT;
        /// An empty path means the dirfd itself.
        const EMPTY_PATH = raw::AT_EMPTY_PATH;
        /// unlinkat(2): remove a directory (same bit as `EACCESS`).
        const REMOVEDIR = raw::AT_REMOVEDIR;
        /// faccessat(2): check with the effective ids (same bit as `REMOVEDIR`).
        const EACCESS = raw::AT_EACCESS;
        /// statx(2): force a sync with a remote server.
        const STATX_FORCE_SYNC = raw::AT_STATX_FORCE_SYNC;
        /// statx(2): do not sync with a remote server.
        const STATX_DONT_SYNC = raw::AT_STATX_DONT_SYNC;
    }
}

/// `AT_FDCWD`: the dirfd value that means "relative to the current directory".
pub const AT_FDCWD: i32 = raw::AT_FDCWD;
/// `AT_STATX_SYNC_TYPE`: the two-bit statx sync field; both bits set is `EINVAL`.
pub const AT_STATX_SYNC_TYPE: u32 = raw::AT_STATX_SYNC_TYPE;

bitflags! {
    /// renameat2(2) flags.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct RenameFlags: u32 {
        /// Fail with `EEXIST` if the new name exists.
        const NOREPLACE = raw::RENAME_NOREPLACE;
        /// Swap the two names.
        const EXCHANGE = raw::RENAME_EXCHANGE;
        /// Leave a whiteout (overlay file systems).
        const WHITEOUT = raw::RENAME_WHITEOUT;
    }
}

/// File-type mask of `st_mode`.
pub const S_IFMT: u32 = raw::S_IFMT;
/// Socket.
pub const S_IFSOCK: u32 = raw::S_IFSOCK;
/// Symbolic link.
pub const S_IFLNK: u32 = raw::S_IFLNK;
/// Regular file.
pub const S_IFREG: u32 = raw::S_IFREG;
/// Block device.
pub const S_IFBLK: u32 = raw::S_IFBLK;
/// Directory.
pub const S_IFDIR: u32 = raw::S_IFDIR;
/// Character device.
pub const S_IFCHR: u32 = raw::S_IFCHR;
/// FIFO.
pub const S_IFIFO: u32 = raw::S_IFIFO;
/// Set-user-id bit.
pub const S_ISUID: u32 = raw::S_ISUID;
/// Set-group-id bit.
pub const S_ISGID: u32 = raw::S_ISGID;
/// Sticky bit.
pub const S_ISVTX: u32 = raw::S_ISVTX;
/// Owner, group and other execute bits.
pub const S_IXUGO: u32 = raw::S_IXUSR | raw::S_IXGRP | raw::S_IXOTH;
/// All permission bits a mode can carry (`S_IALLUGO`: rwx for all, setuid, setgid, sticky).
pub const S_IALLUGO: u32 = raw::S_ISUID | raw::S_ISGID | raw::S_ISVTX | 0o777;

/// `d_type` values of getdents64(2).
pub mod dt {
    use linux_raw_sys::general as raw;
    /// Unknown type.
    pub const UNKNOWN: u8 = raw::DT_UNKNOWN as u8;
    /// FIFO.
    pub const FIFO: u8 = raw::DT_FIFO as u8;
    /// Character device.
    pub const CHR: u8 = raw::DT_CHR as u8;
    /// Directory.
    pub const DIR: u8 = raw::DT_DIR as u8;
    /// Block device.
    pub const BLK: u8 = raw::DT_BLK as u8;
    /// Regular file.
    pub const REG: u8 = raw::DT_REG as u8;
    /// Symbolic link.
    pub const LNK: u8 = raw::DT_LNK as u8;
    /// Socket.
    pub const SOCK: u8 = raw::DT_SOCK as u8;
}

/// lseek(2): from the start.
pub const SEEK_SET: u32 = raw::SEEK_SET;
/// lseek(2): from the current offset.
pub const SEEK_CUR: u32 = raw::SEEK_CUR;
/// lseek(2): from the end.
pub const SEEK_END: u32 = raw::SEEK_END;
/// lseek(2): the next data at or after the offset.
pub const SEEK_DATA: u32 = raw::SEEK_DATA;
/// lseek(2): the next hole at or after the offset.
pub const SEEK_HOLE: u32 = raw::SEEK_HOLE;
/// Largest valid `whence`.
pub const SEEK_MAX: u32 = raw::SEEK_MAX;

bitflags! {
    /// poll(2) event bits, as `pollfd.events`/`revents` carry them (a C `short`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PollEvents: u16 {
        /// Data to read.
        const IN = raw::POLLIN as u16;
        /// Urgent data to read.
        const PRI = raw::POLLPRI as u16;
        /// Writing will not block.
        const OUT = raw::POLLOUT as u16;
        /// Error condition (always reported).
        const ERR = raw::POLLERR as u16;
        /// Hang-up (always reported).
        const HUP = raw::POLLHUP as u16;
        /// Invalid fd (always reported).
        const NVAL = raw::POLLNVAL as u16;
        /// Normal data to read.
        const RDNORM = raw::POLLRDNORM as u16;
        /// Priority data to read.
        const RDBAND = raw::POLLRDBAND as u16;
        /// Normal data may be written.
        const WRNORM = raw::POLLWRNORM as u16;
        /// Priority data may be written.
        const WRBAND = raw::POLLWRBAND as u16;
        /// Message available (unused on Linux).
        const MSG = raw::POLLMSG as u16;
        /// Peer closed its writing half.
        const RDHUP = raw::POLLRDHUP as u16;
    }
}

bitflags! {
    /// statx(2) `mask`/`stx_mask` bits (`STATX_*`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct StatxMask: u32 {
        /// `stx_mode & S_IFMT`.
        const TYPE = raw::STATX_TYPE;
        /// `stx_mode & !S_IFMT`.
        const MODE = raw::STATX_MODE;
        /// `stx_nlink`.
        const NLINK = raw::STATX_NLINK;
        /// `stx_uid`.
        const UID = raw::STATX_UID;
        /// `stx_gid`.
        const GID = raw::STATX_GID;
        /// `stx_atime`.
        const ATIME = raw::STATX_ATIME;
        /// `stx_mtime`.
        const MTIME = raw::STATX_MTIME;
        /// `stx_ctime`.
        const CTIME = raw::STATX_CTIME;
        /// `stx_ino`.
        const INO = raw::STATX_INO;
        /// `stx_size`.
        const SIZE = raw::STATX_SIZE;
        /// `stx_blocks`.
        const BLOCKS = raw::STATX_BLOCKS;
        /// Everything `struct stat` has.
        const BASIC_STATS = raw::STATX_BASIC_STATS;
        /// `stx_btime`.
        const BTIME = raw::STATX_BTIME;
        /// `stx_mnt_id`.
        const MNT_ID = raw::STATX_MNT_ID;
        /// `stx_dio_*`.
        const DIOALIGN = raw::STATX_DIOALIGN;
        /// Reserved: asking for it is `EINVAL`.
        const RESERVED = raw::STATX__RESERVED;
    }
}

bitflags! {
    /// access(2)/faccessat(2) `mode` bits. `F_OK` (existence only) is the empty set.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct AccessMode: u32 {
        /// Read permission.
        const R_OK = raw::R_OK;
        /// Write permission.
        const W_OK = raw::W_OK;
        /// Execute (search, for directories) permission.
        const X_OK = raw::X_OK;
    }
}

/// access(2): existence test only.
pub const F_OK: u32 = raw::F_OK;

/// fcntl(2): duplicate to the lowest fd >= arg.
pub const F_DUPFD: u32 = raw::F_DUPFD;
/// fcntl(2): like `F_DUPFD`, and set `FD_CLOEXEC`.
pub const F_DUPFD_CLOEXEC: u32 = raw::F_DUPFD_CLOEXEC;
/// fcntl(2): read the fd flags.
pub const F_GETFD: u32 = raw::F_GETFD;
/// fcntl(2): set the fd flags.
pub const F_SETFD: u32 = raw::F_SETFD;
/// fcntl(2): read the status flags and access mode.
pub const F_GETFL: u32 = raw::F_GETFL;
/// fcntl(2): set the status flags.
pub const F_SETFL: u32 = raw::F_SETFL;
/// The fd flag: close on execve(2).
pub const FD_CLOEXEC: u32 = raw::FD_CLOEXEC;

/// ioctl(2): read the kernel `struct termios`.
pub const TCGETS: u32 = rawio::TCGETS;
/// ioctl(2): set termios now.
pub const TCSETS: u32 = rawio::TCSETS;
/// ioctl(2): set termios after output drains.
pub const TCSETSW: u32 = rawio::TCSETSW;
/// ioctl(2): set termios after output drains, discarding pending input.
pub const TCSETSF: u32 = rawio::TCSETSF;
/// ioctl(2): read the window size.
pub const TIOCGWINSZ: u32 = rawio::TIOCGWINSZ;
/// ioctl(2): set the window size.
pub const TIOCSWINSZ: u32 = rawio::TIOCSWINSZ;
/// ioctl(2): read the foreground process group.
pub const TIOCGPGRP: u32 = rawio::TIOCGPGRP;
/// ioctl(2): set the foreground process group.
pub const TIOCSPGRP: u32 = rawio::TIOCSPGRP;
/// ioctl(2): bytes available to read (an `int`).
pub const FIONREAD: u32 = rawio::FIONREAD;
/// ioctl(2): set or clear `O_NONBLOCK` from an `int`.
pub const FIONBIO: u32 = rawio::FIONBIO;
/// ioctl(2): set `FD_CLOEXEC`.
pub const FIOCLEX: u32 = rawio::FIOCLEX;
/// ioctl(2): clear `FD_CLOEXEC`.
pub const FIONCLEX: u32 = rawio::FIONCLEX;
/// ioctl(2): set or clear `O_ASYNC` from an `int`.
pub const FIOASYNC: u32 = rawio::FIOASYNC;

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    #[test]
    fn values_match_linux() {
        assert_eq!(OpenFlags::CREAT.bits(), 0o100);
        assert_eq!(OpenFlags::CLOEXEC.bits(), 0o2000000);
        assert_eq!(OpenFlags::from_bits_retain(0o102).access_bits(), 2);
        assert!(OpenFlags::SYNC.contains(OpenFlags::DSYNC));
        assert!(OpenFlags::TMPFILE.contains(OpenFlags::DIRECTORY));
        assert_eq!(AT_FDCWD, -100);
        assert_eq!(AtFlags::REMOVEDIR.bits(), 0x200);
        assert_eq!(AtFlags::EMPTY_PATH.bits(), 0x1000);
        assert_eq!(S_IFDIR, 0o040000);
        assert_eq!(S_IFLNK, 0o120000);
        assert_eq!(TCGETS, 0x5401);
        assert_eq!(TIOCGWINSZ, 0x5413);
        assert_eq!(FIONREAD, 0x541b);
        assert_eq!(F_DUPFD_CLOEXEC, 1030);
        assert_eq!(PollEvents::NVAL.bits(), 0x20);
        assert_eq!(StatxMask::BASIC_STATS.bits(), 0x7ff);
        assert_eq!(MAX_RW_COUNT, 0x7fff_f000);
        assert_eq!(UIO_MAXIOV, 1024);
        assert_eq!(dt::DIR, 4);
    }

    #[test]
    fn default_termios_is_cooked_with_echo() {
        let t = Termios::linux_default();
        assert_eq!(t.c_lflag & raw::ICANON, raw::ICANON);
        assert_eq!(t.c_lflag & raw::ECHO, raw::ECHO);
        assert_eq!(t.c_cc[raw::VINTR as usize], 3);
        assert_eq!(t.c_cc[raw::VERASE as usize], 0x7f);
        assert_eq!(t.c_cc[raw::VEOF as usize], 4);
        assert_eq!(t.c_cc[raw::VMIN as usize], 1);
        // Linux's default cflag prints as 0xbf (B38400 | CS8 | CREAD), plus HUPCL.
        assert_eq!(t.c_cflag, 0x4bf);
        assert_eq!(t.as_bytes().len(), 36);
    }

    #[test]
    fn dirent_header_serialises_packed() {
        let h = Dirent64Header {
            d_ino: 1,
            d_off: 2,
            d_reclen: 24,
            d_type: dt::REG,
        };
        let b = h.as_bytes();
        assert_eq!(b.len(), 19);
        assert_eq!(&b[16..19], &[24, 0, dt::REG]);
    }
}
