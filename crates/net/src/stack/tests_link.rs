//! Connections' data calls under their own locks (see [`super::link`]): they run while the
//! stack's lock and other connections' locks are held, and what they change still goes out.

use super::tests::{at, cable, connected, cx, idle, net, recv, send, send_to, tcp, udp_pair};
use crate::addr::SockAddr;
use crate::socket::{SocketOps, Wait};
use crate::stack::ConnLink;
use crate::tcp::TcpSocket;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::net as n;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

fn link_of(s: &Arc<dyn SocketOps>) -> ConnLink {
    s.as_any()
        .downcast_ref::<TcpSocket>()
        .expect("a TCP socket")
        .link()
        .expect("connected")
}

#[test]
fn data_calls_run_while_the_stack_and_another_connection_are_locked() {
    let net = net();
    let (_l1, c1, s1) = connected(&net);
    let (_l2, _c2, s2) = connected(&net);
    // 200 KB wait in s1's 256 KiB buffer: taking 1 KiB leaves the window far from doubled,
    // so the read needs no poll (and so no stack lock) at all.
    let data = vec![7u8; 200_000];
    let mut sent = 0;
    while sent < data.len() {
        sent += send(&*c1, &data[sent..]).expect("room on the loopback");
    }
    assert_eq!(s1.bytes_readable(), 200_000);
    let other = link_of(&s2);
    let stack = net.stack().clone();
    let held_other = other.lock();
    let held_stack = stack.shared.lock();
    let (tx, rx) = mpsc::channel();
    let reader = s1.clone();
    let t = thread::spawn(move || {
        let ev = reader.poll();
        let readable = reader.bytes_readable();
        let peeked = recv(&*reader, 10, n::MSG_PEEK).map(|v| v.len());
        let got = recv(&*reader, 1024, 0).map(|v| v.len());
        let error = reader.take_error();
        let _ = tx.send((ev, readable, peeked, got, error));
    });
    let r = rx.recv_timeout(Duration::from_secs(10));
    drop(held_stack);
    drop(held_other);
    t.join().expect("the reader ends once the locks are free");
    let (ev, readable, peeked, got, error) =
        r.expect("readiness, FIONREAD, MSG_PEEK, a read and SO_ERROR wait for no other lock");
    assert!(ev.contains(PollEvents::IN | PollEvents::OUT));
    assert_eq!(readable, 200_000);
    assert_eq!(peeked, Ok(10));
    assert_eq!(got, Ok(1024));
    assert_eq!(error, None);
    assert_eq!(s1.bytes_readable(), 200_000 - 1024);
}

#[test]
fn a_read_that_reopens_a_closed_window_sends_the_update_itself() {
    let (wa, wb) = cable();
    let sent_by_a = wa.batches.clone();
    let (na, nb) = (net(), net());
    na.stack().add_nic(Box::new(wa), &at(1));
    nb.stack().add_nic(Box::new(wb), &at(2));
    let pump = || {
        for _ in 0..20 {
            na.stack().poll();
            nb.stack().poll();
        }
    };
    let l = tcp(&na);
    // An 8 KiB receive buffer (SO_RCVBUF shows twice what is asked).
    l.set_option(n::SOL_SOCKET, n::SO_RCVBUF, &4096i32.to_ne_bytes())
        .unwrap();
    let any80 = SockAddr::Inet {
        addr: [0; 4],
        port: 80,
    };
    l.bind(&cx(), any80).unwrap();
    l.listen(&cx(), 4).unwrap();
    let c = tcp(&nb);
    let server = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 80,
    };
    let _ = c.connect(&cx(), server.clone(), Wait::NONBLOCK);
    pump();
    assert_eq!(c.connect(&cx(), server, Wait::NONBLOCK), Ok(()));
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    let data: alloc::vec::Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(send(&*c, &data), Ok(data.len()));
    c.shutdown(n::SHUT_WR).unwrap();
    // No clock moves here: no retransmission or window probe comes to help.
    pump();
    assert_eq!(s.bytes_readable(), 8192, "the server's window is closed");
    assert!(c.bytes_unsent() > 0, "the client holds the rest back");
    let frames = sent_by_a.lock().len();
    let mut got = recv(&*s, 65536, 0).unwrap();
    assert_eq!(got.len(), 8192);
    assert!(
        sent_by_a.lock().len() > frames,
        "the read sent the window update itself, with no poll or segment after it"
    );
    // The rest and the FIN follow, the window reopened by each read.
    for _ in 0..100 {
        pump();
        match recv(&*s, 65536, 0) {
            Ok(v) if v.is_empty() => break,
            Ok(v) => got.extend_from_slice(&v),
            Err(Errno::EAGAIN) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
    }
    assert!(got == data, "every byte, in order, then end of file");
}

