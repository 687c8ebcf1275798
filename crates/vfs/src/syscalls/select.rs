//! select(2), pselect6(2): readiness of the fds in three bit sets, on the same waiting
//! machinery as poll(2) ([`super::poll`]).
//!
//! As Linux's `fs/select.c`:
//!
//! - the timeout is read first: select's `timeval` may have `tv_usec` past a second (it is
//!   carried into the seconds) but nothing negative (`EINVAL`); pselect6's `timespec` must be
//!   valid (`EINVAL`); a null timeout waits forever;
//! - `nfds` below 0 is `EINVAL`; above the fd table's current size it is cut to that size, so
//!   bits past it are neither read nor written;
//! - each non-null set is copied in (`EFAULT`); a set bit for an fd that is not open is
//!   `EBADF`;
//! - an fd is readable when its poll mask has any of `IN`, `RDNORM`, `RDBAND`, `HUP`, `ERR`;
//!   writable with `OUT`, `WRNORM`, `WRBAND`, `ERR`; exceptional with `PRI`. The result counts
//!   set bits over the three sets, which replace the caller's (`EFAULT`);
//! - the time left is written back to the timeout (select's `timeval` too, as Linux does
//!   without `STICKY_TIMEOUTS`), except for a zero timeout; a fault there is ignored;
//! - a signal ends the wait with `EINTR` and leaves the sets alone.
//!
//! pselect6's signal mask is the kernel's business, as for ppoll.

use super::poll::WatchSet;
use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::time::{Timespec, Timeval};
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};

/// Events that make an fd readable for select (Linux's `POLLIN_SET`).
pub const IN_SET: PollEvents = PollEvents::IN
    .union(PollEvents::RDNORM)
    .union(PollEvents::RDBAND)
    .union(PollEvents::HUP)
    .union(PollEvents::ERR);
/// Events that make an fd writable (`POLLOUT_SET`).
pub const OUT_SET: PollEvents = PollEvents::OUT
    .union(PollEvents::WRNORM)
    .union(PollEvents::WRBAND)
    .union(PollEvents::ERR);
/// Events that make an fd exceptional (`POLLEX_SET`).
pub const EX_SET: PollEvents = PollEvents::PRI;

/// The three fd sets of a call, as user addresses (0 = no set).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FdSets {
    /// Fds to check for reading.
    pub read: UserAddr,
    /// Fds to check for writing.
    pub write: UserAddr,
    /// Fds to check for exceptional conditions.
    pub except: UserAddr,
}

/// select(2).
pub fn select(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    nfds: i32,
    sets: FdSets,
    timeout: UserPtr<Timeval>,
) -> SysResult {
    let rel = if timeout.is_null() {
        None
    } else {
        let tv = timeout.read(mem)?;
        let sec = tv.tv_sec.checked_add(tv.tv_usec / 1_000_000);
        let nsec = (tv.tv_usec % 1_000_000) * 1000;
        let ts = Timespec {
            tv_sec: sec.ok_or(Errno::EINVAL)?,
            tv_nsec: nsec,
        };
        Some(ts.to_nanos()?)
    };
    let deadline = rel.map(|ns| blocker.now_ns().saturating_add(ns));
    let result = select_until(files, mem, blocker, nfds, sets, deadline);
    if let (Some(d), Some(ns)) = (deadline, rel) {
        if ns != 0 {
            let left = Timeval::from_nanos(d.saturating_sub(blocker.now_ns()));
            let _ = timeout.write(mem, &left);
        }
    }
    result
}

/// pselect6's first step: reads the timeout (`None` for a null pointer) in nanoseconds;
/// `EFAULT`, or `EINVAL` for an invalid one.
pub fn pselect6_timeout(
    mem: &dyn UserMemory,
    timeout: UserPtr<Timespec>,
) -> Result<Option<u64>, Errno> {
    super::poll::ppoll_timeout(mem, timeout)
}

