//! How the stack runs: the poll rounds over every interface, the listen-backlog check on
//! received SYNs, DHCP events, the orphaned connections it finishes, and which sockets to wake.

use super::*;

/// What a received frame is, for the backlog check: a TCP SYN (no ACK) from `src` to `dst`.
fn syn_of(frame: &[u8], ethernet: bool) -> Option<(IpEndpoint, IpEndpoint)> {
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
    let (src, dst, payload) = match proto {
        4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            if p.next_header() != IpProtocol::Tcp {
                return None;
            }
            let hl = p.header_len() as usize;
            let total = (p.total_len() as usize).min(ip.len());
            (
                IpAddress::Ipv4(p.src_addr()),
                IpAddress::Ipv4(p.dst_addr()),
                ip.get(hl..total)?,
            )
        }
        6 => {
            let p = Ipv6Packet::new_checked(ip).ok()?;
            if p.next_header() != IpProtocol::Tcp {
                return None;
            }
            let end = (40 + p.payload_len() as usize).min(ip.len());
            (
                IpAddress::Ipv6(p.src_addr()),
                IpAddress::Ipv6(p.dst_addr()),
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    let t = TcpPacket::new_checked(payload).ok()?;
    (t.syn() && !t.ack()).then(|| {
        (
            IpEndpoint::new(src, t.src_port()),
            IpEndpoint::new(dst, t.dst_port()),
        )
    })
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

    /// Decides whether a received SYN may go on to smoltcp (see the module docs): makes the
    /// LISTEN socket a listener needs for it, or says to drop it when the backlog is full.
    fn admit(&mut self, i: usize, src: IpEndpoint, dst: IpEndpoint) -> bool {
        let loopback = self.ports[i].dev.is_loopback();
        let Inner {
            ports,
            listeners,
            entries,
            ..
        } = self;
        let v4 = matches!(dst.addr, IpAddress::Ipv4(_));
        let Some(l) = listeners.values_mut().find(|l| {
            l.port == dst.port
                && l.addr.is_none_or(|a| a == dst.addr)
                && if v4 { l.v4 } else { l.v6 }
        }) else {
            return true;
        };
        let mut pending = 0usize;
        for k in &l.conns {
            let s = ports[k.port].set.get::<tcp::Socket>(k.handle);
            if k.port == i && s.remote_endpoint() == Some(src) && s.local_endpoint() == Some(dst) {
                // A retransmitted SYN of a connection already under way.
                return true;
            }
            if s.state() == tcp::State::Listen {
                if k.port == i && s.listen_endpoint() == IpListenEndpoint::from(dst) {
                    return true;
                }
            } else {
                pending += 1;
            }
        }
        if pending > l.backlog {
            return false;
        }
        let mut s = new_tcp(&l.params, loopback);
        if s.listen(dst).is_err() {
            return true;
        }
        let handle = ports[i].set.add(s);
        let k = SockKey { port: i, handle };
        entries.insert(
            k,
            Entry {
                queue: l.queue.clone(),
                seen: Snapshot {
                    state: Some(tcp::State::Listen),
                    recv: 0,
                    send: 0,
                },
                error: None,
            },
        );
        l.conns.push(k);
        true
    }

    /// One poll of everything; returns the queues to notify.
    pub(super) fn poll(&mut self) -> Vec<PollQueue> {
        let now = self.now;
        for _ in 0..MAX_ROUNDS {
            for i in 0..self.ports.len() {
                self.poll_port(i, now);
            }
            self.dhcp_events();
            // Each port's egress already ran until it had nothing more to send; another
            // round is only for frames received meanwhile (the loopback's, chiefly). Not
            // going round again for nothing matters: every round visits every socket, and
            // the stack is polled after every socket call.
            if !self.ports.iter().any(|p| p.dev.has_pending()) {
                break;
            }
        }
        self.reap_orphans();
        self.changes()
    }

    fn poll_port(&mut self, i: usize, now: Instant) {
        for _ in 0..INGRESS_BUDGET {
            let ethernet = !self.ports[i].dev.is_loopback();
            let syn = match self.ports[i].dev.peek() {
                None => break,
                Some(frame) => syn_of(frame, ethernet),
            };
            if let Some((src, dst)) = syn {
                if !self.admit(i, src, dst) {
                    self.ports[i].dev.drop_front();
                    continue;
                }
            }
            let p = &mut self.ports[i];
            if p.iface.poll_ingress_single(now, &mut p.dev, &mut p.set)
                == PollIngressSingleResult::None
            {
                break;
            }
        }
        let p = &mut self.ports[i];
        for _ in 0..MAX_ROUNDS {
            if p.iface.poll_egress(now, &mut p.dev, &mut p.set) == PollResult::None {
                break;
            }
        }
    }

    fn reap_orphans(&mut self) {
        let mut i = 0;
        while i < self.orphans.len() {
            let k = self.orphans[i].key;
            let done = matches!(
                self.ports[k.port]
                    .set
                    .get_mut::<tcp::Socket>(k.handle)
                    .state(),
                tcp::State::Closed | tcp::State::TimeWait
            );
            if done {
                let o = self.orphans.swap_remove(i);
                self.ports[k.port].set.remove(k.handle);
                if let Some((proto, port, owner)) = o.hold {
                    self.table.release(proto, port, owner);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Compares every socket with what was seen last; records errors from state changes and
    /// returns the queues of the sockets that changed.
    fn changes(&mut self) -> Vec<PollQueue> {
        let mut wake: Vec<PollQueue> = Vec::new();
        let keys: Vec<SockKey> = self.entries.keys().copied().collect();
        for k in keys {
            let snap = self.snapshot(k);
            let e = self
                .entries
                .get_mut(&k)
                .expect("the key was just taken from the entries");
            if snap == e.seen {
                continue;
            }
            use tcp::State::*;
            if let (Some(before), Some(Closed)) = (e.seen.state, snap.state) {
                match before {
                    SynSent => e.error = Some(Errno::ECONNREFUSED),
                    SynReceived | Established | FinWait1 | FinWait2 | CloseWait | Closing => {
                        e.error = Some(Errno::ECONNRESET)
                    }
                    _ => {}
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
            if let Some(mut t) = p.iface.poll_at(now, &p.set) {
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
