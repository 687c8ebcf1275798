//! mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2).
//!
//! oxv never swaps, so memory is always "locked"; what these calls change is what Linux shows
//! and checks: the `VM_LOCKED` flag (`lo` in smaps, `Locked:`, `Mlocked:`), population of the
//! pages (mlock faults them in, `MLOCK_ONFAULT` does not), `MADV_DONTNEED` refusing locked
//! memory, and `RLIMIT_MEMLOCK`. Follows Linux 6.18 `mm/mlock.c`:
//!
//! - The range is `[start & PAGE_MASK, PAGE_ALIGN(start + len))` with wrapping arithmetic (so
//!   a huge `len` can become an empty range, which succeeds).
//! - `apply_vma_lock_flags` walks the VMAs from `start`: a hole fails with `ENOMEM`, after the
//!   VMAs before it were changed (munlock too).
//! - mlock then populates the range: a `PROT_NONE` VMA or a failed fault is `ENOMEM`, out of
//!   memory `EAGAIN`.
//! - mlockall: `EINVAL` for no flags, unknown flags or `MCL_ONFAULT` alone; `MCL_CURRENT`
//!   locks (and populates, ignoring errors) every VMA, `MCL_FUTURE` every later mapping.
//!
//! `memlock_limit` is `RLIMIT_MEMLOCK` in bytes, or `None` for a caller with `CAP_IPC_LOCK`
//! (oxv's app runs as root, like a root process on Linux). A limit of 0 is `EPERM`.

use super::fault::{PopulateError, Touch};
use super::{AddressSpace, FaultKind, Platform};
use crate::addr::{PAGE_SIZE_U64, USER_TOP, page_floor};
use crate::paging::PageTable;
use crate::vma::VmaFlags;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

impl<P: PageTable> AddressSpace<P> {
    /// mlock2(2) (mlock(2) is `flags` 0): locks `[start, start + len)` and populates it unless
    /// `MLOCK_ONFAULT`.
    pub fn mlock(
        &mut self,
        start: u64,
        len: u64,
        flags: i32,
        memlock_limit: Option<u64>,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if flags as u32 & !linux::MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        if memlock_limit == Some(0) {
            return Err(Errno::EPERM);
        }
        let (start, end) = lock_range(start, len);
        let mut lock = VmaFlags::LOCKED;
        if flags as u32 & linux::MLOCK_ONFAULT != 0 {
            lock |= VmaFlags::LOCK_ON_FAULT;
        }
        if let Some(limit) = memlock_limit {
            let len = end.wrapping_sub(start);
            let mut locked = len / PAGE_SIZE_U64 + self.locked_bytes(0, USER_TOP) / PAGE_SIZE_U64;
            if locked > limit / PAGE_SIZE_U64 {
                // Pages locked already do not count twice.
                locked -= self.locked_bytes(start, end) / PAGE_SIZE_U64;
            }
            if locked > limit / PAGE_SIZE_U64 {
                return Err(Errno::ENOMEM);
            }
        }
        self.apply_lock(start, end, lock, plat)?;
        if end <= start {
            return Ok(());
        }
        self.populate_range(
            start,
            end,
            Touch::Populate {
                ignore_errors: false,
            },
            plat,
        )
        .map_err(|e| match e {
            PopulateError::Fault(FaultKind::OutOfMemory) => Errno::EAGAIN,
            _ => Errno::ENOMEM,
        })
    }

    /// munlock(2).
    pub fn munlock(&mut self, start: u64, len: u64, plat: &mut Platform<'_>) -> Result<(), Errno> {
        let (start, end) = lock_range(start, len);
        self.apply_lock(start, end, VmaFlags::empty(), plat)
    }

