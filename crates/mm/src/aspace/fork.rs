//! fork(2)'s copy of an address space: copy-on-write for private memory, sharing for shared.
//!
//! Follows Linux's `dup_mmap`/`copy_page_range`:
//!
//! - Every VMA is copied except those marked `MADV_DONTFORK`; the child's lose their mlock
//!   state, and `mlockall(MCL_FUTURE)` is not inherited (mlock(2): "Memory locks are not
//!   inherited by a child created via fork").
//! - A present private page (anonymous, or a private copy of a file page) is shared by both:
//!   its frame gains a reference and both entries lose `WRITABLE`, so the first write on
//!   either side copies it ([`AddressSpace::handle_fault`] breaks the share). A 2 MiB page is
//!   shared whole; a write to it splits it and copies one 4 KiB page, like Linux since 5.8.
//! - Shared mappings are copied without their page-table entries (Linux's `vma_needs_copy`):
//!   the child's faults take the pages from the same object, so `MAP_SHARED` memory stays
//!   shared, and smaps counts each page once per mapping that touched it, as on Linux.
//! - `MADV_WIPEONFORK` VMAs are copied empty: the child reads zeros.
//! - The parent's entries that lost `WRITABLE` are flushed from its TLB once, at the end.

use super::pages::Mapping;
use super::{AddressSpace, Platform};
use crate::addr::{HUGE_PAGE_PAGES, Page, VirtAddr};
use crate::paging::{Flush, PageTable, PteFlags};
use crate::vma::{Vma, VmaFlags};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use oxv_abi::Errno;

/// Why [`AddressSpace::fork_copy`] failed: out of memory (for the child's page tables, or a
/// reference count overflowed). The child's page table comes back, empty, for the kernel to
/// free; the parent is unchanged except that some of its private pages became copy-on-write.
pub struct ForkError<P> {
    /// The page table that was passed in, with every child mapping removed.
    pub page_table: P,
}

impl<P> fmt::Debug for ForkError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForkError")
    }
}

impl<P> fmt::Display for ForkError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of memory copying the address space")
    }
}

impl<P> core::error::Error for ForkError<P> {}

/// fork(2) fails with `ENOMEM`.
impl<P> From<ForkError<P>> for Errno {
    fn from(_: ForkError<P>) -> Errno {
        Errno::ENOMEM
    }
}

impl<P: PageTable> AddressSpace<P> {
    /// A copy-on-write duplicate of this address space over `child_page_table` (whose user
    /// half must be empty), for fork(2). See the [module docs](self).
    pub fn fork_copy(
        &mut self,
        child_page_table: P,
        plat: &mut Platform<'_>,
    ) -> Result<AddressSpace<P>, ForkError<P>> {
        let mut child = AddressSpace {
            page_table: child_page_table,
            vmas: BTreeMap::new(),
            config: self.config,
            brk_start: self.brk_start,
            brk: self.brk,
            resident: 0,
            def_flags: VmaFlags::empty(),
            next_shmem_inode: self.next_shmem_inode,
            reclaim_hand: 0,
        };
        let vmas: Vec<Vma> = self
            .vmas
            .values()
            .filter(|v| !v.flags.contains(VmaFlags::DONT_COPY))
            .cloned()
            .collect();
        let mut parent_changed = false;
        let mut result = Ok(());
        for vma in vmas {
            let mut copy = vma.clone();
            copy.flags -= VmaFlags::LOCK_MASK;
            child.insert_vma(copy);
            if vma.flags.contains(VmaFlags::WIPE_ON_FORK) {
                continue;
            }
            result = self.share_pages(&vma, &mut child, &mut parent_changed, plat);
            if result.is_err() {
                break;
            }
        }
        if parent_changed {
            plat.tlb.flush_all();
        }
        match result {
            Ok(()) => Ok(child),
            Err(()) => Err(ForkError {
                page_table: child.teardown(plat),
            }),
        }
    }

    /// Maps every present page of the private `vma` into `child` too, write-protecting them
    /// on both sides. Shared VMAs are left for the child to fault in.
    fn share_pages(
        &mut self,
        vma: &Vma,
        child: &mut AddressSpace<P>,
        parent_changed: &mut bool,
        plat: &mut Platform<'_>,
    ) -> Result<(), ()> {
        let private = !vma.flags.contains(VmaFlags::SHARED);
        if !private {
            return Ok(());
        }
        let end = Page::containing_address(VirtAddr::new(vma.end));
        let mut cursor = Page::containing_address(VirtAddr::new(vma.start));
        while let Some(m) = self.next_mapping(cursor, end) {
            match m {
                Mapping::Small { page, frame, flags } => {
                    plat.frames.add_ref(frame).map_err(|_| ())?;
                    let shared_flags = if private {
                        flags - PteFlags::WRITABLE
                    } else {
                        flags
                    };
                    if shared_flags != flags
                        && let Some(flush) = self.page_table.protect(page, shared_flags)
                    {
                        flush.ignore();
                        *parent_changed = true;
                    }
                    match child.page_table.map(page, frame, shared_flags, plat.frames) {
                        Ok(flush) => {
                            flush.ignore();
                            child.resident += 1;
                        }
                        Err(_) => {
                            super::pages::release_frame(plat, frame);
                            return Err(());
                        }
                    }
                    cursor = page.add(1);
                }
                Mapping::Huge { page, block, flags } => {
                    plat.frames.add_ref_huge(block).map_err(|_| ())?;
                    let shared_flags = if private {
                        flags - PteFlags::WRITABLE
                    } else {
                        flags
                    };
                    if shared_flags != flags
                        && let Some(flush) = self.page_table.protect_huge(page, shared_flags)
                    {
                        flush.ignore();
                        *parent_changed = true;
                    }
                    match child
                        .page_table
                        .map_huge(page, block, shared_flags, plat.frames)
                    {
                        Ok(flush) => {
                            Flush::ignore(flush);
                            child.resident += HUGE_PAGE_PAGES;
                        }
                        Err(_) => {
                            super::pages::release_huge(plat, block);
                            return Err(());
                        }
                    }
                    cursor = Page::containing_address(VirtAddr::new(page.end()));
                }
            }
        }
        Ok(())
    }
}
