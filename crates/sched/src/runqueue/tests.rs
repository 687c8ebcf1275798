use super::*;
use alloc::vec;

/// A simulated thread: its id, affinity mask and last CPU.
#[derive(Clone, Copy, Debug)]
struct Sim {
    id: usize,
    mask: u64,
    last: Option<usize>,
}

impl PartialEq for Sim {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Schedulable for Sim {
    fn affinity(&self) -> u64 {
        self.mask
    }
    fn last_cpu(&self) -> Option<usize> {
        self.last
    }
}

fn sim(id: usize, mask: u64, last: Option<usize>) -> Sim {
    Sim { id, mask, last }
}

fn queues(cpus: usize) -> RunQueues<Sim> {
    let mut rq = RunQueues::new();
    rq.add_cpu(cpus - 1);
    rq
}

fn ids(rq: &RunQueues<Sim>, cpu: usize) -> Vec<usize> {
    rq.queues[cpu].threads.iter().map(|t| t.id).collect()
}

#[test]
fn one_cpu_runs_in_queue_order() {
    let mut rq = queues(1);
    for id in 0..5 {
        assert_eq!(rq.enqueue(sim(id, u64::MAX, None), 0, 0), 0);
    }
    let order: Vec<usize> = core::iter::from_fn(|| rq.pick(0)).map(|t| t.id).collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
    assert!(rq.is_empty());
}

#[test]
fn woken_thread_returns_to_its_idle_last_cpu() {
    let mut rq = queues(4);
    // CPUs 1 and 3 idle; the thread last ran on 3.
    assert_eq!(rq.enqueue(sim(0, u64::MAX, Some(3)), 0, 0b1010), 3);
}

#[test]
fn busy_last_cpu_loses_to_an_idle_one() {
    let mut rq = queues(4);
    assert_eq!(rq.enqueue(sim(0, u64::MAX, Some(2)), 0, 0b1000), 3);
    // An idle CPU that already has a thread queued (kicked, not yet running it) is not free.
    assert_eq!(rq.enqueue(sim(1, u64::MAX, Some(2)), 0, 0b1000), 0);
}

#[test]
fn with_no_cpu_idle_the_least_loaded_wins_and_the_waker_breaks_ties() {
    let mut rq = queues(3);
    rq.push(0, sim(9, u64::MAX, None));
    // Loads: 0 -> 2, 1 -> 1, 2 -> 1; waker 2 wins the tie with 1.
    assert_eq!(rq.enqueue(sim(0, u64::MAX, Some(1)), 2, 0), 2);
    // Loads: 0 -> 2, 1 -> 1, 2 -> 2; only 1 is least loaded.
    assert_eq!(rq.enqueue(sim(1, u64::MAX, None), 2, 0), 1);
    // All at 2; waker 0 wins over last CPU 1.
    assert_eq!(rq.enqueue(sim(2, u64::MAX, Some(1)), 0, 0), 0);
}

#[test]
fn placement_respects_affinity() {
    let mut rq = queues(4);
    // Last CPU 0 and idle CPU 1 are not allowed; 2 and 3 are busy, 3 is less loaded.
    rq.push(2, sim(9, u64::MAX, None));
    assert_eq!(rq.enqueue(sim(0, 0b1100, Some(0)), 0, 0b0011), 3);
}

#[test]
fn a_mask_naming_no_cpu_in_use_means_any() {
    let mut rq = queues(2);
    let t = sim(0, 1 << 40, None);
    assert!(rq.allowed(&t, 0) && rq.allowed(&t, 1));
    assert!(!rq.allowed(&t, 2), "CPU 2 does not take part");
    assert_eq!(rq.enqueue(t, 0, 0b10), 1);
    assert_eq!(rq.pick(0).map(|t| t.id), Some(0), "stolen by CPU 0");
}

#[test]
fn an_empty_cpu_steals_the_oldest_thread_it_may_run_from_the_longest_queue() {
    let mut rq = queues(3);
    rq.push(0, sim(0, 0b001, None)); // pinned to CPU 0: never stolen
    rq.push(0, sim(1, u64::MAX, None));
    rq.push(0, sim(2, u64::MAX, None));
    rq.push(1, sim(3, u64::MAX, None));
    assert!(rq.has_work_for(2));
    assert!(!rq.has_local_work(2));
    assert_eq!(rq.pick(2).map(|t| t.id), Some(1));
    // Queues 0 and 1 now hold 2 and 1: CPU 2 takes from 0 again.
    assert_eq!(rq.pick(2).map(|t| t.id), Some(2));
    assert_eq!(rq.pick(2).map(|t| t.id), Some(3));
    assert_eq!(rq.pick(2), None);
    assert!(!rq.has_work_for(2));
    assert_eq!(ids(&rq, 0), vec![0]);
    assert_eq!(rq.pick(0).map(|t| t.id), Some(0));
}

#[test]
fn local_work_comes_before_stealing() {
    let mut rq = queues(2);
    rq.push(0, sim(0, u64::MAX, None));
    rq.push(0, sim(1, u64::MAX, None));
    rq.push(1, sim(2, u64::MAX, None));
    assert_eq!(rq.pick(1).map(|t| t.id), Some(2));
}

#[test]
fn pick_skips_a_local_thread_no_longer_allowed_there() {
    let mut rq = queues(2);
    rq.push(0, sim(0, 0b10, None));
    rq.push(0, sim(1, 0b01, None));
    assert_eq!(rq.pick(0).map(|t| t.id), Some(1));
    assert_eq!(rq.pick(0), None);
    assert_eq!(rq.pick(1).map(|t| t.id), Some(0));
}

#[test]
fn remove_takes_a_thread_from_any_queue() {
    let mut rq = queues(2);
    rq.push(0, sim(0, u64::MAX, None));
    rq.push(1, sim(1, u64::MAX, None));
    rq.push(1, sim(2, u64::MAX, None));
    assert!(rq.remove(&sim(1, 0, None)));
    assert!(!rq.remove(&sim(1, 0, None)));
    assert_eq!(ids(&rq, 1), vec![2]);
    assert_eq!(rq.total(), 2);
    assert_eq!((rq.len(0), rq.len(1), rq.len(7)), (1, 1, 0));
}

#[test]
fn wakeup_preemption_waits_for_the_granularity_then_preempts() {
    let g = WAKEUP_GRANULARITY_NS;
    let slice = 10 * g;
    // Ran less than the granularity: the slice ends when it has run that much.
    assert_eq!(
        wakeup_preempt(5 * g, 5 * g + slice, 5 * g),
        WakeupPreempt::At(6 * g)
    );
    assert_eq!(
        wakeup_preempt(5 * g, 5 * g + slice, 6 * g - 1),
        WakeupPreempt::At(6 * g)
    );
    // Ran the granularity or more: now.
    assert_eq!(
        wakeup_preempt(5 * g, 5 * g + slice, 6 * g),
        WakeupPreempt::Now
    );
    assert_eq!(
        wakeup_preempt(5 * g, 5 * g + slice, 9 * g),
        WakeupPreempt::Now
    );
    // A slice already cut shorter than the granularity stays as it is.
    assert_eq!(wakeup_preempt(0, g / 2, g / 4), WakeupPreempt::At(g / 2));
    assert_eq!(wakeup_preempt(0, g / 2, g / 2), WakeupPreempt::Now);
}

/// xorshift64*: deterministic, dependency-free randomness for the simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn mask(&mut self, cpus: usize) -> u64 {
        match self.below(4) {
            0 => u64::MAX,
            1 => 1 << self.below(cpus),
            2 => 1 << 50, // names no CPU in use: any
            _ => self.next() & ((1 << cpus) - 1) | 1 << self.below(cpus),
        }
    }
}

