//! Time structs and clock ids: `struct __kernel_timespec`, `struct __kernel_old_timeval`,
//! `struct timezone`, and the `CLOCK_*` ids of clock_gettime(2).
//!
//! On x86_64, `timespec` and `__kernel_timespec` have the same layout (two 64-bit words), so
//! one [`Timespec`] serves nanosleep(2), clock_gettime(2), ppoll(2) and futex(2). The views
//! hold what the app wrote; [`Timespec::to_nanos`] applies Linux's validity rule
//! (`timespec64_valid`: `tv_sec >= 0`, `0 <= tv_nsec < 1e9`) before a handler uses a value.
//!
//! [`ClockId`] is the typed form of a `clockid_t`. Linux also accepts negative ids (per-process
//! and per-thread CPU clocks, dynamic posix clocks); oxv has neither, so they are `EINVAL`,
//! like any id Linux does not know.

use crate::errno::Errno;
use linux_raw_sys::general as raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// `TIMER_ABSTIME`: clock_nanosleep(2) flag, the request is an absolute time.
pub const TIMER_ABSTIME: u32 = raw::TIMER_ABSTIME;

/// `struct timespec` / `struct __kernel_timespec` (x86_64: both are two `i64`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, valid in `[0, 999_999_999]`.
    pub tv_nsec: i64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Timespec>() == size_of::<raw::__kernel_timespec>());
    assert!(offset_of!(Timespec, tv_sec) == offset_of!(raw::__kernel_timespec, tv_sec));
    assert!(offset_of!(Timespec, tv_nsec) == offset_of!(raw::__kernel_timespec, tv_nsec));
    assert!(size_of::<Timespec>() == size_of::<raw::timespec>());
    assert!(offset_of!(Timespec, tv_nsec) == offset_of!(raw::timespec, tv_nsec));
};

impl Timespec {
    /// The time `ns` nanoseconds after zero.
    pub const fn from_nanos(ns: u64) -> Self {
        Timespec {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_nsec: (ns % NSEC_PER_SEC) as i64,
        }
    }

    /// Whether Linux accepts this value as a time (`timespec64_valid`).
    pub const fn is_valid(&self) -> bool {
        self.tv_sec >= 0 && self.tv_nsec >= 0 && (self.tv_nsec as u64) < NSEC_PER_SEC
    }

    /// The value in nanoseconds, saturating at `u64::MAX` for far-future times, or `EINVAL`
    /// if it is not a valid time (what nanosleep(2) and clock_nanosleep(2) return).
    pub const fn to_nanos(&self) -> Result<u64, Errno> {
        if !self.is_valid() {
            return Err(Errno::EINVAL);
        }
        let secs = self.tv_sec as u64;
        match secs.checked_mul(NSEC_PER_SEC) {
            Some(ns) => Ok(ns.saturating_add(self.tv_nsec as u64)),
            None => Ok(u64::MAX),
        }
    }
}

/// `struct __kernel_old_timeval` (gettimeofday(2)): seconds and microseconds.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, valid in `[0, 999_999]`.
    pub tv_usec: i64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Timeval>() == size_of::<raw::__kernel_old_timeval>());
    assert!(offset_of!(Timeval, tv_usec) == offset_of!(raw::__kernel_old_timeval, tv_usec));
    assert!(size_of::<Timeval>() == size_of::<raw::timeval>());
    assert!(offset_of!(Timeval, tv_usec) == offset_of!(raw::timeval, tv_usec));
};

impl Timeval {
    /// The time `ns` nanoseconds after zero, truncated to microseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        Timeval {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_usec: ((ns % NSEC_PER_SEC) / 1000) as i64,
        }
    }
}

/// `struct timezone` (gettimeofday(2)); Linux keeps it only for compatibility.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction (always 0 on modern systems).
    pub tz_dsttime: i32,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Timezone>() == size_of::<raw::timezone>());
    assert!(offset_of!(Timezone, tz_dsttime) == offset_of!(raw::timezone, tz_dsttime));
};

