//! The page cache of ext2 file data: frames holding the pages of a file that `MAP_SHARED`
//! mappings map, as Linux's `struct address_space` does for `fs/ext2`.
//!
//! ext2 keeps file data in the buffer cache ([`super::cache`]), in heap buffers of the block
//! size; a mapping needs whole pages in frames of the frame allocator. So a file that is
//! mapped shared gets a page cache on the side ([`FilePages`]): a page faulted in through a
//! mapping is read from the blocks into a frame from the embedder's [`FileMemory`] (the same
//! seam tmpfs keeps its data in), and from then on **the frame is the file's data for that
//! page**:
//!
//! - read(2) reads the blocks, then copies the resident frames over them;
//! - write(2) writes the blocks and the resident frames both (write-through), so a mapping
//!   sees it at once;
//! - a write through a mapping dirties the frame only. The first write to a page calls
//!   [`SharedMapSource::page_mkwrite`], which allocates the page's blocks (holes inside the
//!   file get their blocks then, so a full disk is a `SIGBUS` at the writing access, as with
//!   Linux's `block_page_mkwrite`) and marks the page dirty;
//! - every write-back of the file system ([`FsState::sync`]: fsync(2), sync(2), msync(2)'s
//!   `MS_SYNC`, unmount, cache pressure) first copies the dirty frames into their blocks, so
//!   they reach the disk in the data phase, before the metadata that points at them.
//!
//! A page stays dirty after a sync, because mappings may still write to it without
//! faulting; only msync(`MS_SYNC`), after which oxv-mm has write-protected the range in
//! every address space that maps it, marks it clean (and so does the write-back of pages no
//! mapping holds, below). Truncation zeroes the tail of the page the new size ends in and drops
//! the pages wholly past it (mappings that still hold those frames keep them, detached: the
//! kernel unmaps them, see `oxv_mm::AddressSpace::unmap_object_beyond`).
//!
//! The frames stay resident while the inode's node lives, except under memory pressure:
//! the kernel's reclaim ([`crate::shrink`], through [`super::Ext2`]'s `CacheShrinker`) and a
//! fault here that finds no frame release clean pages that no mapping holds. When the node
//! goes (no open file and no mapping), the dirty pages are copied into the blocks and the
//! frames released.
//!
//! Dirty pages no mapping holds are written back without a sync, so that a program that
//! writes a file larger than RAM through mappings (without msync or fsync) never runs the
//! machine out of memory ([`FsState::write_back_pages`]: copied into their blocks, then the
//! normal crash-safe write-back of the buffer cache, data before the metadata that points
//! at it, then marked clean):
//!
//! - every [`DIRTY_BATCH`] pages dirtied, the next fault writes back all the dirty,
//!   unmapped ones and leaves them resident and clean (Linux's `balance_dirty_pages`), so
//!   the kernel's reclaim, which runs inside allocations and so never waits for the disk,
//!   finds clean pages to drop;
//! - a fault that finds no frame, after dropping clean pages failed, writes back
//!   [`WRITEBACK_BATCH`] of them in clock order and releases their frames.
//!
//! Both run inside ext2's page faults, which hold the file system's lock and already sleep
//! on the disk; the writing needs heap (a page-sized copy, buffer-cache buffers), which may
//! grow from frames: the kernel's reclaim that such a growth may start skips this file
//! system (its lock is held), so write-back never re-enters itself. The kernel's reclaim
//! itself does not write back: it may run with spin locks held, where sleeping on the
//! disk could leave a CPU spinning on a lock its sleeping holder never releases.
//!
//! Locking: the page map has its own spin lock, taken inside the file system's lock and
//! never held across anything that sleeps. A page fault reaches here with its address space
//! locked and then takes the file system's lock, as private file mappings already do, so
//! read(2) and write(2) never hold the file system's lock while they touch user memory.

use super::Shared;
use super::fs::FsState;
use super::layout::RawInode;
use crate::shrink::{Need, ShrinkRequest, Shrunk};
use crate::tmpfs::FileMemory;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_mm::{FrameBytes, FrameSource, PAGE_SIZE, PageError, PhysFrame, SharedMapSource};
use spin::Mutex;

const PAGE: u64 = PAGE_SIZE as u64;

/// Pages a fault that found no frame frees from the page cache at once (256 KiB): enough
/// that the next faults of a sequential reader find frames without reclaiming again.
const RECLAIM_BATCH: usize = 64;

