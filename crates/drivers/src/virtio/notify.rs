//! Notification suppression on a split virtqueue, in both directions: whether the driver
//! kicks the device after adding buffers, and whether the device interrupts the driver after
//! using them.
//!
//! Specification: *VIRTIO 1.2*, sections 2.7.7 (used buffer notification suppression),
//! 2.7.10 (available buffer notification suppression) and 6 (`VIRTIO_F_EVENT_IDX`). Two
//! mechanisms, chosen by that feature:
//!
//! - **flags**: the driver sets `VIRTQ_AVAIL_F_NO_INTERRUPT` to ask for no interrupts, the
//!   device sets `VIRTQ_USED_F_NO_NOTIFY` to ask for no kicks. Coarse: on or off.
//! - **event index**: the driver writes `used_event`, the used index at which it next wants
//!   an interrupt, and the device writes `avail_event`, the available index at which it next
//!   wants a kick. The flags are then ignored. A device busy draining the ring leaves
//!   `avail_event` behind, so a driver adding more does not kick again; a driver busy
//!   draining the used ring leaves `used_event` behind, so the device does not interrupt
//!   again.
//!
//! [`NotifyQueue`] wraps virtio-drivers' [`VirtQueue`], whose own support for the event index
//! falls short of what the drivers here need: it cannot hold interrupts off (its
//! `set_dev_notify` does nothing then, and every `pop_used` asks for an interrupt on the next
//! buffer), and its kick test is not safe across the index's wrap-around. So the wrapper
//! finds the two event fields in the ring memory (through [`DmaMemory`], the embedder telling
//! where the rings it allocated are mapped) and keeps them itself; the flags path is
//! virtio-drivers' own.
// Reading and writing the two event fields in ring memory shared with the device.
#![allow(unsafe_code)]

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, Ordering, fence};
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{Hal, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// `VIRTIO_F_EVENT_IDX` (VIRTIO 1.2, 6; Linux's `VIRTIO_RING_F_EVENT_IDX`).
pub const F_EVENT_IDX: u64 = 1 << 29;

/// Where `used_event` sits in the available ring of `size` entries: after `flags`, `idx` and
/// the ring (VIRTIO 1.2, 2.7.6).
const fn used_event_offset(size: usize) -> usize {
    2 + 2 + 2 * size
}

/// Where `avail_event` sits in the used ring: after `flags`, `idx` and `size` elements of
/// `{ id: u32, len: u32 }` (VIRTIO 1.2, 2.7.8).
const fn avail_event_offset(size: usize) -> usize {
    2 + 2 + 8 * size
}

/// Where the available ring's `idx` sits.
const AVAIL_IDX_OFFSET: usize = 2;

/// How far ahead of the driver's used index an "off" `used_event` is put. The device can be
/// at most a queue's worth of buffers ahead of the driver (it only uses what the driver
/// made available), so it never reaches an index this far away while interrupts are off.
const OFF_DISTANCE: u16 = 0x8000;

/// A `Hal` that can say where it mapped the DMA memory it allocated.
///
/// # Safety
///
/// For every `paddr` inside a block that [`Hal::dma_alloc`] returned and that is not yet
/// deallocated, [`dma_virt`](DmaMemory::dma_virt) returns the address at which the driver
/// reads and writes that byte: the same mapping `dma_alloc` handed out.
pub unsafe trait DmaMemory: Hal {
    /// The driver's address of DMA byte `paddr`.
    fn dma_virt(paddr: PhysAddr) -> NonNull<u8>;
}

/// The event fields of one queue, in its ring memory.
struct EventFields {
    /// The driver's: interrupt when the used index passes this (`avail->used_event`).
    used_event: NonNull<AtomicU16>,
    /// The device's: kick when the available index passes this (`used->avail_event`).
    avail_event: NonNull<AtomicU16>,
    /// The available ring's index, written by virtio-drivers on every `add`.
    avail_idx: NonNull<AtomicU16>,
}

/// When the driver wants its next used-buffer interrupt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Interrupts {
    Off,
    /// As soon as the device uses a buffer.
    On,
}

