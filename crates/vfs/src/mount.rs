//! The mount table and the shared state of one VFS: [`Vfs`], [`Mount`], [`Location`].
//!
//! A [`Vfs`] is what Linux calls a mount namespace plus the character-device table: a root
//! file system, file systems mounted on directories of others (the kernel mounts a devfs on
//! `/dev`, a procfs on `/proc`, a tmpfs on `/tmp`), the drivers that device nodes open, and the
//! wall clock that stamps file times. There is one per kernel; every process's
//! [`FsContext`](crate::FsContext) points at it.
//!
//! A [`Location`] is a place in that tree: an inode *and* the mount it was reached through,
//! which is what `..` and getcwd(2) need to climb out of a mounted file system (Linux's
//! `struct path`). Mounting covers a directory: the path walk steps from the covered directory
//! to the root of the file system mounted on it, and from that root back up on `..`.
//!
//! Not here yet: unmounting, bind mounts, mount propagation; mounts are added at boot.

use crate::file::FileOps;
use crate::inotify::Watches;
use crate::locks::LockRegistry;
use crate::node::{DeviceId, FileKind, Inode};
use crate::time::{RealtimeClock, Timestamp};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bitflags::bitflags;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::OpenFlags;
use spin::RwLock;

/// A mountable file system: a tree of [`Inode`]s with a device number.
pub trait FileSystem: Send + Sync {
    /// The root directory.
    fn root(&self) -> Arc<dyn Inode>;
    /// The type name, as `/proc/mounts` would show it (`"tmpfs"`).
    fn name(&self) -> &'static str;
    /// The device number every inode reports as `st_dev`.
    fn device(&self) -> DeviceId;

    /// What statfs(2) reports. The default describes a file system without a size of its
    /// own (procfs, devfs, tmpfs without `size=`): no blocks, no inode limit, the magic
    /// number Linux gives a file system of that [name](FileSystem::name).
    fn stats(&self) -> FsStats {
        FsStats::without_size(self.name())
    }

    /// Writes everything the file system keeps dirty in memory to its storage and makes it
    /// durable: sync(2), syncfs(2), and fsync(2)/fdatasync(2) of any of its files.
    /// **Blocks** until the device has it. The default, for file systems that live in
    /// memory, has nothing to do.
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
}

/// File-system statistics, as statfs(2) reports them (the mount flags come from the mount).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct FsStats {
    /// `f_type`: the file system's magic number (`EXT2_SUPER_MAGIC`, `TMPFS_MAGIC`...).
    pub magic: u64,
    /// `f_bsize` and `f_frsize`: the block size.
    pub block_size: u64,
    /// `f_blocks`: data blocks in all.
    pub blocks: u64,
    /// `f_bfree`: free blocks.
    pub free_blocks: u64,
    /// `f_bavail`: free blocks an unprivileged user may use.
    pub avail_blocks: u64,
    /// `f_files`: inodes in all.
    pub files: u64,
    /// `f_ffree`: free inodes.
    pub free_files: u64,
    /// `f_fsid`.
    pub fsid: [u32; 2],
    /// `f_namelen`: the longest file name.
    pub name_max: u64,
}

impl FsStats {
    /// The statistics of a file system without a size, named `name`: Linux's magic number
    /// for it (0 if unknown), 4 KiB blocks, `NAME_MAX`, and zero counts.
    pub fn without_size(name: &str) -> FsStats {
        use linux_raw_sys::general as g;
        let magic = match name {
            "tmpfs" | "devtmpfs" => g::TMPFS_MAGIC,
            "proc" => g::PROC_SUPER_MAGIC,
            "sysfs" => g::SYSFS_MAGIC,
            "devpts" => g::DEVPTS_SUPER_MAGIC,
            "ramfs" => g::RAMFS_MAGIC,
            _ => 0,
        };
        FsStats {
            magic: magic as u64,
            block_size: 4096,
            name_max: g::NAME_MAX as u64,
            ..FsStats::default()
        }
    }
}

