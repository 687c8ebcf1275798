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

use crate::Options;
use crate::input::{
    BRK_BASE, MMAP_BASE, RO_BASE, RO_LEN, SCRATCH_BASE, SCRATCH_LEN, STACK_TOP, STRINGS,
};
use oxv_abi::UserMemory;
use oxv_abi::linux::fs::OpenFlags;
use oxv_mm::fake::{FakeMachine, FakePageTable};
use oxv_mm::{AddressSpace, AddressSpaceConfig, MapSource, Platform, Prot, VmaKind};
use oxv_sched::clock::TscClock;
use oxv_sched::rlimit::Rlimits;
use oxv_sched::signal::SignalState;
use oxv_sched::sleep::fake::FakeSleeper;
use oxv_vfs::device::Terminal;
use oxv_vfs::fake::{FakeBlocker, FakeClock, FakeConsole, FakeEntropy, FakeProcess};
use oxv_vfs::procfs::ProcFs;
use oxv_vfs::tmpfs::Tmpfs;
use oxv_vfs::{
    DeviceId, FdTable, FileSystem, FsContext, MountFlags, OpenFile, ReadBuf, RealtimeClock, Vfs,
    devfs, initramfs,
};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// Frames of fake RAM (16 MiB).
pub const RAM_FRAMES: usize = 4096;
/// The size of the initial stack mapping.
pub const STACK_SIZE: u64 = 0x2_0000;
/// The process id.
pub const PID: i32 = 1;
/// The app's stack pointer as sigaltstack(2) sees it.
pub const USER_SP: u64 = STACK_TOP - 0x100;

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
    /// What poll blocks on.
    pub blocker: FakeBlocker,
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
        World {
            proc: Process {
                cx,
                files,
                signals: SignalState::new(),
                limits: Rlimits::new((RAM_FRAMES * 4096) as u64),
                clock: TscClock::new(1_000_000_000, 0, 1_700_000_000_000_000_000),
                tsc: 1_000_000,
                sleeper: FakeSleeper::new(),
                blocker: FakeBlocker::new(),
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

    /// Destroys the address space and checks that every frame came back.
    pub fn teardown(mut self) -> Result<(), String> {
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
}

fn build_fs() -> (FsContext, FdTable) {
    let clock = FakeClock::at(1_700_000_000);
    let now = clock.now();
    let root = Tmpfs::new(DeviceId::new(0, 1), now);
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
    let console = FakeConsole::tty(24, 80);
    console.push_input(b"typed input\n");
    let devfs = devfs::build(
        &vfs,
        devfs::DevfsDevices {
            console: Terminal::new(console.clone()),
            entropy: FakeEntropy::seeded(7),
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
