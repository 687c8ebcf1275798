//! Physical frame allocation: a binary buddy allocator with per-frame reference counts.
//!
//! [`FrameAllocator`] hands out blocks of `2^order` contiguous, naturally aligned 4 KiB frames
//! (order 0 ..= [`MAX_ORDER`], 4 KiB .. 4 MiB) from the ranges of RAM the embedder adds. It
//! keeps all of its state in a metadata table the embedder supplies, one [`FrameMeta`] (12
//! bytes) per frame of the covered span, so it needs no heap: the kernel heap itself grows
//! from it. The free lists are intrusive, threaded through that table by index.
//!
//! - Allocation is O([`MAX_ORDER`]); freeing merges buddies, also O([`MAX_ORDER`]).
//! - Every allocated block has a reference count, 1 when handed out. Sharing a frame between
//!   address spaces (copy-on-write, shared mappings) adds references; the block returns to the
//!   free lists when the last one is released.
//! - Misuse is detected and reported, never absorbed: releasing a frame that is not the head
//!   of an allocated block (a double free, a stray address) returns [`FrameError`] and changes
//!   nothing. Exhaustion returns `None`.
//!
//! - A 2 MiB block (order 9) backs a huge page. It can be split into 512 order-0 frames that
//!   each inherit the block's reference count ([`FrameAllocator::split_block`]), which is how a
//!   huge mapping becomes 4 KiB mappings without copying; freed, they merge back.
//!
//! [`FrameCache`] is a small per-CPU stash of order-0 frames in front of the allocator (the
//! [`cache`] module). What this is not: a NUMA-aware allocator, or a zeroing allocator (frames
//! come back with whatever they held;
//! [`FrameBytes::zero_frame`](crate::FrameBytes::zero_frame) clears them).
//!
//! The covered span is one contiguous range of frame numbers, from the lowest to the highest
//! usable address of the memory map. Holes inside it (the legacy VGA hole, the PCI hole below
//! 4 GiB) cost 12 bytes of metadata per 4 KiB frame of hole (0.3%); for the small guests oxv
//! targets the span is the RAM itself.

use crate::addr::{HUGE_ORDER, HUGE_PAGE_PAGES, HugeFrame, PAGE_SIZE, PhysAddr, PhysFrame};
use core::fmt;
use core::ops::Range;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub mod cache;

pub use cache::{CachedFrames, FrameCache, FrameStats};

#[cfg(test)]
mod tests;

/// The largest block order: `2^MAX_ORDER` frames (4 MiB).
pub const MAX_ORDER: u8 = 10;

const ORDERS: usize = MAX_ORDER as usize + 1;
/// "No frame" in the intrusive free lists.
const NIL: u32 = u32::MAX;

/// The state of one frame, as stored in [`FrameMeta::state`].
mod state {
    /// Not usable RAM (never added, or reserved by the embedder).
    pub const UNUSABLE: u8 = 0;
    /// First frame of a free block; `order` is its size, `a`/`b` link the free list.
    pub const FREE_HEAD: u8 = 1;
    /// First frame of an allocated block; `order` is its size, `a` its reference count.
    pub const ALLOCATED: u8 = 2;
    /// Any other frame of a free or allocated block.
    pub const INTERIOR: u8 = 3;
}

/// Per-frame metadata: one entry per frame of the span a [`FrameAllocator`] covers.
///
/// Opaque to the embedder, who only provides storage for it (see
/// [`FrameSpan::metadata_bytes`]). Every bit pattern is valid, so the storage may be any
/// suitably aligned byte range; the allocator overwrites all of it on construction.
#[repr(C)]
#[derive(Copy, Clone, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FrameMeta {
    state: u8,
    order: u8,
    _reserved: u16,
    /// Free: next free block of the same order. Allocated: reference count.
    a: u32,
    /// Free: previous free block of the same order.
    b: u32,
}

const _: () = assert!(core::mem::size_of::<FrameMeta>() == 12);

