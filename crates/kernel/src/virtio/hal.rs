//! The kernel's [`Hal`] for virtio-drivers: DMA memory from the frame allocator, buffers
//! shared with devices by physical address.
//!
//! There is no IOMMU: a device sees guest-physical memory, so sharing a buffer is telling the
//! device its physical address. The heap and DMA blocks live in the direct map (virtual =
//! physical + `DIRECT_MAP_BASE`), and the kernel image is loaded at its virtual address minus
//! `kernel_map::image_offset()` (the link base plus the KASLR slide): a buffer in either is
//! physically contiguous by construction and is shared in place.
//!
//! Anything else is copied through a bounce slot, which [`KernelHal::unshare`] copies back and
//! returns to the pool. What does reach this path: the few bytes a virtio-blk request keeps on its
//! thread's kernel stack (the 16-byte header, the status byte, the 20-byte serial number), and
//! the virtio-rng seed, also on a stack (kernel stacks have a region of their own, outside the
//! direct map, for their guard pages). Disk data never does: [`super::disk`] stages a data
//! buffer outside the direct map (the ext2 superblock on a stack) through a buffer of its
//! own before the driver sees it, and virtio-net only shares heap buffers it allocated.
//!
//! `share` cannot fail (virtio-drivers' trait has no error), so it must not allocate: under
//! memory pressure (the app has taken every frame and the OOM killer has not run yet), an
//! allocation here would have nothing to fall back on. The slots are a static pool in the
//! image ([`POOL_SLOTS`] of [`SLOT_BYTES`]), and each device promises itself the slots it can
//! have in flight when it is probed ([`reserve_bounce_slots`]; a disk needs
//! [`SLOTS_PER_DISK`]), so a slot is always free when a device shares (see
//! [`super::bounce`]).

use super::bounce::SlotMap;
use crate::arch::kernel_map;
use crate::arch::paging::{self, DIRECT_MAP_BASE};
use crate::mem;
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use oxv_drivers::virtio::notify::DmaMemory;
use oxv_drivers::virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

/// The direct map's extent: 64 TiB below the kernel image (PML4 slots 256..384).
const DIRECT_MAP_END: u64 = DIRECT_MAP_BASE + (1 << 46);

/// The largest buffer a bounce slot holds: more than any buffer the drivers keep outside the
/// direct map (the 32-byte rng seed is the largest).
pub const SLOT_BYTES: usize = 64;
/// Bounce slots in the pool (8 KiB in all): room for [`POOL_SLOTS`] / [`SLOTS_PER_DISK`] disks.
pub const POOL_SLOTS: usize = 128;
/// The slots one virtio-blk disk can have in flight: one request at a time per disk (the
/// driver's `busy`), a chain of at most three buffers (header, data, status).
pub const SLOTS_PER_DISK: usize = 3;
/// The slots a virtio-rng read has in flight: its one buffer (the seed).
pub const SLOTS_PER_RNG: usize = 1;

const _: () = assert!(POOL_SLOTS == SlotMap::<{ POOL_SLOTS / 64 }>::CAPACITY);

/// The bounce slots' memory: in the image's `.bss`, so physically contiguous and never
/// allocated at run time.
#[repr(C, align(64))]
struct PoolMemory(UnsafeCell<[u8; POOL_SLOTS * SLOT_BYTES]>);

// SAFETY: slot `i` of the memory is only touched by whoever took slot `i` from `POOL_SLOTS_MAP`
// (between `share` and `unshare`) and by the device it was shared with.
unsafe impl Sync for PoolMemory {}

static POOL_MEMORY: PoolMemory = PoolMemory(UnsafeCell::new([0; POOL_SLOTS * SLOT_BYTES]));
/// Which slots of [`POOL_MEMORY`] are lent out, and how many devices were promised.
static POOL_SLOTS_MAP: SlotMap<{ POOL_SLOTS / 64 }> = SlotMap::new();

/// Promises `n` bounce slots to a device being probed: false if the pool cannot (too many
/// devices), in which case the device must not be used.
pub fn reserve_bounce_slots(n: usize) -> bool {
    POOL_SLOTS_MAP.reserve(n)
}

/// Takes back a promise of [`reserve_bounce_slots`] (a probe that failed, a device dropped).
pub fn unreserve_bounce_slots(n: usize) {
    POOL_SLOTS_MAP.unreserve(n)
}

/// Bounce slots promised to devices, and lent out now.
pub fn bounce_pool_use() -> (usize, usize) {
    (POOL_SLOTS_MAP.reserved(), POOL_SLOTS_MAP.lent())
}

/// The kernel address of bounce slot `slot`.
fn slot_virt(slot: usize) -> *mut u8 {
    POOL_MEMORY
        .0
        .get()
        .cast::<u8>()
        .wrapping_add(slot * SLOT_BYTES)
}

/// The bounce slot at physical address `pa`, if it is one.
fn slot_at(pa: u64) -> Option<usize> {
    let base = contiguous_phys(slot_virt(0) as u64, POOL_SLOTS * SLOT_BYTES)?;
    let offset = pa.checked_sub(base)? as usize;
    (offset < POOL_SLOTS * SLOT_BYTES && offset % SLOT_BYTES == 0).then_some(offset / SLOT_BYTES)
}

