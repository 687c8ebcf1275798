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
//!   hugetlbfs pages are reserved). `MAP_LOCKED` locks like mlock(2).
//! - Anonymous `MAP_SHARED` memory is a [`SharedAnon`](crate::shared::SharedAnon) object whose
//!   frames every mapping (and every forked child) shares. Shared file mappings map the file's
//!   page-cache frames through [`MapSource::shared`] (`ENODEV` when the file has none; `EACCES`
//!   for `PROT_WRITE` on a file opened read-only). Private file mappings read each page from
//!   the [`MapSource`] into a private frame on first touch.
//! - Anonymous private mappings whose length is a multiple of 2 MiB, placed without a hint, are
//!   2 MiB aligned (Linux 6.7+), so they can use huge pages.
//! - munmap and mprotect work on any page range, splitting VMAs. mprotect fails with `ENOMEM`
//!   at the first unmapped page (or `EACCES` at the first VMA that may not get the protection),
//!   after changing the pages before it, exactly like Linux.
//! - brk returns the new break, or the old one when it cannot move (brk(2): the raw syscall
//!   does not fail with an errno). The break is byte-granular; the mapping page-granular.
//!
//! There is no accounting limit (overcommit is always on) and no `max_map_count`.

use super::fault::Touch;
use super::{AddressSpace, Platform};
use crate::addr::{
    HUGE_PAGE_SIZE_U64, PAGE_SIZE_U64, USER_TOP, is_page_aligned, page_ceil, page_floor,
};
use crate::paging::PageTable;
use crate::vma::{
    Backing, FileBacking, MapSource, Prot, SharedBacking, SharedObject, Vma, VmaFlags, VmaKind,
};
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

