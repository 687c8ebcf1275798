//! Page faults and kernel-initiated access to user memory.
//!
//! [`AddressSpace::handle_fault`] resolves a user page fault the way Linux's
//! `do_user_addr_fault` does: an address outside every VMA (after trying to grow a grows-down
//! VMA) is `SEGV_MAPERR`; an access the VMA's protection forbids is `SEGV_ACCERR`; otherwise
//! the page is brought in (zero-filled, a private copy of the mapped object's page, or the
//! shared object's own frame), a copy-on-write share is broken, or a shared file page is made
//! writable after telling its object (`page_mkwrite`). Reads are allowed on any accessible
//! VMA, because x86_64 pages cannot be write- or execute-only.
//!
//! [`AddressSpace::populate_range`] faults a range in ahead of time, for `MAP_POPULATE`,
//! mlock(2) and `MADV_POPULATE_*`.
//!
//! [`AddressSpace::write_bytes`], [`zero_range`](AddressSpace::zero_range) and
//! [`read_bytes`](AddressSpace::read_bytes) are the kernel's own access (loading ELF segments,
//! building the initial stack, debugging): they need a VMA but ignore its protection.

use super::{AddressSpace, Platform, page_of, pages, pte_flags};
use crate::addr::{PAGE_SIZE, PhysFrame, USER_TOP, page_floor};
use crate::paging::{FrameBytes, PageTable, PteFlags};
use crate::vma::{Backing, Prot, VmaFlags};
use core::fmt;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

/// The kind of access that faulted.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Access {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Execute,
}

/// How [`AddressSpace::populate_range`] touches pages.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) enum Touch {
    /// Linux's `__mm_populate` (`MAP_POPULATE`, mlock, mremap of locked memory): holes and
    /// `MLOCK_ONFAULT` VMAs are skipped, writable private memory is written, the rest read; a
    /// `PROT_NONE` VMA or a failed fault is an error unless `ignore_errors`.
    Populate {
        /// Carry on with the next VMA after an error (`mm_populate`).
        ignore_errors: bool,
    },
    /// `MADV_POPULATE_READ`: every page must be mapped and readable.
    Read,
    /// `MADV_POPULATE_WRITE`: every page must be mapped and writable.
    Write,
}

/// Why [`AddressSpace::populate_range`] stopped.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) enum PopulateError {
    /// An address in the range has no VMA.
    Hole,
    /// The protection forbids the access (`PROT_NONE`, or a write to read-only memory).
    Denied,
    /// A fault failed.
    Fault(FaultKind),
}

/// Why a fault could not be resolved.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FaultKind {
    /// No VMA covers the address (`SIGSEGV`, `SEGV_MAPERR`).
    MapErr,
    /// The VMA's protection forbids the access (`SIGSEGV`, `SEGV_ACCERR`).
    AccErr,
    /// No frame was available. Linux invokes the OOM killer here.
    OutOfMemory,
    /// The mapped object has no data for the page, or could not be read (`SIGBUS`,
    /// `BUS_ADRERR`).
    Bus,
}

/// An unresolved fault: what the kernel turns into a signal (user faults) or an errno (its own
/// accesses).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct FaultError {
    /// The faulting address (`si_addr`).
    pub addr: u64,
    /// Why.
    pub kind: FaultKind,
}

impl FaultError {
    /// The signal Linux sends for this fault: `SIGSEGV`, `SIGBUS`, or `SIGKILL` when out of
    /// memory.
    pub fn signal(&self) -> u32 {
        match self.kind {
            FaultKind::MapErr | FaultKind::AccErr => linux::SIGSEGV,
            FaultKind::Bus => linux::SIGBUS,
            FaultKind::OutOfMemory => linux::SIGKILL,
        }
    }

    /// The `si_code` that goes with [`signal`](Self::signal) (0 for `SIGKILL`).
    pub fn si_code(&self) -> i32 {
        let code = match self.kind {
            FaultKind::MapErr => linux::SEGV_MAPERR,
            FaultKind::AccErr => linux::SEGV_ACCERR,
            FaultKind::Bus => linux::BUS_ADRERR,
            FaultKind::OutOfMemory => 0,
        };
        code as i32
    }
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {:#x}", self.kind, self.addr)
    }
}

impl core::error::Error for FaultError {}