/// A read under the connection's lock alone (no poll after it) must not leave the stack
/// believing the data it took is still queued: when as much arrives again, the reader's
/// queue is notified. A blocked recv restarted after a signal handler hung here
/// (compat `net_tcp_block`), the same 5 bytes arriving twice.
#[test]
fn a_segment_like_the_one_just_taken_still_notifies() {
    let net = net();
    let (_l, c, s) = connected(&net);
    let seen = Arc::new(idle::Count::default());
    let _watch = s.poll_queue().watch(seen.clone());
    for round in 0..3 {
        let before = seen.get();
        assert_eq!(send(&*c, b"after"), Ok(5));
        assert!(seen.get() > before, "round {round}: no notification");
        assert_eq!(recv(&*s, 64, 0).unwrap(), b"after");
    }
}

/// A UDP socket's data calls take its own set's lock alone (see [`super::DgramLink`]):
/// readiness, `FIONREAD`, `MSG_PEEK`, a receive and a send's queueing complete while another
/// thread holds the stack's lock.
#[test]
fn udp_data_calls_run_while_the_stack_is_locked() {
    let net = net();
    let (a, b, to) = udp_pair(&net);
    for i in 0..3u8 {
        assert_eq!(send_to(&*a, &[i; 100], to.clone()), Ok(100));
    }
    let stack = net.stack().clone();
    let held_stack = stack.shared.lock();
    let (tx, rx) = mpsc::channel();
    let reader = b.clone();
    let t = thread::spawn(move || {
        let ev = reader.poll();
        let readable = reader.bytes_readable();
        let peeked = recv(&*reader, 10, n::MSG_PEEK);
        let got = recv(&*reader, 1024, 0);
        let unsent = reader.bytes_unsent();
        let _ = tx.send((ev, readable, peeked, got, unsent));
    });
    let r = rx.recv_timeout(Duration::from_secs(10));
    drop(held_stack);
    t.join().expect("the reader ends once the lock is free");
    let (ev, readable, peeked, got, unsent) =
        r.expect("readiness, FIONREAD, MSG_PEEK and a receive wait for no stack lock");
    assert!(ev.contains(PollEvents::IN | PollEvents::OUT));
    assert_eq!(readable, 100);
    assert_eq!(peeked, Ok(vec![0u8; 10]));
    assert_eq!(got, Ok(vec![0u8; 100]));
    assert_eq!(unsent, 0);
    assert_eq!(recv(&*b, 1024, 0), Ok(vec![1u8; 100]));
}

/// A receive takes a datagram with no poll after it; datagrams of the same length that
/// arrive meanwhile must each still be seen as a change by the next poll.
#[test]
fn udp_datagrams_like_those_taken_between_polls_still_notify() {
    let net = net();
    let (a, b, to) = udp_pair(&net);
    let seen = Arc::new(idle::Count::default());
    let _watch = b.poll_queue().watch(seen.clone());
    assert_eq!(send_to(&*a, b"one", to.clone()), Ok(3));
    assert_eq!(send_to(&*a, b"two", to.clone()), Ok(3));
    for round in 0..3 {
        // Take one of the two queued; the next send leaves two queued again, the length the
        // stack saw at its last poll.
        assert_eq!(recv(&*b, 64, 0).map(|v| v.len()), Ok(3));
        let before = seen.get();
        assert_eq!(send_to(&*a, b"new", to.clone()), Ok(3));
        assert!(seen.get() > before, "round {round}: no notification");
    }
}

/// A UDP socket keeps the route of its last destination while the stack's address epoch
/// stays; configuring an interface moves the epoch, and sends keep arriving after it.
#[test]
fn a_udp_route_kept_between_sends_follows_address_changes() {
    let net = net();
    let (a, b, to) = udp_pair(&net);
    assert_eq!(send_to(&*a, b"one", to.clone()), Ok(3));
    assert_eq!(send_to(&*a, b"two", to.clone()), Ok(3));
    let before = net.stack().shared.addrs_epoch();
    let (wa, _wb) = cable();
    net.stack().add_nic(Box::new(wa), &at(1));
    assert!(net.stack().shared.addrs_epoch() > before);
    assert_eq!(send_to(&*a, b"three", to.clone()), Ok(5));
    assert_eq!(recv(&*b, 64, 0), Ok(b"one".to_vec()));
    assert_eq!(recv(&*b, 64, 0), Ok(b"two".to_vec()));
    assert_eq!(recv(&*b, 64, 0), Ok(b"three".to_vec()));
}
