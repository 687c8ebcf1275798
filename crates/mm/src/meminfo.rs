//! `/proc/meminfo`, in Linux's exact format.
//!
//! proc(5) and Linux 6.18's `fs/proc/meminfo.c`: one `Label:` padded to 16 columns, the value
//! right-aligned in 8, then ` kB` (the `HugePages_*` counts have no unit). Lines Linux prints
//! only with some configuration (`Zswap`, `Balloon`, `CmaTotal`, ...) are left out, as a
//! kernel built without those options does.
//!
//! [`Meminfo::new`] derives every line oxv-mm knows from the frame allocator's counts
//! ([`FrameStats`], per-CPU caches included) and the address spaces'
//! [`MemoryUsage`]; the kernel fills the rest (page cache, kernel heap, direct map) by field
//! and calls [`Meminfo::render`].

use crate::addr::PAGE_SIZE;
use crate::aspace::proc::MemoryUsage;
use crate::frame::FrameStats;
use core::fmt::{self, Write};

/// The numbers of `/proc/meminfo`, each in kB. Fields not set stay 0.
#[non_exhaustive]
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct Meminfo {
    /// `MemTotal`: RAM the frame allocator manages.
    pub total: u64,
    /// `MemFree`: free frames, per-CPU caches included.
    pub free: u64,
    /// `MemAvailable`: what a new program could get without swapping.
    pub available: u64,
    /// `Cached`: page cache (file data held in memory, tmpfs included).
    pub cached: u64,
    /// `Active(anon)`.
    pub active_anon: u64,
    /// `Active(file)`.
    pub active_file: u64,
    /// `Unevictable`.
    pub unevictable: u64,
    /// `Mlocked`.
    pub mlocked: u64,
    /// `Dirty`: page-cache data not yet written back.
    pub dirty: u64,
    /// `AnonPages`.
    pub anon_pages: u64,
    /// `Mapped`.
    pub mapped: u64,
    /// `Shmem`.
    pub shmem: u64,
    /// `SUnreclaim` (and `Slab`): the kernel heap in use.
    pub slab_unreclaimable: u64,
    /// `KernelStack`.
    pub kernel_stack: u64,
    /// `PageTables`.
    pub page_tables: u64,
    /// `CommitLimit`: half of RAM (no swap, `vm.overcommit_ratio` 50).
    pub commit_limit: u64,
    /// `Committed_AS`.
    pub committed_as: u64,
    /// `AnonHugePages`.
    pub anon_huge_pages: u64,
    /// `DirectMap4k`: the kernel's direct map, by page size.
    pub direct_map_4k: u64,
    /// `DirectMap2M`.
    pub direct_map_2m: u64,
    /// `DirectMap1G`.
    pub direct_map_1g: u64,
}

/// `VmallocTotal` on x86_64 with 4-level paging (32 TiB minus one kB, as Linux prints it).
const VMALLOC_TOTAL_KB: u64 = 34_359_738_367;

impl Meminfo {
    /// The lines oxv-mm can fill: RAM and free memory from `frames`, the rest from `usage`
    /// (summed over address spaces).
    pub fn new(frames: FrameStats, usage: &MemoryUsage) -> Self {
        let kb = |pages: u64| pages * (PAGE_SIZE as u64 / 1024);
        let total = kb(frames.total_frames as u64);
        let free = kb(frames.free_total() as u64);
        Meminfo {
            total,
            free,
            available: free,
            active_anon: kb(usage.anon_pages + usage.shmem_pages),
            unevictable: kb(usage.locked_pages),
            mlocked: kb(usage.locked_pages),
            anon_pages: kb(usage.anon_pages),
            mapped: kb(usage.file_pages + usage.shmem_pages),
            shmem: kb(usage.shmem_pages),
            page_tables: kb(usage.page_table_frames),
            commit_limit: total / 2,
            committed_as: usage.committed_bytes / 1024,
            anon_huge_pages: kb(usage.anon_huge_pages),
            ..Meminfo::default()
        }
    }

