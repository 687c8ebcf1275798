//! Per-CPU caches of free frames: a small stash of order-0 frames in front of the buddy
//! allocator, like Linux's per-CPU page lists (`struct per_cpu_pages`).
//!
//! The fast path of a page fault allocates one frame and of an munmap frees some. With a
//! [`FrameCache`] per CPU, most of those calls pop or push a frame in the CPU's own array
//! (no lock, no buddy split or merge); only every [`FrameCache::BATCH`] frames does the cache
//! take the allocator's lock to refill or drain a batch.
//!
//! Frames in a cache stay *allocated* in the buddy metadata, with reference count 1 owned by
//! the cache: handing one out needs no metadata write, which is what lets [`FrameCache::pop`]
//! run without the allocator. Releasing still goes through the allocator (reference counts
//! live there), via [`FrameAllocator::release_to_cache`], which keeps a frame that reaches
//! zero in the cache instead of merging it into the buddy lists.
//!
//! What it is not: a cache for larger blocks (only order 0; DMA and huge pages go to the buddy
//! allocator), or a global object: the kernel keeps one per CPU (in its per-CPU area, used with
//! interrupts disabled) and counts them all in [`FrameStats`] for `/proc/meminfo`.

use super::{FrameAllocator, FrameError, FrameSource, state};
use crate::addr::{HugeFrame, PhysFrame};

/// Frame counts for `/proc/meminfo`: the allocator's, plus what per-CPU caches hold.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct FrameStats {
    /// Frames of RAM the allocator manages (`MemTotal`).
    pub total_frames: usize,
    /// Frames free in the buddy lists.
    pub free_frames: usize,
    /// Free frames held by per-CPU caches (free for `/proc/meminfo`, allocated for the buddy).
    pub cached_frames: usize,
}

impl FrameStats {
    /// Adds the frames `cache` holds.
    pub fn with_cache(mut self, cache: &FrameCache) -> Self {
        self.cached_frames += cache.len();
        self
    }

    /// Free frames, cached ones included (`MemFree`).
    pub fn free_total(&self) -> usize {
        self.free_frames + self.cached_frames
    }
}

/// A CPU's stash of free order-0 frames. See the [module docs](self).
///
/// ```
/// use oxv_mm::{FrameAllocator, FrameCache, FrameMeta, FrameSource, PhysAddr, PhysFrame};
///
/// let mut meta = vec![FrameMeta::UNUSED; 64];
/// let mut frames = FrameAllocator::new(PhysFrame::from_number(0x100), &mut meta);
/// frames.add_range(PhysAddr::new(0x10_0000)..PhysAddr::new(0x14_0000)).unwrap();
/// let mut cache = FrameCache::new();
///
/// // Empty: refill a batch from the allocator (the kernel holds its lock for this), then pop.
/// assert_eq!(cache.pop(), None);
/// cache.refill(&mut frames);
/// let f = cache.pop().unwrap();
/// assert_eq!(frames.ref_count(f), Some(1));
/// // Releasing the last reference parks the frame in the cache again.
/// assert_eq!(frames.release_to_cache(f, &mut cache), Ok(0));
/// assert_eq!(frames.stats().with_cache(&cache).free_total(), 64);
/// ```
#[derive(Debug)]
pub struct FrameCache {
    frames: [u64; FrameCache::CAPACITY],
    len: usize,
    hits: u64,
    refills: u64,
}

impl Default for FrameCache {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameCache {
    /// How many frames one cache holds at most (256 KiB).
    pub const CAPACITY: usize = 64;
    /// How many frames move between the cache and the allocator at once.
    pub const BATCH: usize = 16;

    /// An empty cache.
    pub const fn new() -> Self {
        FrameCache {
            frames: [0; Self::CAPACITY],
            len: 0,
            hits: 0,
            refills: 0,
        }
    }

    /// How many frames the cache holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(pops served, refills done)`, for statistics.
    pub fn counters(&self) -> (u64, u64) {
        (self.hits, self.refills)
    }

    /// A frame from the cache (allocated, reference count 1, contents unspecified), or `None`
    /// when it is empty: then [`refill`](Self::refill) it. Touches no allocator.
    pub fn pop(&mut self) -> Option<PhysFrame> {
        let n = self.len.checked_sub(1)?;
        self.len = n;
        self.hits += 1;
        Some(PhysFrame::from_number(self.frames[n]))
    }

    /// Takes up to [`BATCH`](Self::BATCH) frames from `from` (fewer when the cache is nearly
    /// full or memory is short) and returns how many.
    pub fn refill(&mut self, from: &mut FrameAllocator<'_>) -> usize {
        self.refills += 1;
        let want = Self::BATCH.min(Self::CAPACITY - self.len);
        let mut got = 0;
        while got < want {
            let Some(f) = from.allocate(0) else { break };
            self.frames[self.len] = f.number();
            self.len += 1;
            got += 1;
        }
        got
    }

