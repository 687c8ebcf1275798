//! procfs: the minimal `/proc` a Linux program and its libc look at, for the one process oxv
//! runs. Its contents come from the embedder through [`ProcessInfo`]; nothing is stored.
//!
//! | path | what |
//! |---|---|
//! | `/proc/self` | symlink to `<pid>` |
//! | `/proc/<pid>/exe` | symlink to the executable's path (what `readlink("/proc/self/exe")` gives) |
//! | `/proc/<pid>/cmdline` | the argument strings, each NUL-terminated |
//! | `/proc/<pid>/maps` | the memory map (proc(5)), rendered by the embedder's memory manager |
//! | `/proc/<pid>/smaps` | the memory map with per-mapping sizes |
//! | `/proc/meminfo` | system memory figures |
//!
//! Not yet: `/proc/<pid>/fd/` (lookups there are `ENOENT`, so `/dev/stdin` and `/dev/fd/N`
//! do not resolve), `status`, `/proc/cpuinfo`. Everything is read-only; like Linux, regular
//! files report size 0 and are read like any file. Each read renders the file afresh and
//! returns the bytes at its offset, so a reader that takes a file in several reads while the
//! process changes its mappings can see a mix of two states (Linux's seq_file has the same
//! effect at line granularity).

use crate::io::ReadBuf;
use crate::mount::FileSystem;
use crate::node::{DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata};
use crate::time::Timestamp;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;

/// What procfs shows about the running process. The embedder implements it.
pub trait ProcessInfo: Send + Sync {
    /// The process id.
    fn pid(&self) -> u32;
    /// The absolute path of the executable.
    fn exe_path(&self) -> Vec<u8>;
    /// The arguments, each followed by a NUL (the layout of `/proc/<pid>/cmdline`).
    fn cmdline(&self) -> Vec<u8>;
    /// `/proc/<pid>/maps` in Linux's format. The default is empty (no memory manager).
    ///
    /// Called from read(2) with no VFS lock held; the implementation must render into memory
    /// of its own before returning (the caller then copies to user memory, which may fault).
    fn maps(&self) -> Vec<u8> {
        Vec::new()
    }
    /// `/proc/<pid>/smaps` in Linux's format. The default is empty.
    fn smaps(&self) -> Vec<u8> {
        Vec::new()
    }
    /// `/proc/meminfo` in Linux's format. The default is empty.
    fn meminfo(&self) -> Vec<u8> {
        Vec::new()
    }
}

const ROOT_INO: u64 = 1;
const SELF_INO: u64 = 2;
const PID_DIR_INO: u64 = 3;
const EXE_INO: u64 = 4;
const CMDLINE_INO: u64 = 5;
const MAPS_INO: u64 = 6;
const SMAPS_INO: u64 = 7;
const MEMINFO_INO: u64 = 8;

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

#[derive(Copy, Clone, PartialEq, Eq)]
enum Which {
    Root,
    SelfLink,
    PidDir,
    Exe,
    Cmdline,
    Maps,
    Smaps,
    Meminfo,
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

impl ProcNode {
    fn node(&self, which: Which) -> Arc<dyn Inode> {
        Arc::new(ProcNode {
            fs: self.fs.clone(),
            which,
        })
    }

    fn entries(&self) -> Vec<(Vec<u8>, u64, FileKind)> {
        match self.which {
            Which::Root => alloc::vec![
                (b"meminfo".to_vec(), MEMINFO_INO, FileKind::Regular),
                (b"self".to_vec(), SELF_INO, FileKind::Symlink),
                (
                    decimal(self.fs.info.pid()),
                    PID_DIR_INO,
                    FileKind::Directory
                ),
            ],
            Which::PidDir => alloc::vec![
                (b"cmdline".to_vec(), CMDLINE_INO, FileKind::Regular),
                (b"exe".to_vec(), EXE_INO, FileKind::Symlink),
                (b"maps".to_vec(), MAPS_INO, FileKind::Regular),
                (b"smaps".to_vec(), SMAPS_INO, FileKind::Regular),
            ],
            _ => Vec::new(),
        }
    }
}

impl Inode for ProcNode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ino(&self) -> u64 {
        match self.which {
            Which::Root => ROOT_INO,
            Which::SelfLink => SELF_INO,
            Which::PidDir => PID_DIR_INO,
            Which::Exe => EXE_INO,
            Which::Cmdline => CMDLINE_INO,
            Which::Maps => MAPS_INO,
            Which::Smaps => SMAPS_INO,
            Which::Meminfo => MEMINFO_INO,
        }
    }

    fn kind(&self) -> FileKind {
        match self.which {
            Which::Root | Which::PidDir => FileKind::Directory,
            Which::SelfLink | Which::Exe => FileKind::Symlink,
            Which::Cmdline | Which::Maps | Which::Smaps | Which::Meminfo => FileKind::Regular,
        }
    }

