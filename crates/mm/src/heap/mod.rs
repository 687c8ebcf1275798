//! The kernel heap: a `#[global_allocator]` that starts in a static arena and grows on demand.
//!
//! [`KernelHeap`] wraps the [`talc`] allocator (boundary tags, binned free lists, O(1) free,
//! in-place realloc) behind a lock. It claims its initial [`HeapArena`] (a static byte array)
//! on the first allocation, and when it runs out asks the embedder's [`HeapGrowth`] for more
//! memory: in oxv, frames from the buddy allocator seen through the direct map. Memory is
//! never given back.
//!
//! This is the only module of oxv-mm with `unsafe` code: handing raw memory to the allocator
//! and implementing [`GlobalAlloc`]. The contract with the embedder is carried by
//! [`HeapRegion`], which only `unsafe` code (or a leaked `&'static mut [u8]`) can make.
//!
//! # Locking and interrupts
//!
//! The lock is a spin lock ([`spin::Mutex`] by default; any `lock_api::RawMutex` can be
//! given as the second type parameter). It does not disable interrupts: an interrupt handler
//! that allocates while the interrupted code holds the lock deadlocks. Either never allocate
//! in interrupt handlers, or supply a raw mutex that disables interrupts while held.
//!
//! [`HeapGrowth::grow`] runs with the heap lock held, so it must not allocate from this heap
//! (directly, or through anything that does, like formatting into a `String`).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::lock_api::RawMutex;
use talc::source::Source;

#[cfg(test)]
mod tests;

/// A static byte array that a [`KernelHeap`] starts with.
///
/// ```
/// use oxv_mm::heap::{HeapArena, KernelHeap, NoGrowth};
///
/// static ARENA: HeapArena<{ 64 * 1024 }> = HeapArena::new();
/// // In a kernel: #[global_allocator]
/// static HEAP: KernelHeap<NoGrowth> = KernelHeap::new(&ARENA, NoGrowth);
/// ```
pub struct HeapArena<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
    claimed: AtomicBool,
}

// SAFETY: the bytes are never accessed through `&HeapArena`; they are handed to one allocator
// exactly once, guarded by the atomic `claimed` flag, and from then on belong to it.
unsafe impl<const N: usize> Sync for HeapArena<N> {}

impl<const N: usize> HeapArena<N> {
    /// A zeroed arena (in `.bss` when used in a `static`).
    pub const fn new() -> Self {
        HeapArena {
            bytes: UnsafeCell::new([0; N]),
            claimed: AtomicBool::new(false),
        }
    }
}

impl<const N: usize> Default for HeapArena<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Memory given to the heap for good: exclusively the heap's from now on, never freed.
pub struct HeapRegion {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: a `HeapRegion` is exclusive ownership of plain bytes; sending it to another thread
// moves that ownership.
unsafe impl Send for HeapRegion {}

impl fmt::Debug for HeapRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeapRegion({:p}, {:#x})", self.start, self.len)
    }
}

impl HeapRegion {
    /// A region made of a leaked or static byte slice.
    pub fn from_static(mem: &'static mut [u8]) -> Self {
        let len = mem.len();
        HeapRegion {
            start: NonNull::from(mem).cast(),
            len,
        }
    }

    /// A region made of raw memory (for instance frames seen through the direct map).
    ///
    /// # Safety
    /// `[start, start + len)` must be valid for reads and writes, and nothing else may
    /// access it, ever again: it belongs to the heap until the end of the program.
    pub unsafe fn from_raw_parts(start: NonNull<u8>, len: usize) -> Self {
        HeapRegion { start, len }
    }

    /// The first byte.
    pub fn start(&self) -> NonNull<u8> {
        self.start
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Where the heap gets more memory, implemented by the embedder.
pub trait HeapGrowth: Send {
    /// Called when an allocation found no room, with the heap lock held. Returns a region of
    /// at least `min_len` bytes (more is welcome: a kernel typically rounds up to a
    /// power-of-two block of frames, 64 KiB or more, to keep the number of regions low), or
    /// `None` to let the allocation fail.
    ///
    /// Must not allocate from this heap.
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion>;
}

/// A [`HeapGrowth`] that never grows: the heap is the arena and the regions added by hand.
#[derive(Copy, Clone, Debug, Default)]
pub struct NoGrowth;

impl HeapGrowth for NoGrowth {
    fn grow(&mut self, _min_len: usize) -> Option<HeapRegion> {
        None
    }
}

/// Heap statistics.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct HeapStats {
    /// Bytes of all regions the allocator has claimed (the arena included).
    pub claimed_bytes: usize,
    /// How many regions it has claimed.
    pub regions: usize,
    /// How many times [`HeapGrowth::grow`] returned `None`.
    pub growth_failures: usize,
}

/// Allocator slack per claimed region and per allocation: boundary tags and alignment of the
/// region base (talc's `CHUNK_UNIT` is 4 words).
const REGION_SLACK: usize = 8 * talc::base::CHUNK_UNIT;

/// The talc [`Source`]: the unclaimed arena, then the embedder's growth.
struct GrowSource<G> {
    arena: Option<(NonNull<u8>, usize, &'static AtomicBool)>,
    growth: G,
    stats: HeapStats,
}

// SAFETY: the arena pointer denotes static memory that only this source may claim (guarded by
// the flag); moving the source moves that right. `G: Send` covers the rest.
unsafe impl<G: Send> Send for GrowSource<G> {}

impl<G> fmt::Debug for GrowSource<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrowSource")
            .field("stats", &self.stats)
            .finish()
    }
}

impl<G: HeapGrowth> GrowSource<G> {
    /// Claims `[start, start + len)` for `talc`; returns whether it could.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, and belong to this heap alone from now
    /// until the end of the program.
    unsafe fn claim<B: Binning>(talc: &mut Talc<Self, B>, start: NonNull<u8>, len: usize) -> bool {
        // SAFETY: guaranteed by the caller; the region is never released or touched again
        // by anyone but the allocator, which is what `Talc::claim` requires.
        let claimed = unsafe { talc.claim(start.as_ptr(), len) }.is_some();
        if claimed {
            talc.source.stats.claimed_bytes += len;
            talc.source.stats.regions += 1;
        }
        claimed
    }
}

// SAFETY: `acquire` only touches the `Talc` it is given and the embedder's `HeapGrowth`, which
// must not allocate from this heap (its documented contract).
unsafe impl<G: HeapGrowth> Source for GrowSource<G> {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if let Some((start, len, flag)) = talc.source.arena.take()
            && !flag.swap(true, Ordering::AcqRel)
            // SAFETY: the arena is static memory, and the flag was clear, so no other heap
            // claimed it and none ever will (see `HeapArena`).
            && unsafe { Self::claim(talc, start, len) }
        {
            return Ok(());
        }
        let mut need = layout
            .size()
            .saturating_add(layout.align())
            .saturating_add(REGION_SLACK);
        if !talc.is_metadata_established() {
            need = need.saturating_add(talc::min_first_heap_size::<B>());
        }
        let Some(region) = talc.source.growth.grow(need) else {
            talc.source.stats.growth_failures += 1;
            return Err(());
        };
        // SAFETY: a `HeapRegion` is exclusive, permanent ownership of valid memory (the
        // contract of its constructors).
        if unsafe { Self::claim(talc, region.start, region.len) } {
            Ok(())
        } else {
            Err(())
        }
    }
}

