//! `/proc/<pid>/maps` and `/proc/<pid>/smaps`, in Linux's exact format, and the address
//! space's share of `/proc/meminfo`.
//!
//! proc(5) and Linux 6.18's `fs/proc/task_mmu.c` (`show_map_vma`, `show_smap`), checked byte
//! for byte against a real kernel:
//!
//! ```text
//! 560208b3e000-560208b40000 r--p 00000000 fe:00 247030                     /usr/bin/cat
//! 5602091af000-5602091d0000 rw-p 00000000 00:00 0                          [heap]
//! 7f0194c50000-7f0194c72000 rw-p 00000000 00:00 0
//! ```
//!
//! Addresses and the offset are lower-case hex padded to 8 digits, the device `%02x:%02x`,
//! the inode decimal; a name is padded to column 73 and a nameless line ends in a space. Names
//! come from the mapped object's [`MapIdentity`] (a file's path; shared
//! anonymous memory is `/dev/zero (deleted)` on device `00:01`), else from the VMA's kind:
//! `[heap]`, `[stack]`, `[vdso]`, `[vvar]`.
//!
//! smaps adds per-VMA sizes in kB. Without accessed or dirty bits from the page table, a page
//! counts as referenced when present, and as dirty when it is anonymous (private, or shared
//! anonymous memory) or mapped writable (a written private copy of a file page, or a shared
//! file page made writable by its first write). Pss divides each page by the number of its
//! mappings (its frame's reference count, minus the shared object's own). There is no
//! `ProtectionKey` line (oxv does not enable protection keys).

use super::pages::Mapping;
use super::{AddressSpace, page_of};
use crate::addr::{HUGE_PAGE_SIZE_U64, PAGE_SIZE_U64, Page};
use crate::frame::FrameSource;
use crate::paging::{PageTable, PteFlags};
use crate::vma::{Backing, MapIdentity, Prot, SharedObject, Vma, VmaFlags, VmaKind};
use alloc::string::String;
use core::fmt::{self, Write};

/// Linux's Pss fixed-point shift.
const PSS_SHIFT: u32 = 12;

/// One VMA's smaps counters, in bytes (Pss values shifted by [`PSS_SHIFT`]).
#[derive(Default)]
struct SmapsCounts {
    rss: u64,
    pss: u64,
    pss_dirty: u64,
    shared_clean: u64,
    shared_dirty: u64,
    private_clean: u64,
    private_dirty: u64,
    anonymous: u64,
    anon_huge: u64,
    pss_locked: u64,
}

/// What an address space holds, for `/proc/meminfo` (see [`Meminfo`](crate::Meminfo)).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct MemoryUsage {
    /// Pages of private anonymous memory (and written copies of file pages) mapped
    /// (`AnonPages`).
    pub anon_pages: u64,
    /// File pages mapped, private clean copies and shared page-cache pages (`Mapped`).
    pub file_pages: u64,
    /// Shared anonymous pages mapped (`Shmem`).
    pub shmem_pages: u64,
    /// Mapped pages of locked VMAs (`Mlocked`).
    pub locked_pages: u64,
    /// Of `anon_pages`, those in 2 MiB pages (`AnonHugePages`).
    pub anon_huge_pages: u64,
    /// Bytes of memory charged to the commit limit (`Committed_AS`).
    pub committed_bytes: u64,
    /// Frames used by intermediate page tables (`PageTables`), if the page table counts them.
    pub page_table_frames: u64,
}

impl<P: PageTable> AddressSpace<P> {
    /// Writes `/proc/<pid>/maps`.
    pub fn render_maps(&self, out: &mut dyn Write) -> fmt::Result {
        for v in self.vmas.values() {
            write_header(v, out)?;
        }
        Ok(())
    }

