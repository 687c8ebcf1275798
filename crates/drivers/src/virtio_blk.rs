//! virtio-blk: a disk behind a virtqueue, as an [`oxv_vfs::block::BlockDevice`].
//!
//! Specification: *VIRTIO 1.2*, section 5.2 (Block Device). Each request is a chain of three
//! buffers: a 16-byte header (type, sector), the data, and a one-byte status the device
//! writes last. The driver negotiates `VIRTIO_BLK_F_RO` (read-only disks), `VIRTIO_BLK_F_FLUSH`
//! (a volatile write cache that `VIRTIO_BLK_T_FLUSH` empties: what makes fsync(2) durable),
//! `VIRTIO_BLK_F_SIZE_MAX` (the largest segment, which caps one request),
//! `VIRTIO_F_VERSION_1` and `VIRTIO_F_EVENT_IDX` (notification suppression by event index,
//! [`crate::virtio::notify`]); nothing else. With one request in flight the event index
//! changes little here: each request still kicks an idle device and is answered by an
//! interrupt.
//!
//! Unlike `virtio_drivers::device::blk::VirtIOBlk`, which spins until the device answers,
//! a request here sleeps: the thread submits, then waits through [`InterruptWait`] until the
//! device's interrupt says the request is in the used ring. The data goes straight between
//! the caller's buffer and the device (the [`Hal`] shares it; no copy when it is physically
//! contiguous).
//!
//! One request is in flight at a time (a thread that finds the queue busy sleeps until it is
//! free). That keeps the code small and is enough for a file system that reads and writes
//! whole blocks through its own cache; several requests in flight are a later step.

use alloc::sync::Arc;
use bitflags::bitflags;
use oxv_vfs::block::{BlockDevice, BlockError, SECTOR_SIZE, check_transfer};
use spin::Mutex;
use virtio_drivers::Hal;
use virtio_drivers::transport::{DeviceType, InterruptStatus, Transport};
use zerocopy::{Immutable, IntoBytes};

use crate::virtio::InterruptWait;
use crate::virtio::notify::{DmaMemory, F_EVENT_IDX, NotifyQueue};

/// Descriptors in the request queue: three per request, so room for a few.
const QUEUE_SIZE: usize = 16;
/// The request queue's index.
const REQUEST_QUEUE: u16 = 0;
/// The most one request moves when the device sets no smaller `size_max` (256 KiB): large
/// enough for read-ahead, small enough that one caller does not hold the queue for long.
const DEFAULT_MAX_TRANSFER: usize = 256 * 1024;

bitflags! {
    /// The feature bits this driver knows (VIRTIO 1.2, 5.2.3 and 6).
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    struct Features: u64 {
        const SIZE_MAX = 1 << 1;
        const RO = 1 << 5;
        const FLUSH = 1 << 9;
        const EVENT_IDX = F_EVENT_IDX;
        const VERSION_1 = 1 << 32;
    }
}

/// Request types (VIRTIO 1.2, 5.2.6).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
enum RequestType {
    In = 0,
    Out = 1,
    Flush = 4,
    GetId = 8,
}

/// Status byte values the device writes (VIRTIO 1.2, 5.2.6).
const STATUS_OK: u8 = 0;
const STATUS_IOERR: u8 = 1;
const STATUS_UNSUPP: u8 = 2;
/// What the status byte holds before the device answers.
const STATUS_UNSET: u8 = 0xff;

/// Config-space offsets (VIRTIO 1.2, 5.2.4, `struct virtio_blk_config`).
const CONFIG_CAPACITY: usize = 0;
const CONFIG_SIZE_MAX: usize = 8;

/// The request header: `struct virtio_blk_req`'s leading fields, little-endian.
#[derive(IntoBytes, Immutable)]
#[repr(C)]
struct RequestHeader {
    kind: u32,
    reserved: u32,
    sector: u64,
}

const _: () = assert!(core::mem::size_of::<RequestHeader>() == 16);

/// Why a virtio-blk device could not be set up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The transport's device is not a block device.
    NotBlock(DeviceType),
    /// The virtqueue could not be created (no DMA memory, queue too small, already in use).
    Queue(virtio_drivers::Error),
    /// The config space could not be read.
    Config(virtio_drivers::Error),
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::NotBlock(t) => write!(f, "not a block device ({t:?})"),
            SetupError::Queue(e) => write!(f, "cannot set up the request queue: {e}"),
            SetupError::Config(e) => write!(f, "cannot read the config space: {e}"),
        }
    }
}

