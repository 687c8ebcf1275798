//! The state of one mounted ext2 file system: its geometry, the in-memory superblock and
//! group descriptors, inode slots, and block and inode allocation.
//!
//! Everything here runs under the file system's one lock ([`super::Shared`]); the methods
//! take `&mut self` and never call back into the VFS. The superblock and group descriptors
//! are kept decoded in memory and encoded into their buffers only when written back (their
//! free counts change with every allocation), as Linux's ext2 does.
//!
//! Allocation follows Linux ext2's policy in its simplest form: a file's blocks go as close
//! as possible after the block before them (so files stay contiguous and runs coalesce into
//! one device request), new files go in their directory's group, new directories in the
//! group with the most free blocks among those with at least the average of free inodes.

use super::MountError;
use super::cache::{BlockCache, Phase};
use super::layout::*;
use crate::block::{BlockDevice, SECTOR_SIZE};
use crate::time::Timestamp;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use oxv_abi::Errno;
use zerocopy::{FromBytes, IntoBytes};

/// Fixed facts about the file system, checked once at mount.
#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    pub block_size: usize,
    pub blocks_count: u32,
    pub first_data_block: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub inodes_count: u32,
    pub inode_size: usize,
    pub first_ino: u32,
    pub groups: u32,
    pub inode_table_blocks: u32,
    /// Block pointers per indirect block.
    pub ptrs: u64,
    /// 512-byte sectors per block (the unit of `i_blocks`).
    pub sectors_per_block: u32,
    /// First block of the group descriptor table.
    pub gdt_block: u64,
    pub gdt_blocks: u32,
    pub sparse_super: bool,
    pub filetype: bool,
    pub reserved_gdt_blocks: u32,
    /// The largest file size, in bytes.
    pub max_file_size: u64,
}

impl Geometry {
    /// Checks the superblock of a file system on a device of `capacity` bytes, as Linux's
    /// `ext2_fill_super` does, and derives the geometry.
    pub fn from_superblock(
        sb: &Superblock,
        capacity: u64,
        writable: bool,
    ) -> Result<Geometry, MountError> {
        if sb.s_magic.get() != MAGIC {
            return Err(MountError::NotExt2);
        }
        let rev = sb.s_rev_level.get();
        let (incompat, ro_compat) = if rev == GOOD_OLD_REV {
            (0, 0)
        } else {
            (sb.s_feature_incompat.get(), sb.s_feature_ro_compat.get())
        };
        let unknown = incompat & !incompat::SUPPORTED;
        if unknown != 0 {
            return Err(MountError::Incompatible(unknown));
        }
        let unknown_ro = ro_compat & !ro_compat::SUPPORTED;
        if writable && unknown_ro != 0 {
            return Err(MountError::ReadOnlyFeatures(unknown_ro));
        }
        let log = sb.s_log_block_size.get();
        if log > 6 {
            return Err(MountError::Corrupt("block size"));
        }
        let block_size = 1024usize << log;
        let (inode_size, first_ino) = if rev == GOOD_OLD_REV {
            (GOOD_OLD_INODE_SIZE, GOOD_OLD_FIRST_INO)
        } else {
            (sb.s_inode_size.get() as usize, sb.s_first_ino.get())
        };
        if inode_size < GOOD_OLD_INODE_SIZE
            || !inode_size.is_power_of_two()
            || inode_size > block_size
        {
            return Err(MountError::Corrupt("inode size"));
        }
        let blocks_count = sb.s_blocks_count.get();
        let first_data_block = sb.s_first_data_block.get();
        let bpg = sb.s_blocks_per_group.get();
        let ipg = sb.s_inodes_per_group.get();
        let bits = 8 * block_size as u32;
        if bpg == 0 || bpg > bits || ipg == 0 || ipg > bits {
            return Err(MountError::Corrupt("group size"));
        }
        if first_data_block >= blocks_count || (block_size == 1024) != (first_data_block == 1) {
            return Err(MountError::Corrupt("first data block"));
        }
        let groups = (blocks_count - first_data_block).div_ceil(bpg);
        let inodes_count = sb.s_inodes_count.get();
        if groups as u64 * ipg as u64 != inodes_count as u64 {
            return Err(MountError::Corrupt("inode count"));
        }
        if first_ino <= ROOT_INO || first_ino > inodes_count {
            return Err(MountError::Corrupt("first inode"));
        }
        if (blocks_count as u64) * block_size as u64 > capacity {
            return Err(MountError::TooSmall {
                needed: blocks_count as u64 * block_size as u64,
                capacity,
            });
        }
        // Linux's ext4 refuses more than a block of pointers' worth ("insanely large"); ext2
        // does not check, but every group with a superblock backup loses this many blocks,
        // and a count past the group's size makes the overhead larger than the disk.
        let reserved_gdt_blocks = if sb.s_feature_compat.get() & compat::RESIZE_INODE != 0 {
            sb.s_reserved_gdt_blocks.get() as u32
        } else {
            0
        };
        if reserved_gdt_blocks as usize > block_size / 4 {
            return Err(MountError::Corrupt("reserved GDT blocks"));
        }
        let per_block = block_size / GROUP_DESC_SIZE;
        let gdt_blocks = (groups as usize).div_ceil(per_block) as u32;
        let inode_table_blocks = (ipg as usize * inode_size).div_ceil(block_size) as u32;
        let ptrs = (block_size / 4) as u64;
        let sectors_per_block = (block_size / SECTOR_SIZE) as u32;
        Ok(Geometry {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group: bpg,
            inodes_per_group: ipg,
            inodes_count,
            inode_size,
            first_ino,
            groups,
            inode_table_blocks,
            ptrs,
            sectors_per_block,
            gdt_block: first_data_block as u64 + 1,
            gdt_blocks,
            sparse_super: ro_compat & ro_compat::SPARSE_SUPER != 0,
            filetype: incompat & incompat::FILETYPE != 0,
            reserved_gdt_blocks,
            max_file_size: max_file_size(block_size as u64, ptrs),
        })
    }

