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
//! Mounts come and go at run time too: [`Vfs::mount`] and [`Vfs::bind`] add one,
//! [`Vfs::unmount`] takes one (or, lazily, a whole subtree) out of the tree, and
//! [`syscalls`] are mount(2) and umount2(2) over them. A mount taken out stays usable through
//! the files and directories that still hold it (Linux's `MNT_DETACH`), but no path reaches it
//! and `..` at its root stays there.
//!
//! Each mount counts the files open for writing through it (Linux's `mnt_writers`, taken by
//! [`WriteAccess::get_at`](crate::write_access::WriteAccess::get_at)): a remount read-only
//! is `EBUSY` while there are any ([`Mount::remount`]). Options live on the mount, not on a
//! superblock, so a remount checks and changes that one mount: a writer through another
//! bind mount of the same file system does not make it `EBUSY` (on Linux it would, and the
//! file system would become read-only under every mount of it). Linux's other remount
//! `EBUSY`, for deleted files still open, is not modelled.
//!
//! Not here: mount propagation (every mount is private), `MS_MOVE`, recursive bind mounts,
//! mount namespaces.

use crate::file::FileOps;
use crate::inotify::Watches;
use crate::locks::LockRegistry;
use crate::node::{DeviceId, FileKind, Inode};
use crate::time::{RealtimeClock, Timestamp};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bitflags::bitflags;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
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

    /// The file system as [`Any`](core::any::Any), for a remount to reach options only its
    /// type has (a tmpfs's size); `None` (the default) for a file system without any.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
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

pub mod syscalls;
#[cfg(test)]
mod tests;

bitflags! {
    /// Per-mount options, with the bits of mount(2)'s `MS_*` flags (which are also statfs(2)'s
    /// `ST_*` bits for the first five). The empty set is Linux's default mount: read-write,
    /// `relatime`.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
    pub struct MountFlags: u32 {
        /// Refuse changes with `EROFS` (`MS_RDONLY`).
        const READ_ONLY = linux_raw_sys::general::MS_RDONLY;
        /// Ignore set-user-ID and set-group-ID bits (`MS_NOSUID`; stored and shown: oxv runs
        /// everything as root and never changes credentials at exec, so nothing is ignored).
        const NO_SUID = linux_raw_sys::general::MS_NOSUID;
        /// Device nodes do not open (`MS_NODEV`: `EACCES`, as Linux's `may_open_dev`).
        const NO_DEV = linux_raw_sys::general::MS_NODEV;
        /// No program execution (`MS_NOEXEC`: the kernel's execve(2) is `EACCES`, an mmap(2)
        /// with `PROT_EXEC` `EPERM`).
        const NO_EXEC = linux_raw_sys::general::MS_NOEXEC;
        /// No access-time updates (`MS_NOATIME`).
        const NO_ATIME = linux_raw_sys::general::MS_NOATIME;
        /// No access-time updates on directories (`MS_NODIRATIME`).
        const NO_DIRATIME = linux_raw_sys::general::MS_NODIRATIME;
        /// Every access updates the access time (`MS_STRICTATIME`): without it and
        /// `NO_ATIME`, the mount is `relatime`.
        const STRICT_ATIME = linux_raw_sys::general::MS_STRICTATIME;
    }
}

impl MountFlags {
    /// The access-time flags (Linux's `MNT_ATIME_MASK`).
    pub const ATIME: MountFlags = MountFlags::NO_ATIME
        .union(MountFlags::NO_DIRATIME)
        .union(MountFlags::STRICT_ATIME);

    /// The options /proc/mounts shows for these flags, in Linux's order (`ro,nosuid,noatime`).
    pub fn options(self) -> alloc::string::String {
        let mut out = alloc::string::String::from(if self.contains(MountFlags::READ_ONLY) {
            "ro"
        } else {
            "rw"
        });
        for (flag, name) in [
            (MountFlags::NO_SUID, ",nosuid"),
            (MountFlags::NO_DEV, ",nodev"),
            (MountFlags::NO_EXEC, ",noexec"),
            (MountFlags::NO_ATIME, ",noatime"),
            (MountFlags::NO_DIRATIME, ",nodiratime"),
        ] {
            if self.contains(flag) {
                out.push_str(name);
            }
        }
        if !self.intersects(MountFlags::NO_ATIME | MountFlags::STRICT_ATIME) {
            out.push_str(",relatime");
        }
        out
    }
}

