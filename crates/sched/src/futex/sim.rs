//! Simulated threads against the futex table, in random interleavings.
//!
//! Many simulated threads run futex-style protocols over a handful of words: a running
//! thread either waits (FUTEX_WAIT: compare the word, then enqueue, atomically with respect
//! to wakers as the kernel's lock makes it), sets a word and wakes some waiters (plain or
//! by bitset), requeues (FUTEX_CMP_REQUEUE), or a blocked thread's wait ends early (timeout
//! or signal: `remove`). A reference model (one list of waiters in arrival order, with their
//! key and bitset) predicts every answer; after every step the table and the model must
//! agree, no thread is ever woken twice or lost, and a thread whose wait ended early was
//! still queued exactly when the model says so.

use super::{FutexKey, FutexTable, MATCH_ANY};
use alloc::vec::Vec;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Running,
    Blocked,
}

/// The model: waiters in global arrival order; a key's queue is the subsequence with that
/// key (requeue appends the moved waiters behind the target's, so it re-sequences them).
#[derive(Default)]
struct Model {
    waiters: Vec<(FutexKey, usize, u32)>,
}

impl Model {
    fn wake(&mut self, key: FutexKey, n: usize, bitset: u32) -> Vec<usize> {
        let mut woken = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() && woken.len() < n {
            let (k, who, bits) = self.waiters[i];
            if k == key && bits & bitset != 0 {
                woken.push(who);
                self.waiters.remove(i);
            } else {
                i += 1;
            }
        }
        woken
    }

    fn requeue(
        &mut self,
        from: FutexKey,
        to: FutexKey,
        nw: usize,
        nr: usize,
    ) -> (Vec<usize>, usize) {
        let woken = self.wake(from, nw, MATCH_ANY);
        if from == to {
            return (woken, 0);
        }
        let mut moved = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() && moved.len() < nr {
            if self.waiters[i].0 == from {
                let mut w = self.waiters.remove(i);
                w.0 = to;
                moved.push(w);
            } else {
                i += 1;
            }
        }
        let n = moved.len();
        self.waiters.extend(moved);
        (woken, n)
    }

    fn remove(&mut self, who: usize) -> bool {
        match self.waiters.iter().position(|w| w.1 == who) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    fn count(&self, key: FutexKey) -> usize {
        self.waiters.iter().filter(|w| w.0 == key).count()
    }
}

fn run(seed: u64, threads: usize, words: usize, steps: usize) {
    let mut rng = XorShift(seed | 1);
    let mut table: FutexTable<usize> = FutexTable::new();
    let mut model = Model::default();
    let mut state = alloc::vec![State::Running; threads];
    let mut memory = alloc::vec![0u32; words];
    let mut woken_total = 0usize;
    let mut waits_total = 0usize;
    let key = |w: usize| FutexKey {
        space: (w % 2) as u64,
        offset: 0x1000 + 4 * w as u64,
    };
    for step in 0..steps {
        let t = rng.below(threads as u64) as usize;
        let w = rng.below(words as u64) as usize;
        let ctx = || alloc::format!("seed {seed} step {step} thread {t} word {w}");
        if state[t] == State::Blocked {
            // Its wait ends early, or it stays blocked for now.
            if rng.below(4) == 0 {
                let expected = model.remove(t);
                assert_eq!(table.remove(&t), expected, "{}", ctx());
                assert!(expected, "a blocked thread is queued: {}", ctx());
                state[t] = State::Running;
            }
            continue;
        }
        match rng.below(5) {
            // FUTEX_WAIT(_BITSET): blocks only if the word still holds what it read.
            0 | 1 => {
                let seen = if rng.below(3) == 0 {
                    memory[w].wrapping_add(1)
                } else {
                    memory[w]
                };
                if memory[w] == seen {
                    let bitset = if rng.below(3) == 0 {
                        1 << rng.below(4)
                    } else {
                        MATCH_ANY
                    };
                    table.enqueue(key(w), t, bitset);
                    model.waiters.push((key(w), t, bitset));
                    state[t] = State::Blocked;
                    waits_total += 1;
                }
            }
            // Store, then FUTEX_WAKE(_BITSET).
            2 | 3 => {
                memory[w] = memory[w].wrapping_add(1);
                let n = rng.below(4) as usize;
                let bitset = if rng.below(3) == 0 {
                    1 << rng.below(4)
                } else {
                    MATCH_ANY
                };
                let got = table.wake(key(w), n, bitset);
                assert_eq!(got, model.wake(key(w), n, bitset), "{}", ctx());
                for who in got {
                    assert_eq!(state[who], State::Blocked, "woken twice: {}", ctx());
                    state[who] = State::Running;
                    woken_total += 1;
                }
            }
            // FUTEX_CMP_REQUEUE from w to another word.
            _ => {
                let to = rng.below(words as u64) as usize;
                let (nw, nr) = (rng.below(2) as usize, rng.below(3) as usize);
                memory[w] = memory[w].wrapping_add(1);
                let got = table.requeue(key(w), key(to), nw, nr);
                assert_eq!(got, model.requeue(key(w), key(to), nw, nr), "{}", ctx());
                for who in got.0 {
                    assert_eq!(state[who], State::Blocked, "woken twice: {}", ctx());
                    state[who] = State::Running;
                    woken_total += 1;
                }
            }
        }
        for v in 0..words {
            assert_eq!(table.waiters(key(v)), model.count(key(v)), "{}", ctx());
        }
        let blocked = state.iter().filter(|s| **s == State::Blocked).count();
        assert_eq!(blocked, model.waiters.len(), "no thread lost: {}", ctx());
    }
    // Drain: everyone still blocked is woken exactly once, in order.
    for v in 0..words {
        let got = table.wake(key(v), usize::MAX, MATCH_ANY);
        assert_eq!(got, model.wake(key(v), usize::MAX, MATCH_ANY));
        for who in got {
            assert_eq!(state[who], State::Blocked);
            state[who] = State::Running;
            woken_total += 1;
        }
    }
    assert!(state.iter().all(|s| *s == State::Running));
    assert!(woken_total <= waits_total);
}

#[test]
fn random_interleavings_agree_with_the_model() {
    for seed in 0..300 {
        run(
            seed * 0x9e37_79b9 + 7,
            2 + (seed as usize % 30),
            1 + (seed as usize % 5),
            2000,
        );
    }
}