/// Pages written back, and under memory pressure released, per call of
/// [`FsState::write_back_pages`] from a fault that found no frame (128 KiB): fewer than the
/// frames the kernel keeps free of page cache, so the buffer-cache buffers the copies go
/// through can still come from the heap before the call gives frames back.
const WRITEBACK_BATCH: usize = 32;

/// Pages dirtied through mappings between two write-backs of the dirty pages no mapping
/// holds (1 MiB; see [`FsState::page_dirtied`]).
pub(super) const DIRTY_BATCH: usize = 256;

/// One resident page.
#[derive(Copy, Clone, Debug)]
struct Page {
    frame: PhysFrame,
    /// Written through a mapping since the last msync: the blocks may be stale.
    dirty: bool,
    /// Faulted in again since the last shrink pass looked at it (a second chance).
    referenced: bool,
}

/// The resident pages of one file. See the [module docs](self).
pub(crate) struct FilePages {
    memory: Arc<dyn FileMemory>,
    /// By page index.
    pages: Mutex<BTreeMap<u64, Page>>,
}

impl FilePages {
    fn new(memory: Arc<dyn FileMemory>) -> FilePages {
        FilePages {
            memory,
            pages: Mutex::new(BTreeMap::new()),
        }
    }

    fn bytes(&self) -> &dyn FrameBytes {
        self.memory.bytes()
    }

    /// Copies the resident pages' bytes of `[pos, pos + out.len())` into `out`.
    fn overlay(&self, pos: u64, out: &mut [u8]) {
        let end = pos + out.len() as u64;
        let pages = self.pages.lock();
        for (&index, page) in pages.range(pos / PAGE..end.div_ceil(PAGE)) {
            let from = (index * PAGE).max(pos);
            let to = ((index + 1) * PAGE).min(end);
            let dst = &mut out[(from - pos) as usize..(to - pos) as usize];
            self.bytes().read(page.frame, (from % PAGE) as usize, dst);
        }
    }

    /// Copies `data` into the resident pages covering `[pos, pos + data.len())`.
    fn write_through(&self, pos: u64, data: &[u8]) {
        let end = pos + data.len() as u64;
        let pages = self.pages.lock();
        for (&index, page) in pages.range(pos / PAGE..end.div_ceil(PAGE)) {
            let from = (index * PAGE).max(pos);
            let to = ((index + 1) * PAGE).min(end);
            let src = &data[(from - pos) as usize..(to - pos) as usize];
            self.bytes().write(page.frame, (from % PAGE) as usize, src);
        }
    }

    /// The file's size changes from `old` to `new`: the bytes of the page the smaller size
    /// ends in past it become zeros (they are past the end, or a hole after growth), and
    /// pages wholly past `new` are released.
    fn resize(&self, old: u64, new: u64) {
        let low = old.min(new);
        let dropped = {
            let mut pages = self.pages.lock();
            if low % PAGE != 0
                && let Some(page) = pages.get(&(low / PAGE))
            {
                let from = (low % PAGE) as usize;
                let zeros = [0u8; PAGE_SIZE];
                self.bytes().write(page.frame, from, &zeros[from..]);
            }
            pages.split_off(&new.div_ceil(PAGE))
        };
        for (_, page) in dropped {
            self.memory.release(page.frame);
        }
    }

