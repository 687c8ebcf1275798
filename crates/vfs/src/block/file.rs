//! The raw disk as a file: `/dev/vda` and its siblings, byte-addressed over a
//! [`BlockDevice`].
//!
//! Reads and writes at any offset and length, as on Linux's block device files
//! (`block/fops.c`): reads stop at the end of the disk (0 at or past it), writes past the end
//! are cut there and fail with `ENOSPC` when nothing fits, writes to a read-only disk are
//! `EPERM`. Partial sectors are read, patched and written back. There is no page cache: each
//! call goes to the device (like `O_DIRECT` without the alignment rules).
//!
//! Until fsync(2) reaches file operations, every write(2) is followed by a device flush, so
//! what a write returned is durable (as with `O_SYNC`). `ioctl` answers `BLKGETSIZE64`,
//! `BLKSSZGET` and `BLKFLSBUF` (which flushes).
//!
//! The node is a character device (open(2) does not open block nodes yet); its number is
//! Linux's usual one for virtio disks, major 254 with 16 minors per disk.

use super::{BlockDevice, SECTOR_SIZE};
use crate::file::{FileOps, seek_in};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::CharDriver;
use crate::node::{DeviceId, FileKind, Metadata};
use crate::time::Timestamp;
use alloc::sync::Arc;
use alloc::vec;
use linux_raw_sys::ioctl::{BLKFLSBUF, BLKGETSIZE64, BLKSSZGET};
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// The major number of the disk nodes.
pub const DISK_MAJOR: u32 = 254;
/// Minors per disk (the whole disk and 15 partitions on Linux).
pub const MINORS_PER_DISK: u32 = 16;
/// Bytes moved per device request by a read or write of the file.
const CHUNK: usize = 64 * 1024;

/// The device number of disk `n` (0 for `vda`).
pub const fn disk_device(n: u32) -> DeviceId {
    DeviceId::new(DISK_MAJOR, n * MINORS_PER_DISK)
}

/// The node name of disk `n`: `vda`, `vdb`, ... `vdz` (`None` past 26 disks).
pub fn disk_name(n: usize) -> Option<[u8; 3]> {
    (n < 26).then(|| [b'v', b'd', b'a' + n as u8])
}

/// Opens files on one disk; register it as the char driver of [`disk_device`]`(n)`.
pub struct DiskDriver {
    disk: Arc<dyn BlockDevice>,
    rdev: DeviceId,
}

impl DiskDriver {
    /// The driver for `disk`, whose node has number `rdev`.
    pub fn new(disk: Arc<dyn BlockDevice>, rdev: DeviceId) -> Arc<DiskDriver> {
        Arc::new(DiskDriver { disk, rdev })
    }
}

impl CharDriver for DiskDriver {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(Arc::new(DiskFile {
            disk: self.disk.clone(),
            rdev: self.rdev,
        }))
    }
}

/// An open disk file.
pub struct DiskFile {
    disk: Arc<dyn BlockDevice>,
    rdev: DeviceId,
}

impl DiskFile {
    /// Writes `src[done..done + len]` at byte `pos`, which is sector-aligned or patches one
    /// sector; returns the bytes taken from `src` (short on a user-memory fault).
    fn write_piece(
        &self,
        pos: u64,
        src: &WriteBuf<'_>,
        done: usize,
        len: usize,
        scratch: &mut [u8],
    ) -> Result<usize, Errno> {
        let first = pos / SECTOR_SIZE as u64;
        let skip = (pos % SECTOR_SIZE as u64) as usize;
        let span = (skip + len).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        let buf = &mut scratch[..span];
        if skip != 0 || len % SECTOR_SIZE != 0 {
            // Keep the bytes around the piece: read the sectors it touches first.
            self.disk.read_sectors(first, buf)?;
        }
        let got = src.fetch(done, &mut buf[skip..skip + len])?;
        if got == 0 {
            return Ok(0);
        }
        let span = (skip + got).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        self.disk.write_sectors(first, &buf[..span])?;
        Ok(got)
    }
}

