//! x86_64 4-level page tables and the kernel's view of physical memory.
//!
//! All of RAM is mapped at [`DIRECT_MAP_BASE`] (the "direct map"), so the kernel reaches any
//! physical frame, page tables included, at `DIRECT_MAP_BASE + phys`. [`PageTableRoot`] edits
//! a hierarchy through that window; it never allocates by itself — the caller passes a frame
//! source — and it never flushes the TLB: callers decide (one `invlpg`, or a CR3 reload).
//!
//! Intermediate entries are always present+writable (+user for the lower half); the leaf
//! entry alone decides permissions, as on Linux.

use core::sync::atomic::{AtomicU64, Ordering};

/// Start of the direct map of physical memory (PML4 slot 256, the first kernel-half slot).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;

/// The kernel image's link-time virtual base (the linker script's `KERNEL_VMA`); it runs
/// higher by the KASLR slide (see [`super::kernel_map::image_offset`]).
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;

/// The direct-map address of physical address `pa`.
#[inline]
pub const fn phys_to_virt(pa: u64) -> u64 {
    DIRECT_MAP_BASE + pa
}

/// Page-table entry bits.
pub mod pte {
    /// Present.
    pub const PRESENT: u64 = 1 << 0;
    /// Writable.
    pub const WRITABLE: u64 = 1 << 1;
    /// Accessible from ring 3.
    pub const USER: u64 = 1 << 2;
    /// Write-through.
    pub const WRITE_THROUGH: u64 = 1 << 3;
    /// Cache disabled (device registers).
    pub const NO_CACHE: u64 = 1 << 4;
    /// 2 MiB / 1 GiB page (in a PD / PDPT entry).
    pub const HUGE: u64 = 1 << 7;
    /// Global: kept across CR3 reloads (kernel mappings).
    pub const GLOBAL: u64 = 1 << 8;
    /// Not executable (only when EFER.NXE is on; see [`super::nx_bit`]).
    pub const NO_EXECUTE: u64 = 1 << 63;
    /// Software bit (ignored by the MMU): a non-present entry that still owns its frame
    /// (a PROT_NONE page keeps its contents).
    pub const KEEP: u64 = 1 << 9;
    /// The physical-address bits of an entry.
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
}

static NX_MASK: AtomicU64 = AtomicU64::new(0);
static GLOBAL_MASK: AtomicU64 = AtomicU64::new(0);

/// Enables the NX and global bits in entries built from now on (when the CPU has them).
pub fn set_features(nx: bool, global: bool) {
    NX_MASK.store(if nx { pte::NO_EXECUTE } else { 0 }, Ordering::Relaxed);
    GLOBAL_MASK.store(if global { pte::GLOBAL } else { 0 }, Ordering::Relaxed);
}

/// The NX bit if the CPU supports it, else 0.
pub fn nx_bit() -> u64 {
    NX_MASK.load(Ordering::Relaxed)
}

/// The global bit if the CPU supports it, else 0.
pub fn global_bit() -> u64 {
    GLOBAL_MASK.load(Ordering::Relaxed)
}

/// Why a mapping could not be made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for an intermediate table.
    OutOfFrames,
    /// A huge page already covers the address.
    HugeInTheWay,
}

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(pa) as *mut u64
}

fn read_entry(table_pa: u64, i: usize) -> u64 {
    // SAFETY: `table_pa` is a page-table frame reachable through the direct map (only
    // frames this module installed, or the root the caller owns); i < 512.
    unsafe { table(table_pa).add(i).read_volatile() }
}

fn write_entry(table_pa: u64, i: usize, v: u64) {
    // SAFETY: as in `read_entry`; the caller of the public API owns this hierarchy, so no
    // one else writes it concurrently.
    unsafe { table(table_pa).add(i).write_volatile(v) }
}

/// Zeroes a 4 KiB frame through the direct map.
pub fn zero_frame(pa: u64) {
    // SAFETY: `pa` is a whole free frame handed to us by the frame allocator, mapped in
    // the direct map, and not in use by anyone else yet.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, 4096) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 0x1ff) as usize
}

/// Copies physical memory at `pa` into `buf` (firmware tables): through the direct map where
/// `root` maps it, else through a page `map` maps (device-style, for memory outside RAM).
/// False if some page cannot be mapped.
pub fn read_phys(
    root: PageTableRoot,
    pa: u64,
    buf: &mut [u8],
    map: impl Fn(u64) -> Option<u64>,
) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let at = pa + done as u64;
        let page = at & !4095;
        let n = (4096 - (at - page) as usize).min(buf.len() - done);
        let va = if root.translate(phys_to_virt(page)).is_some() {
            phys_to_virt(page)
        } else {
            match map(page) {
                Some(va) => va,
                None => return false,
            }
        };
        // SAFETY: `va` maps the page holding `at` (checked or just mapped), and the `n`
        // bytes read stay inside it; firmware tables are plain bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (va + (at - page)) as *const u8,
                buf[done..].as_mut_ptr(),
                n,
            )
        };
        done += n;
    }
    true
}

/// One page-table hierarchy, named by the physical address of its PML4.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PageTableRoot(pub u64);

impl PageTableRoot {
    /// A new, empty hierarchy (a zeroed PML4 from `alloc`).
    pub fn new(alloc: &mut dyn FnMut() -> Option<u64>) -> Option<PageTableRoot> {
        let pa = alloc()?;
        zero_frame(pa);
        Some(PageTableRoot(pa))
    }

