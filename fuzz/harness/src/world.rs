//! The process a fuzz input acts on, built like `oxv-kernel`'s boot builds the app's
//! (`crates/kernel/src/boot.rs`, `build_fs` and the address-space setup), over fakes.
//!
//! - Files: a tmpfs root unpacked from an initramfs (`/etc/passwd`, `/data/small`,
//!   `/data/dir/a`, symlinks `/data/link` → `small` and a loop `/data/loop` → `loop`), `/tmp`
//!   (1777), devfs on `/dev`, procfs on `/proc`, and a terminal on fds 0-2.
//! - Memory: an [`AddressSpace`] over [`FakePageTable`] with a 128 KiB stack (growing down to
//!   8 MiB), a program break, a 64 KiB read-write scratch region and a 16 KiB read-only
//!   region; 16 MiB of fake RAM.
//! - Signals and limits: a fresh [`SignalState`] and [`Rlimits`]; time: a [`TscClock`] at
//!   1 GHz whose counter advances 1 µs per call, and a [`FakeSleeper`].
//! - Blocking and the monotonic clock of the file and socket calls: a [`FakeBlocker`] (a wait
//!   with a deadline moves its clock there, a wait without one is `EINTR`), moved forward
//!   [`TICK_NS`] per system call, as time passes between an app's calls.
//! - Sockets: an [`oxv_net::Net`] (the loopback stack and the `AF_UNIX` namespace) on that
//!   clock, polled when its timer is due, as the kernel's `net.rs` polls it from an app timer.
//! - Event files: memfds keep their pages in a [`HeapMemory`] of their own (so that a leak of
//!   one is seen at teardown), timerfds run on [`EventTimers`] over the same clock, signalfds
//!   read a [`NoSignals`] source (the harness delivers no signals).
//! - Threads: [`THREADS`] fake threads ([`FakeThreads`]) that take turns making the calls,
//!   for futex(2): a `FUTEX_WAIT` that blocks parks its thread on oxv-sched's futex table and
//!   the next runnable one makes the following calls (see `route/futex.rs` for the rules).

use crate::Options;
use crate::input::{
    BRK_BASE, MMAP_BASE, RO_BASE, RO_LEN, SCRATCH_BASE, SCRATCH_LEN, STACK_TOP, STRINGS,
};
use oxv_abi::UserMemory;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::fs::{PollEvents, Winsize};
use oxv_abi::linux::signal::SigSet;
use oxv_mm::fake::{FakeMachine, FakePageTable};
use oxv_mm::{AddressSpace, AddressSpaceConfig, MapSource, Platform, Prot, VmaKind};
use oxv_net::Net;
use oxv_net::stack::PollTimer;
use oxv_sched::clock::TscClock;
use oxv_sched::futex::FutexKey;
use oxv_sched::rlimit::Rlimits;
use oxv_sched::signal::SignalState;
use oxv_sched::sleep::fake::FakeSleeper;
use oxv_sched::testing::FakeFutexScheduler;
use oxv_vfs::device::{CharDevice, Terminal};
use oxv_vfs::fake::{FakeBlocker, FakeClock, FakeConsole, FakeEntropy, FakeProcess};
use oxv_vfs::procfs::ProcFs;
use oxv_vfs::readiness::PollQueue;
use oxv_vfs::signalfd::{SignalSource, SignalfdSiginfo};
use oxv_vfs::timerfd::{FirstExpiry, TimerClock, TimerFd, TimerFdClock, TimerSetting};
use oxv_vfs::tmpfs::{FileMemory, HeapMemory, Tmpfs};
use oxv_vfs::{
    Blocker, DeviceId, FdTable, FileSystem, FsContext, MountFlags, OpenFile, ReadBuf,
    RealtimeClock, Vfs, devfs, initramfs,
};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Frames of fake RAM (16 MiB).
pub const RAM_FRAMES: usize = 4096;
/// The most pages the files of the root tmpfs hold, and those of the memfds (64 MiB each):
/// the kernel's tmpfs stops at the end of RAM (`ENOSPC`); without a bound here a 64 PB
/// fallocate(2) ran the host's heap out instead (docs/robustness.md, bug 11).
pub const FILE_PAGES: usize = 16384;
/// The size of the initial stack mapping.
pub const STACK_SIZE: u64 = 0x2_0000;
/// The process id.
pub const PID: i32 = 1;
/// The app's stack pointer as sigaltstack(2) sees it.
pub const USER_SP: u64 = STACK_TOP - 0x100;
/// How far the monotonic clock moves per system call (1 ms: TCP's timers get to run within
/// an input of a few hundred calls).
pub const TICK_NS: u64 = 1_000_000;
/// `CLOCK_REALTIME` at monotonic time 0, for absolute timerfd expiries (the vfs clock's
/// epoch).
const REALTIME_AT_BOOT_NS: u64 = 1_700_000_000 * 1_000_000_000;

