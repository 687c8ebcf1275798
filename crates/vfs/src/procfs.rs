//! procfs: the `/proc` Linux programs and their libcs read, for every process of the system.
//! Its contents come from the embedder through [`ProcessInfo`]; nothing is stored.
//!
//! | path | what |
//! |---|---|
//! | `/proc/self` | symlink to the calling process's `<pid>` |
//! | `/proc/<pid>/` | one directory per process (zombies included) |
//! | `/proc/<pid>/exe`, `cwd` | symlinks to the executable and the working directory |
//! | `/proc/<pid>/fd/N` | one symlink per open fd, to the file's path or `pipe:[ino]`-style name |
//! | `/proc/<pid>/cmdline`, `environ` | the argument and environment strings, each NUL-terminated |
//! | `/proc/<pid>/maps`, `smaps` | the memory map (proc(5)), rendered by the memory manager |
//! | `/proc/<pid>/status`, `stat`, `limits` | process state in Linux's formats |
//! | `/proc/<pid>/mounts` | the mount table (one namespace) |
//! | `/proc/meminfo`, `cpuinfo`, `stat`, `uptime`, `loadavg`, `version`, `filesystems`, `mounts` | system files |
//! | `/proc/sys/...` | the read-only sysctls in [`SYSCTLS`] |
//!
//! The fd links are plain symlinks: opening `/proc/self/fd/N` opens the named path again (a
//! pipe or socket name does not resolve), unlike Linux's magic links. Everything is
//! read-only; like Linux, regular files report size 0. Each read renders the file afresh and
//! returns the bytes at its offset, so a reader taking a file in several reads while the
//! process changes can see a mix of two states (Linux's seq_file has the same effect at line
//! granularity).

use crate::io::ReadBuf;
use crate::mount::FileSystem;
use crate::node::{DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata};
use crate::time::Timestamp;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;

/// A file in `/proc/<pid>/` with contents.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PidFile {
    /// `cmdline`: argv, each NUL-terminated.
    Cmdline,
    /// `environ`: the environment the program was started with, each string NUL-terminated.
    Environ,
    /// `maps` (proc(5)).
    Maps,
    /// `smaps`.
    Smaps,
    /// `status`: `Name:`, `State:`, `Pid:`, `PPid:`, ... lines.
    Status,
    /// `stat`: one line of space-separated fields.
    Stat,
    /// `limits`: the resource limits table.
    Limits,
    /// `mounts`: the mount table as the process sees it (one namespace: `/proc/mounts`).
    Mounts,
    /// `mountinfo`: the mount table with ids, devices and roots (proc(5)).
    MountInfo,
}

/// A file directly under `/proc`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SystemFile {
    /// `meminfo`.
    Meminfo,
    /// `cpuinfo`.
    Cpuinfo,
    /// `stat` (CPU times, boot time, process counts).
    Stat,
    /// `uptime`.
    Uptime,
    /// `loadavg`.
    Loadavg,
    /// `version`.
    Version,
    /// `filesystems`.
    Filesystems,
    /// `mounts`.
    Mounts,
    /// `interrupts` (per-CPU interrupt counts).
    Interrupts,
}

const SYSTEM_FILES: [(&[u8], SystemFile); 9] = [
    (b"cpuinfo", SystemFile::Cpuinfo),
    (b"filesystems", SystemFile::Filesystems),
    (b"interrupts", SystemFile::Interrupts),
    (b"loadavg", SystemFile::Loadavg),
    (b"meminfo", SystemFile::Meminfo),
    (b"mounts", SystemFile::Mounts),
    (b"stat", SystemFile::Stat),
    (b"uptime", SystemFile::Uptime),
    (b"version", SystemFile::Version),
];

const PID_FILES: [(&[u8], PidFile); 9] = [
    (b"cmdline", PidFile::Cmdline),
    (b"environ", PidFile::Environ),
    (b"limits", PidFile::Limits),
    (b"maps", PidFile::Maps),
    (b"mountinfo", PidFile::MountInfo),
    (b"mounts", PidFile::Mounts),
    (b"smaps", PidFile::Smaps),
    (b"stat", PidFile::Stat),
    (b"status", PidFile::Status),
];

/// The directories of `/proc/sys`, as paths below it; each one's parent comes before it.
const SYS_DIRS: [&str; 7] = ["", "fs", "kernel", "kernel/random", "net", "net/core", "vm"];

