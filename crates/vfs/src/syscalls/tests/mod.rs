//! Hosted syscall tests: the handlers driven as the kernel would drive them, with the app's
//! memory faked. The world is what oxv boots: a tmpfs root unpacked from an archive made by
//! the initramfs writer, a tmpfs on `/tmp`, a devfs on `/dev`, a procfs on `/proc`, and the
//! console on fds 0, 1 and 2.

mod devices;
mod dirs;
mod events;
mod fds;
mod files;
mod metadata;
mod notify;
mod opening;
mod polling;
mod resolve;
mod rw;
mod write_denial;

use super::*;
use crate::devfs::{self, DevfsDevices};
use crate::device::Terminal;
use crate::fake::{FakeBlocker, FakeClock, FakeConsole, FakeEntropy, FakeProcess};
use crate::initramfs::{self, Writer};
use crate::mount::{FileSystem, MountFlags, Vfs};
use crate::node::DeviceId;
use crate::procfs::ProcFs;
use crate::time::{RealtimeClock, Timestamp};
use crate::tmpfs::{HeapMemory, Tmpfs};
use alloc::string::String;
use oxv_abi::linux::fs::{OpenFlags, Stat, Statx};
use oxv_abi::user::fake::FakeUserMemory;
use oxv_abi::{Errno, SysResult, UserAddr, UserBuf, UserCStr, UserPtr};
use zerocopy::FromBytes;

/// The RAM the test world's devfs stands on (4 MiB): an app's files in `/dev` get half.
const DEVFS_PAGES: usize = 1024;

/// Where path strings are written (four slots, each big enough for PATH_MAX + 1 bytes).
const PATHS: u64 = 0x10_000;
const PATH_SLOT: u64 = 0x2000;
/// A writable scratch buffer.
const BUF: u64 = 0x20_000;
const BUF_LEN: usize = 0x20_000;
/// Structures (stat, statx, iovecs, pollfds...).
const OUT: u64 = 0x40_000;
/// A read-only page.
const RO: u64 = 0x50_000;
/// Nothing is mapped here.
const UNMAPPED: u64 = 0x90_000;
/// An address in the kernel half.
const KERNEL: u64 = 0xffff_8000_0000_0000;

/// The wall-clock time the world starts at.
const BOOT: i64 = 1_700_000_000;

/// The files the test image holds.
fn image() -> Vec<u8> {
    let mut w = Writer::new();
    w.set_mtime(1_600_000_000);
    for d in [
        "bin",
        "etc",
        "tmp",
        "dev",
        "proc",
        "home",
        "home/user",
        "ro",
    ] {
        w.add_dir(d, 0o755).unwrap();
    }
    w.add_file("bin/app", 0o755, b"\x7fELF app").unwrap();
    w.add_file("etc/motd", 0o644, b"Hello, oxv!\n").unwrap();
    w.add_file("etc/noexec", 0o644, b"").unwrap();
    w.add_symlink("etc/motd.link", "motd").unwrap();
    w.add_symlink("etc/abs.link", "/etc/motd").unwrap();
    w.add_symlink("etc/dir.link", "/home").unwrap();
    w.add_symlink("etc/dangling", "/nowhere/at/all").unwrap();
    w.add_symlink("etc/loop", "loop").unwrap();
    w.finish()
}

struct World {
    vfs: Arc<Vfs>,
    cx: FsContext,
    files: FdTable,
    mem: FakeUserMemory,
    clock: Arc<FakeClock>,
    console: Arc<FakeConsole>,
    next_slot: u64,
}

