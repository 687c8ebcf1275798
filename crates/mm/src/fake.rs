//! In-memory stand-ins for the hardware traits, for tests of oxv-mm and of its embedders.
//!
//! - [`FakePageTable`]: a [`PageTable`] kept in a map, which still allocates (and on teardown
//!   releases) one frame per intermediate table, as x86_64 4-level paging would, so frame
//!   accounting in tests is realistic. [`FakePageTable::with_huge`] also maps 2 MiB pages, and
//!   panics when oxv-mm breaks the huge-page rules of [`crate::paging`].
//! - [`FakeFrames`]: [`FrameBytes`] over boxed 4 KiB buffers. A frame never written reads as
//!   [`FakeFrames::POISON`], so code that forgets to zero a frame is caught.
//! - [`FakeTlb`]: records every flush.
//! - [`FakeMachine`]: all of the above plus a [`FrameAllocator`] over fake RAM, ready to lend a
//!   [`Platform`].
//! - [`FakePageCache`] and [`FakeFile`]: a file's page cache (a
//!   [`SharedMapSource`] over a byte vector standing for the
//!   disk) and an open file of it (a [`MapSource`]), for shared file mappings.

use crate::addr::{
    HUGE_PAGE_PAGES, HugeFrame, HugePage, PAGE_SIZE, PAGE_SIZE_U64, Page, PhysAddr, PhysFrame,
    page_floor,
};
use crate::aspace::Platform;
use crate::frame::{FrameAllocator, FrameMeta, FrameSource};
use crate::paging::{Flush, FrameBytes, MapError, PageTable, PteFlags, Tlb};
use crate::shared::{PageError, SharedMapSource};
use crate::vma::{MapIdentity, MapSource, SharedFile};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use oxv_abi::Errno;

/// A page table kept in a `BTreeMap`. See the [module docs](self).
#[derive(Debug, Default)]
pub struct FakePageTable {
    entries: BTreeMap<u64, (PhysFrame, PteFlags)>,
    /// 2 MiB entries by huge-page number (address / 2 MiB).
    huge: BTreeMap<u64, (HugeFrame, PteFlags)>,
    /// Intermediate tables by (level, index): level 1 covers 2 MiB, 2 covers 1 GiB, 3 covers
    /// 512 GiB, like x86_64's PT, PD and PDPT. A huge entry keeps its level-1 table as the
    /// reserve for a split.
    tables: BTreeMap<(u8, u64), PhysFrame>,
    huge_enabled: bool,
}

impl FakePageTable {
    /// An empty page table (4 KiB pages only).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty page table that also maps 2 MiB pages.
    pub fn with_huge() -> Self {
        FakePageTable {
            huge_enabled: true,
            ..Self::default()
        }
    }

    /// Every 4 KiB mapping, in address order.
    pub fn entries(&self) -> impl Iterator<Item = (Page, PhysFrame, PteFlags)> + '_ {
        self.entries
            .iter()
            .map(|(&n, &(f, fl))| (Page::from_number(n), f, fl))
    }

    /// Every 2 MiB mapping, in address order.
    pub fn huge_entries(&self) -> impl Iterator<Item = (HugePage, HugeFrame, PteFlags)> + '_ {
        self.huge.iter().map(|(&n, &(f, fl))| (huge_page(n), f, fl))
    }

    fn ensure_tables(&mut self, page: Page, frames: &mut dyn FrameSource) -> Result<(), MapError> {
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
        Ok(())
    }

    fn huge_at(&self, page: Page) -> Option<(HugeFrame, PteFlags)> {
        self.huge.get(&(page.number() >> 9)).copied()
    }

    #[track_caller]
    fn assert_not_huge(&self, page: Page) {
        assert!(
            self.huge_at(page).is_none(),
            "4 KiB operation on {page:?} inside a huge entry (split it first)"
        );
    }
}

