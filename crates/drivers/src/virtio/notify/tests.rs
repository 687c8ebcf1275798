use super::*;
use crate::virtio::fake::{Device, FakeHal, FakeTransport, Queue};
use std::boxed::Box;
use std::vec::Vec;

/// A device that uses every chain it is given, writing nothing.
struct Sink;

impl Device for Sink {
    fn process(&mut self, queues: &mut [Queue], q: u16) -> bool {
        let queue = &mut queues[usize::from(q)];
        let mut used = false;
        while let Some(chain) = queue.pop_avail() {
            queue.push_used(chain.head, 0);
            used = true;
        }
        used
    }
}

const SIZE: usize = 8;

fn queue(event_idx: bool) -> (NotifyQueue<FakeHal, SIZE>, FakeTransport) {
    let features = if event_idx { F_EVENT_IDX } else { 0 };
    let mut transport =
        FakeTransport::new(DeviceType::Network, features, Vec::new(), 1, Box::new(Sink));
    transport.write_driver_features(features);
    let q = NotifyQueue::new(&mut transport, 0, event_idx).expect("queue");
    assert_eq!(q.event_idx(), event_idx);
    (q, transport)
}

/// Adds one chain (a static buffer the device only reads) and kicks if asked to.
fn add_and_kick(q: &mut NotifyQueue<FakeHal, SIZE>, transport: &mut FakeTransport) -> bool {
    static DATA: [u8; 4] = [1, 2, 3, 4];
    // SAFETY: a static buffer outlives the queue, and the device only reads it.
    unsafe { q.add(&[&DATA], &mut []) }.expect("room");
    let kick = q.should_notify();
    if kick {
        transport.notify(0);
    }
    kick
}

fn pop_all(q: &mut NotifyQueue<FakeHal, SIZE>) -> usize {
    static DATA: [u8; 4] = [1, 2, 3, 4];
    let mut n = 0;
    while let Some(token) = q.peek_used() {
        // SAFETY: every chain was added with `DATA` alone.
        unsafe { q.pop_used(token, &[&DATA], &mut []) }.expect("pop");
        n += 1;
    }
    n
}

#[test]
fn need_event_holds_across_the_wrap() {
    assert!(need_event(0, 1, 0));
    assert!(!need_event(1, 1, 0));
    assert!(need_event(5, 9, 2));
    assert!(!need_event(9, 9, 2));
    assert!(!need_event(1, 9, 2));
    // Crossing 65535 -> 0; virtio-drivers' own `avail_idx >= avail_event + 1` says no kick
    // to the first.
    assert!(need_event(65534, 1, 65534));
    assert!(need_event(65535, 2, 65530));
    assert!(!need_event(3, 2, 65530));
}

#[test]
fn a_busy_device_is_kicked_once() {
    let (mut q, mut t) = queue(true);
    t.state.lock().unwrap().deferred = true;
    assert!(add_and_kick(&mut q, &mut t), "an idle device is kicked");
    for _ in 0..3 {
        assert!(
            !add_and_kick(&mut q, &mut t),
            "it has not taken the first yet"
        );
    }
    t.state.lock().unwrap().run_pending();
    assert_eq!(pop_all(&mut q), 4);
    assert!(add_and_kick(&mut q, &mut t), "caught up and idle again");
    assert_eq!(t.state.lock().unwrap().notifications, [0, 0]);
}

#[test]
fn kicks_stay_right_across_the_index_wrap() {
    let (mut q, mut t) = queue(true);
    t.state.lock().unwrap().deferred = true;
    // Three buffers per round: the index passes 65535 -> 0 in the middle of a round.
    for round in 0..70_000 / 3 {
        let kicks: Vec<bool> = (0..3).map(|_| add_and_kick(&mut q, &mut t)).collect();
        assert_eq!(kicks, [true, false, false], "round {round}");
        t.state.lock().unwrap().run_pending();
        assert_eq!(pop_all(&mut q), 3);
    }
}

#[test]
fn without_event_idx_every_add_kicks() {
    let (mut q, mut t) = queue(false);
    t.state.lock().unwrap().deferred = true;
    for _ in 0..4 {
        assert!(add_and_kick(&mut q, &mut t));
    }
}

#[test]
fn interrupts_off_and_on_move_used_event() {
    let (mut q, mut t) = queue(true);
    let dev = |t: &FakeTransport, i: usize| {
        let s = t.state.lock().unwrap();
        (s.queues[0].wants_interrupts(), s.interrupts.len() - i)
    };
    assert!(dev(&t, 0).0, "on from the start");
    add_and_kick(&mut q, &mut t);
    assert_eq!(t.state.lock().unwrap().interrupts, [0]);

    assert!(!q.set_interrupts(false));
    assert!(!dev(&t, 0).0);
    add_and_kick(&mut q, &mut t);
    add_and_kick(&mut q, &mut t);
    assert_eq!(dev(&t, 1).1, 0, "no interrupt while off");
    // Popping keeps them off, although virtio-drivers re-arms used_event on every pop.
    assert_eq!(pop_all(&mut q), 3);
    assert!(!dev(&t, 0).0);
    add_and_kick(&mut q, &mut t);
    assert_eq!(dev(&t, 1).1, 0);

    // On again: the buffer used while off is reported, and the next use interrupts.
    assert!(q.set_interrupts(true), "a used buffer is waiting");
    assert_eq!(pop_all(&mut q), 1);
    assert!(!q.set_interrupts(true));
    assert!(dev(&t, 0).0);
    add_and_kick(&mut q, &mut t);
    assert_eq!(dev(&t, 1).1, 1);
}

#[test]
fn without_event_idx_interrupts_go_through_the_flag() {
    let (mut q, mut t) = queue(false);
    q.set_interrupts(false);
    add_and_kick(&mut q, &mut t);
    assert!(t.state.lock().unwrap().interrupts.is_empty());
    assert!(q.set_interrupts(true));
    pop_all(&mut q);
    add_and_kick(&mut q, &mut t);
    assert_eq!(t.state.lock().unwrap().interrupts, [0]);
}
