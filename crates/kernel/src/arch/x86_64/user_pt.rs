//! oxv-mm's hardware seams on x86_64: the app's page table ([`PageTable`]), TLB maintenance
//! ([`Tlb`]) and byte access to frames ([`FrameBytes`]).
//!
//! A PROT_NONE page (`PteFlags::NO_ACCESS`) is an entry with P clear, its frame address kept
//! and the software bit [`pte::KEEP`] set, so that `protect` can make it present again with
//! its contents intact.
//!
//! 2 MiB pages are PD entries with PS set (Intel SDM vol. 3, 4.5.4), encoded like 4 KiB ones
//! (KEEP instead of P for PROT_NONE). Each huge entry owns a *reserve*: a zeroed page-table
//! page kept aside from the moment it is mapped, so that splitting it into 512 4 KiB entries
//! (partial munmap or mprotect, copy-on-write of one page) needs no allocation and cannot
//! fail, as oxv-mm requires. Linux calls this a deposited page table. An empty 4 KiB table that
//! a huge entry replaces becomes its reserve; a reserve whose range is later mapped with 4 KiB
//! pages becomes that range's table again.

use super::cpu;
use super::paging::{PageTableRoot, nx_bit, phys_to_virt, pte};
use alloc::collections::BTreeMap;
use oxv_mm::addr::HUGE_PAGE_SIZE_U64;
use oxv_mm::{
    Flush, FrameBytes, FrameSource, HugeFrame, HugePage, MapError, Page, PageTable, PhysAddr,
    PhysFrame, PteFlags, Tlb, USER_TOP, VirtAddr,
};

/// The flags of an intermediate entry of the user half.
const USER_TABLE: u64 = pte::PRESENT | pte::WRITABLE | pte::USER;
/// The bits of a 2 MiB entry that hold the block's address (PAT, bit 12, is never set).
const HUGE_ADDR_MASK: u64 = pte::ADDR_MASK & !(HUGE_PAGE_SIZE_U64 - 1);

/// The user half of one address space.
pub struct UserPageTable {
    root: PageTableRoot,
    /// Split reserves, by the address of the 2 MiB range they belong to.
    reserves: BTreeMap<u64, u64>,
    /// Intermediate tables of the user half, reserves included (`PageTables` in meminfo).
    tables: usize,
    /// How many 2 MiB entries exist: most address spaces have none, and then looking for
    /// one (oxv-mm does at every VMA split) costs nothing.
    huge: usize,
}

impl UserPageTable {
    /// A new hierarchy that shares the kernel half of `kernel`.
    pub fn new(kernel: PageTableRoot, frames: &mut dyn FrameSource) -> Option<UserPageTable> {
        let root = PageTableRoot::new(&mut || alloc_table(frames))?;
        root.share_kernel_half(kernel);
        Some(UserPageTable {
            root,
            reserves: BTreeMap::new(),
            tables: 0,
            huge: 0,
        })
    }

    /// The hierarchy (for CR3).
    pub fn root(&self) -> PageTableRoot {
        self.root
    }

    /// The PD that covers `va`, if the tables above it exist.
    fn pd_of(&self, va: u64) -> Option<u64> {
        let mut t = self.root.0;
        for level in [3, 2] {
            let e = read_entry(t, index(va, level));
            if e & pte::PRESENT == 0 || e & pte::HUGE != 0 {
                return None;
            }
            t = e & pte::ADDR_MASK;
        }
        Some(t)
    }

    /// The PD that covers `va`, creating the PDPT and PD if missing.
    fn pd_of_create(&mut self, va: u64, frames: &mut dyn FrameSource) -> Result<u64, MapError> {
        let mut t = self.root.0;
        for level in [3, 2] {
            let i = index(va, level);
            let e = read_entry(t, i);
            t = if e & pte::PRESENT != 0 {
                e & pte::ADDR_MASK
            } else {
                let pa = self.new_table(frames)?;
                write_entry(t, i, pa | USER_TABLE);
                pa
            };
        }
        Ok(t)
    }

