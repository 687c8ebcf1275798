//! Pseudo-terminals: `/dev/ptmx` and `/dev/pts/N`, as pty(7) and Linux's devpts describe them.
//!
//! Opening `/dev/ptmx` makes a new pair and its slave node `/dev/pts/N` (mode `crw--w----`,
//! group `tty`, device (136, N)); the master file is returned. The slave starts locked: its
//! open fails with `EIO` until `TIOCSPTLCK` with 0 (unlockpt(3)). `TIOCGPTN` gives N
//! (ptsname(3)); grantpt(3) needs nothing more. Closing the master removes the node, as Linux's
//! `devpts_pty_kill` does; the number is free again once the slaves are closed too.
//!
//! The line discipline is the slave's termios (shared by both sides: TCGETS/TCSETS on the
//! master act on the slave, as on Linux):
//!
//! - master write -> input processing (`ISTRIP`, `INLCR`, `IGNCR`, `ICRNL`), then in `ICANON`
//!   mode line editing (`VERASE`, `VKILL`, `VEOF`, with `IEXTEN` `VWERASE` and `VLNEXT`;
//!   lines end at NL, `VEOL`, `VEOL2`) and
//!   a read returns at most one line; otherwise `VMIN` and `VTIME` decide when a read
//!   returns (see [`PtySlave`]). `ECHO` (`ECHOCTL`, `ECHOE`, `ECHOK`, `ECHONL`) sends
//!   input back to the master through output processing.
//! - slave write -> output processing (`OPOST` with `ONLCR`, `OCRNL`) -> master read.
//!
//! Signals (through the embedder's [`TtySignals`]; the VFS owns no processes): with `ISIG`,
//! the `VINTR`, `VQUIT` and `VSUSP` keys written to the master raise `SIGINT`, `SIGQUIT` and
//! `SIGTSTP` on the foreground process group and flush both directions unless `NOFLSH`
//! (then echo the key, `^C` with `ECHOCTL`); `TIOCSWINSZ` with a new size raises `SIGWINCH`
//! there. The controlling session and foreground group are the slave's
//! [`JobControl`](crate::tty::JobControl), shared with the console: `TIOCSCTTY` (a session
//! leader takes the slave, on either side), `TIOCSPGRP`, `TIOCGPGRP`, `TIOCGSID`,
//! `TIOCNOTTY` as [`crate::tty`] describes; until a session takes the slave there is no
//! foreground group and nothing is raised. Closing the master hangs up that session:
//! `SIGHUP` and `SIGCONT` for the session leader's group (Linux sends them to the session
//! leader alone, which is usually all its group holds).
//!
//! After the master closes, the slave is hung up: read returns 0, write `EIO`, poll reports
//! `IN | OUT | ERR | HUP`. After the last slave closes, the master reads what is left, then
//! `EIO`, and polls `HUP`.
//!
//! `TIOCGPTPEER` on the master ([`open_peer`]) opens its slave without a path, as a new fd
//! (`EIO` while the slave is locked or on a slave); the fd has no location in the tree, so
//! ttyname(3) cannot name it.
//!
//! Job control ([`crate::tty`]): once a session took the slave as its controlling terminal,
//! a process of that session outside the foreground group gets `SIGTTIN` for a slave read,
//! `SIGTTOU` for a slave write while `TOSTOP` is set, and `SIGTTOU` for `TCSETS*` and
//! `TIOCSPGRP` (on either side, as Linux checks them on the slave) and `TCFLSH`/`TCXONC` on
//! the slave; `EIO` instead when it refuses the signal (a read) or its group is orphaned
//! (`ENOTTY` for `TIOCSPGRP`, as Linux's `tiocspgrp`).
//!
//! Not here: `IXON` flow control, packet mode (`TIOCPKT`), and the limits of
//! [`crate::tty`]'s controlling terminals (opening a slave never makes it the controlling
//! terminal, only `TIOCSCTTY` does).