thread_local! {
    /// Fake RAM outlives one input: `FakeMachine` leaks its frame metadata, so it is built once
    /// per thread and every input must give all frames back (checked at teardown).
    static MACHINE: RefCell<Option<FakeMachine>> = const { RefCell::new(None) };
    /// The inode a file-I/O call is working on, while it runs (see [`FileMapSource`]).
    static FILE_UNDER_IO: Cell<Option<(DeviceId, u64)>> = const { Cell::new(None) };
}

/// A file mapped into memory: the harness's copy of `crates/kernel/src/file_map.rs`, plus a
/// detector for the re-entrant read that deadlocks tmpfs (docs/robustness.md, bug 1).
pub struct FileMapSource {
    file: Arc<OpenFile>,
    id: (DeviceId, u64),
    strict: bool,
}

impl MapSource for FileMapSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, oxv_abi::Errno> {
        if FILE_UNDER_IO.get() == Some(self.id) {
            // The handler that brought us here holds this inode's lock across its user copy:
            // reading the file again spins on that lock forever.
            assert!(
                !self.strict,
                "deadlock: a page of a private file mapping faulted in while a read/write of \
                 the same file holds its inode lock (tmpfs Node::read_at/write_at)"
            );
            return Err(oxv_abi::Errno::EIO);
        }
        self.file.read_at(offset, &mut ReadBuf::kernel(buf))
    }
}

/// Marks the inode of `fd` as under I/O for the duration of `f` (see [`FileMapSource`]).
pub fn with_file_io<R>(files: &FdTable, fd: i32, f: impl FnOnce() -> R) -> R {
    let id = files
        .get(fd)
        .ok()
        .and_then(|file| file.stat().ok())
        .map(|m| (m.dev, m.ino));
    let saved = FILE_UNDER_IO.replace(id);
    let r = f();
    FILE_UNDER_IO.set(saved);
    r
}

/// The process state a syscall handler may need, apart from its memory.
pub struct Process {
    /// Root, cwd, umask.
    pub cx: FsContext,
    /// Open files.
    pub files: FdTable,
    /// Signal dispositions, mask, alternate stack.
    pub signals: SignalState,
    /// Resource limits.
    pub limits: Rlimits,
    /// The time-stamp counter's clock.
    pub clock: TscClock,
    /// The counter, advanced on every read.
    pub tsc: u64,
    /// What nanosleep blocks on.
    pub sleeper: FakeSleeper,
    /// What poll, epoll and sockets block on; its clock is the monotonic clock.
    pub blocker: FakeBlocker,
    /// Sockets: the loopback stack and the `AF_UNIX` namespace.
    pub net: Arc<Net>,
    /// When the stack asked to be polled.
    pub net_timer: Arc<NetTimer>,
    /// The pages of memfds.
    pub memfd_pages: Arc<HeapMemory>,
    /// The timers of timerfds.
    pub timers: Arc<EventTimers>,
    /// Where signalfds read signals from.
    pub signal_source: Arc<NoSignals>,
    /// The threads that make the calls, and the futex table they park on.
    pub threads: FakeThreads,
    /// Results of the calls so far (for `Arg::Result`).
    pub results: Vec<u64>,
    /// Whether known bugs fail the run.
    pub strict: bool,
}

impl Process {
    /// Reads the time-stamp counter (it moves 1 µs per read).
    pub fn rdtsc(&mut self) -> u64 {
        self.tsc += 1000;
        self.tsc
    }

