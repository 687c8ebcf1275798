//! [`SocketOps`] for [`UnixSocket`]: the calls, with Linux's `af_unix.c` error order.

use super::*;

impl SocketOps for UnixSocket {
    fn family(&self) -> u32 {
        n::AF_UNIX
    }

    fn sock_type(&self) -> u32 {
        self.kind
    }

    fn protocol(&self) -> u32 {
        0
    }

    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn parse_addr(&self, raw: &RawAddr) -> Result<SockAddr, Errno> {
        if self.kind == n::SOCK_DGRAM && raw.family() == Some(n::AF_UNSPEC) {
            return Ok(SockAddr::Unspec);
        }
        SockAddr::parse_unix(raw)
    }

    fn bind(&self, cx: &Caller<'_>, addr: SockAddr) -> Result<(), Errno> {
        let SockAddr::Unix(name) = addr else {
            return Err(Errno::EINVAL);
        };
        self.bind_name(cx, name)
    }

    fn connect(&self, cx: &Caller<'_>, addr: SockAddr, wait: Wait) -> Result<(), Errno> {
        let name = match addr {
            SockAddr::Unix(UnixName::Unnamed) => return Err(Errno::EINVAL),
            SockAddr::Unix(name) => name,
            SockAddr::Unspec => {
                let mut st = self.st.lock();
                st.conn = Conn::Idle;
                st.peer_name = UnixName::Unnamed;
                return Ok(());
            }
            _ => return Err(Errno::EINVAL),
        };
        if self.kind == n::SOCK_DGRAM {
            let target = self.resolve(cx, &name)?;
            let mut st = self.st.lock();
            st.conn = Conn::Connected(Arc::downgrade(&target));
            st.peer_name = name;
            return Ok(());
        }
        match self.st.lock().conn {
            Conn::Connected(_) => return Err(Errno::EISCONN),
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Idle => {}
        }
        let target = self.resolve(cx, &name)?;
        let me = self.me.upgrade().ok_or(Errno::EBADF)?;
        let (my_name, my_cred) = {
            let st = self.st.lock();
            (st.name.clone(), st.cred)
        };
        wait_for(&*self.blocker, &target.queue, PollEvents::OUT, wait, || {
            let mut ts = target.st.lock();
            let (listen_name, listen_cred) = (ts.name.clone(), ts.cred);
            let Conn::Listening { backlog, pending } = &mut ts.conn else {
                return Err(Errno::ECONNREFUSED);
            };
            if pending.len() > *backlog {
                return Err(Errno::EAGAIN);
            }
            let srv = UnixSocket::new(&self.ns, &self.blocker, self.kind, listen_cred);
            *srv.opts.lock() = target.opts.lock().clone();
            {
                let mut ss = srv.st.lock();
                ss.name = listen_name.clone();
                ss.embryo = true;
                ss.peer_name = my_name.clone();
            }
            link(&me, &srv);
            {
                let mut st = self.st.lock();
                st.peer_name = listen_name;
                st.peer_cred = Some(listen_cred);
            }
            srv.st.lock().peer_cred = Some(my_cred);
            pending.push_back(srv);
            Ok(())
        })
        .map_err(|e| if e == Errno::EAGAIN { Errno::EAGAIN } else { e })?;
        target.queue.notify(PollEvents::IN | PollEvents::RDNORM);
        Ok(())
    }

    fn listen(&self, _cx: &Caller<'_>, backlog: i32) -> Result<(), Errno> {
        if self.kind == n::SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = (backlog as u32 as usize).min(4096);
        let mut st = self.st.lock();
        if st.key.is_none() {
            return Err(Errno::EINVAL);
        }
        match &mut st.conn {
            Conn::Connected(_) => return Err(Errno::EINVAL),
            Conn::Listening { backlog: b, .. } => *b = backlog,
            c @ Conn::Idle => {
                *c = Conn::Listening {
                    backlog,
                    pending: VecDeque::new(),
                }
            }
        }
        drop(st);
        self.queue.notify(PollEvents::OUT);
        Ok(())
    }

    fn accept(&self, wait: Wait) -> Result<(Arc<dyn SocketOps>, SockAddr), Errno> {
        if self.kind == n::SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let srv = wait_for(&*self.blocker, &self.queue, PollEvents::IN, wait, || {
            let mut st = self.st.lock();
            let Conn::Listening { pending, .. } = &mut st.conn else {
                return Err(Errno::EINVAL);
            };
            pending.pop_front().ok_or(Errno::EAGAIN)
        })?;
        self.queue.notify(PollEvents::OUT);
        let peer = {
            let mut ss = srv.st.lock();
            ss.embryo = false;
            ss.peer_name.clone()
        };
        Ok((srv, SockAddr::Unix(peer)))
    }

