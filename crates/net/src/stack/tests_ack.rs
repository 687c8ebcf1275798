//! Delayed ACKs and their escape hatches (see [`super::ack`]), with clocks that never move:
//! an ACK left to smoltcp's 10 ms timer never goes, so a transfer that needs one stalls.

use super::tests::{
    at, cable, connected, connected_over_link, cx, lo, net, port_of, recv, send, tcp,
};
use crate::Net;
use crate::socket::{SocketOps, Wait};
use alloc::boxed::Box;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::net as n;

fn loopback_frames(net: &Net) -> u64 {
    net.stack().shared.lock().ports[0].dev.sent()
}

/// Asks for a send buffer of `bytes` (SO_SNDBUF shows twice what is asked).
fn small_send_buffer(s: &dyn SocketOps, bytes: i32) {
    s.set_option(n::SOL_SOCKET, n::SO_SNDBUF, &bytes.to_ne_bytes())
        .unwrap();
}

/// Sends `data` from `tx` to `rx`, `pump` moving frames between rounds; returns what `rx`
/// read, at most `rounds` rounds.
fn transfer(
    tx: &dyn SocketOps,
    rx: &dyn SocketOps,
    data: &[u8],
    rounds: usize,
    pump: impl Fn(),
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..rounds {
        if sent < data.len() {
            match send(tx, &data[sent..]) {
                Ok(k) => sent += k,
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("send: {e:?}"),
            }
        }
        pump();
        match recv(rx, 65536, 0) {
            Ok(v) => got.extend_from_slice(&v),
            Err(Errno::EAGAIN) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
        if got.len() == data.len() {
            break;
        }
    }
    got
}

fn pattern(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_loopback_ping_pong_sends_two_segments_per_round_trip() {
    let net = net();
    let (_l, c, s) = connected(&net);
    let round = || {
        assert_eq!(send(&*c, b"?"), Ok(1));
        assert_eq!(recv(&*s, 16, 0).unwrap(), b"?");
        assert_eq!(send(&*s, b"!"), Ok(1));
        assert_eq!(recv(&*c, 16, 0).unwrap(), b"!");
    };
    // The first exchange shows each side that it answers what it receives.
    round();
    round();
    let before = loopback_frames(&net);
    for _ in 0..10 {
        round();
    }
    assert_eq!(
        loopback_frames(&net) - before,
        20,
        "each byte's ACK rides on the answer"
    );
}

#[test]
fn a_small_loopback_send_buffer_never_waits_for_the_ack_timer() {
    let net = net();
    let l = tcp(&net);
    l.bind(&cx(), lo(0)).unwrap();
    l.listen(&cx(), 8).unwrap();
    let c = tcp(&net);
    small_send_buffer(&*c, 2048);
    assert_eq!(
        c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    let data = pattern(100_000);
    let got = transfer(&*c, &*s, &data, 1000, || net.stack().poll());
    assert!(got == data, "{} of {} bytes crossed", got.len(), data.len());
}

/// Over a link the sender is another stack's, so only the reader's hatch helps: Nagle holds
/// each small write back until the one before is acknowledged, and the reader never answers.
#[test]
fn a_read_that_empties_the_queue_sends_the_held_back_ack() {
    let (wa, wb) = cable();
    let (na, nb) = (net(), net());
    na.stack().add_nic(Box::new(wa), &at(1));
    nb.stack().add_nic(Box::new(wb), &at(2));
    let pump = || {
        for _ in 0..4 {
            na.stack().poll();
            nb.stack().poll();
        }
    };
    let (c, s) = connected_over_link(&na, &nb, 20);
    let data = pattern(2000);
    let mut got = Vec::new();
    for piece in data.chunks(100) {
        assert_eq!(send(&*c, piece), Ok(piece.len()));
        pump();
        got.extend_from_slice(&recv(&*s, 4096, 0).unwrap_or_default());
    }
    pump();
    got.extend_from_slice(&recv(&*s, 4096, 0).unwrap_or_default());
    assert!(got == data, "{} of {} bytes crossed", got.len(), data.len());
}

/// A connection in ping-pong mode that turns to reading a stream: the sender on the loopback
/// has a full buffer, so its segments are acknowledged at once though the reader answers.
#[test]
fn a_ping_pong_reader_still_acks_a_sender_with_a_full_buffer() {
    let net = net();
    let l = tcp(&net);
    l.bind(&cx(), lo(0)).unwrap();
    l.listen(&cx(), 8).unwrap();
    let c = tcp(&net);
    small_send_buffer(&*c, 2048);
    assert_eq!(
        c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    for _ in 0..3 {
        assert_eq!(send(&*c, b"?"), Ok(1));
        assert_eq!(recv(&*s, 16, 0).unwrap(), b"?");
        assert_eq!(send(&*s, b"!"), Ok(1));
        assert_eq!(recv(&*c, 16, 0).unwrap(), b"!");
    }
    let data = pattern(100_000);
    let got = transfer(&*c, &*s, &data, 1000, || net.stack().poll());
    assert!(got == data, "{} of {} bytes crossed", got.len(), data.len());
}