    /// First block of group `g`.
    pub fn group_first_block(&self, g: u32) -> u32 {
        self.first_data_block + g * self.blocks_per_group
    }

    /// Blocks in group `g` (the last group may be short).
    pub fn blocks_in_group(&self, g: u32) -> u32 {
        (self.blocks_count - self.group_first_block(g)).min(self.blocks_per_group)
    }

    /// The group of block `b`.
    pub fn group_of_block(&self, b: u32) -> u32 {
        (b - self.first_data_block) / self.blocks_per_group
    }

    /// The group of inode `ino`.
    pub fn group_of_inode(&self, ino: u32) -> u32 {
        (ino - 1) / self.inodes_per_group
    }

    /// Blocks of group `g` taken by a superblock backup and the group descriptor table
    /// (with its reserved growth), if it has them.
    pub fn super_blocks_in_group(&self, g: u32) -> u32 {
        if group_has_super(g, self.sparse_super) {
            1 + self.gdt_blocks + self.reserved_gdt_blocks
        } else {
            0
        }
    }

    /// Blocks that hold no file data: the boot block(s), superblocks, descriptor tables,
    /// bitmaps and inode tables (what statfs(2) leaves out of `f_blocks`, as Linux's ext2
    /// does by default).
    pub fn overhead_blocks(&self) -> u64 {
        let mut n = self.first_data_block as u64;
        for g in 0..self.groups {
            n += (self.super_blocks_in_group(g) + 2 + self.inode_table_blocks) as u64;
        }
        n
    }
}

/// The largest file the block map reaches, as Linux's `ext2_max_size`: the blocks reachable
/// through direct, single, double and triple indirect pointers, limited so that `i_blocks`
/// (counted in 512-byte sectors, indirect blocks included) fits in 32 bits.
fn max_file_size(block_size: u64, ptrs: u64) -> u64 {
    let reach = DIRECT_BLOCKS as u64 + ptrs + ptrs * ptrs + ptrs * ptrs * ptrs;
    // Metadata blocks a file of `n` data blocks needs at most.
    let sectors_per_block = block_size / SECTOR_SIZE as u64;
    let limit_sectors = u32::MAX as u64;
    let mut data = limit_sectors / sectors_per_block;
    let meta = 1 + 1 + ptrs + 1 + ptrs + ptrs * ptrs;
    data = data.saturating_sub(meta);
    reach.min(data) * block_size
}

