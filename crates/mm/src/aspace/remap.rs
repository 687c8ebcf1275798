//! mremap(2): shrink, grow in place, or move a mapping, carrying its pages.
//!
//! Follows Linux 6.18 (`mm/mremap.c`: `do_mremap`, `check_mremap_params`, `check_prep_vma`,
//! `mremap_at`, `mremap_to`, `remap_move`, `move_vma`), including its error order, checked
//! against a real 6.18 kernel:
//!
//! 1. Lengths round up to pages (wrapping: a length near `u64::MAX` becomes 0).
//! 2. `EINVAL`: unknown flags, unaligned `old_address`, `new_size` 0 or above `TASK_SIZE`;
//!    with `MREMAP_FIXED` or `MREMAP_DONTUNMAP` also a `new_address` that is unaligned or too
//!    high, a missing `MREMAP_MAYMOVE`, a resize with `MREMAP_DONTUNMAP`, or overlapping
//!    ranges.
//! 3. `MREMAP_FIXED` without a resize moves every VMA in the old range (Linux 6.17+), keeping
//!    the gaps between them; the range must start inside a VMA (`EFAULT`).
//! 4. Otherwise `old_address` must lie in a VMA (`EFAULT`). Shrinking unmaps the tail (even
//!    across VMAs and holes); same size is a no-op; anything that maps new memory needs the
//!    old range inside that one VMA (`EFAULT`), and `old_size` 0 (duplicating a mapping) only
//!    works for shared mappings (`EINVAL`).
//! 5. Growing extends in place when the old range ends the VMA and the space above is free;
//!    otherwise it moves with `MREMAP_MAYMOVE` and fails with `ENOMEM` without.
//!
//! A move takes the page-table entries along (no copy, no change of reference counts) and the
//! old range is unmapped, or, with `MREMAP_DONTUNMAP`, left mapped but empty: private
//! anonymous pages read back as zeros, file pages as the file, shared pages as the object.
//! With `MREMAP_FIXED` the destination is unmapped first, after the source was validated.
//! Grown shared anonymous memory gets `SIGBUS` past the object's size, as on Linux. A locked
//! VMA that grows has its new pages populated.

use super::fault::Touch;
use super::{AddressSpace, Platform};
use crate::addr::{PAGE_SIZE_U64, USER_TOP, is_page_aligned};
use crate::paging::PageTable;
use crate::vma::VmaFlags;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

const MAYMOVE: u64 = linux::MREMAP_MAYMOVE as u64;
const FIXED: u64 = linux::MREMAP_FIXED as u64;
const DONTUNMAP: u64 = linux::MREMAP_DONTUNMAP as u64;

/// Linux's `PAGE_ALIGN`: rounds up, wrapping to 0 near the top.
pub(super) fn page_align(len: u64) -> u64 {
    len.wrapping_add(PAGE_SIZE_U64 - 1) & !(PAGE_SIZE_U64 - 1)
}

/// What a remap does to the size.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Resize {
    Same,
    Shrink,
    Expand,
}

