//! The kernel's KASLR relocation table: which words of the image hold absolute kernel
//! addresses, found from the relocations the linker kept (`--emit-relocs`, see
//! `crates/kernel/build.rs`), written into the table the image reserves for it.
//!
//! The boot stub (`crates/kernel/src/arch/x86_64/boot.rs`) adds its random slide to every
//! site of the table before the kernel runs at its slid address. A site is the physical
//! address of one word that holds an address in the kernel window (at or above
//! [`KERNEL_VMA`]):
//!
//! - `R_X86_64_64` (pointers in data, vtables, the stub's `movabs`): a 64-bit site;
//! - `R_X86_64_32S` (sign-extended immediates and displacements in code): a 32-bit site;
//! - `R_X86_64_GOTPCREL*`: the GOT slot it names (the linker fills it without a relocation of
//!   its own) is a 64-bit site; if the linker relaxed the instruction, the reference is
//!   PC-relative (nothing to do) or an absolute immediate (a 32-bit site).
//!
//! PC-relative relocations need nothing as long as both ends move together: one from the
//! identity-mapped boot stub to the kernel window (or back) cannot be slid and fails the
//! build, as does any relocation kind this module does not know. `R_X86_64_32` (zero-extended)
//! can only name the low, unslid boot stub. Relocations of sections that are not loaded (debug
//! info) are ignored.
//!
//! This is not a general ELF relocator: it handles what the kernel code model and the kernel's
//! linker script produce, and refuses the rest.

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::Elf;
use goblin::elf::program_header::PT_LOAD;
use goblin::elf::reloc::RelocSection;
use goblin::elf::reloc::{
    R_X86_64_32, R_X86_64_32S, R_X86_64_64, R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_NONE,
    R_X86_64_PC32, R_X86_64_PC64, R_X86_64_PLT32, R_X86_64_REX_GOTPCRELX,
};
use goblin::elf::section_header::{SHF_ALLOC, SHT_NOBITS, SHT_RELA};
use std::path::{Path, PathBuf};

/// The kernel image's link-time base (`KERNEL_VMA` in the kernel's linker script): addresses
/// at or above it move with the slide.
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;

/// The table's first word once filled in (`KASLR_MAGIC` in the kernel's boot.rs).
pub const MAGIC: u32 = u32::from_le_bytes(*b"OXVK");

/// The table's header: magic, reserved, 64-bit site count, 32-bit site count.
pub const HEADER_BYTES: usize = 16;

/// The symbols that delimit the table in the kernel image.
const TABLE_START: &str = "oxv_kaslr_table";
const TABLE_END: &str = "oxv_kaslr_table_end";

/// The words the boot stub slides, as physical addresses, sorted, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sites {
    /// 64-bit words.
    pub abs64: Vec<u32>,
    /// 32-bit (sign-extended) words.
    pub abs32: Vec<u32>,
}

/// Where the image keeps its table: file offset and size in bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct TableSlot {
    offset: usize,
    size: usize,
}

/// A loaded segment: virtual and physical start, file offset and file size.
#[derive(Copy, Clone, Debug)]
struct Segment {
    vaddr: u64,
    paddr: u64,
    offset: u64,
    filesz: u64,
}

/// The loaded segments of an image, to turn a virtual address into a physical one and a file
/// offset.
struct Layout(Vec<Segment>);

impl Layout {
    fn of(elf: &Elf<'_>) -> Layout {
        Layout(
            elf.program_headers
                .iter()
                .filter(|p| p.p_type == PT_LOAD)
                .map(|p| Segment {
                    vaddr: p.p_vaddr,
                    paddr: p.p_paddr,
                    offset: p.p_offset,
                    filesz: p.p_filesz,
                })
                .collect(),
        )
    }

    /// The segment whose file-backed part holds `[va, va + len)`.
    fn segment(&self, va: u64, len: u64) -> Option<&Segment> {
        self.0.iter().find(|s| {
            va >= s.vaddr
                && va
                    .checked_add(len)
                    .is_some_and(|end| end <= s.vaddr + s.filesz)
        })
    }

    /// The physical address and file offset of `[va, va + len)`.
    fn locate(&self, va: u64, len: u64) -> Option<(u64, usize)> {
        let s = self.segment(va, len)?;
        let at = va - s.vaddr;
        Some((s.paddr + at, usize::try_from(s.offset + at).ok()?))
    }
}

