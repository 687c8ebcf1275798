//! Memory bring-up and the kernel's frame allocator instance.
//!
//! Order matters: free RAM is computed from the PVH memory map; the kernel's own page tables
//! are built from a bump allocator over it (the boot tables map only 4 GiB); then the buddy
//! allocator takes its metadata table from the same bump allocator and receives everything
//! that is left.

use crate::arch::kernel_map;
use crate::arch::paging::{self, PageTableRoot};
use crate::arch::pvh::BootInfo;
use crate::memmap::FreeRam;
use core::ptr::NonNull;
use oxv_mm::heap::{HeapArena, HeapGrowth, HeapRegion, KernelHeap};
use oxv_mm::{FrameAllocator, FrameError, FrameSource, FrameSpan, PhysAddr, PhysFrame};
use spin::{Mutex, Once};

/// The heap starts in this arena (enough for boot) and grows from the frame allocator.
static ARENA: HeapArena<{ 64 * 1024 }> = HeapArena::new();

#[global_allocator]
static HEAP: KernelHeap<FrameGrowth> = KernelHeap::new(&ARENA, FrameGrowth);

/// Grows the kernel heap with blocks of frames seen through the direct map.
struct FrameGrowth;

impl HeapGrowth for FrameGrowth {
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
        // At least 64 KiB at a time (order 4), more for a large request.
        let pages = min_len.div_ceil(4096).max(16).next_power_of_two();
        let order = pages.trailing_zeros() as u8;
        let block = FRAMES.lock().as_mut()?.allocate(order)?;
        let va = paging::phys_to_virt(block.start_address().as_u64());
        // SAFETY: the block was just allocated, so nothing else uses it; it is mapped by the
        // direct map and never freed (the heap keeps every region for good).
        Some(unsafe { HeapRegion::from_raw_parts(NonNull::new(va as *mut u8)?, pages * 4096) })
    }
}

static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);
static KERNEL_PT: Once<PageTableRoot> = Once::new();

/// Sets up the kernel page tables and the frame allocator. Returns the free RAM in bytes.
pub fn init(info: &BootInfo) -> u64 {
    // The boot stub (with the live boot page tables) sits between 1 MiB and the image; it is
    // given to the buddy allocator once the kernel's own tables are active.
    let (cmd_pa, cmd_len) = info.cmdline;
    let mut reserved = [
        0..0x10_0000u64,
        kernel_map::boot_phys_range().start..kernel_map::image_phys_range().end,
        0..0,
        // Read after this function returns: the command line and the start_info block.
        cmd_pa..cmd_pa + cmd_len as u64 + 1,
        info.start_info..info.start_info + 64,
    ];
    if let Some(m) = info.initrd {
        reserved[2] = m.addr..m.addr + m.size;
    }
    let mut free = FreeRam::new(info, &reserved);

    let ram = FreeRam::new(info, &[]);
    let kpt = kernel_map::build(ram.ranges(), &mut || free.take_page())
        .expect("the kernel page tables fit in free RAM");
    // SAFETY: the new tables map the kernel image at the addresses it runs at, the direct
    // map over all RAM (where the stack, start_info and initramfs are read from), and stay
    // alive forever (stored in KERNEL_PT).
    unsafe { kpt.activate() };
    KERNEL_PT.call_once(|| kpt);

    // The span covers all RAM, so that ranges reserved at boot (the boot stub, the
    // initramfs) can be given back later.
    let boot = kernel_map::boot_phys_range();
    let all: [core::ops::Range<PhysAddr>; 64] =
        core::array::from_fn(|i| match ram.ranges().get(i) {
            Some(r) => PhysAddr::new(r.start)..PhysAddr::new(r.end),
            None => PhysAddr::new(0)..PhysAddr::new(0),
        });
    let span = FrameSpan::covering(&all[..ram.ranges().len()]).expect("the VM has RAM");
    let meta_pa = free
        .take(span.metadata_bytes() as u64)
        .expect("room for frame metadata");
    // SAFETY: [meta_pa, +metadata_bytes) was just taken from free RAM, so nothing else uses it;
    // it is mapped by the direct map and lives forever.
    let meta = unsafe {
        core::slice::from_raw_parts_mut(
            paging::phys_to_virt(meta_pa) as *mut u8,
            span.metadata_bytes(),
        )
    };
    let mut alloc = FrameAllocator::from_bytes(span.base, meta).expect("metadata is page aligned");
    for r in free.ranges() {
        alloc
            .add_range(PhysAddr::new(r.start)..PhysAddr::new(r.end))
            .expect("free ranges are disjoint and in the span");
    }
    alloc
        .add_range(PhysAddr::new(boot.start)..PhysAddr::new(boot.end))
        .expect("the boot stub is RAM below the image");
    let total = alloc.free_frames() as u64 * 4096;
    *FRAMES.lock() = Some(alloc);
    total
}

