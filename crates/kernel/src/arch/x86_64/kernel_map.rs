//! The kernel's own page tables: the direct map of RAM and the kernel image with per-section
//! permissions (text read+execute, rodata read-only, data and bss read+write+no-execute: W^X).
//!
//! They replace the boot stub's tables, which mapped the first 4 GiB writable and executable
//! twice over and the image once more. Every address space copies this kernel half (PML4 slots 256..512).
//!
//! The image runs at its link address plus the KASLR slide ([`super::boot::kaslr_slide`]):
//! the section symbols below are absolute addresses the boot stub already slid, and
//! [`image_offset`] turns them into physical addresses.

use super::paging::{KERNEL_VMA, MapError, PageTableRoot, global_bit, nx_bit, pte};
use core::ops::Range;

// SAFETY: the linker script defines these section-boundary symbols; only their addresses
// are taken, never their values.
unsafe extern "C" {
    static __boot_start: u8;
    static __boot_end: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// The kernel image's virtual range.
pub fn image_range() -> Range<u64> {
    // SAFETY: linker-defined symbols; only their addresses are used.
    unsafe { sym(&__text_start)..sym(&__data_end) }
}

/// The boot stub's physical range (identity-mapped, used only until the kernel's own page
/// tables are active).
pub fn boot_phys_range() -> Range<u64> {
    // SAFETY: linker-defined symbols; only their addresses are used.
    unsafe { sym(&__boot_start)..sym(&__boot_end) }
}

/// What the image's virtual addresses are ahead of their physical ones: the link-time
/// [`KERNEL_VMA`] plus the KASLR slide.
pub fn image_offset() -> u64 {
    KERNEL_VMA + super::boot::kaslr_slide()
}

/// The kernel image's physical range (it is loaded at its virtual address minus
/// [`image_offset`]).
pub fn image_phys_range() -> Range<u64> {
    let r = image_range();
    r.start - image_offset()..r.end - image_offset()
}

/// Builds the kernel half: the direct map over `ram` (2 MiB pages) and the image.
pub fn build(
    ram: &[Range<u64>],
    alloc: &mut dyn FnMut() -> Option<u64>,
) -> Result<PageTableRoot, MapError> {
    let root = PageTableRoot::new(alloc).ok_or(MapError::OutOfFrames)?;
    let g = global_bit();
    let nx = nx_bit();
    const HUGE: u64 = 2 << 20;
    for r in ram {
        let mut pa = r.start & !(HUGE - 1);
        while pa < r.end {
            if root.translate(super::paging::phys_to_virt(pa)).is_none() {
                root.map_2m(
                    super::paging::phys_to_virt(pa),
                    pa,
                    pte::WRITABLE | nx | g,
                    alloc,
                )?;
            }
            pa += HUGE;
        }
    }
    // SAFETY: linker-defined symbols; only their addresses are used.
    let sections = unsafe {
        [
            (sym(&__text_start)..sym(&__text_end), g),
            (sym(&__rodata_start)..sym(&__rodata_end), nx | g),
            (sym(&__data_start)..sym(&__data_end), pte::WRITABLE | nx | g),
        ]
    };
    let offset = image_offset();
    for (range, flags) in sections {
        let mut va = range.start;
        while va < range.end {
            root.map_4k(va, va - offset, flags, alloc)?;
            va += 4096;
        }
    }
    Ok(root)
}