    /// A zeroed, counted page-table page.
    fn new_table(&mut self, frames: &mut dyn FrameSource) -> Result<u64, MapError> {
        let pa = alloc_table(frames).ok_or(MapError::FrameAllocationFailed)?;
        super::paging::zero_frame(pa);
        self.tables += 1;
        Ok(pa)
    }

    /// The huge entry covering `va`: its PD, slot and raw value.
    fn huge_entry(&self, va: u64) -> Option<(u64, usize, u64)> {
        if self.huge == 0 {
            return None;
        }
        let pd = self.pd_of(va)?;
        let i = index(va, 1);
        let e = read_entry(pd, i);
        is_huge(e).then_some((pd, i, e))
    }

    /// Where the entry for the 4 KiB page at `va` lives, in one walk.
    fn slot(&self, va: u64) -> Slot {
        let Some(pd) = self.pd_of(va) else {
            return Slot::NoTable;
        };
        let e = read_entry(pd, index(va, 1));
        if is_huge(e) {
            return Slot::Huge(e);
        }
        if e & pte::PRESENT == 0 {
            return Slot::NoTable;
        }
        let pt = e & pte::ADDR_MASK;
        let i = index(va, 0);
        Slot::Leaf {
            pt,
            i,
            e: read_entry(pt, i),
        }
    }
}

/// Where a 4 KiB page's entry is (see [`UserPageTable::slot`]).
enum Slot {
    /// Inside this 2 MiB entry.
    Huge(u64),
    /// Entry `e`, slot `i` of page table `pt`.
    Leaf { pt: u64, i: usize, e: u64 },
    /// No page table covers it yet.
    NoTable,
}

fn alloc_table(frames: &mut dyn FrameSource) -> Option<u64> {
    frames.allocate_frame().map(|f| f.start_address().as_u64())
}

fn table_ptr(pa: u64) -> *mut u64 {
    phys_to_virt(pa) as *mut u64
}

fn read_entry(table: u64, i: usize) -> u64 {
    debug_assert!(i < 512, "a table has 512 entries");
    // SAFETY: `table` is a page-table page of this hierarchy (its root, or a table reached
    // from it or kept as a reserve), mapped by the direct map; i < 512.
    unsafe { table_ptr(table).add(i).read_volatile() }
}

fn write_entry(table: u64, i: usize, v: u64) {
    debug_assert!(i < 512, "a table has 512 entries");
    // SAFETY: as in `read_entry`; the address space's lock makes its owner the only writer.
    unsafe { table_ptr(table).add(i).write_volatile(v) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 0x1ff) as usize
}

/// Whether a PD entry is a 2 MiB page (present, or PROT_NONE kept).
fn is_huge(e: u64) -> bool {
    e & pte::HUGE != 0 && e & (pte::PRESENT | pte::KEEP) != 0
}

