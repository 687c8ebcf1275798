//! mmap(2), munmap(2), mprotect(2) and brk(2), plus the kernel's own fixed mappings.
//!
//! Behaviour and error order follow Linux 6.x (`do_mmap`, `__get_unmapped_area`,
//! `do_vmi_munmap`, `do_mprotect_pkey`, `sys_brk`):
//!
//! - mmap: lengths round up to pages; a hint is used when the range is free, otherwise the
//!   mapping goes top-down below `mmap_base` (randomized by the kernel). `MAP_FIXED` replaces
//!   what was there; `MAP_FIXED_NOREPLACE` fails with `EEXIST` instead. As on Linux, unknown
//!   flags are ignored with `MAP_PRIVATE`/`MAP_SHARED` and rejected (`EOPNOTSUPP`) only with
//!   `MAP_SHARED_VALIDATE`. `MAP_POPULATE`/`MAP_LOCKED` prefault; `MAP_NORESERVE`, `MAP_STACK`,
//!   `MAP_DENYWRITE`, `MAP_EXECUTABLE`, `MAP_UNINITIALIZED` are accepted and change nothing;
//!   `MAP_32BIT` places the mapping in `[1 GiB, 2 GiB)`; `MAP_HUGETLB` fails with `ENOMEM` (no
//!   huge pages are reserved).
//! - Anonymous `MAP_SHARED` memory behaves as private until the address space can be forked:
//!   with a single process there is nobody to share with. Shared *file* mappings need a page
//!   cache and fail with `ENODEV` for now; private file mappings read each page from the
//!   [`MapSource`] into a private frame on first touch.
//! - munmap and mprotect work on any page range, splitting VMAs. mprotect fails with `ENOMEM`
//!   at the first unmapped page, after changing the pages before it, exactly like Linux.
//! - brk returns the new break, or the old one when it cannot move (brk(2): the raw syscall
//!   does not fail with an errno). The break is byte-granular; the mapping page-granular.
//!
//! There is no accounting limit (overcommit is always on) and no `max_map_count`.

use super::{AddressSpace, Platform};
use crate::addr::{PAGE_SIZE_U64, USER_TOP, is_page_aligned, page_ceil, page_floor};
use crate::paging::PageTable;
use crate::vma::{FileBacking, MapSource, Prot, Vma, VmaFlags, VmaKind};
use alloc::sync::Arc;
use core::fmt;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

