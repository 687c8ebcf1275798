//! sysfs basics: the CPU files libcs and runtimes read to count processors.
//!
//! | path | what |
//! |---|---|
//! | `/sys/devices/system/cpu/online`, `possible`, `present` | CPU lists such as `0-1` (get_nprocs(3) reads `online`) |
//! | `/sys/devices/system/cpu/kernel_max` | the largest CPU number the kernel supports |
//! | `/sys/devices/system/cpu/cpuN/` | one directory per possible CPU (get_nprocs_conf(3) counts them) |
//!
//! That is all: no device model, no attributes to write, no uevents. Everything is read-only
//! and rendered on each read from [`CpuTopology`].

use crate::io::ReadBuf;
use crate::mount::FileSystem;
use crate::node::{DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata};
use crate::time::Timestamp;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;
use oxv_abi::Errno;

/// What the embedder tells sysfs about its CPUs.
pub trait CpuTopology: Send + Sync {
    /// How many CPUs run (numbered from 0).
    fn online(&self) -> u32;
    /// How many CPUs the machine could bring up (numbered from 0; at least [`Self::online`]).
    fn possible(&self) -> u32 {
        self.online()
    }
}

/// The largest CPU count sysfs shows directories for (and `kernel_max + 1`).
pub const MAX_CPUS: u32 = 256;

/// A sysfs instance. See the [module docs](self).
pub struct SysFs {
    shared: Arc<Shared>,
}

struct Shared {
    cpus: Arc<dyn CpuTopology>,
    dev: DeviceId,
    created: Timestamp,
}

impl SysFs {
    /// A sysfs showing `cpus`, with device number `dev`; every file's times are `created`.
    pub fn new(cpus: Arc<dyn CpuTopology>, dev: DeviceId, created: Timestamp) -> Arc<SysFs> {
        Arc::new(SysFs {
            shared: Arc::new(Shared { cpus, dev, created }),
        })
    }
}

