//! ext2: a persistent, read-write disk file system over a [`BlockDevice`].
//!
//! It reads and writes the second extended file system as e2fsprogs and Linux's `fs/ext2`
//! define it: images made by `mke2fs -t ext2` (with or without `-d DIR` to fill them) mount
//! as they are, and after oxv writes to one, `e2fsck -fn` finds nothing to fix. Revision 0
//! and 1, block sizes 1 KiB to 64 KiB, 128-byte and larger inodes.
//!
//! Supported on-disk features: everything `mke2fs -t ext2` turns on by default on Debian
//! (`ext_attr`, `resize_inode`, `dir_index`, `filetype`, `sparse_super`, `large_file`).
//! `dir_index` directories are read linearly and lose their index when oxv changes them (as
//! Linux's ext2 leaves them); attribute blocks are kept and released with their inode, not
//! interpreted. An image with an incompatible feature oxv does not implement (`extent`,
//! `64bit`, `flex_bg`, `meta_bg`, a journal needing recovery...) is refused with
//! [`MountError::Incompatible`]; one with an unknown read-only-compatible feature mounts only
//! read-only ([`MountError::ReadOnlyFeatures`] otherwise), the rules of the ext2 feature
//! sets.
//!
//! What the parts do:
//!
//! - `layout`: the on-disk structures, byte for byte;
//! - `cache`: the buffer cache with write-back in crash-safe order;
//! - `pages`: the page cache of mapped files: frames that `MAP_SHARED` (and private) mappings
//!   map, coherent with read(2) and write(2), written back with every sync;
//! - `fs`: geometry, superblock and group descriptors, inode slots, block and inode
//!   allocation;
//! - `bmap`: the direct/indirect block map of a file (sparse files, truncation);
//! - `dir`: directory entries;
//! - `format`: making a new file system ([`format()`]);
//! - `lock`: the locks held across disk I/O, which sleep through the embedder's
//!   [`Sleeper`] when contended;
//! - [`Ext2Node`]: the [`Inode`] implementation.
//!
//! What the embedder supplies: the [`BlockDevice`], a [`Sleeper`] in [`MountOptions`] (on a
//! non-preemptible kernel it must put threads to sleep: a thread that spins on a lock held by
//! a thread asleep on the disk never lets it run), the device number, `now` for each
//! change, and, for files to be memory-mapped through a page cache, frames
//! ([`Ext2::set_page_memory`]; without them `page_cache()` is `None` and `MAP_SHARED` fails
//! with `ENODEV`). Locking is one lock per file system, plus one per file for writes and truncation.
//! The module is behind the `ext2` cargo feature (on by default).
//!
//! Durability: nothing is written until [`Ext2::sync`] (fsync(2), fdatasync(2), syncfs(2),
//! sync(2) all come here and sync the whole file system), until the cache holds too many
//! dirty blocks, or until [`Ext2::unmount`]. A sync writes in the order described in
//! `cache` and ends with a device flush, so when it returns everything is durable and the
//! disk is consistent for e2fsck. Pages written through shared mappings are part of it: each
//! sync first copies them into their blocks (msync(2) `MS_SYNC` syncs too).
//!
//! Not here: journaling (ext3), extents and other ext4 features, reading or writing extended
//! attributes, quotas, ACL enforcement, eviction of page-cache pages mapped writable (clean
//! pages no mapping holds are dropped under memory pressure, see [`crate::shrink`]; dirty
//! ones no mapping holds are written back first, and read-only mapped ones are taken out
//! of the faulting address space, see `pages`), access-time updates (every mount behaves like `noatime`), updating backup superblocks, and a
//! background flusher (dirty data stays in memory until a sync or cache pressure). An inode
//! unlinked while open is freed when its last user lets go; if the machine dies first it
//! remains allocated and e2fsck reports it, as with Linux's ext2.
//!
//! # Example
//!
//! Format a RAM disk, mount it, make a file, sync, and mount the disk again:
//!
//! ```
//! use std::sync::Arc;
//! use oxv_vfs::block::RamDisk;
//! use oxv_vfs::ext2::{self, Ext2, FormatOptions, MountOptions};
//! use oxv_vfs::{DeviceId, FileSystem, NewAttrs, NewNode, Timestamp, WriteBuf, WritePos};
//!
//! let disk = Arc::new(RamDisk::new(2048)); // 1 MiB
//! let now = Timestamp::from_secs(1_700_000_000);
//! ext2::format(&*disk, &FormatOptions::default(), now)?;
//!
//! let fs = Ext2::mount(disk.clone(), DeviceId::new(254, 0), MountOptions::default(), now)?;
//! let attrs = NewAttrs { perm: 0o644, uid: 0, gid: 0, now };
//! let file = fs.root().create(b"hello", NewNode::Regular, &attrs)?;
//! file.write_at(WritePos::At(0), &WriteBuf::kernel(b"persistent"), now)?;
//! fs.sync()?; // written and flushed: it survives a crash now
//!
//! disk.crash();
//! let again = Ext2::mount(disk, DeviceId::new(254, 0), MountOptions::default(), now)?;
//! assert_eq!(again.root().lookup(b"hello")?.metadata().size, 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bmap;
mod cache;
mod dir;
#[cfg(any(test, feature = "testing"))]
pub mod exercise;
pub mod format;
mod fs;
mod layout;
mod lock;
mod node;
mod pages;