    /// Writes `/proc/<pid>/smaps`; `frames` gives the reference counts Pss needs.
    pub fn render_smaps(&self, frames: &dyn FrameSource, out: &mut dyn Write) -> fmt::Result {
        for v in self.vmas.values() {
            write_header(v, out)?;
            let c = self.smaps_counts(v, frames);
            let kb = |bytes: u64| bytes >> 10;
            let lines: [(&str, u64); 22] = [
                ("Size:", kb(v.len())),
                ("KernelPageSize:", 4),
                ("MMUPageSize:", 4),
                ("Rss:", kb(c.rss)),
                ("Pss:", kb(c.pss >> PSS_SHIFT)),
                ("Pss_Dirty:", kb(c.pss_dirty >> PSS_SHIFT)),
                ("Shared_Clean:", kb(c.shared_clean)),
                ("Shared_Dirty:", kb(c.shared_dirty)),
                ("Private_Clean:", kb(c.private_clean)),
                ("Private_Dirty:", kb(c.private_dirty)),
                ("Referenced:", kb(c.rss)),
                ("Anonymous:", kb(c.anonymous)),
                ("KSM:", 0),
                ("LazyFree:", 0),
                ("AnonHugePages:", kb(c.anon_huge)),
                ("ShmemPmdMapped:", 0),
                ("FilePmdMapped:", 0),
                ("Shared_Hugetlb:", 0),
                ("Private_Hugetlb:", 0),
                ("Swap:", 0),
                ("SwapPss:", 0),
                ("Locked:", kb(c.pss_locked >> PSS_SHIFT)),
            ];
            for (label, value) in lines {
                writeln!(out, "{label:<16}{value:>8} kB")?;
            }
            let eligible = self.huge_allowed(v) && holds_huge_range(v);
            writeln!(out, "{:<16}{:>8}", "THPeligible:", u8::from(eligible))?;
            write_vm_flags(v, out)?;
        }
        Ok(())
    }

    /// What this address space holds, for `/proc/meminfo`.
    pub fn memory_usage(&self) -> MemoryUsage {
        let mut u = MemoryUsage {
            page_table_frames: self.page_table.table_frames() as u64,
            ..MemoryUsage::default()
        };
        for v in self.vmas.values() {
            if v.flags.contains(VmaFlags::ACCOUNT) {
                u.committed_bytes += v.len();
            }
            self.for_each_mapping(v, |m| {
                let (pages, huge, writable) = match m {
                    Mapping::Small { flags, .. } => (1, false, flags.contains(PteFlags::WRITABLE)),
                    Mapping::Huge { flags, .. } => (
                        HUGE_PAGE_SIZE_U64 / PAGE_SIZE_U64,
                        true,
                        flags.contains(PteFlags::WRITABLE),
                    ),
                };
                match &v.backing {
                    Backing::Anonymous => {
                        u.anon_pages += pages;
                        if huge {
                            u.anon_huge_pages += pages;
                        }
                    }
                    Backing::File(_) if writable => u.anon_pages += pages,
                    Backing::File(_) => u.file_pages += pages,
                    Backing::Shared(s) => match s.object {
                        SharedObject::Anonymous(_) => u.shmem_pages += pages,
                        SharedObject::File(_) => u.file_pages += pages,
                    },
                }
                if v.flags.contains(VmaFlags::LOCKED) {
                    u.locked_pages += pages;
                }
            });
        }
        u
    }

    /// Calls `f` for every present translation inside `vma`.
    fn for_each_mapping(&self, vma: &Vma, mut f: impl FnMut(Mapping)) {
        let end = page_of(vma.end);
        let mut cursor = page_of(vma.start);
        while let Some(m) = self.next_mapping(cursor, end) {
            f(m);
            cursor = match m {
                Mapping::Small { page, .. } => page.add(1),
                Mapping::Huge { page, .. } => {
                    Page::containing_address(crate::VirtAddr::new(page.end()))
                }
            };
        }
    }

    fn smaps_counts(&self, v: &Vma, frames: &dyn FrameSource) -> SmapsCounts {
        let mut c = SmapsCounts::default();
        let object_ref = u32::from(matches!(v.backing, Backing::Shared(_)));
        self.for_each_mapping(v, |m| {
            let (size, refs, writable, huge) = match m {
                Mapping::Small { frame, flags, .. } => (
                    PAGE_SIZE_U64,
                    frames.ref_count(frame).unwrap_or(1),
                    flags.contains(PteFlags::WRITABLE),
                    false,
                ),
                Mapping::Huge { block, flags, .. } => (
                    HUGE_PAGE_SIZE_U64,
                    frames
                        .huge_ref_count(block)
                        .or_else(|| frames.ref_count(block.frame(0)))
                        .unwrap_or(1),
                    flags.contains(PteFlags::WRITABLE),
                    true,
                ),
            };
            let mapcount = u64::from(refs.saturating_sub(object_ref).max(1));
            let (anonymous, dirty) = match &v.backing {
                Backing::Anonymous => (true, true),
                Backing::File(_) => (writable, writable),
                Backing::Shared(s) => (
                    false,
                    matches!(s.object, SharedObject::Anonymous(_)) || writable,
                ),
            };
            let pss = (size << PSS_SHIFT) / mapcount;
            c.rss += size;
            c.pss += pss;
            if dirty {
                c.pss_dirty += pss;
            }
            match (mapcount > 1, dirty) {
                (true, true) => c.shared_dirty += size,
                (true, false) => c.shared_clean += size,
                (false, true) => c.private_dirty += size,
                (false, false) => c.private_clean += size,
            }
            if anonymous {
                c.anonymous += size;
                if huge {
                    c.anon_huge += size;
                }
            }
            if v.flags.contains(VmaFlags::LOCKED) {
                c.pss_locked += pss;
            }
        });
        c
    }
}

