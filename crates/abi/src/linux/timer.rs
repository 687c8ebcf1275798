//! Interval timers, POSIX timers and resource usage: `struct itimerval`, `itimerspec`,
//! `sigevent`, `rusage`, `tms`, `sched_param`, and their constants.

use crate::linux::time::{Timespec, Timeval};
use linux_raw_sys::general as raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct itimerval` (setitimer(2)).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Itimerval {
    /// Reload value.
    pub it_interval: Timeval,
    /// Time to the next expiry.
    pub it_value: Timeval,
}

/// `struct itimerspec` (timer_settime(2)).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Itimerspec {
    /// Reload value.
    pub it_interval: Timespec,
    /// Time to (or, with `TIMER_ABSTIME`, time of) the next expiry.
    pub it_value: Timespec,
}

/// `struct sigevent` (64 bytes): how a timer notifies.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Sigevent {
    /// The value passed in `si_value`.
    pub sigev_value: u64,
    /// The signal to send.
    pub sigev_signo: i32,
    /// `SIGEV_SIGNAL`, `SIGEV_NONE`, `SIGEV_THREAD_ID` (`SIGEV_THREAD` is the libc's).
    pub sigev_notify: i32,
    /// The thread id for `SIGEV_THREAD_ID` (first word of the union), then padding.
    pub sigev_tid: i32,
    /// The rest of the union.
    pub _pad: [u32; 11],
}

/// `struct rusage`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[allow(missing_docs)]
pub struct Rusage {
    pub ru_utime: Timeval,
    pub ru_stime: Timeval,
    pub ru_maxrss: i64,
    pub ru_ixrss: i64,
    pub ru_idrss: i64,
    pub ru_isrss: i64,
    pub ru_minflt: i64,
    pub ru_majflt: i64,
    pub ru_nswap: i64,
    pub ru_inblock: i64,
    pub ru_oublock: i64,
    pub ru_msgsnd: i64,
    pub ru_msgrcv: i64,
    pub ru_nsignals: i64,
    pub ru_nvcsw: i64,
    pub ru_nivcsw: i64,
}

/// `struct tms` (times(2)), in clock ticks.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[allow(missing_docs)]
pub struct Tms {
    pub tms_utime: i64,
    pub tms_stime: i64,
    pub tms_cutime: i64,
    pub tms_cstime: i64,
}

/// `struct sched_param`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SchedParam {
    /// The static priority (0 for `SCHED_OTHER`).
    pub sched_priority: i32,
}

macro_rules! consts {
    ($ty:ty: $($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "`")]
            pub const $name: $ty = raw::$name as $ty;
        )*
    };
}

consts!(i32: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF, SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID, SI_TIMER,
    RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD, PRIO_PROCESS, PRIO_PGRP, PRIO_USER,
    SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE);

const _: () = assert!(core::mem::size_of::<Itimerval>() == core::mem::size_of::<raw::itimerval>());
const _: () =
    assert!(core::mem::size_of::<Itimerspec>() == core::mem::size_of::<raw::itimerspec>());
const _: () = assert!(core::mem::size_of::<Sigevent>() == core::mem::size_of::<raw::sigevent>());
const _: () = assert!(
    core::mem::offset_of!(Sigevent, sigev_notify)
        == core::mem::offset_of!(raw::sigevent, sigev_notify)
);
const _: () = assert!(core::mem::size_of::<Rusage>() == core::mem::size_of::<raw::rusage>());
const _: () = assert!(core::mem::size_of::<Tms>() == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!((ITIMER_REAL, SIGEV_THREAD_ID, SI_TIMER), (0, 4, -2));
        assert_eq!(core::mem::size_of::<Sigevent>(), 64);
    }
}
