//! futex_waitv(2): wait on up to 128 futex words at once, until a `FUTEX_WAKE` on any of
//! them. The call is oxv-sched's ([`oxv_sched::syscalls::futex::futex_waitv`], which gives
//! its checks, their order and what is not supported) over the kernel's [`Futexes`]; an
//! `EINTR` is restarted as Linux's `-ERESTARTSYS` by the dispatcher.

use super::Futexes;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{SysResult, UserAddr, UserMemory, UserPtr};

/// futex_waitv(waiters, nr_futexes, flags, timeout, clockid).
pub fn futex_waitv(
    mem: &dyn UserMemory,
    waiters: UserAddr,
    nr_futexes: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
    clockid: i32,
) -> SysResult {
    oxv_sched::syscalls::futex::futex_waitv(
        &mut Futexes,
        mem,
        waiters,
        nr_futexes,
        flags,
        timeout,
        clockid,
    )
}
