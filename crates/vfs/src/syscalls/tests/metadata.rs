//! fstat, stat, lstat, newfstatat, statx, access, readlink.

use super::*;
use oxv_abi::linux::fs::{
    AT_FDCWD, AT_STATX_SYNC_TYPE, AtFlags, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, StatxMask,
};

#[test]
fn stat_fields() {
    let mut w = World::new();
    let st = w.stat("/etc/motd").unwrap();
    assert_eq!(st.st_mode, S_IFREG | 0o644);
    assert_eq!(st.st_size, 12);
    assert_eq!(st.st_nlink, 1);
    assert_eq!(st.st_blocks, 8);
    assert_eq!(st.st_blksize, 4096);
    assert_eq!(st.st_mtime, 1_600_000_000, "from the archive");
    assert_eq!(st.st_ctime, BOOT);
    assert_eq!(st.st_dev, DeviceId::new(0, 1).encode());
    let etc = w.stat("/etc").unwrap();
    assert_eq!(etc.st_mode, S_IFDIR | 0o755);
    assert_eq!(etc.st_nlink, 2);
    assert_ne!(etc.st_ino, st.st_ino);
    // stat follows, lstat does not.
    assert_eq!(w.stat("/etc/motd.link").unwrap().st_ino, st.st_ino);
    let l = w.lstat("/etc/motd.link").unwrap();
    assert_eq!((l.st_mode, l.st_size), (S_IFLNK | 0o777, 4));
    assert_eq!(w.stat("/etc/dangling"), Err(Errno::ENOENT));
    assert!(w.lstat("/etc/dangling").is_ok());
    // Different file systems, different devices.
    assert_ne!(w.stat("/tmp").unwrap().st_dev, st.st_dev);
    let null = w.stat("/dev/null").unwrap();
    assert_eq!((null.st_mode, null.st_rdev), (S_IFCHR | 0o666, 0x103));
    let fd = w.fd("/etc/motd", RDONLY);
    assert_eq!(w.fstat(fd).unwrap(), st);
}

