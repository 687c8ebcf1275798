//! mount(2) and umount2(2) over a [`Vfs`], as their man pages and Linux's `path_mount` and
//! `ksys_umount` (fs/namespace.c) describe them.
//!
//! mount(2) makes new mounts of `tmpfs` (options `size=N[k|m|g|t|p|e|%]`, `nr_blocks=`,
//! `nr_inodes=` (0: unlimited), `mode=`, `uid=`, `gid=`; `huge=`, `inode32`/`inode64`,
//! `noswap` accepted and ignored), `proc`, `sysfs` and `devtmpfs` (the one
//! instance of each, as Linux keeps one superblock of each per namespace), and of the disk
//! file systems the embedder knows ([`FileSystemTypes`]), from a device node. It also
//! changes a mount's flags (`MS_REMOUNT`, `MS_REMOUNT | MS_BIND`) and a tmpfs's limits
//! (`MS_REMOUNT` with `size=`/`nr_blocks=`/`nr_inodes=`: `EINVAL` below what is in use or to
//! limit an unlimited one, as Linux's `shmem_reconfigure`), makes bind mounts
//! (`MS_BIND`, not recursive) and accepts the propagation flags (`MS_PRIVATE`...; every mount
//! is private). Not here: `MS_MOVE` (`EINVAL`).
//!
//! Errors come in Linux's order: the strings are copied first (`EFAULT`; `EINVAL` for a type
//! or source of `PATH_MAX` bytes or more), then the target is resolved (`ENOENT`,
//! `ENOTDIR`...), then the type is looked up (`ENODEV`), its options parsed (`EINVAL`), its
//! source resolved (`ENOENT`, `ENOTBLK`, `ENXIO`), and last the target is checked against the
//! new root (`ENOTDIR`; `EBUSY` for the same file system again on its own root).
//!
//! The mount flags (`MS_RDONLY`, `MS_NOSUID`, `MS_NODEV`, `MS_NOEXEC`, `MS_NOATIME`,
//! `MS_NODIRATIME`, `MS_STRICTATIME`) are stored on the mount ([`MountFlags`]) and shown by
//! /proc/mounts and statfs(2). `MS_RDONLY` is enforced (`EROFS`; a remount read-only is
//! `EBUSY` while a file is open for writing through the mount), `MS_NODEV` (device nodes do
//! not open: `EACCES`) and `MS_NOEXEC` (by the kernel's execve(2), `EACCES`, and mmap(2)
//! with `PROT_EXEC`, `EPERM`); `MS_NOSUID` has nothing to act on (no set-id exec). There is
//! one user, root, so nothing is `EPERM`.

use crate::context::FsContext;
use crate::mount::{FileSystem, Location, MountFlags};
use crate::node::{DeviceId, FileKind, SetAttr};
use crate::syscalls::copy_nonempty_path;
use crate::time::Timestamp;
use crate::tmpfs::Tmpfs;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use oxv_abi::user::{CStrError, PATH_MAX};
use oxv_abi::{Errno, SysResult, UserAddr, UserCStr, UserMemory};

/// What mount(2) needs from the embedder to make file systems: memory for tmpfs data, and
/// the disks. Every method has a default that suits a VFS without disks ([`InMemory`]).
pub trait FileSystemTypes: Send + Sync {
    /// A new, empty tmpfs with device number `dev` and root permission bits `perm`, with the
    /// default limits (mount(2) then applies `size=` and `nr_inodes=`). The default keeps
    /// file data on the heap, without limits; a kernel whose tmpfs files can be mapped shared
    /// gives its frames ([`Tmpfs::with_memory`], half of RAM).
    fn new_tmpfs(&self, dev: DeviceId, perm: u32, now: Timestamp) -> Arc<Tmpfs> {
        Tmpfs::with_root_perm(dev, perm, now)
    }

    /// Whether `fstype` names a disk file system this embedder mounts from a device
    /// (`"ext2"`).
    fn is_disk_type(&self, _fstype: &[u8]) -> bool {
        false
    }