/// One file system (or, for a bind mount, one directory of it) mounted at one place.
pub struct Mount {
    id: u64,
    fs: Arc<dyn FileSystem>,
    root: Arc<dyn Inode>,
    /// The covered directory; `None` for the root mount and once unmounted (it is dropped
    /// then, so that a detached mount does not keep its parent busy).
    mountpoint: RwLock<Option<Location>>,
    flags: AtomicU32,
    detached: AtomicBool,
    /// Marked by umount2's `MNT_EXPIRE`.
    expired: AtomicBool,
    /// Files open for writing through this mount (Linux's `mnt_writers`).
    writers: AtomicU32,
    /// What mount(2) was given as the source (`/dev/vda`, `none`); empty for the kernel's own.
    source: Vec<u8>,
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

    /// The directory this mount covers; `None` for the root mount and for one taken out of
    /// the tree.
    pub fn mountpoint(&self) -> Option<Location> {
        self.mountpoint.read().clone()
    }

    /// The directory of the file system shown at the mountpoint: the file system's root, or
    /// for a bind mount the directory bound.
    pub fn root(&self) -> &Arc<dyn Inode> {
        &self.root
    }

    /// The source mount(2) was given (`/dev/vda`); empty for the kernel's own mounts.
    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// Mount options.
    pub fn flags(&self) -> MountFlags {
        MountFlags::from_bits_truncate(self.flags.load(Ordering::Relaxed))
    }

    /// Replaces the mount options, unchecked (see [`Mount::remount`]).
    pub fn set_flags(&self, flags: MountFlags) {
        self.flags.store(flags.bits(), Ordering::SeqCst);
    }