impl core::error::Error for SetupError {}

/// Counters, for the kernel log and benchmarks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BlkStats {
    /// Requests completed (any type).
    pub requests: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub written_bytes: u64,
    /// Flushes completed.
    pub flushes: u64,
    /// Requests the device failed.
    pub errors: u64,
}

struct State<H: Hal, T: Transport> {
    transport: T,
    queue: NotifyQueue<H, QUEUE_SIZE>,
    /// A request is in flight (its submitter owns the queue until it completes).
    busy: bool,
    stats: BlkStats,
}

/// A virtio-blk disk. Share it as `Arc<dyn BlockDevice>`; route its interrupt to
/// [`VirtioBlk::handle_interrupt`].
pub struct VirtioBlk<H: Hal, T: Transport> {
    state: Mutex<State<H, T>>,
    events: Arc<dyn InterruptWait>,
    sectors: u64,
    read_only: bool,
    can_flush: bool,
    max_transfer: usize,
}

impl<H: DmaMemory, T: Transport> VirtioBlk<H, T> {
    /// Initializes the device behind `transport` (VIRTIO 1.2, 3.1.1) and its request queue.
    /// `events` is how requests sleep until the device interrupts.
    pub fn new(mut transport: T, events: Arc<dyn InterruptWait>) -> Result<Self, SetupError> {
        let kind = transport.device_type();
        if kind != DeviceType::Block {
            return Err(SetupError::NotBlock(kind));
        }
        let features = transport.begin_init(Features::all());
        let (sectors, size_max) = transport
            .read_consistent(|| {
                let low: u32 = transport.read_config_space(CONFIG_CAPACITY)?;
                let high: u32 = transport.read_config_space(CONFIG_CAPACITY + 4)?;
                let size_max: u32 = if features.contains(Features::SIZE_MAX) {
                    transport.read_config_space(CONFIG_SIZE_MAX)?
                } else {
                    0
                };
                Ok((u64::from(low) | (u64::from(high) << 32), size_max))
            })
            .map_err(SetupError::Config)?;
        let event_idx = features.contains(Features::EVENT_IDX);
        let queue = NotifyQueue::new(&mut transport, REQUEST_QUEUE, event_idx)
            .map_err(SetupError::Queue)?;
        transport.finish_init();
        Ok(VirtioBlk {
            state: Mutex::new(State {
                transport,
                queue,
                busy: false,
                stats: BlkStats::default(),
            }),
            events,
            sectors,
            read_only: features.contains(Features::RO),
            can_flush: features.contains(Features::FLUSH),
            max_transfer: max_transfer(size_max),
        })
    }

    /// Whether the device has a write cache that [`BlockDevice::flush`] empties.
    pub fn has_write_cache(&self) -> bool {
        self.can_flush
    }

    /// The most bytes one request carries; longer transfers are split.
    pub fn max_transfer(&self) -> usize {
        self.max_transfer
    }

    /// The counters so far.
    pub fn stats(&self) -> BlkStats {
        self.state.lock().stats
    }

    /// The device's serial number (`VIRTIO_BLK_T_GET_ID`, up to 20 bytes), if it has one.
    pub fn serial(&self) -> Option<([u8; 20], usize)> {
        let mut id = [0u8; 20];
        self.request(RequestType::GetId, 0, Data::In(&mut id))
            .ok()?;
        let len = id.iter().position(|&b| b == 0).unwrap_or(id.len());
        Some((id, len))
    }

    /// The device's interrupt: acknowledges it and wakes the waiting requests. Returns whether
    /// the device had anything to say (false: the interrupt was someone else's on a shared
    /// line). Call it from the interrupt handler.
    pub fn handle_interrupt(&self) -> bool {
        let status = self.state.lock().transport.ack_interrupt();
        if status.contains(InterruptStatus::QUEUE_INTERRUPT) {
            self.events.wake();
        }
        !status.is_empty()
    }

