//! The strace formatter for the file calls beyond open/read/write: flock(2), chmod/chown, the
//! utime family, extended attributes, sendfile/copy_file_range/splice/tee, fallocate(2),
//! openat2(2) and inotify, shown as strace shows them.

use super::Printer;
use super::names::Names;
use crate::linux::time::Timespec;
use crate::syscall::Syscall;
use crate::user::{UserBuf, UserCStr, UserPtr};
use core::fmt;
use linux_raw_sys::general as g;

macro_rules! names {
    ($($n:ident),* $(,)?) => {
        &[$((stringify!($n), g::$n as u64)),*]
    };
}

/// flock(2) operations.
const LOCK_OPS: Names = names!(LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB, LOCK_MAND);
/// setxattr(2) flags.
const XATTR_FLAGS: Names = names!(XATTR_CREATE, XATTR_REPLACE);
/// fchownat(2)/utimensat(2)/fchmodat2(2) flags.
const AT_FLAGS: Names = names!(AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH);
/// fallocate(2) modes.
const FALLOC_FLAGS: Names = names!(
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_NO_HIDE_STALE,
    FALLOC_FL_COLLAPSE_RANGE,
    FALLOC_FL_ZERO_RANGE,
    FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_UNSHARE_RANGE,
    FALLOC_FL_WRITE_ZEROES,
);
/// splice(2)/tee(2) flags (from <linux/splice.h>, which linux-raw-sys does not carry).
const SPLICE_FLAGS: Names = &[
    ("SPLICE_F_MOVE", 1),
    ("SPLICE_F_NONBLOCK", 2),
    ("SPLICE_F_MORE", 4),
    ("SPLICE_F_GIFT", 8),
];
/// inotify_init1(2) flags.
const IN_INIT_FLAGS: Names = names!(IN_NONBLOCK, IN_CLOEXEC);
/// inotify_add_watch(2) mask bits.
const IN_MASK: Names = names!(
    IN_ACCESS,
    IN_MODIFY,
    IN_ATTRIB,
    IN_CLOSE_WRITE,
    IN_CLOSE_NOWRITE,
    IN_OPEN,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_MOVE_SELF,
    IN_ONLYDIR,
    IN_DONT_FOLLOW,
    IN_EXCL_UNLINK,
    IN_MASK_CREATE,
    IN_MASK_ADD,
    IN_ONESHOT,
);

