//! The block map: which disk block holds each block of a file.
//!
//! An inode's `i_block` has 12 direct pointers, then one single, one double and one triple
//! indirect pointer; an indirect block is an array of block numbers, 0 for a hole. Holes cost
//! nothing and read as zeros (sparse files). Allocation fills in the path down to a block on
//! demand; truncation frees every block past the new end, and each indirect block left empty.
//! `i_blocks` counts every block the file owns, indirect ones included, in 512-byte sectors.

use super::cache::Phase;
use super::fs::FsState;
use super::layout::{DIRECT_BLOCKS, RawInode};
use alloc::vec::Vec;
use oxv_abi::Errno;

/// Where logical block `lblk` hangs: the depth of indirection (0 = direct) and the index at
/// each level, the first into `i_block`. `EFBIG` past what the map can reach.
fn path(ptrs: u64, lblk: u64) -> Result<(usize, [usize; 4]), Errno> {
    let d = DIRECT_BLOCKS as u64;
    if lblk < d {
        return Ok((0, [lblk as usize, 0, 0, 0]));
    }
    let l = lblk - d;
    if l < ptrs {
        return Ok((1, [DIRECT_BLOCKS, l as usize, 0, 0]));
    }
    let l = l - ptrs;
    if l < ptrs * ptrs {
        return Ok((
            2,
            [
                DIRECT_BLOCKS + 1,
                (l / ptrs) as usize,
                (l % ptrs) as usize,
                0,
            ],
        ));
    }
    let l = l - ptrs * ptrs;
    if l < ptrs * ptrs * ptrs {
        return Ok((
            3,
            [
                DIRECT_BLOCKS + 2,
                (l / (ptrs * ptrs)) as usize,
                ((l / ptrs) % ptrs) as usize,
                (l % ptrs) as usize,
            ],
        ));
    }
    Err(Errno::EFBIG)
}

fn entry(block: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([
        block[4 * i],
        block[4 * i + 1],
        block[4 * i + 2],
        block[4 * i + 3],
    ])
}

