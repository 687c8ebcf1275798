//! The hardware seam: page tables, the TLB, and byte access to frames.
//!
//! oxv-mm decides *what* is mapped where; the embedding kernel owns the x86_64 page-table
//! format, the TLB instructions and the direct map, and exposes them through three narrow
//! traits:
//!
//! - [`PageTable`]: map, unmap, re-protect and look up one 4 KiB user page. Shaped like the
//!   `x86_64` crate's `Mapper`: changes return a `#[must_use]` [`Flush`] token, so no caller
//!   forgets the TLB, and [`map`](PageTable::map) takes a [`FrameSource`] for the intermediate
//!   tables it may need.
//! - [`Tlb`]: invalidate one page or everything, on every CPU that may cache the entries.
//! - [`FrameBytes`]: zero, copy, read and write frames (through the direct map in a kernel;
//!   [`fake::FakeFrames`](crate::fake::FakeFrames) in tests).
//!
//! A page-table entry here is always "present" unless it carries [`PteFlags::NO_ACCESS`], the
//! PROT_NONE case, where the entry keeps its frame but must fault on every access (on x86_64:
//! clear the P bit and keep the address, as Linux does).
//!
//! # Huge pages
//!
//! 2 MiB entries are optional. A page table that can map them answers `true` from
//! [`PageTable::supports_huge`] and implements the `*_huge` methods (x86_64: a PD entry with
//! the PS bit); the defaults say "not supported", and oxv-mm then maps 4 KiB pages only. The
//! rules oxv-mm follows:
//!
//! - It maps a huge page only over a 2 MiB range with no 4 KiB entry, to the head of a
//!   2 MiB block from [`FrameSource::allocate_huge`].
//! - It never calls [`map`](PageTable::map), [`unmap`](PageTable::unmap) or
//!   [`protect`](PageTable::protect) on a 4 KiB page that a huge entry covers: it first calls
//!   [`split_huge`](PageTable::split_huge), which must then not fail. So
//!   [`map_huge`](PageTable::map_huge) reserves, from its `frames`, the page-table page the
//!   split will need (Linux's "deposited" page table).
//! - [`translate`](PageTable::translate) and [`next_mapped`](PageTable::next_mapped) see the
//!   4 KiB pages inside a huge entry (the frame of page `i` is the block's frame `i`, the flags
//!   are the entry's), so read paths need not know about huge entries.

use crate::addr::{HugeFrame, HugePage, Page, PhysFrame};
use crate::frame::FrameSource;
use core::fmt;

bitflags::bitflags! {
    /// Permissions of one user page-table entry.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
    pub struct PteFlags: u8 {
        /// Writes are allowed (x86_64 R/W).
        const WRITABLE = 1 << 0;
        /// Ring 3 may access the page (x86_64 U/S). Set on every page oxv-mm maps.
        const USER = 1 << 1;
        /// Instruction fetches fault (x86_64 XD/NX).
        const NO_EXECUTE = 1 << 2;
        /// The entry keeps its frame but every access faults (PROT_NONE). On x86_64: P clear,
        /// address kept, so a later [`PageTable::protect`] can make it present again.
        const NO_ACCESS = 1 << 3;
    }
}

/// Why [`PageTable::map`] failed. The page table is unchanged apart from intermediate tables
/// that may have been added.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MapError {
    /// An intermediate table was needed and the frame source was empty.
    FrameAllocationFailed,
    /// The page is already mapped (to the given frame; for a huge page, to the frame of the
    /// first mapped 4 KiB page found in its range).
    AlreadyMapped(PhysFrame),
    /// The page table cannot map huge pages (the default of [`PageTable::map_huge`]).
    Unsupported,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::FrameAllocationFailed => f.write_str("no frame for a page-table page"),
            MapError::AlreadyMapped(fr) => write!(f, "page already mapped to {fr:?}"),
            MapError::Unsupported => f.write_str("huge pages are not supported"),
        }
    }
}

impl core::error::Error for MapError {}

/// A page whose translation changed and may still be cached in a TLB.
///
/// Returned by [`PageTable`] changes. Call [`flush`](Flush::flush), or
/// [`ignore`](Flush::ignore) when no CPU can have cached the old entry (for instance a page
/// that was not present before).
#[derive(Debug)]
#[must_use = "page-table changes must be flushed from the TLB or explicitly ignored"]
pub struct Flush(Page);

impl Flush {
    /// A flush obligation for `page` (for [`PageTable`] implementations).
    pub const fn new(page: Page) -> Self {
        Flush(page)
    }

    /// The page whose entry changed.
    pub const fn page(&self) -> Page {
        self.0
    }

    /// Invalidates the page's TLB entries through `tlb`.
    pub fn flush(self, tlb: &dyn Tlb) {
        tlb.flush_page(self.0);
    }

    /// Drops the obligation without flushing.
    pub fn ignore(self) {}
}

