use super::*;
use crate::testing::XorShift;
use std::boxed::Box;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::vec;
use std::vec::Vec;

/// Grows by leaking host memory, up to a budget of bytes, and records the requests.
struct FakeGrowth {
    budget: usize,
    requests: Vec<usize>,
    chunk: usize,
}

impl FakeGrowth {
    fn new(budget: usize, chunk: usize) -> Self {
        FakeGrowth {
            budget,
            requests: Vec::new(),
            chunk,
        }
    }
}

impl HeapGrowth for FakeGrowth {
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
        self.requests.push(min_len);
        let len = min_len.max(self.chunk);
        if len > self.budget {
            return None;
        }
        self.budget -= len;
        Some(HeapRegion::from_static(Box::leak(
            vec![0u8; len].into_boxed_slice(),
        )))
    }
}

fn leaked_arena<const N: usize>() -> &'static HeapArena<N> {
    Box::leak(Box::new(HeapArena::new()))
}

struct Live {
    ptr: *mut u8,
    layout: Layout,
    fill: u8,
}

fn check(l: &Live) {
    // SAFETY: `l.ptr` is a live allocation of `l.layout.size()` bytes from the heap under test.
    let bytes = unsafe { core::slice::from_raw_parts(l.ptr, l.layout.size()) };
    assert!(
        bytes.iter().all(|&b| b == l.fill),
        "allocation content corrupted"
    );
}

fn fill(l: &Live) {
    // SAFETY: `l.ptr` is a live allocation of `l.layout.size()` bytes from the heap under test.
    unsafe { core::ptr::write_bytes(l.ptr, l.fill, l.layout.size()) };
}

#[test]
fn starts_in_the_arena() {
    let heap = KernelHeap::<_>::new(leaked_arena::<8192>(), FakeGrowth::new(0, 0));
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: non-zero-sized layout.
    let p = unsafe { heap.alloc(layout) };
    assert!(!p.is_null());
    assert_eq!(
        heap.stats(),
        HeapStats {
            claimed_bytes: 8192,
            regions: 1,
            growth_failures: 0,
            reserve_bytes: 0,
            reserve_uses: 0,
            released_bytes: 0,
        }
    );
    // SAFETY: `p` was allocated above with `layout`.
    unsafe { heap.dealloc(p, layout) };
}

#[test]
fn exhaustion_returns_null() {
    let heap = KernelHeap::<_>::new(leaked_arena::<8192>(), FakeGrowth::new(0, 0));
    let layout = Layout::from_size_align(64 * 1024, 8).unwrap();
    // SAFETY: non-zero-sized layout.
    let p = unsafe { heap.alloc(layout) };
    assert!(p.is_null());
    assert_eq!(heap.stats().growth_failures, 1);
}

#[test]
fn grows_for_large_allocations_and_reports_the_need() {
    let heap = KernelHeap::<_>::without_arena(FakeGrowth::new(usize::MAX, 0));
    let layout = Layout::from_size_align(300_000, 4096).unwrap();
    // SAFETY: non-zero-sized layout.
    let p = unsafe { heap.alloc(layout) };
    assert!(!p.is_null());
    assert_eq!(p as usize % 4096, 0);
    let stats = heap.stats();
    assert_eq!(stats.regions, 1, "one request must be enough: {stats:?}");
    assert!(stats.claimed_bytes >= 300_000 + 4096);
    // SAFETY: `p` was allocated above with `layout`.
    unsafe { heap.dealloc(p, layout) };
}

#[test]
fn an_arena_is_claimed_by_one_heap_only() {
    let arena = leaked_arena::<16384>();
    let a = KernelHeap::<_>::new(arena, FakeGrowth::new(0, 0));
    let b = KernelHeap::<_>::new(arena, FakeGrowth::new(0, 0));
    let layout = Layout::from_size_align(64, 8).unwrap();
    // SAFETY: non-zero-sized layout.
    let pa = unsafe { a.alloc(layout) };
    assert!(!pa.is_null());
    // SAFETY: non-zero-sized layout.
    let pb = unsafe { b.alloc(layout) };
    assert!(
        pb.is_null(),
        "the second heap must not claim the same arena"
    );
    // SAFETY: `pa` was allocated above with `layout`.
    unsafe { a.dealloc(pa, layout) };
}

