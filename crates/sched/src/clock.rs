//! Linux clocks over a calibrated cycle counter.
//!
//! [`TscClock`] holds the counter value at boot, its frequency as a fixed-point multiplier
//! (`ns = (ticks * mult) >> 40`), and the wall-clock time at boot. Reading a clock is a
//! subtraction, a 64x64->128 multiply and a shift. `CLOCK_MONOTONIC`, `_RAW`, `_COARSE` and
//! `CLOCK_BOOTTIME` all count from kernel entry (a VM that is never suspended has no gap
//! between them); `CLOCK_REALTIME` adds the wall time read at boot and any `settimeofday`
//! offset. Semantics follow clock_gettime(2).

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

const SHIFT: u32 = 40;

/// A counter of known frequency, mapped to the Linux clocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TscClock {
    hz: u64,
    boot_ticks: u64,
    mult: u64,
    realtime_at_boot_ns: i128,
}

/// Linux clock ids that oxv serves (clock_gettime(2)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// Wall-clock time.
    Realtime,
    /// Time since boot, never set.
    Monotonic,
    /// Time since boot including suspend (no suspend in a VM: equals monotonic).
    Boottime,
    /// CPU time of the process or thread.
    CpuTime,
}

impl TscClock {
    /// A clock for a counter of `hz` ticks per second that read `boot_ticks` at kernel entry,
    /// when the wall clock was `realtime_at_boot_ns` after the epoch.
    ///
    /// # Panics
    /// If `hz` is 0 (a calibration bug; calibration falls back to a nonzero guess).
    pub fn new(hz: u64, boot_ticks: u64, realtime_at_boot_ns: i128) -> TscClock {
        assert!(hz > 0, "a counter frequency is never zero");
        let mult = ((NSEC_PER_SEC as u128) << SHIFT) / hz as u128;
        TscClock {
            hz,
            boot_ticks,
            mult: mult as u64,
            realtime_at_boot_ns,
        }
    }

    /// The counter frequency in Hz.
    pub fn hz(&self) -> u64 {
        self.hz
    }

    /// The counter value at boot.
    pub fn boot_ticks(&self) -> u64 {
        self.boot_ticks
    }

    /// The fixed-point multiplier (`ns = ticks * mult >> 40`), for a vDSO data page.
    pub fn mult(&self) -> u64 {
        self.mult
    }

    /// Converts a tick count to nanoseconds.
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> SHIFT) as u64
    }

    /// Converts nanoseconds to ticks (rounded up, for deadlines).
    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        let t = (ns as u128 * self.hz as u128).div_ceil(NSEC_PER_SEC as u128);
        t.min(u64::MAX as u128) as u64
    }

    /// Nanoseconds since boot at counter value `now` (0 if `now` precedes boot).
    pub fn monotonic_ns(&self, now: u64) -> u64 {
        self.ticks_to_ns(now.saturating_sub(self.boot_ticks))
    }

    /// Nanoseconds since the epoch at counter value `now` (negative before 1970).
    pub fn realtime_ns(&self, now: u64) -> i128 {
        self.realtime_at_boot_ns + self.monotonic_ns(now) as i128
    }

    /// The `CLOCK_MONOTONIC` reading at which `CLOCK_REALTIME` will read `realtime_ns`, with
    /// the wall clock as it is set now (0 for wall times before boot, saturating far in the
    /// future). Turns an absolute wall-clock deadline into a monotonic one.
    pub fn realtime_to_monotonic_ns(&self, realtime_ns: i128) -> u64 {
        (realtime_ns.saturating_sub(self.realtime_at_boot_ns)).clamp(0, u64::MAX as i128) as u64
    }

    /// Moves the wall clock so that it reads `realtime_ns` at counter value `now`
    /// (settimeofday / clock_settime).
    pub fn set_realtime(&mut self, now: u64, realtime_ns: i128) {
        self.realtime_at_boot_ns = realtime_ns - self.monotonic_ns(now) as i128;
    }
}