/// The arguments of one mmap(2) call, as the app passed them (`prot` and `flags` raw).
#[derive(Clone)]
pub struct MmapArgs {
    /// The hint or, with `MAP_FIXED`, the address.
    pub addr: u64,
    /// The length in bytes (rounded up to pages).
    pub len: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` bits.
    pub flags: u32,
    /// The offset in the file (page aligned), ignored for anonymous mappings.
    pub offset: u64,
    /// For a file mapping (no `MAP_ANONYMOUS`): the object behind the fd, or `None` if it
    /// cannot be mapped (`ENODEV`). The kernel resolves the fd itself and returns `EBADF` for
    /// a bad one, after [`check_offset`] (Linux checks the offset first).
    pub file: Option<Arc<dyn MapSource>>,
}

impl fmt::Debug for MmapArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmapArgs")
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("len", &format_args!("{:#x}", self.len))
            .field("prot", &format_args!("{:#x}", self.prot))
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("offset", &format_args!("{:#x}", self.offset))
            .field("file", &self.file.is_some())
            .finish()
    }
}

impl MmapArgs {
    /// An anonymous mapping request (`MAP_ANONYMOUS` is added to `flags`).
    pub fn anonymous(addr: u64, len: u64, prot: u32, flags: u32) -> Self {
        MmapArgs {
            addr,
            len,
            prot,
            flags: flags | linux::MAP_ANONYMOUS,
            offset: 0,
            file: None,
        }
    }

    /// A file mapping request of `file` at `offset`.
    pub fn file(
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        file: Arc<dyn MapSource>,
        offset: u64,
    ) -> Self {
        MmapArgs {
            addr,
            len,
            prot,
            flags,
            offset,
            file: Some(file),
        }
    }
}

/// mmap's first check, before the fd is looked up: the offset must be page aligned.
pub fn check_offset(offset: u64) -> Result<(), Errno> {
    if is_page_aligned(offset) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Flags Linux honours for `MAP_SHARED_VALIDATE` (`LEGACY_MAP_MASK`, plus `MAP_SYNC` and
/// `MAP_FIXED_NOREPLACE`); any other bit fails with `EOPNOTSUPP`.
const VALIDATED_FLAGS: u32 = linux::MAP_SHARED
    | linux::MAP_PRIVATE
    | linux::MAP_FIXED
    | linux::MAP_ANONYMOUS
    | linux::MAP_DENYWRITE
    | linux::MAP_EXECUTABLE
    | linux::MAP_UNINITIALIZED
    | linux::MAP_GROWSDOWN
    | linux::MAP_LOCKED
    | linux::MAP_NORESERVE
    | linux::MAP_POPULATE
    | linux::MAP_NONBLOCK
    | linux::MAP_STACK
    | linux::MAP_HUGETLB
    | linux::MAP_32BIT
    | linux::MAP_ABOVE4G
    | linux::MAP_HUGE_2MB
    | linux::MAP_HUGE_1GB
    | linux::MAP_SYNC
    | linux::MAP_FIXED_NOREPLACE;

/// Where `MAP_32BIT` mappings go on x86_64.
const MAP_32BIT_WINDOW: (u64, u64) = (0x4000_0000, 0x8000_0000);

impl<P: PageTable> AddressSpace<P> {
    /// mmap(2). Returns the mapping's address.
    pub fn mmap(&mut self, args: MmapArgs, plat: &mut Platform<'_>) -> Result<u64, Errno> {
        let MmapArgs {
            addr,
            len,
            prot,
            mut flags,
            offset,
            file,
        } = args;
        check_offset(offset)?;
        if flags & linux::MAP_HUGETLB != 0 {
            return Err(Errno::ENOMEM);
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & linux::MAP_FIXED_NOREPLACE != 0 {
            flags |= linux::MAP_FIXED;
        }
        let fixed = flags & linux::MAP_FIXED != 0;
        let hint = if fixed || addr == 0 {
            addr
        } else {
            addr.max(self.config.min_addr)
        };
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let anonymous = flags & linux::MAP_ANONYMOUS != 0;
        if !anonymous && offset.checked_add(len).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        let start = self.unmapped_area(hint, len, flags)?;
        let end = start + len;
        if flags & linux::MAP_FIXED_NOREPLACE != 0 && self.overlaps(start, end) {
            return Err(Errno::EEXIST);
        }

        let map_type = flags & linux::MAP_TYPE;
        let mut vma_flags = VmaFlags::empty();
        let backing = if anonymous {
            match map_type {
                linux::MAP_SHARED if flags & linux::MAP_GROWSDOWN != 0 => {
                    return Err(Errno::EINVAL);
                }
                linux::MAP_SHARED => vma_flags |= VmaFlags::SHARED,
                linux::MAP_PRIVATE => {}
                _ => return Err(Errno::EINVAL),
            }
            vma_flags |= VmaFlags::ANONYMOUS;
            if flags & linux::MAP_GROWSDOWN != 0 {
                vma_flags |= VmaFlags::GROWS_DOWN;
            }
            None
        } else {
            match map_type {
                linux::MAP_SHARED => return Err(Errno::ENODEV),
                linux::MAP_SHARED_VALIDATE if flags & !VALIDATED_FLAGS != 0 => {
                    return Err(Errno::EOPNOTSUPP);
                }
                linux::MAP_SHARED_VALIDATE => return Err(Errno::ENODEV),
                linux::MAP_PRIVATE => {}
                _ => return Err(Errno::EINVAL),
            }
            let source = file.ok_or(Errno::ENODEV)?;
            Some(FileBacking { source, offset })
        };

        let prot = Prot::from_bits_truncate(prot);
        let kind = if backing.is_some() {
            VmaKind::File
        } else {
            VmaKind::Anonymous
        };
        self.remove_range(start, end, plat);
        self.insert_vma(Vma {
            start,
            end,
            prot,
            flags: vma_flags,
            kind,
            file: backing,
        });
        let populate = linux::MAP_POPULATE | linux::MAP_LOCKED;
        if flags & populate != 0 && flags & linux::MAP_NONBLOCK == 0 {
            self.prefault(start, end, plat);
        }
        Ok(start)
    }

    /// Picks the address of a new mapping of `len` bytes (page aligned, non-zero), or fails
    /// like Linux's `__get_unmapped_area`.
    fn unmapped_area(&self, hint: u64, len: u64, flags: u32) -> Result<u64, Errno> {
        if len > USER_TOP {
            return Err(Errno::ENOMEM);
        }
        if flags & linux::MAP_FIXED != 0 {
            if !is_page_aligned(hint) {
                return Err(Errno::EINVAL);
            }
            if hint > USER_TOP - len {
                return Err(Errno::ENOMEM);
            }
            if hint < self.config.min_addr {
                return Err(Errno::EPERM);
            }
            return Ok(hint);
        }
        if hint != 0 {
            let a = page_floor(hint);
            if a <= USER_TOP - len && a >= self.config.min_addr && self.is_free_for(a, a + len) {
                return Ok(a);
            }
        }
        let lo = self.config.min_addr;
        let found = if flags & linux::MAP_32BIT != 0 {
            self.find_gap(MAP_32BIT_WINDOW.0.max(lo), MAP_32BIT_WINDOW.1, len)
        } else {
            self.find_gap(lo, self.config.mmap_base.min(USER_TOP), len)
                .or_else(|| self.find_gap(lo, USER_TOP, len))
        };
        found.ok_or(Errno::ENOMEM)
    }

    /// Whether `[start, end)` is free, guard gaps of grows-down VMAs included.
    fn is_free_for(&self, start: u64, end: u64) -> bool {
        match self.vma_from(start) {
            None => true,
            Some(v) => end <= self.start_gap(v),
        }
    }

    /// The highest `len`-byte free range inside `[lo, hi)`, top-down like Linux's
    /// `vm_unmapped_area`.
    fn find_gap(&self, lo: u64, hi: u64, len: u64) -> Option<u64> {
        let fit = |gap_lo: u64, gap_hi: u64| {
            let (a, b) = (gap_lo.max(lo), gap_hi.min(hi));
            (b > a && b - a >= len).then(|| b - len)
        };
        let mut gap_hi = USER_TOP;
        for v in self.vmas.values().rev() {
            if gap_hi <= lo {
                return None;
            }
            if let Some(a) = fit(v.end, gap_hi) {
                return Some(a);
            }
            gap_hi = self.start_gap(v);
        }
        fit(0, gap_hi)
    }

    /// Brings in every page of `[start, end)` that the protection allows touching (for
    /// `MAP_POPULATE`). Stops quietly at the first failure, as Linux does.
    fn prefault(&mut self, start: u64, end: u64, plat: &mut Platform<'_>) {
        let mut a = start;
        while a < end {
            let Some(vma) = self.find_vma(a) else { return };
            if !vma.prot.is_accessible() {
                a = vma.end;
                continue;
            }
            let access = if vma.prot.contains(Prot::WRITE) {
                super::Access::Write
            } else {
                super::Access::Read
            };
            if self.handle_fault(a, access, plat).is_err() {
                return;
            }
            a += PAGE_SIZE_U64;
        }
    }

    /// munmap(2).
    pub fn munmap(&mut self, addr: u64, len: u64, plat: &mut Platform<'_>) -> Result<(), Errno> {
        if !is_page_aligned(addr) || addr > USER_TOP || len > USER_TOP - addr {
            return Err(Errno::EINVAL);
        }
        // Cannot overflow: `addr` and USER_TOP are page aligned.
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.remove_range(addr, addr + len, plat);
        Ok(())
    }

    /// mprotect(2).
    pub fn mprotect(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let grows = prot & (linux::PROT_GROWSDOWN | linux::PROT_GROWSUP);
        if grows == linux::PROT_GROWSDOWN | linux::PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        let bits = prot & !grows;
        if bits & !(Prot::all().bits() | linux::PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let new = Prot::from_bits_truncate(bits);
        let first = self
            .vma_from(addr)
            .filter(|v| v.start < end)
            .ok_or(Errno::ENOMEM)?;
        let mut start = addr;
        if grows & linux::PROT_GROWSDOWN != 0 {
            start = first.start;
            if !first.flags.contains(VmaFlags::GROWS_DOWN) {
                return Err(Errno::EINVAL);
            }
        } else if grows & linux::PROT_GROWSUP != 0 {
            // x86_64 has no grows-up VMAs.
            return Err(Errno::EINVAL);
        } else if first.start > start {
            return Err(Errno::ENOMEM);
        }

        self.split_at(start);
        self.split_at(end);
        let mut cursor = start;
        while cursor < end {
            let Some(v) = self.vmas.get_mut(&cursor) else {
                break;
            };
            v.prot = new;
            let (v_end, shared) = (v.end, v.flags.contains(VmaFlags::SHARED));
            self.reprotect_pages(cursor, v_end, new, shared, plat);
            cursor = v_end;
        }
        // Re-merge every boundary that may have become mergeable, including `end` (split
        // above even when a hole stopped the loop).
        let bound = cursor.max(end);
        let mut k = start;
        loop {
            self.merge_at(k);
            if k >= bound {
                break;
            }
            match self.vmas.range(k + 1..=bound).next() {
                Some((&next, _)) => k = next,
                None => break,
            }
        }
        self.merge_at(end);
        if cursor < end {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// Sets where the program break starts (just above the loaded image; the kernel may add a
    /// random offset). Rounded up to a page. Call once per exec, before any [`brk`](Self::brk).
    pub fn init_brk(&mut self, base: u64) {
        let base = page_ceil(base).unwrap_or(USER_TOP).min(USER_TOP);
        self.brk_start = base;
        self.brk = base;
    }

    /// The program break's start and current value.
    pub fn brk_range(&self) -> (u64, u64) {
        (self.brk_start, self.brk)
    }

    /// brk(2): moves the break to `requested` and returns the new break, or leaves it and
    /// returns the current one (`brk(0)` queries it). Shrinking unmaps the pages above the new
    /// break; growing maps zero-filled pages, unless that would come within a page of another
    /// mapping.
    ///
    /// Before [`init_brk`](Self::init_brk) there is no break: every call returns 0.
    pub fn brk(&mut self, requested: u64, plat: &mut Platform<'_>) -> u64 {
        let old = self.brk;
        if self.brk_start == 0 || requested < self.brk_start {
            return old;
        }
        let (Some(new_top), Some(old_top)) = (page_ceil(requested), page_ceil(old)) else {
            return old;
        };
        if new_top > USER_TOP {
            return old;
        }
        if new_top == old_top {
            self.brk = requested;
            return requested;
        }
        if requested <= old {
            self.brk = requested;
            self.remove_range(new_top, old_top, plat);
            return requested;
        }
        if let Some(next) = self.vma_from(old_top)
            && new_top + PAGE_SIZE_U64 > self.start_gap(next)
        {
            return old;
        }
        self.insert_vma(Vma {
            start: old_top,
            end: new_top,
            prot: Prot::READ | Prot::WRITE,
            flags: VmaFlags::ANONYMOUS,
            kind: VmaKind::Heap,
            file: None,
        });
        self.brk = requested;
        requested
    }

    /// Maps anonymous, zero-filled memory at exactly `[start, start + len)` for the kernel
    /// (ELF segments), replacing whatever was there. `len` rounds up to pages.
    pub fn map_fixed(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
        kind: VmaKind,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if !is_page_aligned(start) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        if start > USER_TOP || len > USER_TOP - start {
            return Err(Errno::ENOMEM);
        }
        self.remove_range(start, start + len, plat);
        self.insert_vma(Vma {
            start,
            end: start + len,
            prot,
            flags: VmaFlags::ANONYMOUS,
            kind,
            file: None,
        });
        Ok(())
    }

    /// Maps the main stack: `size` bytes (rounded up) ending at `top`, read-write, growing
    /// down on faults up to [`AddressSpaceConfig::stack_limit`](super::AddressSpaceConfig).
    /// Returns the stack's lowest address.
    pub fn map_stack(
        &mut self,
        top: u64,
        size: u64,
        plat: &mut Platform<'_>,
    ) -> Result<u64, Errno> {
        let size = page_ceil(size).ok_or(Errno::ENOMEM)?;
        if !is_page_aligned(top) || size == 0 || top > USER_TOP || size > top {
            return Err(Errno::EINVAL);
        }
        let start = top - size;
        self.remove_range(start, top, plat);
        self.insert_vma(Vma {
            start,
            end: top,
            prot: Prot::READ | Prot::WRITE,
            flags: VmaFlags::ANONYMOUS | VmaFlags::GROWS_DOWN,
            kind: VmaKind::Stack,
            file: None,
        });
        Ok(start)
    }
}
