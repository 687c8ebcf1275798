//! The kernel's [`Hal`] for virtio-drivers: DMA memory from the frame allocator, buffers
//! shared with devices by physical address.
//!
//! There is no IOMMU: a device sees guest-physical memory, so sharing a buffer is telling the
//! device its physical address. Kernel memory is physically contiguous where it matters: the
//! heap, kernel stacks and DMA blocks all live in the direct map (virtual = physical +
//! `DIRECT_MAP_BASE`), and the kernel image is loaded at its virtual address minus
//! `kernel_map::image_offset()` (the link base plus the KASLR slide). A buffer anywhere else (a page mapped on its own) is copied through a bounce
//! buffer of contiguous frames, which [`KernelHal::unshare`] copies back and frees.

use crate::arch::kernel_map;
use crate::arch::paging::{self, DIRECT_MAP_BASE};
use crate::mem;
use core::ptr::NonNull;
use oxv_drivers::virtio::notify::DmaMemory;
use oxv_drivers::virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

/// The direct map's extent: 64 TiB below the kernel image (PML4 slots 256..384).
const DIRECT_MAP_END: u64 = DIRECT_MAP_BASE + (1 << 46);

/// The order of the smallest buddy block holding `pages` pages.
fn order_of(pages: usize) -> u8 {
    pages.max(1).next_power_of_two().trailing_zeros() as u8
}

/// The physical address of kernel virtual address `va`, if `[va, va + len)` is physically
/// contiguous by construction (direct map or kernel image).
fn contiguous_phys(va: u64, len: usize) -> Option<u64> {
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
//   (its own frames, or a bounce buffer that unshare copies back).
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
            let mapped = mem::map_mmio(page).expect("a page table for device registers");
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
        let pages = buffer.len().div_ceil(PAGE_SIZE);
        // `share` cannot fail; kernel buffers outside the direct map and the image are rare
        // (none today), so running out of memory here is not a case to recover from.
        let pa = mem::alloc_contiguous(order_of(pages)).expect("memory for a DMA bounce buffer");
        let bounce = paging::phys_to_virt(pa) as *mut u8;
        if direction == BufferDirection::DeviceToDriver {
            // Whatever the device leaves unwritten reads back as zeros, never stale memory.
            // SAFETY: the bounce block is ours and at least `buffer.len()` bytes long.
            unsafe { core::ptr::write_bytes(bounce, 0, buffer.len()) };
        } else {
            // SAFETY: the caller guarantees `buffer` is valid for reads for the duration of
            // this call; the bounce block is ours and at least `buffer.len()` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(va as *const u8, bounce, buffer.len()) };
        }
        pa
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let va = buffer.as_ptr().cast::<u8>() as u64;
        if contiguous_phys(va, buffer.len()).is_some() {
            return;
        }
        // `share` bounced it: copy the device's writes back and free the bounce block.
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: the caller guarantees `buffer` is valid for writes and unaliased during
            // this call; `paddr` is the bounce block `share` allocated for it, of at least
            // `buffer.len()` bytes, which the device has finished with.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    paging::phys_to_virt(paddr) as *const u8,
                    va as *mut u8,
                    buffer.len(),
                )
            };
        }
        mem::free_contiguous(paddr);
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