impl FileSystem for SysFs {
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(SysNode {
            fs: self.shared.clone(),
            which: Which::Dir(Dir::Root),
        })
    }

    fn name(&self) -> &'static str {
        "sysfs"
    }

    fn device(&self) -> DeviceId {
        self.shared.dev
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Dir {
    Root,
    Devices,
    System,
    Cpu,
    CpuN(u32),
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Attr {
    Online,
    Possible,
    Present,
    KernelMax,
}

const ATTRS: [(&[u8], Attr); 4] = [
    (b"kernel_max", Attr::KernelMax),
    (b"online", Attr::Online),
    (b"possible", Attr::Possible),
    (b"present", Attr::Present),
];

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Which {
    Dir(Dir),
    Attr(Attr),
}

impl Which {
    fn ino(self) -> u64 {
        match self {
            Which::Dir(Dir::Root) => 1,
            Which::Dir(Dir::Devices) => 2,
            Which::Dir(Dir::System) => 3,
            Which::Dir(Dir::Cpu) => 4,
            Which::Attr(a) => 8 + ATTRS.iter().position(|(_, b)| *b == a).unwrap_or(0) as u64,
            Which::Dir(Dir::CpuN(n)) => 64 + u64::from(n),
        }
    }

    fn parent(self) -> Which {
        Which::Dir(match self {
            Which::Dir(Dir::Root | Dir::Devices) => Dir::Root,
            Which::Dir(Dir::System) => Dir::Devices,
            Which::Dir(Dir::Cpu) => Dir::System,
            Which::Dir(Dir::CpuN(_)) | Which::Attr(_) => Dir::Cpu,
        })
    }

    fn kind(self) -> FileKind {
        match self {
            Which::Dir(_) => FileKind::Directory,
            Which::Attr(_) => FileKind::Regular,
        }
    }
}

struct SysNode {
    fs: Arc<Shared>,
    which: Which,
}

/// `0` or `0-N`, as Linux prints a CPU range.
fn cpu_list(count: u32) -> String {
    match count {
        0 | 1 => String::from("0\n"),
        n => alloc::format!("0-{}\n", n - 1),
    }
}

impl SysNode {
    fn possible(&self) -> u32 {
        self.fs
            .cpus
            .possible()
            .max(self.fs.cpus.online())
            .clamp(1, MAX_CPUS)
    }

    fn entries(&self) -> Vec<(Vec<u8>, Which)> {
        match self.which {
            Which::Dir(Dir::Root) => alloc::vec![(b"devices".to_vec(), Which::Dir(Dir::Devices))],
            Which::Dir(Dir::Devices) => alloc::vec![(b"system".to_vec(), Which::Dir(Dir::System))],
            Which::Dir(Dir::System) => alloc::vec![(b"cpu".to_vec(), Which::Dir(Dir::Cpu))],
            Which::Dir(Dir::Cpu) => {
                let mut v: Vec<(Vec<u8>, Which)> = (0..self.possible())
                    .map(|n| {
                        let mut name = String::new();
                        let _ = write!(name, "cpu{n}");
                        (name.into_bytes(), Which::Dir(Dir::CpuN(n)))
                    })
                    .collect();
                v.extend(ATTRS.iter().map(|(n, a)| (n.to_vec(), Which::Attr(*a))));
                v
            }
            _ => Vec::new(),
        }
    }

    fn data(&self, attr: Attr) -> String {
        let cpus = &self.fs.cpus;
        match attr {
            Attr::Online => cpu_list(cpus.online().clamp(1, MAX_CPUS)),
            Attr::Possible | Attr::Present => cpu_list(self.possible()),
            Attr::KernelMax => alloc::format!("{}\n", MAX_CPUS - 1),
        }
    }
}

impl Inode for SysNode {
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
        let (perm, nlink, size) = match self.which {
            Which::Dir(_) => (0o755, 2, 0),
            // Like sysfs, attribute files report a page as their size.
            Which::Attr(_) => (0o444, 1, 4096),
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
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
        }
    }

    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        let Which::Attr(attr) = self.which else {
            return Err(self.wrong_kind_for_data());
        };
        let data = self.data(attr);
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        match data.as_bytes().get(start..) {
            Some(rest) if !rest.is_empty() => dst.fill(0, rest),
            _ => Ok(0),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if self.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let which = self
            .entries()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, w)| w)
            .ok_or(Errno::ENOENT)?;
        Ok(Arc::new(SysNode {
            fs: self.fs.clone(),
            which,
        }))
    }

    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        if self.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(Arc::new(SysNode {
            fs: self.fs.clone(),
            which: self.which.parent(),
        }))
    }

    fn is_mappable(&self) -> bool {
        false
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        if self.kind() != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut all = alloc::vec![
            (b".".to_vec(), self.which),
            (b"..".to_vec(), self.which.parent()),
        ];
        all.extend(self.entries());
        for (i, (name, which)) in all.iter().enumerate().skip(cursor as usize) {
            if !sink(&DirEntry {
                ino: which.ino(),
                kind: which.kind(),
                name,
                next: i as u64 + 1,
            }) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;

    impl CpuTopology for Two {
        fn online(&self) -> u32 {
            2
        }
        fn possible(&self) -> u32 {
            4
        }
    }

    fn read(node: &Arc<dyn Inode>) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = node.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
        buf[..n].to_vec()
    }

    fn walk(root: Arc<dyn Inode>, path: &str) -> Result<Arc<dyn Inode>, Errno> {
        path.split('/')
            .try_fold(root, |node, part| node.lookup(part.as_bytes()))
    }

    #[test]
    fn cpu_lists_and_directories() {
        let fs = SysFs::new(Arc::new(Two), DeviceId::default(), Timestamp::default());
        let cpu = walk(fs.root(), "devices/system/cpu").unwrap();
        assert_eq!(read(&cpu.lookup(b"online").unwrap()), b"0-1\n");
        assert_eq!(read(&cpu.lookup(b"possible").unwrap()), b"0-3\n");
        assert_eq!(read(&cpu.lookup(b"kernel_max").unwrap()), b"255\n");
        let mut names = Vec::new();
        cpu.read_dir(0, &mut |e| {
            names.push(e.name.to_vec());
            true
        })
        .unwrap();
        let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        assert_eq!(
            names,
            [
                &b"."[..],
                b"..",
                b"cpu0",
                b"cpu1",
                b"cpu2",
                b"cpu3",
                b"kernel_max",
                b"online",
                b"possible",
                b"present"
            ]
        );
        let cpu3 = cpu.lookup(b"cpu3").unwrap();
        assert_eq!(cpu3.parent().unwrap().ino(), cpu.ino());
        assert_eq!(cpu.lookup(b"cpu4").err(), Some(Errno::ENOENT));
        assert_eq!(
            walk(fs.root(), "devices/system/cpu/online/x").err(),
            Some(Errno::ENOTDIR)
        );
        let online = cpu.lookup(b"online").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(online.read_at(3, &mut ReadBuf::kernel(&mut buf)), Ok(1));
        assert_eq!(online.read_at(4, &mut ReadBuf::kernel(&mut buf)), Ok(0));
        assert_eq!(
            cpu.read_at(0, &mut ReadBuf::kernel(&mut buf)),
            Err(Errno::EISDIR)
        );
    }

    #[test]
    fn one_cpu_is_a_single_number() {
        struct One;
        impl CpuTopology for One {
            fn online(&self) -> u32 {
                1
            }
        }
        let fs = SysFs::new(Arc::new(One), DeviceId::default(), Timestamp::default());
        let cpu = walk(fs.root(), "devices/system/cpu").unwrap();
        assert_eq!(read(&cpu.lookup(b"online").unwrap()), b"0\n");
        assert_eq!(read(&cpu.lookup(b"present").unwrap()), b"0\n");
    }
}