/// pselect6(2) without the signal mask, with the timeout [`pselect6_timeout`] read; writes
/// the time left back.
pub fn pselect6_with_timeout(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    nfds: i32,
    sets: FdSets,
    timeout: UserPtr<Timespec>,
    rel_ns: Option<u64>,
) -> SysResult {
    let deadline = rel_ns.map(|ns| blocker.now_ns().saturating_add(ns));
    let result = select_until(files, mem, blocker, nfds, sets, deadline);
    if let (Some(d), Some(ns)) = (deadline, rel_ns) {
        if ns != 0 {
            let left = Timespec::from_nanos(d.saturating_sub(blocker.now_ns()));
            let _ = timeout.write(mem, &left);
        }
    }
    result
}

/// Bits of one set, as 64-bit words.
fn read_set(mem: &dyn UserMemory, at: UserAddr, words: usize) -> Result<Vec<u64>, Errno> {
    let mut v = vec![0u64; words];
    if at.get() != 0 {
        let mut bytes = vec![0u8; words * 8];
        mem.copy_in(at, &mut bytes)?;
        for (w, chunk) in v.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        }
    }
    Ok(v)
}

fn write_set(mem: &mut dyn UserMemory, at: UserAddr, words: &[u64]) -> Result<(), Errno> {
    if at.get() == 0 {
        return Ok(());
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.copy_out(at, &bytes)?;
    Ok(())
}

fn bit(set: &[u64], fd: usize) -> bool {
    set[fd / 64] & (1 << (fd % 64)) != 0
}

/// The select loop on copied-in sets: until something is ready, `deadline` passes (0) or a
/// signal comes (`EINTR`).
pub fn select_until(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &dyn Blocker,
    nfds: i32,
    sets: FdSets,
    deadline: Option<u64>,
) -> SysResult {
    let n = usize::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    let n = n.min(files.max_fds());
    let words = n.div_ceil(64);
    let inp = read_set(mem, sets.read, words)?;
    let out = read_set(mem, sets.write, words)?;
    let ex = read_set(mem, sets.except, words)?;
    let wanted: Vec<usize> = (0..n)
        .filter(|&fd| bit(&inp, fd) || bit(&out, fd) || bit(&ex, fd))
        .collect();
    for &fd in &wanted {
        files.get(fd as i32)?;
    }

    let mut res = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    let look = |res: &mut [Vec<u64>; 3]| -> usize {
        for r in res.iter_mut() {
            r.iter_mut().for_each(|w| *w = 0);
        }
        let mut count = 0;
        for &fd in &wanted {
            let mask = match files.get(fd as i32) {
                Ok(f) if !f.is_path_only() => f.ops().poll(),
                _ => PollEvents::empty(),
            };
            for (i, (set, events)) in [(&inp, IN_SET), (&out, OUT_SET), (&ex, EX_SET)]
                .into_iter()
                .enumerate()
            {
                if bit(set, fd) && mask.intersects(events) {
                    res[i][fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
        count
    };
    let timed_out = |b: &dyn Blocker| deadline.is_some_and(|d| b.now_ns() >= d);
    let mut count = look(&mut res);
    if count == 0 && !timed_out(blocker) {
        let mut watch = WatchSet::new(blocker);
        for &fd in &wanted {
            if let Ok(file) = files.get(fd as i32) {
                let mut interest = PollEvents::empty();
                if bit(&inp, fd) {
                    interest |= IN_SET;
                }
                if bit(&out, fd) {
                    interest |= OUT_SET;
                }
                if bit(&ex, fd) {
                    interest |= EX_SET;
                }
                watch.add(&file, interest);
            }
        }
        loop {
            watch.waiter.reset();
            count = look(&mut res);
            if count > 0 || timed_out(blocker) {
                break;
            }
            watch.sleep(blocker, deadline)?;
        }
    }
    write_set(mem, sets.read, &res[0])?;
    write_set(mem, sets.write, &res[1])?;
    write_set(mem, sets.except, &res[2])?;
    Ok(count)
}