    /// Gives every cached frame back to `to` (CPU going offline, memory pressure).
    pub fn drain(&mut self, to: &mut FrameAllocator<'_>) {
        self.drain_some(to, self.len);
    }

    fn drain_some(&mut self, to: &mut FrameAllocator<'_>, n: usize) {
        for _ in 0..n.min(self.len) {
            self.len -= 1;
            let freed = to.free(PhysFrame::from_number(self.frames[self.len]));
            debug_assert!(freed.is_ok(), "a cached frame is allocated once: {freed:?}");
        }
    }

    fn contains(&self, frame: PhysFrame) -> bool {
        self.frames[..self.len].contains(&frame.number())
    }

    fn push(&mut self, frame: PhysFrame) {
        debug_assert!(self.len < Self::CAPACITY, "push on a full cache");
        self.frames[self.len] = frame.number();
        self.len += 1;
    }
}

impl FrameAllocator<'_> {
    /// Drops a reference like [`FrameSource::release`], but an order-0 frame whose count
    /// reaches zero goes to `cache` (staying allocated, count 1, owned by the cache) instead of
    /// the buddy lists; a full cache first gives [`FrameCache::BATCH`] frames back. A frame
    /// already in `cache` is refused as a double free.
    pub fn release_to_cache(
        &mut self,
        frame: PhysFrame,
        cache: &mut FrameCache,
    ) -> Result<u32, FrameError> {
        let i = self.allocated_index(frame)?;
        let m = self.meta[i];
        if m.a != 1 || m.order != 0 {
            return self.release(frame);
        }
        if cache.contains(frame) {
            return Err(FrameError::NotAllocated(frame));
        }
        if cache.len() == FrameCache::CAPACITY {
            cache.drain_some(self, FrameCache::BATCH);
        }
        debug_assert_eq!(self.meta[i].state, state::ALLOCATED);
        cache.push(frame);
        Ok(0)
    }
}

/// A [`FrameSource`] over an allocator and one CPU's [`FrameCache`]: what a kernel's per-CPU
/// frame handle does, and what tests use. Order-0 allocations and last releases go through the
/// cache; everything else to the allocator.
pub struct CachedFrames<'a, 'm> {
    /// The buddy allocator (in a kernel: its locked guard, taken only when needed).
    pub allocator: &'a mut FrameAllocator<'m>,
    /// This CPU's cache.
    pub cache: &'a mut FrameCache,
}

