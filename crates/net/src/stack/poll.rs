//! How the stack runs: the poll rounds over every interface, the listen-backlog check on
//! received SYNs, DHCP events, the orphaned connections it finishes, and which sockets to wake.

use super::*;
use smoltcp::wire::UdpPacket;

/// What a received frame is, to route it: a TCP segment, or something else.
enum Frame {
    /// A TCP segment from `src` to `dst`; `syn` if it opens a connection (SYN without ACK).
    Tcp {
        src: IpEndpoint,
        dst: IpEndpoint,
        syn: bool,
    },
    /// A UDP datagram from `src` to `dst` (not a fragment).
    Udp { src: IpEndpoint, dst: IpEndpoint },
    /// For the interface itself (ARP, ICMP, neighbour discovery...), or unreadable.
    Other,
}

fn classify(frame: &[u8], ethernet: bool) -> Frame {
    classify_ip(frame, ethernet).unwrap_or(Frame::Other)
}

fn classify_ip(frame: &[u8], ethernet: bool) -> Option<Frame> {
    let (proto, ip) = if ethernet {
        let f = EthernetFrame::new_checked(frame).ok()?;
        match f.ethertype() {
            EthernetProtocol::Ipv4 => (4, &frame[14..]),
            EthernetProtocol::Ipv6 => (6, &frame[14..]),
            _ => return None,
        }
    } else {
        (frame.first()? >> 4, frame)
    };
    let (src, dst, next, payload) = match proto {
        4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            let hl = p.header_len() as usize;
            let total = (p.total_len() as usize).min(ip.len());
            if p.more_frags() || p.frag_offset() != 0 {
                // smoltcp reassembles nothing here: it drops fragments.
                return None;
            }
            (
                IpAddress::Ipv4(p.src_addr()),
                IpAddress::Ipv4(p.dst_addr()),
                p.next_header(),
                ip.get(hl..total)?,
            )
        }
        6 => {
            let p = Ipv6Packet::new_checked(ip).ok()?;
            let end = (40 + p.payload_len() as usize).min(ip.len());
            let (next, payload) = skip_ipv6_options(p.next_header(), ip.get(40..end)?)?;
            (
                IpAddress::Ipv6(p.src_addr()),
                IpAddress::Ipv6(p.dst_addr()),
                next,
                payload,
            )
        }
        _ => return None,
    };
    match next {
        IpProtocol::Udp => {
            let u = UdpPacket::new_checked(payload).ok()?;
            Some(Frame::Udp {
                src: IpEndpoint::new(src, u.src_port()),
                dst: IpEndpoint::new(dst, u.dst_port()),
            })
        }
        IpProtocol::Tcp => {
            let t = TcpPacket::new_checked(payload).ok()?;
            Some(Frame::Tcp {
                src: IpEndpoint::new(src, t.src_port()),
                dst: IpEndpoint::new(dst, t.dst_port()),
                syn: t.syn() && !t.ack(),
            })
        }
        _ => None,
    }
}

/// Skips the IPv6 extension headers smoltcp reads past (hop-by-hop, routing, destination
/// options: each says its length in 8-byte units after the first 8), so that a segment
/// behind them still finds its connection.
fn skip_ipv6_options(mut next: IpProtocol, mut rest: &[u8]) -> Option<(IpProtocol, &[u8])> {
    while matches!(
        next,
        IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts
    ) {
        let len = (usize::from(*rest.get(1)?) + 1) * 8;
        next = IpProtocol::from(*rest.first()?);
        rest = rest.get(len..)?;
    }
    Some((next, rest))
}

/// Which set a received frame goes to.
enum Target {
    /// The port's shared set (UDP, DHCP, the interface; a RST for TCP nobody takes).
    Shared,
    /// A TCP socket's own set.
    Conn(usize),
    /// A UDP socket's own set.
    Dgram(usize),
    /// Nobody: the listen backlog is full.
    Drop,
}

impl Inner {
    pub(super) fn configure(&mut self, i: usize, config: &NicConfig) {
        let port = &mut self.ports[i];
        match &config.ipv4 {
            Ipv4Setup::Dhcp => {
                let h = port.set.add(dhcpv4::Socket::new());
                port.dhcp = Some(h);
            }
            Ipv4Setup::Static { cidr, gateway } => {
                port.iface.update_ip_addrs(|a| {
                    let _ = a.push(IpCidr::Ipv4(*cidr));
                });
                if let Some(gw) = gateway {
                    let _ = port.iface.routes_mut().add_default_ipv4_route(*gw);
                    port.gw4 = Some(*gw);
                }
            }
            Ipv4Setup::None => {}
        }
        if let Some((cidr, gw)) = config.ipv6 {
            port.iface.update_ip_addrs(|a| {
                let _ = a.push(IpCidr::Ipv6(cidr));
            });
            if let Some(gw) = gw {
                let _ = port.iface.routes_mut().add_default_ipv6_route(gw);
                port.gw6 = Some(gw);
            }
        }
        self.sync_loopback_addrs();
    }

