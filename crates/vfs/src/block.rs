//! Block devices: the seam between a disk file system and a disk.
//!
//! A [`BlockDevice`] is an array of 512-byte sectors that a file system reads, writes and
//! flushes. It is deliberately small (Tock's HIL rules are the model): no queueing, no
//! request objects, no caching. Caching, read-ahead and write-back belong to the file system
//! above it, the request queue to the driver below it (oxv-drivers' virtio-blk).
//!
//! The durability contract is the one Linux gives a file system over a disk with a volatile
//! write cache (`Documentation/block/writeback_cache_control.rst`): a completed
//! [`write_sectors`](BlockDevice::write_sectors) may still sit in the device's cache and be
//! lost if the machine dies; a completed [`flush`](BlockDevice::flush) makes every write that
//! completed before it durable. fsync(2) therefore means "write the dirty blocks, then flush".
//! virtio-blk implements flush with `VIRTIO_BLK_T_FLUSH`.
//!
//! Every method may block the calling thread until the device answers (the kernel's driver
//! sleeps on the device's interrupt); none is to be called from an interrupt handler.
//!
//! Two implementations live here for tests and embedders: [`RamDisk`], a disk in memory that
//! models a volatile write cache (so a test can "pull the plug" with [`RamDisk::crash`] and
//! see what survived), and [`FaultyDisk`], a wrapper that fails chosen operations.
//! [`file`] makes a disk readable and writable as a file (`/dev/vda`).

pub mod file;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use oxv_abi::Errno;
use spin::Mutex;

/// The unit of every transfer, in bytes. Buffers are whole multiples of it.
pub const SECTOR_SIZE: usize = 512;

/// Why a block operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// The transfer reaches past the last sector.
    OutOfRange,
    /// The buffer is empty or not a whole number of sectors.
    Unaligned,
    /// A write or flush on a read-only device.
    ReadOnly,
    /// The device reported an error (a bad sector, a failed flush, a device gone).
    Io,
}

impl core::fmt::Display for BlockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BlockError::OutOfRange => "transfer past the end of the device",
            BlockError::Unaligned => "buffer is not a whole number of sectors",
            BlockError::ReadOnly => "device is read-only",
            BlockError::Io => "device I/O error",
        })
    }
}

impl core::error::Error for BlockError {}

impl From<BlockError> for Errno {
    /// What Linux returns for each: `EIO` for device errors and for requests past the end
    /// (`blk_status_to_errno` of `BLK_STS_IOERR`), `EROFS` for writes to a read-only disk,
    /// `EINVAL` for misaligned direct I/O.
    fn from(e: BlockError) -> Errno {
        match e {
            BlockError::OutOfRange | BlockError::Io => Errno::EIO,
            BlockError::ReadOnly => Errno::EROFS,
            BlockError::Unaligned => Errno::EINVAL,
        }
    }
}

/// A disk: `sector_count()` sectors of [`SECTOR_SIZE`] bytes.
///
/// Methods take `&self` so that one device can be shared (`Arc<dyn BlockDevice>`) by a file
/// system and a `/dev` node; implementations serialize internally. Transfers may be of any
/// whole number of sectors; the implementation splits them as its hardware requires.
///
/// # Example
///
/// ```
/// use oxv_vfs::block::{BlockDevice, RamDisk, SECTOR_SIZE};
///
/// let disk = RamDisk::new(8);
/// disk.write_sectors(2, &[0xab; 2 * SECTOR_SIZE])?;
/// let mut sector = [0u8; SECTOR_SIZE];
/// disk.read_sectors(3, &mut sector)?;
/// assert_eq!(sector, [0xab; SECTOR_SIZE]);
///
/// // Not flushed yet: a crash loses the write.
/// assert_eq!(disk.durable_contents()[2 * SECTOR_SIZE], 0);
/// disk.flush()?;
/// assert_eq!(disk.durable_contents()[2 * SECTOR_SIZE], 0xab);
/// # Ok::<(), oxv_vfs::block::BlockError>(())
/// ```
pub trait BlockDevice: Send + Sync {
    /// The device's size in sectors. Fixed for the device's lifetime.
    fn sector_count(&self) -> u64;