    /// Whether a device node with number `dev` is a disk, though it is a character device
    /// (oxv's `/dev/vda` is one, so that apps can read it).
    fn is_disk(&self, _dev: DeviceId) -> bool {
        false
    }

    /// Mounts the disk with device number `dev` as `fstype` (one of
    /// [`is_disk_type`](FileSystemTypes::is_disk_type)): `ENXIO` if no disk has that number,
    /// `EACCES` for a read-only disk unless `read_only`, `EINVAL` if it does not hold that
    /// file system. Called only for a disk [`Vfs`] holds no file system of yet.
    fn mount_disk(
        &self,
        _fstype: &[u8],
        _dev: DeviceId,
        _read_only: bool,
        _now: Timestamp,
    ) -> Result<Arc<dyn FileSystem>, Errno> {
        Err(Errno::ENXIO)
    }

    /// The disk file system `fs`, already open, is mounted again (it may have been written
    /// back and marked clean by [`released`](FileSystemTypes::released) since): mark it in
    /// use. The default does nothing.
    fn remounted(&self, _fs: &Arc<dyn FileSystem>, _now: Timestamp) {}

    /// `fs` is mounted nowhere in the tree any more (umount2(2)): write it back. The
    /// default syncs it ([`FileSystem::sync`]).
    fn released(&self, fs: &Arc<dyn FileSystem>) -> Result<(), Errno> {
        fs.sync()
    }
}

/// The [`FileSystemTypes`] of a VFS with no disks: tmpfs on the heap.
pub struct InMemory;

impl FileSystemTypes for InMemory {}

/// The `MS_*` flags that make a mount flag.
const PER_MOUNT: u64 = (g::MS_RDONLY
    | g::MS_NOSUID
    | g::MS_NODEV
    | g::MS_NOEXEC
    | g::MS_NOATIME
    | g::MS_NODIRATIME
    | g::MS_STRICTATIME) as u64;

const PROPAGATION: u64 = (g::MS_SHARED | g::MS_PRIVATE | g::MS_SLAVE | g::MS_UNBINDABLE) as u64;

/// The longest mount options Linux copies in (one page).
const OPTIONS_MAX: usize = 4096;

/// mount(2).
#[allow(clippy::too_many_arguments)]
pub fn mount(
    cx: &FsContext,
    mem: &mut dyn UserMemory,
    types: &dyn FileSystemTypes,
    source: UserCStr,
    target: UserCStr,
    fstype: UserCStr,
    flags: u64,
    data: UserAddr,
) -> SysResult {
    let fstype = copy_string(mem, fstype)?;
    let source = copy_string(mem, source)?;
    let options = copy_options(mem, data)?;
    let target = copy_nonempty_path(mem, target)?;
    let at = cx.lookup(&target, true)?;

    let mut flags = flags;
    if flags & u64::from(g::MS_MGC_MSK) == u64::from(g::MS_MGC_VAL) {
        flags &= !u64::from(g::MS_MGC_MSK);
    }
    if flags & u64::from(g::MS_NOUSER) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut new_flags = MountFlags::from_bits_truncate((flags & PER_MOUNT) as u32);
    if new_flags.contains(MountFlags::STRICT_ATIME) {
        new_flags.remove(MountFlags::NO_ATIME);
    }
    let remount = flags & u64::from(g::MS_REMOUNT) != 0;
    let bind = flags & u64::from(g::MS_BIND) != 0;
    if remount {
        // Linux keeps the access-time mode of a remount that names none.
        let atime = u64::from(g::MS_NOATIME | g::MS_NODIRATIME | g::MS_RELATIME)
            | u64::from(g::MS_STRICTATIME);
        if flags & atime == 0 {
            new_flags = (new_flags - MountFlags::ATIME) | (at.mount().flags() & MountFlags::ATIME);
        }
        // MS_REMOUNT | MS_BIND changes the mount's flags only; MS_REMOUNT alone the file
        // system's too, and oxv keeps them all on the mount.
        check_mount_root(&at)?;
        if !bind {
            let fs = at.mount().fs();
            let tmpfs = fs.as_any().and_then(|a| a.downcast_ref::<Tmpfs>());
            let opts = parse_options(if tmpfs.is_some() { b"tmpfs" } else { b"" }, &options)?;
            if opts.read_only {
                new_flags |= MountFlags::READ_ONLY;
            }
            // Linux's reconfigure_super: EBUSY for writers comes before the file system's
            // own reconfigure, which then changes nothing.
            at.mount().check_remount(new_flags)?;
            if let Some(tmpfs) = tmpfs {
                let blocks = opts.size.map(|s| s.blocks(tmpfs.ram_pages()));
                tmpfs.reconfigure(blocks, opts.inodes)?;
            }
        }
        at.mount().remount(new_flags)?;
        return Ok(0);
    }
    if bind {
        return bind_mount(cx, &at, source.as_deref());
    }
    if flags & PROPAGATION != 0 {
        if !at.is_mount_root() {
            return Err(Errno::EINVAL);
        }
        let kind = flags & !u64::from(g::MS_REC | g::MS_SILENT);
        if !kind.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        return Ok(0);
    }
    if flags & u64::from(g::MS_MOVE) != 0 {
        return Err(Errno::EINVAL);
    }
    new_mount(
        cx,
        types,
        &at,
        fstype.as_deref(),
        source,
        &options,
        new_flags,
    )
}