use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::{FileOps, OpenFile};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::CharDriver;
use crate::node::{DeviceId, FileKind, Inode, Metadata, NewAttrs, NewNode};
use crate::readiness::{PollQueue, Waiter, wait_until_ready};
use crate::time::{RealtimeClock, Timestamp};
use crate::tty::{JobControl, NoTtySignals, TtySignals};
use alloc::format;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use discipline::PairState;
use linux_raw_sys::general as raw;
use linux_raw_sys::ioctl as rawio;
use oxv_abi::linux::fs::{
    FIONREAD, OpenFlags, PollEvents, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ, TIOCSWINSZ,
    Termios, Winsize,
};
use oxv_abi::linux::signal::Signal;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use spin::Mutex;

mod discipline;

/// Linux's device number of `/dev/ptmx`.
pub const PTMX_DEVICE: DeviceId = DeviceId::new(5, 2);
/// The major number of Unix98 pty slaves (`/dev/pts/N` is (136, N)).
pub const PTS_MAJOR: u32 = 136;
/// How many pairs may exist at once (Linux's `kernel.pty.max` is larger; a unikernel app needs
/// few). Opening `/dev/ptmx` beyond it fails with `ENOSPC`, as on Linux.
pub const MAX_PTYS: u32 = 256;
/// Bytes each direction buffers before writers wait.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// The `tty` group Linux's devpts gives slave nodes (`gid=5` in the usual mount options).
const TTY_GID: u32 = 5;

/// The pts directory's state: the pairs by number, and where their nodes go.
pub struct PtsTable {
    dir: Arc<dyn Inode>,
    clock: Arc<dyn RealtimeClock>,
    blocker: Arc<dyn Blocker>,
    signals: Arc<dyn TtySignals>,
    pairs: Mutex<Vec<Weak<Pair>>>,
}

impl PtsTable {
    /// A table whose slave nodes go in `dir` (the pts directory), stamped by `clock`, with
    /// blocking reads and writes waiting through `blocker`, raising no signals.
    pub fn new(
        dir: Arc<dyn Inode>,
        clock: Arc<dyn RealtimeClock>,
        blocker: Arc<dyn Blocker>,
    ) -> Arc<PtsTable> {
        PtsTable::with_signals(dir, clock, blocker, Arc::new(NoTtySignals))
    }

    /// As [`PtsTable::new`], raising the terminals' signals through `signals`.
    pub fn with_signals(
        dir: Arc<dyn Inode>,
        clock: Arc<dyn RealtimeClock>,
        blocker: Arc<dyn Blocker>,
        signals: Arc<dyn TtySignals>,
    ) -> Arc<PtsTable> {
        Arc::new(PtsTable {
            dir,
            clock,
            blocker,
            signals,
            pairs: Mutex::new(Vec::new()),
        })
    }

    /// The `/dev/ptmx` driver: each open makes a pair.
    pub fn ptmx_driver(self: &Arc<Self>) -> Arc<dyn CharDriver> {
        Arc::new(PtmxDriver(self.clone()))
    }

    /// The driver of slave `index`, for device (136, `index`).
    pub fn slave_driver(self: &Arc<Self>, index: u32) -> Arc<dyn CharDriver> {
        Arc::new(SlaveDriver {
            table: self.clone(),
            index,
        })
    }

    /// Opens a new master (what opening `/dev/ptmx` does).
    pub fn open_master(self: &Arc<Self>) -> Result<Arc<PtyMaster>, Errno> {
        let mut pairs = self.pairs.lock();
        let index = match pairs.iter().position(|w| w.strong_count() == 0) {
            Some(i) => i,
            None if pairs.len() < MAX_PTYS as usize => {
                pairs.push(Weak::new());
                pairs.len() - 1
            }
            None => return Err(Errno::ENOSPC),
        };
        let index = index as u32;
        let attrs = NewAttrs {
            perm: 0o620,
            uid: 0,
            gid: TTY_GID,
            now: self.clock.now(),
        };
        let name = format!("{index}");
        self.dir.create(
            name.as_bytes(),
            NewNode::CharDevice(DeviceId::new(PTS_MAJOR, index)),
            &attrs,
        )?;
        let pair = Arc::new(Pair {
            index,
            table: Arc::downgrade(self),
            state: Mutex::new(PairState::new()),
            master_queue: PollQueue::new(),
            slave_queue: PollQueue::new(),
            blocker: self.blocker.clone(),
            jobs: JobControl::new(self.signals.clone()),
        });
        pairs[index as usize] = Arc::downgrade(&pair);
        Ok(Arc::new(PtyMaster { pair }))
    }