    /// Time passes between two calls: the monotonic clock moves [`TICK_NS`], then the network
    /// stack runs if its timer is due and timerfds whose time came expire (the kernel's app
    /// timers).
    pub fn tick(&mut self) {
        self.blocker.advance(TICK_NS);
        self.run_timers();
    }

    /// Runs what is due at the current time (see [`Process::tick`]).
    pub fn run_timers(&self) {
        let now = self.blocker.now_ns();
        if self.net_timer.take_due(now) {
            self.net.stack().poll();
        }
        self.timers.fire_due(now);
    }

    /// The memfd page store as memfd_create(2) takes it.
    pub fn memfd_memory(&self) -> Arc<dyn FileMemory> {
        self.memfd_pages.clone()
    }

    /// An open file as a memory-mapping source.
    pub fn map_source(&self, file: Arc<OpenFile>) -> Option<Arc<dyn MapSource>> {
        let m = file.stat().ok()?;
        Some(Arc::new(FileMapSource {
            file,
            id: (m.dev, m.ino),
            strict: self.strict,
        }))
    }
}

/// The process and its address space.
pub struct World {
    /// Everything but memory.
    pub proc: Process,
    /// The address space.
    pub mm: AddressSpace<FakePageTable>,
    /// Fake RAM, TLB and frame contents (taken from the thread's slot; `None` after
    /// teardown).
    machine: Option<FakeMachine>,
    /// Free frames before the address space was built.
    free_at_start: usize,
}

impl World {
    /// A fresh process (see the [module docs](self)).
    pub fn new(options: Options) -> World {
        let mut machine = MACHINE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| FakeMachine::new(RAM_FRAMES));
        let free_at_start = machine.frames.free_frames();
        let (cx, files) = build_fs();
        let mut mm = AddressSpace::new(FakePageTable::new(), AddressSpaceConfig::new(MMAP_BASE));
        build_memory(&mut mm, &mut machine.platform());
        let blocker = FakeBlocker::new();
        let net_timer = Arc::new(NetTimer::default());
        let net = Net::new(Arc::new(blocker.clone()), net_timer.clone(), 0x5eed);
        let timers = Arc::new(EventTimers::new(blocker.clone()));
        let threads = FakeThreads::new(blocker.clone());
        World {
            proc: Process {
                cx,
                files,
                signals: SignalState::new(),
                limits: Rlimits::new((RAM_FRAMES * 4096) as u64),
                clock: TscClock::new(1_000_000_000, 0, 1_700_000_000_000_000_000),
                tsc: 1_000_000,
                sleeper: FakeSleeper::new(),
                blocker,
                net,
                net_timer,
                memfd_pages: Arc::new(HeapMemory::with_limit(FILE_PAGES)),
                timers,
                signal_source: Arc::new(NoSignals::default()),
                threads,
                results: Vec::new(),
                strict: options.strict,
            },
            mm,
            machine: Some(machine),
            free_at_start,
        }
    }

    /// Runs `f` with the address space and a platform for it.
    pub fn with_mm<R>(
        &mut self,
        f: impl FnOnce(&mut AddressSpace<FakePageTable>, &mut Platform<'_>) -> R,
    ) -> R {
        let machine = self
            .machine
            .as_mut()
            .expect("the machine is only taken back at teardown");
        f(&mut self.mm, &mut machine.platform())
    }

    /// Runs `f` with the app's memory (oxv-mm's software view of the address space, as a
    /// [`UserMemory`]) and the rest of the process.
    pub fn with_mem<R>(&mut self, f: impl FnOnce(&mut dyn UserMemory, &mut Process) -> R) -> R {
        let machine = self
            .machine
            .as_mut()
            .expect("the machine is only taken back at teardown");
        let mut plat = machine.platform();
        let mut mem = self.mm.user_memory(&mut plat);
        f(&mut mem, &mut self.proc)
    }

    /// The fake RAM.
    pub fn machine(&self) -> &FakeMachine {
        self.machine
            .as_ref()
            .expect("the machine is only taken back at teardown")
    }

    /// Frames free before the address space was built.
    pub fn free_at_start(&self) -> usize {
        self.free_at_start
    }

    /// Ends the wait of every parked thread and checks that no waiter is left in the futex
    /// table; destroys the address space and checks that every frame came back; then closes every
    /// fd and checks that nothing outlives them (no memfd page, no timer), and lets the
    /// network stack end the connections closed (20 simulated minutes of polls).
    pub fn teardown(mut self) -> Result<(), String> {
        self.with_mem(|mem, p| p.threads.teardown(mem))?;
        self.unmap_all()?;
        self.close_all()
    }

    fn unmap_all(&mut self) -> Result<(), String> {
        let mut machine = self
            .machine
            .take()
            .expect("the machine is only taken back at teardown");
        let mm = std::mem::replace(
            &mut self.mm,
            AddressSpace::new(FakePageTable::new(), AddressSpaceConfig::new(MMAP_BASE)),
        );
        let pt = mm.teardown(&mut machine.platform());
        // The fake TLB records every flush: forget them, or a long campaign grows without end.
        let _ = machine.tlb.take_flushed();
        let (free, start) = (machine.frames.free_frames(), self.free_at_start);
        let left = pt.entries().count();
        MACHINE.with(|m| *m.borrow_mut() = Some(machine));
        if left != 0 {
            return Err(format!("{left} page-table entries left after teardown"));
        }
        if free != start {
            return Err(format!(
                "frame leak: {free} frames free after teardown, {start} before the process"
            ));
        }
        Ok(())
    }

    fn close_all(self) -> Result<(), String> {
        let p = self.proc;
        // close_range(0, ~0, 0) cannot fail on a table without a fault to copy.
        let _ = oxv_vfs::syscalls::dup::close_range(&p.files, 0, u32::MAX, 0);
        drop(p.files);
        let pages = p.memfd_pages.frames();
        if pages != 0 {
            return Err(format!(
                "memfd leak: {pages} pages allocated after every fd closed"
            ));
        }
        let timers = p.timers.len();
        if timers != 0 {
            return Err(format!(
                "timerfd leak: {timers} timers registered after every fd closed"
            ));
        }
        // The stack's sockets are not visible from outside oxv-net (its `Shared` is
        // crate-private), so a socket leak is not checked; its polls after close still run.
        for _ in 0..20 {
            p.blocker.advance(60_000_000_000);
            p.net.stack().poll();
        }
        Ok(())
    }
}

