//! When per-socket sets want polling: the time-ordered index that TCP's [`super::conns`] and
//! UDP's [`super::dgrams`] keep of their sets' `poll_at` times, so that a poll visits only the
//! sets that are due rather than every one.

use alloc::collections::BTreeSet;
use smoltcp::time::Instant;

/// Moves set `slot` in `index` from the time it was filed at (`*filed`) to `next`, and
/// records `next` as filed. Nothing moves when the time did not change.
pub(super) fn refile(
    index: &mut BTreeSet<(Instant, usize)>,
    slot: usize,
    filed: &mut Option<Instant>,
    next: Option<Instant>,
) {
    if *filed == next {
        return;
    }
    if let Some(at) = *filed {
        index.remove(&(at, slot));
    }
    if let Some(at) = next {
        index.insert((at, slot));
    }
    *filed = next;
}
