//! When per-socket sets want polling: the time-ordered index that TCP's [`super::conns`] and
//! UDP's [`super::dgrams`] keep of their sets' `poll_at` times, so that a poll visits only the
//! sets that are due rather than every one. Each set remembers the time it is filed at (the
//! `filed` arguments); the index holds `(time, slot)` pairs.

use alloc::collections::BTreeSet;
use smoltcp::time::Instant;

/// Slots by the time they want polling at, earliest first.
#[derive(Debug, Default)]
pub(super) struct DueIndex(BTreeSet<(Instant, usize)>);

impl DueIndex {
    /// Moves `slot` from the time it was filed at (`*filed`) to `next`, and records `next`
    /// as filed. Nothing moves when the time did not change.
    pub fn refile(&mut self, slot: usize, filed: &mut Option<Instant>, next: Option<Instant>) {
        if *filed == next {
            return;
        }
        self.forget(slot, *filed);
        if let Some(at) = next {
            self.0.insert((at, slot));
        }
        *filed = next;
    }

    /// Takes `slot` (filed at `filed`) out, as its socket goes away.
    pub fn forget(&mut self, slot: usize, filed: Option<Instant>) {
        if let Some(at) = filed {
            self.0.remove(&(at, slot));
        }
    }

    /// Takes out and returns the earliest slot due at `now`, if any (its owner clears its
    /// filed time).
    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let &(at, slot) = self.0.first()?;
        if at > now {
            return None;
        }
        self.0.pop_first();
        Some(slot)
    }

    /// The earliest time filed.
    pub fn next(&self) -> Option<Instant> {
        self.0.first().map(|&(at, _)| at)
    }

    /// Whether no slot is filed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every filed slot, earliest first.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|&(_, slot)| slot)
    }
}