/// A [`VirtQueue`] whose notifications go through the event index when the device offered
/// it, and through the flags otherwise. Popping through it keeps its state right, so a
/// driver pops only here, never on the inner queue.
pub struct NotifyQueue<H: Hal, const SIZE: usize> {
    queue: VirtQueue<H, SIZE>,
    /// Some with `VIRTIO_F_EVENT_IDX` negotiated.
    events: Option<EventFields>,
    interrupts: Interrupts,
    /// The driver's used index: buffers popped so far (mod 2^16).
    last_used: u16,
    /// The available index at the last kick decision.
    kicked_at: u16,
}

// SAFETY: the event pointers point into the ring memory that `queue` owns (and frees), and
// are written only through `&mut self`, like the queue's own pointers (which make
// `VirtQueue` `Send` and `Sync` the same way).
unsafe impl<H: Hal, const SIZE: usize> Send for NotifyQueue<H, SIZE> {}
// SAFETY: as for `Send`: `&self` methods only load from the rings.
unsafe impl<H: Hal, const SIZE: usize> Sync for NotifyQueue<H, SIZE> {}

impl<H: DmaMemory, const SIZE: usize> NotifyQueue<H, SIZE> {
    /// Sets up queue `index` on `transport`. `event_idx`: whether `VIRTIO_F_EVENT_IDX` was
    /// negotiated. Interrupts start on.
    pub fn new<T: Transport>(
        transport: &mut T,
        index: u16,
        event_idx: bool,
    ) -> virtio_drivers::Result<Self> {
        let mut tap = QueueSetTap {
            inner: transport,
            areas: None,
        };
        let queue = VirtQueue::new(&mut tap, index, false, event_idx)?;
        let events = match (event_idx, tap.areas) {
            (true, Some((driver_area, device_area))) => {
                let at = |paddr: PhysAddr, offset: usize| {
                    H::dma_virt(paddr + offset as PhysAddr).cast::<AtomicU16>()
                };
                Some(EventFields {
                    used_event: at(driver_area, used_event_offset(SIZE)),
                    avail_event: at(device_area, avail_event_offset(SIZE)),
                    avail_idx: at(driver_area, AVAIL_IDX_OFFSET),
                })
            }
            (true, None) => return Err(virtio_drivers::Error::InvalidParam),
            (false, _) => None,
        };
        Ok(NotifyQueue {
            queue,
            events,
            interrupts: Interrupts::On,
            last_used: 0,
            kicked_at: 0,
        })
    }
}

impl<H: Hal, const SIZE: usize> NotifyQueue<H, SIZE> {
    /// Whether the queue uses the event index.
    pub fn event_idx(&self) -> bool {
        self.events.is_some()
    }

