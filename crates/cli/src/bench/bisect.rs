//! The smallest guest memory at which a program still runs, by bisection.
//!
//! Assumes monotonicity (if it runs with `m` bytes it runs with more), which holds for a
//! kernel that only needs memory to grow; a flaky probe can at worst move the answer by one
//! step. The search is over multiples of `step` between a size known (or assumed) to fail
//! and one that must work, which is probed first: if even that fails there is no answer.

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bisection {
    /// The smallest size (a multiple of the step) that worked, if any did.
    pub smallest: Option<u64>,
    /// Every size probed, in order, with its result.
    pub probes: Vec<(u64, bool)>,
}

/// Finds the smallest multiple of `step` in `(fails, works]` for which `runs` is true.
/// `fails` is assumed to fail (it is not probed); `works` is probed first.
///
/// # Panics
///
/// If `step` is zero (a caller's constant).
pub fn smallest_working(
    fails: u64,
    works: u64,
    step: u64,
    mut runs: impl FnMut(u64) -> bool,
) -> Bisection {
    assert!(step > 0, "the bisection step is a non-zero constant");
    let mut probes = Vec::new();
    let mut lo = fails / step; // in steps; known to fail
    let mut hi = works.div_ceil(step); // in steps; to be confirmed
    let top = runs(hi * step);
    probes.push((hi * step, top));
    if !top {
        return Bisection {
            smallest: None,
            probes,
        };
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let ok = runs(mid * step);
        probes.push((mid * step, ok));
        if ok {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Bisection {
        smallest: Some(hi * step),
        probes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;

    #[test]
    fn finds_the_threshold_on_the_step_grid() {
        let need = 3 * MIB + 100 * KIB;
        let b = smallest_working(0, 128 * MIB, 256 * KIB, |m| m >= need);
        assert_eq!(b.smallest, Some(3 * MIB + 256 * KIB));
        // log2(512) + 1 probes.
        assert_eq!(b.probes.len(), 10);
        assert_eq!(b.probes[0], (128 * MIB, true));
        // Every probe's result matches the predicate.
        assert!(b.probes.iter().all(|&(m, ok)| ok == (m >= need)));
    }

    #[test]
    fn the_top_failing_means_no_answer() {
        let b = smallest_working(0, 64 * MIB, MIB, |_| false);
        assert_eq!(b.smallest, None);
        assert_eq!(b.probes, [(64 * MIB, false)]);
    }

    #[test]
    fn the_lower_bound_is_never_probed() {
        let b = smallest_working(4 * MIB, 8 * MIB, MIB, |m| {
            assert!(m > 4 * MIB);
            true
        });
        assert_eq!(b.smallest, Some(5 * MIB));
    }

    #[test]
    fn an_unaligned_top_rounds_up() {
        let b = smallest_working(0, 10 * MIB + 1, 4 * MIB, |m| m >= 5 * MIB);
        assert_eq!(b.probes[0].0, 12 * MIB);
        assert_eq!(b.smallest, Some(8 * MIB));
    }
}
