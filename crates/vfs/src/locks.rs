//! Advisory file locks: POSIX record locks (fcntl(2) `F_SETLK`), open file description locks
//! (`F_OFD_SETLK`) and whole-file flock(2) locks, as Linux's `fs/locks.c` keeps them.
//!
//! Locks are advisory: they never stop a read or a write, only other lock requests. Each
//! locked inode has one [`InodeLocks`], found through the [`LockRegistry`] of the VFS by the
//! inode's `(st_dev, st_ino)`, and cached in every [`OpenFile`] that locked something.
//!
//! - **Record locks** cover byte ranges `[start, end]` (`end` included; [`OFFSET_MAX`] means
//!   "to the end of the file, however it grows"). A read lock conflicts with another owner's
//!   write lock, a write lock with any lock of another owner. An owner's own locks never
//!   conflict: setting a lock over them replaces them, splitting a lock of another type and
//!   merging touching or overlapping locks of the same type, so an owner holds disjoint
//!   ranges. Unlocking a range splits what it covers.
//! - Their **owner** is either a process ([`LockOwner::Process`], POSIX locks: Linux's owner is
//!   the fd table, which the threads of a process share and fork(2) copies) or an open file
//!   description ([`LockOwner::OpenFile`], OFD locks). Both kinds live in one list and conflict
//!   with each other. A process's POSIX locks on an inode all go when it closes *any* fd of
//!   that inode ([`ProcessLocks::closed`]) or its fd table goes away; OFD locks go when their
//!   open file description is dropped (its last fd closed).
//! - **flock(2) locks** are whole-file, owned by the open file description, and independent of
//!   record locks (as on Linux since 2.0). Converting one (shared to exclusive or back) drops
//!   the old lock first, so another waiter may get in between, as on Linux.
//! - A request that conflicts fails with `EAGAIN`, or waits ([`LockRegistry::set_record`] and
//!   [`LockRegistry::set_flock`] with a [`Blocker`]) until the conflict goes, woken through the
//!   inode's [`PollQueue`] whenever a lock there is released or narrowed. A signal ends the
//!   wait with `EINTR`.
//! - **Deadlock detection** (POSIX locks only, as Linux): before a process waits for a lock
//!   held by owner B, the registry follows "B waits for C, C waits for D..." (at most
//!   [`MAX_DEADLOCK_STEPS`] steps); if the chain comes back to the caller, the request fails
//!   with `EDEADLK` instead of waiting.
//!
//! Not here: leases (`F_SETLEASE`), mandatory locking (gone from Linux), `ENOLCK` (allocation
//! failures abort rather than fail in this kernel).

use crate::blocker::Blocker;
use crate::file::OpenFile;
use crate::node::DeviceId;
use crate::readiness::{PollQueue, Waiter};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use spin::Mutex;

#[cfg(test)]
mod tests;

/// The largest file offset (Linux's `OFFSET_MAX`): a range ending here runs to the end of the
/// file whatever its size.
pub const OFFSET_MAX: u64 = i64::MAX as u64;

/// How far deadlock detection follows a chain of waiting owners (Linux's
/// `MAX_DEADLK_ITERATIONS`).
pub const MAX_DEADLOCK_STEPS: usize = 10;

/// Who holds a record lock. See the [module docs](self).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockOwner {
    /// A process's POSIX lock: the identity of its fd table ([`ProcessLocks::owner`]).
    Process(usize),
    /// An OFD lock: the identity of the open file description ([`file_owner`]).
    OpenFile(usize),
}

/// The identity of an open file description (its address, stable while it lives).
pub fn file_id(file: &OpenFile) -> usize {
    file as *const OpenFile as usize
}

/// The owner identity of an open file description, for OFD and flock(2) locks.
pub fn file_owner(file: &OpenFile) -> LockOwner {
    LockOwner::OpenFile(file_id(file))
}

/// Shared (read) or exclusive (write).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// `F_RDLCK`, `LOCK_SH`.
    Read,
    /// `F_WRLCK`, `LOCK_EX`.
    Write,
}

