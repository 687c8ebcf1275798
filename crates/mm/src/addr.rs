//! Physical and user-virtual addresses, 4 KiB frames and pages.
//!
//! These are plain numbers with a type: building one never touches memory. [`PhysAddr`] and
//! [`PhysFrame`] name RAM; [`VirtAddr`] and [`Page`] name the user half of an address space
//! (kernel addresses never appear in this crate's API: the kernel half is the embedder's).
//!
//! 2 MiB pages have their own types, [`HugePage`] and [`HugeFrame`], used only by the
//! defaulted huge-page methods of [`PageTable`](crate::PageTable) and
//! [`FrameSource`](crate::FrameSource), so code written for 4 KiB pages never meets them.

use core::fmt;

/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;
/// The size of a page and of a frame: 4 KiB.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// [`PAGE_SIZE`] as a `u64`, for address arithmetic.
pub const PAGE_SIZE_U64: u64 = PAGE_SIZE as u64;
/// The size of an x86_64 large page (2 MiB).
pub const HUGE_PAGE_SIZE: usize = 2 << 20;
/// [`HUGE_PAGE_SIZE`] as a `u64`, for address arithmetic.
pub const HUGE_PAGE_SIZE_U64: u64 = HUGE_PAGE_SIZE as u64;
/// How many 4 KiB pages (or frames) one huge page covers: 512.
pub const HUGE_PAGE_PAGES: usize = HUGE_PAGE_SIZE / PAGE_SIZE;
/// The buddy order of a huge page's block of frames: `2^9` frames.
pub const HUGE_ORDER: u8 = 9;

const _: () = assert!(1 << HUGE_ORDER == HUGE_PAGE_PAGES);

/// The end (exclusive) of the usable user half: Linux's `TASK_SIZE` on x86_64 with 4-level
/// paging. The last page below the canonical hole stays unmapped, as on Linux, so that no
/// user access can run into non-canonical addresses.
pub const USER_TOP: u64 = 0x0000_7fff_ffff_f000;

const _: () = assert!(USER_TOP == oxv_abi::user::USER_END - PAGE_SIZE_U64);
const _: () = assert!(PAGE_SIZE == 4096);

/// Rounds `x` down to a page boundary.
pub const fn page_floor(x: u64) -> u64 {
    x & !(PAGE_SIZE_U64 - 1)
}

/// Rounds `x` up to a page boundary, or `None` if that overflows.
pub const fn page_ceil(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE_U64 - 1) {
        Some(v) => Some(page_floor(v)),
        None => None,
    }
}

/// Whether `x` is page aligned.
pub const fn is_page_aligned(x: u64) -> bool {
    x & (PAGE_SIZE_U64 - 1) == 0
}

/// A physical memory address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysAddr(u64);

impl PhysAddr {
    /// Wraps a raw physical address.
    pub const fn new(raw: u64) -> Self {
        PhysAddr(raw)
    }

