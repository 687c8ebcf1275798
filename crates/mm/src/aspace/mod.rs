//! The user half of one process: its VMAs, its page table, and Linux's memory syscalls.
//!
//! An [`AddressSpace`] owns a [`PageTable`] and a sorted map of [`Vma`]s (a `BTreeMap` keyed by
//! start address: O(log n) lookup). It implements, with Linux's semantics and error order:
//!
//! - mmap(2), munmap(2), mprotect(2) and brk(2) ([`map`], [`MmapArgs`]);
//! - mremap(2) ([`remap`]), madvise(2) ([`advice`]), msync(2) ([`msync`]), mincore(2)
//!   ([`mincore`]), and the mlock(2) family ([`lock`]);
//! - demand paging: [`AddressSpace::handle_fault`] fills a page on first touch (a 2 MiB page
//!   where allowed, see [`ThpMode`]), grows stacks down, breaks copy-on-write sharing, and says
//!   `SEGV_MAPERR` or `SEGV_ACCERR` otherwise;
//! - [`AddressSpace::fork_copy`] ([`fork`]): a copy-on-write duplicate for fork(2);
//! - [`AddressSpace::unmap_object_beyond`]: the pages of a file that shrank, unmapped for
//!   truncate(2) (see [`crate::shared::unmap_object_beyond`]);
//! - `/proc/<pid>/maps` and `smaps` ([`proc`]);
//! - kernel-initiated access for exec and debugging ([`AddressSpace::write_bytes`],
//!   [`zero_range`](AddressSpace::zero_range), [`read_bytes`](AddressSpace::read_bytes)),
//!   which ignores the VMA protection;
//! - a software [`UserMemory`](oxv_abi::UserMemory) view that honours it
//!   ([`AddressSpace::user_memory`]).
//!
//! It holds no frame allocator, TLB or direct map: every operation that may touch physical
//! memory takes a [`Platform`], so several address spaces share one allocator and frames
//! carry reference counts across them. Nothing here locks; the kernel wraps each address space
//! in the lock it wants.
//!
//! Invariants kept (and checked by the tests after every operation): VMAs are page aligned,
//! non-empty, disjoint, and maximally merged; every page-table entry lies inside a VMA and
//! carries that VMA's permissions, possibly minus `WRITABLE` in private memory (always minus it
//! while the frame is shared copy-on-write) and in shared file mappings (until the first write
//! is noticed); a huge entry lies inside one private anonymous VMA; every mapped frame holds
//! one reference for this mapping.

use crate::addr::{PAGE_SIZE_U64, Page, USER_TOP, VirtAddr, page_floor};
use crate::paging::PageTable;
use crate::shared::SharedAnon;
use crate::vma::{Backing, SharedObject, Vma, VmaFlags};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

pub mod advice;
mod fault;
pub mod fork;
pub mod lock;
pub mod map;
pub mod mincore;
pub mod msync;
mod pages;
pub mod proc;
mod reclaim;
pub mod remap;
mod truncate;
mod user;

pub use fault::{Access, FaultError, FaultKind};
pub use fork::ForkError;
pub use map::MmapArgs;
pub(crate) use pages::pte_flags;
pub use user::UserAccess;

#[cfg(test)]
mod tests;

/// What the embedding kernel supplies to every operation that touches physical memory.
///
/// Borrowed for one call; build it from the kernel's shared services each time.
pub struct Platform<'a> {
    /// Frames for pages and page-table pages.
    pub frames: &'a mut dyn crate::frame::FrameSource,
    /// Byte access to frames.
    pub bytes: &'a dyn crate::paging::FrameBytes,
    /// TLB invalidation for this address space.
    pub tlb: &'a dyn crate::paging::Tlb,
}

/// When anonymous memory gets 2 MiB pages (Linux's
/// `/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ThpMode {
    /// Never.
    Never,
    /// Only in VMAs marked with `MADV_HUGEPAGE` (the safe default for small guests: a sparse
    /// toucher of a large mapping is not charged 2 MiB per touch).
    Madvise,
    /// In every private anonymous VMA that holds a whole, aligned 2 MiB range, unless marked
    /// `MADV_NOHUGEPAGE`.
    Always,
}