fn huge_page(n: u64) -> HugePage {
    HugePage::containing(Page::from_number(n << 9))
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
        if let Some((block, _)) = self.huge_at(page) {
            return Err(MapError::AlreadyMapped(
                block.frame((page.number() % 512) as usize),
            ));
        }
        self.ensure_tables(page, frames)?;
        self.entries.insert(page.number(), (frame, flags));
        Ok(Flush::new(page))
    }

    fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)> {
        self.assert_not_huge(page);
        self.entries
            .remove(&page.number())
            .map(|(f, _)| (f, Flush::new(page)))
    }

    fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush> {
        self.assert_not_huge(page);
        let entry = self.entries.get_mut(&page.number())?;
        entry.1 = flags;
        Some(Flush::new(page))
    }

    fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)> {
        if let Some((block, flags)) = self.huge_at(page) {
            return Some((block.frame((page.number() % 512) as usize), flags));
        }
        self.entries.get(&page.number()).copied()
    }

    fn next_mapped(&self, start: Page, end: Page) -> Option<Page> {
        if start >= end {
            return None;
        }
        let small = self
            .entries
            .range(start.number()..end.number())
            .next()
            .map(|(&n, _)| n);
        let huge = self
            .huge
            .range(start.number() >> 9..=(end.number() - 1) >> 9)
            .next()
            .map(|(&n, _)| (n << 9).max(start.number()));
        match (small, huge) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(Page::from_number)
    }

    fn release_tables(&mut self, frames: &mut dyn FrameSource) {
        assert!(
            self.entries.is_empty() && self.huge.is_empty(),
            "release_tables with pages still mapped"
        );
        for (_, table) in core::mem::take(&mut self.tables) {
            let released = frames.release(table);
            debug_assert!(
                released.is_ok(),
                "page-table frame not allocated: {released:?}"
            );
        }
    }

    fn table_frames(&self) -> usize {
        self.tables.len()
    }

    fn supports_huge(&self) -> bool {
        self.huge_enabled
    }

    fn map_huge(
        &mut self,
        page: HugePage,
        frame: HugeFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        if !self.huge_enabled {
            return Err(MapError::Unsupported);
        }
        let first = page.first_page();
        if let Some((block, _)) = self.huge_at(first) {
            return Err(MapError::AlreadyMapped(block.frame(0)));
        }
        let n = first.number();
        if let Some((_, &(f, _))) = self.entries.range(n..n + HUGE_PAGE_PAGES as u64).next() {
            return Err(MapError::AlreadyMapped(f));
        }
        // Levels 3 and 2 hold the entry; level 1 is the split reserve.
        self.ensure_tables(first, frames)?;
        self.huge.insert(n >> 9, (frame, flags));
        Ok(Flush::new(first))
    }

    fn translate_huge(&self, page: Page) -> Option<(HugePage, HugeFrame, PteFlags)> {
        self.huge_at(page)
            .map(|(f, fl)| (HugePage::containing(page), f, fl))
    }

    fn unmap_huge(&mut self, page: HugePage) -> Option<(HugeFrame, Flush)> {
        let first = page.first_page();
        self.huge
            .remove(&(first.number() >> 9))
            .map(|(f, _)| (f, Flush::new(first)))
    }

    fn protect_huge(&mut self, page: HugePage, flags: PteFlags) -> Option<Flush> {
        let first = page.first_page();
        let entry = self.huge.get_mut(&(first.number() >> 9))?;
        entry.1 = flags;
        Some(Flush::new(first))
    }

    fn split_huge(&mut self, page: HugePage) -> Option<Flush> {
        let first = page.first_page();
        let (block, flags) = self.huge.remove(&(first.number() >> 9))?;
        assert!(
            self.tables.contains_key(&(1, first.number() >> 9)),
            "the split reserve exists"
        );
        for i in 0..HUGE_PAGE_PAGES {
            self.entries
                .insert(first.number() + i as u64, (block.frame(i), flags));
        }
        Some(Flush::new(first))
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

/// A file's page cache over a byte vector that stands for the disk. See the
/// [module docs](self).
///
/// Pages come into the cache on first `get_page` (the cache holds one reference on each);
/// [`sync`](SharedMapSource::sync) writes dirty pages back to the vector; [`write`](Self::write)
/// and [`read`](Self::read) are read(2) and write(2) through the cache, as a VFS would do them.
pub struct FakePageCache {
    disk: spin::Mutex<Vec<u8>>,
    cache: spin::Mutex<BTreeMap<u64, PhysFrame>>,
    dirty: spin::Mutex<BTreeSet<u64>>,
    syncs: spin::Mutex<Vec<(u64, u64)>>,
    identity: MapIdentity,
}

impl core::fmt::Debug for FakePageCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FakePageCache")
            .field("len", &self.disk.lock().len())
            .field("cached", &self.cache.lock().len())
            .finish()
    }
}

