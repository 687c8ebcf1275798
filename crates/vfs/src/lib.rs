//! # oxv-vfs: a Linux-compatible VFS for Rust kernels
//!
//! `oxv-vfs` is the file layer of the oxv unikernel: the Linux file system calls (open, read,
//! stat, getdents64, poll...) with Linux's semantics and error order, over file systems that
//! live in memory. It is `no_std` + `alloc`, has no `unsafe`, owns no global state, reads no
//! clock of its own, and runs on the host under `cargo test`.
//!
//! ## What it gives
//!
//! From the bottom up:
//!
//! - [`Inode`] and [`FileSystem`]: what a file system implements. [`tmpfs`] is one (the root
//!   file system, `/tmp`); [`ext2`] is a disk file system over a [`block::BlockDevice`] with a
//!   write-back cache and fsync; [`procfs`], [`sysfs`] and [`devfs`] build `/proc`, `/sys`
//!   and `/dev`.
//! - [`initramfs`]: a cpio "newc" [`Reader`](initramfs::Reader) and
//!   [`Writer`](initramfs::Writer), and [`initramfs::unpack`] to fill a file system from an
//!   archive.
//! - [`Vfs`]: the mount tree, the character-device table and the wall clock, one per kernel;
//!   [`Location`]s are places in it; [`walk`] resolves paths in it as path_resolution(7) says,
//!   with openat2(2)'s `RESOLVE_*` restrictions when asked; [`mount::syscalls`] are mount(2)
//!   and umount2(2) over it.
//! - [`OpenFile`] (an open file description) over [`FileOps`] (regular files, directories,
//!   devices, [`pipe`]s, [`eventfd`], [`timerfd`], [`signalfd`], [`epoll`]; sockets live in
//!   `oxv-net`), and
//!   [`FdTable`] (fds, `FD_CLOEXEC`, dup semantics).
//! - [`readiness`]: one wait-queue model for every pollable file: a file notifies its
//!   [`readiness::PollQueue`]; blocked readers, poll(2)/select(2) and epoll instances register
//!   callbacks on it, so epoll_wait(2) costs O(ready).
//! - [`inotify`]: file-system events (inotify(7)) that the handlers report as they change
//!   things, read from an [`inotify::Inotify`] file.
//! - [`write_access`]: who writes a file and which files run as programs (`ETXTBSY`, Linux's
//!   `i_writecount`); open files and the kernel's exec hold its guards.
//! - [`FsContext`]: a process's root, cwd and umask.
//! - [`syscalls`]: one handler per system call, taking the decoded arguments of
//!   `oxv_abi::Syscall`; the kernel only routes to them.
//!
//! ## What the embedder implements
//!
//! | trait | for | fake |
//! |---|---|---|
//! | [`RealtimeClock`] | file timestamps | [`fake::FakeClock`] |
//! | [`Blocker`] and [`blocker::Parker`] | waiting: blocking reads, poll(2), epoll_wait(2) | [`fake::FakeBlocker`] |
//! | [`timerfd::TimerFdClock`] | arming timerfds | [`timerfd::fake::FakeTimers`] |
//! | [`signalfd::SignalSource`] | the calling thread's pending signals, for signalfds | (kernel only) |
//! | [`device::CharDevice`] | the console (fds 0-2, `/dev/console`, `/dev/tty`) | [`fake::FakeConsole`] |
//! | [`device::EntropySource`] | `/dev/random`, `/dev/urandom` | [`fake::FakeEntropy`] |
//! | [`procfs::ProcessInfo`] | `/proc/<pid>/*` of every process and the system files of `/proc` | [`fake::FakeProcess`] |
//! | [`block::BlockDevice`] | the disk under [`ext2`] | [`block::RamDisk`] |
//! | [`sysfs::CpuTopology`] | the CPU counts in `/sys/devices/system/cpu` | (tests) |
//! | [`tmpfs::FileMemory`] | frames for tmpfs file data, which `MAP_SHARED` maps | [`tmpfs::HeapMemory`] |
//! | [`oxv_abi::UserMemory`] | the app's memory | `oxv_abi::user::fake::FakeUserMemory` |
//!
//! ## What it is not (yet)
//!
//! No permission checks beyond mode bits (oxv runs one user, root), no line discipline on the
//! console terminal beyond job control and the `ISIG` keys ([`tty`]; pseudo-terminals in
//! [`pty`] have one), no access-time updates (every mount acts as `noatime`), no mount propagation
//! or namespaces, no named pipes (FIFOs). splice(2) copies through a kernel buffer rather than lending pages. Sockets
//! are more [`FileOps`] with a [`readiness::PollQueue`].
//!
//! ## Design principles
//!
//! 1. Linux is the specification: semantics and error order follow the man pages and the
//!    kernel's code paths, and each handler's module doc says what it matches.
//! 2. User pointers are only copied through, never held; a fault part-way through a transfer
//!    gives a short count, as on Linux, and `EFAULT` only when nothing moved.
//! 3. Mechanism and policy apart: file systems do storage only; the path walk and handlers do
//!    path syntax, mount flags and error order.
//! 4. Time, blocking and hardware come in through narrow traits; every trait has a fake.
//!
//! MSRV: the workspace's (Rust 1.85).
//!
//! ## Example
//!
//! Pack an app with the initramfs writer, unpack it into a tmpfs root, then open and read a
//! file through the fd table as the app's syscalls would:
//!
//! ```
//! use oxv_abi::{UserBuf, UserCStr, user::fake::FakeUserMemory};
//! use oxv_vfs::{FdTable, FileSystem, FsContext, Vfs, initramfs, syscalls, tmpfs::Tmpfs};
//! use oxv_vfs::fake::FakeClock;
//! use oxv_vfs::time::{RealtimeClock, Timestamp};
//!
//! // 1. The host tool packs the app.
//! let mut w = initramfs::Writer::new();
//! w.add_file("etc/motd", 0o644, b"hello from the initramfs\n")?;
//! let archive = w.finish();
//!
//! // 2. The kernel builds its root file system and a process context.
//! let clock = FakeClock::at(1_700_000_000);
//! let root = Tmpfs::new(oxv_vfs::DeviceId::new(0, 1), clock.now());
//! initramfs::unpack(&archive, &root.root(), clock.now())?;
//! let vfs = Vfs::new(root, clock);
//! let cx = FsContext::new(vfs);
//! let files = FdTable::new();
//!
//! // 3. The app opens and reads the file (its memory is faked here).
//! let mut mem = FakeUserMemory::new();
//! mem.map(0x1000, 0x1000, true);
//! mem.poke(0x1000, b"/etc/motd\0");
//! let fd = syscalls::open::open(&cx, &files, &mut mem, UserCStr::new(0x1000), 0, 0)?;
//! let n = syscalls::read_write::read(&files, &mut mem, fd as i32, UserBuf::new(0x1800, 64))?;
//! assert_eq!(mem.peek(0x1800, n), b"hello from the initramfs\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod block;
pub mod blocker;
pub mod context;
pub mod devfs;
pub mod device;
pub mod epoll;
pub mod eventfd;
#[cfg(feature = "ext2")]
pub mod ext2;
pub mod fake;
pub mod fd_table;
pub mod file;
pub mod fsize;
pub mod initramfs;
pub mod inotify;
pub mod io;
pub mod locks;
pub mod mount;
pub mod names;
pub mod node;
pub mod pipe;
pub mod procfs;
pub mod pty;
pub mod readiness;
pub mod shrink;
pub mod signalfd;
pub mod syscalls;
pub mod sysfs;
pub mod time;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;
pub mod walk;
pub mod write_access;
pub mod xattr;

pub use blocker::Blocker;
pub use context::FsContext;
pub use fd_table::FdTable;
pub use file::{FileOps, OpenFile};
pub use io::{ReadBuf, WriteBuf, WritePos, Written};
pub use mount::{CharDriver, FileSystem, FsStats, Location, Mount, MountFlags, Vfs};
pub use node::{DeviceId, DirEntry, FileKind, Inode, Metadata, NewAttrs, NewNode, SetAttr};
pub use time::{RealtimeClock, Timestamp};