/// Whether a private writable mapping is charged to `Committed_AS` (Linux's
/// `accountable_mapping`; `VM_SHARED` there is a writable shared mapping).
fn accountable(prot: Prot, flags: VmaFlags) -> bool {
    prot.contains(Prot::WRITE) && !flags.intersects(VmaFlags::NORESERVE | VmaFlags::SHARED)
}

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
        let thp_align =
            flags & linux::MAP_ANONYMOUS != 0 && flags & linux::MAP_TYPE == linux::MAP_PRIVATE;
        let start = self.unmapped_area(hint, len, flags, thp_align)?;
        let end = start + len;
        if flags & linux::MAP_FIXED_NOREPLACE != 0 && self.overlaps(start, end) {
            return Err(Errno::EEXIST);
        }

        let map_type = flags & linux::MAP_TYPE;
        let prot = Prot::from_bits_truncate(prot);
        let mut vma_flags = VmaFlags::MAY_ALL | self.def_flags;
        if flags & linux::MAP_LOCKED != 0 {
            vma_flags |= VmaFlags::LOCKED;
        }
        if flags & linux::MAP_NORESERVE != 0 {
            vma_flags |= VmaFlags::NORESERVE;
        }
        let backing = if anonymous {
            match map_type {
                linux::MAP_SHARED if flags & linux::MAP_GROWSDOWN != 0 => {
                    return Err(Errno::EINVAL);
                }
                linux::MAP_SHARED => {
                    vma_flags |= VmaFlags::SHARED;
                    Backing::Shared(SharedBacking {
                        object: SharedObject::Anonymous(self.new_shared_anon(len)),
                        offset: 0,
                    })
                }
                linux::MAP_PRIVATE => Backing::Anonymous,
                _ => return Err(Errno::EINVAL),
            }
        } else {
            let shared = match map_type {
                linux::MAP_SHARED => true,
                linux::MAP_SHARED_VALIDATE if flags & !VALIDATED_FLAGS != 0 => {
                    return Err(Errno::EOPNOTSUPP);
                }
                linux::MAP_SHARED_VALIDATE => true,
                linux::MAP_PRIVATE => false,
                _ => return Err(Errno::EINVAL),
            };
            let source = file.ok_or(Errno::ENODEV)?;
            if !source.may_exec() {
                vma_flags -= VmaFlags::MAY_EXEC;
            }
            if shared {
                let sf = source.shared().ok_or(Errno::ENODEV)?;
                if prot.contains(Prot::WRITE) && !sf.writable {
                    return Err(Errno::EACCES);
                }
                vma_flags |= VmaFlags::SHARED;
                if !sf.writable {
                    vma_flags -= VmaFlags::MAY_WRITE;
                }
                Backing::Shared(SharedBacking {
                    object: SharedObject::File(sf.object),
                    offset,
                })
            } else {
                Backing::File(FileBacking { source, offset })
            }
        };
        if flags & linux::MAP_GROWSDOWN != 0 {
            if !anonymous {
                return Err(Errno::EINVAL);
            }
            vma_flags |= VmaFlags::GROWS_DOWN;
        }
        if anonymous {
            vma_flags |= VmaFlags::ANONYMOUS;
        }
        if accountable(prot, vma_flags) {
            vma_flags |= VmaFlags::ACCOUNT;
        }
        // Shared anonymous memory is charged whatever its protection (Linux's
        // `shmem_acct_size`), unless MAP_NORESERVE.
        let shared_anon = anonymous && map_type != linux::MAP_PRIVATE;
        if vma_flags.contains(VmaFlags::ACCOUNT)
            || (shared_anon && !vma_flags.contains(VmaFlags::NORESERVE))
        {
            self.config.check_commit(len)?;
        }
        let kind = if anonymous {
            VmaKind::Anonymous
        } else {
            VmaKind::File
        };
        self.remove_range(start, end, plat);
        self.insert_vma(Vma {
            start,
            end,
            prot,
            flags: vma_flags,
            kind,
            backing,
        });
        let locked = vma_flags.contains(VmaFlags::LOCKED);
        let populate = flags & (linux::MAP_POPULATE | linux::MAP_NONBLOCK) == linux::MAP_POPULATE;
        if locked || populate {
            // Linux's mm_populate: errors are ignored.
            let _ = self.populate_range(
                start,
                end,
                Touch::Populate {
                    ignore_errors: true,
                },
                plat,
            );
        }
        Ok(start)
    }

    /// Picks the address of a new mapping of `len` bytes (page aligned, non-zero), or fails
    /// like Linux's `__get_unmapped_area`. `thp_align`: the mapping is private anonymous
    /// memory, so a length that is a multiple of 2 MiB gets a 2 MiB-aligned address when no
    /// hint is given.
    pub(super) fn unmapped_area(
        &self,
        hint: u64,
        len: u64,
        flags: u32,
        thp_align: bool,
    ) -> Result<u64, Errno> {
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
        let align = if thp_align && hint == 0 && len % HUGE_PAGE_SIZE_U64 == 0 {
            HUGE_PAGE_SIZE_U64
        } else {
            PAGE_SIZE_U64
        };
        let found = if flags & linux::MAP_32BIT != 0 {
            self.find_gap(MAP_32BIT_WINDOW.0.max(lo), MAP_32BIT_WINDOW.1, len, align)
        } else {
            self.find_gap(lo, self.config.mmap_base.min(USER_TOP), len, align)
                .or_else(|| self.find_gap(lo, USER_TOP, len, align))
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

    /// The highest `len`-byte free range inside `[lo, hi)` starting at a multiple of `align`,
    /// top-down like Linux's `vm_unmapped_area`.
    fn find_gap(&self, lo: u64, hi: u64, len: u64, align: u64) -> Option<u64> {
        let fit = |gap_lo: u64, gap_hi: u64| {
            let (a, b) = (gap_lo.max(lo), gap_hi.min(hi));
            let top = b.checked_sub(len)? & !(align - 1);
            (b > a && top >= a).then_some(top)
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

        self.split_at(start, plat);
        self.split_at(end, plat);
        let mut cursor = start;
        let mut error = Errno::ENOMEM;
        while cursor < end {
            let Some(v) = self.vmas.get(&cursor) else {
                break;
            };
            let may = [
                (Prot::READ, VmaFlags::MAY_READ),
                (Prot::WRITE, VmaFlags::MAY_WRITE),
                (Prot::EXEC, VmaFlags::MAY_EXEC),
            ];
            if may
                .iter()
                .any(|&(p, m)| new.contains(p) && !v.flags.contains(m))
            {
                error = Errno::EACCES;
                break;
            }
            let mut flags = v.flags;
            if new.contains(Prot::WRITE) {
                if !v.prot.contains(Prot::WRITE)
                    && !flags.intersects(VmaFlags::ACCOUNT | VmaFlags::SHARED | VmaFlags::NORESERVE)
                {
                    if let Err(e) = self.config.check_commit(v.end - v.start) {
                        error = e;
                        break;
                    }
                    flags |= VmaFlags::ACCOUNT;
                }
            } else if flags.contains(VmaFlags::ACCOUNT)
                && v.is_private_anonymous()
                && self
                    .page_table
                    .next_mapped(super::page_of(v.start), super::page_of(v.end))
                    .is_none()
            {
                // Linux un-charges memory that was never touched (no anon_vma yet).
                flags -= VmaFlags::ACCOUNT;
            }
            let Some(v) = self.vmas.get_mut(&cursor) else {
                break;
            };
            v.prot = new;
            v.flags = flags;
            let vma = v.clone();
            self.reprotect_pages(cursor, vma.end, &vma, plat);
            cursor = vma.end;
        }
        // Re-merge every boundary that may have become mergeable, including `end` (split
        // above even when a hole stopped the loop).
        self.merge_range(start, cursor.max(end));
        if cursor < end { Err(error) } else { Ok(()) }
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
        if self.config.check_commit(new_top - old_top).is_err() {
            return old;
        }
        let flags = VmaFlags::ANONYMOUS | VmaFlags::MAY_ALL | VmaFlags::ACCOUNT | self.def_flags;
        self.insert_vma(Vma {
            start: old_top,
            end: new_top,
            prot: Prot::READ | Prot::WRITE,
            flags,
            kind: VmaKind::Heap,
            backing: Backing::Anonymous,
        });
        self.brk = requested;
        if flags.contains(VmaFlags::LOCKED) {
            let _ = self.populate_range(
                old_top,
                new_top,
                Touch::Populate {
                    ignore_errors: true,
                },
                plat,
            );
        }
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
        let mut flags = VmaFlags::ANONYMOUS | VmaFlags::MAY_ALL;
        if matches!(kind, VmaKind::Vdso | VmaKind::Vvar) {
            flags |= VmaFlags::DONT_EXPAND;
        } else if accountable(prot, flags) {
            flags |= VmaFlags::ACCOUNT;
        }
        self.insert_vma(Vma {
            start,
            end: start + len,
            prot,
            flags,
            kind,
            backing: Backing::Anonymous,
        });
        Ok(())
    }

    /// Maps the pages of `object` (from its offset 0) at exactly `[start, start + len)` for the
    /// kernel's special mappings, the vDSO (`kind` [`VmaKind::Vdso`]) and its data page
    /// ([`VmaKind::Vvar`]): faults map the object's own frames, so the kernel keeps updating
    /// them in place, and every process (and forked child) shares them. The mapping is private
    /// (`p` in `/proc/self/maps`, a write would copy) and cannot grow (`VM_DONTEXPAND`).
    /// Replaces whatever was there; `len` rounds up to pages.
    pub fn map_special(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
        kind: VmaKind,
        object: Arc<dyn crate::shared::SharedMapSource>,
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
            flags: VmaFlags::MAY_ALL | VmaFlags::DONT_EXPAND,
            kind,
            backing: Backing::Shared(SharedBacking {
                object: SharedObject::File(object),
                offset: 0,
            }),
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
            flags: VmaFlags::ANONYMOUS
                | VmaFlags::GROWS_DOWN
                | VmaFlags::MAY_ALL
                | VmaFlags::ACCOUNT,
            kind: VmaKind::Stack,
            backing: Backing::Anonymous,
        });
        Ok(start)
    }
}