    /// Walks to the table at `level` (0 = PT) for `va`, creating missing tables.
    fn walk_create(
        &self,
        va: u64,
        level: u32,
        alloc: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<u64, MapError> {
        let user = va < 0x0000_8000_0000_0000;
        let mut t = self.0;
        for l in (level + 1..=3).rev() {
            let i = index(va, l);
            let e = read_entry(t, i);
            if e & pte::PRESENT == 0 {
                let pa = alloc().ok_or(MapError::OutOfFrames)?;
                zero_frame(pa);
                let flags = pte::PRESENT | pte::WRITABLE | if user { pte::USER } else { 0 };
                write_entry(t, i, pa | flags);
                t = pa;
            } else if e & pte::HUGE != 0 {
                return Err(MapError::HugeInTheWay);
            } else {
                t = e & pte::ADDR_MASK;
            }
        }
        Ok(t)
    }

    /// Maps the 4 KiB page at `va` to frame `pa` with `flags` (PRESENT is added).
    /// Replaces any existing 4 KiB mapping; returns the old entry (0 if none).
    pub fn map_4k(
        &self,
        va: u64,
        pa: u64,
        flags: u64,
        alloc: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<u64, MapError> {
        let pt = self.walk_create(va, 0, alloc)?;
        let i = index(va, 0);
        let old = read_entry(pt, i);
        write_entry(pt, i, (pa & pte::ADDR_MASK) | flags | pte::PRESENT);
        Ok(old)
    }

    /// Creates the tables down to the page table for `va` (without mapping it), so that
    /// mappings made there later land in tables every address space already shares.
    pub fn ensure_tables(
        &self,
        va: u64,
        alloc: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<(), MapError> {
        self.walk_create(va, 0, alloc).map(|_| ())
    }

    /// Removes the 4 KiB mapping of `va` and returns its old entry (0 if there was none).
    /// The caller flushes the TLB.
    pub fn unmap_4k(&self, va: u64) -> u64 {
        let mut t = self.0;
        for l in (1..=3).rev() {
            let e = read_entry(t, index(va, l));
            if e & pte::PRESENT == 0 || e & pte::HUGE != 0 {
                return 0;
            }
            t = e & pte::ADDR_MASK;
        }
        let old = read_entry(t, index(va, 0));
        write_entry(t, index(va, 0), 0);
        old
    }

    /// Maps the 2 MiB page at `va` (2 MiB aligned) to `pa`.
    pub fn map_2m(
        &self,
        va: u64,
        pa: u64,
        flags: u64,
        alloc: &mut dyn FnMut() -> Option<u64>,
    ) -> Result<(), MapError> {
        let pd = self.walk_create(va, 1, alloc)?;
        write_entry(
            pd,
            index(va, 1),
            (pa & pte::ADDR_MASK) | flags | pte::PRESENT | pte::HUGE,
        );
        Ok(())
    }

    /// The leaf entry mapping `va` (4 KiB, 2 MiB or 1 GiB), if present.
    pub fn translate(&self, va: u64) -> Option<(u64, u64)> {
        let mut t = self.0;
        for l in (0..=3).rev() {
            let e = read_entry(t, index(va, l));
            if e & pte::PRESENT == 0 {
                return None;
            }
            if l == 0 || e & pte::HUGE != 0 {
                let page_mask = (1u64 << (12 + 9 * l)) - 1;
                return Some((
                    (e & pte::ADDR_MASK & !page_mask) | (va & page_mask),
                    e & !pte::ADDR_MASK,
                ));
            }
            t = e & pte::ADDR_MASK;
        }
        None
    }

    /// Copies the kernel half (PML4 slots 256..512) from `kernel`, so every address space
    /// shares the kernel's mappings.
    pub fn share_kernel_half(&self, kernel: PageTableRoot) {
        for i in 256..512 {
            write_entry(self.0, i, read_entry(kernel.0, i));
        }
    }

    /// Frees every user-half table (not the frames they map) through `free`, and the
    /// PML4 itself when `free_root`.
    pub fn free_user_tables(&self, free: &mut dyn FnMut(u64), free_root: bool) {
        fn free_level(t: u64, level: u32, free: &mut dyn FnMut(u64)) {
            for i in 0..512 {
                let e = read_entry(t, i);
                if e & pte::PRESENT != 0 && e & pte::HUGE == 0 && level > 1 {
                    free_level(e & pte::ADDR_MASK, level - 1, free);
                }
                if e & pte::PRESENT != 0 && e & pte::HUGE == 0 && level >= 1 {
                    free(e & pte::ADDR_MASK);
                }
            }
        }
        for i in 0..256 {
            let e = read_entry(self.0, i);
            if e & pte::PRESENT != 0 {
                free_level(e & pte::ADDR_MASK, 2, free);
                free(e & pte::ADDR_MASK);
                write_entry(self.0, i, 0);
            }
        }
        if free_root {
            free(self.0);
        }
    }

    /// Makes this hierarchy the active one.
    ///
    /// # Safety
    /// The hierarchy must map the kernel (see [`PageTableRoot::share_kernel_half`]) and
    /// stay alive while active.
    pub unsafe fn activate(&self) {
        // SAFETY: per the caller's guarantee.
        unsafe { super::cpu::set_cr3(self.0) }
    }
}
