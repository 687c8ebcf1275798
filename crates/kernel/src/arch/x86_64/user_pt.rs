//! oxv-mm's hardware seams on x86_64: the app's page table ([`PageTable`]), TLB maintenance
//! ([`Tlb`]) and byte access to frames ([`FrameBytes`]).
//!
//! A PROT_NONE page (`PteFlags::NO_ACCESS`) is an entry with P clear, its frame address kept
//! and the software bit [`pte::KEEP`] set, so that `protect` can make it present again with
//! its contents intact.

use super::cpu;
use super::paging::{PageTableRoot, nx_bit, phys_to_virt, pte};
use oxv_mm::{
    Flush, FrameBytes, FrameSource, MapError, Page, PageTable, PhysAddr, PhysFrame, PteFlags, Tlb,
    USER_TOP, VirtAddr,
};

/// The user half of one address space.
pub struct UserPageTable {
    root: PageTableRoot,
}

impl UserPageTable {
    /// A new hierarchy that shares the kernel half of `kernel`.
    pub fn new(kernel: PageTableRoot, frames: &mut dyn FrameSource) -> Option<UserPageTable> {
        let root = PageTableRoot::new(&mut || alloc_table(frames))?;
        root.share_kernel_half(kernel);
        Some(UserPageTable { root })
    }

    /// The hierarchy (for CR3).
    pub fn root(&self) -> PageTableRoot {
        self.root
    }
}

fn alloc_table(frames: &mut dyn FrameSource) -> Option<u64> {
    frames.allocate_frame().map(|f| f.start_address().as_u64())
}

fn encode(frame: PhysFrame, flags: PteFlags) -> u64 {
    let mut e = frame.start_address().as_u64() | pte::USER;
    if flags.contains(PteFlags::WRITABLE) {
        e |= pte::WRITABLE;
    }
    if flags.contains(PteFlags::NO_EXECUTE) {
        e |= nx_bit();
    }
    if flags.contains(PteFlags::NO_ACCESS) {
        e |= pte::KEEP;
    } else {
        e |= pte::PRESENT;
    }
    e
}

fn decode(e: u64) -> Option<(PhysFrame, PteFlags)> {
    if e & (pte::PRESENT | pte::KEEP) == 0 {
        return None;
    }
    let mut f = PteFlags::empty();
    if e & pte::USER != 0 {
        f |= PteFlags::USER;
    }
    if e & pte::WRITABLE != 0 {
        f |= PteFlags::WRITABLE;
    }
    if e & pte::NO_EXECUTE != 0 || nx_bit() == 0 {
        f |= PteFlags::NO_EXECUTE;
    }
    if e & pte::PRESENT == 0 {
        f |= PteFlags::NO_ACCESS;
    }
    Some((
        PhysFrame::containing_address(PhysAddr::new(e & pte::ADDR_MASK)),
        f,
    ))
}

fn va(page: Page) -> u64 {
    page.start_address().as_u64()
}

impl PageTable for UserPageTable {
    fn map(
        &mut self,
        page: Page,
        frame: PhysFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        let old = self.root.leaf(va(page));
        if let Some((f, _)) = decode(old) {
            return Err(MapError::AlreadyMapped(f));
        }
        self.root
            .set_leaf(va(page), encode(frame, flags), &mut || alloc_table(frames))
            .map_err(|_| MapError::FrameAllocationFailed)?;
        Ok(Flush::new(page))
    }

    fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)> {
        let (frame, _) = decode(self.root.leaf(va(page)))?;
        self.root.replace_leaf(va(page), 0);
        Some((frame, Flush::new(page)))
    }

    fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush> {
        let (frame, _) = decode(self.root.leaf(va(page)))?;
        self.root.replace_leaf(va(page), encode(frame, flags));
        Some(Flush::new(page))
    }

    fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)> {
        decode(self.root.leaf(va(page)))
    }

    fn next_mapped(&self, start: Page, end: Page) -> Option<Page> {
        let end = va(end).min(USER_TOP);
        let mut from = va(start);
        while from < end {
            let a = self.root.next_nonzero_leaf(from, end)?;
            if decode(self.root.leaf(a)).is_some() {
                return Some(Page::containing_address(VirtAddr::new(a)));
            }
            from = a + 4096;
        }
        None
    }

    fn release_tables(&mut self, frames: &mut dyn FrameSource) {
        self.root.free_user_tables(
            &mut |pa| {
                let _ = frames.release(PhysFrame::containing_address(PhysAddr::new(pa)));
            },
            false,
        );
    }
}

/// TLB maintenance for the (single) running CPU.
pub struct LocalTlb;

impl Tlb for LocalTlb {
    fn flush_page(&self, page: Page) {
        cpu::invlpg(va(page));
    }

    fn flush_all(&self) {
        // SAFETY: reloading CR3 with its current value only flushes non-global entries.
        unsafe { cpu::set_cr3(cpu::cr3()) };
    }
}

/// Frame contents through the direct map.
pub struct DirectMapBytes;

fn frame_ptr(f: PhysFrame) -> *mut u8 {
    phys_to_virt(f.start_address().as_u64()) as *mut u8
}

impl FrameBytes for DirectMapBytes {
    fn zero_frame(&self, frame: PhysFrame) {
        super::paging::zero_frame(frame.start_address().as_u64());
    }

    fn copy_frame(&self, dst: PhysFrame, src: PhysFrame) {
        // SAFETY: both are allocated frames (oxv-mm's contract), distinct, and mapped by the
        // direct map; nobody holds references into them.
        unsafe { core::ptr::copy_nonoverlapping(frame_ptr(src), frame_ptr(dst), 4096) }
    }

    fn read(&self, frame: PhysFrame, offset: usize, buf: &mut [u8]) {
        assert!(
            offset + buf.len() <= 4096,
            "FrameBytes::read stays inside the frame"
        );
        // SAFETY: in bounds (checked above) of an allocated, direct-mapped frame.
        unsafe {
            core::ptr::copy_nonoverlapping(
                frame_ptr(frame).add(offset),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    }

    fn write(&self, frame: PhysFrame, offset: usize, data: &[u8]) {
        assert!(
            offset + data.len() <= 4096,
            "FrameBytes::write stays inside the frame"
        );
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), frame_ptr(frame).add(offset), data.len())
        }
    }
}