    /// Writes the file.
    pub fn render(&self, out: &mut dyn Write) -> fmt::Result {
        let m = self;
        let kb_lines: [(&str, u64); 42] = [
            ("MemTotal:", m.total),
            ("MemFree:", m.free),
            ("MemAvailable:", m.available),
            ("Buffers:", 0),
            ("Cached:", m.cached),
            ("SwapCached:", 0),
            ("Active:", m.active_anon + m.active_file),
            ("Inactive:", 0),
            ("Active(anon):", m.active_anon),
            ("Inactive(anon):", 0),
            ("Active(file):", m.active_file),
            ("Inactive(file):", 0),
            ("Unevictable:", m.unevictable),
            ("Mlocked:", m.mlocked),
            ("SwapTotal:", 0),
            ("SwapFree:", 0),
            ("Dirty:", m.dirty),
            ("Writeback:", 0),
            ("AnonPages:", m.anon_pages),
            ("Mapped:", m.mapped),
            ("Shmem:", m.shmem),
            ("KReclaimable:", 0),
            ("Slab:", m.slab_unreclaimable),
            ("SReclaimable:", 0),
            ("SUnreclaim:", m.slab_unreclaimable),
            ("KernelStack:", m.kernel_stack),
            ("PageTables:", m.page_tables),
            ("SecPageTables:", 0),
            ("NFS_Unstable:", 0),
            ("Bounce:", 0),
            ("WritebackTmp:", 0),
            ("CommitLimit:", m.commit_limit),
            ("Committed_AS:", m.committed_as),
            ("VmallocTotal:", VMALLOC_TOTAL_KB),
            ("VmallocUsed:", 0),
            ("VmallocChunk:", 0),
            ("Percpu:", 0),
            ("AnonHugePages:", m.anon_huge_pages),
            ("ShmemHugePages:", 0),
            ("ShmemPmdMapped:", 0),
            ("FileHugePages:", 0),
            ("FilePmdMapped:", 0),
        ];
        for (label, value) in kb_lines {
            writeln!(out, "{label:<16}{value:>8} kB")?;
        }
        for label in [
            "HugePages_Total:",
            "HugePages_Free:",
            "HugePages_Rsvd:",
            "HugePages_Surp:",
        ] {
            writeln!(out, "{label:<16}{:>8}", 0)?;
        }
        let tail: [(&str, u64); 5] = [
            ("Hugepagesize:", 2048),
            ("Hugetlb:", 0),
            ("DirectMap4k:", m.direct_map_4k),
            ("DirectMap2M:", m.direct_map_2m),
            ("DirectMap1G:", m.direct_map_1g),
        ];
        for (label, value) in tail {
            writeln!(out, "{label:<16}{value:>8} kB")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn renders_linux_layout() {
        let stats = FrameStats {
            total_frames: 32768,
            free_frames: 30000,
            cached_frames: 16,
        };
        let usage = MemoryUsage {
            anon_pages: 100,
            file_pages: 20,
            shmem_pages: 3,
            locked_pages: 2,
            anon_huge_pages: 0,
            committed_bytes: 1 << 20,
            page_table_frames: 5,
        };
        let mut info = Meminfo::new(stats, &usage);
        info.direct_map_2m = 131072;
        let mut s = String::new();
        info.render(&mut s).unwrap();
        let lines: std::vec::Vec<&str> = s.lines().collect();
        // Byte-exact lines as Linux prints them.
        assert_eq!(lines[0], "MemTotal:         131072 kB");
        assert_eq!(lines[1], "MemFree:          120064 kB");
        assert!(lines.contains(&"AnonPages:           400 kB"));
        assert!(lines.contains(&"Mapped:               92 kB"));
        assert!(lines.contains(&"Committed_AS:       1024 kB"));
        assert!(lines.contains(&"PageTables:           20 kB"));
        assert!(lines.contains(&"VmallocTotal:   34359738367 kB"));
        assert!(lines.contains(&"HugePages_Total:       0"));
        assert!(lines.contains(&"Hugepagesize:       2048 kB"));
        assert_eq!(lines.last(), Some(&"DirectMap1G:           0 kB"));
        assert!(lines.iter().all(|l| l.len() >= 24), "{s}");
        assert_eq!(lines.len(), 51);
    }
}