#[test]
fn add_region_by_hand() {
    let heap = KernelHeap::<_>::without_arena(NoGrowth);
    assert!(!heap.add_region(HeapRegion::from_static(Box::leak(
        vec![0u8; 8].into_boxed_slice()
    ))));
    assert!(heap.add_region(HeapRegion::from_static(Box::leak(
        vec![0u8; 32768].into_boxed_slice()
    ))));
    let layout = Layout::from_size_align(1000, 16).unwrap();
    // SAFETY: non-zero-sized layout.
    let p = unsafe { heap.alloc_zeroed(layout) };
    assert!(!p.is_null());
    // SAFETY: `p` is a live allocation of 1000 bytes.
    let bytes = unsafe { core::slice::from_raw_parts(p, 1000) };
    assert!(bytes.iter().all(|&b| b == 0));
    // SAFETY: `p` was allocated above with `layout`.
    unsafe { heap.dealloc(p, layout) };
}

/// Random alloc/realloc/free with content checks, on a heap that starts small and grows in
/// 64 KiB steps: no allocation overlaps another, contents survive realloc, alignment holds.
#[test]
fn randomized_alloc_realloc_free() {
    for seed in 1..=4u64 {
        let mut rng = XorShift::new(seed * 7919);
        let heap =
            KernelHeap::<_>::new(leaked_arena::<4096>(), FakeGrowth::new(64 << 20, 64 * 1024));
        let mut live: Vec<Live> = Vec::new();
        for step in 0..2000 {
            let r = rng.below(100);
            if live.is_empty() || r < 45 {
                let size = match rng.below(10) {
                    0..=6 => 1 + rng.below(256) as usize,
                    7 | 8 => 1 + rng.below(8192) as usize,
                    _ => 1 + rng.below(200_000) as usize,
                };
                let align = 1usize << rng.below(13);
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero-sized layout.
                let ptr = unsafe { heap.alloc(layout) };
                assert!(!ptr.is_null(), "seed {seed} step {step}: out of memory");
                assert_eq!(ptr as usize % align, 0, "misaligned allocation");
                let l = Live {
                    ptr,
                    layout,
                    fill: (step % 251) as u8,
                };
                fill(&l);
                live.push(l);
            } else if r < 70 {
                let i = rng.below(live.len() as u64) as usize;
                let l = &mut live[i];
                check(l);
                let new_size = 1 + rng.below(20_000) as usize;
                // SAFETY: `l.ptr` is live with `l.layout`; `new_size` is non-zero.
                let p = unsafe { heap.realloc(l.ptr, l.layout, new_size) };
                assert!(!p.is_null());
                assert_eq!(p as usize % l.layout.align(), 0);
                let kept = new_size.min(l.layout.size());
                // SAFETY: `p` is live with at least `kept` bytes.
                let bytes = unsafe { core::slice::from_raw_parts(p, kept) };
                assert!(bytes.iter().all(|&b| b == l.fill), "realloc lost contents");
                l.ptr = p;
                l.layout = Layout::from_size_align(new_size, l.layout.align()).unwrap();
                fill(l);
            } else {
                let l = live.swap_remove(rng.below(live.len() as u64) as usize);
                check(&l);
                // SAFETY: `l.ptr` is live with `l.layout`.
                unsafe { heap.dealloc(l.ptr, l.layout) };
            }
            if step % 500 == 0 {
                live.iter().for_each(check);
            }
        }
        for l in live.drain(..) {
            check(&l);
            // SAFETY: `l.ptr` is live with `l.layout`.
            unsafe { heap.dealloc(l.ptr, l.layout) };
        }
        assert!(heap.stats().regions > 1, "the test must exercise growth");
    }
}

/// Grows by leaking host memory from a budget shared with a [`FakePressure`], which can add
/// to it (reclaim) like a kernel dropping caches or a killed process's memory coming back.
struct SharedGrowth(Arc<AtomicUsize>);

impl HeapGrowth for SharedGrowth {
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
        let len = min_len.max(16 * 1024);
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(len))
            .ok()?;
        Some(HeapRegion::from_static(Box::leak(
            vec![0u8; len].into_boxed_slice(),
        )))
    }
}

struct FakePressure {
    budget: Arc<AtomicUsize>,
    /// Bytes `reclaim` can give back (once).
    reclaimable: AtomicUsize,
    reclaims: AtomicUsize,
    /// The sizes of the layouts `out_of_memory` was told about.
    ooms: Mutex<Vec<usize>>,
    /// Bytes `out_of_memory` gives back (once): a victim's memory reaped at once.
    killable: AtomicUsize,
}

impl HeapPressure for FakePressure {
    fn reclaim(&self, _min_len: usize) -> bool {
        self.reclaims.fetch_add(1, Ordering::SeqCst);
        let freed = self.reclaimable.swap(0, Ordering::SeqCst);
        self.budget.fetch_add(freed, Ordering::SeqCst);
        freed > 0
    }