    /// Whether writes and flushes fail with [`BlockError::ReadOnly`].
    fn read_only(&self) -> bool;

    /// Reads `buf.len() / SECTOR_SIZE` sectors starting at sector `first` into `buf`.
    /// Blocks until the data is in `buf`. On error, `buf`'s contents are unspecified.
    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError>;

    /// Writes `buf` to the sectors starting at `first`. Blocks until the device has taken the
    /// data; it is durable only after a later [`flush`](Self::flush) returns `Ok`. On error,
    /// any subset of the sectors may have been written.
    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError>;

    /// Makes every write that completed before this call durable. Blocks until it is.
    fn flush(&self) -> Result<(), BlockError>;

    /// The device's size in bytes.
    fn capacity(&self) -> u64 {
        self.sector_count() * SECTOR_SIZE as u64
    }
}

impl<T: BlockDevice + ?Sized> BlockDevice for Arc<T> {
    fn sector_count(&self) -> u64 {
        (**self).sector_count()
    }
    fn read_only(&self) -> bool {
        (**self).read_only()
    }
    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        (**self).read_sectors(first, buf)
    }
    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        (**self).write_sectors(first, buf)
    }
    fn flush(&self) -> Result<(), BlockError> {
        (**self).flush()
    }
}

/// Checks a transfer of `len` bytes at sector `first` against a device of `sectors` sectors,
/// in the order implementations should report errors (shape before range). Returns the
/// number of sectors the transfer covers.
pub fn check_transfer(sectors: u64, first: u64, len: usize) -> Result<u64, BlockError> {
    if len == 0 || len % SECTOR_SIZE != 0 {
        return Err(BlockError::Unaligned);
    }
    let count = (len / SECTOR_SIZE) as u64;
    match first.checked_add(count) {
        Some(end) if end <= sectors => Ok(count),
        _ => Err(BlockError::OutOfRange),
    }
}

/// A disk in memory with a volatile write cache.
///
/// Writes land in the cache; [`flush`](BlockDevice::flush) moves them to the durable image.
/// [`crash`](RamDisk::crash) drops the cache as a power cut would, so a file-system test can
/// check that everything it fsync'ed survives.
#[derive(Debug)]
pub struct RamDisk {
    sectors: u64,
    read_only: bool,
    state: Mutex<RamState>,
}

#[derive(Debug)]
struct RamState {
    durable: Vec<u8>,
    /// Written but not yet flushed, by sector number.
    cached: BTreeMap<u64, [u8; SECTOR_SIZE]>,
    flushes: u64,
}

impl RamDisk {
    /// A zero-filled read-write disk of `sectors` sectors.
    pub fn new(sectors: u64) -> RamDisk {
        let len = usize::try_from(sectors)
            .ok()
            .and_then(|s| s.checked_mul(SECTOR_SIZE))
            .expect("RamDisk::new: a RAM disk must fit in the address space");
        RamDisk::from_image(vec![0; len])
    }

    /// A read-write disk holding `image`, zero-padded to a whole sector.
    pub fn from_image(mut image: Vec<u8>) -> RamDisk {
        image.resize(image.len().div_ceil(SECTOR_SIZE) * SECTOR_SIZE, 0);
        RamDisk {
            sectors: (image.len() / SECTOR_SIZE) as u64,
            read_only: false,
            state: Mutex::new(RamState {
                durable: image,
                cached: BTreeMap::new(),
                flushes: 0,
            }),
        }
    }

    /// The same disk, read-only.
    pub fn into_read_only(self) -> RamDisk {
        RamDisk {
            read_only: true,
            ..self
        }
    }

    /// What a reader sees now: the durable image with the cached writes applied.
    pub fn contents(&self) -> Vec<u8> {
        let state = self.state.lock();
        let mut image = state.durable.clone();
        for (&sector, data) in &state.cached {
            let at = sector as usize * SECTOR_SIZE;
            image[at..at + SECTOR_SIZE].copy_from_slice(data);
        }
        image
    }

