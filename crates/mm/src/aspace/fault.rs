//! Page faults and kernel-initiated access to user memory.
//!
//! [`AddressSpace::handle_fault`] resolves a user page fault the way Linux's
//! `do_user_addr_fault` does for anonymous and private file memory: an address outside every
//! VMA (after trying to grow a grows-down VMA) is `SEGV_MAPERR`; an access the VMA's protection
//! forbids is `SEGV_ACCERR`; otherwise the page is brought in (zero-filled, or read from the
//! mapped object), or a copy-on-write share is broken. Reads are allowed on any accessible
//! VMA, because x86_64 pages cannot be write- or execute-only.
//!
//! [`AddressSpace::write_bytes`], [`zero_range`](AddressSpace::zero_range) and
//! [`read_bytes`](AddressSpace::read_bytes) are the kernel's own access (loading ELF segments,
//! building the initial stack, debugging): they need a VMA but ignore its protection.

use super::{AddressSpace, Platform, page_of, pte_flags};
use crate::addr::{PAGE_SIZE, PhysFrame, USER_TOP, page_floor};
use crate::paging::{FrameBytes, PageTable, PteFlags};
use crate::vma::{Prot, VmaFlags};
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
        let vma = self.find_vma(addr).ok_or(err(FaultKind::MapErr))?;
        if !permits(vma.prot, access) {
            return Err(err(FaultKind::AccErr));
        }
        let (prot, shared) = (vma.prot, vma.flags.contains(VmaFlags::SHARED));
        let file = vma
            .file_offset(page_floor(addr))
            .map(|(s, o)| (s.clone(), o));
        let page = page_of(addr);
        let want = pte_flags(prot);
        match self.page_table.translate(page) {
            None => self
                .populate(page, prot, file, plat)
                .map(|_| ())
                .map_err(err),
            Some((frame, flags))
                if access == Access::Write && !flags.contains(PteFlags::WRITABLE) =>
            {
                if shared {
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
                let fixed = self.cow_adjusted(want, frame, shared, plat);
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
        if let Some(f) = &mut vma.file {
            // Only anonymous VMAs grow down today; keep a file offset consistent anyway.
            f.offset = f.offset.saturating_sub(old_start - new_start);
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
        let vma = self.find_vma(addr).ok_or(err(FaultKind::MapErr))?;
        let (prot, shared) = (vma.prot, vma.flags.contains(VmaFlags::SHARED));
        let file = vma
            .file_offset(page_floor(addr))
            .map(|(s, o)| (s.clone(), o));
        let page = page_of(addr);
        match self.page_table.translate(page) {
            None => self.populate(page, prot, file, plat).map_err(err),
            Some((frame, _)) if !shared && plat.frames.ref_count(frame).is_some_and(|n| n > 1) => {
                self.unshare(page, frame, pte_flags(prot), plat)
                    .map_err(err)
            }
            Some((frame, _)) => Ok(frame),
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
                None => match vma.file_offset(a) {
                    None => out.fill(0),
                    Some((source, file_offset)) => {
                        read_unpopulated(&**source, file_offset, a, out)?;
                    }
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