impl LockKind {
    fn conflicts_with(self, other: LockKind) -> bool {
        self == LockKind::Write || other == LockKind::Write
    }
}

/// One record lock held on an inode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RecordLock {
    /// Who holds it.
    pub owner: LockOwner,
    /// The process that set it, as F_GETLK reports it (OFD locks report -1 instead).
    pub pid: i32,
    /// Read or write.
    pub kind: LockKind,
    /// First byte.
    pub start: u64,
    /// Last byte, included ([`OFFSET_MAX`]: to the end of the file).
    pub end: u64,
}

impl RecordLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }
}

/// A request to set or clear record locks on `[start, end]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RecordRequest {
    /// Whose lock.
    pub owner: LockOwner,
    /// The caller's pid (kept for F_GETLK).
    pub pid: i32,
    /// The lock to set; `None` unlocks the range.
    pub kind: Option<LockKind>,
    /// First byte.
    pub start: u64,
    /// Last byte, included.
    pub end: u64,
}

/// Which inode a lock context belongs to: `(st_dev, st_ino)`.
pub type LockKey = (DeviceId, u64);

#[derive(Default)]
struct State {
    /// Record locks, grouped by owner (in the order owners first locked), each owner's
    /// disjoint ranges sorted by start, as Linux's list is; F_GETLK reports the first conflict
    /// in this order.
    records: Vec<RecordLock>,
    /// flock(2) locks: the owning open file description and the kind.
    flocks: Vec<(usize, LockKind)>,
}

/// The locks of one inode. See the [module docs](self).
pub struct InodeLocks {
    key: LockKey,
    state: Mutex<State>,
    queue: PollQueue,
    graph: Arc<WaitGraph>,
}

impl InodeLocks {
    /// The inode these locks belong to.
    pub fn key(&self) -> LockKey {
        self.key
    }

    /// The first lock of another owner that conflicts with `kind` on `[start, end]` (F_GETLK).
    pub fn test(
        &self,
        owner: LockOwner,
        kind: LockKind,
        start: u64,
        end: u64,
    ) -> Option<RecordLock> {
        first_conflict(&self.state.lock().records, owner, kind, start, end)
    }

    /// The record locks held now, in list order.
    pub fn records(&self) -> Vec<RecordLock> {
        self.state.lock().records.clone()
    }

    /// The flock(2) locks held now: owning open file (see [`file_owner`]) and kind.
    pub fn flocks(&self) -> Vec<(LockOwner, LockKind)> {
        self.state
            .lock()
            .flocks
            .iter()
            .map(|&(f, k)| (LockOwner::OpenFile(f), k))
            .collect()
    }

    /// Whether `owner` holds any record lock here.
    pub fn holds_records(&self, owner: LockOwner) -> bool {
        self.state.lock().records.iter().any(|r| r.owner == owner)
    }

    /// Sets or clears a record lock without waiting: `Err(conflict)` if another owner's lock
    /// is in the way (nothing changes then).
    pub fn try_set(&self, req: &RecordRequest) -> Result<(), RecordLock> {
        let mut st = self.state.lock();
        if let Some(kind) = req.kind
            && let Some(c) = first_conflict(&st.records, req.owner, kind, req.start, req.end)
        {
            return Err(c);
        }
        let released = apply(&mut st.records, req);
        drop(st);
        if released {
            self.released(req.owner);
        }
        Ok(())
    }

    /// Drops every record lock of `owner` (a process closed an fd of the inode, or an open
    /// file description went away).
    pub fn release_owner(&self, owner: LockOwner) {
        let removed = {
            let mut st = self.state.lock();
            let before = st.records.len();
            st.records.retain(|r| r.owner != owner);
            st.records.len() != before
        };
        if removed {
            self.released(owner);
        }
    }

    /// Drops the OFD locks and the flock(2) lock of the open file `file` (its last reference
    /// is going).
    pub fn release_file(&self, file: usize) {
        self.release_owner(LockOwner::OpenFile(file));
        let removed = {
            let mut st = self.state.lock();
            let before = st.flocks.len();
            st.flocks.retain(|&(f, _)| f != file);
            st.flocks.len() != before
        };
        if removed {
            self.released(LockOwner::OpenFile(file));
        }
    }

