//! Record locks state by state: the conflict matrix, splitting and merging of one owner's
//! ranges, OFD against POSIX owners, flock(2) conversions, releases, waiting and deadlock
//! detection with a fake blocker.

use super::*;
use crate::fake::FakeBlocker;
use LockKind::{Read, Write};

const A: LockOwner = LockOwner::Process(0x1000);
const B: LockOwner = LockOwner::Process(0x2000);
const C: LockOwner = LockOwner::Process(0x3000);
const OFD: LockOwner = LockOwner::OpenFile(0x4000);

fn ctx() -> (Arc<LockRegistry>, Arc<InodeLocks>) {
    let reg = Arc::new(LockRegistry::new());
    let ctx = reg.context((DeviceId::new(0, 1), 7));
    (reg, ctx)
}

fn req(owner: LockOwner, kind: Option<LockKind>, start: u64, end: u64) -> RecordRequest {
    RecordRequest {
        owner,
        pid: 42,
        kind,
        start,
        end,
    }
}

#[track_caller]
fn set(ctx: &InodeLocks, owner: LockOwner, kind: Option<LockKind>, start: u64, end: u64) {
    ctx.try_set(&req(owner, kind, start, end))
        .expect("the lock is free");
}

/// `(owner, kind, start, end)` of every record lock, in list order.
fn held(ctx: &InodeLocks) -> Vec<(LockOwner, LockKind, u64, u64)> {
    ctx.records()
        .iter()
        .map(|r| (r.owner, r.kind, r.start, r.end))
        .collect()
}

// ---- the conflict matrix ----

#[test]
fn reads_share_writes_exclude() {
    let (_r, c) = ctx();
    set(&c, A, Some(Read), 0, 9);
    assert!(c.try_set(&req(B, Some(Read), 5, 15)).is_ok(), "read/read");
    let conflict = c.try_set(&req(C, Some(Write), 9, 9)).unwrap_err();
    assert_eq!(
        (conflict.owner, conflict.kind),
        (A, Read),
        "write/read: the first in list order"
    );
    set(&c, C, Some(Write), 16, 20);
    assert_eq!(
        c.try_set(&req(A, Some(Read), 20, 30)).unwrap_err().owner,
        C,
        "read/write"
    );
    assert!(
        c.try_set(&req(A, Some(Read), 21, 30)).is_ok(),
        "no overlap, no conflict"
    );
    assert_eq!(c.test(B, Write, 0, OFFSET_MAX).map(|l| l.owner), Some(A));
    assert_eq!(
        c.test(A, Read, 0, 15),
        None,
        "own locks and shared reads do not conflict"
    );
}

#[test]
fn an_owner_never_conflicts_with_itself() {
    let (_r, c) = ctx();
    set(&c, A, Some(Write), 0, 99);
    set(&c, A, Some(Write), 50, 150);
    set(&c, A, Some(Read), 10, 20);
    assert_eq!(c.test(A, Write, 0, OFFSET_MAX), None);
}

// ---- one owner's ranges ----

#[test]
fn unlocking_the_middle_splits() {
    let (_r, c) = ctx();
    set(&c, A, Some(Write), 0, 99);
    set(&c, A, None, 40, 59);
    assert_eq!(held(&c), [(A, Write, 0, 39), (A, Write, 60, 99)]);
    set(&c, A, None, 0, OFFSET_MAX);
    assert_eq!(held(&c), []);
}

#[test]
fn another_type_in_the_middle_splits_in_three() {
    let (_r, c) = ctx();
    set(&c, A, Some(Write), 0, 99);
    set(&c, A, Some(Read), 40, 59);
    assert_eq!(
        held(&c),
        [(A, Write, 0, 39), (A, Read, 40, 59), (A, Write, 60, 99)]
    );
    // B may now read the middle but not the ends.
    assert!(c.test(B, Read, 40, 59).is_none());
    assert!(c.test(B, Read, 39, 39).is_some());
}

#[test]
fn same_type_overlapping_or_adjacent_merges() {
    let (_r, c) = ctx();
    set(&c, A, Some(Read), 0, 9);
    set(&c, A, Some(Read), 20, 29);
    set(&c, A, Some(Read), 10, 19);
    assert_eq!(held(&c), [(A, Read, 0, 29)]);
    set(&c, A, Some(Read), 25, OFFSET_MAX);
    assert_eq!(held(&c), [(A, Read, 0, OFFSET_MAX)]);
}

#[test]
fn a_new_type_swallows_what_it_covers_and_merges_with_its_kind() {
    let (_r, c) = ctx();
    set(&c, A, Some(Read), 0, 9);
    set(&c, A, Some(Write), 10, 19);
    set(&c, A, Some(Read), 20, 29);
    set(&c, A, Some(Read), 10, 19);
    assert_eq!(held(&c), [(A, Read, 0, 29)]);
    set(&c, A, Some(Write), 5, 24);
    assert_eq!(
        held(&c),
        [(A, Read, 0, 4), (A, Write, 5, 24), (A, Read, 25, 29)]
    );
}

