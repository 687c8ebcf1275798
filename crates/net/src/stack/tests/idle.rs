//! Many sockets open: a call looks only at the sockets it or smoltcp touched, and what
//! happens to the others (resets, refusals, timers, closes) is still reported.

use super::*;

/// Counts the notifications of a queue.
#[derive(Default)]
pub(in crate::stack) struct Count(core::sync::atomic::AtomicUsize);

impl oxv_vfs::readiness::Notify for Count {
    fn notify(&self, _events: PollEvents) -> bool {
        self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        true
    }
}

impl Count {
    pub(in crate::stack) fn get(&self) -> usize {
        self.0.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Connected pairs of TCP sockets.
type Pairs = Vec<(Arc<dyn SocketOps>, Arc<dyn SocketOps>)>;

/// `n` idle connected pairs on the loopback of `net`.
fn idle_pairs(net: &Net, n: usize) -> Pairs {
    let l = tcp(net);
    l.bind(&cx(), lo(0)).unwrap();
    l.listen(&cx(), 8).unwrap();
    (0..n)
        .map(|_| {
            let c = tcp(net);
            assert_eq!(
                c.connect(&cx(), lo(port_of(&*l)), Wait::NONBLOCK),
                Err(Errno::EINPROGRESS)
            );
            let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
            (c, s)
        })
        .collect()
}

/// Client stack `nb` (10.0.0.2, with `idle` loopback pairs) and server stack `na`
/// (10.0.0.1) on one cable; frames cross only when a stack polls.
fn two_stacks(idle: usize) -> (Arc<Net>, Arc<Net>, Pairs) {
    let (wa, wb) = cable();
    let (na, nb) = (net(), net());
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let pairs = idle_pairs(&nb, idle);
    (na, nb, pairs)
}

#[test]
fn a_reset_among_many_idle_sockets_is_reported_by_another_sockets_call() {
    let (na, nb, pairs) = two_stacks(40);
    let (x, sx) = connected_over_link(&na, &nb, 10);
    let count = Arc::new(Count::default());
    let _watch = x.poll_queue().watch(count.clone());
    let before: Vec<PollEvents> = pairs.iter().map(|(c, _)| c.poll()).collect();
    // The server resets the connection (SO_LINGER 0); the RST waits on the cable.
    let linger = [1i32, 0i32];
    let bytes: Vec<u8> = linger.iter().flat_map(|v| v.to_ne_bytes()).collect();
    sx.set_option(n::SOL_SOCKET, n::SO_LINGER, &bytes).unwrap();
    drop(sx);
    assert_eq!(count.get(), 0, "nothing reached the client yet");
    // A call on an unrelated socket of the client's stack takes the RST in.
    let (c0, s0) = &pairs[0];
    send(&**c0, b"ping").unwrap();
    assert_eq!(recv(&**s0, 8, 0).unwrap(), b"ping");
    assert!(count.get() > 0, "the reset socket's waiters were woken");
    assert!(x.poll().contains(PollEvents::ERR | PollEvents::HUP));
    assert_eq!(recv(&*x, 8, 0), Err(Errno::ECONNRESET));
    // The idle sockets saw nothing (the first pair moved data, and is back to idle).
    let after: Vec<PollEvents> = pairs.iter().map(|(c, _)| c.poll()).collect();
    assert_eq!(before, after);
}

#[test]
fn a_refused_connect_among_many_idle_sockets_is_reported_by_another_sockets_call() {
    let (na, nb, pairs) = two_stacks(40);
    let y = tcp(&nb);
    let closed = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 81,
    };
    let count = Arc::new(Count::default());
    let _watch = y.poll_queue().watch(count.clone());
    assert_eq!(
        y.connect(&cx(), closed.clone(), Wait::NONBLOCK),
        Err(Errno::EINPROGRESS)
    );
    // ARP: the request out, the reply back, then the SYN goes.
    na.stack().poll();
    nb.stack().poll();
    let woken = count.get();
    // The server answers the SYN with a RST, which waits on the cable.
    na.stack().poll();
    let (c, s) = &pairs[7];
    send(&**s, b"x").unwrap();
    assert_eq!(recv(&**c, 8, 0).unwrap(), b"x");
    assert!(
        count.get() > woken,
        "the refused socket's waiters were woken"
    );
    assert!(y.poll().contains(PollEvents::ERR));
    assert_eq!(
        y.connect(&cx(), closed, Wait::NONBLOCK),
        Err(Errno::ECONNREFUSED)
    );
}

#[test]
fn traffic_on_one_connection_leaves_idle_ones_unwoken_and_unchanged() {
    let net = net();
    let pairs = idle_pairs(&net, 50);
    let counts: Vec<(Arc<Count>, _, _)> = pairs
        .iter()
        .map(|(c, s)| {
            let k = Arc::new(Count::default());
            let w1 = c.poll_queue().watch(k.clone());
            let w2 = s.poll_queue().watch(k.clone());
            (k, w1, w2)
        })
        .collect();
    let before: Vec<(PollEvents, PollEvents)> =
        pairs.iter().map(|(c, s)| (c.poll(), s.poll())).collect();
    let (c, s) = &pairs[3];
    for _ in 0..5 {
        send(&**c, b"ping").unwrap();
        assert_eq!(recv(&**s, 8, 0).unwrap(), b"ping");
        send(&**s, b"pong").unwrap();
        assert_eq!(recv(&**c, 8, 0).unwrap(), b"pong");
    }
    for (i, (k, _, _)) in counts.iter().enumerate() {
        if i == 3 {
            assert!(k.get() > 0, "the busy pair was notified");
        } else {
            assert_eq!(k.get(), 0, "idle pair {i} was notified");
        }
    }
    let after: Vec<(PollEvents, PollEvents)> =
        pairs.iter().map(|(c, s)| (c.poll(), s.poll())).collect();
    assert_eq!(before, after);
}

#[test]
fn a_lost_segment_is_retransmitted_when_the_timer_fires_among_idle_sockets() {
    let (wa, wb) = cable();
    let lost = wb.tx.clone();
    let clock = Arc::new(FakeBlocker::new());
    let na = net();
    let nb = Net::new(clock.clone(), Arc::new(NoTimer), 9);
    na.stack().add_nic(alloc::boxed::Box::new(wa), &at(1));
    nb.stack().add_nic(alloc::boxed::Box::new(wb), &at(2));
    let _pairs = idle_pairs(&nb, 30);
    let l = tcp(&na);
    l.bind(
        &cx(),
        SockAddr::Inet {
            addr: [0; 4],
            port: 80,
        },
    )
    .unwrap();
    l.listen(&cx(), 4).unwrap();
    let c = tcp(&nb);
    let server = SockAddr::Inet {
        addr: [10, 0, 0, 1],
        port: 80,
    };
    let _ = c.connect(&cx(), server.clone(), Wait::NONBLOCK);
    for _ in 0..10 {
        na.stack().poll();
        nb.stack().poll();
    }
    assert_eq!(c.connect(&cx(), server, Wait::NONBLOCK), Ok(()));
    let (s, _) = l.accept(Wait::NONBLOCK).unwrap();
    send(&*c, b"hello").unwrap();
    assert_eq!(lost.lock().len(), 1, "the segment is on the cable");
    lost.lock().clear();
    na.stack().poll();
    assert_eq!(recv(&*s, 8, 0), Err(Errno::EAGAIN));
    // The retransmission timer (smoltcp's first RTO is 1 s) fires: only a timer poll.
    clock.advance(3_000_000_000);
    nb.stack().poll();
    na.stack().poll();
    assert_eq!(recv(&*s, 8, 0).unwrap(), b"hello");
}

#[test]
fn closed_connections_among_idle_ones_are_finished_and_free_their_ports() {
    let net = net();
    let mut pairs = idle_pairs(&net, 20);
    let (c, s) = pairs.pop().unwrap();
    let (c_port, s_port) = (port_of(&*c), port_of(&*s));
    send(&*c, b"bye").unwrap();
    assert_eq!(recv(&*s, 8, 0).unwrap(), b"bye");
    // Both files closed: the stack finishes both connections (FIN each way) by itself.
    drop(c);
    drop(s);
    // A call elsewhere polls the stack.
    let (c0, s0) = &pairs[0];
    send(&**c0, b"x").unwrap();
    assert_eq!(recv(&**s0, 8, 0).unwrap(), b"x");
    let again = tcp(&net);
    assert_eq!(
        again.bind(&cx(), lo(c_port)),
        Ok(()),
        "the client's port {c_port} was released (server {s_port})"
    );
}