fn is_kernel_window(addr: u64) -> bool {
    addr >= KERNEL_VMA
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Finds the sites of an image linked with `--emit-relocs`.
pub fn find_sites(bytes: &[u8]) -> Result<Sites, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    let layout = Layout::of(&elf);
    let mut sites = Sites::default();
    let mut saw_relocations = false;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    for rela in elf.section_headers.iter().filter(|h| h.sh_type == SHT_RELA) {
        let target = rela.sh_info as usize;
        let Some(section) = elf.section_headers.get(target) else {
            return Err(format!(
                "a relocation section names section {target}, which is missing"
            ));
        };
        if section.sh_flags & u64::from(SHF_ALLOC) == 0 {
            continue;
        }
        let name = elf.shdr_strtab.get_at(section.sh_name).unwrap_or("?");
        if section.sh_type == SHT_NOBITS && rela.sh_size != 0 {
            return Err(format!("{name} has no contents but has relocations"));
        }
        let relocs = RelocSection::parse(
            bytes,
            usize::try_from(rela.sh_offset).map_err(|_| "bad relocation section offset")?,
            usize::try_from(rela.sh_size).map_err(|_| "bad relocation section size")?,
            true,
            ctx,
        )
        .map_err(|e| format!("bad relocation section for {target}: {e}"))?;
        for r in relocs.iter() {
            saw_relocations = true;
            let site = r.r_offset;
            let addend = r.r_addend.unwrap_or(0);
            let target = elf
                .syms
                .get(r.r_sym)
                .map_or(0, |s| s.st_value)
                .wrapping_add_signed(addend);
            let at = |len: u64| {
                layout.locate(site, len).ok_or_else(|| {
                    format!("relocation at {site:#x} in {name} is outside the loaded image")
                })
            };
            let to_u32 = |pa: u64| {
                u32::try_from(pa).map_err(|_| {
                    format!("relocation site {site:#x} in {name} is above 4 GiB physical")
                })
            };
            match r.r_type {
                R_X86_64_NONE | R_X86_64_32 => {}
                R_X86_64_64 => {
                    let (pa, off) = at(8)?;
                    let value = read_u64(bytes, off).ok_or("truncated image")?;
                    if is_kernel_window(value) {
                        sites.abs64.push(to_u32(pa)?);
                    }
                }
                R_X86_64_32S => {
                    let (pa, off) = at(4)?;
                    let value = read_u32(bytes, off).ok_or("truncated image")? as i32 as i64;
                    if is_kernel_window(value as u64) {
                        sites.abs32.push(to_u32(pa)?);
                    }
                }
                R_X86_64_PC32 | R_X86_64_PLT32 | R_X86_64_PC64 => {
                    if is_kernel_window(site) != is_kernel_window(target) {
                        return Err(format!(
                            "a PC-relative relocation (type {}) at {site:#x} in {name} reaches \
                             {target:#x} across the boot stub and the kernel window: it cannot \
                             be slid (use an absolute address, e.g. `movabs`)",
                            r.r_type
                        ));
                    }
                }
                R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
                    let (_, off) = at(4)?;
                    let field = read_u32(bytes, off).ok_or("truncated image")? as i32;
                    // The field was computed as `slot + addend - site`.
                    let slot = site
                        .wrapping_add_signed(i64::from(field))
                        .wrapping_add_signed(addend.wrapping_neg());
                    let symbol = target.wrapping_add_signed(addend.wrapping_neg());
                    if slot == symbol {
                        // Relaxed to a PC-relative reference to the symbol itself.
                        if is_kernel_window(site) != is_kernel_window(symbol) {
                            return Err(format!(
                                "a relaxed GOT reference at {site:#x} in {name} reaches \
                                 {symbol:#x} across the boot stub and the kernel window"
                            ));
                        }
                    } else if let Some(slot_pa) = layout
                        .locate(slot, 8)
                        .filter(|&(_, off)| read_u64(bytes, off) == Some(symbol))
                        .map(|(pa, _)| pa)
                    {
                        if is_kernel_window(symbol) {
                            sites.abs64.push(to_u32(slot_pa)?);
                        }
                    } else if i64::from(field) as u64 == symbol {
                        // Relaxed to an absolute, sign-extended immediate.
                        if is_kernel_window(symbol) {
                            sites.abs32.push(to_u32(at(4)?.0)?);
                        }
                    } else {
                        return Err(format!(
                            "cannot tell what the GOT reference at {site:#x} in {name} became \
                             after linking"
                        ));
                    }
                }
                other => {
                    return Err(format!(
                        "relocation type {other} at {site:#x} in {name} cannot be slid \
                         (crates/cli/src/kaslr.rs knows 64, 32S, 32, PC-relative and GOT ones)"
                    ));
                }
            }
        }
    }
    if !saw_relocations {
        return Err("the image has no relocations: link it with --emit-relocs".into());
    }
    for list in [&mut sites.abs64, &mut sites.abs32] {
        list.sort_unstable();
        list.dedup();
    }
    Ok(sites)
}