    /// Opens slave `index`: `EIO` while it is locked or its master is closed.
    pub fn open_slave(&self, index: u32) -> Result<Arc<PtySlave>, Errno> {
        let pair = self
            .pairs
            .lock()
            .get(index as usize)
            .and_then(Weak::upgrade)
            .ok_or(Errno::EIO)?;
        {
            let mut st = pair.state.lock();
            if st.locked || !st.master_open {
                return Err(Errno::EIO);
            }
            st.slaves += 1;
            st.slaves_closed = false;
        }
        Ok(Arc::new(PtySlave { pair }))
    }

    fn remove_node(&self, index: u32) {
        let name = format!("{index}");
        // The app may have removed it already; nothing else to do then.
        let _ = self.dir.unlink(name.as_bytes(), self.clock.now());
    }
}

/// `TIOCGPTPEER` on `file` (ioctl_tty(2)): opens the slave of the master `file` with the
/// open(2) flags `arg` (`O_CLOEXEC` for the new fd) and returns the new fd. `EIO` for a
/// slave or a locked slave, `ENOTTY` for a file that is no pty.
pub fn open_peer(files: &FdTable, file: &OpenFile, arg: u64) -> SysResult {
    let any = file.ops().as_any().ok_or(Errno::ENOTTY)?;
    let Some(master) = any.downcast_ref::<PtyMaster>() else {
        return Err(if any.is::<PtySlave>() {
            Errno::EIO
        } else {
            Errno::ENOTTY
        });
    };
    let flags = OpenFlags::from_bits_truncate(arg as u32);
    let table = master.pair.table.upgrade().ok_or(Errno::EIO)?;
    let slave = table.open_slave(master.pair.index)?;
    let fd = files.insert(
        OpenFile::new_pseudo(slave, flags),
        flags.contains(OpenFlags::CLOEXEC),
    )?;
    Ok(fd as usize)
}

struct PtmxDriver(Arc<PtsTable>);

impl CharDriver for PtmxDriver {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(self.0.open_master()?)
    }
}

struct SlaveDriver {
    table: Arc<PtsTable>,
    index: u32,
}

impl CharDriver for SlaveDriver {
    fn open(&self, _flags: OpenFlags) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(self.table.open_slave(self.index)?)
    }
}

/// One pseudo-terminal pair: the slave's termios and both directions' queues.
pub struct Pair {
    index: u32,
    table: Weak<PtsTable>,
    state: Mutex<PairState>,
    master_queue: PollQueue,
    slave_queue: PollQueue,
    blocker: Arc<dyn Blocker>,
    /// The slave's controlling session and foreground group.
    jobs: JobControl,
}

const ALL_IN: PollEvents = PollEvents::IN.union(PollEvents::RDNORM);
const ALL_OUT: PollEvents = PollEvents::OUT.union(PollEvents::WRNORM);

