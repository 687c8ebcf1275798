//! devfs: the `/dev` directory, built like Linux's devtmpfs: a [`Tmpfs`] holding device nodes,
//! whose opens go to the drivers registered in the [`Vfs`] by device number.
//!
//! [`build`] registers the drivers and returns the file system, for the kernel to mount on
//! `/dev` (and for mount(2) of type `devtmpfs` to mount again elsewhere). It contains:
//!
//! | name | what | mode |
//! |---|---|---|
//! | `null`, `zero`, `full` | memory devices (1,3), (1,5), (1,7) | `crw-rw-rw-` |
//! | `random`, `urandom` | the [`EntropySource`] (1,8), (1,9) | `crw-rw-rw-` |
//! | `tty` | the console terminal (5,0) | `crw-rw-rw-` |
//! | `console` | the console terminal (5,1) | `crw-------` |
//! | `stdin`, `stdout`, `stderr` | symlinks to `/proc/self/fd/0`, `1`, `2` | |
//! | `fd` | symlink to `/proc/self/fd` | |
//! | `shm/` | an empty directory for POSIX shared memory | `drwxrwxrwt` |
//! | `ptmx` | a new pseudo-terminal master per open (5,2), see [`crate::pty`] | `crw-rw-rw-` |
//! | `pts/` | devpts: `ptmx` (5,2) and a slave node `N` (136,N) per open master | `drwxr-xr-x` |
//!
//! `ptmx` and `pts/` come from [`add_ptys`], which needs a [`Blocker`].
//! | `vda`, `vdb`... | disks, added by [`add_disk`] (see [`crate::block::file`]) | `crw-rw----` |
//!
//! Because the nodes are ordinary tmpfs nodes, the app may add its own (mknod(2), later) and
//! an initramfs may ship device nodes that open the same drivers.

use crate::Blocker;
use crate::device::memory::{
    MemoryDevice, MemoryKind, RANDOM_DEVICE, RandomDevice, URANDOM_DEVICE,
};
use crate::device::{CONSOLE_DEVICE, EntropySource, TTY_DEVICE, Terminal, TerminalDriver};
use crate::mount::{CharDriver, FileSystem, Vfs};
use crate::node::{DeviceId, NewAttrs, NewNode};
use crate::pty::{MAX_PTYS, PTMX_DEVICE, PTS_MAJOR, PtsTable};
use crate::tmpfs::{FileMemory, Tmpfs};
use alloc::sync::Arc;
use oxv_abi::Errno;

/// The devices the embedder provides to devfs.
pub struct DevfsDevices {
    /// The console: `/dev/console`, `/dev/tty`.
    pub console: Arc<Terminal>,
    /// Randomness: `/dev/random`, `/dev/urandom`.
    pub entropy: Arc<dyn EntropySource>,
    /// Where the data of regular files an app creates in `/dev` goes: the same RAM as the
    /// other tmpfs mounts (a kernel's frames), so devfs gets Linux's devtmpfs limits (half
    /// of RAM) and an app filling it meets `ENOSPC`, not an exhausted kernel heap.
    pub memory: Arc<dyn FileMemory>,
}