    /// mlockall(2).
    pub fn mlockall(
        &mut self,
        flags: i32,
        memlock_limit: Option<u64>,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        let flags = flags as u32;
        let known = linux::MCL_CURRENT | linux::MCL_FUTURE | linux::MCL_ONFAULT;
        if flags == 0 || flags & !known != 0 || flags == linux::MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        if memlock_limit == Some(0) {
            return Err(Errno::EPERM);
        }
        let current = flags & linux::MCL_CURRENT != 0;
        if current && let Some(limit) = memlock_limit {
            let total: u64 = self.vmas.values().map(|v| v.len()).sum();
            if total / PAGE_SIZE_U64 > limit / PAGE_SIZE_U64 {
                return Err(Errno::ENOMEM);
            }
        }
        let onfault = if flags & linux::MCL_ONFAULT != 0 {
            VmaFlags::LOCK_ON_FAULT
        } else {
            VmaFlags::empty()
        };
        self.def_flags = if flags & linux::MCL_FUTURE != 0 {
            VmaFlags::LOCKED | onfault
        } else {
            VmaFlags::empty()
        };
        if current {
            self.lock_all(VmaFlags::LOCKED | onfault, plat);
            let _ = self.populate_range(
                0,
                USER_TOP,
                Touch::Populate {
                    ignore_errors: true,
                },
                plat,
            );
        }
        Ok(())
    }

    /// munlockall(2).
    pub fn munlockall(&mut self, plat: &mut Platform<'_>) -> Result<(), Errno> {
        self.def_flags = VmaFlags::empty();
        self.lock_all(VmaFlags::empty(), plat);
        Ok(())
    }

    /// How many bytes of `[start, end)` lie in locked VMAs (Linux's `mm->locked_vm` for the
    /// whole space).
    pub fn locked_bytes(&self, start: u64, end: u64) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.flags.contains(VmaFlags::LOCKED) && v.start < end && v.end > start)
            .map(|v| v.end.min(end) - v.start.max(start))
            .sum()
    }

    /// `apply_vma_lock_flags`: gives every VMA piece of `[start, end)` the lock state `lock`,
    /// failing with `ENOMEM` at the first hole.
    fn apply_lock(
        &mut self,
        start: u64,
        end: u64,
        lock: VmaFlags,
        plat: &mut Platform<'_>,
    ) -> Result<(), Errno> {
        if end < start {
            return Err(Errno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        if self.find_vma(start).is_none() {
            return Err(Errno::ENOMEM);
        }
        let mut cursor = start;
        while cursor < end {
            let Some(v) = self.find_vma(cursor) else {
                return Err(Errno::ENOMEM);
            };
            let piece_end = v.end.min(end);
            let flags = lockable(v.flags, lock);
            self.set_vma_flags(cursor, piece_end, flags, plat);
            cursor = piece_end;
        }
        Ok(())
    }

    /// Gives every VMA the lock state `lock` (`apply_mlockall_flags`).
    fn lock_all(&mut self, lock: VmaFlags, plat: &mut Platform<'_>) {
        let mut cursor = 0;
        while let Some(v) = self.vma_from(cursor) {
            let (start, end) = (v.start.max(cursor), v.end);
            let flags = lockable(v.flags, lock);
            self.set_vma_flags(start, end, flags, plat);
            cursor = end;
        }
    }
}

/// `flags` with the lock state replaced by `lock`, except for special mappings (the vDSO),
/// which Linux never locks.
fn lockable(flags: VmaFlags, lock: VmaFlags) -> VmaFlags {
    if flags.contains(VmaFlags::DONT_EXPAND) {
        flags
    } else {
        (flags - VmaFlags::LOCK_MASK) | lock
    }
}

/// The page range mlock(2) and munlock(2) work on, with Linux's wrapping arithmetic.
fn lock_range(start: u64, len: u64) -> (u64, u64) {
    let offset = start % PAGE_SIZE_U64;
    let len = super::remap::page_align(len.wrapping_add(offset));
    let start = page_floor(start);
    (start, start.wrapping_add(len))
}
