use super::*;

const K: FutexKey = FutexKey {
    space: 1,
    offset: 0x1000,
};

#[test]
fn lock_step_follows_the_word() {
    assert_eq!(lock_step(0, 7, false), LockStep::Take(7));
    assert_eq!(lock_step(0, 7, true), LockStep::Take(7 | WAITERS));
    assert_eq!(
        lock_step(OWNER_DIED | WAITERS, 7, false),
        LockStep::Take(OWNER_DIED | 7),
        "a dead owner's word is taken, keeping OWNER_DIED"
    );
    assert_eq!(lock_step(7, 7, false), LockStep::Deadlock);
    assert_eq!(
        lock_step(7 | WAITERS | OWNER_DIED, 7, false),
        LockStep::Deadlock
    );
    assert_eq!(
        lock_step(9, 7, false),
        LockStep::Wait {
            new: 9 | WAITERS,
            owner: 9
        }
    );
    assert_eq!(handoff_word(12), 12 | WAITERS);
    assert_eq!(died_owner_word(12), 12 | WAITERS | OWNER_DIED);
}

#[test]
fn unlock_hands_off_in_fifo_order() {
    let mut t = PiTable::new();
    assert!(t.is_empty());
    t.enqueue(K, 'o', 'a');
    t.enqueue(K, 'x', 'b');
    assert_eq!(t.owner(K), Some(&'o'), "the first waiter names the owner");
    assert_eq!(t.next_owner(K), Some(&'a'));
    assert_eq!(t.hand_off(K), Some('a'));
    assert_eq!(t.owner(K), Some(&'a'));
    assert_eq!(t.hand_off(K), Some('b'));
    assert!(!t.contains(K), "no waiter left: no state");
    assert_eq!(t.hand_off(K), None);
}

#[test]
fn a_cancelled_waiter_leaves_and_the_last_takes_the_state_along() {
    let mut t = PiTable::new();
    t.enqueue(K, 'o', 'a');
    t.enqueue(K, 'o', 'b');
    assert!(t.cancel(K, &'a'));
    assert!(!t.cancel(K, &'a'));
    assert!(t.is_waiting(K, &'b'));
    assert_eq!(t.hand_off(K), Some('b'));
    assert!(
        !t.cancel(K, &'b'),
        "b was made the owner before it could cancel"
    );
    assert!(t.is_empty());
}

#[test]
fn an_exiting_owner_passes_each_lock_to_its_oldest_waiter() {
    let k2 = FutexKey {
        space: 1,
        offset: 0x2000,
    };
    let mut t = PiTable::new();
    t.enqueue(K, 'o', 'a');
    t.enqueue(K, 'o', 'b');
    t.enqueue(k2, 'o', 'c');
    t.enqueue(FutexKey::from(5), 'p', 'd');
    let mut woken = t.owner_exited(&'o');
    woken.sort();
    assert_eq!(woken, ['a', 'c']);
    assert_eq!(t.owner(K), Some(&'a'));
    assert!(t.owner_fixing_word(K));
    assert!(
        !t.take_word_fix(K, &'b'),
        "only the new owner fixes the word"
    );
    assert!(t.take_word_fix(K, &'a'));
    assert!(!t.take_word_fix(K, &'a'), "once");
    assert!(t.is_waiting(K, &'b'));
    assert!(t.take_word_fix(k2, &'c'));
    assert!(!t.contains(k2), "nobody waits for k2 any more");
    assert_eq!(t.owner(FutexKey::from(5)), Some(&'p'), "others' locks stay");
}

/// Simulated threads lock and unlock one PI futex the way glibc and the kernel do (user
/// space compare-and-exchange first, the kernel's [`lock_step`] and [`PiTable`] when that
/// fails), time out of their waits and die holding the lock, in random order, each kernel
/// operation atomic (oxv's kernel lock). After every step: exactly the thread the word names
/// holds the lock, every blocked thread is queued, `WAITERS` is set while any is.
#[test]
fn random_interleavings_keep_one_owner_and_lose_no_waiter() {
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum St {
        Idle,
        Holding,
        Blocked,
    }
    for seed in 1..200u64 {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let n = 2 + (seed % 6) as usize;
        // Thread i has TID tids[i] (a new one after it dies).
        let mut tids: Vec<i32> = (0..n as i32).map(|i| 100 + i).collect();
        let mut st = vec![St::Idle; n];
        let mut word = 0u32;
        let mut table: PiTable<i32> = PiTable::new();
        let mut fresh = 1000;
        for step in 0..3000 {
            let i = next(n as u64) as usize;
            let me = tids[i];
            match (st[i], next(3)) {
                (St::Idle, _) => {
                    if word == 0 {
                        word = me as u32; // user-space fast path
                        st[i] = St::Holding;
                    } else if table.contains(K) {
                        table.enqueue(K, me, me);
                        st[i] = St::Blocked;
                    } else {
                        match lock_step(word, me, false) {
                            LockStep::Take(new) => {
                                word = new;
                                st[i] = St::Holding;
                            }
                            LockStep::Wait { new, owner } => {
                                word = new;
                                table.enqueue(K, owner, me);
                                st[i] = St::Blocked;
                            }
                            LockStep::Deadlock => panic!("idle thread owns the word"),
                        }
                    }
                }
                (St::Holding, 0) => {
                    // Dies holding it: the oldest waiter gets it and fixes the word.
                    for w in table.owner_exited(&me) {
                        let j = tids.iter().position(|&t| t == w).expect("a live waiter");
                        assert!(table.take_word_fix(K, &w));
                        word = (word & OWNER_DIED) | died_owner_word(w);
                        st[j] = St::Holding;
                    }
                    if word & TID_MASK == me as u32 {
                        word = (word & WAITERS) | OWNER_DIED; // its robust list
                    }
                    fresh += 1;
                    tids[i] = fresh;
                    st[i] = St::Idle;
                }
                (St::Holding, _) => {
                    if word == me as u32 {
                        word = 0; // user-space fast path
                    } else if let Some(&w) = table.next_owner(K) {
                        word = handoff_word(w);
                        assert_eq!(table.hand_off(K), Some(w));
                        let j = tids.iter().position(|&t| t == w).expect("a live waiter");
                        st[j] = St::Holding;
                    } else {
                        word = 0;
                    }
                    st[i] = St::Idle;
                }
                (St::Blocked, 0) => {
                    assert!(table.cancel(K, &me), "seed {seed} step {step}");
                    st[i] = St::Idle;
                }
                (St::Blocked, _) => {}
            }
            let holders: Vec<usize> = (0..n).filter(|&j| st[j] == St::Holding).collect();
            match holders.as_slice() {
                [] => assert_eq!(word & TID_MASK, 0, "seed {seed} step {step}"),
                [h] => assert_eq!(word & TID_MASK, tids[*h] as u32, "seed {seed} step {step}"),
                _ => panic!("two holders: seed {seed} step {step}"),
            }
            for j in 0..n {
                assert_eq!(
                    st[j] == St::Blocked,
                    table.is_waiting(K, &tids[j]),
                    "seed {seed} step {step}"
                );
                if st[j] == St::Blocked {
                    assert_ne!(word & WAITERS, 0, "seed {seed} step {step}");
                }
            }
        }
    }
}