    /// Gives the loopback the NICs' addresses too (as host routes), so the machine reaches
    /// itself without the wire.
    fn sync_loopback_addrs(&mut self) {
        // Sockets' cached routes ([`super::Shared::addrs_epoch`]) are stale from here.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let own: Vec<IpAddress> = self
            .ports
            .iter()
            .skip(1)
            .flat_map(|p| p.iface.ip_addrs().iter().map(|c| c.address()))
            .collect();
        self.ports[0].iface.update_ip_addrs(|a| {
            a.truncate(2);
            for ip in own {
                let len = match ip {
                    IpAddress::Ipv4(_) => 32,
                    IpAddress::Ipv6(_) => 128,
                };
                let _ = a.push(IpCidr::new(ip, len));
            }
        });
    }

    fn dhcp_events(&mut self) {
        let mut changed = false;
        for port in self.ports.iter_mut() {
            let Some(h) = port.dhcp else { continue };
            match port.set.get_mut::<dhcpv4::Socket>(h).poll() {
                None => {}
                Some(dhcpv4::Event::Configured(c)) => {
                    port.iface.update_ip_addrs(|a| {
                        a.retain(|x| !matches!(x, IpCidr::Ipv4(_)));
                        let _ = a.push(IpCidr::Ipv4(c.address));
                    });
                    match c.router {
                        Some(r) => {
                            let _ = port.iface.routes_mut().add_default_ipv4_route(r);
                        }
                        None => {
                            port.iface.routes_mut().remove_default_ipv4_route();
                        }
                    }
                    port.gw4 = c.router;
                    for d in c.dns_servers.iter() {
                        let d = IpAddress::Ipv4(*d);
                        if !port.dns.contains(&d) {
                            port.dns.push(d);
                        }
                    }
                    changed = true;
                }
                Some(dhcpv4::Event::Deconfigured) => {
                    port.iface
                        .update_ip_addrs(|a| a.retain(|x| !matches!(x, IpCidr::Ipv4(_))));
                    port.iface.routes_mut().remove_default_ipv4_route();
                    port.gw4 = None;
                    changed = true;
                }
            }
        }
        if changed {
            self.sync_loopback_addrs();
        }
    }

    /// Where a received SYN that no connection takes goes (see the module docs): to the
    /// LISTEN socket a listener has for it (made now if needed), to the shared set when nobody
    /// listens (smoltcp answers with a RST), or nowhere when the backlog is full.
    fn admit(&mut self, i: usize, src: IpEndpoint, dst: IpEndpoint) -> Target {
        let Inner {
            ports,
            listeners,
            entries,
            woken,
            ..
        } = self;
        let v4 = matches!(dst.addr, IpAddress::Ipv4(_));
        let Some(l) = listeners.values_mut().find(|l| {
            l.port == dst.port
                && l.addr.is_none_or(|a| a == dst.addr)
                && if v4 { l.v4 } else { l.v6 }
        }) else {
            return Target::Shared;
        };
        let mut pending = 0usize;
        for k in &l.conns {
            let Place::Conn(slot) = k.place else { continue };
            let conns = &mut ports[k.port].conns;
            let (state, remote, local, listen) = {
                let c = conns.lock(slot);
                let s = c.tcp_ref();
                (
                    s.state(),
                    s.remote_endpoint(),
                    s.local_endpoint(),
                    s.listen_endpoint(),
                )
            };
            if k.port != i {
                pending += usize::from(state != tcp::State::Listen);
                continue;
            }
            if remote == Some(src) && local == Some(dst) {
                // A retransmitted SYN of a connection already under way.
                conns.route(slot, dst, src);
                return Target::Conn(slot);
            }
            if state == tcp::State::Listen {
                if listen == IpListenEndpoint::from(dst) {
                    conns.route(slot, dst, src);
                    return Target::Conn(slot);
                }
            } else {
                pending += 1;
            }
        }
        if pending > l.backlog {
            return Target::Drop;
        }
        let Some(mut s) = new_tcp(&l.params) else {
            // No memory for the connection's buffers: the SYN is dropped (the peer
            // retransmits), as Linux drops it when it cannot allocate a request socket.
            return Target::Drop;
        };
        if s.listen(dst).is_err() {
            return Target::Shared;
        }
        let conns = &mut ports[i].conns;
        let slot = conns.add(s);
        conns.route(slot, dst, src);
        let k = SockKey {
            port: i,
            place: Place::Conn(slot),
        };
        entries.insert(
            k,
            Entry {
                queue: l.queue.clone(),
                seen: Snapshot {
                    state: Some(tcp::State::Listen),
                    recv: 0,
                    send: 0,
                },
                waker: SocketWaker::new(k, woken),
            },
        );
        l.conns.push(k);
        self.watch(k);
        Target::Conn(slot)
    }