/// Registers the standard drivers in `vfs` and returns a devfs holding their nodes (see the
/// [module docs](self)); mount it on `/dev`.
pub fn build(vfs: &Vfs, devices: DevfsDevices) -> Result<Arc<Tmpfs>, Errno> {
    let now = vfs.now();
    let fs = Tmpfs::with_memory(vfs.anon_device(), 0o755, now, devices.memory);
    let root = fs.root();
    let attrs = |perm| NewAttrs {
        perm,
        uid: 0,
        gid: 0,
        now,
    };

    let add = |name: &[u8], dev: DeviceId, perm: u32, driver: Arc<dyn CharDriver>| {
        vfs.register_char_device(dev, driver);
        root.create(name, NewNode::CharDevice(dev), &attrs(perm))
            .map(|_| ())
    };
    for kind in [MemoryKind::Null, MemoryKind::Zero, MemoryKind::Full] {
        let d = MemoryDevice::new(kind);
        let name: &[u8] = match kind {
            MemoryKind::Null => b"null",
            MemoryKind::Zero => b"zero",
            MemoryKind::Full => b"full",
        };
        add(name, d.device_id(), 0o666, d)?;
    }
    add(
        b"random",
        RANDOM_DEVICE,
        0o666,
        RandomDevice::new(devices.entropy.clone(), RANDOM_DEVICE),
    )?;
    add(
        b"urandom",
        URANDOM_DEVICE,
        0o666,
        RandomDevice::new(devices.entropy, URANDOM_DEVICE),
    )?;
    let terminal = Arc::new(TerminalDriver(devices.console));
    add(b"tty", TTY_DEVICE, 0o666, terminal.clone())?;
    add(b"console", CONSOLE_DEVICE, 0o600, terminal)?;

    for (name, target) in [
        (&b"stdin"[..], &b"/proc/self/fd/0"[..]),
        (b"stdout", b"/proc/self/fd/1"),
        (b"stderr", b"/proc/self/fd/2"),
        (b"fd", b"/proc/self/fd"),
    ] {
        root.create(name, NewNode::Symlink(target), &attrs(0o777))?;
    }
    root.create(b"shm", NewNode::Directory, &attrs(0o1777))?;
    // One devtmpfs per kernel, as on Linux: mount(2) of "devtmpfs" shows this one again.
    vfs.share_as("devtmpfs", fs.clone());
    Ok(fs)
}

/// Adds pseudo-terminals to a devfs from [`build`]: `/dev/ptmx`, the `/dev/pts` directory
/// and the drivers of its slaves (see [`crate::pty`]), whose reads and writes wait through
/// `blocker`.
pub fn add_ptys(vfs: &Vfs, devfs: &Tmpfs, blocker: Arc<dyn Blocker>) -> Result<(), Errno> {
    add_ptys_with_signals(vfs, devfs, blocker, Arc::new(crate::tty::NoTtySignals))
}

/// As [`add_ptys`], with the terminals' signals (`ISIG` keys, `SIGWINCH`) raised through
/// `signals`.
pub fn add_ptys_with_signals(
    vfs: &Vfs,
    devfs: &Tmpfs,
    blocker: Arc<dyn Blocker>,
    signals: Arc<dyn crate::tty::TtySignals>,
) -> Result<(), Errno> {
    let root = devfs.root();
    let attrs = |perm| NewAttrs {
        perm,
        uid: 0,
        gid: 0,
        now: vfs.now(),
    };
    let pts = root.create(b"pts", NewNode::Directory, &attrs(0o755))?;
    let table = PtsTable::with_signals(pts.clone(), vfs.clock().clone(), blocker, signals);
    vfs.register_char_device(PTMX_DEVICE, table.ptmx_driver());
    root.create(b"ptmx", NewNode::CharDevice(PTMX_DEVICE), &attrs(0o666))?;
    // Linux's devpts holds its own ptmx, mode 000 unless mounted with ptmxmode=.
    pts.create(b"ptmx", NewNode::CharDevice(PTMX_DEVICE), &attrs(0))?;
    for index in 0..MAX_PTYS {
        vfs.register_char_device(DeviceId::new(PTS_MAJOR, index), table.slave_driver(index));
    }
    Ok(())
}

/// Adds disk number `n` of the kernel (0 is `/dev/vda`) to a devfs from [`build`]: registers
/// its driver in `vfs` and makes its node. `EINVAL` past 26 disks.
pub fn add_disk(
    vfs: &Vfs,
    devfs: &Tmpfs,
    n: usize,
    disk: Arc<dyn crate::block::BlockDevice>,
) -> Result<(), Errno> {
    use crate::block::file::{DiskDriver, disk_device, disk_name};
    let name = disk_name(n).ok_or(Errno::EINVAL)?;
    let dev = disk_device(n as u32);
    vfs.register_char_device(dev, DiskDriver::new(disk, dev));
    let attrs = NewAttrs {
        perm: 0o660,
        uid: 0,
        gid: 0,
        now: vfs.now(),
    };
    devfs
        .root()
        .create(&name, NewNode::CharDevice(dev), &attrs)
        .map(|_| ())
}