/// The user half of one hardware page table, implemented by the embedder.
///
/// Implementations only touch the entries they are asked about. oxv-mm guarantees that it maps
/// only user pages (below [`USER_TOP`](crate::USER_TOP)), only frames it holds a reference on
/// from the same [`FrameSource`], and always with [`PteFlags::USER`]. The root table and the
/// kernel half belong to the embedder.
pub trait PageTable {
    /// Maps `page` to `frame` with `flags`, allocating intermediate tables from `frames` (at
    /// most three; they come with unspecified contents, so zero them). Must not replace an
    /// existing mapping.
    fn map(
        &mut self,
        page: Page,
        frame: PhysFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError>;

    /// Removes the mapping of `page`, returning the frame it mapped. Intermediate tables stay.
    fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)>;

    /// Replaces the flags of an existing mapping; `None` if `page` is not mapped.
    fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush>;

    /// The frame and flags `page` maps to, if any (including [`PteFlags::NO_ACCESS`] entries).
    fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)>;

    /// The first mapped page in `[start, end)`, if any.
    ///
    /// The default asks [`translate`](Self::translate) page by page; implementations should
    /// skip empty tables (one missing PD entry is 2 MiB with nothing mapped), since oxv-mm calls
    /// this to walk ranges that may be large and sparse (a 1 GiB PROT_NONE reservation).
    fn next_mapped(&self, start: Page, end: Page) -> Option<Page> {
        let mut p = start;
        while p < end {
            if self.translate(p).is_some() {
                return Some(p);
            }
            p = p.add(1);
        }
        None
    }

    /// Frees every intermediate table of the user half to `frames`. Called once, on
    /// [`AddressSpace::teardown`](crate::AddressSpace::teardown), after every page was
    /// unmapped and its TLB entries flushed.
    fn release_tables(&mut self, frames: &mut dyn FrameSource);

    /// How many frames the intermediate tables of the user half use (`PageTables` in
    /// `/proc/meminfo`). The default, 0, means "not counted".
    fn table_frames(&self) -> usize {
        0
    }

    /// Whether [`map_huge`](Self::map_huge) can work. The default is `false`: 4 KiB pages only.
    fn supports_huge(&self) -> bool {
        false
    }

    /// Maps the 2 MiB page `page` to `frame` with `flags`. Fails with
    /// [`MapError::AlreadyMapped`] if any 4 KiB page of the range is mapped. Takes from
    /// `frames` the intermediate tables, plus the table a later [`split_huge`](Self::split_huge)
    /// of this entry will need (kept until [`release_tables`](Self::release_tables) or reused).
    /// An empty 4 KiB table that covers the range may serve as that reserve.
    fn map_huge(
        &mut self,
        page: HugePage,
        frame: HugeFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        let _ = (page, frame, flags, frames);
        Err(MapError::Unsupported)
    }

    /// The huge entry that covers `page`, if one does: its page, block and flags.
    fn translate_huge(&self, page: Page) -> Option<(HugePage, HugeFrame, PteFlags)> {
        let _ = page;
        None
    }

    /// Removes the huge entry at `page`, returning its block. Tables (and the split reserve)
    /// stay, so mapping the range again needs no frame.
    fn unmap_huge(&mut self, page: HugePage) -> Option<(HugeFrame, Flush)> {
        let _ = page;
        None
    }

    /// Replaces the flags of the huge entry at `page`; `None` if there is none.
    fn protect_huge(&mut self, page: HugePage, flags: PteFlags) -> Option<Flush> {
        let _ = (page, flags);
        None
    }

    /// Replaces the huge entry at `page` with 512 4 KiB entries mapping the same frames with the
    /// same flags, using the table reserved by [`map_huge`](Self::map_huge): it cannot fail.
    /// `None` if there is no huge entry at `page`.
    fn split_huge(&mut self, page: HugePage) -> Option<Flush> {
        let _ = page;
        None
    }
}

/// TLB maintenance, implemented by the embedder.
///
/// When a method returns, no CPU that may run this address space can use the old
/// translation any more (a single-CPU kernel: `invlpg`; SMP: a shootdown). A kernel may make
/// these no-ops for an address space that is not loaded on any CPU.
pub trait Tlb {
    /// Invalidates the translation of one page.
    fn flush_page(&self, page: Page);
    /// Invalidates every user translation.
    fn flush_all(&self);
}

/// Byte access to physical frames, implemented by the embedder (through its direct map).
///
/// Callers in this crate always pass `offset + len <= PAGE_SIZE`; implementations may panic
/// otherwise. Frames passed are always allocated ones.
pub trait FrameBytes {
    /// Fills `frame` with zeros.
    fn zero_frame(&self, frame: PhysFrame);

    /// Copies all of `src` into `dst` (distinct frames).
    fn copy_frame(&self, dst: PhysFrame, src: PhysFrame);

    /// Reads `buf.len()` bytes starting `offset` bytes into `frame`.
    fn read(&self, frame: PhysFrame, offset: usize, buf: &mut [u8]);

    /// Writes `data` starting `offset` bytes into `frame`.
    fn write(&self, frame: PhysFrame, offset: usize, data: &[u8]);
}