/// Splits nanoseconds into (seconds, nanoseconds) the way `struct timespec` holds them:
/// `tv_nsec` is always in 0..1e9, also for negative times.
pub fn split_ns(ns: i128) -> (i64, i64) {
    let s = ns.div_euclid(NSEC_PER_SEC as i128);
    let n = ns.rem_euclid(NSEC_PER_SEC as i128);
    (s.clamp(i64::MIN as i128, i64::MAX as i128) as i64, n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_is_exact_for_round_frequencies() {
        let c = TscClock::new(1_000_000_000, 0, 0);
        assert_eq!(c.ticks_to_ns(123_456_789), 123_456_789);
        let c = TscClock::new(2_000_000_000, 0, 0);
        assert_eq!(c.ticks_to_ns(2_000_000_000), NSEC_PER_SEC);
    }

    #[test]
    fn conversion_error_is_tiny_for_odd_frequencies() {
        let c = TscClock::new(2_894_561_237, 0, 0);
        // One hour of ticks must be within 1 microsecond of an hour.
        let hour = 3600 * 2_894_561_237u64;
        let ns = c.ticks_to_ns(hour);
        assert!(ns.abs_diff(3600 * NSEC_PER_SEC) < 1000, "{ns}");
        // Round trip of a deadline never lands early.
        for ns in [1u64, 999, 1_000_000, 123_456_789_012] {
            assert!(c.ticks_to_ns(c.ns_to_ticks(ns)) >= ns - 1);
        }
    }

    #[test]
    fn no_overflow_after_years() {
        let c = TscClock::new(5_000_000_000, 0, 0);
        let ten_years = 10 * 365 * 24 * 3600 * 5_000_000_000u64;
        let s = c.ticks_to_ns(ten_years) / NSEC_PER_SEC;
        assert!(s.abs_diff(10 * 365 * 24 * 3600) <= 1);
    }

    #[test]
    fn monotonic_starts_at_boot_and_realtime_is_offset() {
        let c = TscClock::new(1_000_000, 500, 1_700_000_000 * NSEC_PER_SEC as i128);
        assert_eq!(c.monotonic_ns(400), 0);
        assert_eq!(c.monotonic_ns(1500), 1_000_000);
        assert_eq!(
            c.realtime_ns(1500),
            1_700_000_000 * NSEC_PER_SEC as i128 + 1_000_000
        );
    }

    #[test]
    fn set_realtime_moves_only_the_wall_clock() {
        let mut c = TscClock::new(1_000_000, 0, 0);
        c.set_realtime(2_000_000, 42 * NSEC_PER_SEC as i128);
        assert_eq!(c.realtime_ns(2_000_000), 42 * NSEC_PER_SEC as i128);
        assert_eq!(c.monotonic_ns(2_000_000), 2 * NSEC_PER_SEC);
    }

    #[test]
    fn wall_deadlines_map_to_monotonic_ones() {
        let boot = 1_700_000_000 * NSEC_PER_SEC as i128;
        let mut c = TscClock::new(1_000_000_000, 0, boot);
        assert_eq!(c.realtime_to_monotonic_ns(boot + 5), 5);
        assert_eq!(
            c.realtime_to_monotonic_ns(boot - 5),
            0,
            "before boot: already past"
        );
        assert_eq!(c.realtime_to_monotonic_ns(i128::MAX), u64::MAX);
        // After the wall clock is moved back 1 s, the same wall time comes 1 s later.
        c.set_realtime(NSEC_PER_SEC, boot);
        assert_eq!(c.realtime_to_monotonic_ns(boot + 5), NSEC_PER_SEC + 5);
    }

    #[test]
    fn timespec_split_keeps_nsec_positive() {
        assert_eq!(split_ns(1_500_000_000), (1, 500_000_000));
        assert_eq!(split_ns(-1), (-1, 999_999_999));
        assert_eq!(split_ns(0), (0, 0));
    }
}
