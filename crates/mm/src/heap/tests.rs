use super::*;
use crate::testing::XorShift;
use std::boxed::Box;
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
            growth_failures: 0
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