    fn out_of_memory(&self, layout: Layout) {
        self.ooms.lock().unwrap().push(layout.size());
        let freed = self.killable.swap(0, Ordering::SeqCst);
        self.budget.fetch_add(freed, Ordering::SeqCst);
    }
}

type PressuredHeap = KernelHeap<SharedGrowth, spin::Mutex<()>, FakePressure>;

/// A heap with no arena, growth from a budget of `budget` bytes, and `reclaimable` bytes
/// its pressure handler can free.
fn pressured(budget: usize, reclaimable: usize) -> (PressuredHeap, Arc<AtomicUsize>) {
    let shared = Arc::new(AtomicUsize::new(budget));
    let pressure = FakePressure {
        budget: shared.clone(),
        reclaimable: AtomicUsize::new(reclaimable),
        reclaims: AtomicUsize::new(0),
        ooms: Mutex::new(Vec::new()),
        killable: AtomicUsize::new(0),
    };
    let heap =
        KernelHeap::with_pressure(leaked_arena::<0>(), SharedGrowth(shared.clone()), pressure);
    (heap, shared)
}

fn alloc(heap: &PressuredHeap, size: usize) -> *mut u8 {
    // SAFETY: non-zero-sized layout.
    unsafe { heap.alloc(Layout::from_size_align(size, 8).unwrap()) }
}

#[test]
fn reclaim_comes_before_the_reserve() {
    let (heap, _budget) = pressured(64 * 1024, 64 * 1024);
    assert!(heap.arm_reserve(64 * 1024));
    assert_eq!(heap.stats().reserve_bytes, 64 * 1024);
    // The budget is spent on the reserve: this growth fails, reclaim frees 64 KiB, the retry
    // grows from it.
    assert!(!alloc(&heap, 1000).is_null());
    assert_eq!(heap.pressure.reclaims.load(Ordering::SeqCst), 1);
    assert!(heap.pressure.ooms.lock().unwrap().is_empty());
    let stats = heap.stats();
    assert_eq!(stats.reserve_uses, 0);
    assert_eq!(stats.reserve_bytes, 64 * 1024);
}

#[test]
fn the_reserve_serves_the_failed_allocation_and_out_of_memory_is_reported() {
    let (heap, _budget) = pressured(128 * 1024, 0);
    assert!(heap.arm_reserve(128 * 1024));
    // Nothing to grow from, nothing to reclaim: the reserve serves it, and the embedder hears.
    let p = alloc(&heap, 1000);
    assert!(!p.is_null());
    assert_eq!(*heap.pressure.ooms.lock().unwrap(), [1000]);
    let stats = heap.stats();
    assert_eq!((stats.reserve_uses, stats.reserve_bytes), (1, 0));
    assert!(stats.growth_failures >= 1);
    // What is left of the reserve serves more, with no second report...
    let mut served = 1;
    while !alloc(&heap, 1000).is_null() {
        served += 1;
        assert!(served < 200, "a 128 KiB reserve cannot serve 200 KiB");
    }
    assert!(served > 100, "the reserve served only {served} KiB");
    // ...until it is spent: then the allocation that fails is reported too (the embedder may
    // free memory for it), and fails (the kernel panics, or `try_reserve` is an error).
    assert_eq!(*heap.pressure.ooms.lock().unwrap(), [1000, 1000]);
    assert_eq!(heap.stats().reserve_uses, 1);
}

#[test]
fn a_growth_after_the_victim_freed_memory_arms_the_reserve_again() {
    let (heap, budget) = pressured(64 * 1024, 0);
    assert!(heap.arm_reserve(64 * 1024));
    assert!(!alloc(&heap, 1000).is_null());
    assert_eq!(heap.stats().reserve_bytes, 0);
    // The killed process's memory is back: the next growth also sets a new reserve aside.
    budget.store(1 << 20, Ordering::SeqCst);
    assert!(!alloc(&heap, 100_000).is_null());
    let stats = heap.stats();
    assert_eq!((stats.reserve_uses, stats.reserve_bytes), (1, 64 * 1024));
    assert_eq!(heap.pressure.ooms.lock().unwrap().len(), 1);
}

#[test]
fn an_allocation_larger_than_the_reserve_fails_and_keeps_it() {
    let (heap, _budget) = pressured(64 * 1024, 0);
    assert!(heap.arm_reserve(64 * 1024));
    assert!(alloc(&heap, 1 << 20).is_null());
    // The embedder heard of it (it could free memory), and the reserve is kept...
    assert_eq!(*heap.pressure.ooms.lock().unwrap(), [1 << 20]);
    assert_eq!(heap.stats().reserve_bytes, 64 * 1024);
    // ...for a small allocation.
    assert!(!alloc(&heap, 1000).is_null());
    assert_eq!(heap.pressure.ooms.lock().unwrap().len(), 2);
}