    /// The dirty pages among `[first, end)` (by index) with a copy of their bytes, marking
    /// them clean if `clean`.
    fn take_dirty(&self, first: u64, end: u64, clean: bool) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pages = self.pages.lock();
        for (&index, page) in pages.range_mut(first..end) {
            if !page.dirty {
                continue;
            }
            let mut buf = alloc::vec![0u8; PAGE_SIZE];
            self.bytes().read(page.frame, 0, &mut buf);
            page.dirty = !clean;
            out.push((index, buf));
        }
        out
    }

    /// Marks pages dirty again after their write-back failed.
    fn redirty(&self, indexes: impl Iterator<Item = u64>) {
        let mut pages = self.pages.lock();
        for i in indexes {
            if let Some(p) = pages.get_mut(&i) {
                p.dirty = true;
            }
        }
    }

    /// Memory pressure: releases up to `want` clean pages that no mapping holds (reference
    /// count 1: the cache's own), skipping once a page used since the last pass (the clock
    /// algorithm's second chance); returns how many. Their blocks hold the same bytes (a
    /// clean page is one whose writes all went to the blocks too), so a later fault or
    /// read(2) finds them there. Skipped if the page map is locked; never allocates.
    fn shrink(&self, want: usize, frames: &dyn FrameSource) -> usize {
        let Some(mut pages) = self.pages.try_lock() else {
            return 0;
        };
        let mut freed = 0;
        // The first pass clears the marks it passes, the second takes those pages too.
        for _ in 0..2 {
            pages.retain(|_, page| {
                if freed >= want || page.dirty {
                    return true;
                }
                if page.referenced {
                    page.referenced = false;
                    return true;
                }
                if frames.ref_count(page.frame) != Some(1) {
                    return true;
                }
                self.memory.release(page.frame);
                freed += 1;
                false
            });
            if freed >= want {
                break;
            }
        }
        freed
    }

    /// Up to `want` indexes of dirty pages that no mapping holds, in clock order: a page
    /// faulted in again since the last pass has its mark cleared and is taken only by the
    /// second pass.
    fn pick_dirty_unmapped(&self, want: usize, frames: &dyn FrameSource) -> Vec<u64> {
        let mut out = Vec::new();
        let mut pages = self.pages.lock();
        for _ in 0..2 {
            for (&index, page) in pages.iter_mut() {
                if out.len() >= want {
                    return out;
                }
                if !page.dirty || out.contains(&index) {
                    continue;
                }
                if page.referenced {
                    page.referenced = false;
                    continue;
                }
                if frames.ref_count(page.frame) == Some(1) {
                    out.push(index);
                }
            }
        }
        out
    }

    /// Copies page `index` into `buf` and marks it clean, if it is resident and dirty.
    fn copy_and_clean(&self, index: u64, buf: &mut [u8]) -> bool {
        let mut pages = self.pages.lock();
        match pages.get_mut(&index) {
            Some(page) if page.dirty => {
                self.bytes().read(page.frame, 0, buf);
                page.dirty = false;
                true
            }
            _ => false,
        }
    }

    /// Releases the pages among `indexes` that are still clean and that no mapping holds;
    /// returns how many.
    fn release_clean_unmapped(&self, indexes: &[u64], frames: &dyn FrameSource) -> usize {
        let mut released = 0;
        let mut pages = self.pages.lock();
        for index in indexes {
            let Some(page) = pages.get(index) else {
                continue;
            };
            if page.dirty || frames.ref_count(page.frame) != Some(1) {
                continue;
            }
            self.memory.release(page.frame);
            pages.remove(index);
            released += 1;
        }
        released
    }

    /// Releases every frame (the file's node is gone).
    fn release_all(&self) {
        for (_, page) in core::mem::take(&mut *self.pages.lock()) {
            self.memory.release(page.frame);
        }
    }
}

impl FsState {
    /// Copies the resident pages of file `ino` over `out`, just read at `pos` from the blocks.
    pub(super) fn overlay_pages(&self, ino: u32, pos: u64, out: &mut [u8]) {
        if let Some(p) = self.page_caches.get(&ino) {
            p.overlay(pos, out);
        }
    }

    /// `data`, just written at `pos` of file `ino` whose size was `old_size`, reaches the
    /// resident pages too (and the gap between the old end and `pos` reads as zeros there).
    pub(super) fn write_through_pages(&self, ino: u32, old_size: u64, pos: u64, data: &[u8]) {
        if let Some(p) = self.page_caches.get(&ino) {
            if pos > old_size {
                p.resize(old_size, pos);
            }
            p.write_through(pos, data);
        }
    }

    /// File `ino` changes size from `old` to `new` (truncate(2)).
    pub(super) fn resize_pages(&self, ino: u32, old: u64, new: u64) {
        if let Some(p) = self.page_caches.get(&ino) {
            p.resize(old, new);
        }
    }

    /// Copies the dirty pages of every file into their blocks (before a write-back). Pages
    /// stay dirty: a mapping may still write to them without faulting.
    pub(super) fn store_all_pages(&mut self) -> Result<(), Errno> {
        let inos: Vec<u32> = self.page_caches.keys().copied().collect();
        let mut result = Ok(());
        for ino in inos {
            if let Err(e) = self.store_pages(ino, 0, u64::MAX, false) {
                result = result.and(Err(e));
            }
        }
        result
    }

