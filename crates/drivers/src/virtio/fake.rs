//! A virtio device played by the test, over host memory.
//!
//! [`FakeHal`] hands out DMA memory from the host heap with "physical" address = host address,
//! so the device side can follow descriptor addresses directly. [`FakeTransport`] records what
//! the driver writes and, on every notification, lets a [`Device`] model consume the
//! available rings and fill the used rings, as the device half of VIRTIO 1.2 section 2.7
//! (split virtqueues) says. A test may also defer the device's work to [`FakeWait`], which
//! runs it when the driver would sleep: that exercises the interrupt path.
#![allow(unsafe_code)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::boxed::Box;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use super::InterruptWait;
use super::notify::{DmaMemory, F_EVENT_IDX, need_event};

/// DMA from the host heap; physical addresses are host addresses.
pub struct FakeHal;

// SAFETY: dma_alloc returns fresh, zeroed, page-aligned heap memory that nothing else aliases;
// share/unshare hand the device the buffer's own address (the fake device runs in-process).
unsafe impl Hal for FakeHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("layout");
        // SAFETY: the layout has a non-zero size (virtio-drivers never asks for 0 pages).
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("host memory");
        (ptr.as_ptr() as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("layout");
        // SAFETY: the caller passes back what dma_alloc returned, with the same page count.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(_paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        unreachable!("the fake transport has no BARs")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr().cast::<u8>() as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

// SAFETY: dma_alloc hands out host memory at its own address.
unsafe impl DmaMemory for FakeHal {
    fn dma_virt(paddr: PhysAddr) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("DMA memory is not at address 0")
    }
}

/// One buffer of a descriptor chain.
#[derive(Copy, Clone, Debug)]
pub struct Segment {
    pub addr: u64,
    pub len: u32,
    pub writable: bool,
}

/// A descriptor chain the driver made available.
#[derive(Clone, Debug)]
pub struct Chain {
    pub head: u16,
    pub segments: Vec<Segment>,
}

impl Chain {
    /// Every device-readable byte, in order.
    pub fn readable(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in self.segments.iter().filter(|s| !s.writable) {
            // SAFETY: the driver shared this buffer with the device until it pops the chain.
            let bytes = unsafe { std::slice::from_raw_parts(s.addr as *const u8, s.len as usize) };
            out.extend_from_slice(bytes);
        }
        out
    }

    /// How many device-writable bytes the chain has.
    pub fn writable_len(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| s.writable)
            .map(|s| s.len as usize)
            .sum()
    }

    /// Writes `data` into the device-writable part at byte `at`.
    pub fn write(&self, mut at: usize, mut data: &[u8]) {
        for s in self.segments.iter().filter(|s| s.writable) {
            let len = s.len as usize;
            if at >= len {
                at -= len;
                continue;
            }
            let n = data.len().min(len - at);
            // SAFETY: as in `readable`; the segment is device-writable and `at + n <= len`.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), (s.addr as *mut u8).add(at), n) };
            data = &data[n..];
            at = 0;
            if data.is_empty() {
                return;
            }
        }
        assert!(data.is_empty(), "wrote past the chain's writable buffers");
    }
}

/// A split virtqueue as the device sees it.
#[derive(Debug, Default)]
pub struct Queue {
    pub size: u32,
    pub desc: u64,
    pub driver: u64,
    pub device: u64,
    pub ready: bool,
    /// `VIRTIO_F_EVENT_IDX` was negotiated when the queue was set up.
    pub event_idx: bool,
    last_avail: u16,
    /// The used index when the device last decided whether to interrupt.
    signalled: u16,
}

fn read<T: FromBytes>(addr: u64) -> T {
    // SAFETY: `addr` is inside a ring FakeHal allocated (the driver gave its address).
    unsafe { std::ptr::read_unaligned(addr as *const T) }
}

fn write<T: IntoBytes + Immutable>(addr: u64, v: T) {
    // SAFETY: as in `read`.
    unsafe { std::ptr::write_unaligned(addr as *mut T, v) }
}

const DESC_NEXT: u16 = 1;
const DESC_WRITE: u16 = 2;
const DESC_INDIRECT: u16 = 4;

impl Queue {
    /// Whether the driver asks for an interrupt when the device uses its next buffer: its
    /// available ring's flags lack `VIRTQ_AVAIL_F_NO_INTERRUPT` or, with the event index,
    /// `used_event` is the next used index.
    pub fn wants_interrupts(&self) -> bool {
        if !self.ready {
            return true;
        }
        if self.event_idx {
            return self.used_event() == self.used_idx();
        }
        read::<u16>(self.driver) & 1 == 0
    }