/// The table's bytes for `sites`, zero-padded to `size`: an error if they do not fit.
pub fn encode(sites: &Sites, size: usize) -> Result<Vec<u8>, String> {
    let entries = sites.abs64.len() + sites.abs32.len();
    let needed = HEADER_BYTES + 4 * entries;
    if needed > size {
        return Err(format!(
            "the KASLR relocation table needs {needed} bytes ({} 64-bit and {} 32-bit sites) \
             but the kernel reserves {size}: raise KASLR_TABLE_SIZE in \
             crates/kernel/src/arch/x86_64/boot.rs",
            sites.abs64.len(),
            sites.abs32.len()
        ));
    }
    let count = |n: usize| u32::try_from(n).expect("a count that fits the table fits a u32");
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&count(sites.abs64.len()).to_le_bytes());
    out.extend_from_slice(&count(sites.abs32.len()).to_le_bytes());
    for pa in sites.abs64.iter().chain(&sites.abs32) {
        out.extend_from_slice(&pa.to_le_bytes());
    }
    out.resize(size, 0);
    Ok(out)
}

#[cfg(test)]
/// Decodes a table written by [`encode`] (`None` if it has no magic: an image not processed).
pub fn decode(table: &[u8]) -> Option<Sites> {
    if read_u32(table, 0)? != MAGIC {
        return None;
    }
    let n64 = read_u32(table, 8)? as usize;
    let n32 = read_u32(table, 12)? as usize;
    let entry = |i: usize| read_u32(table, HEADER_BYTES + 4 * i);
    Some(Sites {
        abs64: (0..n64).map(entry).collect::<Option<_>>()?,
        abs32: (n64..n64 + n32).map(entry).collect::<Option<_>>()?,
    })
}

fn table_slot(bytes: &[u8]) -> Result<TableSlot, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    let find = |name: &str| {
        elf.syms
            .iter()
            .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
            .ok_or_else(|| format!("the kernel has no `{name}` symbol (no KASLR table)"))
    };
    let (start, end) = (find(TABLE_START)?, find(TABLE_END)?);
    let size = end
        .checked_sub(start)
        .ok_or("the KASLR table ends before it starts")?;
    let (_, offset) = Layout::of(&elf)
        .locate(start, size)
        .ok_or("the KASLR table is not in the file-backed part of a loaded segment")?;
    Ok(TableSlot {
        offset,
        size: usize::try_from(size).map_err(|_| "the KASLR table is too large")?,
    })
}

/// Fills in the KASLR table of the kernel image `bytes`, in place.
pub fn patch(bytes: &mut [u8]) -> Result<Sites, String> {
    let slot = table_slot(bytes)?;
    let sites = find_sites(bytes)?;
    let table = encode(&sites, slot.size)?;
    bytes[slot.offset..slot.offset + slot.size].copy_from_slice(&table);
    Ok(sites)
}

/// The kernel to boot, made from the linker's output at `linked`: a copy beside it
/// (`oxv-kernel.kaslr`) with its table filled in and the relocation sections that
/// `--emit-relocs` left dropped (`objcopy --remove-relocations`: once the table is built they
/// are dead weight, about as large as the debug information they mostly describe). It is
/// replaced atomically (another `oxv` may be booting the previous one) and only when it
/// changes.
pub fn prepare(linked: &Path) -> Result<PathBuf, String> {
    let mut bytes =
        std::fs::read(linked).map_err(|e| format!("cannot read {}: {e}", linked.display()))?;
    patch(&mut bytes).map_err(|e| format!("{}: {e}", linked.display()))?;
    let mut name = linked.as_os_str().to_owned();
    name.push(".kaslr");
    let out = PathBuf::from(name);
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let stripped = std::process::Command::new("objcopy")
        .arg("--remove-relocations=*")
        .arg(&tmp)
        .status();
    if !stripped.is_ok_and(|s| s.success()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "objcopy --remove-relocations failed on {} (binutils 2.29 or later is needed)",
            tmp.display()
        ));
    }
    let new = std::fs::read(&tmp).map_err(|e| format!("cannot read {}: {e}", tmp.display()))?;
    if std::fs::read(&out).is_ok_and(|old| old == new) {
        let _ = std::fs::remove_file(&tmp);
        return Ok(out);
    }
    std::fs::rename(&tmp, &out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}: {e}", tmp.display(), out.display())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests;