impl Pair {
    /// The pty number N of `/dev/pts/N`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Writes `src` a chunk at a time through `take`, which returns how many bytes of the
    /// chunk it took (0: no room). Waits on `queue` for room unless `nonblocking`.
    fn write_with(
        &self,
        queue: &PollQueue,
        src: &WriteBuf<'_>,
        nonblocking: bool,
        mut take: impl FnMut(&mut PairState, &[u8]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let mut done = 0usize;
        let mut buf = [0u8; 256];
        let mut waiter: Option<(Arc<Waiter>, crate::readiness::Watch)> = None;
        while done < src.len() {
            let want = (src.len() - done).min(buf.len());
            let got = match src.fetch(done, &mut buf[..want]) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let (r, to_master, to_slave, raised) = {
                let mut st = self.state.lock();
                let before = (st.to_master.len(), st.input.len());
                let r = take(&mut st, &buf[..got]);
                let raised = core::mem::take(&mut st.raised);
                let grew = (st.to_master.len() > before.0, st.input.len() > before.1);
                (r, grew.0, grew.1, raised)
            };
            if !raised.is_empty() {
                // A flush may have made room on both sides.
                self.slave_queue.notify(ALL_OUT);
                self.master_queue.notify(ALL_OUT);
                for sig in raised {
                    self.jobs.signal_foreground(sig);
                }
            }
            // Only a queue that grew is announced, so edge-triggered epoll sees no
            // spurious events.
            if to_master {
                self.master_queue.notify(ALL_IN);
            }
            if to_slave {
                self.slave_queue.notify(ALL_IN);
            }
            match r {
                Ok(0) => {}
                Ok(n) => {
                    done += n;
                    if got < want {
                        break;
                    }
                    continue;
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            if nonblocking {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            match &waiter {
                None => {
                    let w = Waiter::new(&*self.blocker);
                    let watch = w.watch(queue, PollEvents::OUT);
                    waiter = Some((w, watch));
                }
                Some((w, _)) => {
                    if let Err(e) = w.sleep(None) {
                        return if done > 0 { Ok(done) } else { Err(e) };
                    }
                    w.reset();
                }
            }
        }
        Ok(done)
    }

    /// The slave's job control (its controlling session and foreground group).
    pub fn jobs(&self) -> &JobControl {
        &self.jobs
    }

    fn metadata(&self, rdev: DeviceId) -> Metadata {
        Metadata {
            dev: DeviceId::default(),
            ino: 0,
            kind: FileKind::CharDevice,
            perm: 0o620,
            nlink: 1,
            uid: 0,
            gid: TTY_GID,
            rdev,
            size: 0,
            blocks: 0,
            blksize: 1024,
            atime: Timestamp::EPOCH,
            mtime: Timestamp::EPOCH,
            ctime: Timestamp::EPOCH,
        }
    }

    /// The ioctls both sides answer the same way (on the slave's settings). `master` says
    /// which side asks, for FIONREAD and TCFLSH.
    fn tty_ioctl(
        &self,
        master: bool,
        request: u32,
        arg: u64,
        mem: &mut dyn UserMemory,
    ) -> SysResult {
        // Linux checks the mode ioctls and TIOCSPGRP on the slave whichever side is asked,
        // the flushes only on the file's own side (the master is nobody's terminal).
        self.jobs.check_ioctl(request, !master)?;
        if let Some(r) = self.jobs.ioctl(!master, request, arg, mem) {
            return r;
        }
        match request {
            FIONREAD => {
                let st = self.state.lock();
                let n = if master {
                    st.to_master.len()
                } else {
                    st.peek_input(usize::MAX).map_or(0, |(b, _)| b.len())
                };
                drop(st);
                UserPtr::<i32>::new(arg).write(mem, &(n.min(i32::MAX as usize) as i32))?;
                Ok(0)
            }
            TCGETS => {
                let t = self.state.lock().termios;
                UserPtr::<Termios>::new(arg).write(mem, &t)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let t = UserPtr::<Termios>::new(arg).read(mem)?;
                {
                    let mut st = self.state.lock();
                    if request == TCSETSF {
                        st.input.clear();
                        st.line.clear();
                    }
                    st.set_termios(t);
                }
                self.slave_queue.notify(ALL_IN | ALL_OUT);
                self.master_queue.notify(ALL_OUT);
                Ok(0)
            }
            TIOCGWINSZ => {
                let ws = self.state.lock().winsize;
                UserPtr::<Winsize>::new(arg).write(mem, &ws)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let ws = UserPtr::<Winsize>::new(arg).read(mem)?;
                let old = core::mem::replace(&mut self.state.lock().winsize, ws);
                // Linux's tty_do_resize: only a change is announced.
                if old != ws {
                    self.jobs.signal_foreground(Signal::SIGWINCH);
                }
                Ok(0)
            }
            rawio::TCFLSH => {
                let (input, output) = match arg as u32 {
                    raw::TCIFLUSH => (true, false),
                    raw::TCOFLUSH => (false, true),
                    raw::TCIOFLUSH => (true, true),
                    _ => return Err(Errno::EINVAL),
                };
                // The master's input is the slave's output.
                let (input, output) = if master {
                    (output, input)
                } else {
                    (input, output)
                };
                let mut st = self.state.lock();
                if input {
                    st.input.clear();
                    st.line.clear();
                }
                if output {
                    st.to_master.clear();
                }
                drop(st);
                self.slave_queue.notify(ALL_OUT);
                self.master_queue.notify(ALL_OUT);
                Ok(0)
            }
            rawio::TCXONC => Ok(0),
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// The master side of a pair: what `/dev/ptmx` opens. Dropping it closes the master.
pub struct PtyMaster {
    pair: Arc<Pair>,
}

impl PtyMaster {
    /// The pair.
    pub fn pair(&self) -> &Arc<Pair> {
        &self.pair
    }
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        self.pair.state.lock().master_open = false;
        self.pair.jobs.hang_up();
        if let Some(table) = self.pair.table.upgrade() {
            table.remove_node(self.pair.index);
        }
        self.pair
            .slave_queue
            .notify(ALL_IN | ALL_OUT | PollEvents::ERR | PollEvents::HUP);
    }
}

impl FileOps for PtyMaster {
    /// Slave output; `EIO` once it is drained and every slave has closed.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        if dst.is_empty() {
            return Ok(0);
        }
        let pair = &*self.pair;
        let n = wait_until_ready(
            &*pair.blocker,
            &pair.master_queue,
            PollEvents::IN,
            nonblocking,
            || {
                let mut st = pair.state.lock();
                if st.to_master.is_empty() {
                    return Err(if st.slaves_closed {
                        Errno::EIO
                    } else {
                        Errno::EAGAIN
                    });
                }
                let (a, b) = st.to_master.as_slices();
                let mut got = dst.fill(0, &a[..a.len().min(dst.len())])?;
                if got == a.len() && got < dst.len() && !b.is_empty() {
                    got += dst
                        .fill(got, &b[..b.len().min(dst.len() - got)])
                        .unwrap_or(0);
                }
                st.to_master.drain(..got);
                Ok(got)
            },
        )?;
        pair.slave_queue.notify(ALL_OUT);
        Ok(n)
    }

    /// Input for the slave, through its line discipline.
    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        let count =
            self.pair
                .write_with(&self.pair.master_queue, src, nonblocking, |st, bytes| {
                    let n = bytes.len().min(st.input_room());
                    for &c in &bytes[..n] {
                        st.input_byte(c);
                    }
                    Ok(n)
                })?;
        Ok(Written { count, end: 0 })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self.pair.metadata(PTMX_DEVICE))
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        match request {
            rawio::TIOCGPTN => {
                UserPtr::<u32>::new(arg).write(mem, &self.pair.index)?;
                Ok(0)
            }
            rawio::TIOCSPTLCK => {
                let lock = UserPtr::<i32>::new(arg).read(mem)?;
                self.pair.state.lock().locked = lock != 0;
                Ok(0)
            }
            rawio::TIOCGPTLCK => {
                let locked = i32::from(self.pair.state.lock().locked);
                UserPtr::<i32>::new(arg).write(mem, &locked)?;
                Ok(0)
            }
            _ => self.pair.tty_ioctl(true, request, arg, mem),
        }
    }

    fn poll(&self) -> PollEvents {
        let st = self.pair.state.lock();
        let mut ev = PollEvents::empty();
        if !st.to_master.is_empty() {
            ev |= ALL_IN;
        }
        if st.input_room() > 0 {
            ev |= ALL_OUT;
        }
        if st.slaves_closed {
            ev |= PollEvents::HUP;
        }
        ev
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.pair.master_queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// An open slave, `/dev/pts/N`. Dropping it closes it.
pub struct PtySlave {
    pair: Arc<Pair>,
}

/// `VTIME` counts tenths of a second.
const VTIME_NS: u64 = 100_000_000;

impl PtySlave {
    /// One read attempt; `EAGAIN` to wait (until `deadline`, which it sets when `VTIME`
    /// starts counting). Non-canonical reads follow termios(3)'s four `VMIN`/`VTIME` cases,
    /// except that `VTIME` with `VMIN` > 0 counts from the first byte seen, not from each.
    fn try_read(
        &self,
        dst: &mut ReadBuf<'_>,
        nonblocking: bool,
        deadline: &mut Option<u64>,
    ) -> Result<usize, Errno> {
        let pair = &*self.pair;
        let mut st = pair.state.lock();
        if !st.master_open {
            return Ok(0);
        }
        if !st.lflag(raw::ICANON) {
            let (vmin, vtime) = (usize::from(st.cc(raw::VMIN)), u64::from(st.cc(raw::VTIME)));
            let avail = st.input.len();
            let timed_out = deadline.is_some_and(|d| pair.blocker.now_ns() >= d);
            let ready = if vmin == 0 {
                avail > 0 || vtime == 0 || timed_out
            } else {
                avail >= vmin.min(dst.len()) || (avail > 0 && (nonblocking || timed_out))
            };
            if !ready {
                if vtime > 0 && deadline.is_none() && (vmin == 0 || avail > 0) {
                    *deadline = Some(pair.blocker.now_ns() + vtime * VTIME_NS);
                }
                return Err(Errno::EAGAIN);
            }
        }
        let Some((bytes, used)) = st.peek_input(dst.len()) else {
            return Err(Errno::EAGAIN);
        };
        let got = dst.fill(0, &bytes)?;
        // A short copy (a fault) consumes only what was copied.
        let used = if got == bytes.len() { used } else { got };
        st.input.drain(..used);
        Ok(got)
    }
}

impl Drop for PtySlave {
    fn drop(&mut self) {
        {
            let mut st = self.pair.state.lock();
            st.slaves -= 1;
            if st.slaves == 0 {
                st.slaves_closed = true;
            }
        }
        self.pair.master_queue.notify(ALL_IN | PollEvents::HUP);
    }
}

impl FileOps for PtySlave {
    /// Input from the master (a line at a time in canonical mode); 0 once the master closed.
    fn read(&self, _offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        let pair = &*self.pair;
        if !pair.state.lock().master_open {
            return Ok(0);
        }
        // As n_tty_read, before anything else (an empty read too).
        pair.jobs.check(Signal::SIGTTIN)?;
        if dst.is_empty() {
            return Ok(0);
        }
        let mut deadline = None;
        let mut waiter: Option<(Arc<Waiter>, crate::readiness::Watch)> = None;
        loop {
            if let Some((w, _)) = &waiter {
                w.reset();
            }
            match self.try_read(dst, nonblocking, &mut deadline) {
                Err(Errno::EAGAIN) if !nonblocking => {}
                Ok(n) => {
                    pair.master_queue.notify(ALL_OUT);
                    return Ok(n);
                }
                Err(e) => return Err(e),
            }
            match &waiter {
                None => {
                    let w = Waiter::new(&*pair.blocker);
                    let watch = w.watch(&pair.slave_queue, PollEvents::IN);
                    waiter = Some((w, watch));
                }
                Some((w, _)) => w.sleep(deadline)?,
            }
        }
    }

    /// Output to the master, post-processed; `EIO` once the master closed.
    fn write(
        &self,
        _pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        let tostop = {
            let st = self.pair.state.lock();
            if !st.master_open {
                return Err(Errno::EIO);
            }
            st.lflag(raw::TOSTOP)
        };
        if tostop {
            self.pair.jobs.check(Signal::SIGTTOU)?;
        }
        let count =
            self.pair
                .write_with(&self.pair.slave_queue, src, nonblocking, |st, bytes| {
                    if !st.master_open {
                        return Err(Errno::EIO);
                    }
                    let room = BUFFER_SIZE.saturating_sub(st.to_master.len());
                    // Up to two bytes out per byte in (ONLCR).
                    let n = bytes.len().min(room / 2);
                    for &c in &bytes[..n] {
                        st.output(c);
                    }
                    Ok(n)
                })?;
        Ok(Written { count, end: 0 })
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(self
            .pair
            .metadata(DeviceId::new(PTS_MAJOR, self.pair.index)))
    }

    fn ioctl(&self, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if !self.pair.state.lock().master_open {
            // A hung-up terminal answers nothing but EIO, as Linux's hung_up_tty_ioctl.
            return Err(Errno::EIO);
        }
        self.pair.tty_ioctl(false, request, arg, mem)
    }

    fn poll(&self) -> PollEvents {
        let st = self.pair.state.lock();
        if !st.master_open {
            return ALL_IN | ALL_OUT | PollEvents::ERR | PollEvents::HUP;
        }
        let mut ev = PollEvents::empty();
        if st.slave_readable() {
            ev |= ALL_IN;
        }
        if st.to_master.len() < BUFFER_SIZE {
            ev |= ALL_OUT;
        }
        ev
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(&self.pair.slave_queue)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