#[cfg(test)]
mod tests;

pub use cache::CacheStats;
pub use format::{FormatError, FormatOptions, format};
pub use lock::{Sleeper, SpinSleeper};
pub use node::Ext2Node;

use crate::block::{BlockDevice, BlockError};
use crate::mount::{FileSystem, FsStats};
use crate::node::{DeviceId, FileKind, Inode};
use crate::time::Timestamp;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fs::FsState;
use lock::{SleepGuard, SleepLock};
use oxv_abi::Errno;
use spin::Mutex;

/// How to mount.
#[derive(Clone)]
pub struct MountOptions {
    /// Refuse every change (`EROFS`) and never write to the device. A read-only device
    /// forces it.
    pub read_only: bool,
    /// Most memory the buffer cache may use, in bytes.
    pub cache_bytes: usize,
    /// How a thread waits for the file system's locks while another holds them across disk
    /// I/O. A kernel that is not preemptible must give one that sleeps (see [`Sleeper`]).
    pub sleeper: Arc<dyn Sleeper>,
}

impl Default for MountOptions {
    /// Read-write, 16 MiB of cache, waits that spin ([`SpinSleeper`]).
    fn default() -> Self {
        MountOptions {
            read_only: false,
            cache_bytes: 16 << 20,
            sleeper: Arc::new(SpinSleeper),
        }
    }
}

impl core::fmt::Debug for MountOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MountOptions")
            .field("read_only", &self.read_only)
            .field("cache_bytes", &self.cache_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a device could not be mounted as ext2.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MountError {
    /// The device failed while the superblock or descriptors were read.
    Device(BlockError),
    /// No ext2 superblock (wrong magic number).
    NotExt2,
    /// The image uses incompatible features oxv does not implement (the bits of
    /// `s_feature_incompat`).
    Incompatible(u32),
    /// The image uses read-only-compatible features oxv does not implement (the bits of
    /// `s_feature_ro_compat`): it can be mounted read-only only.
    ReadOnlyFeatures(u32),
    /// The device is smaller than the file system says it is.
    TooSmall {
        /// Bytes the file system spans.
        needed: u64,
        /// Bytes the device has.
        capacity: u64,
    },
    /// A field of the superblock or a group descriptor is impossible.
    Corrupt(&'static str),
}

impl core::fmt::Display for MountError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MountError::Device(e) => write!(f, "cannot read the superblock: {e}"),
            MountError::NotExt2 => f.write_str("not an ext2 file system (bad magic number)"),
            MountError::Incompatible(bits) => {
                f.write_str("unsupported ext2 features: ")?;
                layout::write_features(f, *bits, layout::incompat::NAMES)
            }
            MountError::ReadOnlyFeatures(bits) => {
                f.write_str("unsupported read-only-compatible features: ")?;
                layout::write_features(f, *bits, layout::ro_compat::NAMES)?;
                f.write_str(" (mount it read-only)")
            }
            MountError::TooSmall { needed, capacity } => write!(
                f,
                "the file system needs {needed} bytes but the device has {capacity}"
            ),
            MountError::Corrupt(what) => {
                write!(f, "corrupt superblock or group descriptor: {what}")
            }
        }
    }
}

impl core::error::Error for MountError {}

/// Shared by every node of one mounted file system.
pub(crate) struct Shared {
    dev: DeviceId,
    state: SleepLock<FsState>,
    /// Inodes whose node was dropped since the last operation (see [`Ext2Node`]).
    released: Mutex<Vec<u32>>,
}

impl Shared {
    /// Locks the file system, first freeing inodes whose last node went away unlinked.
    fn lock(&self) -> SleepGuard<'_, FsState> {
        let mut st = self.state.lock();
        let released = core::mem::take(&mut *self.released.lock());
        for ino in released {
            if st.nodes.get(&ino).is_some_and(|w| w.strong_count() == 0) {
                st.nodes.remove(&ino);
                st.drop_page_cache(ino);
                if !st.read_only {
                    // A failure leaks the inode (e2fsck reclaims it); nothing to report to.
                    let _ = st.delete_inode(ino);
                }
            }
        }
        st
    }
}

/// A mounted ext2 file system. See the [module docs](self).
pub struct Ext2 {
    shared: Arc<Shared>,
    root: Arc<Ext2Node>,
}