/// Layout parameters of an address space, chosen by the kernel (which randomizes them).
#[non_exhaustive]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct AddressSpaceConfig {
    /// Non-fixed mmaps are placed top-down below this address (Linux's `mmap_base`), then
    /// anywhere if nothing fits below it.
    pub mmap_base: u64,
    /// The lowest address mmap may use (`vm.mmap_min_addr`, 64 KiB by default); a
    /// `MAP_FIXED` request below it fails with `EPERM`, as for an unprivileged Linux process.
    pub min_addr: u64,
    /// The gap kept free below a grows-down VMA (`stack_guard_gap`, 256 pages).
    pub stack_guard_gap: u64,
    /// How large a grows-down VMA may grow (`RLIMIT_STACK`, 8 MiB by default).
    pub stack_limit: u64,
    /// Transparent huge pages for anonymous memory; they are used only if the page table and
    /// the frame source support them.
    pub thp: ThpMode,
    /// The most one request may commit, in bytes: Linux's overcommit heuristic
    /// (`vm.overcommit_memory=0`, its default) refuses with `ENOMEM` a single mmap, brk
    /// growth, mprotect to writable or mremap growth that charges more than RAM plus swap.
    /// The embedder sets it to its RAM size; `u64::MAX` (the default here) never refuses.
    pub commit_limit: u64,
}

impl AddressSpaceConfig {
    /// Linux's defaults, with mmaps placed below `mmap_base`.
    pub const fn new(mmap_base: u64) -> Self {
        AddressSpaceConfig {
            mmap_base,
            min_addr: 0x1_0000,
            stack_guard_gap: 256 * PAGE_SIZE_U64,
            stack_limit: 8 << 20,
            thp: ThpMode::Madvise,
            commit_limit: u64::MAX,
        }
    }

    /// `ENOMEM` when one request would commit more than [`commit_limit`](Self::commit_limit)
    /// (Linux's `__vm_enough_memory` under `OVERCOMMIT_GUESS`: each request on its own,
    /// not the running total).
    pub(crate) fn check_commit(&self, bytes: u64) -> Result<(), oxv_abi::Errno> {
        if bytes > self.commit_limit {
            return Err(oxv_abi::Errno::ENOMEM);
        }
        Ok(())
    }
}

/// The user half of one process. See the [module docs](self).
pub struct AddressSpace<P: PageTable> {
    page_table: P,
    vmas: BTreeMap<u64, Vma>,
    config: AddressSpaceConfig,
    brk_start: u64,
    brk: u64,
    resident: usize,
    /// Flags every new mapping gets: `mlockall(MCL_FUTURE)` (Linux's `mm->def_flags`).
    def_flags: VmaFlags,
    /// Inode number of the next shared anonymous object (for `/proc/self/maps`).
    next_shmem_inode: u64,
    /// Where the next search for clean file pages to take out starts (see `reclaim`).
    reclaim_hand: u64,
}

impl<P: PageTable> core::fmt::Debug for AddressSpace<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AddressSpace")
            .field("vmas", &self.vmas.values().collect::<alloc::vec::Vec<_>>())
            .field("brk", &(self.brk_start..self.brk))
            .field("resident", &self.resident)
            .finish()
    }
}

impl<P: PageTable> AddressSpace<P> {
    /// An empty address space over `page_table` (whose user half must be empty).
    pub fn new(page_table: P, config: AddressSpaceConfig) -> Self {
        AddressSpace {
            page_table,
            vmas: BTreeMap::new(),
            config,
            brk_start: 0,
            brk: 0,
            resident: 0,
            def_flags: VmaFlags::empty(),
            next_shmem_inode: 1,
            reclaim_hand: 0,
        }
    }

    /// The page table.
    pub fn page_table(&self) -> &P {
        &self.page_table
    }

    /// The layout parameters.
    pub fn config(&self) -> &AddressSpaceConfig {
        &self.config
    }