impl FrameMeta {
    /// The value of an entry before the allocator is constructed (its content is ignored).
    pub const UNUSED: FrameMeta = FrameMeta {
        state: 0,
        order: 0,
        _reserved: 0,
        a: 0,
        b: 0,
    };
}

impl fmt::Debug for FrameMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            state::FREE_HEAD => write!(f, "Free(order {})", self.order),
            state::ALLOCATED => write!(f, "Allocated(order {}, refs {})", self.order, self.a),
            state::INTERIOR => f.write_str("Interior"),
            _ => f.write_str("Unusable"),
        }
    }
}

/// Why a frame operation was refused. Nothing was changed.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FrameError {
    /// The frame lies outside the span this allocator covers.
    OutOfRange(PhysFrame),
    /// The frame is not the first frame of an allocated block (double free, stray frame).
    NotAllocated(PhysFrame),
    /// [`FrameAllocator::free`] on a block that still has other references.
    Shared(PhysFrame),
    /// The reference count would overflow.
    TooManyReferences(PhysFrame),
    /// [`FrameAllocator::add_range`] over frames that were already added.
    AlreadyAdded(PhysFrame),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::OutOfRange(fr) => write!(f, "{fr:?} is outside the allocator's span"),
            FrameError::NotAllocated(fr) => write!(f, "{fr:?} is not an allocated block"),
            FrameError::Shared(fr) => write!(f, "{fr:?} still has other references"),
            FrameError::TooManyReferences(fr) => write!(f, "{fr:?} reference count overflow"),
            FrameError::AlreadyAdded(fr) => write!(f, "{fr:?} was already added"),
        }
    }
}

impl core::error::Error for FrameError {}

/// Why metadata storage could not be used.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MetadataError {
    /// The byte slice is not aligned for [`FrameMeta`] (4 bytes).
    Misaligned,
    /// More than `u32::MAX - 1` frames (16 TiB): frame indices are 32 bits.
    TooLarge,
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::Misaligned => f.write_str("frame metadata storage is misaligned"),
            MetadataError::TooLarge => f.write_str("frame span exceeds 2^32 frames"),
        }
    }
}

impl core::error::Error for MetadataError {}

/// The contiguous run of frame numbers a [`FrameAllocator`] covers.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct FrameSpan {
    /// The lowest frame.
    pub base: PhysFrame,
    /// How many frames, from `base` on.
    pub frames: usize,
}

impl FrameSpan {
    /// The span from the lowest to the highest usable frame of `ranges` (whole frames only:
    /// starts round up, ends round down), or `None` if they hold no whole frame.
    pub fn covering(ranges: &[Range<PhysAddr>]) -> Option<FrameSpan> {
        let mut lo = u64::MAX;
        let mut hi = 0u64;
        for r in ranges {
            let (s, e) = whole_frames(r);
            if s < e {
                lo = lo.min(s);
                hi = hi.max(e);
            }
        }
        (lo < hi).then(|| FrameSpan {
            base: PhysFrame::from_number(lo),
            frames: usize::try_from(hi - lo).unwrap_or(usize::MAX),
        })
    }

    /// How many [`FrameMeta`] entries the allocator needs for this span.
    pub const fn metadata_len(&self) -> usize {
        self.frames
    }

    /// How many bytes of metadata storage the allocator needs for this span (12 per frame,
    /// 4-byte aligned).
    pub const fn metadata_bytes(&self) -> usize {
        self.frames * core::mem::size_of::<FrameMeta>()
    }
}

/// Frame numbers `[s, e)` of the whole frames inside `r`.
fn whole_frames(r: &Range<PhysAddr>) -> (u64, u64) {
    let page = PAGE_SIZE as u64;
    let s = r.start.as_u64().div_ceil(page);
    let e = r.end.as_u64() / page;
    (s, e.max(s))
}

/// Something that hands out reference-counted 4 KiB frames: what an
/// [`AddressSpace`](crate::AddressSpace) and a [`PageTable`](crate::PageTable) allocate from.
///
/// [`FrameAllocator`] implements it. A kernel that keeps its allocator behind a lock should
/// implement it on a small handle that locks for each call rather than pass a locked guard
/// around: the kernel heap may grow from the same allocator while an address-space operation
/// is running (see the crate docs on lock order).
pub trait FrameSource {
    /// A frame with reference count 1 and unspecified contents, or `None` when out of memory.
    fn allocate_frame(&mut self) -> Option<PhysFrame>;