impl Printer<'_> {
    /// The arguments of the calls this module knows; `None` for any other call.
    pub(super) fn file_args(&mut self, call: &Syscall) -> Option<fmt::Result> {
        use Syscall as S;
        Some(match *call {
            S::Flock { fd, operation } => {
                self.dec_then(fd, |p| p.flags(operation as u64, LOCK_OPS, "0"))
            }
            S::Chmod { pathname, mode } => self.path_then(pathname, |p| p.mode(mode)),
            S::Fchmod { fd, mode } => self.dec_then(fd, |p| p.mode(mode)),
            S::Fchmodat {
                dirfd,
                pathname,
                mode,
            } => self.at_path_then(dirfd, pathname, |p| p.mode(mode)),
            S::Fchmodat2 {
                dirfd,
                pathname,
                mode,
                flags,
            } => self.at_path_then(dirfd, pathname, |p| {
                p.mode(mode)?;
                p.sep()?;
                p.flags(flags as u64, AT_FLAGS, "0")
            }),
            S::Chown {
                pathname,
                owner,
                group,
            }
            | S::Lchown {
                pathname,
                owner,
                group,
            } => self.path_then(pathname, |p| p.ids(owner, group)),
            S::Fchown { fd, owner, group } => self.dec_then(fd, |p| p.ids(owner, group)),
            S::Fchownat {
                dirfd,
                pathname,
                owner,
                group,
                flags,
            } => self.at_path_then(dirfd, pathname, |p| {
                p.ids(owner, group)?;
                p.sep()?;
                p.flags(flags as u64, AT_FLAGS, "0")
            }),
            S::Utime { filename, times } => self.path_then(filename, |p| match times.read(p.mem) {
                _ if times.is_null() => p.s("NULL"),
                Ok([a, m]) => write!(p.out, "{{actime={a}, modtime={m}}}"),
                Err(_) => p.ptr(times),
            }),
            S::Utimes { filename, times } => self.path_then(filename, |p| p.timevals(times)),
            S::Futimesat {
                dirfd,
                filename,
                times,
            } => self.at_path_then(dirfd, filename, |p| p.timevals(times)),
            S::Utimensat {
                dirfd,
                pathname,
                times,
                flags,
            } => self.at_path_then(dirfd, pathname, |p| {
                p.timespecs(times)?;
                p.sep()?;
                p.flags(flags as u64, AT_FLAGS, "0")
            }),
            S::Setxattr {
                pathname,
                name,
                value,
                flags,
            }
            | S::Lsetxattr {
                pathname,
                name,
                value,
                flags,
            } => self.path_then(pathname, |p| p.set_xattr(name, value, flags)),
            S::Fsetxattr {
                fd,
                name,
                value,
                flags,
            } => self.dec_then(fd, |p| p.set_xattr(name, value, flags)),
            S::Getxattr {
                pathname,
                name,
                value,
            }
            | S::Lgetxattr {
                pathname,
                name,
                value,
            } => self.path_then(pathname, |p| p.get_xattr(name, value)),
            S::Fgetxattr { fd, name, value } => self.dec_then(fd, |p| p.get_xattr(name, value)),
            S::Listxattr { pathname, list } | S::Llistxattr { pathname, list } => {
                self.path_then(pathname, |p| p.xattr_list(list))
            }
            S::Flistxattr { fd, list } => self.dec_then(fd, |p| p.xattr_list(list)),
            S::Removexattr { pathname, name } | S::Lremovexattr { pathname, name } => {
                self.path_then(pathname, |p| p.cstr(name, super::MAX_STRING))
            }
            S::Fremovexattr { fd, name } => self.dec_then(fd, |p| p.cstr(name, super::MAX_STRING)),
            S::Sendfile {
                out_fd,
                in_fd,
                offset,
                count,
            } => self.dec_then(out_fd, |p| {
                p.dec_then(in_fd, |p| {
                    p.offset(offset)?;
                    write!(p.out, ", {count}")
                })
            }),
            S::CopyFileRange {
                fd_in,
                off_in,
                fd_out,
                off_out,
                len,
                flags,
            } => self.transfer(fd_in, off_in, fd_out, off_out, len, flags, &[]),
            S::Splice {
                fd_in,
                off_in,
                fd_out,
                off_out,
                len,
                flags,
            } => self.transfer(fd_in, off_in, fd_out, off_out, len, flags, SPLICE_FLAGS),
            S::Tee {
                fd_in,
                fd_out,
                len,
                flags,
            } => self.dec_then(fd_in, |p| {
                write!(p.out, "{fd_out}, {len}, ")?;
                p.flags(flags as u64, SPLICE_FLAGS, "0")
            }),
            // Which way the data moves depends on the fd, so only the addresses are shown.
            S::Vmsplice {
                fd,
                iov,
                nr_segs,
                flags,
            } => self.dec_then(fd, |p| {
                p.iovecs(iov, nr_segs, None)?;
                write!(p.out, ", {nr_segs}, ")?;
                p.flags(flags as u64, SPLICE_FLAGS, "0")
            }),
            S::Fallocate {
                fd,
                mode,
                offset,
                len,
            } => self.dec_then(fd, |p| {
                p.flags(mode as u32 as u64, FALLOC_FLAGS, "0")?;
                write!(p.out, ", {offset}, {len}")
            }),
            S::Openat2 {
                dirfd,
                pathname,
                how,
                size,
            } => self.at_path_then(dirfd, pathname, |p| {
                p.addr(how)?;
                write!(p.out, ", {size}")
            }),
            S::InotifyInit => Ok(()),
            S::InotifyInit1 { flags } => self.flags(flags as u64, IN_INIT_FLAGS, "0"),
            S::InotifyAddWatch { fd, pathname, mask } => self.dec_then(fd, |p| {
                p.path(pathname)?;
                p.sep()?;
                p.flags(mask as u64, IN_MASK, "0")
            }),
            S::InotifyRmWatch { fd, wd } => write!(self.out, "{fd}, {wd}"),
            _ => return None,
        })
    }

    fn dec_then(&mut self, fd: i32, rest: impl FnOnce(&mut Self) -> fmt::Result) -> fmt::Result {
        self.dec(fd)?;
        self.sep()?;
        rest(self)
    }

    fn path_then(
        &mut self,
        path: UserCStr,
        rest: impl FnOnce(&mut Self) -> fmt::Result,
    ) -> fmt::Result {
        self.path(path)?;
        self.sep()?;
        rest(self)
    }

    fn at_path_then(
        &mut self,
        dirfd: i32,
        path: UserCStr,
        rest: impl FnOnce(&mut Self) -> fmt::Result,
    ) -> fmt::Result {
        self.dirfd(dirfd)?;
        self.sep()?;
        self.path_then(path, rest)
    }

    /// A uid/gid pair; -1 (unchanged) shows as -1, as strace shows it.
    fn ids(&mut self, owner: u32, group: u32) -> fmt::Result {
        write!(self.out, "{}, {}", owner as i32, group as i32)
    }

    fn timevals(&mut self, p: UserPtr<[crate::linux::time::Timeval; 2]>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        match p.read(self.mem) {
            Ok([a, m]) => write!(
                self.out,
                "[{{tv_sec={}, tv_usec={}}}, {{tv_sec={}, tv_usec={}}}]",
                a.tv_sec, a.tv_usec, m.tv_sec, m.tv_usec
            ),
            Err(_) => self.ptr(p),
        }
    }

    fn timespecs(&mut self, p: UserPtr<[Timespec; 2]>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        match p.read(self.mem) {
            Ok(ts) => {
                self.s("[")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        self.sep()?;
                    }
                    match t.tv_nsec {
                        n if n == g::UTIME_NOW as i64 => self.s("UTIME_NOW")?,
                        n if n == g::UTIME_OMIT as i64 => self.s("UTIME_OMIT")?,
                        n => write!(self.out, "{{tv_sec={}, tv_nsec={n}}}", t.tv_sec)?,
                    }
                }
                self.s("]")
            }
            Err(_) => self.ptr(p),
        }
    }

    fn set_xattr(&mut self, name: UserCStr, value: UserBuf, flags: i32) -> fmt::Result {
        self.cstr(name, super::MAX_STRING)?;
        self.sep()?;
        self.bytes(value.addr, value.len)?;
        write!(self.out, ", {}, ", value.len)?;
        self.flags(flags as u32 as u64, XATTR_FLAGS, "0")
    }

    fn get_xattr(&mut self, name: UserCStr, value: UserBuf) -> fmt::Result {
        self.cstr(name, super::MAX_STRING)?;
        self.sep()?;
        match self.result {
            Some(n) if value.len > 0 => self.bytes(value.addr, n.min(value.len))?,
            _ => self.addr(value.addr)?,
        }
        write!(self.out, ", {}", value.len)
    }

    fn xattr_list(&mut self, list: UserBuf) -> fmt::Result {
        match self.result {
            Some(n) if list.len > 0 => self.bytes(list.addr, n.min(list.len))?,
            _ => self.addr(list.addr)?,
        }
        write!(self.out, ", {}", list.len)
    }

    fn offset(&mut self, p: UserPtr<i64>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        match p.read(self.mem) {
            Ok(v) => write!(self.out, "[{v}]"),
            Err(_) => self.ptr(p),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        fd_in: i32,
        off_in: UserPtr<i64>,
        fd_out: i32,
        off_out: UserPtr<i64>,
        len: usize,
        flags: u32,
        names: Names,
    ) -> fmt::Result {
        write!(self.out, "{fd_in}, ")?;
        self.offset(off_in)?;
        write!(self.out, ", {fd_out}, ")?;
        self.offset(off_out)?;
        write!(self.out, ", {len}, ")?;
        self.flags(flags as u64, names, "0")
    }
}
