//! The seam through which sleeping system calls block: [`Sleeper`].
//!
//! nanosleep(2) and clock_nanosleep(2) (in [`mod@crate::syscalls::time`]) validate their
//! arguments, turn the request into an absolute `CLOCK_MONOTONIC` deadline and hand it to a
//! `Sleeper`, which the embedder implements over its timers and scheduler. The crate owns no
//! timer and never reads a clock: the `Sleeper` reports the time it woke at, and the handler
//! computes what is left from that.
//!
//! [`fake::FakeSleeper`] returns at once and records deadlines, for host tests.

use core::fmt;
use oxv_abi::Errno;

/// Returned by [`Sleeper::sleep_until_ns`] when a signal cut the sleep short.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// `CLOCK_MONOTONIC` when the thread woke, in nanoseconds since boot. The handler reports
    /// `deadline - now` as the unslept time.
    pub now_monotonic_ns: u64,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sleep interrupted by a signal at {} ns",
            self.now_monotonic_ns
        )
    }
}

impl core::error::Error for Interrupted {}

/// `EINTR`, for callers that sleep without reporting the time left (futex waits, poll).
impl From<Interrupted> for Errno {
    fn from(_: Interrupted) -> Errno {
        Errno::EINTR
    }
}

/// Blocks the calling thread until a `CLOCK_MONOTONIC` deadline. Implemented by the embedder.
///
/// # Example
///
/// A sleeper that spins on a clock the embedder can read (a real kernel parks the thread on a
/// timer queue instead):
///
/// ```
/// use core::cell::Cell;
/// use oxv_sched::sleep::{Interrupted, Sleeper};
///
/// struct Spin { now: Cell<u64> }
///
/// impl Sleeper for Spin {
///     fn sleep_until_ns(&self, deadline: u64) -> Result<(), Interrupted> {
///         while self.now.get() < deadline {
///             self.now.set(self.now.get() + 1_000); // stands in for time passing
///         }
///         Ok(())
///     }
/// }
///
/// let s = Spin { now: Cell::new(0) };
/// s.sleep_until_ns(10_000).unwrap();
/// assert!(s.now.get() >= 10_000);
/// ```
pub trait Sleeper {
    /// Blocks until `CLOCK_MONOTONIC` reads at least `deadline_monotonic_ns`
    /// (nanoseconds since boot), or until a signal interrupts the sleep.
    ///
    /// This call blocks. A deadline already past must return promptly; it may still give
    /// up the CPU once, as Linux does. Return `Ok(())` when the deadline passed (even if a
    /// signal is also pending), and `Err(Interrupted)` with the wake-up time when a signal
    /// ended the sleep first. Deadlines are at most `i64::MAX` (Linux's `KTIME_MAX`, about
    /// 292 years): treat that as "never".
    fn sleep_until_ns(&self, deadline_monotonic_ns: u64) -> Result<(), Interrupted>;
}

/// A [`Sleeper`] for host tests.
pub mod fake {
    use super::{Interrupted, Sleeper};
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A [`Sleeper`] that never blocks: each call is recorded, then either completes or, when
    /// built with [`FakeSleeper::interrupted_at`], reports a signal at a fixed time.
    #[derive(Debug, Default)]
    pub struct FakeSleeper {
        interrupt_at: Option<u64>,
        deadlines: RefCell<Vec<u64>>,
    }

    impl FakeSleeper {
        /// A sleeper whose every sleep runs to its deadline.
        pub fn new() -> FakeSleeper {
            FakeSleeper::default()
        }

        /// A sleeper whose every sleep is interrupted, waking at `now_monotonic_ns` (which may
        /// be before or after the deadline).
        pub fn interrupted_at(now_monotonic_ns: u64) -> FakeSleeper {
            FakeSleeper {
                interrupt_at: Some(now_monotonic_ns),
                deadlines: RefCell::default(),
            }
        }

        /// The deadlines of every sleep so far, oldest first.
        pub fn deadlines(&self) -> Vec<u64> {
            self.deadlines.borrow().clone()
        }
    }

    impl Sleeper for FakeSleeper {
        fn sleep_until_ns(&self, deadline_monotonic_ns: u64) -> Result<(), Interrupted> {
            self.deadlines.borrow_mut().push(deadline_monotonic_ns);
            match self.interrupt_at {
                Some(now) => Err(Interrupted {
                    now_monotonic_ns: now,
                }),
                None => Ok(()),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn records_deadlines_and_interrupts_when_asked() {
            let s = FakeSleeper::new();
            assert_eq!(s.sleep_until_ns(5), Ok(()));
            assert_eq!(s.sleep_until_ns(7), Ok(()));
            assert_eq!(s.deadlines(), [5, 7]);
            let woke = Interrupted {
                now_monotonic_ns: 3,
            };
            assert_eq!(oxv_abi::Errno::from(woke), oxv_abi::Errno::EINTR);
            let s = FakeSleeper::interrupted_at(3);
            assert_eq!(
                s.sleep_until_ns(10),
                Err(Interrupted {
                    now_monotonic_ns: 3
                })
            );
        }
    }
}