/// Where a simulated thread is.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Where {
    Blocked,
    Queued(usize),
    Running(usize),
}

/// The time slice the simulation gives a thread that gets a CPU (the kernel's is 10 ms).
const SLICE_NS: u64 = 10_000_000;

/// Many threads on several CPUs, blocking, waking, being preempted and changing affinity in
/// a random order, checked against a model of the queues after every step. Time passes
/// too: a thread queued on a busy CPU shortens that CPU's slice as [`wakeup_preempt`] says,
/// and a CPU whose slice is over switches when its queue holds a thread (the timer).
struct World {
    rq: RunQueues<Sim>,
    threads: Vec<Sim>,
    at: Vec<Where>,
    running: Vec<Option<usize>>,
    /// The ids in each queue, oldest first, as the model sees them.
    model: Vec<Vec<usize>>,
    /// The simulated clock, ns.
    now: u64,
    /// Each CPU's slice: (start, end).
    slice: Vec<(u64, u64)>,
    /// Whether a thread joined CPU n's queue while it ran its current thread.
    woken_onto: Vec<bool>,
}

impl World {
    fn new(cpus: usize, n: usize, rng: &mut Rng) -> World {
        let threads = (0..n).map(|id| sim(id, rng.mask(cpus), None)).collect();
        World {
            rq: queues(cpus),
            threads,
            at: vec![Where::Blocked; n],
            running: vec![None; cpus],
            model: vec![Vec::new(); cpus],
            now: 0,
            slice: vec![(0, 0); cpus],
            woken_onto: vec![false; cpus],
        }
    }