/// The mounted file system's state. See the [module docs](self).
pub(crate) struct FsState {
    pub cache: BlockCache,
    pub geo: Geometry,
    pub sb: Superblock,
    sb_dirty: bool,
    groups: Vec<GroupDesc>,
    groups_dirty: BTreeSet<u32>,
    pub read_only: bool,
    /// The live inode handles, so that one inode has one handle at a time.
    pub nodes: BTreeMap<u32, Weak<super::node::Ext2Node>>,
    next_generation: u32,
    /// The latest time an operation was stamped with (for the superblock's write time).
    pub last_time: i64,
    /// Where page caches get their frames; without it files cannot be mapped shared.
    pub page_memory: Option<Arc<dyn crate::tmpfs::FileMemory>>,
    /// The page caches of files mapped shared, by inode (see [`super::pages`]).
    pub page_caches: BTreeMap<u32, Arc<super::pages::FilePages>>,
    /// Pages dirtied through mappings since the dirty ones were last written back (see
    /// `pages::FsState::balance_dirty`).
    pub pages_dirtied: usize,
}

impl FsState {
    /// Reads and checks the superblock and group descriptors of `dev`.
    pub fn open(
        dev: Arc<dyn BlockDevice>,
        read_only: bool,
        cache_bytes: usize,
        now: Timestamp,
    ) -> Result<FsState, MountError> {
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        let first = SUPERBLOCK_OFFSET / SECTOR_SIZE as u64;
        dev.read_sectors(first, &mut raw)
            .map_err(MountError::Device)?;
        let mut sb = Superblock::read_from_bytes(&raw).expect("the buffer is a superblock's size");
        let read_only = read_only || dev.read_only();
        let geo = Geometry::from_superblock(&sb, dev.capacity(), !read_only)?;
        let capacity = (cache_bytes / geo.block_size).max(16);
        let mut cache = BlockCache::new(dev, geo.block_size, capacity);
        let per_block = geo.block_size / GROUP_DESC_SIZE;
        let mut groups = Vec::with_capacity(geo.groups as usize);
        for i in 0..geo.gdt_blocks {
            let block = cache
                .read(geo.gdt_block + i as u64)
                .map_err(|_| MountError::Device(crate::block::BlockError::Io))?;
            for k in 0..per_block {
                if groups.len() == geo.groups as usize {
                    break;
                }
                let at = k * GROUP_DESC_SIZE;
                let gd = GroupDesc::read_from_bytes(&block[at..at + GROUP_DESC_SIZE])
                    .expect("a descriptor-sized slice");
                groups.push(gd);
            }
        }
        for (g, gd) in groups.iter().enumerate() {
            let first = geo.group_first_block(g as u32);
            let end = first + geo.blocks_in_group(g as u32);
            let inside = |b: u32| b >= first && b < end;
            let table = gd.bg_inode_table.get();
            if !inside(gd.bg_block_bitmap.get())
                || !inside(gd.bg_inode_bitmap.get())
                || !inside(table)
                || table
                    .checked_add(geo.inode_table_blocks - 1)
                    .is_none_or(|t| !inside(t))
            {
                return Err(MountError::Corrupt("group descriptor"));
            }
        }
        let mut st = FsState {
            cache,
            geo,
            sb,
            sb_dirty: false,
            groups,
            groups_dirty: BTreeSet::new(),
            read_only,
            nodes: BTreeMap::new(),
            next_generation: now.nanos ^ now.secs as u32,
            last_time: now.secs,
            page_memory: None,
            page_caches: BTreeMap::new(),
            pages_dirtied: 0,
        };
        // Like Linux, trust the group descriptors over the superblock's summary counts.
        let free_blocks: u64 = st
            .groups
            .iter()
            .map(|g| g.bg_free_blocks_count.get() as u64)
            .sum();
        let free_inodes: u64 = st
            .groups
            .iter()
            .map(|g| g.bg_free_inodes_count.get() as u64)
            .sum();
        if free_blocks > st.geo.blocks_count as u64 || free_inodes > st.geo.inodes_count as u64 {
            return Err(MountError::Corrupt("free counts"));
        }
        sb = st.sb.clone();
        sb.s_free_blocks_count.set(free_blocks as u32);
        sb.s_free_inodes_count.set(free_inodes as u32);
        st.sb = sb;
        st.mark_mounted(now);
        Ok(st)
    }