#[test]
fn unlocking_nothing_is_fine() {
    let (_r, c) = ctx();
    set(&c, A, None, 0, OFFSET_MAX);
    set(&c, B, Some(Read), 5, 5);
    set(&c, A, None, 0, OFFSET_MAX);
    assert_eq!(held(&c), [(B, Read, 5, 5)]);
}

#[test]
fn owners_keep_their_place_in_the_list() {
    let (_r, c) = ctx();
    set(&c, A, Some(Read), 50, 59);
    set(&c, B, Some(Read), 0, 9);
    set(&c, A, Some(Read), 0, 9);
    assert_eq!(
        held(&c),
        [(A, Read, 0, 9), (A, Read, 50, 59), (B, Read, 0, 9)]
    );
    assert_eq!(c.test(C, Write, 0, 100).map(|l| l.owner), Some(A));
}

// ---- OFD and POSIX owners ----

#[test]
fn ofd_and_posix_locks_conflict_both_ways() {
    let (_r, c) = ctx();
    set(&c, OFD, Some(Write), 0, 0);
    assert_eq!(c.try_set(&req(A, Some(Read), 0, 0)).unwrap_err().owner, OFD);
    set(&c, A, Some(Read), 1, 1);
    assert_eq!(
        c.try_set(&req(OFD, Some(Write), 1, 1)).unwrap_err().owner,
        A
    );
}

#[test]
fn releasing_an_owner_or_a_file() {
    let (_r, c) = ctx();
    set(&c, A, Some(Write), 0, 9);
    set(&c, OFD, Some(Write), 10, 19);
    c.try_flock(0x4000, Some(Write)).unwrap();
    c.release_owner(A);
    assert_eq!(held(&c), [(OFD, Write, 10, 19)]);
    c.release_file(0x4000);
    assert_eq!(held(&c), []);
    assert_eq!(c.flocks(), []);
}

// ---- flock(2) ----

#[test]
fn flock_shares_and_excludes_per_open_file() {
    let (_r, c) = ctx();
    assert_eq!(c.try_flock(1, Some(Read)), Ok(()));
    assert_eq!(c.try_flock(2, Some(Read)), Ok(()));
    assert_eq!(c.try_flock(3, Some(Write)), Err(Errno::EAGAIN));
    assert_eq!(c.try_flock(1, Some(Read)), Ok(()), "the same lock again");
    // Converting drops the old lock first; it stays dropped when the new one conflicts.
    assert_eq!(c.try_flock(1, Some(Write)), Err(Errno::EAGAIN));
    assert_eq!(c.flocks(), [(LockOwner::OpenFile(2), Read)]);
    assert_eq!(
        c.try_flock(2, Some(Write)),
        Ok(()),
        "alone: the conversion works"
    );
    assert_eq!(c.try_flock(2, None), Ok(()));
    assert_eq!(c.try_flock(2, None), Ok(()), "unlocking nothing");
    assert_eq!(c.flocks(), []);
}

#[test]
fn flock_and_record_locks_are_independent() {
    let (_r, c) = ctx();
    c.try_flock(1, Some(Write)).unwrap();
    set(&c, A, Some(Write), 0, OFFSET_MAX);
    assert_eq!(c.try_flock(2, Some(Read)), Err(Errno::EAGAIN));
}

// ---- the registry ----

#[test]
fn one_context_per_inode_while_it_is_held() {
    let reg = LockRegistry::new();
    let key = (DeviceId::new(0, 9), 3);
    let a = reg.context(key);
    assert!(Arc::ptr_eq(&a, &reg.context(key)));
    assert!(Arc::ptr_eq(&a, &reg.find(key).unwrap()));
    assert!(!Arc::ptr_eq(&a, &reg.context((DeviceId::new(0, 9), 4))));
    drop(a);
    assert!(reg.find(key).is_none(), "a context nobody holds is gone");
}

#[test]
fn process_locks_go_when_the_owner_goes() {
    let (_r, c) = ctx();
    let owner = {
        let p = ProcessLocks::new();
        let me = p.owner();
        c.try_set(&req(me, Some(Write), 0, 0)).unwrap();
        p.note(&c);
        assert!(c.holds_records(me));
        me
    };
    assert!(!c.holds_records(owner));
}

// ---- waiting ----

#[test]
fn without_a_blocker_a_conflict_is_eagain() {
    let (reg, c) = ctx();
    set(&c, A, Some(Write), 0, 0);
    assert_eq!(
        reg.set_record(&c, &req(B, Some(Read), 0, 0), None),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        reg.set_flock(&c, 1, Some(Write), None)
            .and(reg.set_flock(&c, 2, Some(Write), None)),
        Err(Errno::EAGAIN)
    );
}