    fn cpus(&self) -> usize {
        self.running.len()
    }

    fn idle_mask(&self) -> u64 {
        (0..self.cpus())
            .filter(|&c| self.running[c].is_none())
            .fold(0, |m, c| m | 1 << c)
    }

    fn enqueue(&mut self, id: usize, waker: usize) {
        let target = self.rq.enqueue(self.threads[id], waker, self.idle_mask());
        assert!(
            self.rq.allowed(&self.threads[id], target),
            "thread {id} placed on CPU {target} outside its mask {:#x}",
            self.threads[id].mask
        );
        self.model[target].push(id);
        self.at[id] = Where::Queued(target);
        if self.running[target].is_some() {
            self.wakeup_preempt(target);
        }
    }

    /// A thread joined busy CPU `cpu`'s queue: its running thread gives way now or later, as
    /// [`wakeup_preempt`] decides, which must be within the granularity of its slice start
    /// and never before the thread ran that long.
    fn wakeup_preempt(&mut self, cpu: usize) {
        self.woken_onto[cpu] = true;
        let (start, end) = self.slice[cpu];
        match wakeup_preempt(start, end, self.now) {
            WakeupPreempt::Now => {
                assert!(
                    self.now >= (start + WAKEUP_GRANULARITY_NS).min(end),
                    "preempted a thread that ran {} ns of its slice",
                    self.now - start
                );
                self.preempt(cpu);
            }
            WakeupPreempt::At(at) => {
                assert!(at > self.now, "a deferred preemption is in the future");
                assert_eq!(
                    at,
                    start + WAKEUP_GRANULARITY_NS,
                    "deferred to the granularity"
                );
                assert!(at <= end, "never later than the slice end");
                self.slice[cpu].1 = at;
            }
        }
    }

    /// CPU `cpu`'s running thread goes to the back of its queue and the CPU picks.
    fn preempt(&mut self, cpu: usize) {
        let id = self.running[cpu].take().expect("preempting a busy CPU");
        self.rq.push(cpu, self.threads[id]);
        self.model[cpu].push(id);
        self.at[id] = Where::Queued(cpu);
        self.pick(cpu);
    }

    /// CPU `cpu` (running nothing) takes a thread, checked against the model: the oldest it
    /// may run of its own queue, or with none there, the oldest it may run of another queue.
    fn pick(&mut self, cpu: usize) {
        assert!(self.running[cpu].is_none());
        let Some(t) = self.rq.pick(cpu) else { return };
        let Where::Queued(q) = self.at[t.id] else {
            panic!("picked thread {} was not queued", t.id)
        };
        let threads = &self.threads;
        let first_allowed = |q: &Vec<usize>| {
            q.iter()
                .copied()
                .find(|&id| self.rq.allowed(&threads[id], cpu))
        };
        if q != cpu {
            assert_eq!(
                first_allowed(&self.model[cpu]),
                None,
                "stole with local work"
            );
        }
        assert_eq!(
            first_allowed(&self.model[q]),
            Some(t.id),
            "FIFO order broken"
        );
        self.model[q].retain(|&id| id != t.id);
        self.threads[t.id].last = Some(cpu);
        self.at[t.id] = Where::Running(cpu);
        self.running[cpu] = Some(t.id);
        self.slice[cpu] = (self.now, self.now + SLICE_NS);
        self.woken_onto[cpu] = false;
    }