/// The order of the smallest buddy block holding `pages` pages.
fn order_of(pages: usize) -> u8 {
    pages.max(1).next_power_of_two().trailing_zeros() as u8
}

/// The physical address of kernel virtual address `va`, if `[va, va + len)` is physically
/// contiguous by construction (direct map or kernel image): such a buffer is shared in place.
pub fn contiguous_phys(va: u64, len: usize) -> Option<u64> {
    let end = va.checked_add(len as u64)?;
    if va >= DIRECT_MAP_BASE && end <= DIRECT_MAP_END {
        return Some(va - DIRECT_MAP_BASE);
    }
    let image = kernel_map::image_range();
    if va >= image.start && end <= image.end {
        return Some(va - kernel_map::image_offset());
    }
    None
}

/// Frames from the kernel's frame allocator, seen through the direct map.
pub struct KernelHal;

// SAFETY: the implementation-safety promises of each method (`virtio_drivers::Hal`) hold:
// - dma_alloc returns frames fresh from the buddy allocator (so unaliased until
//   dma_dealloc gives them back), zeroed, page-aligned, and mapped by the direct map;
// - mmio_phys_to_virt maps the device's pages uncached at their direct-map addresses, where
//   no RAM lives (the direct map covers RAM only);
// - share returns an address at which the device reads or writes exactly the buffer's bytes
//   (its own frames, or a bounce slot that unshare copies back).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(pa) = mem::alloc_contiguous(order_of(pages)) else {
            // virtio-drivers reports physical address 0 as DmaError.
            return (0, NonNull::dangling());
        };
        let va = paging::phys_to_virt(pa) as *mut u8;
        // SAFETY: the block was just allocated (at least `pages` pages, nobody else's) and
        // is mapped writable by the direct map.
        unsafe { core::ptr::write_bytes(va, 0, pages * PAGE_SIZE) };
        (
            pa,
            NonNull::new(va).expect("the direct map is not at address 0"),
        )
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        mem::free_contiguous(paddr);
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let first = paddr & !(PAGE_SIZE as u64 - 1);
        let mut va = None;
        let mut page = first;
        while page < paddr + size as u64 {
            // virtio-drivers asks only while a transport is built, which is at boot (`init`),
            // before the app runs: the frames for a page table are there, or the machine is
            // too small to boot at all.
            let mapped = mem::map_mmio(page)
                .expect("a page table for device registers, mapped at boot before the app runs");
            va.get_or_insert(mapped);
            page += PAGE_SIZE as u64;
        }
        let base = va.unwrap_or_else(|| paging::phys_to_virt(first));
        NonNull::new((base + (paddr - first)) as *mut u8).expect("mapped above address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let va = buffer.as_ptr().cast::<u8>() as u64;
        if let Some(pa) = contiguous_phys(va, buffer.len()) {
            return pa;
        }
        // Outside the direct map and the image: only the drivers' small stack buffers get
        // here (module doc), in slots their devices reserved when probed.
        assert!(
            buffer.len() <= SLOT_BYTES,
            "a {}-byte DMA buffer outside the direct map: only a driver's stack-held header, \
             status or seed ({SLOT_BYTES} bytes at most) bounces; disk data is staged first",
            buffer.len()
        );
        let slot = POOL_SLOTS_MAP.take().expect(
            "a free bounce slot: each device reserved the slots it can have in flight when \
             probed, and the reservations never exceed the pool",
        );
        let bounce = slot_virt(slot);
        if direction == BufferDirection::DeviceToDriver {
            // Whatever the device leaves unwritten reads back as zeros, never stale memory.
            // SAFETY: the slot is ours (just taken) and `SLOT_BYTES >= buffer.len()` long.
            unsafe { core::ptr::write_bytes(bounce, 0, buffer.len()) };
        } else {
            // SAFETY: the caller guarantees `buffer` is valid for reads for the duration of
            // this call; the slot is ours and at least `buffer.len()` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(va as *const u8, bounce, buffer.len()) };
        }
        contiguous_phys(bounce as u64, SLOT_BYTES).expect("the bounce pool is in the kernel image")
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let va = buffer.as_ptr().cast::<u8>() as u64;
        if contiguous_phys(va, buffer.len()).is_some() {
            return;
        }
        // `share` bounced it: copy the device's writes back and give the slot back.
        let Some(slot) = slot_at(paddr) else {
            // Not a slot: `share` returned no such address for a buffer outside the direct
            // map and the image, so the caller broke its contract; leave memory alone.
            return;
        };
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: the caller guarantees `buffer` is valid for writes and unaliased during
            // this call; `paddr` is the slot `share` took for it, of at least `buffer.len()`
            // bytes (`buffer.len() <= SLOT_BYTES`, checked there), which the device has
            // finished with.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    slot_virt(slot) as *const u8,
                    va as *mut u8,
                    buffer.len().min(SLOT_BYTES),
                )
            };
        }
        POOL_SLOTS_MAP.give(slot);
    }
}

// SAFETY: dma_alloc hands out frames at their direct-map addresses, which is what this
// returns for any physical address inside them.
unsafe impl DmaMemory for KernelHal {
    fn dma_virt(paddr: PhysAddr) -> NonNull<u8> {
        NonNull::new(paging::phys_to_virt(paddr) as *mut u8)
            .expect("the direct map is not at address 0")
    }
}
