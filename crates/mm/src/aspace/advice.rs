//! madvise(2): advice about a range, some of which changes what the range holds.
//!
//! Follows Linux 6.18 (`mm/madvise.c`: `do_madvise`, `madvise_walk_vmas`,
//! `madvise_vma_behavior`), checked against a real kernel:
//!
//! - `EINVAL` first for an unknown advice (even with length 0), then for an unaligned start or
//!   a length that wraps; length 0 is a successful no-op.
//! - The advice is applied VMA by VMA. Unmapped holes in the range are skipped and reported as
//!   `ENOMEM` at the end; an error from a VMA stops the walk at once (earlier VMAs keep the
//!   advice).
//! - `MADV_DONTNEED` drops the pages (private anonymous memory reads back zeros, a private
//!   file mapping re-reads the file, a shared mapping sees the object again); refused on locked
//!   VMAs (`EINVAL`), unlike `MADV_DONTNEED_LOCKED`. `MADV_FREE` is `MADV_DONTNEED` done at
//!   once (Linux may drop lazily; either is allowed), only on private anonymous memory.
//!   `MADV_REMOVE` also frees a shared object's pages (`EINVAL` without one, `EACCES` when not
//!   writable-shared).
//! - Flag advice (`NORMAL`, `RANDOM`, `SEQUENTIAL`, `DONTFORK`, `DOFORK`, `WIPEONFORK`,
//!   `KEEPONFORK`, `DONTDUMP`, `DODUMP`, `HUGEPAGE`, `NOHUGEPAGE`) splits VMAs like Linux and
//!   shows in `/proc/self/smaps`; `DONTFORK` and `WIPEONFORK` act in
//!   [`fork_copy`](AddressSpace::fork_copy), `HUGEPAGE` enables 2 MiB pages under
//!   [`ThpMode::Madvise`](super::ThpMode).
//! - `MADV_POPULATE_READ`/`WRITE` fault the range in: `ENOMEM` for a hole, `EINVAL` when the
//!   protection forbids the access, `EFAULT` for `SIGBUS`.
//! - `WILLNEED`, `COLD`, `PAGEOUT`, `MERGEABLE`, `UNMERGEABLE`: accepted, nothing to do
//!   without swap or KSM (`COLD`/`PAGEOUT` refuse locked VMAs like Linux). `COLLAPSE`:
//!   `EINVAL` where no huge page can go, else accepted without collapsing. `HWPOISON` and
//!   `SOFT_OFFLINE` need `CAP_SYS_ADMIN` on Linux: `EPERM`.
//!
//! Not supported: guard regions (`MADV_GUARD_INSTALL`, 6.13), which answer `EINVAL` like an
//! older kernel.

use super::fault::{PopulateError, Touch};
use super::remap::page_align;
use super::{AddressSpace, FaultKind, Platform};
use crate::addr::{HUGE_PAGE_SIZE_U64, is_page_aligned};
use crate::paging::PageTable;
use crate::vma::{Vma, VmaFlags};
use linux_raw_sys::general as linux;
use oxv_abi::Errno;
use oxv_abi::linux::mm::is_known_advice;

