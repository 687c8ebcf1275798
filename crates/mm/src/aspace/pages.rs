//! Page-table work under the VMAs: walking mapped ranges, unmapping (with batched TLB
//! shootdowns), re-protecting, bringing pages in, breaking copy-on-write, moving entries for
//! mremap, and 2 MiB pages.
//!
//! Huge pages follow Linux's transparent huge pages for anonymous memory: a fault in a
//! private anonymous VMA that holds the whole aligned 2 MiB range around it (and that
//! [`ThpMode`](super::ThpMode) allows) maps one 2 MiB page. Anything that needs 4 KiB
//! granularity inside it (a VMA boundary, a partial munmap, mprotect or `MADV_DONTNEED`, a
//! copy-on-write fault on a shared one, an mremap to a differently aligned address) first
//! splits it into 512 entries over the same frames: the block's frames get their own
//! reference counts ([`FrameSource::split_huge`]) and the entry becomes a table
//! ([`PageTable::split_huge`]), nothing is copied.

use super::{AddressSpace, FaultKind, Platform};
use crate::addr::{
    HUGE_PAGE_PAGES, HUGE_PAGE_SIZE_U64, HugeFrame, HugePage, PAGE_SIZE, PAGE_SIZE_U64, Page,
    PhysFrame, VirtAddr,
};
use crate::paging::{Flush, FrameBytes, MapError, PageTable, PteFlags};
use crate::vma::{Backing, MapSource, Prot, Vma, VmaFlags};

