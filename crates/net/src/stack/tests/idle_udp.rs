//! Many UDP sockets open: a datagram call shows smoltcp only the sockets it reaches (each UDP
//! socket has a set of its own), so its cost does not grow with the sockets that sit idle;
//! datagrams held back (a full device queue, a neighbour not yet resolved) still go out.

use super::idle::Count;
use super::*;

/// UDP sets shown to smoltcp so far, over every port of `net`'s stack.
fn visits(net: &Net) -> u64 {
    net.stack()
        .shared
        .peek(|i| i.ports.iter().map(|p| p.dgrams.visits()).sum())
}

/// `n` UDP sockets bound on the loopback, each holding one datagram nobody reads.
fn idle_udp(net: &Net, n: usize) -> Vec<Arc<dyn SocketOps>> {
    let tx = udp(net, false);
    (0..n)
        .map(|_| {
            let s = udp(net, false);
            s.bind(&cx(), lo(0)).unwrap();
            send_to(&*tx, b"idle", lo(port_of(&*s))).unwrap();
            s
        })
        .collect()
}

/// The UDP sets 20 request/reply exchanges between two sockets show smoltcp, with `idle`
/// other sockets open; checks the idle ones are neither notified nor changed.
fn exchange_cost(idle: usize) -> u64 {
    let net = net();
    let others = idle_udp(&net, idle);
    let count = Arc::new(Count::default());
    let _watches: Vec<_> = others
        .iter()
        .map(|s| s.poll_queue().watch(count.clone()))
        .collect();
    let (a, b) = (udp(&net, false), udp(&net, false));
    a.bind(&cx(), lo(0)).unwrap();
    b.bind(&cx(), lo(0)).unwrap();
    b.connect(&cx(), a.local_addr(), Wait::NONBLOCK).unwrap();
    let before = visits(&net);
    for i in 0..20u8 {
        send_to(&*a, &[i], b.local_addr()).unwrap();
        assert_eq!(recv(&*b, 8, 0).unwrap(), [i]);
        send(&*b, &[i, i]).unwrap();
        assert_eq!(recv(&*a, 8, 0).unwrap(), [i, i]);
    }
    let cost = visits(&net) - before;
    assert_eq!(count.get(), 0, "an idle socket was notified");
    for s in &others {
        assert_eq!(s.bytes_readable(), 4, "an idle socket lost its datagram");
    }
    cost
}

#[test]
fn a_datagram_exchange_costs_the_same_with_400_idle_udp_sockets() {
    let alone = exchange_cost(0);
    let crowded = exchange_cost(400);
    assert_eq!(
        alone, crowded,
        "sets visited: {alone} alone, {crowded} among 400"
    );
    // Each send shows its own set (egress) and the receiver's (ingress): 2 x 2 x 20.
    assert_eq!(alone, 80);
}

#[test]
fn datagrams_held_by_a_full_device_queue_or_an_unresolved_neighbour_still_go() {
    // One frame in flight at most, and a clock that never moves: a datagram the stack did
    // not keep would be lost for good.
    let (wa, wb) = narrow_cable(1);
    let refused = wa.refused.clone();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let _idle = idle_udp(&nb, 50);
    let server = udp(&na, false);
    let any = SockAddr::Inet {
        addr: [0; 4],
        port: 53,
    };
    server.bind(&cx(), any).unwrap();
    let to = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 53,
    };
    let c = udp(&nb, false);
    // The first waits for ARP, the others for room on the cable.
    for i in 0..6u8 {
        assert_eq!(send_to(&*c, &[i; 100], to.clone()), Ok(100));
    }
    assert!(
        nb.stack().has_unacked_output(),
        "the end of the VM waits for held datagrams"
    );
    let mut got = Vec::new();
    for _ in 0..50 {
        na.stack().poll();
        nb.stack().poll();
        while let Ok(d) = recv(&*server, 200, 0) {
            got.push(d[0]);
        }
    }
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
    assert!(!nb.stack().has_unacked_output());
    assert_eq!(*refused.lock(), 0, "the stack sent into a full queue");
}

#[test]
fn a_datagram_nobody_takes_is_refused_with_an_icmp_error_and_reaches_no_idle_socket() {
    let (wa, wb) = cable();
    let back = wa.tx.clone();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let idle = idle_udp(&na, 10);
    let c = udp(&nb, false);
    let closed = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 9,
    };
    send_to(&*c, b"anyone?", closed).unwrap();
    let mut unreachable = 0;
    for _ in 0..5 {
        nb.stack().poll();
        na.stack().poll();
        // What the server's stack answered, before the client takes it: IPv4, ICMP,
        // destination unreachable.
        unreachable += back
            .lock()
            .iter()
            .filter(|f| f.len() > 34 && f[12..14] == [0x08, 0x00] && f[23] == 1 && f[34] == 3)
            .count();
    }
    assert_eq!(unreachable, 1, "one ICMP port unreachable");
    for s in &idle {
        assert_eq!(s.bytes_readable(), 4);
        recv(&**s, 8, 0).unwrap();
        assert_eq!(
            recv(&**s, 8, 0),
            Err(Errno::EAGAIN),
            "only its own datagram"
        );
    }
}