#[test]
fn a_waiter_gets_the_lock_once_it_is_released() {
    let (reg, c) = ctx();
    set(&c, A, Some(Write), 0, 9);
    let c2 = c.clone();
    let blocker = FakeBlocker::on_wait(move |n| {
        if n == 1 {
            c2.release_owner(A);
        }
    });
    assert_eq!(
        reg.set_record(&c, &req(B, Some(Write), 5, 5), Some(&blocker)),
        Ok(())
    );
    assert_eq!(blocker.waits(), 1);
    assert_eq!(held(&c), [(B, Write, 5, 5)]);
    assert!(reg.graph.edges.lock().is_empty(), "the wait edge went");
}

#[test]
fn a_signal_ends_the_wait() {
    let (reg, c) = ctx();
    set(&c, A, Some(Write), 0, 9);
    let blocker = FakeBlocker::new();
    assert_eq!(
        reg.set_record(&c, &req(B, Some(Read), 0, 0), Some(&blocker)),
        Err(Errno::EINTR)
    );
    assert_eq!(
        reg.set_flock(&c, 1, Some(Write), Some(&blocker))
            .and(reg.set_flock(&c, 2, Some(Read), Some(&blocker))),
        Err(Errno::EINTR)
    );
    assert_eq!(held(&c), [(A, Write, 0, 9)]);
    assert!(reg.graph.edges.lock().is_empty());
}

#[test]
fn a_flock_waiter_gets_in_after_an_unlock() {
    let (reg, c) = ctx();
    c.try_flock(1, Some(Write)).unwrap();
    let c2 = c.clone();
    let blocker = FakeBlocker::on_wait(move |_| {
        c2.try_flock(1, None).unwrap();
    });
    assert_eq!(reg.set_flock(&c, 2, Some(Read), Some(&blocker)), Ok(()));
    assert_eq!(c.flocks(), [(LockOwner::OpenFile(2), Read)]);
}

#[test]
fn two_processes_waiting_for_each_other_deadlock() {
    // A holds byte 0 and B byte 1. B waits for byte 0; while it waits, A asks for byte 1.
    let (reg, c) = ctx();
    set(&c, A, Some(Write), 0, 0);
    set(&c, B, Some(Write), 1, 1);
    let (reg2, c2) = (reg.clone(), c.clone());
    let seen = Arc::new(Mutex::new(None));
    let seen2 = seen.clone();
    let blocker = FakeBlocker::on_wait(move |n| {
        if n == 1 {
            let inner = FakeBlocker::new();
            *seen2.lock() = Some(reg2.set_record(&c2, &req(A, Some(Write), 1, 1), Some(&inner)));
            // A gives up byte 0, so B gets it.
            c2.release_owner(A);
        }
    });
    assert_eq!(
        reg.set_record(&c, &req(B, Some(Write), 0, 0), Some(&blocker)),
        Ok(())
    );
    assert_eq!(*seen.lock(), Some(Err(Errno::EDEADLK)));
    assert_eq!(held(&c), [(B, Write, 0, 1)]);
}

#[test]
fn deadlock_chains_cross_inodes_and_owners() {
    // A waits for B (inode 1), B waits for C (inode 2): C asking for A's lock deadlocks.
    let reg = LockRegistry::new();
    let i1 = reg.context((DeviceId::new(0, 1), 1));
    let i2 = reg.context((DeviceId::new(0, 1), 2));
    let i3 = reg.context((DeviceId::new(0, 1), 3));
    set(&i1, B, Some(Write), 0, 0);
    set(&i2, C, Some(Write), 0, 0);
    set(&i3, A, Some(Write), 0, 0);
    reg.graph.edges.lock().extend([
        WaitEdge {
            id: 1,
            inode: Arc::as_ptr(&i1) as usize,
            waiter: A,
            blocker: B,
        },
        WaitEdge {
            id: 2,
            inode: Arc::as_ptr(&i2) as usize,
            waiter: B,
            blocker: C,
        },
    ]);
    let blocker = FakeBlocker::new();
    assert_eq!(
        reg.set_record(&i3, &req(C, Some(Read), 0, 0), Some(&blocker)),
        Err(Errno::EDEADLK)
    );
    assert_eq!(blocker.waits(), 0, "no wait at all");
    // An OFD owner never deadlocks by this rule: it waits (and the fake signal ends it).
    assert_eq!(
        reg.set_record(&i3, &req(OFD, Some(Read), 0, 0), Some(&blocker)),
        Err(Errno::EINTR)
    );
    // When B releases its lock on inode 1, A's edge towards B goes.
    i1.release_owner(B);
    assert_eq!(
        reg.set_record(&i3, &req(C, Some(Read), 0, 0), Some(&blocker)),
        Err(Errno::EINTR),
        "no cycle any more"
    );
}