    /// The raw value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `self + n`, or `None` on overflow.
    pub const fn checked_add(self, n: u64) -> Option<Self> {
        match self.0.checked_add(n) {
            Some(v) => Some(PhysAddr(v)),
            None => None,
        }
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddr({:#x})", self.0)
    }
}

/// An address in the user half of an address space.
///
/// Unlike [`oxv_abi::UserAddr`] (whatever the app passed), a `VirtAddr` is meant to be one the
/// kernel has decided to use; it is still not checked on construction.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtAddr(u64);

impl VirtAddr {
    /// Wraps a raw address.
    pub const fn new(raw: u64) -> Self {
        VirtAddr(raw)
    }

    /// The raw value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Whether the address lies below [`USER_TOP`].
    pub const fn is_user(self) -> bool {
        self.0 < USER_TOP
    }

    /// The offset within its page.
    pub const fn page_offset(self) -> usize {
        (self.0 & (PAGE_SIZE_U64 - 1)) as usize
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtAddr({:#x})", self.0)
    }
}

/// A 4 KiB frame of physical memory, named by its page-aligned start address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysFrame(u64);

impl PhysFrame {
    /// The frame that contains `addr`.
    pub const fn containing_address(addr: PhysAddr) -> Self {
        PhysFrame(page_floor(addr.0))
    }

    /// The frame starting at `addr`, or `None` if `addr` is not 4 KiB aligned.
    pub const fn from_start_address(addr: PhysAddr) -> Option<Self> {
        if is_page_aligned(addr.0) {
            Some(PhysFrame(addr.0))
        } else {
            None
        }
    }

    /// The frame with frame number `pfn` (its address divided by [`PAGE_SIZE`]).
    ///
    /// # Panics
    /// If `pfn` is too large to be a byte address (a caller bug).
    pub const fn from_number(pfn: u64) -> Self {
        assert!(pfn <= u64::MAX >> PAGE_SHIFT, "frame number out of range");
        PhysFrame(pfn << PAGE_SHIFT)
    }

    /// The first byte of the frame.
    pub const fn start_address(self) -> PhysAddr {
        PhysAddr(self.0)
    }

    /// The frame number.
    pub const fn number(self) -> u64 {
        self.0 >> PAGE_SHIFT
    }
}

impl fmt::Debug for PhysFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysFrame({:#x})", self.0)
    }
}

/// A 4 KiB page of the user half, named by its page-aligned start address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Page(u64);

impl Page {
    /// The page that contains `addr`.
    pub const fn containing_address(addr: VirtAddr) -> Self {
        Page(page_floor(addr.0))
    }

    /// The page starting at `addr`, or `None` if `addr` is not 4 KiB aligned.
    pub const fn from_start_address(addr: VirtAddr) -> Option<Self> {
        if is_page_aligned(addr.0) {
            Some(Page(addr.0))
        } else {
            None
        }
    }

    /// The page with page number `n` (its address divided by [`PAGE_SIZE`]).
    ///
    /// # Panics
    /// If `n` is too large to be an address (a caller bug).
    pub const fn from_number(n: u64) -> Self {
        assert!(n <= u64::MAX >> PAGE_SHIFT, "page number out of range");
        Page(n << PAGE_SHIFT)
    }

    /// The first byte of the page.
    pub const fn start_address(self) -> VirtAddr {
        VirtAddr(self.0)
    }

    /// The page number (address divided by [`PAGE_SIZE`]).
    pub const fn number(self) -> u64 {
        self.0 >> PAGE_SHIFT
    }

    /// The page `n` pages above this one (callers stay below [`USER_TOP`]).
    pub(crate) const fn add(self, n: u64) -> Self {
        Page(self.0 + n * PAGE_SIZE_U64)
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page({:#x})", self.0)
    }
}

/// A 2 MiB page of the user half, named by its 2 MiB-aligned start address.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HugePage(u64);

impl HugePage {
    /// The huge page that contains `page`.
    pub const fn containing(page: Page) -> Self {
        HugePage(page.0 & !(HUGE_PAGE_SIZE_U64 - 1))
    }

    /// The huge page starting at `addr`, or `None` if `addr` is not 2 MiB aligned.
    pub const fn from_start_address(addr: VirtAddr) -> Option<Self> {
        if addr.0 % HUGE_PAGE_SIZE_U64 == 0 {
            Some(HugePage(addr.0))
        } else {
            None
        }
    }

    /// The first byte.
    pub const fn start_address(self) -> VirtAddr {
        VirtAddr(self.0)
    }

    /// The first 4 KiB page.
    pub const fn first_page(self) -> Page {
        Page(self.0)
    }

    /// The end address, exclusive.
    pub const fn end(self) -> u64 {
        self.0 + HUGE_PAGE_SIZE_U64
    }
}

impl fmt::Debug for HugePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HugePage({:#x})", self.0)
    }
}

/// A block of 512 contiguous 4 KiB frames, 2 MiB aligned: what a [`HugePage`] maps.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HugeFrame(u64);

impl HugeFrame {
    /// The block starting at `addr`, or `None` if `addr` is not 2 MiB aligned.
    pub const fn from_start_address(addr: PhysAddr) -> Option<Self> {
        if addr.0 % HUGE_PAGE_SIZE_U64 == 0 {
            Some(HugeFrame(addr.0))
        } else {
            None
        }
    }

    /// The first byte.
    pub const fn start_address(self) -> PhysAddr {
        PhysAddr(self.0)
    }

    /// The `i`th 4 KiB frame of the block (`i < 512`).
    pub const fn frame(self, i: usize) -> PhysFrame {
        PhysFrame(self.0 + (i as u64) * PAGE_SIZE_U64)
    }
}

impl fmt::Debug for HugeFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HugeFrame({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(page_floor(0x1fff), 0x1000);
        assert_eq!(page_ceil(0x1001), Some(0x2000));
        assert_eq!(page_ceil(0x1000), Some(0x1000));
        assert_eq!(page_ceil(u64::MAX), None);
        assert!(is_page_aligned(0x3000));
        assert!(!is_page_aligned(0x3001));
    }

    #[test]
    fn frames_and_pages() {
        let f = PhysFrame::containing_address(PhysAddr::new(0x12345));
        assert_eq!(f.start_address(), PhysAddr::new(0x12000));
        assert_eq!(f.number(), 0x12);
        assert_eq!(PhysFrame::from_number(0x12), f);
        assert_eq!(PhysFrame::from_start_address(PhysAddr::new(0x12001)), None);
        let p = Page::containing_address(VirtAddr::new(0x4000_0fff));
        assert_eq!(p.start_address().as_u64(), 0x4000_0000);
        assert_eq!(p.add(2).start_address().as_u64(), 0x4000_2000);
        assert_eq!(Page::from_start_address(VirtAddr::new(0x10)), None);
        assert_eq!(VirtAddr::new(0x1234).page_offset(), 0x234);
        assert!(VirtAddr::new(USER_TOP - 1).is_user());
        assert!(!VirtAddr::new(USER_TOP).is_user());
    }

    #[test]
    fn huge_pages_and_frames() {
        let p = Page::containing_address(VirtAddr::new(0x4030_5000));
        let h = HugePage::containing(p);
        assert_eq!(h.start_address().as_u64(), 0x4020_0000);
        assert_eq!(h.end(), 0x4040_0000);
        assert_eq!(h.first_page().start_address().as_u64(), 0x4020_0000);
        assert_eq!(
            HugePage::from_start_address(VirtAddr::new(0x4030_0000)),
            None
        );
        let f = HugeFrame::from_start_address(PhysAddr::new(0x60_0000)).unwrap();
        assert_eq!(f.frame(3).start_address().as_u64(), 0x60_3000);
        assert_eq!(
            HugeFrame::from_start_address(PhysAddr::new(0x60_1000)),
            None
        );
    }
}
