//! Summaries of repeated measurements: median, min, max and count.
//!
//! The median, not the mean: on a shared machine a run is sometimes slowed by a neighbour,
//! never sped up, so the mean drifts with the noise while the median stays with the bulk of
//! the runs. Min and max show the spread.

/// The summary of one metric's samples on one kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub runs: usize,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none (non-finite samples are ignored).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        })
    }
}

/// Which direction is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (times, sizes).
    Lower,
    /// Larger is better (throughputs).
    Higher,
}

impl Better {
    /// The report's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }

    /// How many times better `oxv` is than `linux` (above 1: oxv is better); `None` when a
    /// figure is missing or zero.
    pub fn advantage(self, oxv: f64, linux: f64) -> Option<f64> {
        let r = match self {
            Better::Lower => linux / oxv,
            Better::Higher => oxv / linux,
        };
        (r.is_finite() && r > 0.0).then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_counts() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (3.0, 1.0, 5.0, 3));
        let s = Summary::of(&[4.0, 1.0, 3.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (3.5, 1.0, 10.0, 4));
        let s = Summary::of(&[7.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (7.0, 7.0, 7.0));
    }

    #[test]
    fn empty_and_non_finite() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN]), None);
        let s = Summary::of(&[f64::INFINITY, 2.0, f64::NAN]).unwrap();
        assert_eq!((s.median, s.runs), (2.0, 1));
    }

    #[test]
    fn the_median_ignores_one_slow_outlier() {
        let s = Summary::of(&[10.0, 11.0, 10.5, 300.0, 10.2]).unwrap();
        assert_eq!(s.median, 10.5);
        assert_eq!(s.max, 300.0);
    }

    #[test]
    fn advantage_follows_the_direction() {
        assert_eq!(Better::Lower.advantage(10.0, 40.0), Some(4.0));
        assert_eq!(Better::Higher.advantage(10.0, 40.0), Some(0.25));
        assert_eq!(Better::Lower.advantage(0.0, 40.0), None);
        assert_eq!(Better::Higher.advantage(1.0, 0.0), None);
    }
}
