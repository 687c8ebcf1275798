//! mount(2) and umount2(2) driven as the kernel drives them, with the app's memory faked.

use super::syscalls::{self, FileSystemTypes, InMemory};
use super::*;
use crate::context::FsContext;
use crate::devfs::{self, DevfsDevices};
use crate::device::Terminal;
use crate::fake::{FakeClock, FakeConsole, FakeEntropy, FakeProcess};
use crate::io::{ReadBuf, WriteBuf};
use crate::node::NewNode;
use crate::procfs::ProcFs;
use crate::tmpfs::Tmpfs;
use crate::{FileKind, NewAttrs, OpenFile};
use linux_raw_sys::general as g;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::user::fake::FakeUserMemory;
use oxv_abi::{SysResult, UserAddr, UserCStr};

const STRINGS: u64 = 0x10_000;
const SLOT: u64 = 0x2000;

struct World {
    cx: FsContext,
    mem: FakeUserMemory,
    next: u64,
}

impl World {
    fn new() -> World {
        let clock = FakeClock::at(1_700_000_000);
        let root = Tmpfs::new(DeviceId::new(0, 1), clock.now());
        let vfs = Vfs::new(root, clock);
        let cx = FsContext::new(vfs.clone());
        for d in [&b"/mnt/sub"[..], b"/dev", b"/proc", b"/other"] {
            cx.mkdir_all(d, 0o755).unwrap();
        }
        let dev = devfs::build(
            &vfs,
            DevfsDevices {
                console: Terminal::new(FakeConsole::tty(25, 80)),
                entropy: FakeEntropy::seeded(1),
                memory: Arc::new(crate::tmpfs::HeapMemory::new()),
            },
        )
        .unwrap();
        vfs.mount(dev, &cx.lookup(b"/dev", true).unwrap(), MountFlags::empty())
            .unwrap();
        let proc = ProcFs::new(
            FakeProcess::new(1, b"/app", &[b"app"]),
            vfs.anon_device(),
            vfs.now(),
        );
        vfs.mount(
            proc,
            &cx.lookup(b"/proc", true).unwrap(),
            MountFlags::empty(),
        )
        .unwrap();
        let mut mem = FakeUserMemory::new();
        mem.map(STRINGS, (8 * SLOT) as usize, true);
        World { cx, mem, next: 0 }
    }

    fn string(&mut self, s: Option<&str>) -> UserCStr {
        let Some(s) = s else {
            return UserCStr::new(0);
        };
        let addr = STRINGS + (self.next % 8) * SLOT;
        self.next += 1;
        self.mem.poke(addr, s.as_bytes());
        self.mem.poke(addr + s.len() as u64, &[0]);
        UserCStr::new(addr)
    }

    fn mount_with(
        &mut self,
        types: &dyn FileSystemTypes,
        source: Option<&str>,
        target: &str,
        fstype: Option<&str>,
        flags: u32,
        data: Option<&str>,
    ) -> SysResult {
        let source = self.string(source);
        let target = self.string(Some(target));
        let fstype = self.string(fstype);
        let data = UserAddr::new(self.string(data).0.get());
        syscalls::mount(
            &self.cx,
            &mut self.mem,
            types,
            source,
            target,
            fstype,
            u64::from(flags),
            data,
        )
    }

    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: u32) -> SysResult {
        self.mount_with(&InMemory, Some(source), target, Some(fstype), flags, None)
    }

    fn umount(&mut self, target: &str, flags: u32) -> SysResult {
        let target = self.string(Some(target));
        syscalls::umount2(&self.cx, &mut self.mem, &InMemory, target, flags as i32)
    }

    fn create(&self, path: &[u8]) -> Result<Arc<OpenFile>, Errno> {
        self.cx
            .open(path, OpenFlags::CREAT | OpenFlags::RDWR, 0o644)
    }

    fn exists(&self, path: &[u8]) -> bool {
        self.cx.lookup(path, true).is_ok()
    }

    fn mount_at(&self, path: &[u8]) -> Arc<Mount> {
        self.cx.lookup(path, true).unwrap().mount().clone()
    }
}

