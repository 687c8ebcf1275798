//! The PVH boot protocol's `hvm_start_info` (Xen's `arch/x86/hvm/start_info.h` layout).
//!
//! The VMM leaves the structure, the command line, the module list (our initramfs) and the
//! memory map in guest RAM and passes the first one's physical address. This module copies
//! what the kernel needs out of it into fixed-size, owned values before anything can overwrite
//! it, and validates every count and pointer: a malformed start_info gives an error, not a
//! wild read.

use super::paging::phys_to_virt;

const MAGIC: u32 = 0x336e_c578;

/// Usable RAM in the memory map.
pub const E820_RAM: u32 = 1;

/// One memory-map entry.
#[derive(Copy, Clone, Debug, Default)]
pub struct MemRegion {
    /// Physical start.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// E820 type (1 = RAM).
    pub kind: u32,
}

/// One boot module (QEMU passes `-initrd` as the first).
#[derive(Copy, Clone, Debug, Default)]
pub struct Module {
    /// Physical start.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
}

const MAX_REGIONS: usize = 64;
const MAX_CMDLINE: usize = oxv_abi::cmdline::MAX_LEN + 1;

/// What the kernel keeps from start_info.
pub struct BootInfo {
    /// Physical address of the start_info block itself.
    pub start_info: u64,
    /// Physical address and length of the command line (without its NUL).
    pub cmdline: (u64, usize),
    /// The memory map.
    pub regions: [MemRegion; MAX_REGIONS],
    /// How many entries of `regions` are valid.
    pub nr_regions: usize,
    /// The initramfs, if the VMM passed one.
    pub initrd: Option<Module>,
    /// The ACPI RSDP (for SMP bring-up later).
    pub rsdp: u64,
}

/// Why start_info was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// The magic number is wrong: not booted through PVH.
    BadMagic,
    /// No memory map (start_info version 0 without one).
    NoMemoryMap,
    /// The command line is not NUL-terminated within the limit.
    CmdlineTooLong,
}

fn read<T: Copy>(phys: u64) -> T {
    // SAFETY: the boot page tables map the first 4 GiB at the direct map, start_info and the
    // tables it points to are in low RAM (QEMU places them below 1 MiB or next to the
    // kernel), and `T` is a plain integer or array of them, valid for any bit pattern.
    unsafe { core::ptr::read_unaligned(phys_to_virt(phys) as *const T) }
}

impl BootInfo {
    /// Parses start_info at physical address `pa`.
    pub fn parse(pa: u64) -> Result<BootInfo, BootInfoError> {
        let magic: u32 = read(pa);
        if magic != MAGIC {
            return Err(BootInfoError::BadMagic);
        }
        let version: u32 = read(pa + 4);
        let nr_modules: u32 = read(pa + 12);
        let modlist: u64 = read(pa + 16);
        let cmdline_pa: u64 = read(pa + 24);
        let rsdp: u64 = read(pa + 32);
        let (memmap, memmap_entries): (u64, u32) = if version >= 1 {
            (read(pa + 40), read(pa + 48))
        } else {
            (0, 0)
        };
        if memmap == 0 || memmap_entries == 0 {
            return Err(BootInfoError::NoMemoryMap);
        }

        let mut cmd_len = 0usize;
        if cmdline_pa != 0 {
            while read::<u8>(cmdline_pa + cmd_len as u64) != 0 {
                cmd_len += 1;
                if cmd_len >= MAX_CMDLINE {
                    return Err(BootInfoError::CmdlineTooLong);
                }
            }
        }

        let mut regions = [MemRegion::default(); MAX_REGIONS];
        let n = (memmap_entries as usize).min(MAX_REGIONS);
        for (i, r) in regions.iter_mut().enumerate().take(n) {
            let e = memmap + i as u64 * 24;
            *r = MemRegion {
                addr: read(e),
                size: read(e + 8),
                kind: read(e + 16),
            };
        }

        let initrd = (nr_modules > 0 && modlist != 0).then(|| Module {
            addr: read(modlist),
            size: read(modlist + 8),
        });

        Ok(BootInfo {
            start_info: pa,
            cmdline: (cmdline_pa, cmd_len),
            regions,
            nr_regions: n,
            initrd,
            rsdp,
        })
    }

    /// The memory map.
    pub fn regions(&self) -> &[MemRegion] {
        &self.regions[..self.nr_regions]
    }
}