    /// What would survive a crash now: the image as of the last flush.
    pub fn durable_contents(&self) -> Vec<u8> {
        self.state.lock().durable.clone()
    }

    /// Loses every write not yet flushed, as a power cut would.
    pub fn crash(&self) {
        self.state.lock().cached.clear();
    }

    /// How many flushes succeeded.
    pub fn flush_count(&self) -> u64 {
        self.state.lock().flushes
    }
}

impl BlockDevice for RamDisk {
    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        let state = self.state.lock();
        for (i, out) in buf.chunks_exact_mut(SECTOR_SIZE).enumerate() {
            let sector = first + i as u64;
            match state.cached.get(&sector) {
                Some(data) => out.copy_from_slice(data),
                None => {
                    let at = sector as usize * SECTOR_SIZE;
                    out.copy_from_slice(&state.durable[at..at + SECTOR_SIZE]);
                }
            }
        }
        Ok(())
    }

    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let mut state = self.state.lock();
        for (i, data) in buf.chunks_exact(SECTOR_SIZE).enumerate() {
            let mut sector = [0; SECTOR_SIZE];
            sector.copy_from_slice(data);
            state.cached.insert(first + i as u64, sector);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let mut state = self.state.lock();
        let cached = core::mem::take(&mut state.cached);
        for (sector, data) in cached {
            let at = sector as usize * SECTOR_SIZE;
            state.durable[at..at + SECTOR_SIZE].copy_from_slice(&data);
        }
        state.flushes += 1;
        Ok(())
    }
}

/// A wrapper that makes chosen operations of another device fail with [`BlockError::Io`],
/// to test a file system's error paths (smoltcp's `FaultInjector` is the model).
#[derive(Debug)]
pub struct FaultyDisk<D> {
    inner: D,
    faults: Mutex<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    bad_sector: Option<u64>,
    writes_left: Option<u64>,
    fail_flush: bool,
}

impl<D: BlockDevice> FaultyDisk<D> {
    /// Wraps `inner`, failing nothing yet.
    pub fn new(inner: D) -> FaultyDisk<D> {
        FaultyDisk {
            inner,
            faults: Mutex::new(Faults::default()),
        }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Every read or write that touches `sector` fails.
    pub fn fail_sector(&self, sector: u64) {
        self.faults.lock().bad_sector = Some(sector);
    }

    /// The next `n` writes succeed, every later one fails.
    pub fn fail_writes_after(&self, n: u64) {
        self.faults.lock().writes_left = Some(n);
    }

    /// Every flush fails (`true`) or passes through (`false`).
    pub fn fail_flushes(&self, fail: bool) {
        self.faults.lock().fail_flush = fail;
    }

    fn touches_bad_sector(&self, first: u64, len: usize) -> bool {
        let count = (len / SECTOR_SIZE) as u64;
        self.faults
            .lock()
            .bad_sector
            .is_some_and(|bad| bad >= first && bad - first < count)
    }
}

impl<D: BlockDevice> BlockDevice for FaultyDisk<D> {
    fn sector_count(&self) -> u64 {
        self.inner.sector_count()
    }