/// The sysctls `/proc/sys` shows (the ones libcs, runtimes and servers read), as paths below
/// it. Values come from [`ProcessInfo::sysctl`]; all are read-only here.
pub const SYSCTLS: [&str; 16] = [
    "fs/file-max",
    "fs/nr_open",
    "fs/pipe-max-size",
    "kernel/cap_last_cap",
    "kernel/domainname",
    "kernel/hostname",
    "kernel/ngroups_max",
    "kernel/osrelease",
    "kernel/ostype",
    "kernel/pid_max",
    "kernel/random/boot_id",
    "kernel/random/uuid",
    "kernel/threads-max",
    "kernel/version",
    "net/core/somaxconn",
    "vm/overcommit_memory",
];

fn split_last(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// What procfs shows. The embedder implements it. Every method is called from a system call
/// with no VFS lock held and must render into memory of its own (the caller copies to user
/// memory afterwards, which may fault).
pub trait ProcessInfo: Send + Sync {
    /// The calling process's pid (what `/proc/self` names).
    fn current_pid(&self) -> u32;
    /// Every process's pid, ascending.
    fn pids(&self) -> Vec<u32>;
    /// The absolute path of `pid`'s executable; `None` if there is no such process.
    fn exe_path(&self, pid: u32) -> Option<Vec<u8>>;
    /// The absolute path of `pid`'s working directory (`None`: no such process, or it has
    /// none any more).
    fn cwd(&self, pid: u32) -> Option<Vec<u8>> {
        self.exe_path(pid).map(|_| b"/".to_vec())
    }
    /// `file` of `pid`; `None` if there is no such process. The default has no data.
    fn pid_file(&self, pid: u32, file: PidFile) -> Option<Vec<u8>> {
        let _ = file;
        self.exe_path(pid).map(|_| Vec::new())
    }
    /// `pid`'s open fds, ascending, each with what its link names.
    fn fds(&self, pid: u32) -> Option<Vec<(u32, Vec<u8>)>> {
        self.exe_path(pid).map(|_| Vec::new())
    }
    /// System file `file`. The default is empty.
    fn system_file(&self, file: SystemFile) -> Vec<u8> {
        let _ = file;
        Vec::new()
    }

    /// The value of sysctl `name` (one of [`SYSCTLS`], e.g. `kernel/ostype`), with its
    /// trailing newline. The default is empty.
    fn sysctl(&self, name: &str) -> Vec<u8> {
        let _ = name;
        Vec::new()
    }
}

/// A procfs instance. See the [module docs](self).
pub struct ProcFs {
    shared: Arc<Shared>,
}

struct Shared {
    info: Arc<dyn ProcessInfo>,
    dev: DeviceId,
    created: Timestamp,
}

impl ProcFs {
    /// A procfs showing `info`, with device number `dev`; every file's times are `created`.
    pub fn new(info: Arc<dyn ProcessInfo>, dev: DeviceId, created: Timestamp) -> Arc<ProcFs> {
        Arc::new(ProcFs {
            shared: Arc::new(Shared { info, dev, created }),
        })
    }
}

impl FileSystem for ProcFs {
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(ProcNode {
            fs: self.shared.clone(),
            which: Which::Root,
        })
    }

    fn name(&self) -> &'static str {
        "proc"
    }

    fn device(&self) -> DeviceId {
        self.shared.dev
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Which {
    Root,
    SelfLink,
    System(SystemFile),
    PidDir(u32),
    Exe(u32),
    Cwd(u32),
    Data(u32, PidFile),
    FdDir(u32),
    Fd(u32, u32),
    /// A directory of `/proc/sys` (index into [`SYS_DIRS`]).
    SysDir(u8),
    /// A file of `/proc/sys` (index into [`SYSCTLS`]).
    Sysctl(u8),
}

struct ProcNode {
    fs: Arc<Shared>,
    which: Which,
}

/// Decimal digits of `n`.
fn decimal(mut n: u32) -> Vec<u8> {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}

/// The number a directory entry name spells, if it is a plain decimal (no sign, no leading
/// zero).
fn parse_decimal(name: &[u8]) -> Option<u32> {
    if name.is_empty() || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

const ROOT_INO: u64 = 1;
const SELF_INO: u64 = 2;

impl Which {
    /// Inode numbers: small ones for the root and system files, then a block of 4096 per pid
    /// (its directory, its files, and its fds).
    fn ino(self) -> u64 {
        let per_pid = |pid: u32, k: u64| ((pid as u64 + 1) << 16) | k;
        match self {
            Which::Root => ROOT_INO,
            Which::SelfLink => SELF_INO,
            Which::System(f) => {
                16 + SYSTEM_FILES.iter().position(|(_, s)| *s == f).unwrap_or(0) as u64
            }
            Which::PidDir(pid) => per_pid(pid, 0),
            Which::Exe(pid) => per_pid(pid, 1),
            Which::Cwd(pid) => per_pid(pid, 2),
            Which::FdDir(pid) => per_pid(pid, 3),
            Which::Data(pid, f) => per_pid(
                pid,
                8 + PID_FILES.iter().position(|(_, p)| *p == f).unwrap_or(0) as u64,
            ),
            Which::Fd(pid, fd) => per_pid(pid, 0x100 + u64::from(fd.min(0xfeff))),
            Which::SysDir(d) => 64 + u64::from(d),
            Which::Sysctl(f) => 128 + u64::from(f),
        }
    }

    fn kind(self) -> FileKind {
        match self {
            Which::Root | Which::PidDir(_) | Which::FdDir(_) | Which::SysDir(_) => {
                FileKind::Directory
            }
            Which::SelfLink | Which::Exe(_) | Which::Cwd(_) | Which::Fd(..) => FileKind::Symlink,
            Which::System(_) | Which::Data(..) | Which::Sysctl(_) => FileKind::Regular,
        }
    }

    fn pid(self) -> Option<u32> {
        match self {
            Which::PidDir(p) | Which::Exe(p) | Which::Cwd(p) | Which::FdDir(p) => Some(p),
            Which::Data(p, _) | Which::Fd(p, _) => Some(p),
            _ => None,
        }
    }
}

impl ProcNode {
    fn node(&self, which: Which) -> Arc<dyn Inode> {
        Arc::new(ProcNode {
            fs: self.fs.clone(),
            which,
        })
    }

    fn info(&self) -> &dyn ProcessInfo {
        &*self.fs.info
    }

    fn exists(&self, pid: u32) -> bool {
        self.info().exe_path(pid).is_some()
    }

    /// The entries of a directory, after `.` and `..`.
    fn entries(&self) -> Vec<(Vec<u8>, Which)> {
        match self.which {
            Which::Root => {
                let mut v: Vec<(Vec<u8>, Which)> = SYSTEM_FILES
                    .iter()
                    .map(|(n, f)| (n.to_vec(), Which::System(*f)))
                    .collect();
                v.push((b"self".to_vec(), Which::SelfLink));
                v.push((b"sys".to_vec(), Which::SysDir(0)));
                for pid in self.info().pids() {
                    v.push((decimal(pid), Which::PidDir(pid)));
                }
                v
            }
            Which::PidDir(pid) => {
                let mut v = alloc::vec![
                    (b"cwd".to_vec(), Which::Cwd(pid)),
                    (b"exe".to_vec(), Which::Exe(pid)),
                    (b"fd".to_vec(), Which::FdDir(pid)),
                ];
                v.extend(
                    PID_FILES
                        .iter()
                        .map(|(n, f)| (n.to_vec(), Which::Data(pid, *f))),
                );
                v
            }
            Which::FdDir(pid) => self
                .info()
                .fds(pid)
                .unwrap_or_default()
                .into_iter()
                .map(|(fd, _)| (decimal(fd), Which::Fd(pid, fd)))
                .collect(),
            Which::SysDir(d) => {
                let here = SYS_DIRS[d as usize];
                let dirs = SYS_DIRS.iter().enumerate().skip(1).filter_map(|(i, p)| {
                    let (parent, name) = split_last(p);
                    (parent == here).then(|| (name.as_bytes().to_vec(), Which::SysDir(i as u8)))
                });
                let files = SYSCTLS.iter().enumerate().filter_map(|(i, p)| {
                    let (parent, name) = split_last(p);
                    (parent == here).then(|| (name.as_bytes().to_vec(), Which::Sysctl(i as u8)))
                });
                dirs.chain(files).collect()
            }
            _ => Vec::new(),
        }
    }

    fn parent_which(&self) -> Which {
        match self.which {
            Which::FdDir(pid) | Which::Fd(pid, _) => Which::PidDir(pid),
            Which::Exe(pid) | Which::Cwd(pid) | Which::Data(pid, _) => Which::PidDir(pid),
            Which::SysDir(0) => Which::Root,
            Which::SysDir(d) => sys_dir_which(split_last(SYS_DIRS[d as usize]).0),
            Which::Sysctl(f) => sys_dir_which(split_last(SYSCTLS[f as usize]).0),
            _ => Which::Root,
        }
    }
}

impl Inode for ProcNode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ino(&self) -> u64 {
        self.which.ino()
    }

    fn kind(&self) -> FileKind {
        self.which.kind()
    }

    fn metadata(&self) -> Metadata {
        let (perm, nlink) = match self.which {
            Which::Root | Which::SysDir(_) => (0o555, 3),
            Which::Sysctl(_) => (0o444, 1),
            Which::PidDir(_) => (0o555, 3),
            Which::FdDir(_) => (0o500, 2),
            Which::SelfLink | Which::Exe(_) | Which::Cwd(_) => (0o777, 1),
            Which::Fd(..) => (0o700, 1),
            Which::System(_) | Which::Data(..) => (0o444, 1),
        };
        let size = match self.which {
            Which::SelfLink => decimal(self.info().current_pid()).len() as u64,
            _ => 0,
        };
        let t = self.fs.created;
        Metadata {
            dev: self.fs.dev,
            ino: self.ino(),
            kind: self.kind(),
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: DeviceId::default(),
            size,
            blocks: 0,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
        }
    }

    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        let data = match self.which {
            Which::System(f) => self.info().system_file(f),
            // A process reaped since the file was opened reads as empty, as on Linux (ESRCH
            // there for some files; empty is the common answer).
            Which::Data(pid, f) => self.info().pid_file(pid, f).unwrap_or_default(),
            Which::Sysctl(f) => self.info().sysctl(SYSCTLS[f as usize]),
            _ => return Err(self.wrong_kind_for_data()),
        };
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= data.len() {
            return Ok(0);
        }
        dst.fill(0, &data[start..])
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let found = match self.which {
            Which::Root => {
                if name == b"self" {
                    Some(Which::SelfLink)
                } else if name == b"sys" {
                    Some(Which::SysDir(0))
                } else if let Some((_, f)) = SYSTEM_FILES.iter().find(|(n, _)| *n == name) {
                    Some(Which::System(*f))
                } else {
                    parse_decimal(name)
                        .filter(|pid| self.exists(*pid))
                        .map(Which::PidDir)
                }
            }
            Which::PidDir(pid) => match name {
                b"exe" => Some(Which::Exe(pid)),
                b"cwd" => Some(Which::Cwd(pid)),
                b"fd" => Some(Which::FdDir(pid)),
                _ => PID_FILES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, f)| Which::Data(pid, *f)),
            },
            Which::SysDir(_) => self
                .entries()
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, w)| w),
            Which::FdDir(pid) => parse_decimal(name).and_then(|fd| {
                self.info()
                    .fds(pid)?
                    .iter()
                    .any(|(f, _)| *f == fd)
                    .then_some(Which::Fd(pid, fd))
            }),
            _ => return Err(Errno::ENOTDIR),
        };
        match found {
            Some(w) if w.pid().is_none_or(|p| self.exists(p)) => Ok(self.node(w)),
            _ => Err(Errno::ENOENT),
        }
    }

    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        match self.kind() {
            FileKind::Directory => Ok(self.node(self.parent_which())),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        if self.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let dots = [
            (&b"."[..], self.ino()),
            (&b".."[..], self.parent_which().ino()),
        ];
        for (i, (name, ino)) in dots.iter().enumerate().skip(cursor as usize) {
            if !sink(&DirEntry {
                ino: *ino,
                kind: FileKind::Directory,
                name,
                next: i as u64 + 1,
            }) {
                return Ok(());
            }
        }
        for (i, (name, which)) in self.entries().iter().enumerate() {
            let pos = i as u64 + 2;
            if pos < cursor {
                continue;
            }
            if !sink(&DirEntry {
                ino: which.ino(),
                kind: which.kind(),
                name,
                next: pos + 1,
            }) {
                break;
            }
        }
        Ok(())
    }

    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        let info = self.info();
        match self.which {
            Which::SelfLink => Ok(decimal(info.current_pid())),
            Which::Exe(pid) => info.exe_path(pid).ok_or(Errno::ENOENT),
            Which::Cwd(pid) => info.cwd(pid).ok_or(Errno::ENOENT),
            Which::Fd(pid, fd) => info
                .fds(pid)
                .and_then(|fds| fds.into_iter().find(|(f, _)| *f == fd))
                .map(|(_, target)| target)
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    fn is_magic_link(&self) -> bool {
        matches!(self.which, Which::Exe(_) | Which::Cwd(_) | Which::Fd(..))
    }

    fn is_mappable(&self) -> bool {
        false
    }
}

/// The `/proc/sys` directory at `path` (below `/proc/sys`).
fn sys_dir_which(path: &str) -> Which {
    let i = SYS_DIRS.iter().position(|d| *d == path).unwrap_or(0);
    Which::SysDir(i as u8)
}

#[cfg(test)]
mod tests;