    /// Adds a reference to an allocated frame; returns the new count.
    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError>;

    /// Drops a reference; the frame is freed when the count reaches 0. Returns the new count.
    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError>;

    /// The reference count of an allocated frame, `None` if it is not allocated.
    fn ref_count(&self, frame: PhysFrame) -> Option<u32>;

    /// A 2 MiB block (512 frames, 2 MiB aligned) with reference count 1, or `None`. The
    /// default is `None`: no huge pages. The other `*_huge` methods are only called on blocks
    /// this returned.
    fn allocate_huge(&mut self) -> Option<HugeFrame> {
        None
    }

    /// Adds a reference for one more huge mapping of `block`: to the block while it is whole,
    /// to each of its 512 frames once it was split.
    fn add_ref_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        Err(FrameError::NotAllocated(block.frame(0)))
    }

    /// Drops the reference of one huge mapping of `block` (whole, or each of its frames once
    /// split), freeing what reaches zero.
    fn release_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        Err(FrameError::NotAllocated(block.frame(0)))
    }

    /// The reference count of `block` while it is a whole 2 MiB block, `None` once split.
    fn huge_ref_count(&self, block: HugeFrame) -> Option<u32> {
        let _ = block;
        None
    }

    /// Splits `block` into 512 frames that each get the block's reference count, so they can
    /// be mapped, shared and released one by one. Splitting a split block changes nothing.
    fn split_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        Err(FrameError::NotAllocated(block.frame(0)))
    }
}

/// A binary buddy allocator over the frames of one [`FrameSpan`]. See the [module docs](self).
///
/// ```
/// use oxv_mm::{FrameAllocator, FrameMeta, FrameSpan, PhysAddr};
///
/// // The boot memory map: two usable ranges.
/// let ram = [PhysAddr::new(0x1000)..PhysAddr::new(0x9f000),
///            PhysAddr::new(0x10_0000)..PhysAddr::new(0x40_0000)];
/// let span = FrameSpan::covering(&ram).unwrap();
/// assert_eq!(span.metadata_bytes(), 1023 * 12);
/// assert_eq!(FrameAllocator::metadata_len(&ram), 1023);
/// // A kernel carves this out of RAM; a test can use a Vec.
/// let mut meta = vec![FrameMeta::UNUSED; span.metadata_len()];
/// let mut frames = FrameAllocator::new(span.base, &mut meta);
/// for r in &ram {
///     frames.add_range(r.clone()).unwrap();
/// }
/// let block = frames.allocate(2).unwrap(); // 4 contiguous frames, 16 KiB aligned
/// assert_eq!(block.start_address().as_u64() % 0x4000, 0);
/// frames.free(block).unwrap();
/// assert_eq!(frames.free_frames(), frames.total_frames());
/// ```
pub struct FrameAllocator<'a> {
    meta: &'a mut [FrameMeta],
    base_pfn: u64,
    heads: [u32; ORDERS],
    total: usize,
    free: usize,
}

impl fmt::Debug for FrameAllocator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameAllocator")
            .field("base", &PhysFrame::from_number(self.base_pfn))
            .field("span", &self.meta.len())
            .field("total", &self.total)
            .field("free", &self.free)
            .finish()
    }
}

impl<'a> FrameAllocator<'a> {
    /// An allocator covering frames `base .. base + meta.len()`, with no usable frame yet: add
    /// RAM with [`add_range`](Self::add_range).
    ///
    /// # Panics
    /// If `meta` has `u32::MAX` entries or more (16 TiB of span); use
    /// [`from_bytes`](Self::from_bytes) to get an error instead.
    pub fn new(base: PhysFrame, meta: &'a mut [FrameMeta]) -> Self {
        assert!(
            meta.len() < NIL as usize,
            "frame span too large for 32-bit indices"
        );
        meta.fill(FrameMeta::UNUSED);
        FrameAllocator {
            meta,
            base_pfn: base.number(),
            heads: [NIL; ORDERS],
            total: 0,
            free: 0,
        }
    }