/// umount2(2).
pub fn umount2(
    cx: &FsContext,
    mem: &mut dyn UserMemory,
    types: &dyn FileSystemTypes,
    target: UserCStr,
    flags: i32,
) -> SysResult {
    let known = g::MNT_FORCE | g::MNT_DETACH | g::MNT_EXPIRE | g::UMOUNT_NOFOLLOW;
    let flags = flags as u32;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let target = copy_nonempty_path(mem, target)?;
    let loc = cx.lookup(&target, flags & g::UMOUNT_NOFOLLOW == 0)?;
    check_mount_root(&loc)?;
    let mount = loc.mount();
    let lazy = flags & g::MNT_DETACH != 0;
    if flags & g::MNT_EXPIRE != 0 {
        if flags & (g::MNT_FORCE | g::MNT_DETACH) != 0 || mount.mountpoint().is_none() {
            return Err(Errno::EINVAL);
        }
        if cx.vfs().is_busy(mount, 1) {
            return Err(Errno::EBUSY);
        }
        // The first call only marks an unused mount; a second one unmounts it.
        if !mount.mark_expired() {
            return Err(Errno::EAGAIN);
        }
    }
    let released = cx.vfs().unmount(mount, lazy, 1)?;
    drop(loc);
    for fs in released {
        // As on Linux, a failed write-back does not fail umount2; the error stays with the
        // device (a later fsync(2) of a file still open there reports it).
        let _ = types.released(&fs);
    }
    Ok(0)
}