    /// Runs one request: waits for the queue, submits, sleeps until the device answers.
    fn request(&self, kind: RequestType, sector: u64, data: Data<'_>) -> Result<(), BlockError> {
        let header = RequestHeader {
            kind: (kind as u32).to_le(),
            reserved: 0,
            sector: sector.to_le(),
        };
        let mut status = [STATUS_UNSET];
        let mut data = data;

        self.events.wait_until(&mut || {
            let mut state = self.state.lock();
            !core::mem::replace(&mut state.busy, true)
        });
        let submitted = {
            let mut state = self.state.lock();
            // SAFETY: `header`, the data buffer and `status` live on this frame until the
            // request is popped below, and nothing touches them meanwhile: this thread waits,
            // and the queue is ours alone (`busy`) until then.
            let token = unsafe {
                match &mut data {
                    Data::In(buf) => state
                        .queue
                        .add(&[header.as_bytes()], &mut [&mut **buf, &mut status]),
                    Data::Out(buf) => state
                        .queue
                        .add(&[header.as_bytes(), *buf], &mut [&mut status]),
                    Data::None => state.queue.add(&[header.as_bytes()], &mut [&mut status]),
                }
            };
            if token.is_ok() && state.queue.should_notify() {
                state.transport.notify(REQUEST_QUEUE);
            }
            if token.is_err() {
                state.busy = false;
            }
            token
        };
        let Ok(token) = submitted else {
            self.events.wake();
            return Err(BlockError::Io);
        };

        self.events
            .wait_until(&mut || self.state.lock().queue.can_pop());

        let popped = {
            let mut state = self.state.lock();
            // SAFETY: the same buffers as were added with `token`, still alive and untouched.
            let popped = unsafe {
                match &mut data {
                    Data::In(buf) => state.queue.pop_used(
                        token,
                        &[header.as_bytes()],
                        &mut [&mut **buf, &mut status],
                    ),
                    Data::Out(buf) => {
                        state
                            .queue
                            .pop_used(token, &[header.as_bytes(), *buf], &mut [&mut status])
                    }
                    Data::None => {
                        state
                            .queue
                            .pop_used(token, &[header.as_bytes()], &mut [&mut status])
                    }
                }
            };
            state.busy = false;
            let stats = &mut state.stats;
            stats.requests += 1;
            let ok = popped.is_ok() && status[0] == STATUS_OK;
            match (&data, ok) {
                (_, false) => stats.errors += 1,
                (Data::In(buf), true) if kind == RequestType::In => {
                    stats.read_bytes += buf.len() as u64
                }
                (Data::Out(buf), true) => stats.written_bytes += buf.len() as u64,
                (Data::None, true) => stats.flushes += 1,
                _ => {}
            }
            popped
        };
        self.events.wake();
        match (popped, status[0]) {
            (Ok(_), STATUS_OK) => Ok(()),
            (Ok(_), STATUS_IOERR | STATUS_UNSUPP) => Err(BlockError::Io),
            // The device used another chain than ours (it broke the protocol) or never wrote
            // the status.
            _ => Err(BlockError::Io),
        }
    }
}

/// The data part of a request, and its direction.
enum Data<'a> {
    In(&'a mut [u8]),
    Out(&'a [u8]),
    None,
}

/// The request size limit for a device whose `size_max` is `size_max` (0: none given).
fn max_transfer(size_max: u32) -> usize {
    let limit = match size_max as usize {
        0 => DEFAULT_MAX_TRANSFER,
        n => n.min(DEFAULT_MAX_TRANSFER),
    };
    (limit / SECTOR_SIZE).max(1) * SECTOR_SIZE
}

impl<H: DmaMemory, T: Transport + Send> BlockDevice for VirtioBlk<H, T> {
    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        let mut sector = first;
        for chunk in buf.chunks_mut(self.max_transfer) {
            self.request(RequestType::In, sector, Data::In(chunk))?;
            sector += (chunk.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let mut sector = first;
        for chunk in buf.chunks(self.max_transfer) {
            self.request(RequestType::Out, sector, Data::Out(chunk))?;
            sector += (chunk.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        if !self.can_flush {
            // No VIRTIO_BLK_F_FLUSH: the device writes through (VIRTIO 1.2, 5.2.5).
            return Ok(());
        }
        self.request(RequestType::Flush, 0, Data::None)
    }
}

#[cfg(test)]
mod tests;