impl<P: PageTable> AddressSpace<P> {
    /// madvise(2) on `[start, start + len)`.
    pub fn madvise(
        &mut self,
        start: u64,
        len: u64,
        advice: i32,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if !is_known_advice(advice) || !is_page_aligned(start) {
            return Err(Errno::EINVAL);
        }
        let aligned = page_align(len);
        if len != 0 && aligned == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.wrapping_add(aligned);
        if end < start {
            return Err(Errno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        let advice = advice as u32;
        match advice {
            linux::MADV_HWPOISON | linux::MADV_SOFT_OFFLINE => Err(Errno::EPERM),
            linux::MADV_POPULATE_READ | linux::MADV_POPULATE_WRITE => {
                let touch = if advice == linux::MADV_POPULATE_READ {
                    Touch::Read
                } else {
                    Touch::Write
                };
                self.populate_range(start, end, touch, plat)
                    .map_err(|e| match e {
                        PopulateError::Hole => Errno::ENOMEM,
                        PopulateError::Denied => Errno::EINVAL,
                        PopulateError::Fault(FaultKind::OutOfMemory) => Errno::ENOMEM,
                        PopulateError::Fault(_) => Errno::EFAULT,
                    })
            }
            _ => self.madvise_walk(start, end, advice, plat),
        }
    }

    /// `madvise_walk_vmas`: applies `advice` to each VMA piece of `[start, end)`.
    fn madvise_walk(
        &mut self,
        start: u64,
        end: u64,
        advice: u32,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        let mut unmapped = Ok(());
        let mut cursor = start;
        while cursor < end {
            let Some(v) = self.vma_from(cursor) else {
                return Err(Errno::ENOMEM);
            };
            if v.start > cursor {
                unmapped = Err(Errno::ENOMEM);
                cursor = v.start;
                if cursor >= end {
                    break;
                }
            }
            let piece_end = v.end.min(end);
            let vma = v.clone();
            self.advise_piece(cursor, piece_end, &vma, advice, plat)?;
            cursor = piece_end;
        }
        unmapped
    }

    /// `madvise_vma_behavior` for `[start, end)` inside `vma`.
    fn advise_piece(
        &mut self,
        start: u64,
        end: u64,
        vma: &Vma,
        advice: u32,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        let locked = vma.flags.contains(VmaFlags::LOCKED);
        let mut flags = vma.flags;
        match advice {
            linux::MADV_DONTNEED | linux::MADV_FREE if locked => return Err(Errno::EINVAL),
            linux::MADV_FREE if !vma.is_private_anonymous() => return Err(Errno::EINVAL),
            linux::MADV_DONTNEED | linux::MADV_FREE | linux::MADV_DONTNEED_LOCKED => {
                self.zap_range(start, end, plat);
                return Ok(());
            }
            linux::MADV_REMOVE => return self.remove_pages(start, end, vma, plat),
            linux::MADV_COLD | linux::MADV_PAGEOUT if locked => return Err(Errno::EINVAL),
            linux::MADV_COLLAPSE => {
                return if self.can_collapse(vma) {
                    Ok(())
                } else {
                    Err(Errno::EINVAL)
                };
            }
            linux::MADV_NORMAL => flags -= VmaFlags::RAND_READ | VmaFlags::SEQ_READ,
            linux::MADV_SEQUENTIAL => {
                flags = (flags - VmaFlags::RAND_READ) | VmaFlags::SEQ_READ;
            }
            linux::MADV_RANDOM => flags = (flags - VmaFlags::SEQ_READ) | VmaFlags::RAND_READ,
            linux::MADV_DONTFORK => flags |= VmaFlags::DONT_COPY,
            linux::MADV_DOFORK => flags -= VmaFlags::DONT_COPY,
            linux::MADV_WIPEONFORK if !vma.is_private_anonymous() => return Err(Errno::EINVAL),
            linux::MADV_WIPEONFORK => flags |= VmaFlags::WIPE_ON_FORK,
            linux::MADV_KEEPONFORK => flags -= VmaFlags::WIPE_ON_FORK,
            linux::MADV_DONTDUMP => flags |= VmaFlags::DONT_DUMP,
            linux::MADV_DODUMP if vma.flags.contains(VmaFlags::DONT_EXPAND) => {
                return Err(Errno::EINVAL);
            }
            linux::MADV_DODUMP => flags -= VmaFlags::DONT_DUMP,
            linux::MADV_HUGEPAGE => {
                flags = (flags - VmaFlags::NO_HUGEPAGE) | VmaFlags::HUGEPAGE;
            }
            linux::MADV_NOHUGEPAGE => {
                flags = (flags - VmaFlags::HUGEPAGE) | VmaFlags::NO_HUGEPAGE;
            }
            // WILLNEED (no readahead to start, nothing swapped out), COLD, PAGEOUT (no swap),
            // MERGEABLE, UNMERGEABLE (no KSM).
            _ => return Ok(()),
        }
        self.set_vma_flags(start, end, flags, plat);
        Ok(())
    }

    /// Gives `[start, end)` (inside one VMA) the flags `flags`, splitting and re-merging.
    pub(super) fn set_vma_flags(
        &mut self,
        start: u64,
        end: u64,
        flags: VmaFlags,
        plat: &mut Platform<'_>,
    ) {
        if self.find_vma(start).is_some_and(|v| v.flags == flags) {
            return;
        }
        self.split_at(start, plat);
        self.split_at(end, plat);
        if let Some(v) = self.vmas.get_mut(&start) {
            v.flags = flags;
        }
        self.merge_at(end);
        self.merge_at(start);
    }

    /// `MADV_REMOVE` (`madvise_remove`): drops the pages here and in the shared object.
    fn remove_pages(
        &mut self,
        start: u64,
        end: u64,
        vma: &Vma,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if vma.flags.contains(VmaFlags::LOCKED) {
            return Err(Errno::EINVAL);
        }
        let object = match (vma.shared(), vma.file()) {
            (Some(s), _) => s.object.clone(),
            (None, Some(_)) => return Err(Errno::EACCES),
            (None, None) => return Err(Errno::EINVAL),
        };
        if !vma.is_write_shared() {
            return Err(Errno::EACCES);
        }
        self.zap_range(start, end, plat);
        object
            .source()
            .punch_hole(vma.offset_of(start), end - start, plat.frames)
    }

    /// Whether `MADV_COLLAPSE` could put a huge page in `vma` (Linux's
    /// `thp_vma_allowable_order` for a forced collapse).
    fn can_collapse(&self, vma: &Vma) -> bool {
        let first = vma.start.next_multiple_of(HUGE_PAGE_SIZE_U64);
        self.page_table.supports_huge()
            && vma.is_private_anonymous()
            && !vma.flags.contains(VmaFlags::NO_HUGEPAGE)
            && first
                .checked_add(HUGE_PAGE_SIZE_U64)
                .is_some_and(|e| e <= vma.end)
    }
}