macro_rules! clock_ids {
    ($($variant:ident = $name:ident),* $(,)?) => {
        /// A clock a process may read or sleep on (`clockid_t`, clock_gettime(2)).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum ClockId {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $variant = raw::$name as i32,
            )*
        }

        impl ClockId {
            /// Every clock id, in numeric order.
            pub const ALL: &'static [ClockId] = &[$(ClockId::$variant),*];

            /// The Linux name (`"CLOCK_MONOTONIC"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(ClockId::$variant => stringify!($name),)*
                }
            }
        }

        impl TryFrom<i32> for ClockId {
            type Error = Errno;
            /// `EINVAL` for ids Linux does not define and for the negative CPU-clock ids.
            fn try_from(id: i32) -> Result<ClockId, Errno> {
                $(
                    if id == raw::$name as i32 {
                        return Ok(ClockId::$variant);
                    }
                )*
                Err(Errno::EINVAL)
            }
        }
    };
}

clock_ids! {
    Realtime = CLOCK_REALTIME,
    Monotonic = CLOCK_MONOTONIC,
    ProcessCputime = CLOCK_PROCESS_CPUTIME_ID,
    ThreadCputime = CLOCK_THREAD_CPUTIME_ID,
    MonotonicRaw = CLOCK_MONOTONIC_RAW,
    RealtimeCoarse = CLOCK_REALTIME_COARSE,
    MonotonicCoarse = CLOCK_MONOTONIC_COARSE,
    Boottime = CLOCK_BOOTTIME,
    RealtimeAlarm = CLOCK_REALTIME_ALARM,
    BoottimeAlarm = CLOCK_BOOTTIME_ALARM,
    Tai = CLOCK_TAI,
}

impl ClockId {
    /// Whether the clock follows wall time (it jumps when the time of day is set).
    pub const fn is_wall_clock(self) -> bool {
        matches!(
            self,
            ClockId::Realtime | ClockId::RealtimeCoarse | ClockId::RealtimeAlarm | ClockId::Tai
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_ids_match_linux_numbers() {
        assert_eq!(ClockId::try_from(0), Ok(ClockId::Realtime));
        assert_eq!(ClockId::try_from(1), Ok(ClockId::Monotonic));
        assert_eq!(ClockId::try_from(7), Ok(ClockId::Boottime));
        assert_eq!(ClockId::try_from(11), Ok(ClockId::Tai));
        for &c in ClockId::ALL {
            assert_eq!(ClockId::try_from(c as i32), Ok(c));
        }
        assert_eq!(ClockId::Monotonic.name(), "CLOCK_MONOTONIC");
    }

    #[test]
    fn unknown_and_cpu_clock_ids_are_einval() {
        // 10 is CLOCK_SGI_CYCLE (removed), 12+ are unassigned, negatives are CPU clocks.
        for id in [10, 12, 16, 1000, -1, -6, i32::MIN, i32::MAX] {
            assert_eq!(ClockId::try_from(id), Err(Errno::EINVAL), "id {id}");
        }
    }

    #[test]
    fn timespec_validity_follows_linux() {
        assert_eq!(
            Timespec {
                tv_sec: 1,
                tv_nsec: 5
            }
            .to_nanos(),
            Ok(1_000_000_005)
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: 999_999_999
            }
            .to_nanos(),
            Ok(999_999_999)
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000_000
            }
            .to_nanos(),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            Timespec {
                tv_sec: -1,
                tv_nsec: 0
            }
            .to_nanos(),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: -1
            }
            .to_nanos(),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0
            }
            .to_nanos(),
            Ok(u64::MAX)
        );
        assert_eq!(
            Timespec::from_nanos(2_500_000_000),
            Timespec {
                tv_sec: 2,
                tv_nsec: 500_000_000
            }
        );
        assert_eq!(
            Timeval::from_nanos(2_500_001_999),
            Timeval {
                tv_sec: 2,
                tv_usec: 500_001
            }
        );
    }

    #[test]
    fn layouts_are_the_kernel_bytes() {
        let t = Timespec {
            tv_sec: 0x0102,
            tv_nsec: 0x0304,
        };
        let b = t.as_bytes();
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..2], &[2, 1]);
        assert_eq!(&b[8..10], &[4, 3]);
        assert_eq!(
            Timezone::read_from_bytes(&[1, 0, 0, 0, 2, 0, 0, 0])
                .unwrap()
                .tz_dsttime,
            2
        );
    }
}
