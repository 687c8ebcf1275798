//! File timestamps and the wall clock they come from.
//!
//! The VFS never reads a clock of its own: file systems take `now` as an argument of every
//! operation that sets a time, and the layer above them gets it from the [`RealtimeClock`] the
//! embedder handed to [`Vfs::new`](crate::Vfs::new). A test passes a
//! [`FakeClock`](crate::fake::FakeClock) and gets deterministic `st_mtime`s.
//!
//! Reads do not update access times (every mount behaves like `noatime`); see the crate docs.

use oxv_abi::linux::fs::StatxTimestamp;

/// A point in `CLOCK_REALTIME`: seconds and nanoseconds since the Unix epoch.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds (negative before 1970).
    pub secs: i64,
    /// Nanoseconds, in `[0, 999_999_999]`.
    pub nanos: u32,
}

impl Timestamp {
    /// The epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// A whole number of seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0 }
    }

    /// The statx(2) form.
    pub const fn to_statx(self) -> StatxTimestamp {
        StatxTimestamp {
            tv_sec: self.secs,
            tv_nsec: self.nanos,
            reserved: 0,
        }
    }
}

/// The wall clock (`CLOCK_REALTIME`) that stamps file times. The embedder implements it.
///
/// Implementations must be cheap and must not block: the VFS calls it once per operation that
/// changes a file (write, create, truncate, rename...), never on reads.
pub trait RealtimeClock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> Timestamp;
}
