//! The buffer cache: file-system blocks of one device kept in memory, with write-back.
//!
//! Every block ext2 touches, metadata or file data, goes through here: reads fill a buffer
//! from the device once, writes change the buffer and mark it dirty, and nothing reaches the
//! device until [`BlockCache::write_back`] (fsync(2), sync(2), or too many dirty buffers).
//! Clean buffers are evicted least recently used first when the cache is full.
//!
//! Ext2 has no journal, so what keeps the disk consistent for e2fsck across a crash is the
//! order of writes. Each dirty buffer carries the [`Phase`] it must be written in, and
//! [`BlockCache::write_back`] writes phase after phase with a device flush (a write barrier,
//! see [`crate::block`]) between them:
//!
//! 1. [`Phase::Data`]: file contents and any block allocated since the last write-back
//!    (nothing on disk points at those yet, so writing them early is always safe);
//! 2. [`Phase::Alloc`]: bitmaps, group descriptors, the superblock: blocks and inodes are
//!    marked in use before anything refers to them (a crash leaks them; it never lets two
//!    files share one);
//! 3. [`Phase::Inode`]: inode tables and indirect blocks, which point at data;
//! 4. [`Phase::Names`]: directory blocks, which point at inodes.
//!
//! This is the write order of soft updates without their dependency tracking: it makes the
//! result of each completed write-back consistent and keeps a crash during one to errors
//! e2fsck repairs without losing data that was written before. It is not a journal.
//!
//! Runs of consecutive dirty blocks go to the device as one request, and
//! [`BlockCache::read_ahead`] reads runs of uncached blocks the same way.

use crate::block::{BlockDevice, SECTOR_SIZE};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;

/// `len` zero bytes, or `None` if the heap cannot spare them (the kernel must not abort
/// for a cache buffer: the caller reports `ENOMEM` or does without).
pub(crate) fn zeroed(len: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0);
    Some(v)
}

/// When a dirty buffer is written during a write-back. See the [module docs](self).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// File data, and blocks nothing on disk refers to yet.
    Data = 0,
    /// Allocation state: bitmaps, group descriptors, superblock.
    Alloc = 1,
    /// Inode tables, indirect blocks, attribute blocks.
    Inode = 2,
    /// Directory blocks.
    Names = 3,
}

const PHASES: [Phase; 4] = [Phase::Data, Phase::Alloc, Phase::Inode, Phase::Names];

/// The longest run of blocks moved in one device request.
const MAX_RUN_BYTES: usize = 256 * 1024;

struct Buf {
    data: Box<[u8]>,
    /// Its place in the eviction order of clean buffers.
    stamp: u64,
    /// Used since it was last put at the young end of that order (a second chance).
    referenced: bool,
    dirty: Option<Phase>,
}

/// Counters of device traffic, for tests and statistics.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Read requests sent to the device.
    pub reads: u64,
    /// Write requests sent to the device.
    pub writes: u64,
    /// Flushes sent to the device.
    pub flushes: u64,
    /// Blocks found in the cache.
    pub hits: u64,
}

/// The buffer cache of one mounted file system. See the [module docs](self).
pub(crate) struct BlockCache {
    dev: Arc<dyn BlockDevice>,
    block_size: usize,
    bufs: BTreeMap<u64, Buf>,
    /// Clean buffers by stamp: the eviction order.
    clean: BTreeMap<u64, u64>,
    dirty: [BTreeSet<u64>; 4],
    tick: u64,
    capacity: usize,
    dirty_limit: usize,
    stats: CacheStats,
}

impl BlockCache {
    /// A cache of at most `capacity` buffers (at least 16) of `block_size` bytes over `dev`.
    pub fn new(dev: Arc<dyn BlockDevice>, block_size: usize, capacity: usize) -> BlockCache {
        let capacity = capacity.max(16);
        BlockCache {
            dev,
            block_size,
            bufs: BTreeMap::new(),
            clean: BTreeMap::new(),
            dirty: Default::default(),
            tick: 0,
            capacity,
            dirty_limit: capacity / 2,
            stats: CacheStats::default(),
        }
    }

    /// Traffic so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Whether enough buffers are dirty that the caller should write back soon.
    pub fn over_dirty_limit(&self) -> bool {
        self.dirty_count() > self.dirty_limit
    }

    /// Whether `block` is cached.
    pub fn contains(&self, block: u64) -> bool {
        self.bufs.contains_key(&block)
    }

    /// Dirty buffers now.
    pub fn dirty_count(&self) -> usize {
        self.dirty.iter().map(BTreeSet::len).sum()
    }