    /// `EROFS` on a read-only mount.
    pub fn check_writable(&self) -> Result<(), Errno> {
        if self.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Notes that an operation ran at `now`.
    pub fn stamp(&mut self, now: Timestamp) {
        self.last_time = self.last_time.max(now.secs);
    }

    /// A generation number for a new inode (NFS handles; never 0 twice in a row).
    pub fn generation(&mut self) -> u32 {
        self.next_generation = self
            .next_generation
            .wrapping_mul(1_103_515_245)
            .wrapping_add(12345);
        self.next_generation
    }

    fn group_mut(&mut self, g: u32) -> &mut GroupDesc {
        self.groups_dirty.insert(g);
        &mut self.groups[g as usize]
    }

    // ---- Inode slots ----

    /// Where inode `ino` lives: the inode-table block and the byte offset in it. `EIO` for a
    /// number outside the file system (a corrupt directory entry or block pointer).
    fn inode_slot(&self, ino: u32) -> Result<(u64, usize), Errno> {
        if ino == 0 || ino > self.geo.inodes_count {
            return Err(Errno::EIO);
        }
        let g = self.geo.group_of_inode(ino);
        let index = ((ino - 1) % self.geo.inodes_per_group) as usize;
        let byte = index * self.geo.inode_size;
        let block = self.groups[g as usize].bg_inode_table.get() as u64
            + (byte / self.geo.block_size) as u64;
        Ok((block, byte % self.geo.block_size))
    }

    /// Inode `ino` as stored.
    pub fn read_inode(&mut self, ino: u32) -> Result<RawInode, Errno> {
        let (block, off) = self.inode_slot(ino)?;
        let n = self.geo.inode_size.min(RAW_INODE_SIZE);
        let buf = self.cache.read(block)?;
        let mut raw = RawInode::zeroed();
        raw.as_mut_bytes()[..n].copy_from_slice(&buf[off..off + n]);
        Ok(raw)
    }

    /// Stores inode `ino` (the fields of [`RawInode`]; anything after them in a large inode,
    /// such as in-inode extended attributes, is kept).
    pub fn write_inode(&mut self, ino: u32, raw: &RawInode) -> Result<(), Errno> {
        let (block, off) = self.inode_slot(ino)?;
        let n = self.geo.inode_size.min(RAW_INODE_SIZE);
        let buf = self.cache.modify(block, Phase::Inode)?;
        buf[off..off + n].copy_from_slice(&raw.as_bytes()[..n]);
        Ok(())
    }

    /// Zeroes the whole slot of inode `ino` (a new inode starts with no attributes).
    fn clear_inode_slot(&mut self, ino: u32) -> Result<(), Errno> {
        let (block, off) = self.inode_slot(ino)?;
        let size = self.geo.inode_size;
        self.cache.modify(block, Phase::Inode)?[off..off + size].fill(0);
        Ok(())
    }

    /// Whether the large-inode field ending at byte `end` of the inode is present.
    pub fn has_extra(&self, raw: &RawInode, end: usize) -> bool {
        let extra = raw.i_extra_isize.get() as usize;
        self.geo.inode_size > GOOD_OLD_INODE_SIZE
            && extra <= self.geo.inode_size - GOOD_OLD_INODE_SIZE
            && GOOD_OLD_INODE_SIZE + extra >= end
    }

    /// A new inode's `i_extra_isize`: room for the nanosecond and creation times if the
    /// inodes are large enough, as mke2fs and Linux's ext4 give them.
    pub fn new_extra_isize(&self) -> u16 {
        if self.geo.inode_size >= GOOD_OLD_INODE_SIZE + WANT_EXTRA_ISIZE as usize {
            WANT_EXTRA_ISIZE
        } else {
            0
        }
    }

    // ---- Bitmaps ----

    /// Finds and sets the first clear bit in `bits` bits of bitmap block `block`, from `start`
    /// on. Returns the bit.
    fn take_bit(&mut self, block: u64, start: u32, bits: u32) -> Result<Option<u32>, Errno> {
        let map = self.cache.read(block)?;
        let Some(bit) = first_clear(map, start, bits) else {
            return Ok(None);
        };
        self.cache.modify(block, Phase::Alloc)?[bit as usize / 8] |= 1 << (bit % 8);
        Ok(Some(bit))
    }

    /// Clears bit `bit` of bitmap block `block`; `false` if it was already clear.
    fn clear_bit(&mut self, block: u64, bit: u32) -> Result<bool, Errno> {
        let was = self.cache.read(block)?[bit as usize / 8] & (1 << (bit % 8)) != 0;
        if was {
            self.cache.modify(block, Phase::Alloc)?[bit as usize / 8] &= !(1 << (bit % 8));
        }
        Ok(was)
    }

    /// Whether `b` may hold file data: inside the file system and not one of its fixed
    /// metadata blocks (superblock copies, descriptor tables, bitmaps, inode tables).
    pub fn is_data_block(&self, b: u32) -> bool {
        if b < self.geo.first_data_block || b >= self.geo.blocks_count {
            return false;
        }
        let g = self.geo.group_of_block(b);
        let first = self.geo.group_first_block(g);
        if b < first + self.geo.super_blocks_in_group(g) {
            return false;
        }
        let gd = &self.groups[g as usize];
        let table = gd.bg_inode_table.get();
        b != gd.bg_block_bitmap.get()
            && b != gd.bg_inode_bitmap.get()
            && !(b >= table && b < table + self.geo.inode_table_blocks)
    }

    // ---- Blocks ----

    /// Allocates a block, as close after `goal` as possible. `ENOSPC` when none is free.
    pub fn alloc_block(&mut self, goal: u32) -> Result<u32, Errno> {
        if self.sb.s_free_blocks_count.get() == 0 {
            return Err(Errno::ENOSPC);
        }
        let goal = if goal < self.geo.first_data_block || goal >= self.geo.blocks_count {
            self.geo.first_data_block
        } else {
            goal
        };
        let g0 = self.geo.group_of_block(goal);
        let groups = self.geo.groups;
        for i in 0..=groups {
            let g = (g0 + i) % groups;
            if self.groups[g as usize].bg_free_blocks_count.get() == 0 {
                continue;
            }
            let start = if i == 0 {
                goal - self.geo.group_first_block(g)
            } else {
                0
            };
            let bitmap = self.groups[g as usize].bg_block_bitmap.get() as u64;
            let bits = self.geo.blocks_in_group(g);
            let Some(bit) = self.take_bit(bitmap, start, bits)? else {
                continue;
            };
            let b = self.geo.group_first_block(g) + bit;
            if !self.is_data_block(b) {
                // The bitmap lets metadata be allocated: refuse rather than overwrite it.
                return Err(Errno::EIO);
            }
            let gd = self.group_mut(g);
            gd.bg_free_blocks_count
                .set(gd.bg_free_blocks_count.get().saturating_sub(1));
            let free = self.sb.s_free_blocks_count.get();
            self.sb.s_free_blocks_count.set(free - 1);
            self.sb_dirty = true;
            return Ok(b);
        }
        Err(Errno::ENOSPC)
    }

    /// Frees block `b` and drops it from the cache. Blocks outside the data area are ignored
    /// (a corrupt pointer is not followed into metadata).
    pub fn free_block(&mut self, b: u32) -> Result<(), Errno> {
        if !self.is_data_block(b) {
            return Ok(());
        }
        self.cache.forget(b as u64);
        let g = self.geo.group_of_block(b);
        let bitmap = self.groups[g as usize].bg_block_bitmap.get() as u64;
        if self.clear_bit(bitmap, b - self.geo.group_first_block(g))? {
            let gd = self.group_mut(g);
            gd.bg_free_blocks_count
                .set(gd.bg_free_blocks_count.get().saturating_add(1));
            let free = self.sb.s_free_blocks_count.get();
            self.sb.s_free_blocks_count.set(free.saturating_add(1));
            self.sb_dirty = true;
        }
        Ok(())
    }

    // ---- Inodes ----

    /// Allocates an inode for a new file in directory `parent` and zeroes its slot.
    /// `ENOSPC` when none is free.
    pub fn alloc_inode(&mut self, parent: u32, dir: bool) -> Result<u32, Errno> {
        if self.sb.s_free_inodes_count.get() == 0 {
            return Err(Errno::ENOSPC);
        }
        let groups = self.geo.groups;
        let parent_group = self.geo.group_of_inode(parent.max(1)).min(groups - 1);
        let first = if dir {
            self.group_for_directory().unwrap_or(parent_group)
        } else {
            parent_group
        };
        for i in 0..groups {
            let g = (first + i) % groups;
            if self.groups[g as usize].bg_free_inodes_count.get() == 0 {
                continue;
            }
            let bitmap = self.groups[g as usize].bg_inode_bitmap.get() as u64;
            // Reserved inodes (below s_first_ino) are marked in use by mke2fs; skip them
            // even if a bitmap says otherwise.
            let base = g * self.geo.inodes_per_group;
            let start = self.geo.first_ino.saturating_sub(base + 1);
            if start >= self.geo.inodes_per_group {
                continue;
            }
            let Some(bit) = self.take_bit(bitmap, start, self.geo.inodes_per_group)? else {
                continue;
            };
            let ino = base + bit + 1;
            let gd = self.group_mut(g);
            gd.bg_free_inodes_count
                .set(gd.bg_free_inodes_count.get().saturating_sub(1));
            if dir {
                gd.bg_used_dirs_count
                    .set(gd.bg_used_dirs_count.get().saturating_add(1));
            }
            let free = self.sb.s_free_inodes_count.get();
            self.sb.s_free_inodes_count.set(free - 1);
            self.sb_dirty = true;
            self.clear_inode_slot(ino)?;
            return Ok(ino);
        }
        Err(Errno::ENOSPC)
    }

    /// The group for a new directory: among groups with at least the average number of free
    /// inodes, the one with the most free blocks (spreading directories out, like Linux's
    /// Orlov allocator does for top-level ones).
    fn group_for_directory(&self) -> Option<u32> {
        let avg = self.sb.s_free_inodes_count.get() / self.geo.groups;
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                let free = g.bg_free_inodes_count.get() as u32;
                free > 0 && free >= avg
            })
            .max_by_key(|(_, g)| g.bg_free_blocks_count.get())
            .map(|(i, _)| i as u32)
    }

    /// Marks inode `ino` free in its bitmap and counts.
    pub fn free_inode(&mut self, ino: u32, dir: bool) -> Result<(), Errno> {
        if ino < self.geo.first_ino || ino > self.geo.inodes_count {
            return Ok(());
        }
        let g = self.geo.group_of_inode(ino);
        let bitmap = self.groups[g as usize].bg_inode_bitmap.get() as u64;
        if self.clear_bit(bitmap, (ino - 1) % self.geo.inodes_per_group)? {
            let gd = self.group_mut(g);
            gd.bg_free_inodes_count
                .set(gd.bg_free_inodes_count.get().saturating_add(1));
            if dir {
                gd.bg_used_dirs_count
                    .set(gd.bg_used_dirs_count.get().saturating_sub(1));
            }
            let free = self.sb.s_free_inodes_count.get();
            self.sb.s_free_inodes_count.set(free.saturating_add(1));
            self.sb_dirty = true;
        }
        Ok(())
    }

    /// Whether inode `ino` is marked in use in its bitmap.
    pub fn inode_in_use(&mut self, ino: u32) -> Result<bool, Errno> {
        if ino == 0 || ino > self.geo.inodes_count {
            return Ok(false);
        }
        let g = self.geo.group_of_inode(ino);
        let bitmap = self.groups[g as usize].bg_inode_bitmap.get() as u64;
        let bit = (ino - 1) % self.geo.inodes_per_group;
        Ok(self.cache.read(bitmap)?[bit as usize / 8] & (1 << (bit % 8)) != 0)
    }

    /// Sets a read-only-compatible feature bit (`LARGE_FILE` once a file reaches 2 GiB).
    pub fn set_ro_compat(&mut self, bit: u32) {
        let f = self.sb.s_feature_ro_compat.get();
        if f & bit == 0 && self.sb.s_rev_level.get() != GOOD_OLD_REV {
            self.sb.s_feature_ro_compat.set(f | bit);
            self.sb_dirty = true;
        }
    }

    // ---- Write-back ----

    /// Encodes the superblock and the changed group descriptors into their buffers.
    fn store_summary(&mut self) -> Result<(), Errno> {
        let per_block = self.geo.block_size / GROUP_DESC_SIZE;
        let dirty = core::mem::take(&mut self.groups_dirty);
        for g in dirty {
            let block = self.geo.gdt_block + (g as usize / per_block) as u64;
            let at = (g as usize % per_block) * GROUP_DESC_SIZE;
            let gd = self.groups[g as usize];
            self.cache.modify(block, Phase::Alloc)?[at..at + GROUP_DESC_SIZE]
                .copy_from_slice(gd.as_bytes());
        }
        if self.sb_dirty {
            self.sb.s_wtime.set(self.last_time as u32);
            let (block, at) = if self.geo.block_size == 1024 {
                (1, 0)
            } else {
                (0, SUPERBLOCK_OFFSET as usize)
            };
            let sb = self.sb.clone();
            self.cache.modify(block, Phase::Alloc)?[at..at + SUPERBLOCK_SIZE]
                .copy_from_slice(sb.as_bytes());
            self.sb_dirty = false;
        }
        Ok(())
    }

    /// Writes everything dirty to the device in the safe order and makes it durable
    /// (fsync(2), sync(2)).
    pub fn sync(&mut self) -> Result<(), Errno> {
        if self.read_only {
            return Ok(());
        }
        // Pages written through shared mappings first: their blocks go in the data phase.
        let pages = self.store_all_pages();
        self.store_summary()?;
        self.cache.write_back()?;
        pages
    }

    /// Writes every dirty buffer back in the crash-safe order (with the summary counts in
    /// the superblock and descriptors), but not the dirty pages of shared mappings: those
    /// the caller stored itself ([`FsState::sync`] stores them all).
    pub fn write_back_blocks(&mut self) -> Result<(), Errno> {
        if self.read_only {
            return Ok(());
        }
        self.store_summary()?;
        self.cache.write_back()
    }

    /// Writes back if too much is dirty (called after operations that dirty data).
    pub fn write_back_if_needed(&mut self) -> Result<(), Errno> {
        if self.cache.over_dirty_limit() {
            self.sync()?;
        }
        Ok(())
    }

    /// Marks the superblock mounted: not clean until unmounted (what e2fsck's "was not
    /// cleanly unmounted" looks at), as Linux's `ext2_setup_super` does. Written with the
    /// next write-back.
    pub fn mark_mounted(&mut self, now: Timestamp) {
        if self.read_only {
            return;
        }
        let sb = &mut self.sb;
        sb.s_state.set(sb.s_state.get() & !STATE_VALID);
        sb.s_mnt_count.set(sb.s_mnt_count.get().wrapping_add(1));
        sb.s_mtime.set(now.secs as u32);
        self.sb_dirty = true;
    }

    /// Marks the file system cleanly unmounted and writes everything.
    pub fn mark_clean(&mut self) -> Result<(), Errno> {
        if self.read_only {
            return Ok(());
        }
        self.sync()?;
        let state = self.sb.s_state.get();
        self.sb.s_state.set(state | STATE_VALID);
        self.sb_dirty = true;
        self.sync()
    }
}