impl<P: PageTable> AddressSpace<P> {
    /// mremap(2). Returns the mapping's (possibly new) address.
    pub fn mremap(
        &mut self,
        old_address: u64,
        old_size: u64,
        new_size: u64,
        flags: u64,
        new_address: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        let addr = old_address;
        let old_len = page_align(old_size);
        let new_len = page_align(new_size);
        // check_mremap_params
        if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0
            || !is_page_aligned(addr)
            || new_len == 0
            || new_len > USER_TOP
        {
            return Err(Errno::EINVAL);
        }
        let implies_new = flags & (FIXED | DONTUNMAP) != 0;
        if implies_new {
            let overlaps = addr.saturating_add(old_len) > new_address
                && new_address.saturating_add(new_len) > addr;
            if new_address > USER_TOP - new_len
                || !is_page_aligned(new_address)
                || flags & MAYMOVE == 0
                || (flags & DONTUNMAP != 0 && old_len != new_len)
                || overlaps
            {
                return Err(Errno::EINVAL);
            }
        }
        if flags & FIXED != 0 && old_len == new_len {
            return self.remap_move(addr, old_len, new_address, flags, plat);
        }

        let vma = self.find_vma(addr).ok_or(Errno::EFAULT)?;
        let resize = match old_len.cmp(&new_len) {
            core::cmp::Ordering::Equal => Resize::Same,
            core::cmp::Ordering::Greater => Resize::Shrink,
            core::cmp::Ordering::Less => Resize::Expand,
        };
        // check_prep_vma: only what maps new memory is checked further.
        if resize == Resize::Expand || implies_new {
            let shared = vma.flags.contains(VmaFlags::SHARED);
            if old_len == 0 && !shared {
                return Err(Errno::EINVAL);
            }
            if flags & DONTUNMAP != 0 && vma.flags.contains(VmaFlags::DONT_EXPAND) {
                return Err(Errno::EINVAL);
            }
            // A shrink may cross VMA boundaries: only the part that stays must fit.
            let kept = if resize == Resize::Shrink {
                new_len
            } else {
                old_len
            };
            if kept > vma.end - addr {
                return Err(Errno::EFAULT);
            }
            if resize == Resize::Expand {
                let pages = vma.offset_of(addr) / PAGE_SIZE_U64;
                if pages.checked_add(new_len / PAGE_SIZE_U64).is_none() {
                    return Err(Errno::EINVAL);
                }
                if vma.flags.contains(VmaFlags::DONT_EXPAND) {
                    return Err(Errno::EFAULT);
                }
            }
        }

        if implies_new {
            return self.remap_to(addr, old_len, new_len, new_address, flags, plat);
        }
        match resize {
            Resize::Same => Ok(addr),
            Resize::Shrink => {
                self.munmap(addr + new_len, old_len - new_len, plat)?;
                Ok(addr)
            }
            Resize::Expand => self.expand(addr, old_len, new_len, flags, plat),
        }
    }

    /// Grows `[addr, addr + old_len)` to `new_len`: in place if it ends its VMA and the space
    /// above is free, else by a move (with `MREMAP_MAYMOVE`).
    fn expand(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        let vma = self.find_vma(addr).ok_or(Errno::EFAULT)?;
        let (vma_start, vma_end) = (vma.start, vma.end);
        let delta = new_len - old_len;
        if vma.flags.contains(VmaFlags::ACCOUNT) {
            self.config.check_commit(delta)?;
        }
        if vma_end - addr == old_len
            && let Some(end) = vma_end.checked_add(delta)
            && end <= USER_TOP
            && !self.overlaps(vma_end, end)
        {
            if let Some(v) = self.vmas.get_mut(&vma_start) {
                v.end = end;
            }
            self.merge_at(end);
            self.populate_if_locked(vma_start, vma_end, end, plat);
            return Ok(addr);
        }
        if flags & MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let new_addr = self.remap_destination(addr, 0, new_len, flags)?;
        self.move_vma(addr, old_len, new_len, new_addr, flags, plat)
    }

    /// `mremap_to`: a move to `new_address` (`MREMAP_FIXED`) or to a free range near it
    /// (`MREMAP_DONTUNMAP`), shrinking first if asked to.
    fn remap_to(
        &mut self,
        addr: u64,
        mut old_len: u64,
        new_len: u64,
        new_address: u64,
        flags: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        if flags & FIXED != 0 {
            self.munmap(new_address, new_len, plat)?;
            if self.find_vma(addr).is_none() {
                return Err(Errno::EFAULT);
            }
        }
        if old_len > new_len {
            self.munmap(addr + new_len, old_len - new_len, plat)?;
            old_len = new_len;
        }
        let new_addr = self.remap_destination(addr, new_address, new_len, flags)?;
        self.move_vma(addr, old_len, new_len, new_addr, flags, plat)
    }