impl World {
    fn new() -> World {
        let clock = FakeClock::at(BOOT);
        let root = Tmpfs::new(DeviceId::new(0, 1), clock.now());
        initramfs::unpack(&image(), &root.root(), clock.now()).unwrap();
        let vfs = Vfs::new(root, clock.clone());
        let cx = FsContext::new(vfs.clone());

        let tmp = Tmpfs::with_root_perm(vfs.anon_device(), 0o1777, vfs.now());
        vfs.mount(tmp, &cx.lookup(b"/tmp", true).unwrap(), MountFlags::empty())
            .unwrap();
        let console = FakeConsole::tty(25, 80);
        let terminal = Terminal::new(console.clone());
        let devices = DevfsDevices {
            console: terminal.clone(),
            entropy: FakeEntropy::seeded(7),
            memory: Arc::new(HeapMemory::with_limit(DEVFS_PAGES)),
        };
        let dev = devfs::build(&vfs, devices).unwrap();
        vfs.mount(dev, &cx.lookup(b"/dev", true).unwrap(), MountFlags::empty())
            .unwrap();
        let proc = ProcFs::new(
            FakeProcess::new(1, b"/bin/app", &[b"app", b"--flag"]),
            vfs.anon_device(),
            vfs.now(),
        );
        vfs.mount(
            proc,
            &cx.lookup(b"/proc", true).unwrap(),
            MountFlags::empty(),
        )
        .unwrap();
        let ro = Tmpfs::new(vfs.anon_device(), vfs.now());
        ro.root()
            .create(
                b"file",
                crate::NewNode::Regular,
                &crate::NewAttrs {
                    perm: 0o644,
                    uid: 0,
                    gid: 0,
                    now: vfs.now(),
                },
            )
            .unwrap();
        vfs.mount(ro, &cx.lookup(b"/ro", true).unwrap(), MountFlags::READ_ONLY)
            .unwrap();

        let files = FdTable::new();
        let stdio = OpenFile::new(terminal.open(), OpenFlags::RDWR, None);
        for fd in 0..3 {
            assert_eq!(files.insert(stdio.clone(), false), Ok(fd));
        }

        let mut mem = FakeUserMemory::new();
        mem.map(PATHS, (4 * PATH_SLOT) as usize, true);
        mem.map(BUF, BUF_LEN, true);
        mem.map(OUT, 0x10_000, true);
        mem.map(RO, 0x1000, false);
        World {
            vfs,
            cx,
            files,
            mem,
            clock,
            console,
            next_slot: 0,
        }
    }

    /// Writes `p` and a NUL into the next path slot.
    fn path(&mut self, p: &str) -> UserCStr {
        self.path_bytes(p.as_bytes())
    }

    fn path_bytes(&mut self, p: &[u8]) -> UserCStr {
        let addr = PATHS + (self.next_slot % 4) * PATH_SLOT;
        self.next_slot += 1;
        assert!(
            p.len() < PATH_SLOT as usize,
            "test path too long for a slot"
        );
        self.mem.poke(addr, p);
        self.mem.poke(addr + p.len() as u64, &[0]);
        UserCStr::new(addr)
    }

    fn open(&mut self, p: &str, flags: OpenFlags, mode: u32) -> SysResult {
        let path = self.path(p);
        open::open(
            &self.cx,
            &self.files,
            &mut self.mem,
            path,
            flags.bits(),
            mode,
        )
    }

    fn openat(&mut self, dirfd: i32, p: &str, flags: OpenFlags) -> SysResult {
        let path = self.path(p);
        open::openat(
            &self.cx,
            &self.files,
            &mut self.mem,
            dirfd,
            path,
            flags.bits(),
            0o644,
        )
    }

    fn fd(&mut self, p: &str, flags: OpenFlags) -> i32 {
        self.open(p, flags, 0o644)
            .unwrap_or_else(|e| panic!("open {p}: {e}")) as i32
    }

    fn read(&mut self, fd: i32, n: usize) -> Result<Vec<u8>, Errno> {
        let got = read_write::read(&self.files, &mut self.mem, fd, UserBuf::new(BUF, n as u64))?;
        Ok(self.mem.peek(BUF, got))
    }

    fn write(&mut self, fd: i32, data: &[u8]) -> SysResult {
        self.mem.poke(BUF, data);
        read_write::write(
            &self.files,
            &mut self.mem,
            fd,
            UserBuf::new(BUF, data.len() as u64),
        )
    }

    fn close(&mut self, fd: i32) -> SysResult {
        open::close(&self.files, fd)
    }