impl FileOps for DiskFile {
    fn read(&self, offset: u64, dst: &mut ReadBuf<'_>, _nonblocking: bool) -> Result<usize, Errno> {
        let size = self.disk.capacity();
        let want = (dst.len() as u64).min(size.saturating_sub(offset)) as usize;
        let mut scratch = vec![0u8; CHUNK + SECTOR_SIZE];
        let mut done = 0;
        while done < want {
            let pos = offset + done as u64;
            let skip = (pos % SECTOR_SIZE as u64) as usize;
            let len = (want - done).min(CHUNK - skip);
            let span = (skip + len).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
            let read = self
                .disk
                .read_sectors(pos / SECTOR_SIZE as u64, &mut scratch[..span]);
            if let Err(e) = read {
                return if done == 0 { Err(e.into()) } else { Ok(done) };
            }
            match dst.fill(done, &scratch[skip..skip + len]) {
                Ok(n) => {
                    done += n;
                    if n < len {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        let size = self.disk.capacity();
        let start = match pos {
            WritePos::At(p) => p,
            WritePos::Append => size,
        };
        if self.disk.read_only() {
            return Err(Errno::EPERM);
        }
        if src.is_empty() {
            return Ok(Written {
                count: 0,
                end: start,
            });
        }
        if start >= size {
            return Err(Errno::ENOSPC);
        }
        let want = (src.len() as u64).min(size - start) as usize;
        let mut scratch = vec![0u8; CHUNK + 2 * SECTOR_SIZE];
        let mut done = 0;
        let mut failure = None;
        while done < want {
            let pos = start + done as u64;
            let skip = (pos % SECTOR_SIZE as u64) as usize;
            // A misaligned head patches its sector alone; then whole chunks; the tail patches
            // its last sector as part of its chunk.
            let len = if skip != 0 {
                (SECTOR_SIZE - skip).min(want - done)
            } else {
                (want - done).min(CHUNK)
            };
            match self.write_piece(pos, src, done, len, &mut scratch) {
                Ok(n) => {
                    done += n;
                    if n < len {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if done > 0 {
            self.disk.flush()?;
        }
        match failure {
            Some(e) if done == 0 => Err(e),
            _ => Ok(Written {
                count: done,
                end: start + done as u64,
            }),
        }
    }

    fn is_positioned(&self) -> bool {
        true
    }

    fn seek(&self, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
        seek_in(self.disk.capacity(), current, offset, whence)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(Metadata {
            dev: DeviceId::default(),
            ino: 0,
            kind: FileKind::CharDevice,
            perm: 0o660,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: self.rdev,
            size: 0,
            blocks: 0,
            blksize: 4096,
            atime: Timestamp::EPOCH,
            mtime: Timestamp::EPOCH,
            ctime: Timestamp::EPOCH,
        })
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        match request {
            BLKGETSIZE64 => UserPtr::<u64>::new(arg).write(mem, &self.disk.capacity())?,
            BLKSSZGET => UserPtr::<i32>::new(arg).write(mem, &(SECTOR_SIZE as i32))?,
            BLKFLSBUF => {
                if !self.disk.read_only() {
                    self.disk.flush()?;
                }
            }
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{FaultyDisk, RamDisk};
    use oxv_abi::UserBuf;
    use oxv_abi::user::fake::FakeUserMemory;
    use std::vec::Vec;

    fn file_on(disk: Arc<dyn BlockDevice>) -> Arc<dyn FileOps> {
        DiskDriver::new(disk, disk_device(0))
            .open(OpenFlags::RDWR)
            .unwrap()
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn names_and_numbers_follow_linux() {
        assert_eq!(disk_name(0), Some(*b"vda"));
        assert_eq!(disk_name(25), Some(*b"vdz"));
        assert_eq!(disk_name(26), None);
        assert_eq!(disk_device(1), DeviceId::new(254, 16));
    }

    #[test]
    fn unaligned_writes_keep_the_bytes_around_them() {
        let ram = Arc::new(RamDisk::from_image(pattern(8 * 512)));
        let f = file_on(ram.clone());
        let data = [0xee; 1000];
        let w = f
            .write(WritePos::At(700), &WriteBuf::kernel(&data), false)
            .unwrap();
        assert_eq!((w.count, w.end), (1000, 1700));
        let mut expected = pattern(8 * 512);
        expected[700..1700].fill(0xee);
        assert_eq!(ram.contents(), expected);
        // Each write(2) is durable when it returns.
        assert_eq!(ram.durable_contents(), expected);

        let mut back = [0u8; 1100];
        assert_eq!(
            f.read(650, &mut ReadBuf::kernel(&mut back), false),
            Ok(1100)
        );
        assert_eq!(&back[..], &expected[650..1750]);
    }

    #[test]
    fn large_transfers_cross_chunks() {
        let ram = Arc::new(RamDisk::new(512));
        let f = file_on(ram.clone());
        let data = pattern(200_000);
        let w = f
            .write(WritePos::At(3), &WriteBuf::kernel(&data), false)
            .unwrap();
        assert_eq!(w.count, data.len());
        assert_eq!(&ram.contents()[3..3 + data.len()], &data[..]);
        let mut back = std::vec![0u8; data.len()];
        assert_eq!(
            f.read(3, &mut ReadBuf::kernel(&mut back), false),
            Ok(data.len())
        );
        assert_eq!(back, data);
    }

    #[test]
    fn the_end_of_the_disk_cuts_reads_and_writes() {
        let f = file_on(Arc::new(RamDisk::new(2)));
        let mut buf = [0u8; 100];
        assert_eq!(f.read(1000, &mut ReadBuf::kernel(&mut buf), false), Ok(24));
        assert_eq!(f.read(1024, &mut ReadBuf::kernel(&mut buf), false), Ok(0));
        let w = f
            .write(WritePos::At(1000), &WriteBuf::kernel(&[1; 100]), false)
            .unwrap();
        assert_eq!(w.count, 24);
        assert_eq!(
            f.write(WritePos::At(1024), &WriteBuf::kernel(&[1]), false),
            Err(Errno::ENOSPC)
        );
        assert_eq!(
            f.write(WritePos::Append, &WriteBuf::kernel(&[1]), false),
            Err(Errno::ENOSPC)
        );
        assert_eq!(f.seek(0, 0, linux_raw_sys::general::SEEK_END), Ok(1024));
    }

    #[test]
    fn read_only_disk_refuses_writes_with_eperm() {
        let f = file_on(Arc::new(RamDisk::new(2).into_read_only()));
        assert_eq!(
            f.write(WritePos::At(0), &WriteBuf::kernel(&[1]), false),
            Err(Errno::EPERM)
        );
    }

    #[test]
    fn device_errors_are_eio_unless_something_moved() {
        let disk = Arc::new(FaultyDisk::new(RamDisk::new(300)));
        disk.fail_sector(200);
        let f = file_on(disk.clone());
        let mut buf = std::vec![0u8; 150_000];
        // The first chunk (64 KiB) reads; the second reaches sector 200 and fails.
        assert_eq!(f.read(0, &mut ReadBuf::kernel(&mut buf), false), Ok(CHUNK));
        assert_eq!(
            f.read(200 * 512, &mut ReadBuf::kernel(&mut buf[..10]), false),
            Err(Errno::EIO)
        );
        disk.fail_flushes(true);
        assert_eq!(
            f.write(WritePos::At(0), &WriteBuf::kernel(&[1; 10]), false),
            Err(Errno::EIO)
        );
    }

    #[test]
    fn user_memory_faults_give_short_counts() {
        let ram = Arc::new(RamDisk::new(16));
        let f = file_on(ram.clone());
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, true);
        mem.poke(0x1f00, &[5; 0x100]);
        // 0x100 bytes readable before the unmapped page.
        let src = WriteBuf::user(&mem, UserBuf::new(0x1f00, 0x300));
        let w = f.write(WritePos::At(0), &src, false).unwrap();
        assert_eq!(w.count, 0x100);
        assert_eq!(
            ram.contents()[..0x101],
            [[5; 0x100].as_slice(), &[0]].concat()
        );
        let mut dst = ReadBuf::user(&mut mem, UserBuf::new(0x3000, 16));
        assert_eq!(f.read(0, &mut dst, false), Err(Errno::EFAULT));
    }

    #[test]
    fn ioctls_report_the_size_and_flush() {
        let ram = Arc::new(RamDisk::new(8));
        let f = file_on(ram.clone());
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, true);
        assert_eq!(f.ioctl(BLKGETSIZE64, 0x1000, &mut mem), Ok(0));
        assert_eq!(mem.peek(0x1000, 8), 4096u64.to_le_bytes());
        assert_eq!(f.ioctl(BLKSSZGET, 0x1010, &mut mem), Ok(0));
        assert_eq!(mem.peek(0x1010, 4), 512i32.to_le_bytes());
        assert_eq!(f.ioctl(BLKFLSBUF, 0, &mut mem), Ok(0));
        assert_eq!(ram.flush_count(), 1);
        assert_eq!(f.ioctl(BLKGETSIZE64, 0x9000, &mut mem), Err(Errno::EFAULT));
        assert_eq!(f.ioctl(0x1234, 0, &mut mem), Err(Errno::ENOTTY));
    }
}