/// For the kernel's own accesses: `EFAULT`, or `ENOMEM` when out of memory.
impl From<FaultError> for Errno {
    fn from(e: FaultError) -> Errno {
        match e.kind {
            FaultKind::OutOfMemory => Errno::ENOMEM,
            _ => Errno::EFAULT,
        }
    }
}

fn permits(prot: Prot, access: Access) -> bool {
    match access {
        Access::Read => prot.is_accessible(),
        Access::Write => prot.contains(Prot::WRITE),
        Access::Execute => prot.contains(Prot::EXEC),
    }
}

impl<P: PageTable> AddressSpace<P> {
    /// Resolves a user page fault at `addr`. `Ok` means the access can be retried.
    pub fn handle_fault(
        &mut self,
        addr: u64,
        access: Access,
        plat: &mut Platform<'_>,
    ) -> Result<(), FaultError> {
        let err = |kind| FaultError { addr, kind };
        if addr >= USER_TOP {
            return Err(err(FaultKind::MapErr));
        }
        if self.find_vma(addr).is_none() && !self.grow_down_to(addr) {
            return Err(err(FaultKind::MapErr));
        }
        let vma = self.find_vma(addr).ok_or(err(FaultKind::MapErr))?.clone();
        if !permits(vma.prot, access) {
            return Err(err(FaultKind::AccErr));
        }
        let shared = vma.flags.contains(VmaFlags::SHARED);
        let page = page_of(addr);
        let want = pte_flags(vma.prot);
        if let Some((hp, block, flags)) = self.page_table.translate_huge(page) {
            if access == Access::Write && !flags.contains(PteFlags::WRITABLE) {
                if plat.frames.huge_ref_count(block) == Some(1) {
                    if let Some(flush) = self.page_table.protect_huge(hp, want) {
                        flush.flush(plat.tlb);
                    }
                    return Ok(());
                }
                // Shared copy-on-write: like Linux since 5.8, split and copy one 4 KiB page.
                self.split_huge_entry(hp, block, plat);
            } else {
                if flags.contains(PteFlags::NO_ACCESS) {
                    let fixed = if plat.frames.huge_ref_count(block) == Some(1) {
                        want
                    } else {
                        want - PteFlags::WRITABLE
                    };
                    if let Some(flush) = self.page_table.protect_huge(hp, fixed) {
                        flush.flush(plat.tlb);
                    }
                }
                return Ok(());
            }
        }
        match self.page_table.translate(page) {
            None => self
                .populate(page, &vma, access, plat)
                .map(|_| ())
                .map_err(err),
            Some((frame, flags))
                if access == Access::Write && !flags.contains(PteFlags::WRITABLE) =>
            {
                if shared {
                    if vma.tracks_writes()
                        && let Some(s) = vma.shared()
                    {
                        s.object
                            .source()
                            .page_mkwrite(vma.offset_of(page_floor(addr)))
                            .map_err(|e| err(pages::page_error_kind(e)))?;
                    }
                    self.set_flags(page, want, plat);
                    Ok(())
                } else {
                    self.unshare(page, frame, want, plat)
                        .map(|_| ())
                        .map_err(err)
                }
            }
            Some((frame, flags)) if flags.contains(PteFlags::NO_ACCESS) => {
                // A stale PROT_NONE entry in an accessible VMA.
                let mut fixed = self.cow_adjusted(want, frame, shared, plat);
                if vma.tracks_writes() {
                    fixed -= PteFlags::WRITABLE;
                }
                self.set_flags(page, fixed, plat);
                Ok(())
            }
            // Already resolved (another CPU, or a stale TLB entry): retry.
            Some(_) => Ok(()),
        }
    }

    fn set_flags(&mut self, page: crate::addr::Page, flags: PteFlags, plat: &mut Platform<'_>) {
        if let Some(flush) = self.page_table.protect(page, flags) {
            flush.flush(plat.tlb);
        }
    }