/// Whether `v` holds a whole, aligned 2 MiB range.
fn holds_huge_range(v: &Vma) -> bool {
    let first = v.start.next_multiple_of(HUGE_PAGE_SIZE_U64);
    first
        .checked_add(HUGE_PAGE_SIZE_U64)
        .is_some_and(|e| e <= v.end)
}

/// The device, inode and name `/proc/<pid>/maps` shows for `v`.
fn identity(v: &Vma) -> MapIdentity {
    let from_object = match &v.backing {
        Backing::Anonymous => None,
        Backing::File(f) => Some(f.source.identity()),
        Backing::Shared(s) => Some(s.object.source().identity()),
    };
    let mut id = from_object.unwrap_or_default();
    if id.path.is_empty() {
        let name = match v.kind {
            VmaKind::Heap => "[heap]",
            VmaKind::Stack => "[stack]",
            VmaKind::Vdso => "[vdso]",
            VmaKind::Vvar => "[vvar]",
            VmaKind::Anonymous | VmaKind::File | VmaKind::ElfSegment => "",
        };
        id.path = String::from(name);
    }
    id
}

/// One `/proc/<pid>/maps` line (Linux's `show_vma_header_prefix` and `show_map_vma`).
fn write_header(v: &Vma, out: &mut dyn Write) -> fmt::Result {
    /// Names start after padding to this column (`25 + sizeof(void *) * 6 - 1`), plus a space.
    const NAME_COLUMN: usize = 25 + 8 * 6 - 1;
    let id = identity(v);
    let flag = |p: Prot, c: char| if v.prot.contains(p) { c } else { '-' };
    let mut line = String::new();
    write!(
        line,
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        v.start,
        v.end,
        flag(Prot::READ, 'r'),
        flag(Prot::WRITE, 'w'),
        flag(Prot::EXEC, 'x'),
        if v.flags.contains(VmaFlags::SHARED) {
            's'
        } else {
            'p'
        },
        v.object_offset(),
        id.dev_major,
        id.dev_minor,
        id.inode,
    )?;
    if !id.path.is_empty() {
        while line.len() < NAME_COLUMN {
            line.push(' ');
        }
        line.push(' ');
        line.push_str(&id.path);
    }
    out.write_str(&line)?;
    out.write_char('\n')
}

/// smaps' `VmFlags:` line, two letters per flag in Linux's bit order.
fn write_vm_flags(v: &Vma, out: &mut dyn Write) -> fmt::Result {
    let f = v.flags;
    let table: [(bool, &str); 21] = [
        (v.prot.contains(Prot::READ), "rd"),
        (v.prot.contains(Prot::WRITE), "wr"),
        (v.prot.contains(Prot::EXEC), "ex"),
        (v.is_write_shared(), "sh"),
        (f.contains(VmaFlags::MAY_READ), "mr"),
        (f.contains(VmaFlags::MAY_WRITE), "mw"),
        (f.contains(VmaFlags::MAY_EXEC), "me"),
        (f.contains(VmaFlags::SHARED), "ms"),
        (f.contains(VmaFlags::GROWS_DOWN), "gd"),
        (f.contains(VmaFlags::LOCKED), "lo"),
        (f.contains(VmaFlags::SEQ_READ), "sr"),
        (f.contains(VmaFlags::RAND_READ), "rr"),
        (f.contains(VmaFlags::DONT_COPY), "dc"),
        (f.contains(VmaFlags::DONT_EXPAND), "de"),
        (f.contains(VmaFlags::LOCK_ON_FAULT), "lf"),
        (f.contains(VmaFlags::ACCOUNT), "ac"),
        (f.contains(VmaFlags::NORESERVE), "nr"),
        (f.contains(VmaFlags::WIPE_ON_FORK), "wf"),
        (f.contains(VmaFlags::DONT_DUMP), "dd"),
        (f.contains(VmaFlags::HUGEPAGE), "hg"),
        (f.contains(VmaFlags::NO_HUGEPAGE), "nh"),
    ];
    out.write_str("VmFlags: ")?;
    for (set, name) in table {
        if set {
            out.write_str(name)?;
            out.write_char(' ')?;
        }
    }
    out.write_char('\n')
}