    /// Adds a chain of buffers; see [`VirtQueue::add`].
    ///
    /// # Safety
    ///
    /// As for [`VirtQueue::add`]: the buffers stay valid and untouched until popped.
    pub unsafe fn add<'a, 'b>(
        &mut self,
        inputs: &'a [&'b [u8]],
        outputs: &'a mut [&'b mut [u8]],
    ) -> virtio_drivers::Result<u16> {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.queue.add(inputs, outputs) }
    }

    /// Pops a used chain; see [`VirtQueue::pop_used`].
    ///
    /// # Safety
    ///
    /// As for [`VirtQueue::pop_used`]: the buffers are those added under `token`.
    pub unsafe fn pop_used<'a>(
        &mut self,
        token: u16,
        inputs: &'a [&'a [u8]],
        outputs: &'a mut [&'a mut [u8]],
    ) -> virtio_drivers::Result<u32> {
        // SAFETY: the caller's promise, passed on.
        let len = unsafe { self.queue.pop_used(token, inputs, outputs) }?;
        self.last_used = self.last_used.wrapping_add(1);
        // virtio-drivers has just asked for an interrupt on the next buffer; take that back
        // if they are off. (A device using a buffer in between interrupts once more than
        // needed; the handler copes with spurious interrupts.)
        if self.interrupts == Interrupts::Off {
            self.write_used_event(self.last_used.wrapping_add(OFF_DISTANCE));
        }
        Ok(len)
    }

    /// The token of the next used chain, if any.
    pub fn peek_used(&self) -> Option<u16> {
        self.queue.peek_used()
    }

    /// Whether a used chain is waiting.
    pub fn can_pop(&self) -> bool {
        self.queue.can_pop()
    }

    /// Free descriptors.
    pub fn available_desc(&self) -> usize {
        self.queue.available_desc()
    }

    /// Whether the device must be kicked for the buffers added since the last call; a driver
    /// calls it after adding and kicks if so.
    pub fn should_notify(&mut self) -> bool {
        // The new available index must be visible before the device's request is read, or
        // a device going idle in between is neither kicked nor sees the buffers.
        fence(Ordering::SeqCst);
        let Some(events) = &self.events else {
            return self.queue.should_notify();
        };
        // SAFETY: `avail_idx` and `avail_event` point into the queue's live rings.
        let (new, event) = unsafe {
            (
                events.avail_idx.as_ref().load(Ordering::Relaxed),
                events.avail_event.as_ref().load(Ordering::Acquire),
            )
        };
        let old = core::mem::replace(&mut self.kicked_at, new);
        need_event(event, new, old)
    }

    /// Turns used-buffer interrupts on or off. Turning them on returns whether used buffers
    /// are already waiting (they came while interrupts were off, or just as they were turned
    /// on: either way no interrupt will announce them, so the caller must look).
    pub fn set_interrupts(&mut self, on: bool) -> bool {
        self.interrupts = if on { Interrupts::On } else { Interrupts::Off };
        match (&self.events, on) {
            (None, _) => self.queue.set_dev_notify(on),
            (Some(_), true) => self.write_used_event(self.last_used),
            (Some(_), false) => self.write_used_event(self.last_used.wrapping_add(OFF_DISTANCE)),
        }
        if !on {
            return false;
        }
        // The request must be visible before the look at the used ring (x86 lets a load pass
        // an earlier store), or a buffer used in between raises nothing and is not seen.
        fence(Ordering::SeqCst);
        self.queue.can_pop()
    }

    fn write_used_event(&self, index: u16) {
        if let Some(events) = &self.events {
            // SAFETY: `used_event` points into the queue's live available ring, which only
            // the driver writes.
            unsafe { events.used_event.as_ref().store(index, Ordering::Release) };
        }
    }
}

/// Whether an event index `event` was passed when an index moved from `old` to `new`: the
/// test both sides of VIRTIO 1.2, 2.7.7.2 and 2.7.10 apply, in 16-bit arithmetic so that it
/// holds across the wrap-around.
pub fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

/// A transport that passes everything on and keeps the ring addresses `VirtQueue::new` gives
/// it, which `VirtQueue` does not tell.
struct QueueSetTap<'a, T: Transport> {
    inner: &'a mut T,
    /// The driver and device areas of the queue set up.
    areas: Option<(PhysAddr, PhysAddr)>,
}

impl<T: Transport> Transport for QueueSetTap<'_, T> {
    fn device_type(&self) -> DeviceType {
        self.inner.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.inner.read_device_features()
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.inner.write_driver_features(driver_features)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.inner.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        self.inner.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.inner.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.inner.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.inner.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.inner.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.areas = Some((driver_area, device_area));
        self.inner
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.inner.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.inner.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.inner.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.inner.read_config_generation()
    }
    fn read_config_space<V: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<V> {
        self.inner.read_config_space(offset)
    }
    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: V,
    ) -> virtio_drivers::Result<()> {
        self.inner.write_config_space(offset, value)
    }
}

#[cfg(test)]
mod tests;
