//! msync(2): flushing shared file mappings to their files.
//!
//! Follows Linux 6.18 `mm/msync.c`: `EINVAL` for unknown flags, an unaligned start, or
//! `MS_ASYNC` with `MS_SYNC`; the length rounds up with wrapping arithmetic (`ENOMEM` if the
//! range then wraps, success if it became empty). Holes in the range are skipped and reported
//! as `ENOMEM` at the end, except that `MS_ASYNC` alone stops at the first hole. `MS_INVALIDATE`
//! on a locked VMA is `EBUSY`.
//!
//! Only `MS_SYNC` on a shared file mapping does anything: like Linux since 2.6.19, `MS_ASYNC`
//! has nothing to start (pages are marked dirty when first written), and private or anonymous
//! memory has no file to write. The writing itself may block, so [`AddressSpace::msync`] only
//! write-protects the pages (so later writes are noticed again) and returns a [`PendingSync`];
//! the kernel drops the address-space lock and calls [`PendingSync::finish`], as Linux drops
//! `mmap_lock` around `vfs_fsync_range`. `finish` first has every other address space that
//! maps the range shared write-protect it too (through the embedder's
//! [`ObjectUnmapper`](crate::shared::ObjectUnmapper), Linux's `page_mkclean` over the
//! file's mappings), so a write through any of them after the sync marks the page dirty
//! again.

use super::{AddressSpace, Platform, page_of, pages};
use crate::addr::{PAGE_SIZE_U64, is_page_aligned};
use crate::paging::{FrameBytes, PageTable, PteFlags};
use crate::shared::SharedMapSource;
use crate::vma::{SharedObject, VmaFlags};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

/// The writes an msync(2) still owes, to be done without the address-space lock.
#[must_use = "msync's file writes happen in PendingSync::finish"]
pub struct PendingSync {
    ranges: Vec<(Arc<dyn SharedMapSource>, u64, u64)>,
    then: Result<(), Errno>,
}

impl fmt::Debug for PendingSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSync")
            .field("ranges", &self.ranges.len())
            .field("then", &self.then)
            .finish()
    }
}

impl PendingSync {
    /// Writes the dirty pages of each range to its file, in address order, reading frames
    /// through `bytes`; the first error is msync's result, else the hole error (if any). May
    /// block.
    pub fn finish(self, bytes: &dyn FrameBytes) -> Result<(), Errno> {
        for (object, offset, len) in self.ranges {
            // The caller's entries were write-protected under its lock; other address
            // spaces' are now, before the pages are marked clean.
            crate::shared::write_protect_object(object.object_id(), offset, len);
            object.sync(offset, len, bytes)?;
        }
        self.then
    }

    /// How many file ranges are owed (for tests).
    pub fn ranges(&self) -> usize {
        self.ranges.len()
    }
}

impl<P: PageTable> AddressSpace<P> {
    /// msync(2) on `[start, start + len)`; the file writes happen in
    /// [`PendingSync::finish`].
    pub fn msync(
        &mut self,
        start: u64,
        len: u64,
        flags: i32,
        plat: &mut Platform<'_>,
    ) -> Result<PendingSync, Errno> {
        let flags = flags as u32;
        let (async_, sync, inval) = (linux::MS_ASYNC, linux::MS_SYNC, linux::MS_INVALIDATE);
        if flags & !(async_ | sync | inval) != 0
            || !is_page_aligned(start)
            || (flags & async_ != 0 && flags & sync != 0)
        {
            return Err(Errno::EINVAL);
        }
        let len = len.wrapping_add(PAGE_SIZE_U64 - 1) & !(PAGE_SIZE_U64 - 1);
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::ENOMEM);
        }
        let mut pending = PendingSync {
            ranges: Vec::new(),
            then: Ok(()),
        };
        let mut cursor = start;
        while cursor < end {
            let Some(v) = self.vma_from(cursor) else {
                pending.then = Err(Errno::ENOMEM);
                break;
            };
            if cursor < v.start {
                if flags == async_ {
                    return Err(Errno::ENOMEM);
                }
                pending.then = Err(Errno::ENOMEM);
                cursor = v.start;
                if cursor >= end {
                    break;
                }
            }
            if flags & inval != 0 && v.flags.contains(VmaFlags::LOCKED) {
                return Err(Errno::EBUSY);
            }
            let piece_end = v.end.min(end);
            if flags & sync != 0
                && v.is_write_shared()
                && let Some(s) = v.shared()
                && let SharedObject::File(object) = &s.object
            {
                let (object, offset) = (object.clone(), v.offset_of(cursor));
                self.clean_pages(cursor, piece_end, plat);
                pending.ranges.push((object, offset, piece_end - cursor));
            }
            cursor = piece_end;
        }
        Ok(pending)
    }

    /// Write-protects this address space's shared entries for object `object` (an
    /// [`object_id`](SharedMapSource::object_id)) at offsets `[offset, offset + len)`: what
    /// the embedder's [`ObjectUnmapper::write_protect`](crate::shared::ObjectUnmapper)
    /// calls for each address space when another one runs msync(`MS_SYNC`).
    pub fn write_protect_object(
        &mut self,
        object: usize,
        offset: u64,
        len: u64,
        plat: &mut Platform<'_>,
    ) {
        let end = offset.saturating_add(len);
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .values()
            .filter_map(|v| {
                let s = v.shared()?;
                let SharedObject::File(o) = &s.object else {
                    return None;
                };
                if o.object_id() != object {
                    return None;
                }
                let first = v.offset_of(v.start);
                let last = first.saturating_add(v.end - v.start);
                let (lo, hi) = (first.max(offset), last.min(end));
                (lo < hi).then(|| (v.start + (lo - first), v.start + (hi - first)))
            })
            .collect();
        for (start, end) in ranges {
            self.clean_pages(start, end, plat);
        }
    }

    /// Write-protects the present pages of `[start, end)`, so the next write to each calls
    /// `page_mkwrite` again (Linux's `page_mkclean`, for this address space).
    fn clean_pages(&mut self, start: u64, end: u64, plat: &mut Platform<'_>) {
        let end_page = page_of(end);
        let mut cursor = page_of(start);
        while let Some(m) = self.next_mapping(cursor, end_page) {
            match m {
                pages::Mapping::Small { page, flags, .. } => {
                    if flags.contains(PteFlags::WRITABLE)
                        && let Some(flush) =
                            self.page_table.protect(page, flags - PteFlags::WRITABLE)
                    {
                        flush.flush(plat.tlb);
                    }
                    cursor = page.add(1);
                }
                // Shared file pages are never huge; step over one if a page table has it.
                pages::Mapping::Huge { page, .. } => cursor = page_of(page.end()),
            }
        }
    }
}