    /// flock(2) without waiting: sets (`Some`) or drops (`None`) the lock of open file `file`.
    /// An existing lock of the same kind is kept as is; one of the other kind is dropped first
    /// and stays dropped even when the new one conflicts (`Err(EAGAIN)`), as on Linux.
    pub fn try_flock(&self, file: usize, kind: Option<LockKind>) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let mut dropped = false;
        if let Some(i) = st.flocks.iter().position(|&(f, _)| f == file) {
            if Some(st.flocks[i].1) == kind {
                return Ok(());
            }
            st.flocks.remove(i);
            dropped = true;
        }
        let result = match kind {
            None => Ok(()),
            Some(kind) => {
                if st
                    .flocks
                    .iter()
                    .any(|&(f, k)| f != file && k.conflicts_with(kind))
                {
                    Err(Errno::EAGAIN)
                } else {
                    st.flocks.push((file, kind));
                    Ok(())
                }
            }
        };
        drop(st);
        if dropped {
            self.released(LockOwner::OpenFile(file));
        }
        result
    }

    /// Something of `owner`'s was released or narrowed: waiters look again, and wait edges
    /// towards `owner` for this inode go (Linux removes a waiter from its blocker at unlock).
    fn released(&self, owner: LockOwner) {
        self.graph
            .forget_blocker(self as *const InodeLocks as usize, owner);
        self.queue.notify(PollEvents::empty());
    }
}

/// The first lock in `records` of another owner than `owner` that overlaps `[start, end]` and
/// conflicts with `kind`.
fn first_conflict(
    records: &[RecordLock],
    owner: LockOwner,
    kind: LockKind,
    start: u64,
    end: u64,
) -> Option<RecordLock> {
    records
        .iter()
        .find(|r| r.owner != owner && r.overlaps(start, end) && r.kind.conflicts_with(kind))
        .copied()
}

/// Applies `req` to the owner's locks in `records` (no conflict check). Returns whether some
/// range the owner held was released or changed type (waiters may then get in).
fn apply(records: &mut Vec<RecordLock>, req: &RecordRequest) -> bool {
    let owner = req.owner;
    let at = records.iter().position(|r| r.owner == owner);
    let (mut start, mut end) = (req.start, req.end);
    let mut mine = Vec::new();
    let mut released = false;
    for r in records.iter().filter(|r| r.owner == owner) {
        let touches = r.overlaps(start, end)
            || r.end.checked_add(1) == Some(start)
            || end.checked_add(1) == Some(r.start);
        if Some(r.kind) == req.kind && touches {
            // Same type, overlapping or adjacent: merged into the new range.
            start = start.min(r.start);
            end = end.max(r.end);
            continue;
        }
        if !r.overlaps(req.start, req.end) {
            mine.push(*r);
            continue;
        }
        // Another type, or an unlock, over part of it: keep what lies outside.
        released = true;
        if r.start < req.start {
            mine.push(RecordLock {
                end: req.start - 1,
                ..*r
            });
        }
        if r.end > req.end {
            mine.push(RecordLock {
                start: req.end + 1,
                ..*r
            });
        }
    }
    if let Some(kind) = req.kind {
        mine.push(RecordLock {
            owner,
            pid: req.pid,
            kind,
            start,
            end,
        });
    }
    mine.sort_by_key(|r| r.start);
    records.retain(|r| r.owner != owner);
    let at = at.unwrap_or(records.len()).min(records.len());
    records.splice(at..at, mine);
    released
}

/// Who waits for whom, for deadlock detection: one edge per waiting thread.
#[derive(Default)]
struct WaitGraph {
    edges: Mutex<Vec<WaitEdge>>,
}

#[derive(Copy, Clone)]
struct WaitEdge {
    /// The waiting thread's wait (its `Waiter`'s address).
    id: usize,
    /// The lock context it waits on.
    inode: usize,
    waiter: LockOwner,
    blocker: LockOwner,
}