bitflags! {
    /// Per-mount options.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
    pub struct MountFlags: u32 {
        /// Refuse changes with `EROFS` (`MS_RDONLY`).
        const READ_ONLY = 1;
    }
}

/// One file system mounted at one place.
pub struct Mount {
    id: u64,
    fs: Arc<dyn FileSystem>,
    root: Arc<dyn Inode>,
    mountpoint: Option<Location>,
    flags: MountFlags,
    watches: Arc<Watches>,
}

impl Mount {
    /// The inotify watches of the whole VFS (see [`crate::inotify`]).
    pub fn watches(&self) -> &Arc<Watches> {
        &self.watches
    }

    /// Mount id (statx's `stx_mnt_id`); the root mount is 1.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The mounted file system.
    pub fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// The directory this mount covers; `None` for the root mount.
    pub fn mountpoint(&self) -> Option<&Location> {
        self.mountpoint.as_ref()
    }

    /// Mount options.
    pub fn flags(&self) -> MountFlags {
        self.flags
    }

    /// Whether changes are refused with `EROFS`.
    pub fn is_read_only(&self) -> bool {
        self.flags.contains(MountFlags::READ_ONLY)
    }
}

impl core::fmt::Debug for Mount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mount")
            .field("id", &self.id)
            .field("fs", &self.fs.name())
            .finish()
    }
}

/// A place in the mount tree: an inode and the mount it was reached through.
#[derive(Clone)]
pub struct Location {
    mount: Arc<Mount>,
    inode: Arc<dyn Inode>,
}

impl Location {
    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    /// The mount.
    pub fn mount(&self) -> &Arc<Mount> {
        &self.mount
    }

    /// The same mount, another inode of its file system.
    pub fn with_inode(&self, inode: Arc<dyn Inode>) -> Location {
        Location {
            mount: self.mount.clone(),
            inode,
        }
    }

    /// Whether both name the same inode through the same mount.
    pub fn same(&self, other: &Location) -> bool {
        self.mount.id == other.mount.id && self.inode.ino() == other.inode.ino()
    }

    /// Whether this is the root directory of its mount.
    pub fn is_mount_root(&self) -> bool {
        self.inode.ino() == self.mount.root.ino()
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.inode.kind() == FileKind::Directory
    }

    /// `EROFS` if the mount is read-only.
    pub fn check_writable(&self) -> Result<(), Errno> {
        if self.mount.is_read_only() {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }
}

impl core::fmt::Debug for Location {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Location(mount {}, ino {})",
            self.mount.id,
            self.inode.ino()
        )
    }
}

/// Opens files for one character-device number: what a device node in any file system opens.
/// Registered in a [`Vfs`] with [`Vfs::register_char_device`].
pub trait CharDriver: Send + Sync {
    /// A new open file for the device. `flags` are the open(2) flags (access mode, `NONBLOCK`).
    fn open(&self, flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno>;
}

/// The mount tree, the device table and the clock of one kernel. See the [module docs](self).
pub struct Vfs {
    mounts: RwLock<Vec<Arc<Mount>>>,
    next_mount_id: AtomicU64,
    next_anon_minor: AtomicU32,
    char_drivers: RwLock<BTreeMap<DeviceId, Arc<dyn CharDriver>>>,
    clock: Arc<dyn RealtimeClock>,
    locks: LockRegistry,
    watches: Arc<Watches>,
}

impl Vfs {
    /// A VFS whose root is `root`, stamping file times from `clock`.
    pub fn new(root: Arc<dyn FileSystem>, clock: Arc<dyn RealtimeClock>) -> Arc<Vfs> {
        let root_inode = root.root();
        // Anonymous device numbers continue after the root's, if it has one.
        let root_dev = root.device();
        let first_anon = if root_dev.major == 0 {
            root_dev.minor.saturating_add(1).max(1)
        } else {
            1
        };
        let watches = Arc::new(Watches::new());
        let mount = Arc::new(Mount {
            id: 1,
            fs: root,
            root: root_inode,
            mountpoint: None,
            flags: MountFlags::empty(),
            watches: watches.clone(),
        });
        Arc::new(Vfs {
            mounts: RwLock::new(alloc::vec![mount]),
            next_mount_id: AtomicU64::new(2),
            next_anon_minor: AtomicU32::new(first_anon),
            char_drivers: RwLock::new(BTreeMap::new()),
            clock,
            locks: LockRegistry::new(),
            watches,
        })
    }