#[test]
fn a_tmpfs_is_mounted_used_and_unmounted() {
    let mut w = World::new();
    assert_eq!(w.mount("none", "/mnt", "tmpfs", 0), Ok(0));
    let m = w.mount_at(b"/mnt");
    assert_eq!(m.fs().name(), "tmpfs");
    assert_eq!(m.source(), b"none");
    assert_eq!(m.flags(), MountFlags::empty());
    assert_eq!(m.flags().options(), "rw,relatime");
    // The new tmpfs covers /mnt/sub and starts empty, with mode 1777.
    assert!(!w.exists(b"/mnt/sub"));
    let root = w.cx.lookup(b"/mnt", true).unwrap();
    assert_eq!(root.inode().metadata().perm, 0o1777);
    w.create(b"/mnt/f").unwrap();
    assert!(w.exists(b"/mnt/f"));
    assert_eq!(w.umount("/mnt", 0), Err(Errno::EBUSY), "`root` holds it");
    drop(root);
    let weak = Arc::downgrade(&m);
    drop(m);
    assert_eq!(w.umount("/mnt", 0), Ok(0));
    assert!(weak.upgrade().is_none(), "nothing holds the mount any more");
    assert!(!w.exists(b"/mnt/f"));
    assert!(w.exists(b"/mnt/sub"), "the covered directory shows again");
    assert_eq!(
        w.umount("/mnt", 0),
        Err(Errno::EINVAL),
        "not a mount any more"
    );
}

#[test]
fn tmpfs_options_and_flags_are_stored() {
    let mut w = World::new();
    let flags = g::MS_NOSUID | g::MS_NODEV | g::MS_NOEXEC | g::MS_NOATIME;
    assert_eq!(
        w.mount_with(
            &InMemory,
            Some("t"),
            "/mnt",
            Some("tmpfs"),
            flags,
            Some("size=1m,mode=0700")
        ),
        Ok(0)
    );
    let m = w.mount_at(b"/mnt");
    assert_eq!(m.flags().options(), "rw,nosuid,nodev,noexec,noatime");
    let st = m.statfs_flags();
    assert_eq!(
        st,
        oxv_abi::linux::fs::ST_VALID
            | u64::from(flags) & !u64::from(g::MS_NOATIME)
            | oxv_abi::linux::fs::ST_NOATIME
    );
    assert_eq!(
        w.cx.lookup(b"/mnt", true).unwrap().inode().metadata().perm,
        0o700
    );
    assert_eq!(
        w.mount_with(&InMemory, None, "/other", Some("tmpfs"), 0, Some("bogus=1")),
        Err(Errno::EINVAL)
    );
}

#[test]
fn remount_changes_the_flags_of_a_mount_root_only() {
    let mut w = World::new();
    w.mount("none", "/mnt", "tmpfs", g::MS_NOSUID).unwrap();
    w.cx.mkdir_all(b"/mnt/d", 0o755).unwrap();
    let ro = g::MS_REMOUNT | g::MS_RDONLY;
    assert_eq!(w.mount("none", "/mnt/d", "tmpfs", ro), Err(Errno::EINVAL));
    assert_eq!(w.mount("none", "/mnt", "", ro), Ok(0));
    let m = w.mount_at(b"/mnt");
    // The remount named no nosuid: it is gone, and the atime mode is kept.
    assert_eq!(m.flags().options(), "ro,relatime");
    assert_eq!(w.create(b"/mnt/x").err(), Some(Errno::EROFS));
    assert_eq!(
        w.mount(
            "none",
            "/mnt",
            "",
            g::MS_REMOUNT | g::MS_BIND | g::MS_NOEXEC
        ),
        Ok(0)
    );
    assert_eq!(m.flags().options(), "rw,noexec,relatime");
    assert!(w.create(b"/mnt/x").is_ok());
}