impl WaitGraph {
    /// Whether `owner` waiting for `blocker` would close a cycle.
    fn would_deadlock(edges: &[WaitEdge], owner: LockOwner, blocker: LockOwner) -> bool {
        let mut cur = blocker;
        for _ in 0..MAX_DEADLOCK_STEPS {
            if cur == owner {
                return true;
            }
            match edges.iter().find(|e| e.waiter == cur) {
                Some(e) => cur = e.blocker,
                None => return false,
            }
        }
        false
    }

    fn forget_blocker(&self, inode: usize, blocker: LockOwner) {
        let mut edges = self.edges.lock();
        if !edges.is_empty() {
            edges.retain(|e| !(e.inode == inode && e.blocker == blocker));
        }
    }

    fn forget(&self, id: usize) {
        self.edges.lock().retain(|e| e.id != id);
    }
}

/// Every [`InodeLocks`] of one VFS, by inode, and the wait graph for deadlock detection.
#[derive(Default)]
pub struct LockRegistry {
    inodes: Mutex<BTreeMap<LockKey, Weak<InodeLocks>>>,
    graph: Arc<WaitGraph>,
}

impl LockRegistry {
    /// An empty registry.
    pub fn new() -> LockRegistry {
        LockRegistry::default()
    }

    /// The lock context of inode `key`, made if none is alive.
    pub fn context(&self, key: LockKey) -> Arc<InodeLocks> {
        let mut inodes = self.inodes.lock();
        if let Some(ctx) = inodes.get(&key).and_then(Weak::upgrade) {
            return ctx;
        }
        // Forget contexts nobody holds any more (no open file locked through them).
        inodes.retain(|_, w| w.strong_count() > 0);
        let ctx = Arc::new(InodeLocks {
            key,
            state: Mutex::new(State::default()),
            queue: PollQueue::new(),
            graph: self.graph.clone(),
        });
        inodes.insert(key, Arc::downgrade(&ctx));
        ctx
    }

    /// The lock context of inode `key`, if one is alive.
    pub fn find(&self, key: LockKey) -> Option<Arc<InodeLocks>> {
        self.inodes.lock().get(&key).and_then(Weak::upgrade)
    }

    /// The lock context of `file`'s inode: the one the file cached, else the registry's
    /// (which the file then caches, so that its OFD and flock(2) locks go when it does).
    pub fn context_of(&self, file: &OpenFile) -> Result<Arc<InodeLocks>, Errno> {
        if let Some(ctx) = file.lock_context() {
            return Ok(ctx);
        }
        let ctx = self.context(key_of(file)?);
        Ok(file.cache_lock_context(ctx))
    }

    /// Sets or clears a record lock. Without `wait`, a conflict is `EAGAIN`. With it, the
    /// caller **blocks** until the lock is free (`EINTR` on a signal), unless a POSIX lock
    /// request would deadlock (`EDEADLK`).
    pub fn set_record(
        &self,
        ctx: &Arc<InodeLocks>,
        req: &RecordRequest,
        wait: Option<&dyn Blocker>,
    ) -> Result<(), Errno> {
        if ctx.try_set(req).is_ok() {
            return Ok(());
        }
        let Some(blocker) = wait else {
            return Err(Errno::EAGAIN);
        };
        // Only POSIX locks take part in deadlock detection, as on Linux.
        let detect = matches!(req.owner, LockOwner::Process(_));
        let waiter = Waiter::new(blocker);
        let _watch = waiter.watch(&ctx.queue, PollEvents::empty());
        let id = Arc::as_ptr(&waiter) as *const () as usize;
        let inode = Arc::as_ptr(ctx) as usize;
        let result = loop {
            waiter.reset();
            // The attempt and the new wait edge happen under the inode's lock, and the cycle
            // check under the graph's: two owners cannot both decide to wait for each other.
            let mut st = ctx.state.lock();
            let kind = req.kind.expect("an unlock never conflicts");
            match first_conflict(&st.records, req.owner, kind, req.start, req.end) {
                None => {
                    let released = apply(&mut st.records, req);
                    drop(st);
                    if released {
                        ctx.released(req.owner);
                    }
                    break Ok(());
                }
                Some(c) => {
                    let mut edges = self.graph.edges.lock();
                    edges.retain(|e| e.id != id);
                    if detect && WaitGraph::would_deadlock(&edges, req.owner, c.owner) {
                        break Err(Errno::EDEADLK);
                    }
                    if detect {
                        edges.push(WaitEdge {
                            id,
                            inode,
                            waiter: req.owner,
                            blocker: c.owner,
                        });
                    }
                }
            }
            drop(st);
            if let Err(e) = waiter.sleep(None) {
                break Err(e);
            }
        };
        self.graph.forget(id);
        result
    }