/// `EINVAL` unless `loc` is the root of a mount in the tree (Linux's `can_umount` and
/// `do_remount` checks).
fn check_mount_root(loc: &Location) -> Result<(), Errno> {
    if !loc.is_mount_root() || loc.mount().is_detached() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn bind_mount(cx: &FsContext, at: &Location, source: Option<&[u8]>) -> SysResult {
    let source = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
    let from = cx.lookup(source, true)?;
    if from.mount().is_detached() || at.mount().is_detached() {
        return Err(Errno::EINVAL);
    }
    if from.is_dir() != at.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    cx.vfs().bind(&from, at, source);
    Ok(0)
}

fn new_mount(
    cx: &FsContext,
    types: &dyn FileSystemTypes,
    at: &Location,
    fstype: Option<&[u8]>,
    source: Option<Vec<u8>>,
    options: &[u8],
    mut flags: MountFlags,
) -> SysResult {
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    let vfs = cx.vfs();
    let fs: Arc<dyn FileSystem> = match fstype {
        b"tmpfs" => {
            let opts = parse_options(b"tmpfs", options)?;
            let perm = opts.mode.unwrap_or(0o1777);
            let fs = types.new_tmpfs(vfs.anon_device(), perm, vfs.now());
            let mut limits = fs.usage().limits;
            if let Some(size) = opts.size {
                limits.blocks = size.blocks(fs.ram_pages());
            }
            if let Some(inodes) = opts.inodes {
                limits.inodes = inodes;
            }
            fs.set_limits(limits);
            if opts.uid.is_some() || opts.gid.is_some() {
                let attr = SetAttr {
                    perm: None,
                    uid: opts.uid,
                    gid: opts.gid,
                    size: None,
                    atime: None,
                    mtime: None,
                    ctime: vfs.now(),
                };
                fs.root().set_attr(&attr)?;
            }
            if opts.read_only {
                flags |= MountFlags::READ_ONLY;
            }
            fs as Arc<dyn FileSystem>
        }
        b"proc" => vfs.shared("proc").ok_or(Errno::ENODEV)?,
        b"sysfs" => vfs.shared("sysfs").ok_or(Errno::ENODEV)?,
        b"devtmpfs" => vfs.shared("devtmpfs").ok_or(Errno::ENODEV)?,
        t if types.is_disk_type(t) => {
            if parse_options(b"", options)?.read_only {
                flags |= MountFlags::READ_ONLY;
            }
            disk_fs(cx, types, t, source.as_deref(), flags)?
        }
        _ => return Err(Errno::ENODEV),
    };
    let root_is_dir = fs.root().kind() == FileKind::Directory;
    if at.mount().is_detached() {
        return Err(Errno::EINVAL);
    }
    if at.is_mount_root() && at.mount().fs().device() == fs.device() {
        return Err(Errno::EBUSY);
    }
    if at.is_dir() != root_is_dir {
        return Err(Errno::ENOTDIR);
    }
    let shown = source.unwrap_or_else(|| b"none".to_vec());
    vfs.mount_from(fs, at, flags, &shown);
    Ok(0)
}

/// The file system on the disk `source` names (Linux's `get_tree_bdev`): `EINVAL` without a
/// source, the walk's errors, `ENOTBLK` unless it is a disk's node; the file system already
/// made on that disk if there is one.
fn disk_fs(
    cx: &FsContext,
    types: &dyn FileSystemTypes,
    fstype: &[u8],
    source: Option<&[u8]>,
    flags: MountFlags,
) -> Result<Arc<dyn FileSystem>, Errno> {
    let source = source.ok_or(Errno::EINVAL)?;
    if source.is_empty() {
        return Err(Errno::ENOENT);
    }
    let node = cx.lookup(source, true)?;
    let meta = node.inode().metadata();
    let is_disk = match meta.kind {
        FileKind::BlockDevice => true,
        FileKind::CharDevice => types.is_disk(meta.rdev),
        _ => false,
    };
    if !is_disk {
        return Err(Errno::ENOTBLK);
    }
    if let Some(fs) = cx.vfs().shared_on_device(meta.rdev) {
        // Linux refuses another type on a device already mounted.
        return if fs.name().as_bytes() == fstype {
            if !flags.contains(MountFlags::READ_ONLY) {
                types.remounted(&fs, cx.vfs().now());
            }
            Ok(fs)
        } else {
            Err(Errno::EBUSY)
        };
    }
    types.mount_disk(
        fstype,
        meta.rdev,
        flags.contains(MountFlags::READ_ONLY),
        cx.vfs().now(),
    )
}

/// The options of a mount's data string that oxv acts on.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    read_only: bool,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    /// A tmpfs's block limit (the last of `size=` and `nr_blocks=`).
    size: Option<TmpfsSize>,
    /// A tmpfs's `nr_inodes=` (0: unlimited).
    inodes: Option<u64>,
}

/// A tmpfs's `size=` or `nr_blocks=`, before RAM is known.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum TmpfsSize {
    /// `size=N` bytes, rounded up to pages.
    Bytes(u64),
    /// `size=N%` of RAM (Linux's `size << PAGE_SHIFT * totalram_pages / 100`).
    PercentOfRam(u64),
    /// `nr_blocks=N` pages.
    Blocks(u64),
}