fn set_entry(block: &mut [u8], i: usize, v: u32) {
    block[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
}

impl FsState {
    /// The disk block holding logical block `lblk` of the file, 0 for a hole. `EIO` if a
    /// pointer on the way leads outside the file system.
    pub fn map_block(&mut self, inode: &RawInode, lblk: u64) -> Result<u32, Errno> {
        let (depth, idx) = match path(self.geo.ptrs, lblk) {
            Ok(p) => p,
            Err(_) => return Ok(0),
        };
        let mut b = inode.block(idx[0]);
        for &i in &idx[1..=depth] {
            if b == 0 {
                return Ok(0);
            }
            if !self.is_data_block(b) {
                return Err(Errno::EIO);
            }
            b = entry(self.cache.read(b as u64)?, i);
        }
        if b != 0 && !self.is_data_block(b) {
            return Err(Errno::EIO);
        }
        Ok(b)
    }

    /// The disk block holding logical block `lblk`, allocating it (and the indirect blocks
    /// on the way) if it is a hole. Returns the block and whether it is new: a new block's
    /// buffer is zeroed in the cache and the caller fills it. `inode` is updated
    /// (`i_block`, `i_blocks`); the caller stores it.
    pub fn map_alloc(
        &mut self,
        ino: u32,
        inode: &mut RawInode,
        lblk: u64,
    ) -> Result<(u32, bool), Errno> {
        let (depth, idx) = path(self.geo.ptrs, lblk)?;
        let existing = self.map_block(inode, lblk)?;
        if existing != 0 {
            return Ok((existing, false));
        }
        let mut goal = self.goal(ino, inode, lblk)?;
        // The pointer to fill in: a slot of i_block, or an entry of an indirect block.
        let mut parent: Option<u32> = None;
        let mut slot = idx[0];
        for level in 0..=depth {
            let cur = match parent {
                None => inode.block(slot),
                Some(p) => entry(self.cache.read(p as u64)?, slot),
            };
            let b = if cur != 0 {
                cur
            } else {
                let b = self.alloc_block(goal)?;
                goal = b + 1;
                self.cache.fresh(b as u64)?;
                // Saturating: a corrupt `i_blocks` near `u32::MAX` overflowed here (fuzzing,
                // bug 22); the count is only reported (st_blocks), e2fsck repairs it.
                let sectors = inode
                    .i_blocks
                    .get()
                    .saturating_add(self.geo.sectors_per_block);
                inode.i_blocks.set(sectors);
                match parent {
                    None => inode.i_block[slot].set(b),
                    Some(p) => set_entry(self.cache.modify(p as u64, Phase::Inode)?, slot, b),
                }
                b
            };
            if level == depth {
                return Ok((b, cur == 0));
            }
            parent = Some(b);
            slot = idx[level + 1];
        }
        unreachable!("the loop returns at level == depth")
    }

    /// Where to look for a free block for logical block `lblk`: after the block before it,
    /// or at the start of the inode's group.
    fn goal(&mut self, ino: u32, inode: &RawInode, lblk: u64) -> Result<u32, Errno> {
        if lblk > 0 {
            let prev = self.map_block(inode, lblk - 1)?;
            if prev != 0 {
                return Ok(prev + 1);
            }
        }
        let g = self.geo.group_of_inode(ino);
        Ok(self.geo.group_first_block(g))
    }

    /// Frees every block of the file from logical block `keep` on, and the indirect blocks
    /// that become empty; updates `i_block` and `i_blocks` in `inode` (the caller stores it).
    pub fn truncate_blocks(&mut self, inode: &mut RawInode, keep: u64) -> Result<(), Errno> {
        let p = self.geo.ptrs;
        for i in (keep.min(DIRECT_BLOCKS as u64) as usize)..DIRECT_BLOCKS {
            let b = inode.block(i);
            if b != 0 {
                self.release(inode, b)?;
                inode.i_block[i].set(0);
            }
        }
        let mut base = DIRECT_BLOCKS as u64;
        let mut span = p;
        for (depth, slot) in [
            (1u32, DIRECT_BLOCKS),
            (2, DIRECT_BLOCKS + 1),
            (3, DIRECT_BLOCKS + 2),
        ] {
            let b = inode.block(slot);
            if b != 0 && keep < base + span {
                let keep_in = keep.saturating_sub(base);
                if self.truncate_tree(inode, b, depth, keep_in)? {
                    self.release(inode, b)?;
                    inode.i_block[slot].set(0);
                }
            }
            base += span;
            span = span.saturating_mul(p);
        }
        Ok(())
    }

    /// Frees the blocks from index `keep` on under indirect block `b` of the given depth;
    /// returns whether `b` now holds no pointer at all (the caller then frees it).
    fn truncate_tree(
        &mut self,
        inode: &mut RawInode,
        b: u32,
        depth: u32,
        keep: u64,
    ) -> Result<bool, Errno> {
        if !self.is_data_block(b) {
            // A corrupt pointer: drop it without touching what it points at.
            return Ok(true);
        }
        let p = self.geo.ptrs;
        let per = p.pow(depth - 1);
        let entries: Vec<u32> = {
            let block = self.cache.read(b as u64)?;
            (0..p as usize).map(|i| entry(block, i)).collect()
        };
        let first = (keep / per) as usize;
        let mut cleared = Vec::new();
        for (i, &child) in entries.iter().enumerate().skip(first) {
            if child == 0 {
                continue;
            }
            let free = if depth == 1 {
                true
            } else {
                let keep_in = keep.saturating_sub(i as u64 * per);
                self.truncate_tree(inode, child, depth - 1, keep_in)?
            };
            if free {
                self.release(inode, child)?;
                cleared.push(i);
            }
        }
        let empty = entries
            .iter()
            .enumerate()
            .all(|(i, &e)| e == 0 || cleared.contains(&i));
        if !empty && !cleared.is_empty() {
            let block = self.cache.modify(b as u64, Phase::Inode)?;
            for i in cleared {
                set_entry(block, i, 0);
            }
        }
        Ok(empty)
    }

    /// Frees block `b` of a file and takes it off its `i_blocks`.
    fn release(&mut self, inode: &mut RawInode, b: u32) -> Result<(), Errno> {
        self.free_block(b)?;
        let sectors = inode.i_blocks.get();
        inode
            .i_blocks
            .set(sectors.saturating_sub(self.geo.sectors_per_block));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_through_each_level() {
        let p = 256;
        assert_eq!(path(p, 0).unwrap(), (0, [0, 0, 0, 0]));
        assert_eq!(path(p, 11).unwrap(), (0, [11, 0, 0, 0]));
        assert_eq!(path(p, 12).unwrap(), (1, [12, 0, 0, 0]));
        assert_eq!(path(p, 12 + 255).unwrap(), (1, [12, 255, 0, 0]));
        assert_eq!(path(p, 12 + 256).unwrap(), (2, [13, 0, 0, 0]));
        assert_eq!(path(p, 12 + 256 + 257).unwrap(), (2, [13, 1, 1, 0]));
        let triple = 12 + 256 + 256 * 256;
        assert_eq!(path(p, triple).unwrap(), (3, [14, 0, 0, 0]));
        assert_eq!(
            path(p, triple + 256 * 256 + 256 + 1).unwrap(),
            (3, [14, 1, 1, 1])
        );
        assert_eq!(path(p, triple + 256 * 256 * 256), Err(Errno::EFBIG));
    }
}