impl FakePageCache {
    /// A file holding `contents`, shown in `/proc/self/maps` as `identity`.
    pub fn new(contents: Vec<u8>, identity: MapIdentity) -> Arc<Self> {
        Arc::new(FakePageCache {
            disk: spin::Mutex::new(contents),
            cache: spin::Mutex::new(BTreeMap::new()),
            dirty: spin::Mutex::new(BTreeSet::new()),
            syncs: spin::Mutex::new(Vec::new()),
            identity,
        })
    }

    /// What is on the "disk" (written back by `sync`).
    pub fn disk(&self) -> Vec<u8> {
        self.disk.lock().clone()
    }

    /// Offsets of the pages marked dirty by `page_mkwrite` and not synced since.
    pub fn dirty_pages(&self) -> Vec<u64> {
        self.dirty.lock().iter().copied().collect()
    }

    /// Every `sync(offset, len)` call so far.
    pub fn syncs(&self) -> Vec<(u64, u64)> {
        self.syncs.lock().clone()
    }

    /// How many pages are cached.
    pub fn cached_pages(&self) -> usize {
        self.cache.lock().len()
    }

    /// write(2) at `offset`: into cached pages, and to the disk.
    pub fn write(&self, offset: u64, data: &[u8], bytes: &dyn FrameBytes) {
        let mut disk = self.disk.lock();
        let end = offset as usize + data.len();
        if disk.len() < end {
            disk.resize(end, 0);
        }
        disk[offset as usize..end].copy_from_slice(data);
        let cache = self.cache.lock();
        for (i, b) in data.iter().enumerate() {
            let at = offset + i as u64;
            if let Some(&f) = cache.get(&page_floor(at)) {
                bytes.write(f, (at % PAGE_SIZE_U64) as usize, core::slice::from_ref(b));
            }
        }
    }

    /// read(2) of `len` bytes at `offset` through the cache (a short read at the end).
    pub fn read_bytes(&self, offset: u64, len: usize, bytes: &dyn FrameBytes) -> Vec<u8> {
        let size = self.disk.lock().len() as u64;
        let end = (offset + len as u64).min(size);
        let mut out = vec![0; end.saturating_sub(offset) as usize];
        for (i, o) in out.iter_mut().enumerate() {
            let _ = SharedMapSource::read(self, offset + i as u64, core::slice::from_mut(o), bytes);
        }
        out
    }

    /// Drops the cache's references (the file is closed and evicted), for tests that check
    /// that every frame comes back.
    pub fn evict_all(&self, frames: &mut dyn FrameSource) {
        for (_, f) in core::mem::take(&mut *self.cache.lock()) {
            let released = frames.release(f);
            debug_assert!(released.is_ok(), "a cached page is allocated: {released:?}");
        }
    }

    fn pages_len(&self) -> u64 {
        (self.disk.lock().len() as u64).next_multiple_of(PAGE_SIZE_U64)
    }
}