/// The terminal on fds 0-2 and `/dev/console`: a [`FakeConsole`] whose output is counted and
/// dropped, so that an app writing gigabytes to it (a 2 GiB write from a large lazily mapped
/// region is one call) costs neither the host's memory nor the copy into a buffer.
struct Console {
    fake: Arc<FakeConsole>,
}

impl CharDevice for Console {
    fn read(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize, oxv_abi::Errno> {
        self.fake.read(buf, nonblocking)
    }

    fn write(&self, buf: &[u8]) -> Result<usize, oxv_abi::Errno> {
        Ok(buf.len())
    }

    fn poll(&self) -> PollEvents {
        self.fake.poll()
    }

    fn bytes_readable(&self) -> usize {
        self.fake.bytes_readable()
    }

    fn window_size(&self) -> Option<Winsize> {
        self.fake.window_size()
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        self.fake.poll_queue()
    }
}

/// The network stack's [`PollTimer`]: remembers the earliest deadline asked for;
/// [`Process::tick`] polls the stack once the clock reaches it.
#[derive(Debug)]
pub struct NetTimer {
    deadline: AtomicU64,
}

impl Default for NetTimer {
    fn default() -> Self {
        NetTimer {
            deadline: AtomicU64::new(u64::MAX),
        }
    }
}

impl NetTimer {
    /// Whether the deadline is at or before `now` (and if so, disarms it).
    fn take_due(&self, now: u64) -> bool {
        self.deadline
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                (d <= now).then_some(u64::MAX)
            })
            .is_ok()
    }
}

impl PollTimer for NetTimer {
    fn arm(&self, deadline_ns: u64) {
        self.deadline.fetch_min(deadline_ns, Ordering::AcqRel);
    }
}

/// One timerfd's timer: its file, next expiry (monotonic ns) and period.
struct EventTimer {
    file: Weak<TimerFd>,
    next: Option<u64>,
    interval: u64,
}

