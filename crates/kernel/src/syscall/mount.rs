//! mount(2) and umount2(2): oxv-vfs's handlers ([`oxv_vfs::mount::syscalls`]) with the file
//! systems only the kernel can make: tmpfs over its frames (so that its files map shared), and
//! ext2 on a virtio-blk disk from its node (`/dev/vda`, through [`crate::disks`]).
//!
//! An ext2 file system is written back and marked clean when its last mount goes
//! ([`FileSystemTypes::released`]), marked in use again when mounted again, and written back
//! with every other disk when the VM stops ([`disks::sync_all`]).

use crate::disks::{self, DiskMountError};
use crate::mem;
use alloc::sync::Arc;
use oxv_abi::{Errno, SysResult, UserAddr, UserCStr, UserMemory};
use oxv_vfs::block::file::disk_device;
use oxv_vfs::ext2::MountError;
use oxv_vfs::mount::syscalls::{self, FileSystemTypes};
use oxv_vfs::tmpfs::Tmpfs;
use oxv_vfs::{DeviceId, FileSystem, FsContext, Timestamp};

/// The file-system types of this kernel.
struct KernelTypes;

/// The number of the disk whose device number is `dev`.
fn disk_index(dev: DeviceId) -> Option<usize> {
    (0..crate::virtio::disk_count()).find(|&n| disk_device(n as u32) == dev)
}

impl FileSystemTypes for KernelTypes {
    fn new_tmpfs(&self, dev: DeviceId, perm: u32, now: Timestamp) -> Arc<Tmpfs> {
        // Half of RAM unless size= says otherwise, as Linux.
        Tmpfs::with_memory(dev, perm, now, Arc::new(mem::FileFrames))
    }

    fn is_disk_type(&self, fstype: &[u8]) -> bool {
        fstype == b"ext2"
    }

    fn is_disk(&self, dev: DeviceId) -> bool {
        disk_index(dev).is_some()
    }

    fn mount_disk(
        &self,
        _fstype: &[u8],
        dev: DeviceId,
        read_only: bool,
        now: Timestamp,
    ) -> Result<Arc<dyn FileSystem>, Errno> {
        let n = disk_index(dev).ok_or(Errno::ENXIO)?;
        let disk = crate::virtio::disk(n).ok_or(Errno::ENXIO)?;
        // Linux opens a write-protected device for writing only to fail with EACCES.
        if disk.read_only() && !read_only {
            return Err(Errno::EACCES);
        }
        let fs = disks::mount_ext2(n, read_only, now).map_err(|e| match e {
            DiskMountError::NoSuchDisk => Errno::ENXIO,
            DiskMountError::Ext2(MountError::Device(_)) => Errno::EIO,
            // "wrong fs type, bad superblock": EINVAL, as Linux's ext2/ext4 drivers.
            DiskMountError::Ext2(_) => Errno::EINVAL,
        })?;
        Ok(fs)
    }

    fn remounted(&self, fs: &Arc<dyn FileSystem>, now: Timestamp) {
        if let Some(ext2) = disks::find(fs.device()) {
            ext2.mark_mounted(now);
        }
    }

    fn released(&self, fs: &Arc<dyn FileSystem>) -> Result<(), Errno> {
        match disks::find(fs.device()) {
            Some(ext2) => ext2.unmount(),
            None => fs.sync(),
        }
    }
}

/// mount(2).
#[allow(clippy::too_many_arguments)]
pub fn mount(
    cx: &FsContext,
    mem: &mut dyn UserMemory,
    source: UserCStr,
    target: UserCStr,
    fstype: UserCStr,
    flags: u64,
    data: UserAddr,
) -> SysResult {
    syscalls::mount(cx, mem, &KernelTypes, source, target, fstype, flags, data)
}

/// umount2(2).
pub fn umount2(
    cx: &FsContext,
    mem: &mut dyn UserMemory,
    target: UserCStr,
    flags: i32,
) -> SysResult {
    syscalls::umount2(cx, mem, &KernelTypes, target, flags)
}