    /// Copies the dirty pages of file `ino` in `[offset, offset + len)` into their blocks,
    /// allocating blocks for holes; marks them clean if `clean`. Only the part inside the
    /// file's size is stored.
    fn store_pages(&mut self, ino: u32, offset: u64, len: u64, clean: bool) -> Result<(), Errno> {
        let Some(pages) = self.page_caches.get(&ino).cloned() else {
            return Ok(());
        };
        let first = offset / PAGE;
        let end = offset.saturating_add(len).div_ceil(PAGE);
        let dirty = pages.take_dirty(first, end, clean);
        if dirty.is_empty() {
            return Ok(());
        }
        let mut raw = self.read_inode(ino)?;
        let size = raw.size(true);
        let mut failed = None;
        for (index, data) in &dirty {
            if let Err(e) = self.store_page(ino, &mut raw, size, *index, data) {
                failed = Some(e);
                break;
            }
        }
        self.write_inode(ino, &raw)?;
        match failed {
            Some(e) => {
                pages.redirty(dirty.iter().map(|(i, _)| *i));
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Copies `data`, the bytes of page `index` of file `ino` (whose inode is `raw`, of
    /// `size` bytes), into its blocks in the buffer cache, allocating blocks for holes; only
    /// the part inside the file is stored. The caller writes `raw` back.
    fn store_page(
        &mut self,
        ino: u32,
        raw: &mut RawInode,
        size: u64,
        index: u64,
        data: &[u8],
    ) -> Result<(), Errno> {
        let bs = self.geo.block_size as u64;
        let start = index * PAGE;
        let stop = (start + PAGE).min(size);
        let mut at = start;
        while at < stop {
            let off = (at % bs) as usize;
            let n = ((bs - at % bs).min(stop - at)) as usize;
            let (block, _) = self.map_alloc(ino, raw, at / bs)?;
            let buf = self.cache.modify(block as u64, super::cache::Phase::Data)?;
            let from = (at - start) as usize;
            buf[off..off + n].copy_from_slice(&data[from..from + n]);
            at += n as u64;
        }
        Ok(())
    }

    /// After every [`DIRTY_BATCH`] pages dirtied through mappings (counted by
    /// `page_mkwrite`), the dirty pages no mapping holds go to the disk and become clean
    /// (Linux's `balance_dirty_pages`), so that memory reclaim, which cannot wait for the
    /// disk, finds clean pages to drop. Called by faults, which may sleep on the disk.
    /// Errors are left for the next sync to report (the pages stay dirty).
    fn balance_dirty(&mut self, frames: &dyn FrameSource) {
        if self.pages_dirtied >= DIRTY_BATCH && !self.read_only {
            self.pages_dirtied = 0;
            while self.write_back_pages(WRITEBACK_BATCH, false, frames) == WRITEBACK_BATCH {}
        }
    }

    /// Writes up to `want` dirty pages that no mapping holds (reference count 1) to the disk
    /// through the normal write-back (their blocks in the data phase, then the metadata
    /// that points at them, with the device flushes of [`FsState::sync`]), in clock order
    /// over the files (a page used since the last pass is passed over once), and marks them
    /// clean; with `release`, their frames are released too (memory pressure). Returns how
    /// many pages were written. **Blocks** on the device and allocates (a page-sized copy,
    /// buffer-cache buffers): the callers are ext2's own paths that already do (a fault that
    /// found no frame, a writing fault), never the kernel's allocation-time reclaim.
    pub(super) fn write_back_pages(
        &mut self,
        want: usize,
        release: bool,
        frames: &dyn FrameSource,
    ) -> usize {
        let mut chosen: Vec<(u32, Arc<FilePages>, Vec<u64>)> = Vec::new();
        let mut found = 0;
        for (&ino, pages) in &self.page_caches {
            if found >= want {
                break;
            }
            let picked = pages.pick_dirty_unmapped(want - found, frames);
            if !picked.is_empty() {
                found += picked.len();
                chosen.push((ino, pages.clone(), picked));
            }
        }
        if found == 0 {
            return 0;
        }
        let Some(mut buf) = super::cache::zeroed(PAGE_SIZE) else {
            return 0;
        };
        let mut stored: Vec<(Arc<FilePages>, Vec<u64>)> = Vec::new();
        'files: for (ino, pages, indexes) in chosen {
            let Ok(mut raw) = self.read_inode(ino) else {
                continue;
            };
            let size = raw.size(true);
            let mut done = Vec::new();
            for index in indexes {
                // Copied and marked clean under the page map's lock: nothing can write the
                // page meanwhile (no mapping holds it, and write(2) needs this file
                // system's lock, which the caller holds).
                if !pages.copy_and_clean(index, &mut buf) {
                    continue;
                }
                if self.store_page(ino, &mut raw, size, index, &buf).is_err() {
                    pages.redirty(core::iter::once(index));
                    let _ = self.write_inode(ino, &raw);
                    stored.push((pages, done));
                    break 'files;
                }
                done.push(index);
            }
            if self.write_inode(ino, &raw).is_err() {
                pages.redirty(done.iter().copied());
                continue;
            }
            stored.push((pages, done));
        }
        if self.write_back_blocks().is_err() {
            // The data stays in the buffer cache (dirty there, so nothing is lost), but the
            // pages stay dirty too, to be retried with the next sync.
            for (pages, done) in &stored {
                pages.redirty(done.iter().copied());
            }
            return 0;
        }
        let mut written = 0;
        for (pages, done) in stored {
            written += done.len();
            if release {
                pages.release_clean_unmapped(&done, frames);
            }
        }
        written
    }

    /// Memory pressure: releases up to `want` clean, unmapped page-cache frames over all
    /// files (see [`FilePages::shrink`]); returns how many.
    pub(super) fn shrink_pages(&self, want: usize, frames: &dyn FrameSource) -> usize {
        let mut freed = 0;
        for pages in self.page_caches.values() {
            if freed >= want {
                break;
            }
            freed += pages.shrink(want - freed, frames);
        }
        freed
    }

    /// Memory pressure (see [`crate::shrink`]): for heap, clean buffers of the buffer cache
    /// go first (heap is what they are), then page-cache frames; for frames, only the page
    /// cache can help (the kernel heap keeps what it grew by).
    pub(super) fn shrink(&mut self, request: &ShrinkRequest<'_>) -> Shrunk {
        let mut done = Shrunk::default();
        if request.need == Need::Heap {
            done.heap_bytes = self.cache.shrink(request.pages * PAGE_SIZE);
        }
        let left = match request.need {
            Need::Frames => request.pages,
            Need::Heap => request.pages.saturating_sub(done.pages()),
        };
        if left > 0 {
            done.frames = self.shrink_pages(left, request.frames);
        }
        done
    }

    /// The node of file `ino` is gone: its dirty pages go to the blocks (unless the inode is
    /// unlinked and about to be freed) and its frames are released.
    pub(super) fn drop_page_cache(&mut self, ino: u32) {
        if !self.page_caches.contains_key(&ino) {
            return;
        }
        let linked = self
            .read_inode(ino)
            .is_ok_and(|raw| raw.i_links_count.get() != 0);
        if linked && !self.read_only {
            // A failure loses the mapped writes; nothing is left to report them to (Linux
            // marks the mapping with the error for a later fsync, which cannot come now).
            let _ = self.store_pages(ino, 0, u64::MAX, true);
        }
        if let Some(p) = self.page_caches.remove(&ino) {
            p.release_all();
        }
    }
}

/// Shared mappings' view of one ext2 file: its pages, through the file system. See the
/// [module docs](self).
pub(crate) struct MappedPages {
    pub(super) shared: Arc<Shared>,
    pub(super) ino: u32,
}

impl MappedPages {
    /// The file's size, `EIO` if its inode cannot be read.
    fn size(st: &mut FsState, ino: u32) -> Result<u64, PageError> {
        st.read_inode(ino)
            .map(|raw| raw.size(true))
            .map_err(|_| PageError::Io)
    }
}

impl SharedMapSource for MappedPages {
    /// The frame of the page at `offset`, read from the blocks (holes and the part past the
    /// end are zeros) if it is not resident. A page wholly past the end is
    /// [`PageError::Beyond`].
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        _bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        let index = offset / PAGE;
        let mut st = self.shared.lock();
        let size = Self::size(&mut st, self.ino)?;
        if index >= size.div_ceil(PAGE) {
            return Err(PageError::Beyond);
        }
        let memory = st.page_memory.clone().ok_or(PageError::Io)?;
        st.balance_dirty(&*frames);
        let pages = st
            .page_caches
            .entry(self.ino)
            .or_insert_with(|| Arc::new(FilePages::new(memory)))
            .clone();
        let resident = pages.pages.lock().get_mut(&index).map(|p| {
            p.referenced = true;
            p.frame
        });
        let frame = match resident {
            Some(f) => f,
            None => {
                let mut buf = super::cache::zeroed(PAGE_SIZE).ok_or(PageError::OutOfMemory)?;
                st.read_chunk_whole(self.ino, index * PAGE, &mut buf)
                    .map_err(|_| PageError::Io)?;
                // The kernel's reclaim skips this file system (its lock is held here): the
                // clean pages of its own files are given back from here instead.
                let f = match pages.memory.allocate() {
                    Some(f) => f,
                    None => {
                        if st.shrink_pages(RECLAIM_BATCH, &*frames) == 0 {
                            // Only dirty pages left to give: write some back and drop
                            // them (a fault may sleep on the disk; this one reads it).
                            st.write_back_pages(WRITEBACK_BATCH, true, &*frames);
                        }
                        pages.memory.allocate().ok_or(PageError::OutOfMemory)?
                    }
                };
                pages.bytes().write(f, 0, &buf);
                pages.pages.lock().insert(
                    index,
                    Page {
                        frame: f,
                        dirty: false,
                        referenced: false,
                    },
                );
                f
            }
        };
        frames.add_ref(frame).map_err(|_| PageError::OutOfMemory)?;
        Ok(frame)
    }

    /// Gives the page's part inside the file its blocks (`SIGBUS` when the disk is full or
    /// the mount read-only), updates mtime and ctime, and marks the page dirty.
    fn page_mkwrite(&self, offset: u64) -> Result<(), PageError> {
        let index = offset / PAGE;
        let mut st = self.shared.lock();
        st.check_writable().map_err(|_| PageError::Io)?;
        let mut raw = st.read_inode(self.ino).map_err(|_| PageError::Io)?;
        let size = raw.size(true);
        if index >= size.div_ceil(PAGE) {
            return Err(PageError::Beyond);
        }
        let bs = st.geo.block_size as u64;
        let (start, stop) = (index * PAGE, ((index + 1) * PAGE).min(size));
        let mut failed = false;
        for lblk in start / bs..stop.div_ceil(bs) {
            if st.map_alloc(self.ino, &mut raw, lblk).is_err() {
                failed = true;
                break;
            }
        }
        let now = crate::time::Timestamp::from_secs(st.last_time);
        st.touch(&mut raw, now);
        st.write_inode(self.ino, &raw).map_err(|_| PageError::Io)?;
        if failed {
            return Err(PageError::Io);
        }
        let newly_dirty = st.page_caches.get(&self.ino).is_some_and(|p| {
            p.pages
                .lock()
                .get_mut(&index)
                .is_some_and(|page| !core::mem::replace(&mut page.dirty, true))
        });
        if newly_dirty {
            st.pages_dirtied += 1;
        }
        Ok(())
    }

    /// A clean resident page whose frame is `frame`: its blocks hold the same bytes.
    fn reclaimable(&self, offset: u64, frame: PhysFrame) -> bool {
        let st = self.shared.state.lock();
        st.page_caches.get(&self.ino).is_some_and(|p| {
            p.pages
                .lock()
                .get(&(offset / PAGE))
                .is_some_and(|page| page.frame == frame && !page.dirty)
        })
    }

    fn is_resident(&self, offset: u64) -> bool {
        let st = self.shared.state.lock();
        st.page_caches
            .get(&self.ino)
            .is_some_and(|p| p.pages.lock().contains_key(&(offset / PAGE)))
    }

    fn read(&self, offset: u64, buf: &mut [u8], _bytes: &dyn FrameBytes) -> Result<(), PageError> {
        let mut st = self.shared.lock();
        let size = Self::size(&mut st, self.ino)?;
        if offset / PAGE >= size.div_ceil(PAGE) {
            return Err(PageError::Beyond);
        }
        // read_chunk overlays the resident page; past the end of the file are zeros.
        let n = st
            .read_chunk_whole(self.ino, offset, buf)
            .map_err(|_| PageError::Io)?;
        buf[n..].fill(0);
        Ok(())
    }

    /// msync(`MS_SYNC`): the dirty pages of the range go to their blocks and are marked clean
    /// (oxv-mm has write-protected the caller's entries), then the file system is synced.
    fn sync(&self, offset: u64, len: u64, _bytes: &dyn FrameBytes) -> Result<(), Errno> {
        let mut st = self.shared.lock();
        if st.read_only {
            return Ok(());
        }
        st.store_pages(self.ino, offset, len, true)?;
        st.sync()
    }
}