#[test]
fn remount_read_only_is_ebusy_while_a_file_is_open_for_writing() {
    let mut w = World::new();
    w.mount("none", "/mnt", "tmpfs", 0).unwrap();
    let m = w.mount_at(b"/mnt");
    let ro = g::MS_REMOUNT | g::MS_RDONLY;
    let writer = w.create(b"/mnt/x").unwrap();
    assert_eq!(m.writers(), 1);
    assert_eq!(w.mount("none", "/mnt", "", ro), Err(Errno::EBUSY));
    assert_eq!(
        w.mount("none", "/mnt", "", ro | g::MS_BIND),
        Err(Errno::EBUSY)
    );
    // EBUSY comes before the tmpfs's own reconfigure (which would refuse to limit an
    // unlimited tmpfs with EINVAL).
    assert_eq!(
        w.mount_with(&InMemory, None, "/mnt", None, ro, Some("size=1m")),
        Err(Errno::EBUSY)
    );
    assert!(!m.is_read_only(), "a refused remount changes nothing");
    // Other flags change with a writer around, as long as the mount stays read-write.
    assert_eq!(
        w.mount("none", "/mnt", "", g::MS_REMOUNT | g::MS_NOEXEC),
        Ok(0)
    );
    let reader = w.cx.open(b"/mnt/x", OpenFlags::empty(), 0).unwrap();
    drop(writer);
    assert_eq!(m.writers(), 0);
    assert_eq!(w.mount("none", "/mnt", "", ro), Ok(0));
    assert_eq!(
        w.cx.open(b"/mnt/x", OpenFlags::WRONLY, 0).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(m.writers(), 0, "a refused open gives its count back");
    drop(reader);
}

#[test]
fn a_writer_that_races_a_remount_read_only_is_refused() {
    let mut w = World::new();
    w.mount("none", "/mnt", "tmpfs", 0).unwrap();
    let m = w.mount_at(b"/mnt");
    m.set_flags(MountFlags::READ_ONLY);
    assert_eq!(m.get_write(), Err(Errno::EROFS));
    assert_eq!(m.writers(), 0);
    m.set_flags(MountFlags::empty());
    m.get_write().unwrap();
    assert_eq!(m.remount(MountFlags::READ_ONLY), Err(Errno::EBUSY));
    assert_eq!(m.flags(), MountFlags::empty());
    m.put_write();
    assert_eq!(m.remount(MountFlags::READ_ONLY), Ok(()));
}

#[test]
fn nodev_mounts_do_not_open_device_nodes() {
    let mut w = World::new();
    w.cx.mkdir_all(b"/d", 0o755).unwrap();
    assert_eq!(
        w.mount_with(&InMemory, Some("/dev"), "/d", None, g::MS_BIND, None),
        Ok(0)
    );
    assert!(w.cx.open(b"/d/null", OpenFlags::RDWR, 0).is_ok());
    let flags = g::MS_REMOUNT | g::MS_BIND | g::MS_NODEV;
    assert_eq!(
        w.mount_with(&InMemory, None, "/d", None, flags, None),
        Ok(0)
    );
    assert_eq!(
        w.cx.open(b"/d/null", OpenFlags::empty(), 0).err(),
        Some(Errno::EACCES)
    );
    assert!(w.cx.open(b"/d/null", OpenFlags::PATH, 0).is_ok());
    assert!(w.cx.open(b"/dev/null", OpenFlags::RDWR, 0).is_ok());
}

#[test]
fn busy_mounts_refuse_a_plain_unmount() {
    let mut w = World::new();
    w.mount("none", "/mnt", "tmpfs", 0).unwrap();
    let f = w.create(b"/mnt/f").unwrap();
    assert_eq!(w.umount("/mnt", 0), Err(Errno::EBUSY));
    assert_eq!(w.umount("/mnt", g::MNT_FORCE), Err(Errno::EBUSY));
    drop(f);
    // A cwd inside holds it too.
    w.cx.set_cwd(w.cx.lookup(b"/mnt", true).unwrap()).unwrap();
    assert_eq!(w.umount("/mnt", 0), Err(Errno::EBUSY));
    w.cx.set_cwd(w.cx.root()).unwrap();
    // So does a mount on one of its directories.
    w.cx.mkdir_all(b"/mnt/in", 0o755).unwrap();
    w.mount("none", "/mnt/in", "tmpfs", 0).unwrap();
    assert_eq!(w.umount("/mnt", 0), Err(Errno::EBUSY));
    assert_eq!(w.umount("/mnt/in", 0), Ok(0));
    assert_eq!(w.umount("/mnt", 0), Ok(0));
}

#[test]
fn a_lazy_unmount_detaches_the_subtree_and_open_files_keep_working() {
    let mut w = World::new();
    w.mount("none", "/mnt", "tmpfs", 0).unwrap();
    let f = w.create(b"/mnt/f").unwrap();
    f.write(&WriteBuf::kernel(b"still here")).unwrap();
    w.cx.mkdir_all(b"/mnt/in", 0o755).unwrap();
    w.mount("none", "/mnt/in", "tmpfs", 0).unwrap();
    let inner = w.mount_at(b"/mnt/in");
    let dir = w.cx.lookup(b"/mnt", true).unwrap();
    assert_eq!(w.umount("/mnt", g::MNT_DETACH), Ok(0));
    assert!(inner.is_detached(), "the mount below went with it");
    assert!(w.exists(b"/mnt/sub"));
    assert_eq!(w.cx.vfs().mounts().len(), 3, "root, /dev, /proc");
    let mut out = [0u8; 16];
    let n = f.read_at(0, &mut ReadBuf::kernel(&mut out)).unwrap();
    assert_eq!(&out[..n], b"still here");
    // `..` at the root of a detached mount stays there.
    let up = w.cx.walker().resolve(&dir, b"..", true).unwrap();
    assert!(up.same(&dir));
    assert_eq!(
        w.cx.walker()
            .resolve(&dir, b"f", true)
            .unwrap()
            .inode()
            .kind(),
        FileKind::Regular
    );
}

#[test]
fn umount2_errors_follow_linux() {
    let mut w = World::new();
    assert_eq!(w.umount("/mnt", 0x100), Err(Errno::EINVAL), "unknown flag");
    assert_eq!(w.umount("/mnt", 0), Err(Errno::EINVAL), "not a mount point");
    assert_eq!(w.umount("/nope", 0), Err(Errno::ENOENT));
    assert_eq!(w.umount("", 0), Err(Errno::ENOENT));
    assert_eq!(w.umount("/", 0), Err(Errno::EBUSY));
    w.mount("none", "/mnt", "tmpfs", 0).unwrap();
    // UMOUNT_NOFOLLOW: a symlink to the mount point is not the mount point.
    w.cx.root()
        .inode()
        .create(
            b"link",
            NewNode::Symlink(b"/mnt"),
            &NewAttrs {
                perm: 0o777,
                uid: 0,
                gid: 0,
                now: w.cx.vfs().now(),
            },
        )
        .unwrap();
    assert_eq!(w.umount("/link", g::UMOUNT_NOFOLLOW), Err(Errno::EINVAL));
    // MNT_EXPIRE: marks first, unmounts on the second call; not with MNT_DETACH.
    assert_eq!(
        w.umount("/mnt", g::MNT_EXPIRE | g::MNT_DETACH),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.umount("/link", g::MNT_EXPIRE), Err(Errno::EAGAIN));
    assert_eq!(w.umount("/link", g::MNT_EXPIRE), Ok(0));
}

#[test]
fn mount_errors_follow_linux() {
    let mut w = World::new();
    w.create(b"/file").unwrap();
    assert_eq!(w.mount("none", "/nope", "tmpfs", 0), Err(Errno::ENOENT));
    assert_eq!(w.mount("none", "/mnt", "nosuchfs", 0), Err(Errno::ENODEV));
    assert_eq!(w.mount("none", "/mnt", "", 0), Err(Errno::ENODEV));
    assert_eq!(
        w.mount_with(&InMemory, None, "/mnt", None, 0, None),
        Err(Errno::EINVAL),
        "no type"
    );
    // The target is resolved before the type is looked up.
    assert_eq!(w.mount("none", "/nope", "nosuchfs", 0), Err(Errno::ENOENT));
    assert_eq!(w.mount("none", "/file", "tmpfs", 0), Err(Errno::ENOTDIR));
    assert_eq!(
        w.mount("none", "/mnt", "tmpfs", g::MS_NOUSER),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.mount("", "/mnt", "", g::MS_BIND), Err(Errno::EINVAL));
    assert_eq!(w.mount("/nope", "/mnt", "", g::MS_BIND), Err(Errno::ENOENT));
    assert_eq!(
        w.mount("/file", "/mnt", "", g::MS_BIND),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        w.mount("none", "/mnt", "", g::MS_PRIVATE),
        Err(Errno::EINVAL),
        "not a mount root"
    );
    assert_eq!(w.mount("none", "/", "", g::MS_PRIVATE | g::MS_REC), Ok(0));
    assert_eq!(
        w.mount("none", "/", "", g::MS_PRIVATE | g::MS_SHARED),
        Err(Errno::EINVAL)
    );
    // A fault on the type string.
    let bad = UserCStr::new(0xdead_0000);
    let t = w.string(Some("/mnt"));
    assert_eq!(
        syscalls::mount(
            &w.cx,
            &mut w.mem,
            &InMemory,
            bad,
            t,
            bad,
            0,
            UserAddr::new(0)
        ),
        Err(Errno::EFAULT)
    );
}

#[test]
fn proc_sysfs_and_devtmpfs_mount_their_one_instance() {
    let mut w = World::new();
    assert_eq!(w.mount("proc", "/mnt", "proc", 0), Ok(0));
    let proc_dev = w.mount_at(b"/proc").fs().device();
    assert_eq!(w.mount_at(b"/mnt").fs().device(), proc_dev);
    assert_eq!(w.mount("proc", "/proc", "proc", 0), Err(Errno::EBUSY));
    assert_eq!(w.mount("udev", "/other", "devtmpfs", 0), Ok(0));
    assert!(w.exists(b"/other/null"));
    assert_eq!(w.mount("sysfs", "/mnt/", "sysfs", 0), Err(Errno::ENODEV));
}

#[test]
fn bind_mounts_show_a_directory_elsewhere() {
    let mut w = World::new();
    w.cx.mkdir_all(b"/mnt/sub/deep", 0o755).unwrap();
    assert_eq!(w.mount("/mnt/sub", "/other", "", g::MS_BIND), Ok(0));
    assert!(w.exists(b"/other/deep"));
    let other = w.cx.lookup(b"/other", true).unwrap();
    assert!(other.is_mount_root());
    assert_eq!(
        other.inode().ino(),
        w.cx.lookup(b"/mnt/sub", true).unwrap().inode().ino()
    );
    drop(other);
    // `..` leaves through the bind mount's mount point.
    let up = w.cx.lookup(b"/other/..", true).unwrap();
    assert!(up.same(&w.cx.root()));
    drop(up);
    w.create(b"/other/made").unwrap();
    assert!(w.exists(b"/mnt/sub/made"));
    assert_eq!(w.umount("/other", 0), Ok(0));
    assert!(!w.exists(b"/other/deep"));
    assert!(w.exists(b"/mnt/sub/made"));
}

#[test]
fn disk_types_need_a_disk_node() {
    struct OneDiskType;
    impl FileSystemTypes for OneDiskType {
        fn is_disk_type(&self, t: &[u8]) -> bool {
            t == b"ext2"
        }
    }
    let mut w = World::new();
    w.create(b"/file").unwrap();
    let t = &OneDiskType;
    assert_eq!(
        w.mount_with(t, None, "/mnt", Some("ext2"), 0, None),
        Err(Errno::EINVAL),
        "no source"
    );
    assert_eq!(
        w.mount_with(t, Some(""), "/mnt", Some("ext2"), 0, None),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        w.mount_with(t, Some("/file"), "/mnt", Some("ext2"), 0, None),
        Err(Errno::ENOTBLK)
    );
    assert_eq!(
        w.mount_with(t, Some("/dev/null"), "/mnt", Some("ext2"), 0, None),
        Err(Errno::ENOTBLK)
    );
    assert_eq!(
        w.mount_with(&InMemory, Some("/file"), "/mnt", Some("ext2"), 0, None),
        Err(Errno::ENODEV),
        "a type nobody knows"
    );
}

#[cfg(feature = "ext2")]
#[test]
fn an_ext2_disk_is_mounted_from_its_node_and_written_back_on_unmount() {
    use crate::block::{BlockDevice, RamDisk};
    use crate::ext2::{self, Ext2, FormatOptions};
    use crate::time::RealtimeClock;

    struct Disks {
        disk: Arc<RamDisk>,
        dev: DeviceId,
        released: spin::Mutex<u32>,
    }
    impl FileSystemTypes for Disks {
        fn is_disk_type(&self, t: &[u8]) -> bool {
            t == b"ext2"
        }
        fn is_disk(&self, dev: DeviceId) -> bool {
            dev == self.dev
        }
        fn mount_disk(
            &self,
            _: &[u8],
            dev: DeviceId,
            read_only: bool,
            now: crate::Timestamp,
        ) -> Result<Arc<dyn FileSystem>, Errno> {
            let options = ext2::MountOptions {
                read_only,
                ..ext2::MountOptions::default()
            };
            let disk: Arc<dyn BlockDevice> = self.disk.clone();
            Ok(Ext2::mount(disk, dev, options, now).map_err(|_| Errno::EINVAL)?)
        }
        fn released(&self, fs: &Arc<dyn FileSystem>) -> Result<(), Errno> {
            *self.released.lock() += 1;
            fs.sync()
        }
    }
    let clock = FakeClock::at(1_700_000_000);
    let disk = RamDisk::new(4096);
    ext2::format(&disk, &FormatOptions::default(), clock.now()).unwrap();
    let dev = crate::block::file::disk_device(0);
    let disks = Disks {
        disk: Arc::new(disk),
        dev,
        released: spin::Mutex::new(0),
    };
    let mut w = World::new();
    w.cx.root()
        .inode()
        .create(
            b"vda",
            NewNode::CharDevice(dev),
            &NewAttrs {
                perm: 0o660,
                uid: 0,
                gid: 0,
                now: w.cx.vfs().now(),
            },
        )
        .unwrap();
    assert_eq!(
        w.mount_with(&disks, Some("/vda"), "/mnt", Some("ext2"), 0, None),
        Ok(0)
    );
    assert_eq!(w.mount_at(b"/mnt").fs().name(), "ext2");
    assert!(w.exists(b"/mnt/lost+found"));
    let f = w.create(b"/mnt/kept").unwrap();
    f.write(&WriteBuf::kernel(b"on the disk")).unwrap();
    drop(f);
    let flushes = disks.disk.flush_count();
    let target = w.string(Some("/mnt"));
    assert_eq!(
        syscalls::umount2(&w.cx, &mut w.mem, &disks, target, 0),
        Ok(0)
    );
    assert_eq!(*disks.released.lock(), 1);
    assert!(disks.disk.flush_count() > flushes, "written back");
    // Mounted again (read-only this time), the same file system instance comes back.
    assert_eq!(
        w.mount_with(
            &disks,
            Some("/vda"),
            "/other",
            Some("ext2"),
            g::MS_RDONLY,
            None
        ),
        Ok(0)
    );
    assert!(w.exists(b"/other/kept"));
    assert_eq!(w.create(b"/other/new").err(), Some(Errno::EROFS));
    assert_eq!(
        w.mount_with(&disks, Some("/vda"), "/mnt", Some("ext3"), 0, None),
        Err(Errno::ENODEV)
    );
}