    /// Like [`new`](Self::new), with metadata storage given as raw bytes (for instance a range
    /// of RAM seen through the kernel's direct map). Uses `bytes.len() / 12` entries; the
    /// start must be 4-byte aligned.
    pub fn from_bytes(base: PhysFrame, bytes: &'a mut [u8]) -> Result<Self, MetadataError> {
        let usable = bytes.len() - bytes.len() % core::mem::size_of::<FrameMeta>();
        let meta = <[FrameMeta]>::mut_from_bytes(&mut bytes[..usable])
            .map_err(|_| MetadataError::Misaligned)?;
        if meta.len() >= NIL as usize {
            return Err(MetadataError::TooLarge);
        }
        Ok(Self::new(base, meta))
    }

    /// How many [`FrameMeta`] entries an allocator for the usable `ranges` of a memory map
    /// needs (0 if they hold no whole frame); see [`FrameSpan::covering`].
    pub fn metadata_len(ranges: &[Range<PhysAddr>]) -> usize {
        FrameSpan::covering(ranges).map_or(0, |s| s.metadata_len())
    }

    /// The span this allocator covers.
    pub fn span(&self) -> FrameSpan {
        FrameSpan {
            base: PhysFrame::from_number(self.base_pfn),
            frames: self.meta.len(),
        }
    }

    /// Makes the whole frames inside `range` available and returns how many there were.
    /// Nothing is added if any of them lies outside the span or was added before.
    pub fn add_range(&mut self, range: Range<PhysAddr>) -> Result<usize, FrameError> {
        let (s, e) = whole_frames(&range);
        if s == e {
            return Ok(0);
        }
        let first = self.index(PhysFrame::from_number(s))?;
        let last = self.index(PhysFrame::from_number(e - 1))?;
        if let Some(i) = (first..=last).find(|&i| self.meta[i].state != state::UNUSABLE) {
            return Err(FrameError::AlreadyAdded(self.frame(i)));
        }
        let mut pfn = s;
        while pfn < e {
            // The largest naturally aligned block that starts here and fits.
            let mut order = 0u8;
            while order < MAX_ORDER
                && pfn.trailing_zeros() > u32::from(order)
                && pfn + (2u64 << order) <= e
            {
                order += 1;
            }
            let head = self.index(PhysFrame::from_number(pfn))?;
            for i in head + 1..head + (1usize << order) {
                self.meta[i].state = state::INTERIOR;
            }
            // Merges with blocks added by earlier calls, so adjacent ranges coalesce.
            self.free_block(head, order);
            pfn += 1u64 << order;
        }
        let n = usize::try_from(e - s).unwrap_or(usize::MAX);
        self.total += n;
        self.free += n;
        Ok(n)
    }

    /// Adds `range` minus every range in `reserved` (the kernel image, the metadata table,
    /// boot modules...), and returns how many frames were added. A frame that is only partly
    /// reserved is not added. On error, the pieces before the failing one stay added.
    pub fn add_range_except(
        &mut self,
        range: Range<PhysAddr>,
        reserved: &[Range<PhysAddr>],
    ) -> Result<usize, FrameError> {
        let mut added = 0;
        let mut cursor = range.start;
        while cursor < range.end {
            // The first reservation that still reaches past the cursor.
            let next = reserved
                .iter()
                .filter(|r| r.start < r.end && r.end > cursor && r.start < range.end)
                .min_by_key(|r| r.start);
            match next {
                Some(r) => {
                    if r.start > cursor {
                        // `add_range` rounds the end down, so the frame holding `r.start` stays out.
                        added += self.add_range(cursor..r.start)?;
                    }
                    cursor = cursor.max(r.end);
                }
                None => {
                    added += self.add_range(cursor..range.end)?;
                    break;
                }
            }
        }
        Ok(added)
    }