    /// The VMAs in address order.
    pub fn vmas(&self) -> impl Iterator<Item = &Vma> + '_ {
        self.vmas.values()
    }

    /// The VMA containing `addr`.
    pub fn find_vma(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
    }

    /// How many 4 KiB pages are mapped in the page table (the resident set; a huge page
    /// counts 512).
    pub fn resident_pages(&self) -> usize {
        self.resident
    }

    /// The first VMA that ends above `addr` (the one containing it, or the next one up).
    fn vma_from(&self, addr: u64) -> Option<&Vma> {
        self.find_vma(addr)
            .or_else(|| self.vmas.range(addr..).next().map(|(_, v)| v))
    }

    /// Whether any VMA intersects `[start, end)`.
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vma_from(start).is_some_and(|v| v.start < end)
    }

    /// The lowest address a new mapping may end at below `v`: its start, minus the guard gap
    /// if it grows down (Linux's `vm_start_gap`).
    fn start_gap(&self, v: &Vma) -> u64 {
        if v.flags.contains(VmaFlags::GROWS_DOWN) {
            v.start.saturating_sub(self.config.stack_guard_gap)
        } else {
            v.start
        }
    }

    /// Splits the VMA that strictly contains `at`, if any, so that a VMA boundary lies at `at`;
    /// a huge page across `at` becomes 4 KiB pages first.
    fn split_at(&mut self, at: u64, plat: &mut Platform<'_>) {
        if let Some((_, v)) = self.vmas.range_mut(..at).next_back()
            && v.end > at
        {
            let upper = v.split_off(at);
            self.vmas.insert(at, upper);
            self.split_huge_across(at, plat);
        }
    }

    /// Folds the VMA starting at `at` into the one ending there, when they are compatible.
    fn merge_at(&mut self, at: u64) {
        let Some(next) = self.vmas.get(&at) else {
            return;
        };
        let Some((_, prev)) = self.vmas.range(..at).next_back() else {
            return;
        };
        if !prev.can_merge(next) {
            return;
        }
        let next_end = next.end;
        // Never the last reference to a shared object: `prev` maps the same one.
        self.vmas.remove(&at);
        if let Some((_, prev)) = self.vmas.range_mut(..at).next_back() {
            prev.end = next_end;
        }
    }

    /// Re-merges every VMA boundary in `[start, end]`.
    fn merge_range(&mut self, start: u64, end: u64) {
        let mut k = start;
        loop {
            self.merge_at(k);
            if k >= end {
                break;
            }
            match self.vmas.range(k + 1..=end).next() {
                Some((&next, _)) => k = next,
                None => break,
            }
        }
        self.merge_at(end);
    }

    /// Inserts a VMA over a range known to be free, merging it with its neighbours.
    fn insert_vma(&mut self, vma: Vma) {
        let (start, end) = (vma.start, vma.end);
        debug_assert!(!self.overlaps(start, end), "insert_vma over a mapped range");
        self.vmas.insert(start, vma);
        self.merge_at(end);
        self.merge_at(start);
    }

    /// Removes every mapping in `[start, end)` (page aligned) and releases its frames.
    fn remove_range(&mut self, start: u64, end: u64, plat: &mut Platform<'_>) {
        self.split_at(start, plat);
        self.split_at(end, plat);
        let mut shootdown = pages::Shootdown::new();
        while let Some((&k, _)) = self.vmas.range(start..end).next() {
            if let Some(v) = self.vmas.remove(&k) {
                self.unmap_pages(v.start, v.end, &mut shootdown, plat);
                shootdown.finish(plat);
                retire(v, plat);
            }
        }
        shootdown.finish(plat);
    }

    /// A fresh shared anonymous object of `len` bytes.
    fn new_shared_anon(&mut self, len: u64) -> Arc<SharedAnon> {
        let inode = self.next_shmem_inode;
        self.next_shmem_inode += 1;
        Arc::new(SharedAnon::new(len, inode))
    }

    /// Removes every mapping and releases every frame (for exec); the page table stays.
    pub fn unmap_all(&mut self, plat: &mut Platform<'_>) {
        let mut shootdown = pages::Shootdown::new();
        while let Some((_, v)) = self.vmas.pop_first() {
            self.unmap_pages(v.start, v.end, &mut shootdown, plat);
            shootdown.finish(plat);
            retire(v, plat);
        }
        self.brk_start = 0;
        self.brk = 0;
        self.def_flags = VmaFlags::empty();
    }

    /// Destroys the address space: unmaps everything, releases every frame and every
    /// intermediate page table, and hands the page table back (its root is the embedder's).
    ///
    /// Dropping an `AddressSpace` instead leaks its frames.
    pub fn teardown(mut self, plat: &mut Platform<'_>) -> P {
        self.unmap_all(plat);
        self.page_table.release_tables(plat.frames);
        self.page_table
    }
}

/// Drops a VMA that left the address space; the last mapping of a shared anonymous object
/// releases the object's frames.
fn retire(vma: Vma, plat: &mut Platform<'_>) {
    if let Backing::Shared(s) = vma.backing
        && let SharedObject::Anonymous(obj) = s.object
        && let Some(obj) = Arc::into_inner(obj)
    {
        obj.release_all(plat.frames);
    }
}

/// The start of the page containing `addr`.
fn page_of(addr: u64) -> Page {
    Page::containing_address(VirtAddr::new(page_floor(addr)))
}

const _: () = assert!(USER_TOP % PAGE_SIZE_U64 == 0);