    /// Replaces the mount options (mount(2)'s `MS_REMOUNT`). Making a read-write mount
    /// read-only is `EBUSY` while a file is open for writing through it, as Linux's
    /// `sb_prepare_remount_readonly` and `mnt_make_readonly`. The read-only flag is set before
    /// the writers are counted and [`Mount::get_write`] counts before it looks at the flag, so
    /// a racing open either is seen here or sees the flag (`EROFS`); Linux makes such an open
    /// wait instead, a window too small to matter.
    pub fn remount(&self, flags: MountFlags) -> Result<(), Errno> {
        let old = self.flags();
        if !flags.contains(MountFlags::READ_ONLY) || old.contains(MountFlags::READ_ONLY) {
            self.set_flags(flags);
            return Ok(());
        }
        self.set_flags(flags);
        if self.writers.load(Ordering::SeqCst) > 0 {
            // Put back the old flags unless another remount changed them meanwhile.
            let _ = self.flags.compare_exchange(
                flags.bits(),
                old.bits(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// `EBUSY` if [`Mount::remount`] with `flags` would be refused now: they make the mount
    /// read-only while a file is open for writing through it.
    pub fn check_remount(&self, flags: MountFlags) -> Result<(), Errno> {
        let to_read_only = flags.contains(MountFlags::READ_ONLY) && !self.is_read_only();
        if to_read_only && self.writers() > 0 {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// Counts a file opened for writing through this mount (Linux's `mnt_want_write`):
    /// `EROFS` if the mount is read-only. Given back by [`Mount::put_write`].
    pub fn get_write(&self) -> Result<(), Errno> {
        self.writers.fetch_add(1, Ordering::SeqCst);
        if self.flags.load(Ordering::SeqCst) & MountFlags::READ_ONLY.bits() != 0 {
            self.writers.fetch_sub(1, Ordering::SeqCst);
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// Gives back a count taken by [`Mount::get_write`].
    pub fn put_write(&self) {
        self.writers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Files open for writing through this mount now.
    pub fn writers(&self) -> u32 {
        self.writers.load(Ordering::SeqCst)
    }

    /// Whether changes are refused with `EROFS`.
    pub fn is_read_only(&self) -> bool {
        self.flags().contains(MountFlags::READ_ONLY)
    }

    /// Whether the mount was taken out of the tree ([`Vfs::unmount`]).
    pub fn is_detached(&self) -> bool {
        self.detached.load(Ordering::Relaxed)
    }

    /// Marks the mount expired (umount2's `MNT_EXPIRE`); returns whether it already was.
    pub fn mark_expired(&self) -> bool {
        self.expired.swap(true, Ordering::Relaxed)
    }

    /// statfs(2)'s `f_flags`: `ST_VALID`, the `ST_*` bits of the mount's flags, and
    /// `ST_NOATIME` always (oxv never updates access times; Linux's default mounts say
    /// `ST_RELATIME`).
    pub fn statfs_flags(&self) -> u64 {
        use oxv_abi::linux::fs::{ST_NOATIME, ST_VALID};
        let shown = MountFlags::READ_ONLY
            | MountFlags::NO_SUID
            | MountFlags::NO_DEV
            | MountFlags::NO_EXEC
            | MountFlags::NO_DIRATIME;
        ST_VALID | ST_NOATIME | u64::from((self.flags() & shown).bits())
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

    /// Whether this is the root directory of its mount (for a bind mount, the directory
    /// bound).
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
    /// File systems mount(2) mounts again rather than making anew, with the type name it
    /// asks for: the one procfs, sysfs and devtmpfs, and each disk's (Linux keeps one
    /// superblock per block device).
    shared: RwLock<Vec<(&'static str, Arc<dyn FileSystem>)>>,
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
            mountpoint: RwLock::new(None),
            flags: AtomicU32::new(0),
            detached: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            writers: AtomicU32::new(0),
            source: Vec::new(),
            watches: watches.clone(),
        });
        Arc::new(Vfs {
            mounts: RwLock::new(alloc::vec![mount]),
            shared: RwLock::new(Vec::new()),
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
        let root = fs.root();
        Ok(self.attach(fs, root, at, flags, &[]))
    }

    /// Mounts `fs` on `at` for mount(2), recording `source` for /proc/mounts. The caller has
    /// checked `at` (a directory for a file system whose root is one, as graft_tree does).
    pub fn mount_from(
        &self,
        fs: Arc<dyn FileSystem>,
        at: &Location,
        flags: MountFlags,
        source: &[u8],
    ) -> Arc<Mount> {
        let root = fs.root();
        self.attach(fs, root, at, flags, source)
    }

    /// Shows the directory `dir` (of any mount) at `at` too: a bind mount, with the options
    /// of `dir`'s mount, as mount(2)'s `MS_BIND` makes (not recursive: what is mounted below
    /// `dir` is not carried over).
    pub fn bind(&self, dir: &Location, at: &Location, source: &[u8]) -> Arc<Mount> {
        let fs = dir.mount().fs().clone();
        self.attach(fs, dir.inode().clone(), at, dir.mount().flags(), source)
    }

    fn attach(
        &self,
        fs: Arc<dyn FileSystem>,
        root: Arc<dyn Inode>,
        at: &Location,
        flags: MountFlags,
        source: &[u8],
    ) -> Arc<Mount> {
        self.share(&fs);
        let mount = Arc::new(Mount {
            id: self.next_mount_id.fetch_add(1, Ordering::Relaxed),
            root,
            fs,
            mountpoint: RwLock::new(Some(at.clone())),
            flags: AtomicU32::new(flags.bits()),
            detached: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            writers: AtomicU32::new(0),
            source: source.to_vec(),
            watches: self.watches.clone(),
        });
        self.mounts.write().push(mount.clone());
        mount
    }

    /// Remembers the one instance of procfs, sysfs and a disk's file system, for mount(2).
    fn share(&self, fs: &Arc<dyn FileSystem>) {
        let name = fs.name();
        if matches!(name, "proc" | "sysfs") || fs.device().major != 0 {
            self.share_as(name, fs.clone());
        }
    }

    /// Makes mount(2) of type `fstype` (or of `fs`'s disk) mount `fs` rather than a new
    /// instance; the first one given for a type or device stays. [`crate::devfs::build`]
    /// gives its file system as `devtmpfs`.
    pub fn share_as(&self, fstype: &'static str, fs: Arc<dyn FileSystem>) {
        let mut shared = self.shared.write();
        let dev = fs.device();
        // A disk's file system is known by its device, the others by their type.
        let known = |(t, f): &(&'static str, Arc<dyn FileSystem>)| {
            if dev.major != 0 {
                f.device() == dev
            } else {
                *t == fstype
            }
        };
        if !shared.iter().any(known) {
            shared.push((fstype, fs));
        }
    }

    /// The shared instance of file-system type `fstype` (see [`Vfs::share_as`]); not a
    /// disk's ([`Vfs::shared_on_device`]).
    pub fn shared(&self, fstype: &str) -> Option<Arc<dyn FileSystem>> {
        let shared = self.shared.read();
        shared
            .iter()
            .find(|(t, f)| *t == fstype && f.device().major == 0)
            .map(|(_, f)| f.clone())
    }

    /// The file system already made on the disk with device number `dev`, if any.
    pub fn shared_on_device(&self, dev: DeviceId) -> Option<Arc<dyn FileSystem>> {
        let shared = self.shared.read();
        shared
            .iter()
            .find(|(_, f)| f.device() == dev)
            .map(|(_, f)| f.clone())
    }

    /// Takes `mount` out of the tree, as umount2(2) does. `held` is how many references to
    /// it the caller holds (the location it resolved). Without `lazy`, `EBUSY` if anything
    /// else holds it: an open file, a cwd or root, a mount on one of its directories (Linux
    /// counts references the same way). With `lazy` (`MNT_DETACH`), the mount and every mount
    /// below it leave the tree at once, and stay usable through what still holds them.
    /// `EINVAL` if it is not in the tree; `EBUSY` for the root mount.
    ///
    /// Returns the file systems no mount in the tree shows any more: the caller writes them
    /// back ([`syscalls::FileSystemTypes::released`]).
    pub fn unmount(
        &self,
        mount: &Arc<Mount>,
        lazy: bool,
        held: usize,
    ) -> Result<Vec<Arc<dyn FileSystem>>, Errno> {
        let mut table = self.mounts.write();
        let pos = table
            .iter()
            .position(|m| m.id == mount.id)
            .ok_or(Errno::EINVAL)?;
        if pos == 0 {
            return Err(Errno::EBUSY);
        }
        let gone: Vec<Arc<Mount>> = if lazy {
            // Mounts are appended, so one on a directory of another comes after it.
            let mut ids = alloc::vec![mount.id];
            for m in table.iter().skip(pos + 1) {
                let parent = m.mountpoint.read().as_ref().map(|mp| mp.mount.id);
                if parent.is_some_and(|p| ids.contains(&p)) {
                    ids.push(m.id);
                }
            }
            let (gone, kept) = core::mem::take(&mut *table)
                .into_iter()
                .partition(|m| ids.contains(&m.id));
            *table = kept;
            gone
        } else {
            if self.is_busy(mount, held) {
                return Err(Errno::EBUSY);
            }
            alloc::vec![table.remove(pos)]
        };
        let mut released: Vec<Arc<dyn FileSystem>> = Vec::new();
        for m in &gone {
            m.detached.store(true, Ordering::Relaxed);
            let dev = m.fs.device();
            if !table.iter().any(|t| t.fs.device() == dev)
                && !released.iter().any(|f| f.device() == dev)
            {
                released.push(m.fs.clone());
            }
        }
        drop(table);
        // Outside the table lock: dropping the covered directories may free their mounts.
        for m in &gone {
            m.mountpoint.write().take();
        }
        Ok(released)
    }

    /// Whether anything but the tree and the caller's `held` references hold `mount`: an open
    /// file, a cwd or root, a mount on one of its directories (see [`Vfs::unmount`]).
    pub fn is_busy(&self, mount: &Arc<Mount>, held: usize) -> bool {
        Arc::strong_count(mount) > 1 + held
    }

    /// The mount covering `loc`, if something is mounted there (the latest one).
    pub fn mounted_on(&self, loc: &Location) -> Option<Arc<Mount>> {
        let mounts = self.mounts.read();
        mounts
            .iter()
            .rev()
            .find(|m| m.mountpoint.read().as_ref().is_some_and(|mp| mp.same(loc)))
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
