//! The size limits of one tmpfs and what it uses of them, as Linux's tmpfs keeps them
//! (`max_blocks`/`used_blocks` and `max_inodes`/`free_ispace` in mm/shmem.c; man 5 tmpfs).
//!
//! A tmpfs has a block limit (pages of file data, the `size=` and `nr_blocks=` mount options)
//! and an inode limit (`nr_inodes=`); 0 means unlimited, as on Linux. Every inode of the
//! instance shares one [`Usage`]: a file's page is charged before a frame is taken for it and
//! uncharged when the file lets the frame go (truncation, hole punching, the last reference to
//! the file), so the count is exact whichever way pages come and go (write(2), fallocate(2), a
//! fault in a `MAP_SHARED` mapping). Past the limit a charge fails and the caller reports
//! `ENOSPC` (a `SIGBUS` for a fault). Inodes are counted as Linux counts them: each inode
//! (the root included) and each extra hard link of a non-directory costs one.
//!
//! Linux's defaults are half of RAM for both: `size` is `totalram_pages / 2` pages and
//! `nr_inodes` is `min(totalram_pages - highmem, totalram_pages / 2)`, which on x86_64 (no
//! highmem) is also `totalram_pages / 2` ([`TmpfsLimits::half_of_ram`]). What it is not: a
//! charge of the kernel memory directories, symlinks and extended attributes take (Linux
//! charges a long symlink's page and xattr bytes against the inode space; oxv does neither).

use oxv_abi::Errno;
use spin::Mutex;

/// The limits of one tmpfs, in 4 KiB pages and inodes; 0 is no limit.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TmpfsLimits {
    /// Pages of file data (`nr_blocks=`, or `size=` rounded up to pages).
    pub blocks: u64,
    /// Inodes, the root included (`nr_inodes=`).
    pub inodes: u64,
}

impl TmpfsLimits {
    /// No limit on either (Linux's `size=0,nr_inodes=0`; memfd's internal mount).
    pub const UNLIMITED: TmpfsLimits = TmpfsLimits {
        blocks: 0,
        inodes: 0,
    };

    /// Linux's defaults for a machine with `ram_pages` pages of RAM and no highmem: half of
    /// RAM for data, and as many inodes as that is pages.
    pub fn half_of_ram(ram_pages: u64) -> TmpfsLimits {
        TmpfsLimits {
            blocks: (ram_pages / 2).max(1),
            inodes: (ram_pages / 2).max(1),
        }
    }
}

/// What a tmpfs uses of its [`TmpfsLimits`], shared by all its inodes. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Usage {
    counts: Mutex<Counts>,
    /// The machine's RAM in pages, if the embedder said (`size=N%`, and the bound on one
    /// fallocate(2) of an unlimited tmpfs).
    ram_pages: Option<u64>,
}

#[derive(Debug)]
struct Counts {
    limits: TmpfsLimits,
    blocks: u64,
    inodes: u64,
}

/// What statfs(2) shows of a tmpfs: its limits and what is in use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UsageFigures {
    /// The limits (0: none).
    pub limits: TmpfsLimits,
    /// Pages of file data held.
    pub blocks: u64,
    /// Inodes (and extra links) held.
    pub inodes: u64,
}

impl Usage {
    /// Nothing used yet, within `limits`, on a machine with `ram_pages` of RAM if known.
    pub fn new(limits: TmpfsLimits, ram_pages: Option<u64>) -> Usage {
        Usage {
            counts: Mutex::new(Counts {
                limits,
                blocks: 0,
                inodes: 0,
            }),
            ram_pages,
        }
    }

    /// No limits and RAM unknown (file data on the heap, in tests and tools).
    pub fn unlimited() -> Usage {
        Usage::new(TmpfsLimits::UNLIMITED, None)
    }

    /// The machine's RAM in pages, if known.
    pub fn ram_pages(&self) -> Option<u64> {
        self.ram_pages
    }

    /// The limits, the pages and the inodes in use.
    pub fn figures(&self) -> UsageFigures {
        let c = self.counts.lock();
        UsageFigures {
            limits: c.limits,
            blocks: c.blocks,
            inodes: c.inodes,
        }
    }

    /// How many more pages may be charged: what is left under the block limit, or, without
    /// one, what RAM could hold at most (`None`: RAM unknown, no bound).
    pub fn room(&self) -> Option<u64> {
        let c = self.counts.lock();
        if c.limits.blocks != 0 {
            Some(c.limits.blocks.saturating_sub(c.blocks))
        } else {
            self.ram_pages.map(|ram| ram.saturating_sub(c.blocks))
        }
    }

    /// Charges `pages` pages of data: `ENOSPC` (nothing charged) if that passes the limit.
    pub fn charge_blocks(&self, pages: u64) -> Result<(), Errno> {
        let mut c = self.counts.lock();
        let after = c.blocks.checked_add(pages).ok_or(Errno::ENOSPC)?;
        if c.limits.blocks != 0 && after > c.limits.blocks {
            return Err(Errno::ENOSPC);
        }
        c.blocks = after;
        Ok(())
    }

    /// Gives back `pages` pages charged by [`charge_blocks`](Self::charge_blocks).
    pub fn release_blocks(&self, pages: u64) {
        let mut c = self.counts.lock();
        debug_assert!(c.blocks >= pages, "only charged pages are released");
        c.blocks = c.blocks.saturating_sub(pages);
    }

    /// Charges one inode (or hard link): `ENOSPC` past the inode limit.
    pub fn charge_inode(&self) -> Result<(), Errno> {
        let mut c = self.counts.lock();
        if c.limits.inodes != 0 && c.inodes >= c.limits.inodes {
            return Err(Errno::ENOSPC);
        }
        c.inodes += 1;
        Ok(())
    }

    /// Gives back one inode charged by [`charge_inode`](Self::charge_inode).
    pub fn release_inode(&self) {
        let mut c = self.counts.lock();
        debug_assert!(c.inodes > 0, "only charged inodes are released");
        c.inodes = c.inodes.saturating_sub(1);
    }

    /// Changes the limits as a remount does (Linux's `shmem_reconfigure`): `None` keeps one.
    /// `EINVAL` (nothing changed) for a limit below what is in use, or for limiting what had
    /// no limit ("Cannot retroactively limit size"); 0 lifts a limit.
    pub fn reconfigure(&self, blocks: Option<u64>, inodes: Option<u64>) -> Result<(), Errno> {
        let mut c = self.counts.lock();
        if let Some(b) = blocks.filter(|&b| b != 0)
            && (c.limits.blocks == 0 || b < c.blocks)
        {
            return Err(Errno::EINVAL);
        }
        if let Some(i) = inodes.filter(|&i| i != 0)
            && (c.limits.inodes == 0 || i < c.inodes)
        {
            return Err(Errno::EINVAL);
        }
        if let Some(b) = blocks {
            c.limits.blocks = b;
        }
        if let Some(i) = inodes {
            c.limits.inodes = i;
        }
        Ok(())
    }

    /// Sets the limits without the remount checks: for a tmpfs being set up (a new mount's
    /// options; the root after the initramfs is unpacked into it).
    pub fn set_limits(&self, limits: TmpfsLimits) {
        self.counts.lock().limits = limits;
    }
}
