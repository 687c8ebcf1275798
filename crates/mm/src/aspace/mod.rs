//! The user half of one process: its VMAs, its page table, and Linux's memory syscalls.
//!
//! An [`AddressSpace`] owns a [`PageTable`] and a sorted map of [`Vma`]s (a `BTreeMap` keyed by
//! start address: O(log n) lookup). It implements, with Linux's semantics and error order:
//!
//! - mmap(2), munmap(2), mprotect(2) and brk(2) (the [`map`] module, [`MmapArgs`]);
//! - demand paging: [`AddressSpace::handle_fault`] fills a page on first touch, grows stacks
//!   down, breaks copy-on-write sharing, and says `SEGV_MAPERR` or `SEGV_ACCERR` otherwise;
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
//! carries that VMA's permissions (minus `WRITABLE` for a frame shared copy-on-write); every
//! mapped frame holds one reference for this mapping.

use crate::addr::{PAGE_SIZE, PAGE_SIZE_U64, Page, PhysFrame, USER_TOP, VirtAddr, page_floor};
use crate::frame::FrameSource;
use crate::paging::{Flush, FrameBytes, MapError, PageTable, PteFlags, Tlb};
use crate::vma::{MapSource, Prot, Vma, VmaFlags};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

mod fault;
pub mod map;
mod user;

pub use fault::{Access, FaultError, FaultKind};
pub use map::MmapArgs;
pub use user::UserAccess;

#[cfg(test)]
mod tests;

/// What the embedding kernel supplies to every operation that touches physical memory.
///
/// Borrowed for one call; build it from the kernel's shared services each time.
pub struct Platform<'a> {
    /// Frames for pages and page-table pages.
    pub frames: &'a mut dyn FrameSource,
    /// Byte access to frames.
    pub bytes: &'a dyn FrameBytes,
    /// TLB invalidation for this address space.
    pub tlb: &'a dyn Tlb,
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
}

