//! Taking clean file pages out of this address space when a file's page cache finds no
//! frame for a fault: the part of Linux's page reclaim that unmaps mapped file pages
//! (`try_to_unmap` over the file's mappings), limited to the address space that faults.
//!
//! A page cache can only drop a page no mapping holds. A process that maps a file larger
//! than RAM and reads all of it holds every page it touched; when the cache then finds no
//! frame, this address space (locked by the fault, so the one the kernel's reclaim cannot
//! reach) takes out entries that map a page the cache calls reclaimable (its own frame, and
//! clean: see [`SharedMapSource::reclaimable`]), in clock order over its file VMAs (a hand
//! that moves on from where the last pass stopped), with the TLB shootdown of munmap; the
//! fault then asks the cache again, which can now drop those pages. A later access to one
//! of them faults it in again from the file.
//!
//! Only read-only entries are taken: a writable one may be written without a fault, so its
//! page may be dirty whatever the cache believes. Entries of private copies (a page written
//! through a private mapping) are never the cache's frame, so they stay.
//!
//! Not here: taking pages out of *other* address spaces (the kernel's allocation-time
//! reclaim cannot lock them), and an accessed-bit second chance (the hand's rotation is
//! the only ageing).

use super::AddressSpace;
use super::FaultKind;
use super::pages::{Mapping, Shootdown, page_error_kind};
use crate::Platform;
use crate::addr::{PAGE_SIZE_U64, Page, PhysFrame, USER_TOP, VirtAddr};
use crate::paging::{PageTable, PteFlags};
use crate::shared::{PageError, SharedMapSource};
use crate::vma::{Backing, MapSource, SharedObject};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Entries taken out per fault that found no frame (256 KiB): enough for the cache to serve
/// the next faults of a sequential reader without coming back at once.
const RECLAIM_PAGES: usize = 64;

/// Entries looked at per page wanted, at most: a mapping whose pages cannot be taken (all
/// writable, or not clean) costs each fault a bounded walk, not one of all it maps.
const SCAN_PER_PAGE: usize = 16;

/// The object behind a file VMA whose pages can be reclaimed.
enum Cached {
    /// A private mapping of a file with a page cache (read faults map the cache's frames).
    Private(Arc<dyn MapSource>),
    /// A shared mapping of a file.
    Shared(Arc<dyn SharedMapSource>),
}

impl Cached {
    fn cache(&self) -> Option<&dyn SharedMapSource> {
        match self {
            Cached::Private(source) => source.page_cache(),
            Cached::Shared(source) => Some(&**source),
        }
    }
}

impl<P: PageTable> AddressSpace<P> {
    /// The frame of the cache page at `offset` (with a reference for the caller's entry);
    /// when the cache finds no frame, clean file pages are taken out of this address space
    /// first and the cache asked once more.
    pub(super) fn get_cached_page(
        &mut self,
        cache: &dyn SharedMapSource,
        offset: u64,
        plat: &mut Platform<'_>,
    ) -> Result<PhysFrame, FaultKind> {
        match cache.get_page(offset, plat.frames, plat.bytes) {
            Err(PageError::OutOfMemory) if self.unmap_clean_file_pages(RECLAIM_PAGES, plat) > 0 => {
                cache
                    .get_page(offset, plat.frames, plat.bytes)
                    .map_err(page_error_kind)
            }
            result => result.map_err(page_error_kind),
        }
    }

    /// Takes out up to `want` read-only entries that map a clean page-cache page, in clock
    /// order from the hand, which moves past the last page taken; returns how many. See the
    /// [module docs](self).
    pub(super) fn unmap_clean_file_pages(&mut self, want: usize, plat: &mut Platform<'_>) -> usize {
        if want == 0 {
            return 0;
        }
        let vmas: Vec<(u64, u64, u64, Cached)> = self
            .vmas
            .values()
            .filter_map(|v| {
                let cached = match &v.backing {
                    Backing::File(f) if f.source.page_cache().is_some() => {
                        Cached::Private(f.source.clone())
                    }
                    Backing::Shared(s) => match &s.object {
                        SharedObject::File(object) => Cached::Shared(object.clone()),
                        SharedObject::Anonymous(_) => return None,
                    },
                    _ => return None,
                };
                Some((v.start, v.end, v.offset_of(v.start), cached))
            })
            .collect();
        let hand = self.reclaim_hand;
        // From the hand to the top, then from the bottom up to the hand.
        let laps = [(hand, USER_TOP), (0, hand)];
        let mut taken = 0;
        let mut budget = want.saturating_mul(SCAN_PER_PAGE);
        let mut shootdown = Shootdown::new();
        'laps: for (from, to) in laps {
            for (start, end, offset0, cached) in &vmas {
                let (lo, hi) = ((*start).max(from), (*end).min(to));
                if lo >= hi {
                    continue;
                }
                let Some(cache) = cached.cache() else {
                    continue;
                };
                let end_page = page_at(hi);
                let mut cursor = page_at(lo);
                while let Some(m) = self.next_mapping(cursor, end_page) {
                    let Mapping::Small { page, frame, flags } = m else {
                        // File VMAs have no huge entries; skip one if it is there.
                        cursor = page_at(m_end(&m));
                        continue;
                    };
                    cursor = page.add(1);
                    let addr = page.start_address().as_u64();
                    budget -= 1;
                    if budget == 0 {
                        // Out of budget: the next search goes on from here.
                        self.reclaim_hand = addr;
                        break 'laps;
                    }
                    if flags.contains(PteFlags::WRITABLE)
                        || !cache.reclaimable(offset0 + (addr - start), frame)
                    {
                        continue;
                    }
                    if let Some((frame, flush)) = self.page_table.unmap(page) {
                        self.resident -= 1;
                        shootdown.push_frame(frame, flush, plat);
                        taken += 1;
                    }
                    if taken >= want {
                        self.reclaim_hand = addr + PAGE_SIZE_U64;
                        break 'laps;
                    }
                }
            }
        }
        shootdown.finish(plat);
        if taken < want && budget > 0 {
            // A whole turn: start the next one from the bottom.
            self.reclaim_hand = 0;
        }
        taken
    }
}

fn page_at(addr: u64) -> Page {
    Page::containing_address(VirtAddr::new(addr))
}

fn m_end(m: &Mapping) -> u64 {
    match m {
        Mapping::Small { page, .. } => page.start_address().as_u64() + PAGE_SIZE_U64,
        Mapping::Huge { page, .. } => page.end(),
    }
}
