//! The kernel heap: a `#[global_allocator]` that starts in a static arena and grows on demand.
//!
//! [`KernelHeap`] wraps the [`talc`] allocator (boundary tags, binned free lists, O(1) free,
//! in-place realloc) behind a lock. It claims its initial [`HeapArena`] (a static byte array)
//! on the first allocation, and when it runs out asks the embedder's [`HeapGrowth`] for more
//! memory: in oxv, frames from the buddy allocator seen through the direct map. A grown
//! region that is wholly free again goes back to the embedder when it asks
//! ([`KernelHeap::release_free_regions`], under memory pressure: Linux frees empty slabs
//! the same way); the arena and regions added by hand stay.
//!
//! # Out of memory
//!
//! When growth fails, an allocation does not fail at once (in a kernel, a failed allocation
//! is a panic). As Linux's page allocator does before it gives up, the heap:
//!
//! 1. asks the embedder's [`HeapPressure::reclaim`] to drop memory it can rebuild (caches),
//!    then tries again;
//! 2. serves the allocation from its **emergency reserve**: a region set aside beforehand
//!    ([`KernelHeap::arm_reserve`]) and kept out of the allocator until now, so that the
//!    kernel can finish what it was doing;
//! 3. tells the embedder through [`HeapPressure::out_of_memory`], which frees memory for
//!    good (oxv's OOM killer kills the largest process, as Linux's does).
//!
//! The reserve is armed again by the first growth that succeeds afterwards (the victim's
//! memory is back). An allocation that finds the reserve already spent, or is larger than
//! it, also goes to [`HeapPressure::out_of_memory`] and is tried once more; if it still
//! finds no room it fails (a fallible allocation, `try_reserve`, returns an error; any other
//! ends in the kernel's allocation error handler, which panics).
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

/// Memory given to the heap: exclusively the heap's from now on, until the heap gives it
/// back through [`HeapGrowth::release`] (a grown region, wholly free again), if ever.
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
    /// access it, ever again: it belongs to the heap until the end of the program, or,
    /// for a region from [`HeapGrowth::grow`], until the heap hands it to
    /// [`HeapGrowth::release`].
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

    /// Takes back a region [`grow`](Self::grow) returned, whole and unused again (called by
    /// [`KernelHeap::release_free_regions`], with the heap lock held). Returns it if the
    /// embedder does not take memory back (the default): the heap keeps it then.
    ///
    /// Must not allocate from this heap.
    fn release(&mut self, region: HeapRegion) -> Option<HeapRegion> {
        Some(region)
    }
}

/// What the heap does when it cannot grow, implemented by the embedder. See the
/// [module docs](self#out-of-memory). Both methods run without the heap lock held.
pub trait HeapPressure: Sync {
    /// Drops memory the embedder can rebuild (caches of frames, file pages) so that a retry
    /// of [`HeapGrowth::grow`] for `min_len` bytes may succeed; returns whether anything was
    /// freed (the allocation is only retried then).
    ///
    /// Must not allocate from this heap: it is full.
    fn reclaim(&self, min_len: usize) -> bool;

    /// The heap is out of memory for an allocation of `layout`: it has just served it from
    /// its emergency reserve, or it has no reserve that could (spent already, or smaller
    /// than the request), and then the allocation is tried once more after this returns
    /// (and fails if it still finds no room). Either way the embedder must free memory for
    /// good (kill a process), or the next failure is final.
    ///
    /// May allocate: what is left of the reserve serves it (or the allocation fails).
    fn out_of_memory(&self, layout: Layout);
}

/// A [`HeapPressure`] with nothing to reclaim and nothing to do when out of memory.
#[derive(Copy, Clone, Debug, Default)]
pub struct NoPressure;

impl HeapPressure for NoPressure {
    fn reclaim(&self, _min_len: usize) -> bool {
        false
    }

    fn out_of_memory(&self, _layout: Layout) {}
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
    /// How many times [`HeapGrowth::grow`] returned `None` (re-arming the reserve aside).
    pub growth_failures: usize,
    /// Bytes of the emergency reserve set aside now (0 when spent or never armed).
    pub reserve_bytes: usize,
    /// How many times the reserve was handed to the allocator.
    pub reserve_uses: usize,
    /// Bytes of grown regions given back to the embedder so far (not in `claimed_bytes`
    /// any more).
    pub released_bytes: usize,
}