    /// Every CPU that runs nothing picks.
    fn pick_round(&mut self) {
        for c in 0..self.cpus() {
            if self.running[c].is_none() {
                self.pick(c);
            }
        }
    }

    fn step(&mut self, rng: &mut Rng) {
        let n = self.threads.len();
        let id = rng.below(n);
        let cpu = rng.below(self.cpus());
        match (rng.below(4), self.at[id]) {
            // A running thread (or, from an idle CPU's interrupt, anyone) wakes `id`.
            (0 | 1, Where::Blocked) => self.enqueue(id, cpu),
            // `id` blocks.
            (0 | 1, Where::Running(c)) => {
                self.running[c] = None;
                self.at[id] = Where::Blocked;
            }
            // It yields: back to its own queue, then its CPU picks.
            (2, Where::Running(c)) => self.preempt(c),
            // sched_setaffinity.
            (3, w) => {
                let mask = rng.mask(self.cpus());
                self.threads[id].mask = mask;
                match w {
                    Where::Queued(q) => {
                        assert!(self.rq.remove(&self.threads[id]));
                        self.model[q].retain(|&x| x != id);
                        self.enqueue(id, cpu);
                    }
                    Where::Running(c) if !self.rq.allowed(&self.threads[id], c) => {
                        self.running[c] = None;
                        self.enqueue(id, c);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        self.pick_round();
        // Time passes; the timer ends the slices that are over where a thread waits.
        self.now += rng.below(1_500_000) as u64;
        let mut switched = false;
        for c in 0..self.cpus() {
            if self.running[c].is_some() && self.now >= self.slice[c].1 && self.rq.has_local_work(c)
            {
                let (start, end) = self.slice[c];
                assert!(
                    end - start >= WAKEUP_GRANULARITY_NS,
                    "slice cut below the granularity"
                );
                self.preempt(c);
                switched = true;
            }
        }
        if switched {
            // The thread a switch put back may wait where an idle CPU can take it.
            self.pick_round();
        }
        self.check();
    }

    fn check(&self) {
        let mut seen = vec![0usize; self.threads.len()];
        for c in 0..self.cpus() {
            let queued = ids(&self.rq, c);
            assert_eq!(queued, self.model[c], "queue {c} differs from the model");
            for id in queued {
                seen[id] += 1;
                assert_eq!(self.at[id], Where::Queued(c));
            }
            if let Some(id) = self.running[c] {
                seen[id] += 1;
                assert_eq!(self.at[id], Where::Running(c));
                assert!(self.rq.allowed(&self.threads[id], c), "affinity broken");
                let (start, end) = self.slice[c];
                if self.woken_onto[c] {
                    // Wake-up preemption: a thread woken onto a busy CPU waits for the
                    // granularity at most, not for the whole slice.
                    assert!(
                        end <= start + WAKEUP_GRANULARITY_NS,
                        "CPU {c} keeps its full slice"
                    );
                }
                if self.rq.has_local_work(c) {
                    assert!(
                        self.now < end,
                        "CPU {c} ran past its slice with a thread waiting"
                    );
                }
            } else {
                // Balance: an idle CPU leaves no thread it may run waiting anywhere.
                assert!(!self.rq.has_work_for(c));
                for q in &self.model {
                    assert!(q.iter().all(|&id| !self.rq.allowed(&self.threads[id], c)));
                }
            }
        }
        for (id, &k) in seen.iter().enumerate() {
            let expect = usize::from(self.at[id] != Where::Blocked);
            assert_eq!(
                k, expect,
                "thread {id} lost or duplicated ({:?})",
                self.at[id]
            );
        }
        assert_eq!(
            self.rq.total(),
            self.model.iter().map(Vec::len).sum::<usize>()
        );
    }
}

#[test]
fn randomized_interleavings_lose_nothing_and_keep_affinity_balance_and_order() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let cpus = 1 + rng.below(8);
        let n = 1 + rng.below(48);
        let mut w = World::new(cpus, n, &mut rng);
        for _ in 0..3000 {
            w.step(&mut rng);
        }
    }
}

#[test]
fn a_crowded_cpu_spreads_its_threads_to_idle_ones() {
    // Eight threads queued on CPU 0 of four: one round of picks leaves three on CPU 0's
    // queue, each other CPU running one.
    let mut rq = queues(4);
    for id in 0..8 {
        rq.push(0, sim(id, u64::MAX, Some(0)));
    }
    let ran: Vec<usize> = (0..4).filter_map(|c| rq.pick(c)).map(|t| t.id).collect();
    assert_eq!(ran, vec![0, 1, 2, 3]);
    assert_eq!(rq.len(0), 4);
}

/// Threads with a virtual run time: what the kernel's threads report.
mod vruntime {
    use super::*;
    use core::cell::Cell;

    const MS: u64 = 1_000_000;

    #[derive(Debug)]
    struct VSim {
        id: usize,
        last: Cell<Option<usize>>,
        v: Cell<u64>,
    }

    impl PartialEq for VSim {
        fn eq(&self, other: &Self) -> bool {
            self.id == other.id
        }
    }

    impl Schedulable for VSim {
        fn affinity(&self) -> u64 {
            u64::MAX
        }
        fn last_cpu(&self) -> Option<usize> {
            self.last.get()
        }
        fn vruntime(&self) -> u64 {
            self.v.get()
        }
        fn set_vruntime(&self, v: u64) {
            self.v.set(v);
        }
    }

    fn vsim(id: usize, last: Option<usize>, v: u64) -> VSim {
        VSim {
            id,
            last: Cell::new(last),
            v: Cell::new(v),
        }
    }

    fn order(rq: &RunQueues<VSim>, cpu: usize) -> Vec<usize> {
        rq.queues[cpu].threads.iter().map(|t| t.id).collect()
    }

    /// One CPU whose queue started a thread at `min` and holds CPU-bound threads 1 and 2.
    fn busy_cpu(min: u64) -> RunQueues<VSim> {
        let mut rq = RunQueues::new();
        rq.add_cpu(0);
        rq.push(0, vsim(9, Some(0), min));
        assert_eq!(rq.pick(0).map(|t| t.id), Some(9));
        rq.push(0, vsim(1, Some(0), min + 2 * MS));
        rq.push(0, vsim(2, Some(0), min + 4 * MS));
        assert_eq!(rq.min_vruntime(0), min);
        rq
    }

    #[test]
    fn a_woken_sleeper_goes_before_cpu_bound_threads_with_at_most_the_credit() {
        let mut rq = busy_cpu(50 * MS);
        rq.enqueue(vsim(3, Some(0), MS), 0, 0);
        assert_eq!(order(&rq, 0), [3, 1, 2]);
        let s = rq.pick(0).unwrap();
        assert_eq!(
            s.vruntime(),
            50 * MS - SLEEPER_CREDIT_NS,
            "old sleep is not banked"
        );
        // It ran 6 ms: now it has used more than thread 1 and goes behind it.
        s.set_vruntime(s.vruntime() + 6 * MS);
        rq.push(0, s);
        assert_eq!(order(&rq, 0), [1, 3, 2]);
    }

    #[test]
    fn a_sleeper_that_ran_more_than_the_others_gets_no_credit() {
        let mut rq = busy_cpu(50 * MS);
        rq.enqueue(vsim(3, Some(0), 60 * MS), 0, 0);
        assert_eq!(order(&rq, 0), [1, 2, 3]);
        assert_eq!(rq.queues[0].threads[2].vruntime(), 60 * MS);
    }

    #[test]
    fn a_new_thread_starts_level_with_the_queue_without_credit() {
        let mut rq = busy_cpu(50 * MS);
        rq.enqueue(vsim(3, None, 0), 0, 0);
        assert_eq!(order(&rq, 0), [3, 1, 2]);
        assert_eq!(rq.queues[0].threads[0].vruntime(), 50 * MS);
        // Equal run time: FIFO, so a second new thread queues behind the first.
        rq.enqueue(vsim(4, None, 0), 0, 0);
        assert_eq!(order(&rq, 0), [3, 4, 1, 2]);
    }

    #[test]
    fn moving_to_another_cpu_keeps_the_distance_to_its_queue_minimum() {
        let mut rq: RunQueues<VSim> = RunQueues::new();
        rq.add_cpu(1);
        rq.push(0, vsim(8, Some(0), 100 * MS));
        rq.push(1, vsim(9, Some(1), 10 * MS));
        rq.pick(0);
        rq.pick(1);
        // Woken onto idle CPU 1, having last run on CPU 0 2 ms past its minimum.
        assert_eq!(rq.enqueue(vsim(1, Some(0), 102 * MS), 0, 0b10), 1);
        assert_eq!(rq.queues[1].threads[0].vruntime(), 12 * MS);
        // CPU 1 starts it (its minimum becomes 12 ms), then steals from CPU 0's queue a
        // thread 5 ms past CPU 0's minimum.
        assert_eq!(rq.pick(1).map(|t| t.id), Some(1));
        assert_eq!(rq.min_vruntime(1), 12 * MS);
        rq.push(0, vsim(2, Some(0), 105 * MS));
        let t = rq.pick(1).unwrap();
        assert_eq!((t.id, t.vruntime()), (2, 17 * MS));
        assert_eq!(rq.min_vruntime(1), 17 * MS);
    }

    /// One CPU, three CPU-bound threads (10 ms slices) and a thread that runs 0.1 ms then
    /// sleeps 5 ms, without preemption: the sleeper waits at most the running slice, and the
    /// CPU-bound threads share the CPU evenly. With FIFO queues it would wait up to three.
    #[test]
    fn a_periodic_sleeper_waits_at_most_one_slice_and_cpu_bound_threads_stay_even() {
        let mut rq: RunQueues<VSim> = RunQueues::new();
        rq.add_cpu(0);
        for id in 0..3 {
            rq.enqueue(vsim(id, None, 0), 0, 0);
        }
        let sleeper = 3;
        rq.enqueue(vsim(sleeper, None, 0), 0, 0);
        let mut used = [0u64; 4];
        let mut now = 0u64;
        let mut asleep: Option<(VSim, u64)> = None;
        let mut worst_wait = 0;
        // Its first run comes in FIFO order with the others (all new): not a wake-up.
        let mut woke_at = None;
        for _ in 0..2_000 {
            if let Some((s, until)) = asleep.take() {
                if until <= now {
                    woke_at = Some(now);
                    rq.enqueue(s, 0, 0);
                } else {
                    asleep = Some((s, until));
                }
            }
            let Some(t) = rq.pick(0) else {
                now = asleep.as_ref().map_or(now, |(_, u)| *u);
                continue;
            };
            t.last.set(Some(0));
            let ran = if t.id == sleeper {
                worst_wait = worst_wait.max(woke_at.map_or(0, |w| now - w));
                MS / 10
            } else {
                10 * MS
            };
            now += ran;
            used[t.id] += ran;
            t.set_vruntime(t.vruntime() + ran);
            if t.id == sleeper {
                asleep = Some((t, now + 5 * MS));
            } else {
                rq.push(0, t);
            }
        }
        assert!(worst_wait <= 10 * MS, "worst wait {worst_wait} ns");
        let (lo, hi) = (
            used[..3].iter().min().unwrap(),
            used[..3].iter().max().unwrap(),
        );
        assert!(
            hi - lo <= 10 * MS,
            "CPU-bound threads used {:?}",
            &used[..3]
        );
        assert!(used[sleeper] > 0);
    }
}