    fn sector_of(&self, block: u64) -> u64 {
        block * (self.block_size / SECTOR_SIZE) as u64
    }

    fn next_stamp(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Moves `block` to the young end of the LRU order (clean buffers only are in it).
    /// Notes a use of `block`: eviction gives it a second chance (the clock algorithm: a hit
    /// costs a flag, not a reordering).
    fn touch(&mut self, block: u64) {
        self.bufs
            .get_mut(&block)
            .expect("touch of a cached block")
            .referenced = true;
    }

    /// A buffer for a block about to be cached: if the cache is full, the oldest clean
    /// buffer is evicted and its memory reused (its contents are stale: the caller fills it);
    /// if every buffer is dirty, everything is written back first.
    fn new_buf(&mut self) -> Result<Box<[u8]>, Errno> {
        while self.bufs.len() >= self.capacity {
            if let Some((_, block)) = self.clean.pop_first() {
                let buf = self.bufs.get_mut(&block).expect("clean blocks are cached");
                if buf.referenced {
                    // Used since it was queued: to the young end, flag cleared.
                    buf.referenced = false;
                    self.tick += 1;
                    buf.stamp = self.tick;
                    self.clean.insert(self.tick, block);
                    continue;
                }
                let old = self.bufs.remove(&block).expect("clean blocks are cached");
                if self.bufs.len() < self.capacity {
                    return Ok(old.data);
                }
            } else {
                self.write_back()?;
                if self.clean.is_empty() {
                    // Nothing can be evicted (a tiny cache): grow rather than fail.
                    break;
                }
            }
        }
        zeroed(self.block_size)
            .map(Vec::into_boxed_slice)
            .ok_or(Errno::ENOMEM)
    }

    fn insert(&mut self, block: u64, data: Box<[u8]>, dirty: Option<Phase>) {
        let stamp = self.next_stamp();
        if let Some(p) = dirty {
            self.dirty[p as usize].insert(block);
        } else {
            self.clean.insert(stamp, block);
        }
        self.bufs.insert(
            block,
            Buf {
                data,
                stamp,
                referenced: false,
                dirty,
            },
        );
    }

    fn load(&mut self, block: u64) -> Result<(), Errno> {
        if self.bufs.contains_key(&block) {
            self.stats.hits += 1;
            self.touch(block);
            return Ok(());
        }
        let mut data = self.new_buf()?;
        self.stats.reads += 1;
        self.dev.read_sectors(self.sector_of(block), &mut data)?;
        self.insert(block, data, None);
        Ok(())
    }

    /// The contents of `block`, read from the device if not cached.
    pub fn read(&mut self, block: u64) -> Result<&[u8], Errno> {
        self.load(block)?;
        Ok(&self.bufs[&block].data)
    }

    fn mark_dirty(&mut self, block: u64, phase: Phase) {
        let buf = self.bufs.get_mut(&block).expect("dirtying a cached block");
        match buf.dirty {
            Some(old) if old <= phase => {}
            Some(old) => {
                self.dirty[old as usize].remove(&block);
                self.dirty[phase as usize].insert(block);
                buf.dirty = Some(phase);
            }
            None => {
                self.clean.remove(&buf.stamp);
                self.dirty[phase as usize].insert(block);
                buf.dirty = Some(phase);
            }
        }
    }

    /// The contents of `block` for changing; the buffer is written back in `phase` (or an
    /// earlier phase it was already due in).
    pub fn modify(&mut self, block: u64, phase: Phase) -> Result<&mut [u8], Errno> {
        self.load(block)?;
        self.mark_dirty(block, phase);
        Ok(&mut self.bufs.get_mut(&block).expect("just loaded").data)
    }

    /// A zero-filled buffer for a block just allocated, without reading the device; it is
    /// written in [`Phase::Data`], before anything that may point at it.
    pub fn fresh(&mut self, block: u64) -> Result<&mut [u8], Errno> {
        let buf = self.overwrite(block)?;
        buf.fill(0);
        Ok(buf)
    }

    /// A buffer for `block` that the caller overwrites entirely (file data), without reading
    /// the device: its contents until then are unspecified. Written in [`Phase::Data`].
    pub fn overwrite(&mut self, block: u64) -> Result<&mut [u8], Errno> {
        if self.bufs.contains_key(&block) {
            self.touch(block);
        } else {
            let data = self.new_buf()?;
            self.insert(block, data, None);
        }
        self.mark_dirty(block, Phase::Data);
        Ok(&mut self.bufs.get_mut(&block).expect("just inserted").data)
    }

    /// Memory pressure: frees clean buffers, oldest first, until at least `bytes` of heap
    /// came back or none is left; returns the bytes freed. Dirty buffers stay (writing them
    /// sleeps on the device). Buffers in use cannot be here: callers only hold them under
    /// the file system's lock, which the shrinker took. Never allocates.
    pub fn shrink(&mut self, bytes: usize) -> usize {
        let mut freed = 0;
        while freed < bytes {
            let Some((_, block)) = self.clean.pop_first() else {
                break;
            };
            let buf = self.bufs.remove(&block).expect("clean blocks are cached");
            freed += buf.data.len();
        }
        freed
    }

    /// Drops `block` from the cache without writing it (it was freed).
    pub fn forget(&mut self, block: u64) {
        if let Some(buf) = self.bufs.remove(&block) {
            match buf.dirty {
                Some(p) => {
                    self.dirty[p as usize].remove(&block);
                }
                None => {
                    self.clean.remove(&buf.stamp);
                }
            }
        }
    }

    /// Reads the uncached blocks of `blocks` (in the order a file will want them) with one
    /// request per run of consecutive block numbers. Best effort: stops early rather than
    /// evict more than a quarter of the cache, and ignores read errors (the later
    /// [`BlockCache::read`] reports them).
    pub fn read_ahead(&mut self, blocks: &[u64]) {
        let budget = self.capacity / 4;
        let max_run = (MAX_RUN_BYTES / self.block_size).max(1);
        let mut i = 0;
        let mut loaded = 0;
        while i < blocks.len() && loaded < budget {
            let first = blocks[i];
            if first == 0 || self.bufs.contains_key(&first) {
                i += 1;
                continue;
            }
            let mut n = 1;
            while i + n < blocks.len()
                && n < max_run
                && loaded + n < budget
                && blocks[i + n] == first + n as u64
                && !self.bufs.contains_key(&blocks[i + n])
            {
                n += 1;
            }
            let Some(mut run) = zeroed(n * self.block_size) else {
                return;
            };
            self.stats.reads += 1;
            if self
                .dev
                .read_sectors(self.sector_of(first), &mut run)
                .is_err()
            {
                return;
            }
            for (k, chunk) in run.chunks_exact(self.block_size).enumerate() {
                let Ok(mut data) = self.new_buf() else {
                    return;
                };
                data.copy_from_slice(chunk);
                self.insert(first + k as u64, data, None);
            }
            loaded += n;
            i += n;
        }
    }

    /// Writes every dirty buffer, phase by phase, with a device flush after each phase that
    /// wrote something (so the last flush also makes everything durable). Buffers whose write
    /// failed stay dirty; the first error is returned after trying the rest of that phase.
    pub fn write_back(&mut self) -> Result<(), Errno> {
        for phase in PHASES {
            let wrote = self.write_phase(phase)?;
            if wrote {
                self.stats.flushes += 1;
                self.dev.flush()?;
            }
        }
        Ok(())
    }

    fn write_phase(&mut self, phase: Phase) -> Result<bool, Errno> {
        let blocks: Vec<u64> = core::mem::take(&mut self.dirty[phase as usize])
            .into_iter()
            .collect();
        if blocks.is_empty() {
            return Ok(false);
        }
        let max_run = (MAX_RUN_BYTES / self.block_size).max(1);
        let mut result = Ok(true);
        let mut run = Vec::new();
        let mut i = 0;
        while i < blocks.len() {
            let first = blocks[i];
            let mut n = 1;
            while i + n < blocks.len() && n < max_run && blocks[i + n] == first + n as u64 {
                n += 1;
            }
            // Without memory for the run's bounce buffer, blocks go one by one.
            if n > 1 && run.try_reserve_exact(n * self.block_size).is_err() {
                n = 1;
            }
            let done = if n == 1 {
                self.stats.writes += 1;
                self.dev
                    .write_sectors(self.sector_of(first), &self.bufs[&first].data)
            } else {
                run.clear();
                for b in &blocks[i..i + n] {
                    run.extend_from_slice(&self.bufs[b].data);
                }
                self.stats.writes += 1;
                self.dev.write_sectors(self.sector_of(first), &run)
            };
            for &b in &blocks[i..i + n] {
                if done.is_ok() {
                    let stamp = self.next_stamp();
                    let buf = self.bufs.get_mut(&b).expect("dirty blocks are cached");
                    buf.dirty = None;
                    buf.stamp = stamp;
                    self.clean.insert(stamp, b);
                } else {
                    self.dirty[phase as usize].insert(b);
                }
            }
            if let Err(e) = done {
                result = Err(Errno::from(e));
            }
            i += n;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{FaultyDisk, RamDisk};

    fn cache(blocks: u64, capacity: usize) -> (Arc<RamDisk>, BlockCache) {
        let disk = Arc::new(RamDisk::new(blocks * 2));
        let c = BlockCache::new(disk.clone(), 1024, capacity);
        (disk, c)
    }

    #[test]
    fn writes_stay_in_memory_until_write_back() {
        let (disk, mut c) = cache(64, 32);
        c.modify(3, Phase::Inode).unwrap()[0] = 7;
        assert_eq!(c.read(3).unwrap()[0], 7);
        assert_eq!(disk.contents()[3 * 1024], 0);
        c.write_back().unwrap();
        assert_eq!(disk.durable_contents()[3 * 1024], 7);
        assert_eq!(c.dirty_count(), 0);
    }

    #[test]
    fn phases_are_written_in_order_with_a_flush_between() {
        // A disk that fails every write after the first: only the Data phase's block may
        // reach the disk, and it must be durable (flushed) before anything else is tried.
        let disk = Arc::new(FaultyDisk::new(RamDisk::new(128)));
        let mut c = BlockCache::new(disk.clone(), 1024, 32);
        c.modify(9, Phase::Names).unwrap()[0] = 4;
        c.modify(8, Phase::Inode).unwrap()[0] = 3;
        c.modify(7, Phase::Alloc).unwrap()[0] = 2;
        c.fresh(20).unwrap()[0] = 1;
        disk.fail_writes_after(1);
        assert_eq!(c.write_back(), Err(Errno::EIO));
        let durable = disk.inner().durable_contents();
        assert_eq!(durable[20 * 1024], 1);
        assert_eq!(durable[7 * 1024], 0);
        assert_eq!(c.dirty_count(), 3, "failed buffers stay dirty");
        disk.fail_writes_after(u64::MAX);
        c.write_back().unwrap();
        let durable = disk.inner().durable_contents();
        assert_eq!(
            [durable[7 * 1024], durable[8 * 1024], durable[9 * 1024]],
            [2, 3, 4]
        );
    }

    #[test]
    fn a_block_keeps_its_earliest_phase() {
        let (_disk, mut c) = cache(64, 32);
        c.fresh(5).unwrap();
        c.modify(5, Phase::Names).unwrap();
        assert!(c.dirty[Phase::Data as usize].contains(&5));
        assert!(!c.dirty[Phase::Names as usize].contains(&5));
    }

    #[test]
    fn consecutive_dirty_blocks_go_in_one_request() {
        let (disk, mut c) = cache(64, 64);
        for b in 10..20 {
            c.fresh(b).unwrap()[0] = b as u8;
        }
        c.write_back().unwrap();
        assert_eq!(c.stats().writes, 1);
        assert_eq!(c.stats().flushes, 1);
        assert_eq!(disk.durable_contents()[15 * 1024], 15);
    }

    #[test]
    fn clean_buffers_are_evicted_oldest_first() {
        let (disk, mut c) = cache(64, 16);
        disk.write_sectors(0, &[9; 1024]).unwrap();
        for b in 0..16 {
            c.read(b).unwrap();
        }
        c.read(0).unwrap(); // now the youngest
        c.read(40).unwrap(); // evicts block 1
        assert!(c.bufs.contains_key(&0));
        assert!(!c.bufs.contains_key(&1));
        let reads = c.stats().reads;
        assert_eq!(c.read(0).unwrap()[0], 9);
        assert_eq!(c.stats().reads, reads);
    }

    #[test]
    fn a_full_cache_of_dirty_buffers_writes_back_instead_of_failing() {
        let (disk, mut c) = cache(64, 16);
        for b in 0..20 {
            c.modify(b, Phase::Inode).unwrap()[0] = 1;
        }
        assert!(c.bufs.len() <= 16);
        assert_eq!(disk.contents()[0], 1);
    }

    #[test]
    fn read_ahead_reads_runs_and_forget_drops_dirty_data() {
        let (_disk, mut c) = cache(64, 64);
        c.read_ahead(&[4, 5, 6, 7, 30, 31]);
        assert_eq!(c.stats().reads, 2);
        c.read(6).unwrap();
        assert_eq!(c.stats().reads, 2);
        c.modify(6, Phase::Data).unwrap();
        c.forget(6);
        assert_eq!(c.dirty_count(), 0);
    }
}