    /// Brings in the pages of `[start, end)` as `touch` says, one fault at a time.
    pub(super) fn populate_range(
        &mut self,
        start: u64,
        end: u64,
        touch: Touch,
        plat: &mut Platform<'_>,
    ) -> Result<(), PopulateError> {
        let lenient = matches!(touch, Touch::Populate { .. });
        let ignore = matches!(
            touch,
            Touch::Populate {
                ignore_errors: true
            }
        );
        let mut a = start;
        while a < end {
            let Some(vma) = self.vma_from(a).filter(|v| v.start < end) else {
                return if lenient {
                    Ok(())
                } else {
                    Err(PopulateError::Hole)
                };
            };
            if vma.start > a {
                if !lenient {
                    return Err(PopulateError::Hole);
                }
                a = vma.start;
            }
            let (piece_end, prot, flags) = (vma.end.min(end), vma.prot, vma.flags);
            let access = match touch {
                Touch::Populate { .. } => {
                    if flags.contains(VmaFlags::LOCK_ON_FAULT) {
                        a = piece_end;
                        continue;
                    }
                    if !prot.is_accessible() {
                        if ignore {
                            a = piece_end;
                            continue;
                        }
                        return Err(PopulateError::Denied);
                    }
                    // Break copy-on-write in private writable memory; never dirty shared pages
                    // for nothing (Linux's populate_vma_page_range).
                    if prot.contains(Prot::WRITE) && !flags.contains(VmaFlags::SHARED) {
                        Access::Write
                    } else {
                        Access::Read
                    }
                }
                Touch::Read if prot.is_accessible() => Access::Read,
                Touch::Write if prot.contains(Prot::WRITE) => Access::Write,
                Touch::Read | Touch::Write => return Err(PopulateError::Denied),
            };
            while a < piece_end {
                if let Err(e) = self.handle_fault(a, access, plat) {
                    if ignore {
                        break;
                    }
                    return Err(PopulateError::Fault(e.kind));
                }
                a = match self.page_table.translate_huge(page_of(a)) {
                    Some((hp, _, _)) => hp.end(),
                    None => a + PAGE_SIZE as u64,
                };
            }
            a = a.max(piece_end);
        }
        Ok(())
    }

    /// Extends the grows-down VMA above `addr` down to it, within the stack limit and keeping
    /// the guard gap to the VMA below (Linux's `expand_downwards`). Returns whether it did.
    fn grow_down_to(&mut self, addr: u64) -> bool {
        let new_start = page_floor(addr);
        let Some(above) = self.vma_from(addr) else {
            return false;
        };
        if !above.flags.contains(VmaFlags::GROWS_DOWN) || above.start <= new_start {
            return false;
        }
        let (old_start, end) = (above.start, above.end);
        if end - new_start > self.config.stack_limit {
            return false;
        }
        if let Some((_, below)) = self.vmas.range(..old_start).next_back()
            && !below.flags.contains(VmaFlags::GROWS_DOWN)
            && below.prot.is_accessible()
            && new_start.saturating_sub(below.end) < self.config.stack_guard_gap
        {
            return false;
        }
        let Some(mut vma) = self.vmas.remove(&old_start) else {
            return false;
        };
        vma.start = new_start;
        // Only anonymous VMAs grow down today; keep an object offset consistent anyway.
        match &mut vma.backing {
            Backing::Anonymous => {}
            Backing::File(f) => f.offset = f.offset.saturating_sub(old_start - new_start),
            Backing::Shared(s) => s.offset = s.offset.saturating_sub(old_start - new_start),
        }
        self.vmas.insert(new_start, vma);
        self.merge_at(new_start);
        true
    }

    /// The frame behind `addr`, brought in if needed and made private to this mapping, for a
    /// kernel write. Ignores the VMA's protection.
    fn frame_for_kernel_write(
        &mut self,
        addr: u64,
        plat: &mut Platform<'_>,
    ) -> Result<PhysFrame, FaultError> {
        let err = |kind| FaultError { addr, kind };
        let vma = self.find_vma(addr).ok_or(err(FaultKind::MapErr))?.clone();
        let shared = vma.flags.contains(VmaFlags::SHARED);
        let page = page_of(addr);
        if let Some((hp, block, _)) = self.page_table.translate_huge(page)
            && plat.frames.huge_ref_count(block) != Some(1)
        {
            self.split_huge_entry(hp, block, plat);
        }
        match self.page_table.translate(page) {
            None => self.populate(page, &vma, Access::Write, plat).map_err(err),
            Some((frame, _)) if !shared && plat.frames.ref_count(frame).is_some_and(|n| n > 1) => {
                self.unshare(page, frame, pte_flags(vma.prot), plat)
                    .map_err(err)
            }
            Some((frame, flags)) => {
                if shared
                    && vma.tracks_writes()
                    && !flags.contains(PteFlags::WRITABLE)
                    && let Some(s) = vma.shared()
                {
                    s.object
                        .source()
                        .page_mkwrite(vma.offset_of(page_floor(addr)))
                        .map_err(|e| err(pages::page_error_kind(e)))?;
                }
                Ok(frame)
            }
        }
    }