/// The timerfds' [`TimerFdClock`] over the harness's monotonic clock (the kernel's
/// `timerfd.rs` over its app timers): [`Process::tick`] expires those whose time came, with
/// the count of periods missed.
pub struct EventTimers {
    clock: FakeBlocker,
    timers: Mutex<BTreeMap<u64, EventTimer>>,
    next_id: AtomicU64,
}

impl EventTimers {
    /// No timers, on `clock`.
    pub fn new(clock: FakeBlocker) -> EventTimers {
        EventTimers {
            clock,
            timers: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// How many timers are registered (closed timerfds must not stay).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, EventTimer>> {
        // A panic while holding it fails the input anyway; the map is still consistent.
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn setting(&self, t: &EventTimer, now: u64) -> TimerSetting {
        TimerSetting {
            value_ns: t.next.map_or(0, |at| at.saturating_sub(now).max(1)),
            interval_ns: t.interval,
        }
    }

    /// Expires every timer due at `now` (outside the lock: expiry wakes readers).
    pub fn fire_due(&self, now: u64) {
        let mut due = Vec::new();
        for t in self.lock().values_mut() {
            let Some(at) = t.next.filter(|&at| at <= now) else {
                continue;
            };
            // A one-shot timer expires once; a periodic one once per period gone by.
            let n = match (now - at).checked_div(t.interval) {
                None => {
                    t.next = None;
                    1
                }
                Some(missed) => {
                    let n = missed + 1;
                    t.next = at.checked_add(n.saturating_mul(t.interval));
                    n
                }
            };
            due.push((t.file.clone(), n));
        }
        for (file, n) in due {
            if let Some(f) = file.upgrade() {
                f.expire(n);
            }
        }
    }
}

impl TimerFdClock for EventTimers {
    fn create(&self, _clock: TimerClock) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            EventTimer {
                file: Weak::new(),
                next: None,
                interval: 0,
            },
        );
        id
    }

    fn set(&self, timer: &TimerFd, first: FirstExpiry, interval_ns: u64) -> TimerSetting {
        let now = self.clock.now_ns();
        let next = match first {
            FirstExpiry::Disarm => None,
            FirstExpiry::After(ns) => Some(now.saturating_add(ns)),
            FirstExpiry::At(ns) if timer.clock() == TimerClock::Realtime => {
                Some(ns.saturating_sub(REALTIME_AT_BOOT_NS))
            }
            FirstExpiry::At(ns) => Some(ns),
        };
        let mut timers = self.lock();
        let t = timers.entry(timer.id()).or_insert(EventTimer {
            file: Weak::new(),
            next: None,
            interval: 0,
        });
        let old = self.setting(t, now);
        *t = EventTimer {
            file: timer.weak(),
            next,
            interval: if next.is_some() { interval_ns } else { 0 },
        };
        old
    }

    fn get(&self, id: u64) -> TimerSetting {
        let now = self.clock.now_ns();
        self.lock()
            .get(&id)
            .map(|t| self.setting(t, now))
            .unwrap_or_default()
    }