impl AddressSpaceConfig {
    /// Linux's defaults, with mmaps placed below `mmap_base`.
    pub const fn new(mmap_base: u64) -> Self {
        AddressSpaceConfig {
            mmap_base,
            min_addr: 0x1_0000,
            stack_guard_gap: 256 * PAGE_SIZE_U64,
            stack_limit: 8 << 20,
        }
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

/// The page-table permissions for a page of a VMA with `prot`.
pub(crate) fn pte_flags(prot: Prot) -> PteFlags {
    if !prot.is_accessible() {
        return PteFlags::USER | PteFlags::NO_ACCESS | PteFlags::NO_EXECUTE;
    }
    let mut f = PteFlags::USER;
    if prot.contains(Prot::WRITE) {
        f |= PteFlags::WRITABLE;
    }
    if !prot.contains(Prot::EXEC) {
        f |= PteFlags::NO_EXECUTE;
    }
    f
}

/// TLB invalidations owed for unmapped pages, and the frames that may only be released once
/// they are done (another CPU could still write through a stale entry).
struct Shootdown {
    pending: [Option<(PhysFrame, Flush)>; Shootdown::BATCH],
    len: usize,
}

impl Shootdown {
    const BATCH: usize = 16;

    fn new() -> Self {
        Shootdown {
            pending: [const { None }; Shootdown::BATCH],
            len: 0,
        }
    }

    fn push(&mut self, frame: PhysFrame, flush: Flush, plat: &mut Platform<'_>) {
        if self.len == Self::BATCH {
            self.finish(plat);
        }
        self.pending[self.len] = Some((frame, flush));
        self.len += 1;
    }

    fn finish(&mut self, plat: &mut Platform<'_>) {
        for slot in &mut self.pending[..self.len] {
            if let Some((frame, flush)) = slot.take() {
                flush.flush(plat.tlb);
                release_frame(plat, frame);
            }
        }
        self.len = 0;
    }
}

/// Drops this address space's reference on `frame`.
fn release_frame(plat: &mut Platform<'_>, frame: PhysFrame) {
    let released = plat.frames.release(frame);
    debug_assert!(
        released.is_ok(),
        "a mapped frame must hold a reference: {released:?}"
    );
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

    /// How many pages are mapped in the page table (the resident set).
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

    /// Splits the VMA that strictly contains `at`, if any, so that a VMA boundary lies at `at`.
    fn split_at(&mut self, at: u64) {
        if let Some((_, v)) = self.vmas.range_mut(..at).next_back()
            && v.end > at
        {
            let upper = v.split_off(at);
            self.vmas.insert(at, upper);
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
        self.vmas.remove(&at);
        if let Some((_, prev)) = self.vmas.range_mut(..at).next_back() {
            prev.end = next_end;
        }
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
        self.split_at(start);
        self.split_at(end);
        let mut shootdown = Shootdown::new();
        while let Some((&k, _)) = self.vmas.range(start..end).next() {
            if let Some(v) = self.vmas.remove(&k) {
                self.unmap_pages(v.start, v.end, &mut shootdown, plat);
            }
        }
        shootdown.finish(plat);
    }

    /// Unmaps every mapped page of `[start, end)`, queueing TLB flushes and frame releases.
    fn unmap_pages(
        &mut self,
        start: u64,
        end: u64,
        shootdown: &mut Shootdown,
        plat: &mut Platform<'_>,
    ) {
        let end_page = Page::containing_address(VirtAddr::new(end));
        let mut cursor = Page::containing_address(VirtAddr::new(start));
        while let Some(page) = self.page_table.next_mapped(cursor, end_page) {
            if let Some((frame, flush)) = self.page_table.unmap(page) {
                self.resident -= 1;
                shootdown.push(frame, flush, plat);
            }
            cursor = page.add(1);
        }
    }

    /// Rewrites the entries of mapped pages in `[start, end)` for a VMA with `prot`.
    fn reprotect_pages(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
        plat: &mut Platform<'_>,
    ) {
        let want = pte_flags(prot);
        let end_page = Page::containing_address(VirtAddr::new(end));
        let mut cursor = Page::containing_address(VirtAddr::new(start));
        while let Some(page) = self.page_table.next_mapped(cursor, end_page) {
            if let Some((frame, old)) = self.page_table.translate(page) {
                let flags = self.cow_adjusted(want, frame, shared, plat);
                if flags != old
                    && let Some(flush) = self.page_table.protect(page, flags)
                {
                    flush.flush(plat.tlb);
                }
            }
            cursor = page.add(1);
        }
    }

    /// `want`, minus `WRITABLE` when `frame` is shared copy-on-write with another mapping.
    fn cow_adjusted(
        &self,
        want: PteFlags,
        frame: PhysFrame,
        shared: bool,
        plat: &Platform<'_>,
    ) -> PteFlags {
        if !shared && plat.frames.ref_count(frame).is_some_and(|n| n > 1) {
            want - PteFlags::WRITABLE
        } else {
            want
        }
    }

    /// Brings in the page at `page` of a VMA with `prot` (and, for a file mapping, `file` at
    /// the page's offset): a zeroed frame, or the object's bytes.
    fn populate(
        &mut self,
        page: Page,
        prot: Prot,
        file: Option<(Arc<dyn MapSource>, u64)>,
        plat: &mut Platform<'_>,
    ) -> Result<PhysFrame, FaultKind> {
        let frame = plat.frames.allocate_frame().ok_or(FaultKind::OutOfMemory)?;
        let filled = match &file {
            None => {
                plat.bytes.zero_frame(frame);
                Ok(())
            }
            Some((source, offset)) => fill_from_source(&**source, *offset, frame, plat.bytes),
        };
        if let Err(kind) = filled {
            release_frame(plat, frame);
            return Err(kind);
        }
        match self
            .page_table
            .map(page, frame, pte_flags(prot), plat.frames)
        {
            Ok(flush) => {
                // The entry was not present, so no TLB can hold it.
                flush.ignore();
                self.resident += 1;
                Ok(frame)
            }
            Err(MapError::AlreadyMapped(existing)) => {
                release_frame(plat, frame);
                Ok(existing)
            }
            Err(MapError::FrameAllocationFailed) => {
                release_frame(plat, frame);
                Err(FaultKind::OutOfMemory)
            }
        }
    }

    /// Gives `page` (mapped to `old`) a frame of its own, mapped with `flags`: `old` itself if
    /// no other mapping shares it, else a copy (breaking copy-on-write sharing).
    fn unshare(
        &mut self,
        page: Page,
        old: PhysFrame,
        flags: PteFlags,
        plat: &mut Platform<'_>,
    ) -> Result<PhysFrame, FaultKind> {
        if plat.frames.ref_count(old).is_none_or(|n| n <= 1) {
            if let Some(flush) = self.page_table.protect(page, flags) {
                flush.flush(plat.tlb);
            }
            return Ok(old);
        }
        let new = plat.frames.allocate_frame().ok_or(FaultKind::OutOfMemory)?;
        plat.bytes.copy_frame(new, old);
        if let Some((_, flush)) = self.page_table.unmap(page) {
            flush.flush(plat.tlb);
        }
        match self.page_table.map(page, new, flags, plat.frames) {
            Ok(flush) => {
                flush.ignore();
                release_frame(plat, old);
                Ok(new)
            }
            Err(_) => {
                // The tables for this page exist, so this is not expected; put the shared
                // frame back, read-only, rather than lose it.
                release_frame(plat, new);
                if let Ok(flush) =
                    self.page_table
                        .map(page, old, flags - PteFlags::WRITABLE, plat.frames)
                {
                    flush.ignore();
                } else {
                    self.resident -= 1;
                    release_frame(plat, old);
                }
                Err(FaultKind::OutOfMemory)
            }
        }
    }

    /// Removes every mapping and releases every frame (for exec); the page table stays.
    pub fn unmap_all(&mut self, plat: &mut Platform<'_>) {
        let mut shootdown = Shootdown::new();
        while let Some((_, v)) = self.vmas.pop_first() {
            self.unmap_pages(v.start, v.end, &mut shootdown, plat);
        }
        shootdown.finish(plat);
        self.brk_start = 0;
        self.brk = 0;
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

/// Fills `frame` with the page of `source` at `offset`; zero past the end of the object.
fn fill_from_source(
    source: &dyn MapSource,
    offset: u64,
    frame: PhysFrame,
    bytes: &dyn FrameBytes,
) -> Result<(), FaultKind> {
    bytes.zero_frame(frame);
    let mut chunk = [0u8; 512];
    let mut done = 0usize;
    while done < PAGE_SIZE {
        let n = source
            .read_at(offset + done as u64, &mut chunk)
            .map_err(|_| FaultKind::Bus)?;
        let n = n.min(chunk.len());
        if n == 0 {
            break;
        }
        bytes.write(frame, done, &chunk[..n]);
        done += n;
        if n < chunk.len() {
            break;
        }
    }
    // A page that lies wholly past the end of the object is SIGBUS (mmap(2), "SIGBUS").
    if done == 0 {
        Err(FaultKind::Bus)
    } else {
        Ok(())
    }
}

/// The start of the page containing `addr`.
fn page_of(addr: u64) -> Page {
    Page::containing_address(VirtAddr::new(page_floor(addr)))
}

const _: () = assert!(USER_TOP % PAGE_SIZE_U64 == 0);