/// Allocator slack per claimed region and per allocation: boundary tags and alignment of the
/// region base (talc's `CHUNK_UNIT` is 4 words), and the region's [`RegionLink`].
const REGION_SLACK: usize = 8 * talc::base::CHUNK_UNIT + LINK_BYTES;

/// The first bytes of every region from [`HeapGrowth::grow`], kept out of the allocator: a
/// list through the grown regions (the heap cannot allocate one), so that
/// [`KernelHeap::release_free_regions`] can find those wholly free again.
#[repr(C)]
struct RegionLink {
    next: Option<NonNull<RegionLink>>,
    /// The whole region, as growth gave it.
    len: usize,
    /// Where talc's heap made of the rest of it ends (its handle for that heap).
    heap_end: NonNull<u8>,
}

/// The bytes a [`RegionLink`] takes at the start of its region (talc's chunk alignment).
const LINK_BYTES: usize = size_of::<RegionLink>().next_multiple_of(talc::base::CHUNK_UNIT);

/// The talc [`Source`]: the unclaimed arena, then the embedder's growth.
struct GrowSource<G> {
    arena: Option<(NonNull<u8>, usize, &'static AtomicBool)>,
    growth: G,
    stats: HeapStats,
    /// The emergency reserve, out of the allocator until it is needed.
    reserve: Option<HeapRegion>,
    /// The reserve's size to arm again after it is spent (0: none wanted).
    reserve_len: usize,
    /// The regions from growth that the allocator uses, newest first.
    grown: Option<NonNull<RegionLink>>,
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

    /// Claims a region from [`HeapGrowth::grow`] behind a [`RegionLink`] at its start, and
    /// lists it; returns whether it could (else the region is lost, as with `claim`).
    ///
    /// # Safety
    /// As [`Self::claim`]; the region must come from this heap's growth.
    unsafe fn claim_grown<B: Binning>(talc: &mut Talc<Self, B>, region: HeapRegion) -> bool {
        if !region.start.cast::<RegionLink>().is_aligned() {
            // Not from a frame allocator (a leaked slice, in tests): kept for good.
            // SAFETY: as the caller's.
            return unsafe { Self::claim(talc, region.start, region.len) };
        }
        if region.len <= LINK_BYTES {
            return false;
        }
        let link = region.start.cast::<RegionLink>();
        // SAFETY: the caller gives the region to the heap: its first bytes are ours to
        // keep the link in, the rest goes to talc, which never writes below what it claims.
        let heap_end = unsafe {
            talc.claim(
                region.start.as_ptr().add(LINK_BYTES),
                region.len - LINK_BYTES,
            )
        };
        let Some(heap_end) = heap_end else {
            return false;
        };
        // SAFETY: `link` is the region's start, page aligned by growth (at least the link's
        // alignment), and no one else uses those bytes.
        unsafe {
            link.as_ptr().write(RegionLink {
                next: talc.source.grown,
                len: region.len,
                heap_end,
            })
        };
        talc.source.grown = Some(link);
        talc.source.stats.claimed_bytes += region.len;
        talc.source.stats.regions += 1;
        true
    }

    /// Sets a reserve of `reserve_len` bytes aside if none is: after a growth succeeded,
    /// memory is available again.
    fn rearm(&mut self) {
        if self.reserve.is_none()
            && self.reserve_len > 0
            && let Some(region) = self.growth.grow(self.reserve_len)
        {
            self.stats.reserve_bytes = region.len;
            self.reserve = Some(region);
        }
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
        let mut need = need_for(layout);
        if !talc.is_metadata_established() {
            need = need.saturating_add(talc::min_first_heap_size::<B>());
        }
        let Some(region) = talc.source.growth.grow(need) else {
            talc.source.stats.growth_failures += 1;
            return Err(());
        };
        // SAFETY: a `HeapRegion` is exclusive ownership of valid memory (the contract of its
        // constructors), and this one comes from growth.
        if unsafe { Self::claim_grown(talc, region) } {
            talc.source.rearm();
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
pub struct KernelHeap<G: HeapGrowth, R: RawMutex = spin::Mutex<()>, P: HeapPressure = NoPressure> {
    talc: talc::TalcLock<R, GrowSource<G>>,
    pressure: P,
}

impl<G: HeapGrowth, R: RawMutex> KernelHeap<G, R> {
    /// A heap that starts with `arena` (claimed on the first allocation) and grows through
    /// `growth`. If the arena was already claimed by another heap, it is skipped.
    pub const fn new<const N: usize>(arena: &'static HeapArena<N>, growth: G) -> Self {
        Self::with_pressure(arena, growth, NoPressure)
    }

    /// A heap with no arena: it gets all of its memory from `growth` and
    /// [`add_region`](Self::add_region).
    pub const fn without_arena(growth: G) -> Self {
        KernelHeap {
            talc: talc::TalcLock::new(GrowSource {
                arena: None,
                growth,
                stats: STATS_ZERO,
                reserve: None,
                reserve_len: 0,
                grown: None,
            }),
            pressure: NoPressure,
        }
    }
}

impl<G: HeapGrowth, R: RawMutex, P: HeapPressure> KernelHeap<G, R, P> {
    /// A heap like [`KernelHeap::new`] that turns to `pressure` when it cannot grow.
    pub const fn with_pressure<const N: usize>(
        arena: &'static HeapArena<N>,
        growth: G,
        pressure: P,
    ) -> Self {
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
                reserve: None,
                reserve_len: 0,
                grown: None,
            }),
            pressure,
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

    /// Sets an emergency reserve of (at least) `len` bytes aside now, from
    /// [`HeapGrowth::grow`], and keeps that size to arm again after it is spent. Returns
    /// whether a reserve is armed (growth may fail; the size is kept all the same).
    pub fn arm_reserve(&self, len: usize) -> bool {
        let mut talc = self.talc.lock();
        talc.source.reserve_len = len;
        talc.source.rearm();
        talc.source.reserve.is_some()
    }

    /// Hands the reserve to the allocator if it is armed and big enough for `layout`;
    /// `None` if this heap keeps no reserve.
    fn spend_reserve(&self, layout: Layout) -> Option<bool> {
        let mut talc = self.talc.lock();
        if talc.source.reserve_len == 0 {
            return None;
        }
        let fits = talc
            .source
            .reserve
            .as_ref()
            .is_some_and(|r| r.len >= need_for(layout));
        if !fits {
            return Some(false);
        }
        let Some(region) = talc.source.reserve.take() else {
            return Some(false);
        };
        talc.source.stats.reserve_bytes = 0;
        talc.source.stats.reserve_uses += 1;
        // SAFETY: a `HeapRegion` is exclusive ownership of valid memory; the reserve comes
        // from growth.
        Some(unsafe { GrowSource::claim_grown(&mut talc, region) })
    }

    /// Gives grown regions that are wholly free back to the embedder
    /// ([`HeapGrowth::release`]), until at least `want` bytes went back or none is left;
    /// returns the bytes given back. For memory pressure: the freed blocks can serve a
    /// user page or merge into a block large enough for a big allocation. Does nothing if
    /// the heap lock is held (it may be this CPU's own: the caller may be inside an
    /// allocation).
    pub fn release_free_regions(&self, want: usize) -> usize {
        let Some(mut talc) = self.talc.try_lock() else {
            return 0;
        };
        let mut released = 0;
        let mut prev: Option<NonNull<RegionLink>> = None;
        let mut at = talc.source.grown;
        while let Some(link) = at
            && released < want
        {
            // SAFETY: every listed link was written by `claim_grown` and stays valid while
            // its region is listed; only this code unlists, under the lock.
            let listed = unsafe { link.as_ptr().read() };
            let RegionLink {
                next,
                len,
                heap_end,
            } = listed;
            at = next;
            // SAFETY: `heap_end` is the current end of that heap: only `claim_grown` and
            // this code (which then unlists it) change a grown heap's extent.
            let whole_gap = !unsafe { talc.reserved(heap_end) }.any;
            // SAFETY: as above; talc deletes the heap, as it is one free gap.
            if !whole_gap || unsafe { talc.truncate(heap_end, core::ptr::null_mut()) }.is_some() {
                prev = Some(link);
                continue;
            }
            match prev {
                None => talc.source.grown = next,
                // SAFETY: `prev` is a listed link (above), not `link`.
                Some(p) => unsafe { (*p.as_ptr()).next = next },
            }
            talc.source.stats.claimed_bytes -= len;
            talc.source.stats.regions -= 1;
            // SAFETY: talc gave the region's heap up, and the link was its first bytes: the
            // whole region is unused; it came from growth, which takes it back.
            let region = unsafe { HeapRegion::from_raw_parts(link.cast(), len) };
            match talc.source.growth.release(region) {
                None => {
                    talc.source.stats.released_bytes += len;
                    released += len;
                }
                Some(kept) => {
                    // The embedder keeps no memory back: the region is the heap's again,
                    // and so are all the others.
                    // SAFETY: the region is still the heap's alone, from growth.
                    unsafe { GrowSource::claim_grown(&mut talc, kept) };
                    break;
                }
            }
        }
        released
    }

    /// An allocation that failed: reclaim and retry, then the reserve and the embedder's
    /// out-of-memory handling (see the [module docs](self#out-of-memory)). `attempt` is
    /// the allocation, run again (it takes the lock itself).
    #[cold]
    #[inline(never)]
    fn under_pressure(&self, layout: Layout, attempt: impl Fn() -> *mut u8) -> *mut u8 {
        if self.pressure.reclaim(need_for(layout)) {
            let p = attempt();
            if !p.is_null() {
                return p;
            }
        }
        // Retried even when no reserve was spent here: another CPU may just have spent it.
        let Some(spent) = self.spend_reserve(layout) else {
            return core::ptr::null_mut();
        };
        let p = attempt();
        if spent {
            self.pressure.out_of_memory(layout);
            return p;
        }
        if !p.is_null() {
            return p;
        }
        // No reserve for it (spent, or too small for this request): the allocation fails
        // unless the embedder frees memory now; it is told, and the allocation tried once
        // more. A fallible allocation (`try_reserve`) then fails cleanly, and the memory
        // freed serves the next ones.
        self.pressure.out_of_memory(layout);
        attempt()
    }
}

/// Bytes a region must have to serve `layout` (with the allocator's slack).
fn need_for(layout: Layout) -> usize {
    layout
        .size()
        .saturating_add(layout.align())
        .saturating_add(REGION_SLACK)
}

const STATS_ZERO: HeapStats = HeapStats {
    claimed_bytes: 0,
    regions: 0,
    growth_failures: 0,
    reserve_bytes: 0,
    reserve_uses: 0,
    released_bytes: 0,
};

// SAFETY: every method forwards to `TalcLock`'s `GlobalAlloc`, which meets the trait's contract
// for memory it owns; it only ever owns memory given by `HeapArena` or `HeapRegion`. A failed
// call is retried with the same arguments (a failed realloc leaves the block as it was).
unsafe impl<G: HeapGrowth, R: RawMutex, P: HeapPressure> GlobalAlloc for KernelHeap<G, R, P> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let attempt = || unsafe { self.talc.alloc(layout) };
        match attempt() {
            p if p.is_null() => self.under_pressure(layout, attempt),
            p => p,
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees (`ptr` came from this heap).
        unsafe { self.talc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let attempt = || unsafe { self.talc.alloc_zeroed(layout) };
        match attempt() {
            p if p.is_null() => self.under_pressure(layout, attempt),
            p => p,
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees (`ptr` came from this heap and is
        // still live: a failed realloc leaves it as it was).
        let attempt = || unsafe { self.talc.realloc(ptr, layout, new_size) };
        match attempt() {
            p if p.is_null() => {
                let new = Layout::from_size_align(new_size, layout.align()).unwrap_or(layout);
                self.under_pressure(new, attempt)
            }
            p => p,
        }
    }
}

impl<G: HeapGrowth, R: RawMutex, P: HeapPressure> fmt::Debug for KernelHeap<G, R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelHeap").finish_non_exhaustive()
    }
}
