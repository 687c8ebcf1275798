//! The system allocator with a cap on live bytes, for the fuzz target and the replay tests:
//! past the cap an allocation fails (returns null) as in a small guest, so a handler that
//! sizes an allocation by the app's buffer aborts the run instead of eating the host.
//!
//! Install it with `#[global_allocator] static HEAP: CappedHeap = CappedHeap::new(1 << 30);`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// [`System`] with at most `cap` live bytes. See the [module docs](self).
pub struct CappedHeap {
    live: AtomicUsize,
    cap: usize,
}

impl CappedHeap {
    /// An allocator that refuses to hold more than `cap` bytes at once.
    pub const fn new(cap: usize) -> Self {
        CappedHeap {
            live: AtomicUsize::new(0),
            cap,
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's layout and pointer unchanged,
// so `System`'s guarantees hold; the counter only decides whether to forward an allocation.
unsafe impl GlobalAlloc for CappedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size() > self.cap {
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