/// The kernel's page tables (the template for every address space's kernel half).
pub fn kernel_page_table() -> PageTableRoot {
    *KERNEL_PT.get().expect("mem::init ran")
}

/// A handle on the global frame allocator that locks it per call.
pub struct KernelFrames;

impl FrameSource for KernelFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        FRAMES.lock().as_mut()?.allocate(0)
    }
    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        FRAMES
            .lock()
            .as_mut()
            .expect("mem::init ran")
            .add_ref(frame)
    }
    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        FRAMES
            .lock()
            .as_mut()
            .expect("mem::init ran")
            .release(frame)
    }
    fn ref_count(&self, frame: PhysFrame) -> Option<u32> {
        FRAMES.lock().as_ref()?.ref_count(frame)
    }
}

/// Maps device registers at physical `pa` (one page) uncached in the kernel half and returns
/// their virtual address (in the direct-map window, where no RAM lives at device addresses).
pub fn map_mmio(pa: u64) -> Option<u64> {
    let va = paging::phys_to_virt(pa & !4095);
    let flags = paging::pte::WRITABLE
        | paging::pte::NO_CACHE
        | paging::pte::WRITE_THROUGH
        | paging::nx_bit()
        | paging::global_bit();
    let root = kernel_page_table();
    root.map_4k(va, pa & !4095, flags, &mut || {
        let f = KernelFrames.allocate_frame()?.start_address().as_u64();
        paging::zero_frame(f);
        Some(f)
    })
    .ok()?;
    crate::arch::cpu::invlpg(va);
    Some(va + (pa & 4095))
}

/// Gives a range that boot reserved (the initramfs once unpacked) to the frame allocator.
/// Pages shared with other reserved data at either end are kept.
pub fn release_boot_range(start: u64, end: u64) {
    let (s, e) = (start.next_multiple_of(4096), end & !4095);
    if s < e {
        if let Some(a) = FRAMES.lock().as_mut() {
            let _ = a.add_range(PhysAddr::new(s)..PhysAddr::new(e));
        }
    }
}

/// Allocates a kernel stack of 2^order pages; returns its top (16-byte aligned).
pub fn alloc_kernel_stack(order: u8) -> Option<u64> {
    let block = FRAMES.lock().as_mut()?.allocate(order)?;
    Some(paging::phys_to_virt(block.start_address().as_u64()) + (4096u64 << order))
}

/// Frees a kernel stack from [`alloc_kernel_stack`].
pub fn free_kernel_stack(top: u64, order: u8) {
    let base = top - (4096u64 << order) - paging::DIRECT_MAP_BASE;
    if let Some(a) = FRAMES.lock().as_mut() {
        let _ = a.free(PhysFrame::containing_address(PhysAddr::new(base)));
    }
}

/// Free and total frame counts.
pub fn frame_stats() -> (usize, usize) {
    FRAMES
        .lock()
        .as_ref()
        .map(|a| (a.free_frames(), a.total_frames()))
        .unwrap_or((0, 0))
}
