//! Polls handed to the CPU holding the stack's lock (see [`super::handoff`]): a send never
//! waits for that lock, its data goes out when the holder lets go, and a call about to say
//! "nothing there" settles what is owed first.

use super::StackGuard;
use super::tests::{connected, net, recv, send, send_to, udp_pair};
use crate::Net;
use crate::socket::SocketOps;
use alloc::sync::Arc;
use oxv_abi::Errno;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `f` on another thread; its result if it ends within 10 s.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

#[test]
fn a_tcp_send_returns_while_the_stack_is_locked_and_its_data_goes_when_it_is_let_go() {
    let net = net();
    let (_l, c, s) = connected(&net);
    let stack = net.stack().clone();
    let held = stack.shared.lock();
    let sender = c.clone();
    let sent = within(move || send(&*sender, &[5u8; 1000]));
    assert_eq!(sent, Some(Ok(1000)), "the send waited for the stack's lock");
    // Queued, not moved: nobody has polled.
    assert_eq!(s.bytes_readable(), 0);
    // Letting go runs the poll the send asked for; nothing else polls here.
    drop(held);
    assert_eq!(s.bytes_readable(), 1000);
    assert_eq!(recv(&*s, 2000, 0), Ok(vec![5u8; 1000]));
}

/// A UDP pair whose sender has sent once (so it knows its route), then the stack's lock
/// held and a 6-byte "second" sent from another thread: the sender (to be dropped after the
/// lock: closing it takes the lock), the receiver and the lock.
fn udp_send_behind_the_lock(net: &Net) -> (Arc<dyn SocketOps>, Arc<dyn SocketOps>, StackGuard<'_>) {
    let (a, b, to) = udp_pair(net);
    // The first send looks the route up (under the stack's lock) and binds.
    assert_eq!(send_to(&*a, b"first", to.clone()), Ok(5));
    assert_eq!(recv(&*b, 64, 0), Ok(b"first".to_vec()));
    let held = net.stack().shared.lock();
    let sender = a.clone();
    let sent = within(move || send_to(&*sender, b"second", to));
    assert_eq!(sent, Some(Ok(6)), "the send waited for the stack's lock");
    (a, b, held)
}

#[test]
fn a_udp_send_to_a_known_destination_returns_while_the_stack_is_locked() {
    let net = net();
    let (_a, b, held) = udp_send_behind_the_lock(&net);
    assert_eq!(b.bytes_readable(), 0);
    drop(held);
    assert_eq!(b.bytes_readable(), 6);
    assert_eq!(recv(&*b, 64, 0), Ok(b"second".to_vec()));
}

/// "Nothing there" is judged against what was owed when the call began to look: a poll owed
/// then that finishes between the look and the check sends the call to look again. (Checked
/// after the look instead, compat `net_loopback_immediate` saw FIONREAD 0 right after a
/// sendto on 2 vCPUs in 14 runs of 300: the poll had finished in between.)
#[test]
fn a_poll_owed_when_a_look_began_sends_it_to_look_again_though_done_since() {
    let net = net();
    let (_a, b, held) = udp_send_behind_the_lock(&net);
    let stack = net.stack();
    let before = stack.shared.owed_now();
    assert_eq!(b.bytes_readable(), 0, "the look, one poll behind");
    // The owed poll runs on release, after the look and before the check.
    drop(held);
    assert!(stack.shared.settle(before), "the answer 0 would stand");
    assert_eq!(b.bytes_readable(), 6);
    // Nothing owed when a look begins: its answer stands, with no poll.
    assert!(!stack.shared.settle(stack.shared.owed_now()));
}

#[test]
fn a_receive_that_would_say_eagain_waits_for_a_poll_that_is_owed() {
    let net = net();
    let (_l, c, s) = connected(&net);
    let stack = net.stack().clone();
    let held = stack.shared.lock();
    let sender = c.clone();
    assert_eq!(within(move || send(&*sender, b"hello")), Some(Ok(5)));
    // The data is one poll behind. A non-blocking receive must not say EAGAIN for it: it
    // waits for the lock and polls.
    let (tx, rx) = mpsc::channel();
    let reader: Arc<dyn SocketOps> = s.clone();
    thread::spawn(move || {
        let _ = tx.send(recv(&*reader, 64, 0));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "the receive answered before the owed poll could run"
    );
    drop(held);
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the receive ends once the lock is free");
    assert_eq!(got, Ok(b"hello".to_vec()));
    // With nothing owed, EAGAIN comes at once.
    assert_eq!(recv(&*s, 64, 0), Err(Errno::EAGAIN));
}

#[test]
fn many_sends_from_two_threads_all_arrive_while_a_third_keeps_taking_the_lock() {
    let net = net();
    let (_l1, c1, s1) = connected(&net);
    let (_l2, c2, s2) = connected(&net);
    let stack = net.stack().clone();
    let stop = Arc::new(core::sync::atomic::AtomicBool::new(false));
    let hog = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(core::sync::atomic::Ordering::Relaxed) {
                let held = stack.shared.lock();
                thread::yield_now();
                drop(held);
                // Not at once again: the spin lock is not fair.
                thread::sleep(Duration::from_micros(20));
            }
        })
    };
    const N: usize = 400;
    let flows: Vec<_> = [(c1, s1), (c2, s2)]
        .into_iter()
        .enumerate()
        .map(|(f, (c, s))| {
            thread::spawn(move || {
                let mut got = alloc::vec::Vec::new();
                for i in 0..N {
                    let byte = [(i % 251) as u8 ^ f as u8];
                    while send(&*c, &byte) != Ok(1) {
                        thread::yield_now();
                    }
                    if let Ok(v) = recv(&*s, 4096, 0) {
                        got.extend_from_slice(&v);
                    }
                }
                // Whatever is still one poll behind: a receive settles it.
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while got.len() < N {
                    assert!(std::time::Instant::now() < deadline, "flow {f}: stalled");
                    match recv(&*s, 4096, 0) {
                        Ok(v) => got.extend_from_slice(&v),
                        Err(Errno::EAGAIN) => thread::yield_now(),
                        Err(e) => panic!("flow {f}: {e:?}"),
                    }
                }
                got
            })
        })
        .collect();
    for (f, t) in flows.into_iter().enumerate() {
        let got = t.join().expect("the flow ends");
        let want: alloc::vec::Vec<u8> = (0..N).map(|i| (i % 251) as u8 ^ f as u8).collect();
        assert_eq!(got, want, "flow {f}");
    }
    stop.store(true, core::sync::atomic::Ordering::Relaxed);
    hog.join().unwrap();
}