impl FrameSource for CachedFrames<'_, '_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        if let Some(f) = self.cache.pop() {
            return Some(f);
        }
        self.cache.refill(self.allocator);
        self.cache.pop()
    }

    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        self.allocator.add_ref(frame)
    }

    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        self.allocator.release_to_cache(frame, self.cache)
    }

    fn ref_count(&self, frame: PhysFrame) -> Option<u32> {
        self.allocator.ref_count(frame)
    }

    fn allocate_huge(&mut self) -> Option<HugeFrame> {
        self.allocator.allocate_huge()
    }

    fn add_ref_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        self.allocator.add_ref_huge(block)
    }

    fn release_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        self.allocator.release_huge(block)
    }

    fn huge_ref_count(&self, block: HugeFrame) -> Option<u32> {
        self.allocator.huge_ref_count(block)
    }

    fn split_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        self.allocator.split_huge(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{PAGE_SIZE, PhysAddr};
    use crate::frame::FrameMeta;
    use std::vec;
    use std::vec::Vec;

    fn allocator(meta: &mut [FrameMeta]) -> FrameAllocator<'_> {
        let n = meta.len() as u64;
        let mut a = FrameAllocator::new(PhysFrame::from_number(0x100), meta);
        let base = 0x100 * PAGE_SIZE as u64;
        a.add_range(PhysAddr::new(base)..PhysAddr::new(base + n * PAGE_SIZE as u64))
            .unwrap();
        a
    }

    #[test]
    fn pops_without_the_allocator_after_one_refill() {
        let mut meta = vec![FrameMeta::UNUSED; 256];
        let mut a = allocator(&mut meta);
        let mut c = FrameCache::new();
        assert_eq!(c.refill(&mut a), FrameCache::BATCH);
        assert_eq!(a.free_frames(), 256 - FrameCache::BATCH);
        let mut got = Vec::new();
        while let Some(f) = c.pop() {
            assert_eq!(a.ref_count(f), Some(1), "handed out with one reference");
            got.push(f);
        }
        got.sort();
        got.dedup();
        assert_eq!(got.len(), FrameCache::BATCH, "no frame handed out twice");
        assert_eq!(c.counters(), (FrameCache::BATCH as u64, 1));
        assert_eq!(
            a.stats().with_cache(&c).free_total(),
            256 - FrameCache::BATCH
        );
    }

    #[test]
    fn last_release_parks_in_the_cache_and_a_full_cache_drains_a_batch() {
        let mut meta = vec![FrameMeta::UNUSED; 256];
        let mut a = allocator(&mut meta);
        let mut c = FrameCache::new();
        let frames: Vec<PhysFrame> = (0..FrameCache::CAPACITY + 1)
            .map(|_| a.allocate(0).unwrap())
            .collect();
        let shared = frames[0];
        a.add_ref(shared).unwrap();
        assert_eq!(
            a.release_to_cache(shared, &mut c),
            Ok(1),
            "still referenced"
        );
        assert!(c.is_empty());
        for &f in &frames[..FrameCache::CAPACITY] {
            assert_eq!(a.release_to_cache(f, &mut c), Ok(0));
        }
        assert_eq!(c.len(), FrameCache::CAPACITY);
        assert_eq!(a.free_frames(), 256 - FrameCache::CAPACITY - 1);
        // One more: a batch goes back to the buddy lists first.
        a.release_to_cache(frames[FrameCache::CAPACITY], &mut c)
            .unwrap();
        assert_eq!(c.len(), FrameCache::CAPACITY - FrameCache::BATCH + 1);
        assert_eq!(a.free_frames(), 256 - c.len());
        assert_eq!(a.stats().with_cache(&c).free_total(), 256);
        c.drain(&mut a);
        assert_eq!(a.free_frames(), 256);
        assert_eq!(a.free_blocks(8), 1, "drained frames merge back");
    }

    #[test]
    fn double_release_into_the_cache_is_refused() {
        let mut meta = vec![FrameMeta::UNUSED; 32];
        let mut a = allocator(&mut meta);
        let mut c = FrameCache::new();
        let f = a.allocate(0).unwrap();
        assert_eq!(a.release_to_cache(f, &mut c), Ok(0));
        assert_eq!(
            a.release_to_cache(f, &mut c),
            Err(FrameError::NotAllocated(f))
        );
        assert_eq!(c.len(), 1);
        // Larger blocks bypass the cache.
        let b = a.allocate(2).unwrap();
        assert_eq!(a.release_to_cache(b, &mut c), Ok(0));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn an_address_space_runs_on_a_cached_frame_source() {
        use crate::aspace::{Access, AddressSpace, AddressSpaceConfig, MmapArgs, Platform};
        use crate::fake::{FakeFrames, FakePageTable, FakeTlb};
        use linux_raw_sys::general::{MAP_PRIVATE, PROT_READ, PROT_WRITE};
        let mut meta = vec![FrameMeta::UNUSED; 64];
        let mut a = allocator(&mut meta);
        let mut c = FrameCache::new();
        let (bytes, tlb) = (FakeFrames::new(), FakeTlb::new());
        let mut src = CachedFrames {
            allocator: &mut a,
            cache: &mut c,
        };
        let mut plat = Platform {
            frames: &mut src,
            bytes: &bytes,
            tlb: &tlb,
        };
        let mut aspace = AddressSpace::new(FakePageTable::new(), AddressSpaceConfig::new(1 << 40));
        let args = MmapArgs::anonymous(0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE);
        let x = aspace.mmap(args, &mut plat).unwrap();
        for i in 0..8 {
            aspace
                .handle_fault(x + i * 4096, Access::Write, &mut plat)
                .unwrap();
        }
        aspace.teardown(&mut plat);
        // Everything came back, most of it into the cache, none of it lost.
        // The refilled batch: 5 never used, 8 pages and 3 page tables back from the teardown.
        assert_eq!(c.len(), FrameCache::BATCH, "everything parked in the cache");
        assert_eq!(a.stats().with_cache(&c).free_total(), 64);
        assert_eq!(c.counters(), (11, 1), "one refill served every allocation");
    }

    #[test]
    fn cached_frames_is_a_frame_source() {
        let mut meta = vec![FrameMeta::UNUSED; 64];
        let mut a = allocator(&mut meta);
        let mut c = FrameCache::new();
        let mut src = CachedFrames {
            allocator: &mut a,
            cache: &mut c,
        };
        let mut got = Vec::new();
        while let Some(f) = src.allocate_frame() {
            got.push(f);
        }
        assert_eq!(got.len(), 64, "the cache refills until RAM is exhausted");
        for f in got {
            assert_eq!(src.release(f), Ok(0));
        }
        assert_eq!(c.len(), FrameCache::CAPACITY);
        assert_eq!(a.free_frames(), 0, "all 64 parked in the cache");
        c.drain(&mut a);
        assert_eq!(a.free_frames(), 64);
    }
}
