//! Making a new, empty ext2 file system on a device (a small `mke2fs -t ext2`).
//!
//! The result is revision 1 with the `filetype`, `sparse_super` and `large_file` features,
//! 256-byte inodes, no reserved GDT blocks and no `dir_index`: the root directory and
//! `lost+found`, everything else free. `e2fsck -fn` accepts it as it is. It is what host tests
//! without e2fsprogs and the documentation example start from, and what an embedder can use
//! to format a blank disk.

use super::layout::*;
use crate::block::{BlockDevice, BlockError, SECTOR_SIZE};
use crate::time::Timestamp;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use zerocopy::{FromZeros, IntoBytes};

/// How to format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FormatOptions {
    /// Block size: 1024, 2048 or 4096.
    pub block_size: usize,
    /// Bytes of disk per inode (mke2fs's `-i`).
    pub bytes_per_inode: u64,
}

impl Default for FormatOptions {
    /// 1 KiB blocks and an inode per 4 KiB, mke2fs's "small" file system type.
    fn default() -> Self {
        FormatOptions {
            block_size: 1024,
            bytes_per_inode: 4096,
        }
    }
}

/// Why a device could not be formatted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The block size is not 1, 2 or 4 KiB.
    BlockSize,
    /// The device is too small for one block group with some room for files.
    TooSmall,
    /// The device failed.
    Device(BlockError),
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FormatError::BlockSize => f.write_str("block size must be 1024, 2048 or 4096"),
            FormatError::TooSmall => f.write_str("device too small for an ext2 file system"),
            FormatError::Device(e) => write!(f, "device error: {e}"),
        }
    }
}

impl core::error::Error for FormatError {}

/// The inode size new file systems get.
const INODE_SIZE: usize = 256;
/// `lost+found`'s inode number (the first non-reserved one).
const LOST_FOUND_INO: u32 = GOOD_OLD_FIRST_INO;