impl TmpfsSize {
    /// The limit in pages, on a machine with `ram_pages` of RAM (a share of unknown RAM is
    /// 0: no limit). Saturates rather than wrapping.
    fn blocks(self, ram_pages: Option<u64>) -> u64 {
        const PAGE: u64 = 4096;
        match self {
            TmpfsSize::Bytes(b) => b.div_ceil(PAGE),
            TmpfsSize::PercentOfRam(pct) => {
                let ram = u128::from(ram_pages.unwrap_or(0));
                let bytes = u128::from(pct) * u128::from(PAGE) * ram / 100;
                u64::try_from(bytes.div_ceil(u128::from(PAGE))).unwrap_or(u64::MAX)
            }
            TmpfsSize::Blocks(n) => n,
        }
    }
}

/// Parses the comma-separated `key[=value]` options of `fstype` (`b"tmpfs"`; `b""` for the
/// generic ones only, which other file systems get, everything else being ignored):
/// `EINVAL` for an unknown tmpfs option or a bad value, as Linux's `shmem_parse_one`.
fn parse_options(fstype: &[u8], data: &[u8]) -> Result<Options, Errno> {
    let mut opts = Options::default();
    for item in data.split(|&b| b == b',').filter(|i| !i.is_empty()) {
        let (key, value) = match item.iter().position(|&b| b == b'=') {
            Some(i) => (&item[..i], Some(&item[i + 1..])),
            None => (item, None),
        };
        // The superblock flags every file system takes (vfs_parse_sb_flag).
        match (key, value) {
            (b"ro", None) => {
                opts.read_only = true;
                continue;
            }
            (b"rw", None) => {
                opts.read_only = false;
                continue;
            }
            (
                b"sync" | b"async" | b"dirsync" | b"lazytime" | b"nolazytime" | b"mand" | b"nomand"
                | b"silent" | b"posixacl",
                None,
            ) => continue,
            _ => {}
        }
        if fstype != b"tmpfs" {
            continue;
        }
        match (key, value) {
            (b"size", Some(v)) => {
                // A percentage of RAM, or bytes with a k/m/g/t/p/e suffix.
                opts.size = Some(match v.strip_suffix(b"%") {
                    Some(pct) => TmpfsSize::PercentOfRam(parse_size(pct)?),
                    None => TmpfsSize::Bytes(parse_size(v)?),
                });
            }
            (b"nr_blocks", Some(v)) => {
                let n = parse_size(v)?;
                if n > i64::MAX as u64 {
                    return Err(Errno::EINVAL);
                }
                opts.size = Some(TmpfsSize::Blocks(n));
            }
            (b"nr_inodes", Some(v)) => {
                // Linux counts inode space in 1 KiB units (BOGO_INODE_SIZE) in an unsigned long.
                let n = parse_size(v)?;
                if n > u64::MAX / 1024 {
                    return Err(Errno::EINVAL);
                }
                opts.inodes = Some(n);
            }
            (b"mode", Some(v)) => opts.mode = Some((parse_number(v, 8)? & 0o7777) as u32),
            (b"uid", Some(v)) => opts.uid = Some(id(v)?),
            (b"gid", Some(v)) => opts.gid = Some(id(v)?),
            (b"huge", Some(b"never" | b"always" | b"within_size" | b"advise")) => {}
            (b"inode32" | b"inode64" | b"noswap", None) => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(opts)
}

fn id(v: &[u8]) -> Result<u32, Errno> {
    u32::try_from(parse_number(v, 10)?).map_err(|_| Errno::EINVAL)
}

/// A number in `radix`: `EINVAL` if empty, malformed or too large.
fn parse_number(v: &[u8], radix: u32) -> Result<u64, Errno> {
    let s = core::str::from_utf8(v).map_err(|_| Errno::EINVAL)?;
    u64::from_str_radix(s, radix).map_err(|_| Errno::EINVAL)
}

/// A size with an optional binary suffix (Linux's `memparse`).
fn parse_size(v: &[u8]) -> Result<u64, Errno> {
    let (digits, shift) = match v.last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 30),
        Some(b't' | b'T') => (&v[..v.len() - 1], 40),
        Some(b'p' | b'P') => (&v[..v.len() - 1], 50),
        Some(b'e' | b'E') => (&v[..v.len() - 1], 60),
        _ => (v, 0),
    };
    parse_number(digits, 10)?
        .checked_mul(1 << shift)
        .ok_or(Errno::EINVAL)
}