fn flag_bits(flags: PteFlags) -> u64 {
    let mut e = pte::USER;
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

fn encode(frame: PhysFrame, flags: PteFlags) -> u64 {
    frame.start_address().as_u64() | flag_bits(flags)
}

fn encode_huge(block: HugeFrame, flags: PteFlags) -> u64 {
    block.start_address().as_u64() | flag_bits(flags) | pte::HUGE
}

fn decode_flags(e: u64) -> PteFlags {
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
    f
}

fn decode(e: u64) -> Option<(PhysFrame, PteFlags)> {
    if e & (pte::PRESENT | pte::KEEP) == 0 {
        return None;
    }
    Some((
        PhysFrame::containing_address(PhysAddr::new(e & pte::ADDR_MASK)),
        decode_flags(e),
    ))
}

fn decode_huge(e: u64) -> (HugeFrame, PteFlags) {
    let block = HugeFrame::from_start_address(PhysAddr::new(e & HUGE_ADDR_MASK))
        .expect("a huge entry holds a 2 MiB aligned address");
    (block, decode_flags(e))
}

fn va(page: Page) -> u64 {
    page.start_address().as_u64()
}

fn page_at(a: u64) -> Page {
    Page::containing_address(VirtAddr::new(a))
}

impl PageTable for UserPageTable {
    fn map(
        &mut self,
        page: Page,
        frame: PhysFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        let a = va(page);
        let (pt, i) = match self.slot(a) {
            Slot::Huge(e) => {
                let (block, _) = decode_huge(e);
                return Err(MapError::AlreadyMapped(block.frame(index(a, 0))));
            }
            Slot::Leaf { pt, i, e } => {
                if let Some((f, _)) = decode(e) {
                    return Err(MapError::AlreadyMapped(f));
                }
                (pt, i)
            }
            Slot::NoTable => {
                // The range's split reserve, if a huge page was there, else a new table.
                let pd = self.pd_of_create(a, frames)?;
                let table = match self.reserves.remove(&(a & !(HUGE_PAGE_SIZE_U64 - 1))) {
                    Some(t) => t,
                    None => self.new_table(frames)?,
                };
                write_entry(pd, index(a, 1), table | USER_TABLE);
                (table, index(a, 0))
            }
        };
        write_entry(pt, i, encode(frame, flags));
        Ok(Flush::new(page))
    }

    fn unmap(&mut self, page: Page) -> Option<(PhysFrame, Flush)> {
        match self.slot(va(page)) {
            Slot::Leaf { pt, i, e } => {
                let (frame, _) = decode(e)?;
                write_entry(pt, i, 0);
                Some((frame, Flush::new(page)))
            }
            Slot::Huge(_) => {
                debug_assert!(
                    false,
                    "oxv-mm splits a huge entry before unmapping a page of it"
                );
                None
            }
            Slot::NoTable => None,
        }
    }

    fn protect(&mut self, page: Page, flags: PteFlags) -> Option<Flush> {
        match self.slot(va(page)) {
            Slot::Leaf { pt, i, e } => {
                let (frame, _) = decode(e)?;
                write_entry(pt, i, encode(frame, flags));
                Some(Flush::new(page))
            }
            Slot::Huge(_) => {
                debug_assert!(
                    false,
                    "oxv-mm splits a huge entry before protecting a page of it"
                );
                None
            }
            Slot::NoTable => None,
        }
    }

    fn translate(&self, page: Page) -> Option<(PhysFrame, PteFlags)> {
        match self.slot(va(page)) {
            Slot::Huge(e) => {
                let (block, flags) = decode_huge(e);
                Some((block.frame(index(va(page), 0)), flags))
            }
            Slot::Leaf { e, .. } => decode(e),
            Slot::NoTable => None,
        }
    }

    fn next_mapped(&self, start: Page, end: Page) -> Option<Page> {
        let end = va(end).min(USER_TOP);
        let mut a = va(start);
        'walk: while a < end {
            let mut t = self.root.0;
            for level in [3u32, 2] {
                let e = read_entry(t, index(a, level));
                if e & pte::PRESENT == 0 {
                    // Nothing mapped in the whole range this entry covers.
                    let span = 1u64 << (12 + 9 * level);
                    a = (a & !(span - 1)).checked_add(span)?;
                    continue 'walk;
                }
                t = e & pte::ADDR_MASK;
            }
            let pde = read_entry(t, index(a, 1));
            if is_huge(pde) {
                return Some(page_at(a));
            }
            if pde & pte::PRESENT == 0 {
                a = (a & !(HUGE_PAGE_SIZE_U64 - 1)).checked_add(HUGE_PAGE_SIZE_U64)?;
                continue;
            }
            let pt = pde & pte::ADDR_MASK;
            for i in index(a, 0)..512 {
                if a >= end {
                    return None;
                }
                if decode(read_entry(pt, i)).is_some() {
                    return Some(page_at(a));
                }
                a += 4096;
            }
        }
        None
    }

    fn release_tables(&mut self, frames: &mut dyn FrameSource) {
        let mut release = |pa: u64| {
            let released = frames.release(PhysFrame::containing_address(PhysAddr::new(pa)));
            debug_assert!(released.is_ok(), "a page table is an allocated frame");
        };
        self.root.free_user_tables(&mut release, false);
        for (_, table) in core::mem::take(&mut self.reserves) {
            release(table);
        }
        self.tables = 0;
        self.huge = 0;
    }

    fn table_frames(&self) -> usize {
        self.tables
    }

    fn supports_huge(&self) -> bool {
        true
    }

    fn map_huge(
        &mut self,
        page: HugePage,
        frame: HugeFrame,
        flags: PteFlags,
        frames: &mut dyn FrameSource,
    ) -> Result<Flush, MapError> {
        let base = page.start_address().as_u64();
        let pd = self.pd_of_create(base, frames)?;
        let i = index(base, 1);
        let e = read_entry(pd, i);
        if is_huge(e) {
            return Err(MapError::AlreadyMapped(decode_huge(e).0.frame(0)));
        }
        if e & pte::PRESENT != 0 {
            // A 4 KiB table covers the range: it must be empty, and then it is the reserve.
            let pt = e & pte::ADDR_MASK;
            if let Some(f) = (0..512).find_map(|j| decode(read_entry(pt, j))) {
                return Err(MapError::AlreadyMapped(f.0));
            }
            for j in 0..512 {
                write_entry(pt, j, 0);
            }
            if let Some(extra) = self.reserves.insert(base, pt) {
                // Cannot happen (a reserve is installed before a table is made for its
                // range), but keep the count right if it does.
                let _ = frames.release(PhysFrame::containing_address(PhysAddr::new(extra)));
                self.tables -= 1;
            }
        } else if !self.reserves.contains_key(&base) {
            let table = self.new_table(frames)?;
            self.reserves.insert(base, table);
        }
        write_entry(pd, i, encode_huge(frame, flags));
        self.huge += 1;
        if e & pte::PRESENT != 0 {
            // The PD entry pointed at a table, which a paging-structure cache may still hold;
            // oxv-mm does not flush a map into an empty range, so flush here.
            cpu::invlpg(base);
        }
        Ok(Flush::new(page.first_page()))
    }

    fn translate_huge(&self, page: Page) -> Option<(HugePage, HugeFrame, PteFlags)> {
        let (_, _, e) = self.huge_entry(va(page))?;
        let (block, flags) = decode_huge(e);
        Some((HugePage::containing(page), block, flags))
    }

    fn unmap_huge(&mut self, page: HugePage) -> Option<(HugeFrame, Flush)> {
        let (pd, i, e) = self.huge_entry(page.start_address().as_u64())?;
        write_entry(pd, i, 0);
        self.huge -= 1;
        Some((decode_huge(e).0, Flush::new(page.first_page())))
    }

    fn protect_huge(&mut self, page: HugePage, flags: PteFlags) -> Option<Flush> {
        let (pd, i, e) = self.huge_entry(page.start_address().as_u64())?;
        write_entry(pd, i, encode_huge(decode_huge(e).0, flags));
        Some(Flush::new(page.first_page()))
    }

    fn split_huge(&mut self, page: HugePage) -> Option<Flush> {
        let base = page.start_address().as_u64();
        let (pd, i, e) = self.huge_entry(base)?;
        let (block, flags) = decode_huge(e);
        let table = self
            .reserves
            .remove(&base)
            .expect("every huge entry has a split reserve (map_huge took one)");
        for j in 0..512 {
            write_entry(table, j, encode(block.frame(j), flags));
        }
        write_entry(pd, i, table | USER_TABLE);
        self.huge -= 1;
        // One invlpg inside the range drops the 2 MiB TLB entry.
        Some(Flush::new(page.first_page()))
    }
}

/// TLB maintenance: this CPU's entries, then every other CPU's that has a user address
/// space loaded (a shootdown, see `crate::smp`; nothing more with one CPU).
pub struct LocalTlb;

impl Tlb for LocalTlb {
    fn flush_page(&self, page: Page) {
        cpu::invlpg(va(page));
        crate::smp::shootdown();
    }

    fn flush_all(&self) {
        // SAFETY: reloading CR3 with its current value only flushes non-global entries.
        unsafe { cpu::set_cr3(cpu::cr3()) };
        crate::smp::shootdown();
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