#[test]
fn an_allocation_larger_than_the_reserve_is_retried_after_the_embedder_freed_memory() {
    // Before, a large allocation (a socket buffer) that the reserve could not hold failed
    // without a word to the embedder: no process was killed, and the kernel panicked.
    let (heap, _budget) = pressured(64 * 1024, 0);
    assert!(heap.arm_reserve(64 * 1024));
    heap.pressure.killable.store(2 << 20, Ordering::SeqCst);
    assert!(!alloc(&heap, 1 << 20).is_null());
    assert_eq!(*heap.pressure.ooms.lock().unwrap(), [1 << 20]);
    let stats = heap.stats();
    assert_eq!((stats.reserve_uses, stats.reserve_bytes), (0, 64 * 1024));
}

#[test]
fn a_failed_realloc_goes_through_the_reserve_and_keeps_its_contents() {
    let (heap, _budget) = pressured(64 * 1024 + 16 * 1024, 0);
    assert!(heap.arm_reserve(64 * 1024));
    let layout = Layout::from_size_align(8 * 1024, 8).unwrap();
    let live = Live {
        ptr: alloc(&heap, layout.size()),
        layout,
        fill: 0x77,
    };
    assert!(!live.ptr.is_null());
    fill(&live);
    // 16 KiB of growth is used up by the first allocation; 24 KiB more needs the reserve.
    // SAFETY: `live.ptr` was allocated from `heap` with `layout`.
    let q = unsafe { heap.realloc(live.ptr, layout, 32 * 1024) };
    assert!(!q.is_null());
    check(&Live { ptr: q, ..live });
    assert_eq!(heap.stats().reserve_uses, 1);
    assert_eq!(heap.pressure.ooms.lock().unwrap().len(), 1);
}

#[test]
fn no_reserve_means_failure_after_reclaim() {
    let (heap, _budget) = pressured(0, 0);
    assert!(!heap.arm_reserve(64 * 1024), "nothing to arm it from");
    assert!(alloc(&heap, 1000).is_null());
    assert_eq!(heap.pressure.reclaims.load(Ordering::SeqCst), 1);
    assert_eq!(*heap.pressure.ooms.lock().unwrap(), [1000]);
}

/// Grows by leaking page-aligned host memory and takes regions back, recording them (their
/// bytes poisoned, kept leaked: an allocation found inside one later is a use after release).
struct ReturningGrowth {
    chunk: usize,
    grown: Vec<(usize, usize)>,
    released: Released,
}

impl HeapGrowth for ReturningGrowth {
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
        let len = min_len.max(self.chunk).next_multiple_of(4096);
        let layout = Layout::from_size_align(len, 4096).unwrap();
        // SAFETY: non-zero-sized layout; the memory is leaked to the heap under test.
        let p = unsafe { std::alloc::alloc(layout) };
        self.grown.push((p as usize, len));
        // SAFETY: fresh, exclusive, valid memory of `len` bytes.
        Some(unsafe { HeapRegion::from_raw_parts(NonNull::new(p)?, len) })
    }

    fn release(&mut self, region: HeapRegion) -> Option<HeapRegion> {
        let (start, len) = (region.start().as_ptr() as usize, region.len());
        assert!(
            self.grown.contains(&(start, len)),
            "released a region growth never gave: {start:#x}+{len:#x}"
        );
        // SAFETY: the heap gave the region back: it is ours to write.
        unsafe { core::ptr::write_bytes(region.start().as_ptr(), 0xa5, len) };
        self.released.lock().unwrap().push((start, len));
        None
    }
}

/// The regions a [`ReturningGrowth`] took back, as (start, length).
type Released = Arc<Mutex<Vec<(usize, usize)>>>;

fn returning_heap(chunk: usize) -> (KernelHeap<ReturningGrowth>, Released) {
    let released = Arc::new(Mutex::new(Vec::new()));
    let growth = ReturningGrowth {
        chunk,
        grown: Vec::new(),
        released: released.clone(),
    };
    (KernelHeap::new(leaked_arena::<4096>(), growth), released)
}