/// A string argument (type, source): `None` for a NULL pointer, `EFAULT`, `EINVAL` if it
/// has `PATH_MAX` bytes or more (Linux's `copy_mount_string`).
fn copy_string(mem: &dyn UserMemory, s: UserCStr) -> Result<Option<Vec<u8>>, Errno> {
    if s.0.get() == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; PATH_MAX];
    match mem.read_cstr(s.0, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(CStrError::Fault(_)) => Err(Errno::EFAULT),
        Err(CStrError::TooLong) => Err(Errno::EINVAL),
    }
}

/// The options page: up to 4 KiB from `data`, as much as can be read (Linux's
/// `copy_mount_options`: `EFAULT` only if not one byte can), up to the first NUL.
fn copy_options(mem: &dyn UserMemory, data: UserAddr) -> Result<Vec<u8>, Errno> {
    if data.get() == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; OPTIONS_MAX];
    let mut done = 0usize;
    while done < OPTIONS_MAX {
        let Some(addr) = data.checked_add(done as u64) else {
            break;
        };
        let to_page_end = 4096 - (addr.get() % 4096) as usize;
        let n = to_page_end.min(OPTIONS_MAX - done);
        if mem.copy_in(addr, &mut buf[done..done + n]).is_err() {
            break;
        }
        if let Some(nul) = buf[done..done + n].iter().position(|&b| b == 0) {
            done += nul;
            buf.truncate(done);
            return Ok(buf);
        }
        done += n;
    }
    if done == 0 {
        return Err(Errno::EFAULT);
    }
    buf.truncate(done);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_options_parse_as_linux_does() {
        let o = parse_options(b"tmpfs", b"size=1m,mode=0755,uid=5,gid=6,inode64").unwrap();
        assert_eq!(
            o,
            Options {
                read_only: false,
                mode: Some(0o755),
                uid: Some(5),
                gid: Some(6),
                size: Some(TmpfsSize::Bytes(1 << 20)),
                inodes: None,
            }
        );
        let o = parse_options(b"tmpfs", b"size=1m,nr_blocks=3,nr_inodes=2k").unwrap();
        assert_eq!(o.size, Some(TmpfsSize::Blocks(3)), "the last one counts");
        assert_eq!(o.inodes, Some(2048));
        assert_eq!(
            TmpfsSize::Bytes(4097).blocks(None),
            2,
            "rounded up to pages"
        );
        assert_eq!(TmpfsSize::PercentOfRam(50).blocks(Some(1000)), 500);
        assert_eq!(TmpfsSize::PercentOfRam(50).blocks(None), 0);
        assert_eq!(parse_options(b"tmpfs", b"size=10%%"), Err(Errno::EINVAL));
        assert_eq!(parse_options(b"tmpfs", b"nr_inodes=-1"), Err(Errno::EINVAL));
        assert!(parse_options(b"tmpfs", b"ro").unwrap().read_only);
        assert_eq!(parse_options(b"tmpfs", b"size=50%").map(|_| ()), Ok(()));
        assert_eq!(parse_options(b"tmpfs", b"bogus"), Err(Errno::EINVAL));
        assert_eq!(parse_options(b"tmpfs", b"size=1x"), Err(Errno::EINVAL));
        assert_eq!(parse_options(b"tmpfs", b"mode=9"), Err(Errno::EINVAL));
        assert_eq!(parse_options(b"tmpfs", b"huge=maybe"), Err(Errno::EINVAL));
        assert_eq!(
            parse_options(b"", b"bogus,ro"),
            Ok(Options {
                read_only: true,
                ..Options::default()
            })
        );
        assert_eq!(parse_size(b"4k"), Ok(4096));
        assert_eq!(parse_size(b"99999999999e"), Err(Errno::EINVAL));
    }
}
