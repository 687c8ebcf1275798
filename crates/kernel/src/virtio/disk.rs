//! A virtio-blk disk as the rest of the kernel gets it: a [`BlockDevice`] whose data buffers
//! the device can always reach.
//!
//! The driver shares the caller's data buffer with the device in place, which works for
//! buffers in the direct map or the kernel image (the heap, the buffer and page caches). A
//! buffer anywhere else (in practice the ext2 superblock that mount(2) reads into a kernel
//! stack) would have to be bounced by the HAL, which cannot fail and so cannot allocate (see
//! `hal.rs`). So such a buffer is copied here, through a staging buffer set aside for the
//! disk when it was probed, a piece at a time; a second caller waits for it (asleep). The
//! driver then only ever bounces its own few header and status bytes, for which the disk
//! reserved bounce slots at probe.
//!
//! Not here: the request protocol and its splitting into `max_transfer` pieces (the driver,
//! `oxv_drivers::virtio_blk`).

use super::Disk;
use super::hal::contiguous_phys;
use crate::sync::SleepMutex;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_vfs::block::{BlockDevice, BlockError, SECTOR_SIZE, check_transfer};

/// The staging buffer's size: one page, a whole number of sectors, room for the superblock
/// (1 KiB) in one piece.
const STAGING_BYTES: usize = 4096;

const _: () = assert!(STAGING_BYTES % SECTOR_SIZE == 0);

/// A probed virtio-blk disk and its staging buffer.
pub struct StagedDisk {
    disk: Arc<Disk>,
    /// In the direct map (checked when made), so the driver shares it in place.
    staging: SleepMutex<Box<[u8]>>,
}

impl StagedDisk {
    /// Wraps `disk` with a staging buffer from the heap; `None` if there is no memory for it
    /// (at boot: the disk is then left out rather than used without one).
    pub fn new(disk: Arc<Disk>) -> Option<StagedDisk> {
        let mut staging = Vec::new();
        staging.try_reserve_exact(STAGING_BYTES).ok()?;
        staging.resize(STAGING_BYTES, 0);
        let staging = staging.into_boxed_slice();
        // The heap is in the direct map; a buffer the device could not reach in place would
        // defeat the point.
        contiguous_phys(staging.as_ptr() as u64, staging.len())?;
        Some(StagedDisk {
            disk,
            staging: SleepMutex::new(staging),
        })
    }

    /// The driver's disk (for its interrupt, serial number and statistics).
    pub fn inner(&self) -> &Arc<Disk> {
        &self.disk
    }
}

/// Whether the device can reach `buf` in place (no staging needed).
fn reachable(buf: &[u8]) -> bool {
    contiguous_phys(buf.as_ptr() as u64, buf.len()).is_some()
}

impl BlockDevice for StagedDisk {
    fn sector_count(&self) -> u64 {
        self.disk.sector_count()
    }

    fn read_only(&self) -> bool {
        self.disk.read_only()
    }

    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        if reachable(buf) {
            return self.disk.read_sectors(first, buf);
        }
        // Checked before any piece moves, as the driver would check the whole.
        check_transfer(self.disk.sector_count(), first, buf.len())?;
        let mut staging = self.staging.lock();
        let mut sector = first;
        for piece in buf.chunks_mut(STAGING_BYTES) {
            let stage = &mut staging[..piece.len()];
            self.disk.read_sectors(sector, stage)?;
            piece.copy_from_slice(stage);
            sector += (piece.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        if reachable(buf) {
            return self.disk.write_sectors(first, buf);
        }
        check_transfer(self.disk.sector_count(), first, buf.len())?;
        if self.disk.read_only() {
            return Err(BlockError::ReadOnly);
        }
        let mut staging = self.staging.lock();
        let mut sector = first;
        for piece in buf.chunks(STAGING_BYTES) {
            let stage = &mut staging[..piece.len()];
            stage.copy_from_slice(piece);
            self.disk.write_sectors(sector, stage)?;
            sector += (piece.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), BlockError> {
        self.disk.flush()
    }
}