    fn read_only(&self) -> bool {
        self.inner.read_only()
    }

    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        if self.touches_bad_sector(first, buf.len()) {
            return Err(BlockError::Io);
        }
        self.inner.read_sectors(first, buf)
    }

    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.touches_bad_sector(first, buf.len()) {
            return Err(BlockError::Io);
        }
        {
            let mut faults = self.faults.lock();
            match faults.writes_left {
                Some(0) => return Err(BlockError::Io),
                Some(ref mut n) => *n -= 1,
                None => {}
            }
        }
        self.inner.write_sectors(first, buf)
    }

    fn flush(&self) -> Result<(), BlockError> {
        if self.faults.lock().fail_flush {
            return Err(BlockError::Io);
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_checks_shape_before_range() {
        assert_eq!(check_transfer(8, 0, 0), Err(BlockError::Unaligned));
        assert_eq!(check_transfer(8, 100, 511), Err(BlockError::Unaligned));
        assert_eq!(check_transfer(8, 7, 1024), Err(BlockError::OutOfRange));
        assert_eq!(
            check_transfer(8, u64::MAX, 512),
            Err(BlockError::OutOfRange)
        );
        assert_eq!(check_transfer(8, 6, 1024), Ok(2));
    }

    #[test]
    fn image_is_padded_to_a_whole_sector() {
        let disk = RamDisk::from_image(vec![7; 600]);
        assert_eq!(disk.sector_count(), 2);
        assert_eq!(disk.capacity(), 1024);
        let mut buf = [0u8; 1024];
        disk.read_sectors(0, &mut buf).unwrap();
        assert_eq!(buf[599], 7);
        assert_eq!(buf[600], 0);
    }

    #[test]
    fn reads_see_unflushed_writes_and_crash_loses_them() {
        let disk = RamDisk::new(4);
        disk.write_sectors(1, &[1; SECTOR_SIZE]).unwrap();
        disk.flush().unwrap();
        disk.write_sectors(1, &[2; 2 * SECTOR_SIZE]).unwrap();
        let mut buf = [0u8; SECTOR_SIZE];
        disk.read_sectors(2, &mut buf).unwrap();
        assert_eq!(buf, [2; SECTOR_SIZE]);
        assert_eq!(disk.contents()[SECTOR_SIZE], 2);

        disk.crash();
        disk.read_sectors(1, &mut buf).unwrap();
        assert_eq!(buf, [1; SECTOR_SIZE]);
        disk.read_sectors(2, &mut buf).unwrap();
        assert_eq!(buf, [0; SECTOR_SIZE]);
        assert_eq!(disk.flush_count(), 1);
    }

    #[test]
    fn read_only_disk_refuses_writes_and_flushes() {
        let disk = RamDisk::new(2).into_read_only();
        assert!(disk.read_only());
        assert_eq!(
            disk.write_sectors(0, &[0; SECTOR_SIZE]),
            Err(BlockError::ReadOnly)
        );
        assert_eq!(disk.flush(), Err(BlockError::ReadOnly));
        // Shape and range come first, as for a writable disk.
        assert_eq!(
            disk.write_sectors(5, &[0; SECTOR_SIZE]),
            Err(BlockError::OutOfRange)
        );
        assert_eq!(Errno::from(BlockError::ReadOnly), Errno::EROFS);
    }

    #[test]
    fn faulty_disk_fails_what_it_is_told_to() {
        let disk = FaultyDisk::new(RamDisk::new(8));
        disk.fail_sector(5);
        let mut buf = [0u8; 2 * SECTOR_SIZE];
        assert_eq!(disk.read_sectors(4, &mut buf), Err(BlockError::Io));
        assert_eq!(disk.read_sectors(6, &mut buf), Ok(()));
        assert_eq!(disk.read_sectors(3, &mut buf), Ok(()));

        disk.fail_writes_after(1);
        assert_eq!(disk.write_sectors(0, &[9; SECTOR_SIZE]), Ok(()));
        assert_eq!(
            disk.write_sectors(1, &[9; SECTOR_SIZE]),
            Err(BlockError::Io)
        );
        assert_eq!(disk.inner().contents()[SECTOR_SIZE], 0);

        disk.fail_flushes(true);
        assert_eq!(disk.flush(), Err(BlockError::Io));
        assert_eq!(disk.inner().flush_count(), 0);
        disk.fail_flushes(false);
        assert_eq!(disk.flush(), Ok(()));
        assert_eq!(disk.inner().durable_contents()[0], 9);
    }

    #[test]
    fn shared_disk_through_arc() {
        let disk: Arc<dyn BlockDevice> = Arc::new(RamDisk::new(2));
        let shared = Arc::clone(&disk);
        shared.write_sectors(0, &[3; SECTOR_SIZE]).unwrap();
        let mut buf = [0u8; SECTOR_SIZE];
        disk.read_sectors(0, &mut buf).unwrap();
        assert_eq!(buf[0], 3);
    }
}
