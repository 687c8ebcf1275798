//! Giving cached file data back under memory pressure: the caches a file system keeps only
//! to avoid rereading its device (ext2's buffer cache and page cache) implement
//! [`CacheShrinker`], and the kernel, when a frame or heap allocation fails, asks every
//! registered one ([`Shrinkers`]) to drop what it can rebuild before it turns to the OOM
//! killer: Linux's shrinkers and clean page-cache reclaim, without a background thread.
//!
//! What a shrinker may drop: clean entries nobody uses (never dirty data, never a page a
//! process has mapped, never what an operation in progress holds). What it must not do:
//! allocate (the heap may be full), or wait for a lock: reclaim can be entered from an
//! allocation made with that very lock held, so a cache whose lock is taken is skipped.
//!
//! Not here: writing dirty data back to free it (that sleeps on the device, and reclaim may
//! run with spin locks held: ext2 writes its dirty pages back from its own page faults
//! instead, see `ext2::pages`), unmapping clean file pages from address spaces to free them
//! (a shrinker cannot lock an address space; the address space whose fault found no frame
//! takes its own clean file pages out, see `oxv_mm`'s `aspace::reclaim`), and a memory
//! cgroup's limits.

use alloc::sync::Weak;
use alloc::vec::Vec;
use oxv_mm::FrameSource;

/// Which memory the caller is short of.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Frames: a user page or a file page. Only frames a cache gives back help.
    Frames,
    /// Kernel heap: frames help (the heap grows from them) and so do heap buffers freed.
    Heap,
}

/// A request to a shrinker.
pub struct ShrinkRequest<'a> {
    /// What is short.
    pub need: Need,
    /// How many pages' worth the caller wants back (a shrinker may free more or fewer).
    pub pages: usize,
    /// The frame allocator, for the reference count that tells whether a cached frame is
    /// mapped somewhere (only a count of 1, the cache's own, lets it go).
    pub frames: &'a dyn FrameSource,
}

/// What a shrinker gave back.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Shrunk {
    /// Frames released to the frame allocator.
    pub frames: usize,
    /// Bytes of kernel heap freed (cache buffers).
    pub heap_bytes: usize,
}

impl Shrunk {
    /// Both kinds, in 4 KiB pages (heap bytes rounded down).
    pub fn pages(&self) -> usize {
        self.frames + self.heap_bytes / oxv_mm::PAGE_SIZE
    }

    /// Whether anything came back that serves `need`.
    pub fn serves(&self, need: Need) -> bool {
        match need {
            Need::Frames => self.frames > 0,
            Need::Heap => self.frames > 0 || self.heap_bytes > 0,
        }
    }

    fn add(&mut self, other: Shrunk) {
        self.frames += other.frames;
        self.heap_bytes += other.heap_bytes;
    }
}

/// A cache that can drop clean, unused entries on request. See the [module docs](self).
pub trait CacheShrinker: Send + Sync {
    /// Drops clean, unreferenced entries, least recently used first, until about
    /// `request.pages` pages of the memory `request.need` names came back; returns what did.
    /// Never allocates, never waits for a lock (a busy cache gives nothing).
    fn shrink(&self, request: &ShrinkRequest<'_>) -> Shrunk;
}

/// The registered shrinkers (the kernel keeps one in a `static`). Registration allocates;
/// [`Shrinkers::shrink`] never does, and skips everything if the list is being changed.
pub struct Shrinkers {
    list: spin::Mutex<Vec<Weak<dyn CacheShrinker>>>,
}

impl Default for Shrinkers {
    fn default() -> Self {
        Self::new()
    }
}

impl Shrinkers {
    /// An empty list.
    pub const fn new() -> Self {
        Shrinkers {
            list: spin::Mutex::new(Vec::new()),
        }
    }

    /// Adds `shrinker`; it is forgotten once dropped.
    pub fn register(&self, shrinker: Weak<dyn CacheShrinker>) {
        let mut list = self.list.lock();
        list.retain(|w| w.strong_count() > 0);
        list.push(shrinker);
    }

    /// Asks the shrinkers in registration order until the request is met; returns the total.
    pub fn shrink(&self, need: Need, pages: usize, frames: &dyn FrameSource) -> Shrunk {
        let mut total = Shrunk::default();
        let Some(list) = self.list.try_lock() else {
            return total;
        };
        for weak in list.iter() {
            let done = match need {
                Need::Frames => total.frames,
                Need::Heap => total.pages(),
            };
            if done >= pages {
                break;
            }
            let Some(shrinker) = weak.upgrade() else {
                continue;
            };
            let request = ShrinkRequest {
                need,
                pages: pages - done,
                frames,
            };
            total.add(shrinker.shrink(&request));
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// Gives back up to `have` frames.
    struct Pool {
        have: AtomicUsize,
    }

    impl CacheShrinker for Pool {
        fn shrink(&self, request: &ShrinkRequest<'_>) -> Shrunk {
            let have = self.have.load(Ordering::Relaxed);
            let n = have.min(request.pages);
            self.have.store(have - n, Ordering::Relaxed);
            Shrunk {
                frames: n,
                heap_bytes: 0,
            }
        }
    }

    #[test]
    fn shrinkers_are_asked_in_turn_until_the_request_is_met_and_dropped_ones_skipped() {
        let mem = crate::tmpfs::HeapMemory::new();
        let a = Arc::new(Pool {
            have: AtomicUsize::new(3),
        });
        let b = Arc::new(Pool {
            have: AtomicUsize::new(10),
        });
        let gone: Arc<dyn CacheShrinker> = Arc::new(Pool {
            have: AtomicUsize::new(100),
        });
        let list = Shrinkers::new();
        list.register(Arc::downgrade(&gone));
        drop(gone);
        list.register(Arc::downgrade(&(a.clone() as Arc<dyn CacheShrinker>)));
        list.register(Arc::downgrade(&(b.clone() as Arc<dyn CacheShrinker>)));
        let got = list.shrink(Need::Frames, 5, &&mem);
        assert_eq!(got.frames, 5);
        assert_eq!(a.have.load(Ordering::Relaxed), 0);
        assert_eq!(b.have.load(Ordering::Relaxed), 8);
        assert!(got.serves(Need::Frames));
        // A list being changed is skipped rather than waited for.
        let held = list.list.lock();
        assert_eq!(list.shrink(Need::Heap, 5, &&mem), Shrunk::default());
        drop(held);
    }
}