/// The page-table permissions for a page of a VMA with `prot`.
pub fn pte_flags(prot: Prot) -> PteFlags {
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

/// A present translation found by a range walk.
#[derive(Copy, Clone, Debug)]
pub(super) enum Mapping {
    /// A 4 KiB entry.
    Small {
        page: Page,
        frame: PhysFrame,
        flags: PteFlags,
    },
    /// A 2 MiB entry.
    Huge {
        page: HugePage,
        block: HugeFrame,
        flags: PteFlags,
    },
}

/// What a pending shootdown will release.
#[derive(Copy, Clone, Debug)]
enum Released {
    Frame(PhysFrame),
    Huge(HugeFrame),
}

/// TLB invalidations owed for unmapped pages, and the frames that may only be released once
/// they are done (another CPU could still write through a stale entry).
pub(super) struct Shootdown {
    pending: [Option<(Released, Flush)>; Shootdown::BATCH],
    len: usize,
}

impl Shootdown {
    const BATCH: usize = 16;

    pub(super) fn new() -> Self {
        Shootdown {
            pending: [const { None }; Shootdown::BATCH],
            len: 0,
        }
    }

    fn push(&mut self, what: Released, flush: Flush, plat: &mut Platform<'_>) {
        if self.len == Self::BATCH {
            self.finish(plat);
        }
        self.pending[self.len] = Some((what, flush));
        self.len += 1;
    }

    /// Queues the release of one 4 KiB frame whose entry was just unmapped.
    pub(super) fn push_frame(&mut self, frame: PhysFrame, flush: Flush, plat: &mut Platform<'_>) {
        self.push(Released::Frame(frame), flush, plat);
    }

    pub(super) fn finish(&mut self, plat: &mut Platform<'_>) {
        for slot in &mut self.pending[..self.len] {
            if let Some((what, flush)) = slot.take() {
                flush.flush(plat.tlb);
                match what {
                    Released::Frame(f) => release_frame(plat, f),
                    Released::Huge(b) => release_huge(plat, b),
                }
            }
        }
        self.len = 0;
    }
}

/// Drops this address space's reference on `frame`.
pub(super) fn release_frame(plat: &mut Platform<'_>, frame: PhysFrame) {
    let released = plat.frames.release(frame);
    debug_assert!(
        released.is_ok(),
        "a mapped frame must hold a reference: {released:?}"
    );
}

/// Drops this address space's reference on a huge block.
pub(super) fn release_huge(plat: &mut Platform<'_>, block: HugeFrame) {
    let released = plat.frames.release_huge(block);
    debug_assert!(
        released.is_ok(),
        "a mapped huge block must hold a reference: {released:?}"
    );
}

fn page_at(addr: u64) -> Page {
    Page::containing_address(VirtAddr::new(addr))
}

/// `page` moved by `delta` bytes (wrapping: `delta` may encode a move down).
fn shifted(page: Page, delta: u64) -> Page {
    page_at(page.start_address().as_u64().wrapping_add(delta))
}

impl<P: PageTable> AddressSpace<P> {
    /// The first present translation at or above `from` and below `end`. A huge entry is
    /// returned whole, even when it starts below `from`.
    pub(super) fn next_mapping(&self, from: Page, end: Page) -> Option<Mapping> {
        let page = self.page_table.next_mapped(from, end)?;
        if let Some((hp, block, flags)) = self.page_table.translate_huge(page) {
            return Some(Mapping::Huge {
                page: hp,
                block,
                flags,
            });
        }
        let (frame, flags) = self.page_table.translate(page)?;
        Some(Mapping::Small { page, frame, flags })
    }

    /// Turns the huge entry at `page` into 4 KiB entries over the same frames.
    pub(super) fn split_huge_entry(
        &mut self,
        page: HugePage,
        block: HugeFrame,
        plat: &mut Platform<'_>,
    ) {
        let split = plat.frames.split_huge(block);
        debug_assert!(split.is_ok(), "a mapped huge block is allocated: {split:?}");
        if let Some(flush) = self.page_table.split_huge(page) {
            flush.flush(plat.tlb);
        }
    }

    /// Splits a huge entry that straddles `addr`, if any.
    pub(super) fn split_huge_across(&mut self, addr: u64, plat: &mut Platform<'_>) {
        if addr % HUGE_PAGE_SIZE_U64 == 0 {
            return;
        }
        if let Some((hp, block, _)) = self.page_table.translate_huge(page_at(addr)) {
            self.split_huge_entry(hp, block, plat);
        }
    }

    /// Unmaps every mapped page of `[start, end)`, queueing TLB flushes and frame releases; a
    /// huge page only partly inside is split first.
    pub(super) fn unmap_pages(
        &mut self,
        start: u64,
        end: u64,
        shootdown: &mut Shootdown,
        plat: &mut Platform<'_>,
    ) {
        let end_page = page_at(end);
        let mut cursor = page_at(start);
        while let Some(m) = self.next_mapping(cursor, end_page) {
            match m {
                Mapping::Small { page, .. } => {
                    if let Some((frame, flush)) = self.page_table.unmap(page) {
                        self.resident -= 1;
                        shootdown.push(Released::Frame(frame), flush, plat);
                    }
                    cursor = page.add(1);
                }
                Mapping::Huge { page, block, .. } => {
                    let inside = page.start_address().as_u64() >= start && page.end() <= end;
                    if !inside {
                        self.split_huge_entry(page, block, plat);
                        continue;
                    }
                    if let Some((block, flush)) = self.page_table.unmap_huge(page) {
                        self.resident -= HUGE_PAGE_PAGES;
                        shootdown.push(Released::Huge(block), flush, plat);
                    }
                    cursor = page_at(page.end());
                }
            }
        }
    }

    /// Unmaps every page of `[start, end)` now (MADV_DONTNEED); the VMAs stay.
    pub(super) fn zap_range(&mut self, start: u64, end: u64, plat: &mut Platform<'_>) {
        let mut shootdown = Shootdown::new();
        self.unmap_pages(start, end, &mut shootdown, plat);
        shootdown.finish(plat);
    }

    /// Rewrites the entries of mapped pages in `[start, end)` of `vma` after its protection
    /// changed.
    pub(super) fn reprotect_pages(
        &mut self,
        start: u64,
        end: u64,
        vma: &Vma,
        plat: &mut Platform<'_>,
    ) {
        let want = pte_flags(vma.prot);
        let private = !vma.flags.contains(VmaFlags::SHARED);
        let tracks = vma.tracks_writes();
        let end_page = page_at(end);
        let mut cursor = page_at(start);
        while let Some(m) = self.next_mapping(cursor, end_page) {
            match m {
                Mapping::Small { page, frame, flags } => {
                    let mut new = self.cow_adjusted(want, frame, !private, plat);
                    if tracks && !flags.contains(PteFlags::WRITABLE) {
                        new -= PteFlags::WRITABLE;
                    }
                    if new != flags
                        && let Some(flush) = self.page_table.protect(page, new)
                    {
                        flush.flush(plat.tlb);
                    }
                    cursor = page.add(1);
                }
                Mapping::Huge { page, block, flags } => {
                    let inside = page.start_address().as_u64() >= start && page.end() <= end;
                    if !inside {
                        self.split_huge_entry(page, block, plat);
                        continue;
                    }
                    let mut new = want;
                    if private && plat.frames.huge_ref_count(block) != Some(1) {
                        new -= PteFlags::WRITABLE;
                    }
                    if new != flags
                        && let Some(flush) = self.page_table.protect_huge(page, new)
                    {
                        flush.flush(plat.tlb);
                    }
                    cursor = page_at(page.end());
                }
            }
        }
    }

    /// `want`, minus `WRITABLE` when `frame` is shared copy-on-write with another mapping.
    pub(super) fn cow_adjusted(
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

    /// Brings in the page at `page` of `vma` for an `access`: a zeroed frame (or a whole
    /// zeroed huge page), a private copy of the object's bytes, or the shared object's own
    /// frame. Returns the frame now mapped at `page`.
    pub(super) fn populate(
        &mut self,
        page: Page,
        vma: &Vma,
        access: super::Access,
        plat: &mut Platform<'_>,
    ) -> Result<PhysFrame, FaultKind> {
        let want = pte_flags(vma.prot);
        let addr = page.start_address().as_u64();
        let (frame, flags) = match &vma.backing {
            Backing::Anonymous => {
                if let Some(frame) = self.try_map_huge(page, vma, plat) {
                    return Ok(frame);
                }
                let frame = plat.frames.allocate_frame().ok_or(FaultKind::OutOfMemory)?;
                plat.bytes.zero_frame(frame);
                (frame, want)
            }
            Backing::File(file) => {
                let offset = file.offset + (addr - vma.start);
                match file.source.page_cache() {
                    // A read maps the cache's own frame (the cache keeps its reference, so
                    // it stays shared, read-only here, until a write copies it in `unshare`).
                    Some(cache) if access != super::Access::Write => {
                        let frame = self.get_cached_page(cache, offset, plat)?;
                        (frame, want - PteFlags::WRITABLE)
                    }
                    _ => {
                        let frame = plat.frames.allocate_frame().ok_or(FaultKind::OutOfMemory)?;
                        if let Err(kind) =
                            fill_from_source(&*file.source, offset, frame, plat.bytes)
                        {
                            release_frame(plat, frame);
                            return Err(kind);
                        }
                        // A clean copy stays read-only until written, so smaps can tell it
                        // apart.
                        let flags = if access == super::Access::Write {
                            want
                        } else {
                            want - PteFlags::WRITABLE
                        };
                        (frame, flags)
                    }
                }
            }
            Backing::Shared(shared) => {
                let offset = vma.offset_of(addr);
                let source = shared.object.source();
                let frame = self.get_cached_page(source, offset, plat)?;
                let mut flags = want;
                if vma.tracks_writes() {
                    if access == super::Access::Write {
                        if let Err(e) = source.page_mkwrite(offset) {
                            release_frame(plat, frame);
                            return Err(page_error_kind(e));
                        }
                    } else {
                        flags -= PteFlags::WRITABLE;
                    }
                }
                (frame, flags)
            }
        };
        match self.page_table.map(page, frame, flags, plat.frames) {
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
            Err(_) => {
                release_frame(plat, frame);
                Err(FaultKind::OutOfMemory)
            }
        }
    }

    /// Maps a zeroed 2 MiB page around `page` if `vma` and the configuration allow it and the
    /// machine can; returns the frame now mapped at `page`.
    fn try_map_huge(
        &mut self,
        page: Page,
        vma: &Vma,
        plat: &mut Platform<'_>,
    ) -> Option<PhysFrame> {
        if !self.huge_allowed(vma) {
            return None;
        }
        let hp = HugePage::containing(page);
        let (start, end) = (hp.start_address().as_u64(), hp.end());
        if start < vma.start || end > vma.end {
            return None;
        }
        if self
            .page_table
            .next_mapped(hp.first_page(), page_at(end))
            .is_some()
        {
            return None;
        }
        let block = plat.frames.allocate_huge()?;
        for i in 0..HUGE_PAGE_PAGES {
            plat.bytes.zero_frame(block.frame(i));
        }
        match self
            .page_table
            .map_huge(hp, block, pte_flags(vma.prot), plat.frames)
        {
            Ok(flush) => {
                flush.ignore();
                self.resident += HUGE_PAGE_PAGES;
                let index = (page.start_address().as_u64() - start) as usize / PAGE_SIZE;
                Some(block.frame(index))
            }
            Err(_) => {
                release_huge(plat, block);
                None
            }
        }
    }

    /// Whether faults in `vma` may map 2 MiB pages (Linux's `thp_vma_allowable_order`, with
    /// the page table's and the configuration's say).
    pub(super) fn huge_allowed(&self, vma: &Vma) -> bool {
        if !self.page_table.supports_huge()
            || !vma.is_private_anonymous()
            || vma
                .flags
                .intersects(VmaFlags::GROWS_DOWN | VmaFlags::NO_HUGEPAGE)
        {
            return false;
        }
        match self.config.thp {
            super::ThpMode::Never => false,
            super::ThpMode::Madvise => vma.flags.contains(VmaFlags::HUGEPAGE),
            super::ThpMode::Always => true,
        }
    }

    /// Gives `page` (mapped to `old`) a frame of its own, mapped with `flags`: `old` itself if
    /// no other mapping shares it, else a copy (breaking copy-on-write sharing).
    pub(super) fn unshare(
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

    /// Moves every entry of `[from, from + len)` to the same offset from `to`, keeping frames,
    /// flags and references (mremap: no copy). Huge pages move whole when `from` and `to` are
    /// congruent modulo 2 MiB, and are split otherwise. On failure (no frame for a table at
    /// the destination) everything is moved back and nothing changed.
    pub(super) fn move_pages(
        &mut self,
        from: u64,
        to: u64,
        len: u64,
        plat: &mut Platform<'_>,
    ) -> Result<(), FaultKind> {
        let delta = to.wrapping_sub(from);
        let congruent = delta % HUGE_PAGE_SIZE_U64 == 0;
        let end = page_at(from + len);
        let mut cursor = page_at(from);
        while let Some(m) = self.next_mapping(cursor, end) {
            let moved = match m {
                Mapping::Small { page, frame, flags } => {
                    if let Some((_, flush)) = self.page_table.unmap(page) {
                        flush.flush(plat.tlb);
                    }
                    let ok = self
                        .page_table
                        .map(shifted(page, delta), frame, flags, plat.frames)
                        .map(Flush::ignore);
                    if ok.is_err() {
                        let back = self.page_table.map(page, frame, flags, plat.frames);
                        debug_assert!(back.is_ok(), "tables stay after an unmap");
                        back.map(Flush::ignore).ok();
                    }
                    cursor = page.add(1);
                    ok
                }
                Mapping::Huge { page, block, flags } => {
                    let start = page.start_address().as_u64();
                    if !congruent || start < from || page.end() > from + len {
                        self.split_huge_entry(page, block, plat);
                        continue;
                    }
                    if let Some((_, flush)) = self.page_table.unmap_huge(page) {
                        flush.flush(plat.tlb);
                    }
                    let dest = HugePage::containing(shifted(page.first_page(), delta));
                    let ok = self
                        .page_table
                        .map_huge(dest, block, flags, plat.frames)
                        .map(Flush::ignore);
                    if ok.is_err() {
                        let back = self.page_table.map_huge(page, block, flags, plat.frames);
                        debug_assert!(back.is_ok(), "tables stay after an unmap");
                        back.map(Flush::ignore).ok();
                    }
                    cursor = page_at(page.end());
                    ok
                }
            };
            if moved.is_err() {
                let done = m_start(&m).max(from) - from;
                if done > 0 {
                    let undo = self.move_pages(to, from, done, plat);
                    debug_assert!(undo.is_ok(), "moving back into existing tables");
                }
                return Err(FaultKind::OutOfMemory);
            }
        }
        Ok(())
    }
}

fn m_start(m: &Mapping) -> u64 {
    match m {
        Mapping::Small { page, .. } => page.start_address().as_u64(),
        Mapping::Huge { page, .. } => page.start_address().as_u64(),
    }
}

/// The fault a shared object's refusal becomes.
pub(super) fn page_error_kind(e: crate::shared::PageError) -> FaultKind {
    match e {
        crate::shared::PageError::OutOfMemory => FaultKind::OutOfMemory,
        crate::shared::PageError::Beyond | crate::shared::PageError::Io => FaultKind::Bus,
    }
}

/// Fills `frame` with the page of `source` at `offset`; zero past the end of the object.
pub(super) fn fill_from_source(
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

const _: () = assert!(HUGE_PAGE_SIZE_U64 % PAGE_SIZE_U64 == 0);