/// Writes an empty ext2 file system over the whole of `dev` and flushes it. `now` stamps the
/// superblock and the two directories and seeds the UUID.
pub fn format(
    dev: &dyn BlockDevice,
    options: &FormatOptions,
    now: Timestamp,
) -> Result<(), FormatError> {
    let bs = options.block_size;
    if ![1024, 2048, 4096].contains(&bs) {
        return Err(FormatError::BlockSize);
    }
    let first_data_block: u32 = if bs == 1024 { 1 } else { 0 };
    let total = (dev.capacity() / bs as u64).min(u32::MAX as u64) as u32;
    let bpg = 8 * bs as u32;
    let inodes_per_block = (bs / INODE_SIZE) as u32;
    let mut blocks_count = total;
    let mut groups;
    let mut ipg;
    let mut itable;
    let mut gdt_blocks;
    loop {
        if blocks_count <= first_data_block {
            return Err(FormatError::TooSmall);
        }
        groups = (blocks_count - first_data_block).div_ceil(bpg);
        let bytes = (blocks_count as u64) * bs as u64;
        let inodes = bytes / options.bytes_per_inode.max(1024);
        ipg = inodes.div_ceil(groups as u64).min(bpg as u64) as u32;
        ipg = ipg.clamp(16, bpg).next_multiple_of(inodes_per_block.max(8));
        ipg = ipg.min(bpg);
        itable = ipg / inodes_per_block;
        gdt_blocks = (groups as usize * GROUP_DESC_SIZE).div_ceil(bs) as u32;
        // The last group must hold its metadata and some data; otherwise drop it.
        let last = groups - 1;
        let last_len = blocks_count - first_data_block - last * bpg;
        let meta = super_blocks(last, gdt_blocks) + 2 + itable;
        if last_len >= meta + 8 {
            break;
        }
        if groups == 1 {
            return Err(FormatError::TooSmall);
        }
        blocks_count = first_data_block + last * bpg;
    }
    let mut image = Image {
        dev,
        bs,
        writes: BTreeMap::new(),
    };
    let mut descs = Vec::new();
    let mut free_blocks_total = 0u64;
    let mut root_block = 0u32;
    for g in 0..groups {
        let start = first_data_block + g * bpg;
        let len = (blocks_count - start).min(bpg);
        let meta_start = start + super_blocks(g, gdt_blocks);
        let block_bitmap = meta_start;
        let inode_bitmap = meta_start + 1;
        let inode_table = meta_start + 2;
        let mut used = super_blocks(g, gdt_blocks) + 2 + itable;
        if g == 0 {
            root_block = start + used;
            used += 2; // root and lost+found
        }
        let mut bitmap = vec![0u8; bs];
        for bit in (0..used).chain(len..8 * bs as u32) {
            bitmap[bit as usize / 8] |= 1 << (bit % 8);
        }
        image.put(block_bitmap, bitmap);
        let mut ibitmap = vec![0u8; bs];
        let used_inodes = if g == 0 { LOST_FOUND_INO } else { 0 };
        for bit in (0..used_inodes).chain(ipg..8 * bs as u32) {
            ibitmap[bit as usize / 8] |= 1 << (bit % 8);
        }
        image.put(inode_bitmap, ibitmap);
        image.zero(inode_table, itable)?;
        let free = len - used;
        free_blocks_total += free as u64;
        let mut gd = GroupDesc::new_zeroed();
        gd.bg_block_bitmap.set(block_bitmap);
        gd.bg_inode_bitmap.set(inode_bitmap);
        gd.bg_inode_table.set(inode_table);
        gd.bg_free_blocks_count.set(free as u16);
        gd.bg_free_inodes_count.set((ipg - used_inodes) as u16);
        gd.bg_used_dirs_count.set(if g == 0 { 2 } else { 0 });
        descs.push(gd);
    }
    let inodes_count = groups * ipg;
    let mut sb = Superblock::new_zeroed();
    sb.s_inodes_count.set(inodes_count);
    sb.s_blocks_count.set(blocks_count);
    sb.s_r_blocks_count.set(blocks_count / 20);
    sb.s_free_blocks_count.set(free_blocks_total as u32);
    sb.s_free_inodes_count.set(inodes_count - LOST_FOUND_INO);
    sb.s_first_data_block.set(first_data_block);
    sb.s_log_block_size.set((bs / 1024).trailing_zeros());
    sb.s_log_frag_size.set((bs / 1024).trailing_zeros());
    sb.s_blocks_per_group.set(bpg);
    sb.s_frags_per_group.set(bpg);
    sb.s_inodes_per_group.set(ipg);
    sb.s_wtime.set(now.secs as u32);
    sb.s_max_mnt_count.set(u16::MAX);
    sb.s_magic.set(MAGIC);
    sb.s_state.set(STATE_VALID);
    sb.s_errors.set(1);
    sb.s_lastcheck.set(now.secs as u32);
    sb.s_rev_level.set(1);
    sb.s_first_ino.set(GOOD_OLD_FIRST_INO);
    sb.s_inode_size.set(INODE_SIZE as u16);
    sb.s_feature_incompat.set(incompat::FILETYPE);
    sb.s_feature_ro_compat
        .set(ro_compat::SPARSE_SUPER | ro_compat::LARGE_FILE);
    sb.s_uuid = uuid_from(now);
    sb.s_mkfs_time.set(now.secs as u32);
    sb.s_min_extra_isize.set(WANT_EXTRA_ISIZE);
    sb.s_want_extra_isize.set(WANT_EXTRA_ISIZE);
    let mut gdt = vec![0u8; gdt_blocks as usize * bs];
    for (i, gd) in descs.iter().enumerate() {
        gdt[i * GROUP_DESC_SIZE..(i + 1) * GROUP_DESC_SIZE].copy_from_slice(gd.as_bytes());
    }
    for g in 0..groups {
        if !group_has_super(g, true) {
            continue;
        }
        let start = first_data_block + g * bpg;
        let mut copy = sb.clone();
        copy.s_block_group_nr.set(g as u16);
        let mut block = vec![0u8; bs];
        let at = if g == 0 && bs > 1024 { 1024 } else { 0 };
        block[at..at + SUPERBLOCK_SIZE].copy_from_slice(copy.as_bytes());
        image.put(start, block);
        for i in 0..gdt_blocks {
            let off = i as usize * bs;
            image.put(start + 1 + i, gdt[off..off + bs].to_vec());
        }
    }
    // The two directories and their inodes.
    let lost_block = root_block + 1;
    image.put(
        root_block,
        dir_block(bs, ROOT_INO, ROOT_INO, Some(LOST_FOUND_INO)),
    );
    image.put(lost_block, dir_block(bs, LOST_FOUND_INO, ROOT_INO, None));
    let table = descs[0].bg_inode_table.get();
    let mut table_block = vec![0u8; bs];
    let mut put_inode = |image: &mut Image<'_>, ino: u32, raw: &RawInode| {
        let byte = (ino - 1) as usize * INODE_SIZE;
        let block = table + (byte / bs) as u32;
        let off = byte % bs;
        if let Some(existing) = image.get(block) {
            table_block.copy_from_slice(existing);
        } else {
            table_block.fill(0);
        }
        table_block[off..off + RAW_INODE_SIZE].copy_from_slice(raw.as_bytes());
        image.put(block, table_block.clone());
    };
    let dir_inode = |perm: u32, links: u16, block: u32| {
        let mut raw = RawInode::zeroed();
        raw.i_mode.set((oxv_abi::linux::fs::S_IFDIR | perm) as u16);
        raw.i_links_count.set(links);
        raw.set_size(bs as u64, false);
        raw.i_blocks.set((bs / SECTOR_SIZE) as u32);
        raw.i_block[0].set(block);
        let (s, x) = encode_time(now.secs, now.nanos);
        for t in [
            &mut raw.i_atime,
            &mut raw.i_ctime,
            &mut raw.i_mtime,
            &mut raw.i_crtime,
        ] {
            t.set(s);
        }
        for t in [
            &mut raw.i_atime_extra,
            &mut raw.i_ctime_extra,
            &mut raw.i_mtime_extra,
            &mut raw.i_crtime_extra,
        ] {
            t.set(x);
        }
        raw.i_extra_isize.set(WANT_EXTRA_ISIZE);
        raw
    };
    put_inode(&mut image, ROOT_INO, &dir_inode(0o755, 3, root_block));
    put_inode(&mut image, LOST_FOUND_INO, &dir_inode(0o700, 2, lost_block));
    image.finish()
}