    fn metadata(&self) -> Metadata {
        let (perm, nlink, size) = match self.which {
            Which::Root => (0o555, 3, 0),
            Which::PidDir => (0o555, 2, 0),
            Which::SelfLink => (0o777, 1, decimal(self.fs.info.pid()).len() as u64),
            Which::Exe => (0o777, 1, 0),
            Which::Cmdline | Which::Maps | Which::Smaps | Which::Meminfo => (0o444, 1, 0),
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
        let info = &self.fs.info;
        let data = match self.which {
            Which::Cmdline => info.cmdline(),
            Which::Maps => info.maps(),
            Which::Smaps => info.smaps(),
            Which::Meminfo => info.meminfo(),
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
        match self.which {
            Which::Root if name == b"self" => Ok(self.node(Which::SelfLink)),
            Which::Root if name == b"meminfo" => Ok(self.node(Which::Meminfo)),
            Which::Root if name == decimal(self.fs.info.pid()).as_slice() => {
                Ok(self.node(Which::PidDir))
            }
            Which::PidDir if name == b"exe" => Ok(self.node(Which::Exe)),
            Which::PidDir if name == b"cmdline" => Ok(self.node(Which::Cmdline)),
            Which::PidDir if name == b"maps" => Ok(self.node(Which::Maps)),
            Which::PidDir if name == b"smaps" => Ok(self.node(Which::Smaps)),
            Which::Root | Which::PidDir => Err(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        match self.which {
            Which::Root | Which::PidDir => Ok(self.node(Which::Root)),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        if self.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let dots = [(&b"."[..], self.ino()), (&b".."[..], ROOT_INO)];
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
        for (i, (name, ino, kind)) in self.entries().iter().enumerate() {
            let pos = i as u64 + 2;
            if pos < cursor {
                continue;
            }
            if !sink(&DirEntry {
                ino: *ino,
                kind: *kind,
                name,
                next: pos + 1,
            }) {
                break;
            }
        }
        Ok(())
    }

    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        match self.which {
            Which::SelfLink => Ok(decimal(self.fs.info.pid())),
            Which::Exe => Ok(self.fs.info.exe_path()),
            _ => Err(Errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeProcess;

    fn proc() -> Arc<ProcFs> {
        ProcFs::new(
            FakeProcess::new(42, b"/bin/app", &[b"app", b"-v"]),
            DeviceId::new(0, 9),
            Timestamp::EPOCH,
        )
    }

    #[test]
    fn self_and_exe_links() {
        let root = proc().root();
        assert_eq!(root.lookup(b"self").unwrap().read_link().unwrap(), b"42");
        let pid = root.lookup(b"42").unwrap();
        assert_eq!(pid.kind(), FileKind::Directory);
        assert_eq!(
            pid.lookup(b"exe").unwrap().read_link().unwrap(),
            b"/bin/app"
        );
        assert_eq!(pid.lookup(b"fd").err(), Some(Errno::ENOENT));
        assert_eq!(root.lookup(b"43").err(), Some(Errno::ENOENT));
        assert_eq!(pid.parent().unwrap().ino(), ROOT_INO);
    }

    #[test]
    fn cmdline_reads_at_offsets() {
        let cmd = proc()
            .root()
            .lookup(b"42")
            .unwrap()
            .lookup(b"cmdline")
            .unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(cmd.read_at(0, &mut ReadBuf::kernel(&mut buf)), Ok(7));
        assert_eq!(&buf[..7], b"app\0-v\0");
        assert_eq!(cmd.read_at(4, &mut ReadBuf::kernel(&mut buf)), Ok(3));
        assert_eq!(cmd.read_at(100, &mut ReadBuf::kernel(&mut buf)), Ok(0));
        assert_eq!(cmd.metadata().size, 0);
    }

    #[test]
    fn memory_files_come_from_the_process_info() {
        let root = proc().root();
        let pid = root.lookup(b"42").unwrap();
        let mut buf = [0u8; 64];
        for (dir, name, want) in [
            (
                &pid,
                &b"maps"[..],
                &b"00400000-00401000 r-xp 00000000 00:01 2 /bin/app\n"[..],
            ),
            (&pid, b"smaps", b"Size: 4 kB\n"),
            (&root, b"meminfo", b"MemTotal: 1 kB\n"),
        ] {
            let f = dir.lookup(name).unwrap();
            assert_eq!(f.kind(), FileKind::Regular);
            assert_eq!(f.metadata().size, 0, "like Linux, proc files report size 0");
            let n = f.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
            assert_eq!(&buf[..n], want);
            let n = f.read_at(5, &mut ReadBuf::kernel(&mut buf)).unwrap();
            assert_eq!(&buf[..n], &want[5..], "reads resume at the offset");
        }
        assert_eq!(root.lookup(b"maps").err(), Some(Errno::ENOENT));
    }

    #[test]
    fn listing_resumes_at_cursor() {
        let root = proc().root();
        let mut names = Vec::new();
        root.read_dir(0, &mut |e| {
            names.push((e.name.to_vec(), e.next));
            true
        })
        .unwrap();
        assert_eq!(
            names,
            [
                (b".".to_vec(), 1),
                (b"..".to_vec(), 2),
                (b"meminfo".to_vec(), 3),
                (b"self".to_vec(), 4),
                (b"42".to_vec(), 5)
            ]
        );
        let mut rest = Vec::new();
        root.read_dir(3, &mut |e| {
            rest.push(e.name.to_vec());
            true
        })
        .unwrap();
        assert_eq!(rest, [b"self".to_vec(), b"42".to_vec()]);
    }
}