    /// A block of `2^order` contiguous frames aligned to its size, with reference count 1, or
    /// `None` if no such block is free (or `order > MAX_ORDER`).
    pub fn allocate(&mut self, order: u8) -> Option<PhysFrame> {
        if order > MAX_ORDER {
            return None;
        }
        let found = (order..=MAX_ORDER).find(|&k| self.heads[usize::from(k)] != NIL)?;
        let head = self.heads[usize::from(found)] as usize;
        self.remove_free(head, found);
        let mut k = found;
        while k > order {
            k -= 1;
            self.insert_free(head + (1usize << k), k);
        }
        self.meta[head] = FrameMeta {
            state: state::ALLOCATED,
            order,
            _reserved: 0,
            a: 1,
            b: 0,
        };
        self.free -= 1usize << order;
        Some(self.frame(head))
    }

    /// Frees a block that has exactly one reference (the common case: the caller owns it).
    /// Refuses, changing nothing, if the block is shared or not allocated.
    pub fn free(&mut self, block: PhysFrame) -> Result<(), FrameError> {
        let i = self.allocated_index(block)?;
        if self.meta[i].a != 1 {
            return Err(FrameError::Shared(block));
        }
        self.release(block).map(|_| ())
    }

    /// The order of an allocated block, `None` if `block` is not the head of one.
    pub fn block_order(&self, block: PhysFrame) -> Option<u8> {
        self.allocated_index(block).ok().map(|i| self.meta[i].order)
    }

    /// Frames added with [`add_range`](Self::add_range).
    pub fn total_frames(&self) -> usize {
        self.total
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// The number of free blocks of exactly `order` (for tests and statistics).
    pub fn free_blocks(&self, order: u8) -> usize {
        let mut n = 0;
        let mut i = self.heads.get(usize::from(order)).copied().unwrap_or(NIL);
        while i != NIL {
            n += 1;
            i = self.meta[i as usize].a;
        }
        n
    }

    /// Turns the allocated block at `block` into `2^order` allocated order-0 frames, each with
    /// the block's reference count. An order-0 block is left as it is.
    pub fn split_block(&mut self, block: PhysFrame) -> Result<(), FrameError> {
        let i = self.allocated_index(block)?;
        let FrameMeta { order, a: refs, .. } = self.meta[i];
        for j in i..i + (1usize << order) {
            self.meta[j] = FrameMeta {
                state: state::ALLOCATED,
                order: 0,
                _reserved: 0,
                a: refs,
                b: 0,
            };
        }
        Ok(())
    }

    /// Statistics for `/proc/meminfo` (no per-CPU caches counted: see [`FrameStats`]).
    pub fn stats(&self) -> FrameStats {
        FrameStats {
            total_frames: self.total,
            free_frames: self.free,
            cached_frames: 0,
        }
    }

    /// The indices of the 512 frames of a huge block, if they are all allocated order-0
    /// frames (a split block).
    fn split_huge_range(&self, block: HugeFrame) -> Result<Range<usize>, FrameError> {
        let head = self.index(block.frame(0))?;
        let range = head..head + HUGE_PAGE_PAGES;
        if range.end > self.meta.len() {
            return Err(FrameError::OutOfRange(block.frame(HUGE_PAGE_PAGES - 1)));
        }
        for i in range.clone() {
            let m = self.meta[i];
            if m.state != state::ALLOCATED || m.order != 0 || m.a == 0 {
                return Err(FrameError::NotAllocated(self.frame(i)));
            }
        }
        Ok(range)
    }

    /// Whether `block` is a whole, allocated order-9 block.
    fn is_whole_huge(&self, block: HugeFrame) -> bool {
        self.allocated_index(block.frame(0))
            .is_ok_and(|i| self.meta[i].order == HUGE_ORDER)
    }

    fn index(&self, frame: PhysFrame) -> Result<usize, FrameError> {
        frame
            .number()
            .checked_sub(self.base_pfn)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < self.meta.len())
            .ok_or(FrameError::OutOfRange(frame))
    }