    /// One poll of everything; returns the queues to notify.
    pub(super) fn poll(&mut self) -> Vec<PollQueue> {
        let now = self.now;
        // The connections callers reached may have something to send, and those whose
        // timer is due. Those their data calls changed without the stack's lock are taken
        // off their list first: a change made after this is listed again for the next poll
        // (see [`super::link`]).
        let mut nudged = core::mem::take(&mut self.looking);
        self.nudged.take(&mut nudged);
        for k in &nudged {
            match k.place {
                Place::Conn(slot) => {
                    if let Some(c) = self.ports[k.port].conns.try_conn(slot) {
                        c.lock().listed = false;
                    }
                }
                Place::Dgram(slot) => {
                    if let Some(d) = self.ports[k.port].dgrams.try_cell(slot) {
                        d.lock().listed = false;
                    }
                }
                Place::Shared(_) => {}
            }
        }
        self.touched.append(&mut nudged);
        self.looking = nudged;
        for k in &self.touched {
            match k.place {
                Place::Conn(slot) => self.ports[k.port].conns.activate(slot),
                Place::Dgram(slot) => self.ports[k.port].dgrams.activate(slot),
                Place::Shared(_) => {}
            }
        }
        for p in self.ports.iter_mut() {
            p.conns.activate_due(now);
        }
        for _ in 0..MAX_ROUNDS {
            for i in 0..self.ports.len() {
                self.poll_port(i, now);
            }
            self.dhcp_events();
            // Each port's egress already ran until it had nothing more to send; another
            // round is only for frames received meanwhile (the loopback's, chiefly).
            if !self.ports.iter().any(|p| p.dev.has_pending()) {
                break;
            }
        }
        for p in self.ports.iter_mut() {
            p.conns.settle(&mut p.iface, now);
        }
        let mut keys = core::mem::take(&mut self.looking);
        self.woken.take(&mut keys);
        keys.append(&mut self.touched);
        keys.sort_unstable();
        keys.dedup();
        self.reap_orphans(&keys);
        let wake = self.changes(&keys);
        self.looking = keys;
        wake
    }

    fn poll_port(&mut self, i: usize, now: Instant) {
        let ethernet = !self.ports[i].dev.is_loopback();
        for _ in 0..INGRESS_BUDGET {
            let frame = match self.ports[i].dev.peek() {
                None => break,
                Some(frame) => classify(frame, ethernet),
            };
            let mut ends = None;
            let target = match frame {
                Frame::Tcp { src, dst, syn } => match self.ports[i].conns.routed(dst, src) {
                    Some(slot) => {
                        ends = Some((src, dst)).filter(|_| !ethernet);
                        Target::Conn(slot)
                    }
                    None if syn => self.admit(i, src, dst),
                    None => Target::Shared,
                },
                Frame::Udp { src, dst } => match self.ports[i].dgrams.routed(dst, src) {
                    Some(slot) => Target::Dgram(slot),
                    None => Target::Shared,
                },
                Frame::Other => {
                    if ethernet {
                        // Maybe a neighbour's address that sockets wait for.
                        self.ports[i].conns.sweep();
                        self.ports[i].dgrams.sweep();
                    }
                    Target::Shared
                }
            };
            let p = &mut self.ports[i];
            let r = match target {
                Target::Drop => {
                    p.dev.drop_front();
                    continue;
                }
                Target::Shared => p.iface.poll_ingress_single(now, &mut p.dev, &mut p.set),
                Target::Conn(slot) => p.conns.ingress(slot, ends, &mut p.iface, &mut p.dev, now),
                Target::Dgram(slot) => p.dgrams.ingress(slot, &mut p.iface, &mut p.dev, now),
            };
            if r == PollIngressSingleResult::None {
                break;
            }
        }
        let p = &mut self.ports[i];
        for _ in 0..MAX_ROUNDS {
            if p.iface.poll_egress(now, &mut p.dev, &mut p.set) == PollResult::None {
                break;
            }
        }
        if p.conns.has_active() {
            p.conns.egress(&mut p.iface, &mut p.dev, now);
        }
        if p.dgrams.has_work(now) {
            p.dgrams.egress(&mut p.iface, &mut p.dev, now);
        }
        // One doorbell for every frame this pass sent.
        p.dev.flush();
    }