/// Blocks at the start of group `g` taken by a superblock copy and the descriptor table.
fn super_blocks(g: u32, gdt_blocks: u32) -> u32 {
    if group_has_super(g, true) {
        1 + gdt_blocks
    } else {
        0
    }
}

/// A directory block with `.`, `..` and optionally `lost+found`.
fn dir_block(bs: usize, ino: u32, parent: u32, lost_found: Option<u32>) -> Vec<u8> {
    let mut b = vec![0u8; bs];
    let dot = dirent_size(1);
    let dotdot = dirent_size(2);
    Dirent {
        inode: ino,
        rec_len: dot,
        name_len: 1,
        file_type: ftype::DIR,
    }
    .store(&mut b, 0, Some(b"."));
    let rest = bs - dot;
    match lost_found {
        None => Dirent {
            inode: parent,
            rec_len: rest,
            name_len: 2,
            file_type: ftype::DIR,
        }
        .store(&mut b, dot, Some(b"..")),
        Some(lf) => {
            Dirent {
                inode: parent,
                rec_len: dotdot,
                name_len: 2,
                file_type: ftype::DIR,
            }
            .store(&mut b, dot, Some(b".."));
            Dirent {
                inode: lf,
                rec_len: rest - dotdot,
                name_len: 10,
                file_type: ftype::DIR,
            }
            .store(&mut b, dot + dotdot, Some(b"lost+found"));
        }
    }
    b
}

/// A UUID (version 4 layout) derived from the time: unique enough for a test disk.
fn uuid_from(now: Timestamp) -> [u8; 16] {
    let mut x = (now.secs as u64) ^ ((now.nanos as u64) << 32) ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// The metadata blocks to write, collected so that each is written once (inode tables are
/// zeroed on the device directly, a run at a time).
struct Image<'a> {
    dev: &'a dyn BlockDevice,
    bs: usize,
    writes: BTreeMap<u32, Vec<u8>>,
}

impl Image<'_> {
    fn put(&mut self, block: u32, data: Vec<u8>) {
        self.writes.insert(block, data);
    }

    fn get(&self, block: u32) -> Option<&[u8]> {
        self.writes.get(&block).map(Vec::as_slice)
    }

    /// Zeroes `count` blocks from `first` on the device now.
    fn zero(&mut self, first: u32, count: u32) -> Result<(), FormatError> {
        const RUN: usize = 64 * 1024;
        let spb = (self.bs / SECTOR_SIZE) as u64;
        let per_run = (RUN / self.bs) as u32;
        let zeros = vec![0u8; RUN];
        let mut done = 0;
        while done < count {
            let n = per_run.min(count - done);
            self.dev
                .write_sectors((first + done) as u64 * spb, &zeros[..n as usize * self.bs])
                .map_err(FormatError::Device)?;
            done += n;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), FormatError> {
        let spb = (self.bs / SECTOR_SIZE) as u64;
        for (b, data) in &self.writes {
            self.dev
                .write_sectors(*b as u64 * spb, data)
                .map_err(FormatError::Device)?;
        }
        self.dev.flush().map_err(FormatError::Device)
    }
}
