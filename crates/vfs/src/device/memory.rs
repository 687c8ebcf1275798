//! The memory devices of Linux's `drivers/char/mem.c` and the random devices:
//! `/dev/null` (1,3), `/dev/zero` (1,5), `/dev/full` (1,7), `/dev/random` (1,8) and
//! `/dev/urandom` (1,9).
//!
//! Behaviour matched: null reads EOF and swallows writes without reading the buffer; zero
//! reads zeros and swallows writes; full reads zeros and refuses writes with `ENOSPC`; the
//! random devices read from the embedder's [`EntropySource`] and swallow writes (Linux mixes
//! them into its pool). Both random devices are the same here: neither blocks. lseek(2) on
//! any of them succeeds and returns 0.

use super::EntropySource;
use crate::file::FileOps;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::CharDriver;
use crate::node::{DeviceId, FileKind, Metadata};
use crate::time::Timestamp;
use alloc::sync::Arc;
use oxv_abi::Errno;
use oxv_abi::linux::fs::OpenFlags;

/// `/dev/null`'s device number.
pub const NULL_DEVICE: DeviceId = DeviceId::new(1, 3);
/// `/dev/zero`'s device number.
pub const ZERO_DEVICE: DeviceId = DeviceId::new(1, 5);
/// `/dev/full`'s device number.
pub const FULL_DEVICE: DeviceId = DeviceId::new(1, 7);
/// `/dev/random`'s device number.
pub const RANDOM_DEVICE: DeviceId = DeviceId::new(1, 8);
/// `/dev/urandom`'s device number.
pub const URANDOM_DEVICE: DeviceId = DeviceId::new(1, 9);

/// Which memory device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// `/dev/null`.
    Null,
    /// `/dev/zero`.
    Zero,
    /// `/dev/full`.
    Full,
}

/// `/dev/null`, `/dev/zero` or `/dev/full`: one stateless value serves every open.
pub struct MemoryDevice {
    kind: MemoryKind,
}

impl MemoryDevice {
    /// The device.
    pub fn new(kind: MemoryKind) -> Arc<Self> {
        Arc::new(MemoryDevice { kind })
    }

    /// Its device number.
    pub fn device_id(&self) -> DeviceId {
        match self.kind {
            MemoryKind::Null => NULL_DEVICE,
            MemoryKind::Zero => ZERO_DEVICE,
            MemoryKind::Full => FULL_DEVICE,
        }
    }
}

fn device_metadata(rdev: DeviceId) -> Metadata {
    Metadata {
        dev: DeviceId::default(),
        ino: 0,
        kind: FileKind::CharDevice,
        perm: 0o666,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev,
        size: 0,
        blocks: 0,
        blksize: 4096,
        atime: Timestamp::EPOCH,
        mtime: Timestamp::EPOCH,
        ctime: Timestamp::EPOCH,
    }
}

impl FileOps for MemoryDevice {
    fn read(
        &self,
        _offset: u64,
        dst: &mut ReadBuf<'_>,
        _nonblocking: bool,
    ) -> Result<usize, Errno> {
        match self.kind {
            MemoryKind::Null => Ok(0),
            MemoryKind::Zero | MemoryKind::Full => {
                let n = dst.len();
                dst.fill_zeros(0, n)
            }
        }
    }

    fn write(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        _nonblocking: bool,
    ) -> Result<Written, Errno> {
        let end = match pos {
            WritePos::At(p) => p,
            WritePos::Append => 0,
        };
        match self.kind {
            MemoryKind::Full => Err(Errno::ENOSPC),
            MemoryKind::Null | MemoryKind::Zero => Ok(Written {
                count: src.len(),
                end,
            }),
        }
    }

    fn is_positioned(&self) -> bool {
        true
    }

    /// Any seek succeeds and leaves the offset at 0, as on Linux.
    fn seek(&self, _current: u64, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(device_metadata(self.device_id()))
    }
}

impl CharDriver for MemoryDevice {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(MemoryDevice::new(self.kind))
    }
}

/// `/dev/random` and `/dev/urandom` over an [`EntropySource`].
pub struct RandomDevice {
    source: Arc<dyn EntropySource>,
    rdev: DeviceId,
}

impl RandomDevice {
    /// A random device with number `rdev` ([`RANDOM_DEVICE`] or [`URANDOM_DEVICE`]).
    pub fn new(source: Arc<dyn EntropySource>, rdev: DeviceId) -> Arc<Self> {
        Arc::new(RandomDevice { source, rdev })
    }
}

impl FileOps for RandomDevice {
    fn read(
        &self,
        _offset: u64,
        dst: &mut ReadBuf<'_>,
        _nonblocking: bool,
    ) -> Result<usize, Errno> {
        let mut buf = [0u8; 256];
        let mut done = 0;
        while done < dst.len() {
            let k = (dst.len() - done).min(buf.len());
            self.source.fill(&mut buf[..k]);
            match dst.fill(done, &buf[..k]) {
                Ok(got) => {
                    done += got;
                    if got < k {
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
        let end = if let WritePos::At(p) = pos { p } else { 0 };
        Ok(Written {
            count: src.len(),
            end,
        })
    }

    fn is_positioned(&self) -> bool {
        true
    }

    /// Any seek succeeds and leaves the offset at 0, as on Linux.
    fn seek(&self, _current: u64, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(device_metadata(self.rdev))
    }
}

impl CharDriver for RandomDevice {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(RandomDevice::new(self.source.clone(), self.rdev))
    }
}