    /// Where a moving remap of the VMA at `addr` goes (Linux's `vrm_set_new_addr`).
    fn remap_destination(
        &self,
        addr: u64,
        hint: u64,
        new_len: u64,
        flags: u64,
    ) -> Result<u64, Errno> {
        let vma = self.find_vma(addr).ok_or(Errno::EFAULT)?;
        let mut map_flags = 0;
        if flags & FIXED != 0 {
            map_flags |= linux::MAP_FIXED;
        }
        let thp_align = vma.is_private_anonymous();
        self.unmapped_area(hint, new_len, map_flags, thp_align)
    }

    /// `remap_move`: moves every VMA in `[addr, addr + len)` to the same place relative to
    /// `new_address`, keeping the gaps between them (they are not unmapped at the destination).
    fn remap_move(
        &mut self,
        addr: u64,
        len: u64,
        new_address: u64,
        flags: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        let end = addr.saturating_add(len);
        let mut cursor = addr;
        let mut target = new_address;
        let mut last_end = None;
        let mut first = None;
        while cursor < end {
            let Some(v) = self.vma_from(cursor).filter(|v| v.start < end) else {
                break;
            };
            let (piece, piece_end) = (v.start.max(cursor), v.end.min(end));
            if last_end.is_none() && addr < v.start {
                return Err(Errno::EFAULT);
            }
            if flags & DONTUNMAP != 0 && v.flags.contains(VmaFlags::DONT_EXPAND) {
                return Err(Errno::EINVAL);
            }
            let gap = last_end.map_or(0, |e| piece - e);
            last_end = Some(piece_end);
            let piece_len = piece_end - piece;
            let dest = target + gap;
            let moved = self.remap_to(piece, piece_len, piece_len, dest, flags, plat)?;
            first.get_or_insert(moved);
            target = moved + piece_len;
            cursor = piece_end;
        }
        first.ok_or(Errno::EFAULT)
    }

    /// `move_vma`: moves `[addr, addr + old_len)` (inside one VMA) to a free range at
    /// `new_addr` of `new_len` bytes, taking its pages along.
    fn move_vma(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        new_addr: u64,
        flags: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        let vma = self.find_vma(addr).ok_or(Errno::EFAULT)?;
        let mut moved = vma.clone();
        moved.advance_offset(addr - vma.start);
        moved.start = new_addr;
        moved.end = new_addr + new_len;
        if old_len == 0 {
            // Duplicating a shared mapping: a second view of the same object.
            self.insert_vma(moved);
            return Ok(new_addr);
        }
        self.split_at(addr, plat);
        self.split_at(addr + old_len, plat);
        if self.move_pages(addr, new_addr, old_len, plat).is_err() {
            self.merge_range(addr, addr + old_len);
            return Err(Errno::ENOMEM);
        }
        let Some(mut old) = self.vmas.remove(&addr) else {
            return Err(Errno::EFAULT);
        };
        self.insert_vma(moved);
        if flags & DONTUNMAP != 0 {
            // Linux clears the lock on the emptied original.
            old.flags -= VmaFlags::LOCK_MASK;
            self.insert_vma(old);
        } else {
            super::retire(old, plat);
        }
        self.populate_if_locked(new_addr, new_addr + old_len, new_addr + new_len, plat);
        Ok(new_addr)
    }

    /// Populates `[from, to)`, grown out of a VMA starting at `vma_start`, if the VMA is
    /// locked (Linux's `populate_expand`, errors ignored).
    fn populate_if_locked(&mut self, vma_start: u64, from: u64, to: u64, plat: &mut Platform<'_>) {
        let locked = self
            .find_vma(vma_start)
            .is_some_and(|v| v.flags.contains(VmaFlags::LOCKED));
        if locked && from < to {
            let _ = self.populate_range(
                from,
                to,
                Touch::Populate {
                    ignore_errors: true,
                },
                plat,
            );
        }
    }
}
