//! poll(2), ppoll(2): readiness of several fds, waiting through the embedder's [`Blocker`].
//!
//! For each entry: a negative fd is skipped (`revents` 0); an fd that is not open or is an
//! `O_PATH` fd gets `POLLNVAL`; otherwise `revents` is the file's readiness masked by the
//! requested events plus `POLLERR | POLLHUP`, which are always reported. The call returns the
//! number of entries with non-zero `revents` as soon as there is one, or 0 when the timeout
//! expires (at once for a timeout of 0; never for a negative poll timeout or a null ppoll
//! one).
//!
//! As Linux: `nfds` above `RLIMIT_NOFILE` is `EINVAL`; the array is copied in once (`EFAULT`)
//! and the `revents` copied back at the end (`EFAULT`); ppoll reads its timeout first
//! (`EFAULT`, `EINVAL` for an invalid one) and writes the time left back, ignoring a fault
//! there. A pending signal (`EINTR` from [`Blocker::wait_until`]) ends the wait with `EINTR`.
//! ppoll's signal mask is the kernel's business: it swaps the mask around this call.

use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{PollEvents, Pollfd};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use zerocopy::{FromZeros, IntoBytes};

/// poll(2); `timeout_ms < 0` waits forever.
pub fn poll(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    timeout_ms: i32,
) -> SysResult {
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| blocker.now_ns().saturating_add(ms * 1_000_000));
    poll_until(files, mem, blocker, fds, nfds, deadline)
}

/// ppoll(2), without the signal mask; a null `timeout` waits forever.
pub fn ppoll(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    timeout: UserPtr<Timespec>,
) -> SysResult {
    let deadline = if timeout.is_null() {
        None
    } else {
        let ns = timeout.read(mem)?.to_nanos()?;
        Some(blocker.now_ns().saturating_add(ns))
    };
    let result = poll_until(files, mem, blocker, fds, nfds, deadline);
    if let Some(d) = deadline {
        let left = Timespec::from_nanos(d.saturating_sub(blocker.now_ns()));
        let _ = timeout.write(mem, &left);
    }
    result
}

/// The `revents` of one entry now.
pub fn revents(files: &FdTable, entry: &Pollfd) -> PollEvents {
    if entry.fd < 0 {
        return PollEvents::empty();
    }
    match files.get(entry.fd) {
        Ok(file) if !file.is_path_only() => {
            let wanted = PollEvents::from_bits_retain(entry.events as u16)
                | PollEvents::ERR
                | PollEvents::HUP;
            file.ops().poll() & wanted
        }
        _ => PollEvents::NVAL,
    }
}

/// Polls until something is ready or monotonic time `deadline` passes.
pub fn poll_until(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    deadline: Option<u64>,
) -> SysResult {
    if nfds as usize > files.limit() {
        return Err(Errno::EINVAL);
    }
    let mut entries = Vec::new();
    entries.resize(nfds as usize, Pollfd::new_zeroed());
    mem.copy_in(fds.addr(), entries.as_mut_bytes())?;
    loop {
        let mut ready = 0;
        for e in entries.iter_mut() {
            e.revents = revents(files, e).bits() as i16;
            if e.revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| blocker.now_ns() >= d) {
            mem.copy_out(fds.addr(), entries.as_bytes())?;
            return Ok(ready);
        }
        blocker.wait_until(deadline)?;
    }
}