    /// Writes `data` at `addr` as the kernel (exec: ELF segments, the initial stack), bringing
    /// pages in as needed, whatever the VMAs' protection. Fails at the first address outside
    /// every VMA; bytes before it are written.
    pub fn write_bytes(
        &mut self,
        addr: u64,
        data: &[u8],
        plat: &mut Platform<'_>,
    ) -> Result<(), FaultError> {
        self.for_each_chunk(addr, data.len(), plat, |bytes, frame, offset, done, n| {
            bytes.write(frame, offset, &data[done..done + n]);
        })
    }

    /// Zeroes `len` bytes at `addr` as the kernel (the `.bss` tail of a segment's last page).
    pub fn zero_range(
        &mut self,
        addr: u64,
        len: usize,
        plat: &mut Platform<'_>,
    ) -> Result<(), FaultError> {
        const ZEROS: [u8; PAGE_SIZE] = [0; PAGE_SIZE];
        self.for_each_chunk(addr, len, plat, |bytes, frame, offset, _, n| {
            bytes.write(frame, offset, &ZEROS[..n]);
        })
    }

    fn for_each_chunk(
        &mut self,
        addr: u64,
        len: usize,
        plat: &mut Platform<'_>,
        mut f: impl FnMut(&dyn FrameBytes, PhysFrame, usize, usize, usize),
    ) -> Result<(), FaultError> {
        let mut done = 0usize;
        while done < len {
            let a = addr
                .checked_add(done as u64)
                .filter(|&a| a < USER_TOP)
                .ok_or(FaultError {
                    addr: addr.wrapping_add(done as u64),
                    kind: FaultKind::MapErr,
                })?;
            let offset = (a % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - offset).min(len - done);
            let frame = self.frame_for_kernel_write(a, plat)?;
            f(plat.bytes, frame, offset, done, n);
            done += n;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `addr` as the kernel, without bringing pages in: untouched
    /// anonymous pages read as zeros, untouched file pages from the object. Ignores the
    /// protection; fails at the first address outside every VMA.
    pub fn read_bytes(
        &self,
        addr: u64,
        buf: &mut [u8],
        bytes: &dyn FrameBytes,
    ) -> Result<(), FaultError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr
                .checked_add(done as u64)
                .filter(|&a| a < USER_TOP)
                .ok_or(FaultError {
                    addr: addr.wrapping_add(done as u64),
                    kind: FaultKind::MapErr,
                })?;
            let offset = (a % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - offset).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            let vma = self.find_vma(a).ok_or(FaultError {
                addr: a,
                kind: FaultKind::MapErr,
            })?;
            match self.page_table.translate(page_of(a)) {
                Some((frame, _)) => bytes.read(frame, offset, out),
                None => match &vma.backing {
                    Backing::Anonymous => out.fill(0),
                    Backing::File(f) => {
                        read_unpopulated(&*f.source, vma.offset_of(a), a, out)?;
                    }
                    Backing::Shared(s) => s
                        .object
                        .source()
                        .read(vma.offset_of(a), out, bytes)
                        .map_err(|_| FaultError {
                            addr: a,
                            kind: FaultKind::Bus,
                        })?,
                },
            }
            done += n;
        }
        Ok(())
    }
}

/// Reads a chunk of a file page that is not in memory yet, as a fault would see it.
fn read_unpopulated(
    source: &dyn crate::vma::MapSource,
    file_offset: u64,
    addr: u64,
    out: &mut [u8],
) -> Result<(), FaultError> {
    let bus = FaultError {
        addr,
        kind: FaultKind::Bus,
    };
    let n = source
        .read_at(file_offset, out)
        .map_err(|_| bus)?
        .min(out.len());
    out[n..].fill(0);
    if n == 0 {
        // Past the end: SIGBUS if the whole page is (as a fault would report), else zeros.
        let page_start = file_offset - (addr % PAGE_SIZE as u64);
        let mut probe = [0u8; 1];
        if source.read_at(page_start, &mut probe).map_err(|_| bus)? == 0 {
            return Err(bus);
        }
    }
    Ok(())
}
