//! libFuzzer target: arbitrary syscall sequences through oxv's real handlers
//! (see `harness/src/lib.rs` for what is checked, `run.sh` for how to run it).
//!
//! A broken invariant panics, which libFuzzer reports as a crash and saves under
//! `artifacts/syscalls/`. The heap is capped like a small guest's, so an input that makes the
//! handlers allocate without bound fails an allocation (as in the kernel) instead of
//! exhausting the host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxv_fuzz_harness::Options;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most live heap the handlers may use: about what a 1 GiB guest could give them.
const HEAP_CAP: usize = 1 << 30;

/// The system allocator with a cap on live bytes: past it, allocations fail (return null).
struct CappedHeap {
    live: AtomicUsize,
}

// SAFETY: every method forwards to `System` with the caller's layout and pointer unchanged,
// so `System`'s guarantees hold; the counter only decides whether to forward an allocation.
unsafe impl GlobalAlloc for CappedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size() > HEAP_CAP {
            self.live.fetch_sub(layout.size(), Ordering::Relaxed);
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract for `alloc` (non-zero size) is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation above is).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: CappedHeap = CappedHeap {
    live: AtomicUsize::new(0),
};

fn options() -> Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    *OPTIONS.get_or_init(Options::from_env)
}

fuzz_target!(|data: &[u8]| {
    if let Err(v) = oxv_fuzz_harness::run_bytes(data, &options()) {
        panic!("oxv invariant broken: {v}");
    }
});
