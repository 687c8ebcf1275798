//! The bookkeeping of the DMA bounce pool: which slots are lent out, and how many the devices
//! have been promised.
//!
//! A device cannot be told "no memory" from inside `Hal::share` (virtio-drivers' trait has no
//! error), so the bounce memory is promised up front: each device, when probed,
//! [`reserve`](SlotMap::reserve)s as many slots as it can have bounced buffers in flight, and
//! a probe that cannot get them fails (at boot, where failing is clean). As long as every
//! device keeps within its promise, the sum of slots lent out never exceeds the sum reserved,
//! which never exceeds the capacity, so [`take`](SlotMap::take) finds a free slot.
//!
//! Only the counting lives here (pure, host-tested); the slots' memory and the copies are the
//! HAL's (`hal.rs`). Lock-free, so sharing from any CPU, or with interrupts off, never waits.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// `64 * WORDS` slots: which are lent out, and how many are promised to devices.
pub struct SlotMap<const WORDS: usize> {
    /// Bit `i % 64` of word `i / 64` is set while slot `i` is lent out.
    lent: [AtomicU64; WORDS],
    /// Slots promised to devices, at most [`SlotMap::CAPACITY`].
    reserved: AtomicUsize,
}

impl<const WORDS: usize> SlotMap<WORDS> {
    /// How many slots there are.
    pub const CAPACITY: usize = 64 * WORDS;

    /// All slots free, none promised.
    pub const fn new() -> Self {
        SlotMap {
            lent: [const { AtomicU64::new(0) }; WORDS],
            reserved: AtomicUsize::new(0),
        }
    }

    /// Promises `n` more slots to a device: false (and nothing promised) if that would
    /// promise more slots than there are.
    pub fn reserve(&self, n: usize) -> bool {
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                r.checked_add(n).filter(|&total| total <= Self::CAPACITY)
            })
            .is_ok()
    }

    /// Takes back a promise of `n` slots (a device that went away, or a probe that failed
    /// after reserving).
    pub fn unreserve(&self, n: usize) {
        let _ = self
            .reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                Some(r.saturating_sub(n))
            });
    }

    /// Slots promised so far.
    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    /// Lends out a free slot: its index, or `None` if every slot is lent out (which the
    /// reservations rule out while devices keep their promises).
    pub fn take(&self) -> Option<usize> {
        for (w, word) in self.lent.iter().enumerate() {
            let mut bits = word.load(Ordering::Relaxed);
            while bits != u64::MAX {
                let bit = (!bits).trailing_zeros();
                match word.compare_exchange_weak(
                    bits,
                    bits | 1 << bit,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(w * 64 + bit as usize),
                    Err(now) => bits = now,
                }
            }
        }
        None
    }

    /// Returns slot `slot` (from [`take`](Self::take)). Returns whether it was lent out: false
    /// for a slot out of range or already free, which changes nothing.
    pub fn give(&self, slot: usize) -> bool {
        let Some(word) = self.lent.get(slot / 64) else {
            return false;
        };
        let bit = 1u64 << (slot % 64);
        word.fetch_and(!bit, Ordering::Release) & bit != 0
    }

    /// Slots lent out now.
    pub fn lent(&self) -> usize {
        self.lent
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
            .sum()
    }
}

impl<const WORDS: usize> Default for SlotMap<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn reservations_stop_at_the_capacity() {
        let map = SlotMap::<2>::new();
        assert_eq!(SlotMap::<2>::CAPACITY, 128);
        assert!(map.reserve(100));
        assert!(!map.reserve(29), "129 slots promised out of 128");
        assert_eq!(map.reserved(), 100, "a refused promise changes nothing");
        assert!(map.reserve(28));
        assert!(!map.reserve(1));
        assert!(!map.reserve(usize::MAX), "no overflow into a small total");
        map.unreserve(3);
        assert!(map.reserve(3));
        map.unreserve(usize::MAX);
        assert_eq!(map.reserved(), 0);
    }

    #[test]
    fn every_slot_is_lent_once_until_given_back() {
        let map = SlotMap::<2>::new();
        let taken: Vec<usize> = (0..128).map(|_| map.take().expect("a free slot")).collect();
        let distinct: HashSet<usize> = taken.iter().copied().collect();
        assert_eq!(distinct.len(), 128);
        assert!(taken.iter().all(|&s| s < 128));
        assert_eq!(map.take(), None, "all 128 lent out");
        assert_eq!(map.lent(), 128);
        assert!(map.give(70));
        assert_eq!(map.take(), Some(70), "the slot given back is the free one");
        assert!(map.give(5));
        assert!(!map.give(5), "a second give of the same slot");
        assert!(!map.give(128), "out of range");
        assert_eq!(map.lent(), 127);
    }

    #[test]
    fn devices_within_their_reservations_always_find_a_slot() {
        // Sixteen "devices" promised 4 slots each, the whole pool, each lending and returning
        // up to 4 at a time from its own thread: with every slot promised, a take that missed
        // the one free slot, or lent one twice (its second give would say so), fails.
        let map = Arc::new(SlotMap::<1>::new());
        for _ in 0..16 {
            assert!(map.reserve(4));
        }
        assert!(!map.reserve(1));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let map = map.clone();
                std::thread::spawn(move || {
                    for round in 0..5_000usize {
                        let held: Vec<usize> = (0..=round % 4)
                            .map(|_| map.take().expect("a reserved slot is always free"))
                            .collect();
                        for s in held {
                            assert!(map.give(s), "slot {s} lent twice");
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("no device thread failed");
        }
        assert_eq!(map.lent(), 0);
    }
}
