//! mincore(2): which pages of a range are in memory.
//!
//! Follows Linux 6.18 `mm/mincore.c`: `EINVAL` for an unaligned start, `ENOMEM` when the range
//! leaves the user half, `EFAULT` when the vector does (checked before any lookup), then the
//! range is answered VMA by VMA: `ENOMEM` at the first address outside every VMA, after the
//! bytes for the pages before it were written.
//!
//! A page is resident when the page table maps it (`PROT_NONE` pages too). An untouched page is
//! resident when its object holds it: a shared object's page, or a file page its
//! [`MapSource`](crate::MapSource) says is cached; never for private anonymous memory.
//!
//! The vector is written in chunks, without the address-space lock (the kernel's copies to user
//! memory may fault): [`mincore`] takes a closure that locks the address space and calls
//! [`AddressSpace::mincore_chunk`].

use super::AddressSpace;
use crate::addr::{PAGE_SHIFT, PAGE_SIZE_U64, USER_TOP, is_page_aligned};
use crate::paging::PageTable;
use crate::vma::Backing;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory};

/// How many vector bytes one chunk covers (Linux uses a page; a smaller stack buffer is enough).
const CHUNK: usize = 256;

/// mincore(2)'s checks on the range itself; returns the number of pages (vector bytes).
pub fn check(start: u64, len: u64) -> Result<u64, Errno> {
    if !is_page_aligned(start) {
        return Err(Errno::EINVAL);
    }
    if len > USER_TOP || start > USER_TOP - len {
        return Err(Errno::ENOMEM);
    }
    Ok(len.div_ceil(PAGE_SIZE_U64))
}

/// mincore(2): writes one byte per page of `[start, start + len)` to `vec` (1: resident).
/// `chunk(addr, out)` locks the address space and returns
/// [`AddressSpace::mincore_chunk`]`(addr, out)`.
///
/// ```
/// # use oxv_mm::aspace::mincore;
/// # use oxv_mm::fake::{FakeMachine, FakePageTable};
/// # use oxv_mm::{Access, AddressSpace, AddressSpaceConfig, MmapArgs};
/// # use oxv_abi::{UserAddr, user::fake::FakeUserMemory};
/// # use linux_raw_sys::general::{MAP_PRIVATE, PROT_READ, PROT_WRITE};
/// let mut machine = FakeMachine::new(64);
/// let mut aspace = AddressSpace::new(FakePageTable::new(), AddressSpaceConfig::new(0x7f00_0000_0000));
/// let a = aspace.mmap(MmapArgs::anonymous(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE), &mut machine.platform()).unwrap();
/// aspace.handle_fault(a + 4096, Access::Write, &mut machine.platform()).unwrap();
/// let mut mem = FakeUserMemory::new();
/// mem.map(0x1000, 0x1000, true);
/// let r = mincore::mincore(|addr, out| aspace.mincore_chunk(addr, out), &mut mem, a, 8192, UserAddr::new(0x1000));
/// assert_eq!((r, mem.peek(0x1000, 2)), (Ok(0), vec![0, 1]));
/// # aspace.teardown(&mut machine.platform());
/// ```
pub fn mincore(
    mut chunk: impl FnMut(u64, &mut [u8]) -> Result<usize, Errno>,
    mem: &mut dyn UserMemory,
    start: u64,
    len: u64,
    vec: UserAddr,
) -> SysResult {
    let mut pages = check(start, len)?;
    let mut out = vec.get();
    if out > USER_TOP || pages > USER_TOP - out {
        return Err(Errno::EFAULT);
    }
    let mut addr = start;
    let mut buf = [0u8; CHUNK];
    while pages > 0 {
        let n = pages.min(CHUNK as u64) as usize;
        let got = chunk(addr, &mut buf[..n])?;
        mem.copy_out(UserAddr::new(out), &buf[..got])?;
        pages -= got as u64;
        out += got as u64;
        addr += (got as u64) << PAGE_SHIFT;
    }
    Ok(0)
}

impl<P: PageTable> AddressSpace<P> {
    /// Linux's `do_mincore`: fills `out` with the residency of the pages from `addr` (page
    /// aligned), stopping at the end of the VMA containing it; returns how many bytes it wrote,
    /// or `ENOMEM` if no VMA contains `addr`.
    pub fn mincore_chunk(&self, addr: u64, out: &mut [u8]) -> Result<usize, Errno> {
        let vma = self.find_vma(addr).ok_or(Errno::ENOMEM)?;
        let n = out.len().min(((vma.end - addr) / PAGE_SIZE_U64) as usize);
        for (i, byte) in out[..n].iter_mut().enumerate() {
            let a = addr + i as u64 * PAGE_SIZE_U64;
            let present = self.page_table.translate(super::page_of(a)).is_some();
            let cached = !present
                && match &vma.backing {
                    Backing::Anonymous => false,
                    Backing::File(f) => f.source.is_cached(vma.offset_of(a)),
                    Backing::Shared(s) => s.object.source().is_resident(vma.offset_of(a)),
                };
            *byte = u8::from(present || cached);
        }
        Ok(n)
    }
}