#[test]
fn stat_errors() {
    let mut w = World::new();
    assert_eq!(w.stat(""), Err(Errno::ENOENT));
    assert_eq!(w.stat("/etc/motd/"), Err(Errno::ENOTDIR));
    assert_eq!(w.stat("/etc/loop"), Err(Errno::ELOOP));
    assert_eq!(w.fstat(42), Err(Errno::EBADF));
    let path = w.path("/etc/motd");
    assert_eq!(
        stat::stat(&w.cx, &w.files, &mut w.mem, path, UserPtr::new(RO)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        stat::stat(&w.cx, &w.files, &mut w.mem, path, UserPtr::new(UNMAPPED)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        stat::fstat(&w.files, &mut w.mem, 99, UserPtr::new(UNMAPPED)),
        Err(Errno::EBADF),
        "EBADF first"
    );
}

#[test]
fn newfstatat_flags_and_empty_paths() {
    let mut w = World::new();
    let etc = w.fd("/etc", RDONLY);
    let at = |w: &mut World, dirfd: i32, p: &str, flags: u32| {
        let path = w.path(p);
        stat::newfstatat(
            &w.cx,
            &w.files,
            &mut w.mem,
            dirfd,
            path,
            UserPtr::new(OUT),
            flags,
        )
        .map(|_| w.stat_out())
    };
    let motd = at(&mut w, etc, "motd", 0).unwrap();
    assert_eq!(motd.st_size, 12);
    let l = at(&mut w, etc, "motd.link", AtFlags::SYMLINK_NOFOLLOW.bits()).unwrap();
    assert_eq!(l.st_mode & S_IFMT, S_IFLNK);
    assert_eq!(at(&mut w, etc, "", 0), Err(Errno::ENOENT));
    let empty = AtFlags::EMPTY_PATH.bits();
    assert_eq!(
        at(&mut w, etc, "", empty).unwrap().st_mode & S_IFMT,
        S_IFDIR
    );
    assert_eq!(
        at(&mut w, 1, "", empty).unwrap().st_mode & S_IFMT,
        S_IFCHR,
        "any fd, even without a path"
    );
    assert_eq!(
        at(&mut w, AT_FDCWD, "", empty).unwrap().st_ino,
        w.stat("/").unwrap().st_ino
    );
    assert_eq!(at(&mut w, etc, "motd", 0x1), Err(Errno::EINVAL));
    assert_eq!(at(&mut w, 99, "", empty), Err(Errno::EBADF));
    // A null path with AT_EMPTY_PATH is the empty path (Linux 6.11).
    let r = stat::newfstatat(
        &w.cx,
        &w.files,
        &mut w.mem,
        etc,
        UserCStr::new(0),
        UserPtr::new(OUT),
        empty,
    );
    assert_eq!(r, Ok(0));
    let r = stat::newfstatat(
        &w.cx,
        &w.files,
        &mut w.mem,
        etc,
        UserCStr::new(0),
        UserPtr::new(OUT),
        0,
    );
    assert_eq!(r, Err(Errno::EFAULT));
}

#[test]
fn statx_reports_basic_stats() {
    let mut w = World::new();
    let path = w.path("/tmp");
    let basic = StatxMask::BASIC_STATS.bits();
    assert_eq!(statx_call(&mut w, AT_FDCWD, path, 0, basic), Ok(0));
    let sx = w.statx_out();
    let st = w.stat("/tmp").unwrap();
    assert_eq!(sx.stx_mask & basic, basic);
    assert_eq!(sx.stx_mode as u32, st.st_mode);
    assert_eq!(sx.stx_mode as u32 & 0o7777, 0o1777);
    assert_eq!(sx.stx_ino, st.st_ino);
    assert_eq!(
        DeviceId::new(sx.stx_dev_major, sx.stx_dev_minor).encode(),
        st.st_dev
    );
    assert_eq!(sx.stx_mtime.tv_sec, BOOT);
    let root_mnt = {
        let p = w.path("/");
        statx_call(&mut w, AT_FDCWD, p, 0, basic).unwrap();
        w.statx_out().stx_mnt_id
    };
    assert_eq!(root_mnt, 1);
    assert_ne!(sx.stx_mnt_id, root_mnt, "/tmp is a mount of its own");
    let p = w.path("/dev/null");
    statx_call(&mut w, AT_FDCWD, p, 0, 0).unwrap();
    let null = w.statx_out();
    assert_eq!((null.stx_rdev_major, null.stx_rdev_minor), (1, 3));
}

fn statx_call(w: &mut World, dirfd: i32, path: UserCStr, flags: u32, mask: u32) -> SysResult {
    stat::statx(
        &w.cx,
        &w.files,
        &mut w.mem,
        dirfd,
        path,
        flags,
        mask,
        UserPtr::new(OUT),
    )
}

#[test]
fn statx_errors() {
    let mut w = World::new();
    let p = w.path("/etc/motd");
    assert_eq!(
        statx_call(&mut w, AT_FDCWD, p, AT_STATX_SYNC_TYPE, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        statx_call(&mut w, AT_FDCWD, p, 0x8000_0000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        statx_call(&mut w, AT_FDCWD, p, 0, StatxMask::RESERVED.bits()),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        statx_call(&mut w, AT_FDCWD, p, AtFlags::STATX_DONT_SYNC.bits(), 0),
        Ok(0)
    );
    let l = w.path("/etc/motd.link");
    statx_call(&mut w, AT_FDCWD, l, AtFlags::SYMLINK_NOFOLLOW.bits(), 0).unwrap();
    assert_eq!(w.statx_out().stx_mode as u32 & S_IFMT, S_IFLNK);
    let e = w.path("");
    assert_eq!(statx_call(&mut w, AT_FDCWD, e, 0, 0), Err(Errno::ENOENT));
    assert_eq!(
        stat::statx(
            &w.cx,
            &w.files,
            &mut w.mem,
            AT_FDCWD,
            p,
            0,
            0,
            UserPtr::new(RO)
        ),
        Err(Errno::EFAULT)
    );
}

fn access_call(w: &mut World, p: &str, mode: u32, flags: u32) -> SysResult {
    let path = w.path(p);
    access::faccessat2(&w.cx, &w.files, &mut w.mem, AT_FDCWD, path, mode, flags)
}

#[test]
fn access_for_root() {
    let mut w = World::new();
    let (r, wr, x) = (4, 2, 1);
    assert_eq!(access_call(&mut w, "/etc/motd", 0, 0), Ok(0));
    assert_eq!(access_call(&mut w, "/etc/motd", r | wr, 0), Ok(0));
    assert_eq!(
        access_call(&mut w, "/etc/motd", x, 0),
        Err(Errno::EACCES),
        "no x bit anywhere"
    );
    assert_eq!(access_call(&mut w, "/bin/app", x, 0), Ok(0));
    assert_eq!(
        access_call(&mut w, "/etc", x, 0),
        Ok(0),
        "directories are searchable"
    );
    assert_eq!(access_call(&mut w, "/nope", 0, 0), Err(Errno::ENOENT));
    assert_eq!(access_call(&mut w, "/etc/motd", 8, 0), Err(Errno::EINVAL));
    assert_eq!(
        access_call(&mut w, "/nope", 8, 0),
        Err(Errno::EINVAL),
        "EINVAL before the walk"
    );
    assert_eq!(access_call(&mut w, "/etc/motd", 0, 0x1), Err(Errno::EINVAL));
    assert_eq!(access_call(&mut w, "/ro/file", wr, 0), Err(Errno::EROFS));
    assert_eq!(access_call(&mut w, "/ro/file", r, 0), Ok(0));
    assert_eq!(
        access_call(&mut w, "/etc/dangling", 0, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        access_call(&mut w, "/etc/dangling", 0, AtFlags::SYMLINK_NOFOLLOW.bits()),
        Ok(0)
    );
    assert_eq!(access_call(&mut w, "", 0, 0), Err(Errno::ENOENT));
    let path = w.path("/etc/motd");
    assert_eq!(access::access(&w.cx, &w.files, &mut w.mem, path, r), Ok(0));
    let path = w.path("motd");
    let etc = w.fd("/etc", RDONLY);
    assert_eq!(
        access::faccessat(&w.cx, &w.files, &mut w.mem, etc, path, r),
        Ok(0)
    );
}

#[test]
fn readlink_variants() {
    let mut w = World::new();
    assert_eq!(w.readlink("/etc/motd.link").unwrap(), b"motd");
    assert_eq!(w.readlink("/etc/abs.link").unwrap(), b"/etc/motd");
    assert_eq!(w.readlink("/etc/motd"), Err(Errno::EINVAL));
    assert_eq!(w.readlink("/etc/nope"), Err(Errno::ENOENT));
    assert_eq!(w.readlink("/proc/self/exe").unwrap(), b"/bin/app");
    let p = w.path("/etc/abs.link");
    // The target is cut to the buffer, without a NUL.
    assert_eq!(
        readlink::readlink(&w.cx, &w.files, &mut w.mem, p, UserAddr::new(BUF), 4),
        Ok(4)
    );
    assert_eq!(w.mem.peek(BUF, 4), b"/etc");
    assert_eq!(
        readlink::readlink(&w.cx, &w.files, &mut w.mem, p, UserAddr::new(BUF), 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        readlink::readlink(&w.cx, &w.files, &mut w.mem, p, UserAddr::new(BUF), -1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        readlink::readlink(&w.cx, &w.files, &mut w.mem, p, UserAddr::new(RO), 10),
        Err(Errno::EFAULT)
    );
    // An empty path reads the symlink an O_PATH | O_NOFOLLOW fd names.
    let l = w.fd("/etc/motd.link", OpenFlags::PATH | OpenFlags::NOFOLLOW);
    let e = w.path("");
    assert_eq!(
        readlink::readlinkat(&w.cx, &w.files, &mut w.mem, l, e, UserAddr::new(BUF), 64),
        Ok(4)
    );
    let d = w.fd("/etc", RDONLY);
    assert_eq!(
        readlink::readlinkat(&w.cx, &w.files, &mut w.mem, d, e, UserAddr::new(BUF), 64),
        Err(Errno::ENOENT)
    );
}