    fn send(&self, msg: Outgoing<'_>, wait: Wait) -> Result<usize, Errno> {
        if msg.flags & n::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let Outgoing {
            data,
            to,
            rights,
            cred,
            flags,
            cx,
        } = msg;
        let mut rights = rights;
        let msg = Outgoing {
            data,
            to: None,
            rights: Vec::new(),
            cred: None,
            flags,
            cx: None,
        };
        let r = self.send_parts(&msg, to, &mut rights, cred, cx, wait);
        // Files not sent: their last reference may go here.
        crate::socket::drop_files(rights);
        r
    }

    fn recv(&self, dst: &mut dyn Sink, flags: u32, wait: Wait) -> Result<Received, Errno> {
        if flags & n::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        match (&self.st.lock().conn, self.kind) {
            (Conn::Listening { .. }, _) => return Err(Errno::EINVAL),
            (Conn::Idle, n::SOCK_STREAM) => return Err(Errno::EINVAL),
            (Conn::Idle, n::SOCK_SEQPACKET) => return Err(Errno::ENOTCONN),
            _ => {}
        }
        let waitall =
            self.kind == n::SOCK_STREAM && flags & n::MSG_WAITALL != 0 && flags & n::MSG_PEEK == 0;
        let first = wait_for(&*self.blocker, &self.queue, PollEvents::IN, wait, || {
            self.take(dst, flags)
        })?;
        if !waitall || first.len == 0 || first.len >= dst.len() || !first.rights.is_empty() {
            return Ok(first);
        }
        // MSG_WAITALL: keep filling the rest of the buffer.
        let mut out = first;
        while out.len < dst.len() {
            let mut rest = Offset {
                inner: dst,
                at: out.len,
            };
            match wait_for(&*self.blocker, &self.queue, PollEvents::IN, wait, || {
                self.take(&mut rest, flags)
            }) {
                Ok(r) if r.len == 0 => {
                    crate::socket::drop_files(r.rights);
                    break;
                }
                Ok(r) => {
                    out.len += r.len;
                    if !r.rights.is_empty() {
                        out.rights = r.rights;
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Ok(out)
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        let (rd, wr) = (
            how == n::SHUT_RD || how == n::SHUT_RDWR,
            how == n::SHUT_WR || how == n::SHUT_RDWR,
        );
        {
            let mut rx = self.rx.lock();
            rx.rcv_shut |= rd;
            rx.snd_shut |= wr;
        }
        self.queue.notify(PollEvents::empty());
        if self.connection_oriented() {
            if let Some(p) = self.peer() {
                {
                    let mut prx = p.rx.lock();
                    prx.snd_shut |= rd;
                    prx.rcv_shut |= wr;
                }
                p.queue.notify(PollEvents::empty());
            }
        }
        Ok(())
    }

    fn local_addr(&self) -> SockAddr {
        SockAddr::Unix(self.st.lock().name.clone())
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let st = self.st.lock();
        match &st.conn {
            Conn::Connected(_) => Ok(SockAddr::Unix(st.peer_name.clone())),
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn set_option(&self, level: u32, name: u32, val: &[u8]) -> Result<(), Errno> {
        if level != n::SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        set_common(&mut self.opts.lock(), name, val)
    }

    fn get_option(&self, level: u32, name: u32) -> Result<Vec<u8>, Errno> {
        if level != n::SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        get_common(&self.opts.lock(), name)
    }

    fn take_error(&self) -> Option<Errno> {
        self.rx.lock().error.take()
    }

    fn is_listening(&self) -> bool {
        matches!(self.st.lock().conn, Conn::Listening { .. })
    }

    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::empty();
        let (listening, connected, peer) = {
            let st = self.st.lock();
            match &st.conn {
                Conn::Listening { pending, .. } => (Some(!pending.is_empty()), false, None),
                Conn::Connected(p) => (None, true, p.upgrade()),
                Conn::Idle => (None, false, None),
            }
        };
        if let Some(ready) = listening {
            if ready {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            return ev;
        }
        let rx = self.rx.lock();
        if rx.rcv_shut && rx.snd_shut {
            ev |= PollEvents::HUP;
        }
        if rx.rcv_shut {
            ev |= PollEvents::IN | PollEvents::RDNORM | PollEvents::RDHUP;
        }
        if !rx.msgs.is_empty() {
            ev |= PollEvents::IN | PollEvents::RDNORM;
        }
        if rx.error.is_some() {
            ev |= PollEvents::ERR;
        }
        let snd_shut = rx.snd_shut;
        drop(rx);
        if self.connection_oriented() && !connected {
            ev |= PollEvents::HUP;
        }
        let writable = !snd_shut
            && match (&peer, self.connection_oriented()) {
                (Some(p), _) => !self.queue_full(&p.rx.lock(), 1),
                (None, oriented) => !oriented || !connected,
            };
        if writable {
            ev |= PollEvents::OUT | PollEvents::WRNORM;
        }
        ev
    }

    fn poll_queue(&self) -> &PollQueue {
        &self.queue
    }

    fn bytes_readable(&self) -> usize {
        let rx = self.rx.lock();
        if self.kind == n::SOCK_DGRAM {
            rx.msgs.front().map_or(0, |m| m.data.len())
        } else {
            rx.bytes
        }
    }

    fn bytes_unsent(&self) -> usize {
        self.peer().map_or(0, |p| p.rx.lock().bytes)
    }

    fn peer_cred(&self) -> Option<Ucred> {
        self.st.lock().peer_cred
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl UnixSocket {
    /// send(2) with `msg`'s data and flags; `rights` are taken when queued.
    fn send_parts(
        &self,
        msg: &Outgoing<'_>,
        to: Option<SockAddr>,
        rights: &mut Vec<Arc<OpenFile>>,
        cred: Option<Ucred>,
        cx: Option<&Caller<'_>>,
        wait: Wait,
    ) -> Result<usize, Errno> {
        let (my_name, my_cred) = {
            let st = self.st.lock();
            (st.name.clone(), st.cred)
        };
        let cred = cred.unwrap_or(my_cred);
        let total = msg.data.len();
        if self.kind == n::SOCK_DGRAM {
            if total > MAX_DGRAM {
                return Err(Errno::EMSGSIZE);
            }
            let target = match to {
                Some(SockAddr::Unix(name)) => match cx {
                    Some(cx) => self.resolve(cx, &name)?,
                    None => self.resolve_named(&name)?,
                },
                Some(_) => return Err(Errno::EINVAL),
                None => match &self.st.lock().conn {
                    Conn::Connected(p) => p.upgrade().ok_or(Errno::ECONNREFUSED)?,
                    _ => return Err(Errno::ENOTCONN),
                },
            };
            if let Conn::Connected(p) = &target.st.lock().conn {
                if !Weak::ptr_eq(p, &self.me) {
                    return Err(Errno::EPERM);
                }
            }
            if target.rx.lock().rcv_shut {
                return Err(Errno::EPIPE);
            }
            let mut data = self.copy_whole(msg)?;
            return wait_for(&*self.blocker, &target.queue, PollEvents::OUT, wait, || {
                self.enqueue(&target, &mut data, rights, &my_name, cred)
            });
        }
        let peer = {
            let st = self.st.lock();
            match (&st.conn, to.is_some()) {
                (Conn::Connected(_), true) => return Err(Errno::EISCONN),
                (_, true) => return Err(Errno::EOPNOTSUPP),
                (Conn::Connected(p), false) => p.upgrade(),
                _ => return Err(Errno::ENOTCONN),
            }
        };
        if self.rx.lock().snd_shut {
            return Err(Errno::EPIPE);
        }
        let peer = peer.ok_or(Errno::EPIPE)?;
        if self.kind == n::SOCK_SEQPACKET {
            if total > STREAM_CAP {
                return Err(Errno::EMSGSIZE);
            }
            let mut data = self.copy_whole(msg)?;
            return wait_for(&*self.blocker, &self.queue, PollEvents::OUT, wait, || {
                if self.rx.lock().snd_shut {
                    return Err(Errno::EPIPE);
                }
                self.enqueue(&peer, &mut data, rights, &my_name, cred)
            });
        }
        let mut done = 0usize;
        loop {
            if done > 0 && self.blocker.fatal_signal_pending() {
                // Being killed: no more buffers queued for it; its count never reaches it.
                return Ok(done);
            }
            let r = wait_for(&*self.blocker, &self.queue, PollEvents::OUT, wait, || {
                if self.rx.lock().snd_shut {
                    return Err(Errno::EPIPE);
                }
                self.deliver_stream(&peer, msg, done, rights, &my_name, cred)
            });
            match r {
                Ok(k) => {
                    done += k;
                    if done >= total {
                        return Ok(done);
                    }
                }
                Err(_) if done > 0 => return Ok(done),
                Err(e) => return Err(e),
            }
        }
    }

    /// A datagram or record copied whole from the app (with no lock held): `EFAULT` if any
    /// of it faults, `ENOBUFS` if the kernel heap has no room for it.
    fn copy_whole(&self, msg: &Outgoing<'_>) -> Result<Vec<u8>, Errno> {
        let total = msg.data.len();
        // Fallible: up to 208 KiB, more than the heap's emergency reserve in a small VM
        // (Linux's `sock_alloc_send_pskb` fails with `ENOBUFS` too).
        let mut data = crate::stack::try_zeroed(total).ok_or(Errno::ENOBUFS)?;
        if msg.data.fetch(0, &mut data)? < total {
            return Err(Errno::EFAULT);
        }
        Ok(data)
    }

    /// Finds the socket an abstract name names (for a send without the caller's file-system
    /// view; paths need it).
    fn resolve_named(&self, name: &UnixName) -> Result<Arc<UnixSocket>, Errno> {
        match name {
            UnixName::Abstract(a) => {
                let t = self
                    .ns
                    .lookup(&NameKey::Abstract(a.clone()))
                    .ok_or(Errno::ECONNREFUSED)?;
                if t.kind != self.kind {
                    return Err(Errno::EPROTOTYPE);
                }
                Ok(t)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