    /// The driver's `used_event` (meaningful with the event index).
    pub fn used_event(&self) -> u16 {
        read(self.driver + 4 + 2 * u64::from(self.size))
    }

    /// The used ring's index.
    pub fn used_idx(&self) -> u16 {
        read(self.device + 2)
    }

    /// Decides, as a device does after using buffers, whether to interrupt the driver
    /// (VIRTIO 1.2, 2.7.7.2): by `used_event` crossed since the last decision, or by the
    /// flag.
    fn should_interrupt(&mut self) -> bool {
        if !self.ready {
            return false;
        }
        if self.event_idx {
            let new = self.used_idx();
            let old = std::mem::replace(&mut self.signalled, new);
            return need_event(self.used_event(), new, old);
        }
        read::<u16>(self.driver) & 1 == 0
    }

    /// Asks for a kick when the driver adds past what the device has taken (with the event
    /// index, as a device going idle does; QEMU writes it on every pop).
    fn publish_avail_event(&self) {
        if self.event_idx {
            write(self.device + 4 + 8 * u64::from(self.size), self.last_avail);
        }
    }

    /// How many chains the driver made available that the device has not taken.
    pub fn available(&self) -> u16 {
        if !self.ready {
            return 0;
        }
        read::<u16>(self.driver + 2).wrapping_sub(self.last_avail)
    }

    /// Takes the next chain the driver made available, if any.
    pub fn pop_avail(&mut self) -> Option<Chain> {
        if !self.ready {
            return None;
        }
        let avail_idx: u16 = read(self.driver + 2);
        if avail_idx == self.last_avail {
            return None;
        }
        let slot = u64::from(self.last_avail) % u64::from(self.size);
        let head: u16 = read(self.driver + 4 + 2 * slot);
        self.last_avail = self.last_avail.wrapping_add(1);
        self.publish_avail_event();
        let mut segments = Vec::new();
        let (mut table, mut index) = (self.desc, head);
        loop {
            let d = table + 16 * u64::from(index);
            let (addr, len, flags, next): (u64, u32, u16, u16) =
                (read(d), read(d + 8), read(d + 12), read(d + 14));
            if flags & DESC_INDIRECT != 0 {
                table = addr;
                index = 0;
                continue;
            }
            segments.push(Segment {
                addr,
                len,
                writable: flags & DESC_WRITE != 0,
            });
            if flags & DESC_NEXT == 0 {
                break;
            }
            index = next;
        }
        Some(Chain { head, segments })
    }

    /// Returns a chain to the driver with `len` bytes written.
    pub fn push_used(&mut self, head: u16, len: u32) {
        let idx: u16 = read(self.device + 2);
        let slot = u64::from(idx) % u64::from(self.size);
        write(self.device + 4 + 8 * slot, u32::from(head));
        write(self.device + 8 + 8 * slot, len);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        write(self.device + 2, idx.wrapping_add(1));
    }
}

/// What a fake device does when the driver notifies queue `queue`.
pub trait Device: Send {
    /// Consumes available chains of `queues[queue]`; returns whether it used any (which
    /// raises the queue interrupt).
    fn process(&mut self, queues: &mut [Queue], queue: u16) -> bool;
}

/// Everything the transport holds, shared with the test.
pub struct DeviceState {
    pub device_type: DeviceType,
    pub device_features: u64,
    pub driver_features: u64,
    pub status: DeviceStatus,
    pub config: Vec<u8>,
    pub queues: Vec<Queue>,
    pub isr: u32,
    pub notifications: Vec<u16>,
    /// The queues on which the device raised an interrupt, in order.
    pub interrupts: Vec<u16>,
    /// When true, notifications only queue work; [`FakeWait`] runs it.
    pub deferred: bool,
    pending: Vec<u16>,
    device: Option<Box<dyn Device>>,
}

impl DeviceState {
    /// Runs the device on every queue with pending notifications; true if it did anything.
    pub fn run_pending(&mut self) -> bool {
        let pending = std::mem::take(&mut self.pending);
        let mut any = false;
        for q in pending {
            any |= self.run(q);
        }
        any
    }