impl Ext2 {
    /// Mounts the ext2 file system on `dev`. Inodes report `dev_id` as `st_dev`; a read-write
    /// mount marks the superblock "not clean" and counts the mount (written with the first
    /// sync), as Linux does; `now` stamps it.
    pub fn mount(
        dev: Arc<dyn BlockDevice>,
        dev_id: DeviceId,
        options: MountOptions,
        now: Timestamp,
    ) -> Result<Arc<Ext2>, MountError> {
        let mut state = FsState::open(dev, options.read_only, options.cache_bytes, now)?;
        let root_raw = state
            .read_inode(layout::ROOT_INO)
            .map_err(|_| MountError::Device(BlockError::Io))?;
        if FileKind::from_mode(root_raw.i_mode.get() as u32) != Some(FileKind::Directory) {
            return Err(MountError::Corrupt("root inode is not a directory"));
        }
        let shared = Arc::new(Shared {
            dev: dev_id,
            state: SleepLock::new(state, options.sleeper.clone()),
            released: Mutex::new(Vec::new()),
        });
        let root = {
            let mut st = shared.state.lock();
            node::node_for(&shared, &mut st, layout::ROOT_INO, FileKind::Directory)
        };
        Ok(Arc::new(Ext2 { shared, root }))
    }

    /// Whether changes are refused.
    pub fn is_read_only(&self) -> bool {
        self.shared.state.lock().read_only
    }

    /// Writes everything dirty and flushes the device; when it returns `Ok`, every change
    /// made before the call is durable. **Blocks** on the device.
    pub fn sync(&self) -> Result<(), Errno> {
        self.shared.lock().sync()
    }

    /// Syncs and marks the file system cleanly unmounted (the kernel calls it at power-off).
    /// The file system stays usable; a later change marks it "not clean" again only on the
    /// next mount, as for Linux's remount.
    pub fn unmount(&self) -> Result<(), Errno> {
        self.shared.lock().mark_clean()
    }

    /// Marks the file system in use ("not clean") again after [`unmount`](Ext2::unmount),
    /// for a mount of the same instance: as a fresh mount does, counted in `s_mnt_count`, on
    /// the disk with the next write-back. Nothing for a read-only file system.
    pub fn mark_mounted(&self, now: Timestamp) {
        self.shared.lock().mark_mounted(now);
    }

    /// Lets files be mapped `MAP_SHARED`: their page caches take frames from `memory`, which
    /// must hand out frames of the allocator the address spaces map (see
    /// [`FileMemory`](crate::tmpfs::FileMemory)). The first memory given stays.
    pub fn set_page_memory(&self, memory: Arc<dyn crate::tmpfs::FileMemory>) {
        let mut st = self.shared.state.lock();
        if st.page_memory.is_none() {
            st.page_memory = Some(memory);
        }
    }

    /// Device traffic of the buffer cache so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.state.lock().cache.stats()
    }
}

/// Memory pressure: clean buffers of the buffer cache (kernel heap, up to
/// [`MountOptions::cache_bytes`]) and clean, unmapped page-cache pages (frames). A file system
/// whose lock is held gives nothing.
impl crate::shrink::CacheShrinker for Ext2 {
    fn shrink(&self, request: &crate::shrink::ShrinkRequest<'_>) -> crate::shrink::Shrunk {
        match self.shared.state.try_lock() {
            Some(mut st) => st.shrink(request),
            None => crate::shrink::Shrunk::default(),
        }
    }
}

impl FileSystem for Ext2 {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn name(&self) -> &'static str {
        "ext2"
    }

    fn device(&self) -> DeviceId {
        self.shared.dev
    }

    /// As Linux's `ext2_statfs`: blocks not counting metadata overhead, free blocks, the
    /// free blocks minus the reserved ones for unprivileged users, inodes, and an fsid made
    /// of the UUID's halves folded together.
    fn stats(&self) -> FsStats {
        let st = self.shared.lock();
        let sb = &st.sb;
        let free = sb.s_free_blocks_count.get() as u64;
        let reserved = sb.s_r_blocks_count.get() as u64;
        let uuid = sb.s_uuid;
        let word = |i: usize| u32::from_le_bytes([uuid[i], uuid[i + 1], uuid[i + 2], uuid[i + 3]]);
        FsStats {
            magic: layout::MAGIC as u64,
            block_size: st.geo.block_size as u64,
            // Saturating: group descriptors may place the metadata anywhere in a group, so a
            // corrupt image may count more overhead than it has blocks.
            blocks: (st.geo.blocks_count as u64).saturating_sub(st.geo.overhead_blocks()),
            free_blocks: free,
            avail_blocks: free.saturating_sub(reserved),
            files: st.geo.inodes_count as u64,
            free_files: sb.s_free_inodes_count.get() as u64,
            fsid: [word(0) ^ word(8), word(4) ^ word(12)],
            name_max: linux_raw_sys::general::NAME_MAX as u64,
        }
    }

    fn sync(&self) -> Result<(), Errno> {
        Ext2::sync(self)
    }
}