    /// Removes the orphans among `keys` (the sockets that may have changed) whose connection
    /// has ended.
    fn reap_orphans(&mut self, keys: &[SockKey]) {
        if self.orphans.is_empty() {
            return;
        }
        for &k in keys {
            if !self.orphans.contains_key(&k) {
                continue;
            }
            let Place::Conn(slot) = k.place else {
                continue;
            };
            let state = self.ports[k.port].conns.lock(slot).tcp_ref().state();
            if matches!(state, tcp::State::Closed | tcp::State::TimeWait) {
                let o = self.orphans.remove(&k).expect("just found");
                self.drop_socket(k);
                if let Some((proto, port, owner)) = o.hold {
                    self.table.release(proto, port, owner);
                }
            } else {
                // Its wakers are spent: register them again.
                self.watch(k);
            }
        }
    }

    /// Compares the sockets that may have changed, `keys` (those smoltcp woke and those
    /// callers reached, see [`super::touched`]), with what was seen last; records errors
    /// from state changes and returns the queues of the sockets that changed. Sockets nothing
    /// touched are not looked at.
    fn changes(&mut self, keys: &[SockKey]) -> Vec<PollQueue> {
        let mut wake: Vec<PollQueue> = Vec::new();
        let Inner { entries, ports, .. } = self;
        for &k in keys {
            let Some(e) = entries.get_mut(&k) else {
                // Removed, or orphaned: nobody to tell.
                continue;
            };
            let snap = ports[k.port].look(k.place, Some(&e.waker));
            if snap == e.seen {
                continue;
            }
            use tcp::State::*;
            if let (Some(before), Some(Closed), Place::Conn(slot)) =
                (e.seen.state, snap.state, k.place)
            {
                let error = match before {
                    SynSent => Some(Errno::ECONNREFUSED),
                    SynReceived | Established | FinWait1 | FinWait2 | CloseWait | Closing => {
                        Some(Errno::ECONNRESET)
                    }
                    _ => None,
                };
                if error.is_some() {
                    ports[k.port].conns.lock(slot).error = error;
                }
            }
            e.seen = snap;
            if !wake.iter().any(|q| q.same_as(&e.queue)) {
                wake.push(e.queue.clone());
            }
        }
        wake
    }

    /// When the stack wants polling next.
    pub(super) fn next_poll(&mut self) -> Option<Instant> {
        let now = self.now;
        let mut best: Option<Instant> = None;
        for p in self.ports.iter_mut() {
            let shared = p.iface.poll_at(now, &p.set);
            let next = [shared, p.conns.next_due(), p.dgrams.next_due()]
                .into_iter()
                .flatten()
                .min();
            if let Some(mut t) = next {
                if p.dev.tx_blocked() {
                    // Sockets with data to send ask for "now", but the NIC's interrupt will
                    // say when its queue has room: until then only their timers count.
                    t = t.max(now + TX_BLOCKED_RETRY);
                }
                best = Some(best.map_or(t, |b: Instant| b.min(t)));
            }
            if p.dev.has_pending() {
                best = Some(now);
            }
        }
        best.map(|t| t.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv6 SYN from [::1]:1234 to [::1]:80, behind a hop-by-hop header.
    fn syn6_with_hop_by_hop() -> Vec<u8> {
        let mut f = vec![0x60, 0, 0, 0, 0, 28, 0, 64];
        let one = Ipv6Address::LOCALHOST.octets();
        f.extend_from_slice(&one);
        f.extend_from_slice(&one);
        // Hop-by-hop: next header TCP, 8 bytes, one PadN option.
        f.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x02;
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn a_segment_behind_ipv6_options_is_routed_by_its_endpoints() {
        let lo = IpAddress::Ipv6(Ipv6Address::LOCALHOST);
        match classify(&syn6_with_hop_by_hop(), false) {
            Frame::Tcp { src, dst, syn } => {
                assert_eq!(src, IpEndpoint::new(lo, 1234));
                assert_eq!(dst, IpEndpoint::new(lo, 80));
                assert!(syn);
            }
            _ => panic!("not seen as TCP"),
        }
        let mut cut = syn6_with_hop_by_hop();
        cut.truncate(44);
        assert!(matches!(classify(&cut, false), Frame::Other));
    }
}