    /// Runs the device on queue `q` now.
    pub fn run(&mut self, q: u16) -> bool {
        let mut device = self.device.take().expect("a device model");
        let used = device.process(&mut self.queues, q);
        self.device = Some(device);
        if used && self.queues[usize::from(q)].should_interrupt() {
            self.isr |= InterruptStatus::QUEUE_INTERRUPT.bits();
            self.interrupts.push(q);
        }
        used
    }
}

/// The transport half of the fake.
#[derive(Clone)]
pub struct FakeTransport {
    pub state: Arc<Mutex<DeviceState>>,
}

impl FakeTransport {
    /// A device of `device_type` offering `features`, with `config` as its config space and
    /// `queues` queues, played by `device`.
    pub fn new(
        device_type: DeviceType,
        features: u64,
        config: Vec<u8>,
        queues: usize,
        device: Box<dyn Device>,
    ) -> FakeTransport {
        FakeTransport {
            state: Arc::new(Mutex::new(DeviceState {
                device_type,
                device_features: features,
                driver_features: 0,
                status: DeviceStatus::empty(),
                config,
                queues: (0..queues).map(|_| Queue::default()).collect(),
                isr: 0,
                notifications: Vec::new(),
                interrupts: Vec::new(),
                deferred: false,
                pending: Vec::new(),
                device: Some(device),
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut DeviceState) -> R) -> R {
        f(&mut self.state.lock().expect("fake device lock"))
    }
}

impl Transport for FakeTransport {
    fn device_type(&self) -> DeviceType {
        self.with(|s| s.device_type)
    }
    fn read_device_features(&mut self) -> u64 {
        self.with(|s| s.device_features)
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.with(|s| s.driver_features = driver_features)
    }
    fn max_queue_size(&mut self, _queue: u16) -> u32 {
        256
    }
    fn notify(&mut self, queue: u16) {
        self.with(|s| {
            s.notifications.push(queue);
            if s.deferred {
                s.pending.push(queue);
            } else {
                s.run(queue);
            }
        })
    }
    fn get_status(&self) -> DeviceStatus {
        self.with(|s| s.status)
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.with(|s| s.status = status)
    }
    fn set_guest_page_size(&mut self, _guest_page_size: u32) {}
    fn requires_legacy_layout(&self) -> bool {
        false
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.with(|s| {
            s.queues[queue as usize] = Queue {
                size,
                desc: descriptors,
                driver: driver_area,
                device: device_area,
                ready: true,
                event_idx: s.driver_features & F_EVENT_IDX != 0,
                last_avail: 0,
                signalled: 0,
            }
        })
    }
    fn queue_unset(&mut self, queue: u16) {
        self.with(|s| s.queues[queue as usize] = Queue::default())
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.with(|s| s.queues[queue as usize].ready)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        InterruptStatus::from_bits_retain(self.with(|s| std::mem::take(&mut s.isr)))
    }
    fn read_config_generation(&self) -> u32 {
        0
    }
    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        self.with(|s| {
            let end = offset + size_of::<T>();
            let bytes = s
                .config
                .get(offset..end)
                .ok_or(virtio_drivers::Error::ConfigSpaceTooSmall)?;
            Ok(T::read_from_bytes(bytes).expect("sized read"))
        })
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        self.with(|s| {
            let bytes = value.as_bytes();
            s.config
                .get_mut(offset..offset + bytes.len())
                .ok_or(virtio_drivers::Error::ConfigSpaceTooSmall)?
                .copy_from_slice(bytes);
            Ok(())
        })
    }
}

/// An [`InterruptWait`] for tests: when the driver would sleep, it plays the interrupt by
/// running the device's deferred work; a wait that nothing can end fails the test.
pub struct FakeWait {
    pub device: Arc<Mutex<DeviceState>>,
    pub sleeps: Mutex<u32>,
    pub wakes: Mutex<u32>,
}

impl FakeWait {
    pub fn new(transport: &FakeTransport) -> Arc<FakeWait> {
        Arc::new(FakeWait {
            device: transport.state.clone(),
            sleeps: Mutex::new(0),
            wakes: Mutex::new(0),
        })
    }
}

impl InterruptWait for FakeWait {
    fn wait_until(&self, done: &mut dyn FnMut() -> bool) {
        while !done() {
            *self.sleeps.lock().unwrap() += 1;
            let ran = self.device.lock().unwrap().run_pending();
            assert!(ran, "the driver waits for a device that has nothing to do");
        }
    }

    fn wake(&self) {
        *self.wakes.lock().unwrap() += 1;
    }
}