    /// flock(2): sets or drops the flock lock of open file `file`. Without `wait`, a conflict
    /// is `EAGAIN`; with it, the caller **blocks** until it can lock (`EINTR` on a signal).
    pub fn set_flock(
        &self,
        ctx: &Arc<InodeLocks>,
        file: usize,
        kind: Option<LockKind>,
        wait: Option<&dyn Blocker>,
    ) -> Result<(), Errno> {
        match ctx.try_flock(file, kind) {
            Err(Errno::EAGAIN) => {}
            r => return r,
        }
        let Some(blocker) = wait else {
            return Err(Errno::EAGAIN);
        };
        let waiter = Waiter::new(blocker);
        let _watch = waiter.watch(&ctx.queue, PollEvents::empty());
        loop {
            waiter.reset();
            match ctx.try_flock(file, kind) {
                Err(Errno::EAGAIN) => {}
                r => return r,
            }
            waiter.sleep(None)?;
        }
    }
}

/// The `(st_dev, st_ino)` that names `file`'s inode for locking.
pub fn key_of(file: &OpenFile) -> Result<LockKey, Errno> {
    let meta = file.stat()?;
    Ok((meta.dev, meta.ino))
}

/// The POSIX locks of one fd table (one process and the threads sharing its fds): its owner
/// identity, and the inodes it may hold locks on, so that closing any fd of such an inode, or
/// dropping the table, releases them (POSIX's rule, which Linux keeps).
pub struct ProcessLocks {
    /// Heap-allocated so that its address identifies the table while it lives.
    token: Box<u8>,
    held: Mutex<Vec<Arc<InodeLocks>>>,
}

impl Default for ProcessLocks {
    fn default() -> Self {
        ProcessLocks::new()
    }
}

impl ProcessLocks {
    /// An owner that holds nothing.
    pub fn new() -> ProcessLocks {
        ProcessLocks {
            token: Box::new(0),
            held: Mutex::new(Vec::new()),
        }
    }

    /// The owner identity of these locks.
    pub fn owner(&self) -> LockOwner {
        LockOwner::Process(&*self.token as *const u8 as usize)
    }

    /// Records that this owner may hold locks in `ctx` (after it set one).
    pub fn note(&self, ctx: &Arc<InodeLocks>) {
        let mut held = self.held.lock();
        if !held.iter().any(|c| Arc::ptr_eq(c, ctx)) {
            held.push(ctx.clone());
        }
    }

    /// An fd of `file` was closed by this owner: its locks on that inode go. Cheap when the
    /// owner holds no lock.
    pub fn closed(&self, file: &OpenFile) {
        if self.held.lock().is_empty() {
            return;
        }
        let Ok(key) = key_of(file) else { return };
        let found = {
            let mut held = self.held.lock();
            held.iter()
                .position(|c| c.key == key)
                .map(|i| held.swap_remove(i))
        };
        if let Some(ctx) = found {
            ctx.release_owner(self.owner());
        }
    }
}

impl Drop for ProcessLocks {
    fn drop(&mut self) {
        let owner = self.owner();
        for ctx in core::mem::take(self.held.get_mut()) {
            ctx.release_owner(owner);
        }
    }
}
