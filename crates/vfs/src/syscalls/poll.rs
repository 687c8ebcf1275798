//! poll(2), ppoll(2): readiness of several fds, waiting on their poll queues
//! ([`crate::readiness`]).
//!
//! For each entry: a negative fd is skipped (`revents` 0); an fd that is not open or is an
//! `O_PATH` fd gets `POLLNVAL`; otherwise `revents` is the file's readiness masked by the
//! requested events plus `POLLERR | POLLHUP`, which are always reported. The call returns the
//! number of entries with non-zero `revents` as soon as there is one, or 0 when the timeout
//! expires (at once for a timeout of 0; never for a negative poll timeout or a null ppoll
//! one).
//!
//! Waiting costs nothing while nothing changes: after a first look, one waiter registers on
//! the queue of every polled file, and the thread sleeps until a file notifies, the timeout
//! or a signal. A file without a queue is always ready (regular files) unless it is a device
//! that cannot notify; for those the wait is cut into [`UNWATCHED_RECHECK_NS`] slices.
//!
//! As Linux: `nfds` above `RLIMIT_NOFILE` is `EINVAL`; the array is copied in once (`EFAULT`)
//! and the `revents` copied back at the end (`EFAULT`); ppoll reads its timeout first
//! (`EFAULT`, `EINVAL` for an invalid one) and writes the time left back, ignoring a fault
//! there. A pending signal ends the wait with `EINTR`. ppoll's signal mask is the kernel's
//! business: it reads the timeout with [`ppoll_timeout`], swaps the mask, then calls
//! [`ppoll_with_timeout`].

use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::readiness::{Waiter, Watch};
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{PollEvents, Pollfd};
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use zerocopy::{FromZeros, IntoBytes};

/// How often a wait re-checks a polled device that has no poll queue.
pub const UNWATCHED_RECHECK_NS: u64 = 10_000_000;

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
    let rel = ppoll_timeout(mem, timeout)?;
    ppoll_with_timeout(files, mem, blocker, fds, nfds, timeout, rel)
}

/// ppoll's first step: reads the timeout (`None` for a null pointer) in nanoseconds;
/// `EFAULT`, or `EINVAL` for an invalid one.
pub fn ppoll_timeout(
    mem: &dyn UserMemory,
    timeout: UserPtr<Timespec>,
) -> Result<Option<u64>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    Ok(Some(timeout.read(mem)?.to_nanos()?))
}

/// ppoll's second step, with the timeout [`ppoll_timeout`] read: polls, then writes the time
/// left back to `timeout` (not for a zero timeout; a fault there is ignored).
pub fn ppoll_with_timeout(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    fds: UserPtr<Pollfd>,
    nfds: u32,
    timeout: UserPtr<Timespec>,
    rel_ns: Option<u64>,
) -> SysResult {
    let deadline = rel_ns.map(|ns| blocker.now_ns().saturating_add(ns));
    let result = poll_until(files, mem, blocker, fds, nfds, deadline);
    if let (Some(d), Some(ns)) = (deadline, rel_ns) {
        if ns != 0 {
            let left = Timespec::from_nanos(d.saturating_sub(blocker.now_ns()));
            let _ = timeout.write(mem, &left);
        }
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

/// Registrations of one waiter on the queues of a set of files.
pub(crate) struct WatchSet {
    pub(crate) waiter: Arc<Waiter>,
    watches: Vec<Watch>,
    /// Some file has no queue and may still change: re-check now and then.
    pub(crate) unwatched: bool,
}

impl WatchSet {
    pub(crate) fn new(blocker: &dyn Blocker) -> WatchSet {
        WatchSet {
            waiter: Waiter::new(blocker),
            watches: Vec::new(),
            unwatched: false,
        }
    }

    /// Watches `file` for `interest`.
    pub(crate) fn add(&mut self, file: &OpenFile, interest: PollEvents) {
        match file.ops().poll_queue() {
            Some(q) => self.watches.push(self.waiter.watch(q, interest)),
            None => {
                // A file that is not always ready and cannot notify (a device without a
                // queue): poll it now and then.
                let always = PollEvents::IN | PollEvents::OUT;
                if !file.ops().poll().contains(always) {
                    self.unwatched = true;
                }
            }
        }
    }

    /// Sleeps until a notification, `deadline` or a signal (`EINTR`).
    pub(crate) fn sleep(&self, blocker: &dyn Blocker, deadline: Option<u64>) -> Result<(), Errno> {
        let until = if self.unwatched {
            let cap = blocker.now_ns().saturating_add(UNWATCHED_RECHECK_NS);
            Some(deadline.map_or(cap, |d| d.min(cap)))
        } else {
            deadline
        };
        self.waiter.sleep(until)
    }
}

fn pass(files: &FdTable, entries: &mut [Pollfd]) -> usize {
    let mut ready = 0;
    for e in entries.iter_mut() {
        e.revents = revents(files, e).bits() as i16;
        if e.revents != 0 {
            ready += 1;
        }
    }
    ready
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
    let timed_out = |b: &dyn Blocker| deadline.is_some_and(|d| b.now_ns() >= d);
    let mut ready = pass(files, &mut entries);
    if ready == 0 && !timed_out(blocker) {
        let mut set = WatchSet::new(blocker);
        for e in entries.iter().filter(|e| e.fd >= 0) {
            if let Ok(file) = files.get(e.fd) {
                let interest = PollEvents::from_bits_retain(e.events as u16);
                set.add(&file, interest);
            }
        }
        loop {
            set.waiter.reset();
            ready = pass(files, &mut entries);
            if ready > 0 || timed_out(blocker) {
                break;
            }
            set.sleep(blocker, deadline)?;
        }
    }
    mem.copy_out(fds.addr(), entries.as_bytes())?;
    Ok(ready)
}
