//! Unmapping the pages of a shrunken object: the address-space half of truncate(2) on a
//! mapped file (see [`crate::shared::unmap_object_beyond`]).
//!
//! Linux's `truncate_pagecache` unmaps every page wholly past the new end of the file from
//! every mapping, shared ones and the private copies of private ones alike, and the next
//! access to one is a `SIGBUS` (mmap(2)). Here the VMAs stay; only their entries past the end
//! go, with munmap's TLB shootdown before their frames are released. The fault that follows
//! asks the object, which answers [`PageError::Beyond`](crate::PageError::Beyond).

use super::AddressSpace;
use super::pages::Shootdown;
use crate::Platform;
use crate::paging::PageTable;
use crate::vma::{Backing, Vma};
use alloc::vec::Vec;

impl<P: PageTable> AddressSpace<P> {
    /// Unmaps the pages that map object `object` (a
    /// [`SharedMapSource::object_id`](crate::SharedMapSource::object_id)) at offsets `from`
    /// (page aligned) and beyond, in shared mappings of it and in private mappings of a file
    /// whose page cache it is.
    pub fn unmap_object_beyond(&mut self, object: usize, from: u64, plat: &mut Platform<'_>) {
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .values()
            .filter_map(|v| object_range_beyond(v, object, from))
            .collect();
        if ranges.is_empty() {
            return;
        }
        let mut shootdown = Shootdown::new();
        for (start, end) in ranges {
            self.unmap_pages(start, end, &mut shootdown, plat);
        }
        shootdown.finish(plat);
    }
}

/// The part of `vma` that maps `object` at offsets `from` and beyond.
fn object_range_beyond(vma: &Vma, object: usize, from: u64) -> Option<(u64, u64)> {
    let (id, offset) = match &vma.backing {
        Backing::Shared(s) => (s.object.source().object_id(), vma.offset_of(vma.start)),
        Backing::File(f) => (f.source.page_cache()?.object_id(), f.offset),
        Backing::Anonymous => return None,
    };
    if id != object {
        return None;
    }
    let len = vma.end - vma.start;
    if from >= offset.saturating_add(len) {
        return None;
    }
    Some((vma.start + from.saturating_sub(offset), vma.end))
}