impl SharedMapSource for FakePageCache {
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        let page = page_floor(offset);
        if page >= self.pages_len() {
            return Err(PageError::Beyond);
        }
        let mut cache = self.cache.lock();
        let frame = match cache.get(&page) {
            Some(&f) => f,
            None => {
                let f = frames.allocate_frame().ok_or(PageError::OutOfMemory)?;
                bytes.zero_frame(f);
                let disk = self.disk.lock();
                let end = (page as usize + PAGE_SIZE).min(disk.len());
                bytes.write(f, 0, &disk[page as usize..end]);
                cache.insert(page, f);
                f
            }
        };
        frames.add_ref(frame).map_err(|_| PageError::OutOfMemory)?;
        Ok(frame)
    }

    fn page_mkwrite(&self, offset: u64) -> Result<(), PageError> {
        self.dirty.lock().insert(page_floor(offset));
        Ok(())
    }

    fn is_resident(&self, offset: u64) -> bool {
        self.cache.lock().contains_key(&page_floor(offset))
    }

    fn read(&self, offset: u64, buf: &mut [u8], bytes: &dyn FrameBytes) -> Result<(), PageError> {
        if page_floor(offset) >= self.pages_len() {
            return Err(PageError::Beyond);
        }
        if let Some(&f) = self.cache.lock().get(&page_floor(offset)) {
            bytes.read(f, (offset % PAGE_SIZE_U64) as usize, buf);
            return Ok(());
        }
        let disk = self.disk.lock();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = disk.get(offset as usize + i).copied().unwrap_or(0);
        }
        Ok(())
    }

    fn sync(&self, offset: u64, len: u64, bytes: &dyn FrameBytes) -> Result<(), Errno> {
        self.syncs.lock().push((offset, len));
        let cache = self.cache.lock();
        let mut dirty = self.dirty.lock();
        let mut disk = self.disk.lock();
        let pages: Vec<u64> = dirty.range(offset..offset + len).copied().collect();
        for page in pages {
            dirty.remove(&page);
            if let Some(&f) = cache.get(&page) {
                let mut buf = [0u8; PAGE_SIZE];
                bytes.read(f, 0, &mut buf);
                // Bytes past the end of the file stay in memory only, as on Linux.
                let end = (page as usize + PAGE_SIZE).min(disk.len());
                if (page as usize) < end {
                    disk[page as usize..end].copy_from_slice(&buf[..end - page as usize]);
                }
            }
        }
        Ok(())
    }

    fn punch_hole(&self, offset: u64, len: u64, frames: &mut dyn FrameSource) -> Result<(), Errno> {
        let mut cache = self.cache.lock();
        let pages: Vec<u64> = cache.range(offset..offset + len).map(|(&k, _)| k).collect();
        for page in pages {
            if let Some(f) = cache.remove(&page) {
                let released = frames.release(f);
                debug_assert!(released.is_ok(), "a cached page is allocated: {released:?}");
            }
        }
        let mut disk = self.disk.lock();
        let end = ((offset + len) as usize).min(disk.len());
        if (offset as usize) < end {
            disk[offset as usize..end].fill(0);
        }
        Ok(())
    }

    fn identity(&self) -> MapIdentity {
        self.identity.clone()
    }
}

/// An open file of a [`FakePageCache`], read-only or read-write: what the kernel passes to
/// mmap.
pub struct FakeFile {
    /// The file's page cache.
    pub cache: Arc<FakePageCache>,
    /// Opened for writing.
    pub writable: bool,
}

impl FakeFile {
    /// An open file of `cache`, as a [`MapSource`].
    pub fn open(cache: &Arc<FakePageCache>, writable: bool) -> Arc<dyn MapSource> {
        Arc::new(FakeFile {
            cache: cache.clone(),
            writable,
        })
    }
}

impl MapSource for FakeFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let disk = self.cache.disk.lock();
        let data = disk.get(offset as usize..).unwrap_or(&[]);
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }

    fn shared(&self) -> Option<SharedFile> {
        Some(SharedFile {
            object: self.cache.clone(),
            writable: self.writable,
        })
    }

    fn identity(&self) -> MapIdentity {
        self.cache.identity.clone()
    }

    fn is_cached(&self, offset: u64) -> bool {
        self.cache.is_resident(offset)
    }

    fn page_cache(&self) -> Option<&dyn SharedMapSource> {
        Some(&*self.cache)
    }
}