    fn allocated_index(&self, frame: PhysFrame) -> Result<usize, FrameError> {
        let i = self.index(frame)?;
        if self.meta[i].state == state::ALLOCATED {
            Ok(i)
        } else {
            Err(FrameError::NotAllocated(frame))
        }
    }

    fn frame(&self, index: usize) -> PhysFrame {
        PhysFrame::from_number(self.base_pfn + index as u64)
    }

    /// Marks `[head, head + 2^order)` free, merging it with free buddies.
    fn free_block(&mut self, mut head: usize, mut order: u8) {
        while order < MAX_ORDER {
            let pfn = self.base_pfn + head as u64;
            let buddy_pfn = pfn ^ (1u64 << order);
            let Some(buddy) = buddy_pfn
                .checked_sub(self.base_pfn)
                .and_then(|b| usize::try_from(b).ok())
                .filter(|&b| b < self.meta.len())
            else {
                break;
            };
            let m = self.meta[buddy];
            if m.state != state::FREE_HEAD || m.order != order {
                break;
            }
            self.remove_free(buddy, order);
            let upper = head.max(buddy);
            self.meta[upper] = FrameMeta {
                state: state::INTERIOR,
                ..FrameMeta::UNUSED
            };
            head = head.min(buddy);
            order += 1;
        }
        self.insert_free(head, order);
    }

    fn insert_free(&mut self, i: usize, order: u8) {
        let old = self.heads[usize::from(order)];
        self.meta[i] = FrameMeta {
            state: state::FREE_HEAD,
            order,
            _reserved: 0,
            a: old,
            b: NIL,
        };
        if old != NIL {
            self.meta[old as usize].b = i as u32;
        }
        self.heads[usize::from(order)] = i as u32;
    }

    fn remove_free(&mut self, i: usize, order: u8) {
        let FrameMeta {
            a: next, b: prev, ..
        } = self.meta[i];
        if prev == NIL {
            self.heads[usize::from(order)] = next;
        } else {
            self.meta[prev as usize].a = next;
        }
        if next != NIL {
            self.meta[next as usize].b = prev;
        }
        self.meta[i].state = state::INTERIOR;
    }
}

impl FrameSource for FrameAllocator<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        self.allocate(0)
    }

    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        let i = self.allocated_index(frame)?;
        let n = self.meta[i]
            .a
            .checked_add(1)
            .ok_or(FrameError::TooManyReferences(frame))?;
        self.meta[i].a = n;
        Ok(n)
    }

    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        let i = self.allocated_index(frame)?;
        let n = self.meta[i].a - 1;
        self.meta[i].a = n;
        if n == 0 {
            let order = self.meta[i].order;
            self.free += 1usize << order;
            self.free_block(i, order);
        }
        Ok(n)
    }

    fn ref_count(&self, frame: PhysFrame) -> Option<u32> {
        self.allocated_index(frame).ok().map(|i| self.meta[i].a)
    }

    fn allocate_huge(&mut self) -> Option<HugeFrame> {
        self.allocate(HUGE_ORDER)
            .map(|f| HugeFrame::from_start_address(f.start_address()))
            .map(|h| h.expect("an order-9 buddy block is 2 MiB aligned"))
    }

    fn add_ref_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        if self.is_whole_huge(block) {
            return self.add_ref(block.frame(0)).map(|_| ());
        }
        let range = self.split_huge_range(block)?;
        if let Some(i) = range.clone().find(|&i| self.meta[i].a == u32::MAX) {
            return Err(FrameError::TooManyReferences(self.frame(i)));
        }
        for i in range {
            self.meta[i].a += 1;
        }
        Ok(())
    }

    fn release_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        if self.is_whole_huge(block) {
            return self.release(block.frame(0)).map(|_| ());
        }
        let range = self.split_huge_range(block)?;
        for i in range {
            let frame = self.frame(i);
            self.release(frame)?;
        }
        Ok(())
    }

    fn huge_ref_count(&self, block: HugeFrame) -> Option<u32> {
        if self.is_whole_huge(block) {
            self.ref_count(block.frame(0))
        } else {
            None
        }
    }

    fn split_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        self.split_block(block.frame(0))
    }
}
