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