    fn stat(&mut self, p: &str) -> Result<Stat, Errno> {
        let path = self.path(p);
        stat::stat(
            &self.cx,
            &self.files,
            &mut self.mem,
            path,
            UserPtr::new(OUT),
        )?;
        Ok(self.stat_out())
    }

    fn lstat(&mut self, p: &str) -> Result<Stat, Errno> {
        let path = self.path(p);
        stat::lstat(
            &self.cx,
            &self.files,
            &mut self.mem,
            path,
            UserPtr::new(OUT),
        )?;
        Ok(self.stat_out())
    }

    fn fstat(&mut self, fd: i32) -> Result<Stat, Errno> {
        stat::fstat(&self.files, &mut self.mem, fd, UserPtr::new(OUT))?;
        Ok(self.stat_out())
    }

    fn stat_out(&self) -> Stat {
        Stat::read_from_bytes(&self.mem.peek(OUT, size_of::<Stat>())).unwrap()
    }

    fn statx_out(&self) -> Statx {
        Statx::read_from_bytes(&self.mem.peek(OUT, size_of::<Statx>())).unwrap()
    }

    fn mkdir(&mut self, p: &str, mode: u32) -> SysResult {
        let path = self.path(p);
        mkdir::mkdir(&self.cx, &self.files, &mut self.mem, path, mode)
    }

    fn unlink(&mut self, p: &str) -> SysResult {
        let path = self.path(p);
        unlink::unlink(&self.cx, &self.files, &mut self.mem, path)
    }

    fn rmdir(&mut self, p: &str) -> SysResult {
        let path = self.path(p);
        unlink::rmdir(&self.cx, &self.files, &mut self.mem, path)
    }

    fn rename(&mut self, old: &str, new: &str) -> SysResult {
        let (o, n) = (self.path(old), self.path(new));
        rename::rename(&self.cx, &self.files, &mut self.mem, o, n)
    }

    fn symlink(&mut self, target: &str, p: &str) -> SysResult {
        let (t, l) = (self.path(target), self.path(p));
        link::symlink(&self.cx, &self.files, &mut self.mem, t, l)
    }

    fn readlink(&mut self, p: &str) -> Result<Vec<u8>, Errno> {
        let path = self.path(p);
        let buf = UserAddr::new(BUF);
        let n = readlink::readlink(&self.cx, &self.files, &mut self.mem, path, buf, 4096)?;
        Ok(self.mem.peek(BUF, n))
    }

    fn chdir(&mut self, p: &str) -> SysResult {
        let path = self.path(p);
        cwd::chdir(&self.cx, &self.files, &mut self.mem, path)
    }

    fn getcwd(&mut self) -> Result<String, Errno> {
        let n = cwd::getcwd(&self.cx, &mut self.mem, UserBuf::new(BUF, 4096))?;
        let bytes = self.mem.peek(BUF, n);
        assert_eq!(bytes.last(), Some(&0), "getcwd's result ends in NUL");
        Ok(String::from_utf8(bytes[..n - 1].to_vec()).unwrap())
    }

    /// The contents of a file, read through a fresh fd.
    fn contents(&mut self, p: &str) -> Result<Vec<u8>, Errno> {
        let fd = self.open(p, OpenFlags::empty(), 0)? as i32;
        let data = self.read(fd, BUF_LEN);
        self.close(fd).unwrap();
        data
    }
}

const RDONLY: OpenFlags = OpenFlags::empty();
const WRONLY: OpenFlags = OpenFlags::WRONLY;
const RDWR: OpenFlags = OpenFlags::RDWR;
const CREAT: OpenFlags = OpenFlags::CREAT;

#[test]
fn the_world_boots() {
    let mut w = World::new();
    assert_eq!(w.contents("/etc/motd").unwrap(), b"Hello, oxv!\n");
    assert_eq!(w.fstat(1).unwrap().st_rdev, DeviceId::new(5, 1).encode());
    let mounts: Vec<&str> = w.vfs.mounts().iter().map(|m| m.fs().name()).collect();
    assert_eq!(mounts, ["tmpfs", "tmpfs", "tmpfs", "proc", "tmpfs"]);
}
