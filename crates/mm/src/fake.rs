//! In-memory stand-ins for the hardware traits, for tests of oxv-mm and of its embedders.
//!
//! - [`FakePageTable`]: a [`PageTable`] kept in a map, which still allocates (and on teardown
//!   releases) one frame per intermediate table, as x86_64 4-level paging would, so frame
//!   accounting in tests is realistic.
//! - [`FakeFrames`]: [`FrameBytes`] over boxed 4 KiB buffers. A frame never written reads as
//!   [`FakeFrames::POISON`], so code that forgets to zero a frame is caught.
//! - [`FakeTlb`]: records every flush.
//! - [`FakeMachine`]: all of the above plus a [`FrameAllocator`] over fake RAM, ready to lend a
//!   [`Platform`].

use crate::addr::{PAGE_SIZE, Page, PhysAddr, PhysFrame};
use crate::aspace::Platform;
use crate::frame::{FrameAllocator, FrameMeta, FrameSource};
use crate::paging::{Flush, FrameBytes, MapError, PageTable, PteFlags, Tlb};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// A page table kept in a `BTreeMap`. See the [module docs](self).
#[derive(Debug, Default)]
pub struct FakePageTable {
    entries: BTreeMap<u64, (PhysFrame, PteFlags)>,
    /// Intermediate tables by (level, index): level 1 covers 2 MiB, 2 covers 1 GiB, 3 covers
    /// 512 GiB, like x86_64's PT, PD and PDPT.
    tables: BTreeMap<(u8, u64), PhysFrame>,
}

impl FakePageTable {
    /// An empty page table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mapping, in address order.
    pub fn entries(&self) -> impl Iterator<Item = (Page, PhysFrame, PteFlags)> + '_ {
        self.entries
            .iter()
            .map(|(&n, &(f, fl))| (Page::from_number(n), f, fl))
    }

    /// How many frames intermediate tables hold.
    pub fn table_frames(&self) -> usize {
        self.tables.len()
    }
}

impl PageTable for FakePageTable {
    fn map(
        &mut self,
        page: Page,
        frame: PhysFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        if let Some(&(existing, _)) = self.entries.get(&page.number()) {
            return Err(MapError::AlreadyMapped(existing));
        }
        for level in (1..=3u8).rev() {
            let key = (level, page.number() >> (9 * u32::from(level)));
            if let alloc::collections::btree_map::Entry::Vacant(slot) = self.tables.entry(key) {
                slot.insert(
                    frames
                        .allocate_frame()
                        .ok_or(MapError::FrameAllocationFailed)?,
                );
            }
        }
        self.entries.insert(page.number(), (frame, flags));
        Ok(Flush::new(page))
    }

    fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)> {
        self.entries
            .remove(&page.number())
            .map(|(f, _)| (f, Flush::new(page)))
    }

    fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush> {
        let entry = self.entries.get_mut(&page.number())?;
        entry.1 = flags;
        Some(Flush::new(page))
    }

    fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)> {
        self.entries.get(&page.number()).copied()
    }

    fn next_mapped(&self, start: Page, end: Page) -> Option<Page> {
        if start >= end {
            return None;
        }
        self.entries
            .range(start.number()..end.number())
            .next()
            .map(|(&n, _)| Page::from_number(n))
    }

    fn release_tables(&mut self, frames: &mut dyn FrameSource) {
        for (_, table) in core::mem::take(&mut self.tables) {
            let released = frames.release(table);
            debug_assert!(
                released.is_ok(),
                "page-table frame not allocated: {released:?}"
            );
        }
    }
}

/// [`FrameBytes`] over boxed buffers. See the [module docs](self).
#[derive(Debug, Default)]
pub struct FakeFrames {
    frames: RefCell<BTreeMap<u64, Box<[u8; PAGE_SIZE]>>>,
}

impl FakeFrames {
    /// What a frame reads as before anything was written to it.
    pub const POISON: u8 = 0xa5;

    /// No frame written yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, frame: PhysFrame, f: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> R {
        let mut frames = self.frames.borrow_mut();
        let buf = frames
            .entry(frame.start_address().as_u64())
            .or_insert_with(|| Box::new([Self::POISON; PAGE_SIZE]));
        f(buf)
    }

    /// A copy of the frame's bytes.
    pub fn contents(&self, frame: PhysFrame) -> Vec<u8> {
        self.with(frame, |b| b.to_vec())
    }
}

impl FrameBytes for FakeFrames {
    fn zero_frame(&self, frame: PhysFrame) {
        self.with(frame, |b| b.fill(0));
    }

    fn copy_frame(&self, dst: PhysFrame, src: PhysFrame) {
        let data = self.with(src, |b| *b);
        self.with(dst, |b| *b = data);
    }

    fn read(&self, frame: PhysFrame, offset: usize, buf: &mut [u8]) {
        self.with(frame, |b| {
            buf.copy_from_slice(&b[offset..offset + buf.len()])
        });
    }

    fn write(&self, frame: PhysFrame, offset: usize, data: &[u8]) {
        self.with(frame, |b| {
            b[offset..offset + data.len()].copy_from_slice(data)
        });
    }
}

/// A [`Tlb`] that records flushes.
#[derive(Debug, Default)]
pub struct FakeTlb {
    pages: RefCell<Vec<Page>>,
    full: Cell<usize>,
}

impl FakeTlb {
    /// No flush recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pages flushed so far, in order; clears the record.
    pub fn take_flushed(&self) -> Vec<Page> {
        core::mem::take(&mut *self.pages.borrow_mut())
    }

    /// How many full flushes happened.
    pub fn full_flushes(&self) -> usize {
        self.full.get()
    }
}

impl Tlb for FakeTlb {
    fn flush_page(&self, page: Page) {
        self.pages.borrow_mut().push(page);
    }

    fn flush_all(&self) {
        self.full.set(self.full.get() + 1);
    }
}

/// Fake RAM with its allocator, bytes and TLB: everything a [`Platform`] needs.
///
/// The allocator's metadata is leaked (12 bytes per frame) so the allocator can be `'static`.
#[derive(Debug)]
pub struct FakeMachine {
    /// The frame allocator over the fake RAM.
    pub frames: FrameAllocator<'static>,
    /// The frames' contents.
    pub bytes: FakeFrames,
    /// The TLB.
    pub tlb: FakeTlb,
}

impl FakeMachine {
    /// Where the fake RAM starts (1 MiB, so that frame 0 is never handed out).
    pub const RAM_BASE: u64 = 0x10_0000;

    /// A machine with `frames` frames of RAM at [`RAM_BASE`](Self::RAM_BASE).
    pub fn new(frames: usize) -> Self {
        let meta: &'static mut [FrameMeta] =
            Box::leak(vec![FrameMeta::UNUSED; frames].into_boxed_slice());
        let base = PhysFrame::containing_address(PhysAddr::new(Self::RAM_BASE));
        let mut allocator = FrameAllocator::new(base, meta);
        let end = Self::RAM_BASE + (frames * PAGE_SIZE) as u64;
        let added = allocator.add_range(PhysAddr::new(Self::RAM_BASE)..PhysAddr::new(end));
        debug_assert_eq!(added, Ok(frames));
        FakeMachine {
            frames: allocator,
            bytes: FakeFrames::new(),
            tlb: FakeTlb::new(),
        }
    }

    /// The machine as a [`Platform`] for one operation.
    pub fn platform(&mut self) -> Platform<'_> {
        Platform {
            frames: &mut self.frames,
            bytes: &self.bytes,
            tlb: &self.tlb,
        }
    }
}
