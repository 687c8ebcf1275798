//! System-call handlers: Linux's signal-state, time, resource-limit and futex calls over
//! this crate's state.
//!
//! One module per family. Each handler takes the state it works on, the app's memory as a
//! `&mut dyn UserMemory` (or `&dyn` when it only reads), and the call's arguments as
//! `oxv-abi` decodes them (`Syscall::RtSigaction { signum, act, oldact, sigsetsize }` maps to
//! `rt_sigaction(st, mem, signum, act, oldact, sigsetsize)`). It returns a [`SysResult`]: the
//! kernel turns `Err(e)` into `-e` in one place.
//!
//! Every handler checks its errors in the order Linux does, because programs (and the compat
//! tests) see the first one. The order is written at the top of each handler, and the tests
//! pin it case by case. A handler copies user structs in once and validates the copy.
//!
//! [`SysResult`]: oxv_abi::SysResult

pub mod futex;
pub mod rlimit;
pub mod signal;
pub mod time;

pub use futex::{FutexScheduler, futex, futex_waitv};
pub use rlimit::{getrlimit, prlimit64, setrlimit};
pub use signal::{rt_sigaction, rt_sigprocmask, sigaltstack};
pub use time::{clock_getres, clock_gettime, clock_nanosleep, gettimeofday, nanosleep, time};

#[cfg(test)]
pub(crate) mod test_memory {
    //! The address space every handler test uses.
    use oxv_abi::user::fake::FakeUserMemory;

    /// A writable page.
    pub const RW: u64 = 0x1000;
    /// A read-only page: reads work, writes fault.
    pub const RO: u64 = 0x3000;
    /// Unmapped.
    pub const BAD: u64 = 0x9000;

    /// Memory with [`RW`] and [`RO`] mapped.
    pub fn memory() -> FakeUserMemory {
        let mut m = FakeUserMemory::new();
        m.map(RW, 0x1000, true).map(RO, 0x1000, false);
        m
    }
}
