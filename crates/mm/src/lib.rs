#![doc = include_str!("../README.md")]
//!
//! # How the parts fit
//!
//! ```text
//!  syscalls / page faults ──> AddressSpace (VMAs, brk, faults) ──> PageTable + Tlb   (embedder)
//!                               │     │                       └──> FrameBytes        (embedder)
//!                               │     └── MAP_SHARED pages ──> SharedMapSource  (VFS page cache,
//!                               │                                 or SharedAnon here)
//!                               └── frames ──> FrameSource ──> FrameCache (per CPU)
//!                                                          └──> FrameAllocator (buddy, refcounts)
//!  #[global_allocator] ──> KernelHeap (talc) ──> HeapArena, then HeapGrowth ──> frames (embedder)
//!  /proc/meminfo ──> Meminfo <── FrameStats + AddressSpace::memory_usage
//! ```
//!
//! - [`addr`]: [`PhysAddr`], [`VirtAddr`], [`PhysFrame`], [`Page`], [`HugePage`],
//!   [`HugeFrame`], page-size constants.
//! - [`frame`]: [`FrameAllocator`], the buddy allocator; [`FrameSource`], what the rest of
//!   the crate allocates frames from; [`FrameCache`], a per-CPU front cache.
//! - [`heap`]: [`KernelHeap`](heap::KernelHeap), the kernel's `GlobalAlloc`.
//! - [`paging`]: the hardware seam ([`PageTable`], with optional 2 MiB pages, [`Tlb`],
//!   [`FrameBytes`]).
//! - [`vma`] and [`aspace`]: [`AddressSpace`] with Linux's mmap/munmap/mprotect/mremap/brk,
//!   madvise, msync, mincore, the mlock family, demand paging with transparent huge pages,
//!   copy-on-write [`fork_copy`](AddressSpace::fork_copy), and `/proc/<pid>/maps`/`smaps`.
//! - [`shared`]: `MAP_SHARED` objects: the [`SharedMapSource`] trait a page cache implements,
//!   and [`SharedAnon`] for shared anonymous memory.
//! - [`meminfo`]: [`Meminfo`], the numbers and layout of `/proc/meminfo`.
//! - [`fake`]: in-memory implementations of every trait, for tests.
//!
//! # Design principles
//!
//! 1. Mechanism here, hardware there: the crate decides what is mapped; the embedder's traits
//!    write page-table entries, flush TLBs and touch RAM. Nothing here is `unsafe` except the
//!    heap's hand-over of raw memory to the allocator.
//! 2. No hidden globals, no clock, no RNG: the kernel owns every instance and passes a
//!    [`Platform`] (frames, bytes, TLB) to each operation; layout randomization comes in as
//!    addresses ([`AddressSpaceConfig::mmap_base`], [`AddressSpace::init_brk`]).
//! 3. Linux's behaviour, including its error order and its odd corners (mprotect's partial
//!    application, brk returning the old break), is the specification; each module names the
//!    man page and kernel function it follows.
//! 4. Misuse is reported, never absorbed: a double free is an error that changes nothing, and
//!    exhaustion is `None`, never a panic.
//! 5. Simple structures first (a `BTreeMap` of VMAs, per-page walks), with seams where a
//!    faster one will go ([`PageTable::next_mapped`]).
//!
//! # Embedding, in three steps
//!
//! **1. Frames.** Build a [`FrameSpan`] from the usable ranges of the boot memory map; it says
//! how much metadata the allocator needs (12 bytes per 4 KiB frame of the span: 12 KiB for
//! 4 MiB of RAM). Carve that out of RAM, pass it through your direct map to
//! [`FrameAllocator::from_bytes`], and add the usable ranges minus what is in use (kernel
//! image, the metadata itself) with [`FrameAllocator::add_range_except`].
//!
//! **2. Heap.** Declare a [`HeapArena`](heap::HeapArena) and a
//! [`KernelHeap`](heap::KernelHeap) as `#[global_allocator]`; implement
//! [`HeapGrowth`](heap::HeapGrowth) to hand out frames from step 1 through the direct map.
//!
//! **3. Address spaces.** Implement [`PageTable`] (one per process), [`Tlb`] and
//! [`FrameBytes`]; then create an [`AddressSpace`] per process and call it from the syscall
//! and page-fault paths with a [`Platform`] built for the call.
//!
//! ```no_run
//! use oxv_mm::heap::{HeapArena, HeapGrowth, HeapRegion, KernelHeap};
//! use oxv_mm::*;
//!
//! // Step 2: the heap starts in 64 KiB of .bss and grows from the frame allocator.
//! static ARENA: HeapArena<{ 64 * 1024 }> = HeapArena::new();
//! // #[global_allocator]
//! static HEAP: KernelHeap<FramesForHeap> = KernelHeap::new(&ARENA, FramesForHeap);
//!
//! struct FramesForHeap;
//! impl HeapGrowth for FramesForHeap {
//!     fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
//!         // Lock the global frame allocator, allocate a block of 2^order frames covering
//!         // `min_len` (64 KiB at least), and wrap its direct-map address:
//!         // unsafe { HeapRegion::from_raw_parts(direct_map(frame), len) }
//!         todo!()
//!     }
//! }
//!
//! // Step 3: the hardware seam.
//! struct X86PageTable { /* root frame */ }
//! impl PageTable for X86PageTable {
//!     fn map(&mut self, page: Page, frame: PhysFrame, flags: PteFlags,
//!            frames: &mut dyn FrameSource) -> Result<Flush, MapError> { todo!() }
//!     fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)> { todo!() }
//!     fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush> { todo!() }
//!     fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)> { todo!() }
//!     fn release_tables(&mut self, frames: &mut dyn FrameSource) { todo!() }
//! }
//! struct Invlpg;
//! impl Tlb for Invlpg {
//!     fn flush_page(&self, page: Page) { todo!() }
//!     fn flush_all(&self) { todo!() }
//! }
//! struct DirectMap;
//! impl FrameBytes for DirectMap {
//!     fn zero_frame(&self, frame: PhysFrame) { todo!() }
//!     fn copy_frame(&self, dst: PhysFrame, src: PhysFrame) { todo!() }
//!     fn read(&self, frame: PhysFrame, offset: usize, buf: &mut [u8]) { todo!() }
//!     fn write(&self, frame: PhysFrame, offset: usize, data: &[u8]) { todo!() }
//! }
//!
//! fn on_page_fault(aspace: &mut AddressSpace<X86PageTable>, frames: &mut dyn FrameSource,
//!                  addr: u64, access: Access) -> Result<(), FaultError> {
//!     let mut plat = Platform { frames, bytes: &DirectMap, tlb: &Invlpg };
//!     aspace.handle_fault(addr, access, &mut plat)
//!     // Err(e): deliver e.signal() with e.si_code() and si_addr = e.addr.
//! }
//! ```
//!
//! # Lock order
//!
//! The heap grows from the frame allocator while holding the heap lock, so the frame
//! allocator's lock must never be held while allocating from the heap. Address-space
//! operations allocate (VMA nodes), so do not pass them a guard of the locked allocator as
//! their [`FrameSource`]: implement [`FrameSource`] on a handle that takes the allocator lock
//! inside each method. An address space itself needs a lock of its own (the kernel's).
//!
//! **Optional parts.** Huge pages: implement the `*_huge` methods of [`PageTable`] and
//! [`FrameSource`] (the buddy allocator already does) and pick a [`ThpMode`]. Per-CPU caches:
//! keep a [`FrameCache`] per CPU and implement [`FrameSource`] like [`CachedFrames`]. Shared
//! file mappings: have [`MapSource::shared`] return the file's page cache.
//!
//! # Not yet
//!
//! Swapping; memory accounting (overcommit is unconditional; `RLIMIT_MEMLOCK` is checked by
//! mlock only); reverse mapping (a shared object cannot unmap its pages from every address
//! space: truncation of a mapped file, and msync across forked processes, see [`shared`]);
//! collapsing 4 KiB pages into huge ones (`MADV_COLLAPSE` and khugepaged); guard regions
//! (`MADV_GUARD_INSTALL`); `userfaultfd`, `mseal`, memory protection keys.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod addr;
pub mod aspace;
pub mod fake;
pub mod frame;
pub mod meminfo;
// The one module allowed `unsafe`: it hands raw memory to the allocator and implements
// `GlobalAlloc`.
#[allow(unsafe_code)]
pub mod heap;
pub mod paging;
pub mod shared;
pub mod vma;

#[cfg(test)]
mod testing;

pub use addr::{
    HUGE_PAGE_SIZE, HugeFrame, HugePage, PAGE_SHIFT, PAGE_SIZE, Page, PhysAddr, PhysFrame,
    USER_TOP, VirtAddr,
};
pub use aspace::{
    Access, AddressSpace, AddressSpaceConfig, FaultError, FaultKind, ForkError, MmapArgs, Platform,
    ThpMode, UserAccess,
};
pub use frame::{
    CachedFrames, FrameAllocator, FrameCache, FrameError, FrameMeta, FrameSource, FrameSpan,
    FrameStats, MAX_ORDER, MetadataError,
};
pub use meminfo::Meminfo;
pub use paging::{Flush, FrameBytes, MapError, PageTable, PteFlags, Tlb};
pub use shared::{PageError, SharedAnon, SharedMapSource};
pub use vma::{
    Backing, FileBacking, MapIdentity, MapSource, Prot, SharedBacking, SharedFile, SharedObject,
    Vma, VmaFlags, VmaKind,
};