#[test]
fn a_wholly_free_grown_region_goes_back_and_a_used_one_stays() {
    let (heap, released) = returning_heap(64 * 1024);
    let big = Layout::from_size_align(200_000, 8).unwrap();
    // SAFETY: non-zero-sized layouts.
    let (a, b) = unsafe { (heap.alloc(big), heap.alloc(big)) };
    assert!(!a.is_null() && !b.is_null());
    let b_live = Live {
        ptr: b,
        layout: big,
        fill: 0x3c,
    };
    fill(&b_live);
    let before = heap.stats();
    assert_eq!(
        before.regions, 3,
        "the arena and one region each: {before:?}"
    );
    // Both in use: nothing goes back.
    assert_eq!(heap.release_free_regions(usize::MAX), 0);
    // SAFETY: `a` was allocated above with `big`.
    unsafe { heap.dealloc(a, big) };
    let back = heap.release_free_regions(usize::MAX);
    let released = released.lock().unwrap().clone();
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(back, released[0].1);
    assert!(released[0].0 <= a as usize && (a as usize) < released[0].0 + released[0].1);
    check(&b_live);
    let after = heap.stats();
    assert_eq!(after.regions, 2);
    assert_eq!(after.claimed_bytes, before.claimed_bytes - back);
    assert_eq!(after.released_bytes, back);
    // The heap grows again for the next large allocation, elsewhere.
    // SAFETY: non-zero-sized layout.
    let c = unsafe { heap.alloc(big) };
    assert!(!c.is_null());
    assert!(!(released[0].0..released[0].0 + released[0].1).contains(&(c as usize)));
    // SAFETY: allocated above with `big`.
    unsafe {
        heap.dealloc(b, big);
        heap.dealloc(c, big);
    }
}

#[test]
fn a_growth_that_keeps_its_memory_keeps_the_heap_whole() {
    let heap = KernelHeap::<_>::new(leaked_arena::<4096>(), FakeGrowth::new(1 << 20, 64 * 1024));
    let big = Layout::from_size_align(100_000, 8).unwrap();
    // SAFETY: non-zero-sized layout.
    let a = unsafe { heap.alloc(big) };
    assert!(!a.is_null());
    // SAFETY: allocated above with `big`.
    unsafe { heap.dealloc(a, big) };
    let regions = heap.stats().regions;
    assert_eq!(heap.release_free_regions(usize::MAX), 0);
    assert_eq!(heap.stats().regions, regions);
    // SAFETY: non-zero-sized layout; the kept region serves it without growing.
    let b = unsafe { heap.alloc(big) };
    assert!(!b.is_null());
    assert_eq!(heap.stats().regions, regions);
    // SAFETY: allocated above with `big`.
    unsafe { heap.dealloc(b, big) };
}

/// Random allocations and frees with a release pass every few steps: contents survive, no
/// live allocation ever lies in a region given back, and everything given back was free.
#[test]
fn randomized_release_never_takes_live_memory() {
    for seed in 1..=4u64 {
        let mut rng = XorShift::new(seed * 104_729);
        let (heap, released) = returning_heap(64 * 1024);
        let mut live: Vec<Live> = Vec::new();
        for step in 0..3000 {
            if rng.below(100) < 55 || live.is_empty() {
                let size = match rng.below(10) {
                    0 => 64 * 1024 + rng.below(256 * 1024) as usize,
                    1..=3 => 1 + rng.below(8192) as usize,
                    _ => 1 + rng.below(256) as usize,
                };
                let layout = Layout::from_size_align(size, 1 << rng.below(7)).unwrap();
                // SAFETY: non-zero-sized layout.
                let ptr = unsafe { heap.alloc(layout) };
                assert!(!ptr.is_null());
                let l = Live {
                    ptr,
                    layout,
                    fill: (step % 251) as u8,
                };
                fill(&l);
                live.push(l);
            } else {
                let l = live.swap_remove(rng.below(live.len() as u64) as usize);
                check(&l);
                // SAFETY: `l` is live, allocated with `l.layout`.
                unsafe { heap.dealloc(l.ptr, l.layout) };
            }
            if step % 50 == 0 {
                heap.release_free_regions(rng.below(512 * 1024) as usize);
                let gone = released.lock().unwrap().clone();
                for l in &live {
                    check(l);
                    let (p, end) = (l.ptr as usize, l.ptr as usize + l.layout.size());
                    assert!(
                        gone.iter().all(|&(s, n)| end <= s || s + n <= p),
                        "seed {seed} step {step}: a live allocation in a released region"
                    );
                }
            }
        }
        assert!(
            heap.stats().released_bytes > 0,
            "seed {seed}: nothing was ever released"
        );
        for l in live.drain(..) {
            check(&l);
            // SAFETY: live, allocated with `l.layout`.
            unsafe { heap.dealloc(l.ptr, l.layout) };
        }
        heap.release_free_regions(usize::MAX);
        assert_eq!(
            heap.stats().regions,
            1,
            "seed {seed}: only the arena is left"
        );
    }
}