/// The first clear bit of `map` in `[start, bits)`.
fn first_clear(map: &[u8], start: u32, bits: u32) -> Option<u32> {
    let bits = bits.min(map.len() as u32 * 8);
    let mut bit = start;
    while bit < bits {
        let byte = map[bit as usize / 8];
        if byte == 0xff {
            bit = (bit / 8 + 1) * 8;
            continue;
        }
        if byte & (1 << (bit % 8)) == 0 {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_clear_skips_full_bytes_and_respects_bounds() {
        let map = [0xff, 0xff, 0b1110_1111, 0];
        assert_eq!(first_clear(&map, 0, 32), Some(20));
        assert_eq!(first_clear(&map, 21, 32), Some(24));
        assert_eq!(first_clear(&map, 0, 20), None);
        assert_eq!(first_clear(&map, 30, 64), Some(30));
        assert_eq!(first_clear(&[0xff], 0, 64), None);
    }

    #[test]
    fn max_file_size_matches_linux() {
        // ext2_max_size: 1 KiB blocks reach 16 GiB + a bit; 4 KiB blocks are limited by
        // i_blocks to just under 2 TiB.
        let one_k = max_file_size(1024, 256);
        assert_eq!(one_k, (12 + 256 + 65536 + 16_777_216) * 1024);
        let four_k = max_file_size(4096, 1024);
        assert!(
            four_k < 2 << 40 && four_k > (2 << 40) - (8 << 30),
            "{four_k}"
        );
    }
}