/// The kernel heap. See the [module docs](self).
///
/// ```
/// use oxv_mm::heap::{HeapArena, HeapGrowth, HeapRegion, KernelHeap};
/// use core::alloc::{GlobalAlloc, Layout};
///
/// /// Grows by leaking host memory; a kernel hands out direct-mapped frames instead.
/// struct Leak;
/// impl HeapGrowth for Leak {
///     fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
///         let len = min_len.max(64 * 1024);
///         Some(HeapRegion::from_static(Box::leak(vec![0u8; len].into_boxed_slice())))
///     }
/// }
///
/// static ARENA: HeapArena<4096> = HeapArena::new();
/// static HEAP: KernelHeap<Leak> = KernelHeap::new(&ARENA, Leak);
///
/// let layout = Layout::from_size_align(100_000, 8).unwrap();
/// let p = unsafe { HEAP.alloc(layout) }; // bigger than the arena: grows
/// assert!(!p.is_null());
/// unsafe { HEAP.dealloc(p, layout) };
/// assert_eq!(HEAP.stats().regions, 2);
/// ```
pub struct KernelHeap<G: HeapGrowth, R: RawMutex = spin::Mutex<()>> {
    talc: talc::TalcLock<R, GrowSource<G>>,
}

impl<G: HeapGrowth, R: RawMutex> KernelHeap<G, R> {
    /// A heap that starts with `arena` (claimed on the first allocation) and grows through
    /// `growth`. If the arena was already claimed by another heap, it is skipped.
    pub const fn new<const N: usize>(arena: &'static HeapArena<N>, growth: G) -> Self {
        let start = arena.bytes.get() as *mut u8;
        let arena = match NonNull::new(start) {
            Some(start) => Some((start, N, &arena.claimed)),
            None => None,
        };
        KernelHeap {
            talc: talc::TalcLock::new(GrowSource {
                arena,
                growth,
                stats: STATS_ZERO,
            }),
        }
    }

    /// A heap with no arena: it gets all of its memory from `growth` and
    /// [`add_region`](Self::add_region).
    pub const fn without_arena(growth: G) -> Self {
        KernelHeap {
            talc: talc::TalcLock::new(GrowSource {
                arena: None,
                growth,
                stats: STATS_ZERO,
            }),
        }
    }

    /// Gives the heap more memory now. Returns `false` if the region is too small to use
    /// (it is then lost).
    pub fn add_region(&self, region: HeapRegion) -> bool {
        let mut talc = self.talc.lock();
        // SAFETY: a `HeapRegion` is exclusive, permanent ownership of valid memory.
        unsafe { GrowSource::claim(&mut talc, region.start, region.len) }
    }

    /// Statistics (takes the lock).
    pub fn stats(&self) -> HeapStats {
        self.talc.lock().source.stats
    }
}

const STATS_ZERO: HeapStats = HeapStats {
    claimed_bytes: 0,
    regions: 0,
    growth_failures: 0,
};

// SAFETY: every method forwards to `TalcLock`'s `GlobalAlloc`, which meets the trait's contract
// for memory it owns; it only ever owns memory given by `HeapArena` or `HeapRegion`.
unsafe impl<G: HeapGrowth, R: RawMutex> GlobalAlloc for KernelHeap<G, R> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.talc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees (`ptr` came from this heap).
        unsafe { self.talc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.talc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees (`ptr` came from this heap).
        unsafe { self.talc.realloc(ptr, layout, new_size) }
    }
}

impl<G: HeapGrowth, R: RawMutex> fmt::Debug for KernelHeap<G, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelHeap").finish_non_exhaustive()
    }
}