    fn release(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// The signalfds' [`SignalSource`]: no signal is ever pending (the harness raises none), so
/// reads are `EAGAIN` or block (`EINTR` under the fake blocker).
#[derive(Default)]
pub struct NoSignals {
    queue: PollQueue,
}

impl SignalSource for NoSignals {
    fn dequeue(&self, _mask: SigSet) -> Option<SignalfdSiginfo> {
        None
    }

    fn pending(&self, _mask: SigSet) -> bool {
        false
    }

    fn queue(&self) -> &PollQueue {
        &self.queue
    }
}

fn build_fs() -> (FsContext, FdTable) {
    let clock = FakeClock::at(1_700_000_000);
    let now = clock.now();
    let pages = Arc::new(HeapMemory::with_limit(FILE_PAGES));
    let root = Tmpfs::with_memory(DeviceId::new(0, 1), 0o755, now, pages.clone());
    let mut w = initramfs::Writer::new();
    let entries: [(&[u8], &[u8]); 3] = [
        (b"etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        (b"data/small", b"0123456789abcdef\n"),
        (b"data/dir/a", b"a\n"),
    ];
    for (path, data) in entries {
        w.add_file(path, 0o644, data).expect("a valid entry");
    }
    w.add_file("bin/app", 0o755, &[0x7f, b'E', b'L', b'F'])
        .expect("a valid entry");
    w.add_symlink("data/link", "small").expect("a valid entry");
    w.add_symlink("data/loop", "loop").expect("a valid entry");
    initramfs::unpack(&w.finish(), &root.root(), now).expect("the archive unpacks");
    let vfs = Vfs::new(root, clock);
    let cx = FsContext::new(vfs.clone());
    for dir in [&b"/dev"[..], b"/proc"] {
        cx.mkdir_all(dir, 0o755).expect("mount points");
    }
    let tmp = cx.mkdir_all(b"/tmp", 0o1777).expect("/tmp");
    let attr = oxv_vfs::SetAttr {
        perm: Some(0o1777),
        uid: None,
        gid: None,
        size: None,
        atime: None,
        mtime: None,
        ctime: now,
    };
    tmp.inode().set_attr(&attr).expect("/tmp");
    let fake = FakeConsole::tty(24, 80);
    fake.push_input(b"typed input\n");
    let console = Arc::new(Console { fake });
    let devfs = devfs::build(
        &vfs,
        devfs::DevfsDevices {
            console: Terminal::new(console.clone()),
            entropy: FakeEntropy::seeded(7),
            // The root's pages: one RAM for every tmpfs, as in the kernel.
            memory: pages.clone(),
        },
    )
    .expect("/dev");
    vfs.mount(
        devfs,
        &cx.lookup(b"/dev", true).expect("/dev"),
        MountFlags::empty(),
    )
    .expect("/dev");
    let procfs = ProcFs::new(
        FakeProcess::new(PID as u32, b"/bin/app", &[b"/bin/app", b"arg"]),
        vfs.anon_device(),
        vfs.now(),
    );
    vfs.mount(
        procfs,
        &cx.lookup(b"/proc", true).expect("/proc"),
        MountFlags::empty(),
    )
    .expect("/proc");
    let files = FdTable::new();
    let term = Terminal::new(console);
    for _ in 0..3 {
        files
            .insert(OpenFile::new(term.open(), OpenFlags::RDWR, None), false)
            .expect("fds 0-2 are free");
    }
    (cx, files)
}

fn build_memory(mm: &mut AddressSpace<FakePageTable>, plat: &mut Platform<'_>) {
    mm.map_stack(STACK_TOP, STACK_SIZE, plat).expect("stack");
    mm.init_brk(BRK_BASE);
    let rw = Prot::READ | Prot::WRITE;
    mm.map_fixed(SCRATCH_BASE, SCRATCH_LEN, rw, VmaKind::Anonymous, plat)
        .expect("scratch");
    mm.map_fixed(RO_BASE, RO_LEN, Prot::READ, VmaKind::Anonymous, plat)
        .expect("read-only region");
    let mut at = RO_BASE;
    for s in STRINGS {
        mm.write_bytes(at, s, plat).expect("inside the region");
        mm.write_bytes(at + s.len() as u64, &[0], plat)
            .expect("inside the region");
        at += s.len() as u64 + 1;
    }
}

/// How many fake threads take turns making the calls.
pub const THREADS: usize = 4;

/// The TID of fake thread 0 at the start (thread `i` has `FIRST_TID + i`; a thread that
/// exits is replaced by one with the next unused TID), as PI lock words hold it.
pub const FIRST_TID: i32 = 1;

/// TIDs stay below `FUTEX_TID_MASK` (Linux's `PID_MAX_LIMIT` is far below it).
const TID_LIMIT: i32 = 0x3fff_ffff;
const _: () = assert!(TID_LIMIT as u32 == oxv_sched::futex::pi::TID_MASK);

/// What a fake thread is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// It may make calls.
    Runnable,
    /// Blocked in `FUTEX_WAIT` or a PI call: queued on the futex table until a wake (or a
    /// PI unlock) takes it, its `deadline` (the blocker's monotonic clock) passes, or the
    /// harness interrupts it.
    Parked {
        /// When the wait times out, if ever.
        deadline: Option<u64>,
        /// The order it parked in (the oldest is interrupted first).
        since: u64,
    },
}

/// The threads of the process, as far as futex(2) sees them: which one is making calls,
/// which ones are parked, and the futex table (oxv-sched's) they are queued on. A thread is
/// its index, `0..THREADS`. The [`oxv_sched::syscalls::futex::FutexScheduler`] over them is
/// in `route/futex.rs`.
pub struct FakeThreads {
    /// oxv-sched's fake scheduler state: the futex table, the thread making calls (always
    /// runnable), each thread's TID (the slot's thread changes when one exits) and its
    /// blocked PI call (kept while it is parked and after a wake until it runs again; then
    /// [`oxv_sched::syscalls::futex::pi::resume`] finishes it). Its keys are in address
    /// space [`crate::route::FUTEX_SPACE`].
    pub futex: FakeFutexScheduler,
    /// Each thread's state.
    pub state: [ThreadState; THREADS],
    /// The monotonic clock of deadlines (the blocker's).
    pub clock: FakeBlocker,
    /// Whether a block parks the caller (`FUTEX_WAIT`) or ends at once as interrupted
    /// (futex_waitv(2)); set by the router for each call.
    pub park_on_block: bool,
    /// Parks so far (orders [`ThreadState::Parked::since`]).
    pub parks: u64,
    /// A broken rule seen while a call ran (a wake of a thread that was not parked), for the
    /// checks.
    pub violation: Option<String>,
    /// The TID the next thread gets.
    pub next_tid: i32,
    /// PI calls routed so far (the checks tell the kernel's writes to a PI lock word from
    /// the app's by it).
    pub pi_calls: u64,
    /// The PI futexes whose word the app wrote (with a plain store or another call) while
    /// the kernel held state for it: the word then need not name the owner.
    pub pi_scribbled: BTreeSet<FutexKey>,
}

impl FakeThreads {
    /// All threads runnable, thread 0 current, the table empty.
    pub fn new(clock: FakeBlocker) -> FakeThreads {
        let mut futex =
            FakeFutexScheduler::new((0..THREADS).map(|i| FIRST_TID + i as i32).collect());
        futex.space = crate::route::FUTEX_SPACE;
        futex.realtime_at_boot_ns = REALTIME_AT_BOOT_NS;
        FakeThreads {
            futex,
            state: [ThreadState::Runnable; THREADS],
            clock,
            park_on_block: false,
            parks: 0,
            violation: None,
            next_tid: FIRST_TID + THREADS as i32,
            pi_calls: 0,
            pi_scribbled: BTreeSet::new(),
        }
    }

    /// The current thread exits (exit(2)): the PI futexes it owns pass to their waiters
    /// (with `FUTEX_OWNER_DIED` once each new owner runs), and a new thread with a new TID
    /// takes its slot and makes the following calls. Its robust list is the kernel's (not
    /// hosted).
    pub fn exit_current(&mut self) {
        let dead = self.futex.current;
        oxv_sched::syscalls::futex::pi::owner_exited(self, &dead);
        self.futex.tids[dead] = self.next_tid;
        self.next_tid = self.next_tid.saturating_add(1) & TID_LIMIT;
    }

    /// Ends every wait (an app's exit interrupts its threads) and checks that the table is
    /// left empty: no waiter leaked.
    pub fn teardown(&mut self, mem: &mut dyn UserMemory) -> Result<(), String> {
        // Woken threads finish their PI call first (it may block them again), then every
        // parked one is interrupted.
        for t in 0..THREADS {
            if self.state[t] == ThreadState::Runnable && self.futex.pending[t].is_some() {
                crate::route::futex_run_woken(self, mem, t);
            }
        }
        for t in 0..THREADS {
            if matches!(self.state[t], ThreadState::Parked { .. }) {
                crate::route::futex_interrupt(self, mem, t);
            }
        }
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        if let Some(t) = (0..THREADS).find(|&t| self.futex.pending[t].is_some()) {
            return Err(format!("thread {t}'s PI call never finished"));
        }
        if let Some((key, who)) = self.futex.table.queued().next() {
            return Err(format!(
                "futex waiter leaked: thread {who} still queued on {key:?} after every wait \
                 ended"
            ));
        }
        if !self.futex.table.pi.is_empty() {
            return Err("PI futex state left after every wait ended".into());
        }
        Ok(())
    }
}