    /// The root of the tree.
    pub fn root(&self) -> Location {
        let root = self.mounts.read()[0].clone();
        Location {
            inode: root.root.clone(),
            mount: root,
        }
    }

    /// Mounts `fs` on the directory `at` (`ENOTDIR` if it is not one). A later mount on the
    /// same place covers an earlier one.
    pub fn mount(
        &self,
        fs: Arc<dyn FileSystem>,
        at: &Location,
        flags: MountFlags,
    ) -> Result<Arc<Mount>, Errno> {
        if !at.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mount = Arc::new(Mount {
            id: self.next_mount_id.fetch_add(1, Ordering::Relaxed),
            root: fs.root(),
            fs,
            mountpoint: Some(at.clone()),
            flags,
            watches: self.watches.clone(),
        });
        self.mounts.write().push(mount.clone());
        Ok(mount)
    }

    /// The mount covering `loc`, if something is mounted there (the latest one).
    pub fn mounted_on(&self, loc: &Location) -> Option<Arc<Mount>> {
        let mounts = self.mounts.read();
        mounts
            .iter()
            .rev()
            .find(|m| m.mountpoint.as_ref().is_some_and(|mp| mp.same(loc)))
            .cloned()
    }

    /// `loc`, or the root of what is mounted on it (repeatedly, for stacked mounts).
    pub fn cross_mounts(&self, mut loc: Location) -> Location {
        while let Some(m) = self.mounted_on(&loc) {
            loc = Location {
                inode: m.root.clone(),
                mount: m,
            };
        }
        loc
    }

    /// Every mount, root first.
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        self.mounts.read().clone()
    }

    /// A fresh device number for a file system without a device (major 0, like Linux's
    /// anonymous `st_dev`s). Numbers count up from just past the root file system's (so a root
    /// tmpfs made before the `Vfs` with `DeviceId::new(0, 1)` does not collide).
    pub fn anon_device(&self) -> DeviceId {
        DeviceId::new(0, self.next_anon_minor.fetch_add(1, Ordering::Relaxed))
    }

    /// Makes device nodes with number `dev` open `driver` (replacing any earlier driver).
    pub fn register_char_device(&self, dev: DeviceId, driver: Arc<dyn CharDriver>) {
        self.char_drivers.write().insert(dev, driver);
    }

    /// Opens character device `dev`: `ENXIO` if no driver has that number, as on Linux.
    pub fn open_char_device(
        &self,
        dev: DeviceId,
        flags: OpenFlags,
    ) -> Result<Arc<dyn FileOps>, Errno> {
        let driver = self
            .char_drivers
            .read()
            .get(&dev)
            .cloned()
            .ok_or(Errno::ENXIO)?;
        driver.open(flags)
    }

    /// The file locks of every inode (fcntl(2) record locks, flock(2)).
    pub fn locks(&self) -> &LockRegistry {
        &self.locks
    }

    /// The inotify watches (see [`crate::inotify`]).
    pub fn watches(&self) -> &Arc<Watches> {
        &self.watches
    }

    /// The wall clock.
    pub fn clock(&self) -> &Arc<dyn RealtimeClock> {
        &self.clock
    }

    /// The current wall-clock time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
