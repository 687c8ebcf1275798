//! open, openat, creat, close: flags, path errors, dirfds, error order.

use super::*;
use oxv_abi::linux::fs::{AT_FDCWD, S_IFMT, S_IFREG};
use oxv_abi::user::PATH_MAX;

const EXCL: OpenFlags = OpenFlags::EXCL;
const TRUNC: OpenFlags = OpenFlags::TRUNC;
const DIRECTORY: OpenFlags = OpenFlags::DIRECTORY;
const NOFOLLOW: OpenFlags = OpenFlags::NOFOLLOW;
const PATH: OpenFlags = OpenFlags::PATH;

#[test]
fn create_applies_the_umask() {
    let mut w = World::new();
    w.fd("/tmp/a", CREAT | WRONLY);
    assert_eq!(w.stat("/tmp/a").unwrap().st_mode, S_IFREG | 0o644);
    umask::umask(&w.cx, 0o077).unwrap();
    w.open("/tmp/b", CREAT | WRONLY, 0o4777).unwrap();
    let st = w.stat("/tmp/b").unwrap();
    assert_eq!(
        st.st_mode,
        S_IFREG | 0o4700,
        "setuid survives, group/other bits are masked"
    );
    assert_eq!(
        (st.st_uid, st.st_gid, st.st_nlink, st.st_size),
        (0, 0, 1, 0)
    );
    assert_eq!(umask::umask(&w.cx, 0o1777), Ok(0o077));
    assert_eq!(
        umask::umask(&w.cx, 0),
        Ok(0o777),
        "only permission bits are kept"
    );
    let path = w.path("/tmp/c");
    assert!(open::creat(&w.cx, &w.files, &mut w.mem, path, 0o600).is_ok());
    assert_eq!(w.stat("/tmp/c").unwrap().st_mode, S_IFREG | 0o600);
}

#[test]
fn excl_trunc_and_existing_files() {
    let mut w = World::new();
    let fd = w.fd("/tmp/f", CREAT | EXCL | RDWR);
    w.write(fd, b"data").unwrap();
    assert_eq!(
        w.open("/tmp/f", CREAT | EXCL | RDWR, 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        w.open("/etc/motd.link", CREAT | EXCL | RDWR, 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        w.open("/etc/dangling", CREAT | EXCL | RDWR, 0o644),
        Err(Errno::EEXIST),
        "even a dangling symlink"
    );
    w.clock.advance(10);
    // O_CREAT on an existing file opens it without changing it.
    let again = w.fd("/tmp/f", CREAT | RDONLY);
    assert_eq!(w.read(again, 10).unwrap(), b"data");
    // O_TRUNC empties it, even read-only, and stamps the times.
    w.fd("/tmp/f", TRUNC);
    let st = w.stat("/tmp/f").unwrap();
    assert_eq!(
        (st.st_size, st.st_mtime, st.st_ctime),
        (0, BOOT + 10, BOOT + 10)
    );
}

#[test]
fn creating_through_symlinks() {
    let mut w = World::new();
    w.symlink("/tmp/target", "/tmp/link").unwrap();
    let fd = w.fd("/tmp/link", CREAT | WRONLY);
    w.write(fd, b"via link").unwrap();
    assert_eq!(
        w.contents("/tmp/target").unwrap(),
        b"via link",
        "the dangling link's target was created"
    );
    assert_eq!(
        w.open("/tmp/link", CREAT | WRONLY | NOFOLLOW, 0o644),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        w.open("/etc/loop", CREAT | WRONLY, 0o644),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        w.open("/etc/dangling", CREAT | WRONLY, 0o644),
        Err(Errno::ENOENT),
        "its parent is missing"
    );
}

#[test]
fn directories() {
    let mut w = World::new();
    assert!(w.open("/etc", RDONLY, 0).is_ok());
    assert!(w.open("/etc", DIRECTORY, 0).is_ok());
    assert_eq!(w.open("/etc", WRONLY, 0), Err(Errno::EISDIR));
    assert_eq!(w.open("/etc", RDWR, 0), Err(Errno::EISDIR));
    assert_eq!(w.open("/etc", TRUNC, 0), Err(Errno::EISDIR));
    assert_eq!(w.open("/etc", CREAT | RDONLY, 0), Err(Errno::EISDIR));
    assert_eq!(w.open("/", CREAT | RDONLY, 0), Err(Errno::EISDIR));
    assert_eq!(
        w.open("/tmp/new/", CREAT | WRONLY, 0o644),
        Err(Errno::EISDIR)
    );
    assert_eq!(w.open("/etc/motd", DIRECTORY, 0), Err(Errno::ENOTDIR));
    assert_eq!(w.open("/etc/motd/", RDONLY, 0), Err(Errno::ENOTDIR));
    assert_eq!(w.open("/etc/motd/x", RDONLY, 0), Err(Errno::ENOTDIR));
    assert_eq!(
        w.open("/tmp/d", CREAT | DIRECTORY, 0o755),
        Err(Errno::EINVAL)
    );
    assert!(w.open("/etc/dir.link/", DIRECTORY, 0).is_ok());
}

#[test]
fn nofollow_and_o_path() {
    let mut w = World::new();
    assert_eq!(w.open("/etc/motd.link", NOFOLLOW, 0), Err(Errno::ELOOP));
    assert!(
        w.open("/etc/dir.link/user", NOFOLLOW, 0).is_ok(),
        "only the last component"
    );
    let p = w.fd("/etc/motd.link", PATH | NOFOLLOW);
    assert_eq!(
        w.fstat(p).unwrap().st_mode & S_IFMT,
        oxv_abi::linux::fs::S_IFLNK
    );
    assert_eq!(w.read(p, 1), Err(Errno::EBADF));
    assert_eq!(w.write(p, b"x"), Err(Errno::EBADF));
    let f = w.fd("/etc/motd", PATH | WRONLY | TRUNC);
    assert_eq!(w.fstat(f).unwrap().st_size, 12, "O_PATH ignores O_TRUNC");
    assert_eq!(
        w.open("/etc/motd", PATH | DIRECTORY, 0),
        Err(Errno::ENOTDIR)
    );
    let d = w.fd("/home", PATH | DIRECTORY);
    assert!(
        w.openat(d, "user", RDONLY).is_ok(),
        "an O_PATH fd works as a dirfd"
    );
    assert_eq!(w.open("/etc/loop", RDONLY, 0), Err(Errno::ELOOP));
    assert_eq!(w.open("/etc/dangling", RDONLY, 0), Err(Errno::ENOENT));
}

#[test]
fn path_errors() {
    let mut w = World::new();
    assert_eq!(w.open("", RDONLY, 0), Err(Errno::ENOENT));
    assert_eq!(w.open("/nope", RDONLY, 0), Err(Errno::ENOENT));
    assert_eq!(w.open("/nope/x", CREAT | WRONLY, 0o644), Err(Errno::ENOENT));
    let long_name = "n".repeat(256);
    assert_eq!(
        w.open(&format!("/tmp/{long_name}"), CREAT | WRONLY, 0o644),
        Err(Errno::ENAMETOOLONG)
    );
    let ok_name = "n".repeat(255);
    assert!(
        w.open(&format!("/tmp/{ok_name}"), CREAT | WRONLY, 0o644)
            .is_ok()
    );
    // PATH_MAX counts the NUL: 4095 bytes resolve, 4096 do not even get copied in.
    let deep = |len: usize| {
        let mut p = String::from("/");
        while p.len() < len {
            p.push_str("./");
        }
        p.truncate(len);
        p
    };
    assert!(w.open(&deep(PATH_MAX - 1), RDONLY, 0).is_ok());
    assert_eq!(w.open(&deep(PATH_MAX), RDONLY, 0), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        open::open(&w.cx, &w.files, &mut w.mem, UserCStr::new(UNMAPPED), 0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        open::open(&w.cx, &w.files, &mut w.mem, UserCStr::new(0), 0, 0),
        Err(Errno::EFAULT)
    );
}

#[test]
fn dirfds() {
    let mut w = World::new();
    let home = w.fd("/home", RDONLY);
    let file = w.fd("/etc/motd", RDONLY);
    assert!(w.openat(home, "user", RDONLY).is_ok());
    assert!(w.openat(AT_FDCWD, "etc/motd", RDONLY).is_ok());
    assert_eq!(w.openat(file, "x", RDONLY), Err(Errno::ENOTDIR));
    assert_eq!(
        w.openat(0, "x", RDONLY),
        Err(Errno::ENOTDIR),
        "the console has no location"
    );
    assert_eq!(w.openat(99, "x", RDONLY), Err(Errno::EBADF));
    assert!(
        w.openat(99, "/etc/motd", RDONLY).is_ok(),
        "absolute paths ignore the dirfd"
    );
    // The dirfd stays valid across a rename of its directory.
    w.mkdir("/tmp/d", 0o755).unwrap();
    let d = w.fd("/tmp/d", RDONLY);
    w.rename("/tmp/d", "/tmp/e").unwrap();
    assert!(w.openat(d, "new", CREAT | WRONLY).is_ok());
    assert!(w.stat("/tmp/e/new").is_ok());
}

#[test]
fn fd_table_full_is_emfile_before_the_walk() {
    let mut w = World::new();
    w.files.set_limit(5);
    w.fd("/etc/motd", RDONLY);
    w.fd("/etc/motd", RDONLY);
    assert_eq!(w.open("/nope", RDONLY, 0), Err(Errno::EMFILE));
    assert_eq!(
        w.open("", RDONLY, 0),
        Err(Errno::ENOENT),
        "an empty path fails before the fd is taken"
    );
    w.close(4).unwrap();
    assert_eq!(w.open("/etc/motd", RDONLY, 0), Ok(4));
}

#[test]
fn cloexec_and_close() {
    let mut w = World::new();
    let a = w.fd("/etc/motd", OpenFlags::CLOEXEC);
    let b = w.fd("/etc/motd", RDONLY);
    assert_eq!((a, b), (3, 4), "lowest free fds");
    assert_eq!(w.files.cloexec(a), Ok(true));
    assert_eq!(w.files.cloexec(b), Ok(false));
    assert_eq!(w.close(a), Ok(0));
    assert_eq!(w.close(a), Err(Errno::EBADF));
    assert_eq!(w.close(-1), Err(Errno::EBADF));
    assert_eq!(w.fd("/etc/motd", RDONLY), 3);
}

#[test]
fn read_only_mount_and_tmpfile() {
    let mut w = World::new();
    assert!(w.open("/ro/file", RDONLY, 0).is_ok());
    assert_eq!(w.open("/ro/file", WRONLY, 0), Err(Errno::EROFS));
    assert_eq!(w.open("/ro/file", TRUNC, 0), Err(Errno::EROFS));
    assert_eq!(w.open("/ro/new", CREAT | WRONLY, 0o644), Err(Errno::EROFS));
    assert_eq!(
        w.open("/ro/file", CREAT | EXCL | WRONLY, 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        w.mkdir("/ro/file", 0o755),
        Err(Errno::EEXIST),
        "EEXIST before EROFS"
    );
    assert_eq!(w.mkdir("/ro/d", 0o755), Err(Errno::EROFS));
    assert_eq!(w.unlink("/ro/file"), Err(Errno::EROFS));
    assert_eq!(
        w.open("/tmp", OpenFlags::TMPFILE | RDWR, 0o600),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        w.open("/tmp", OpenFlags::TMPFILE, 0o600),
        Err(Errno::EINVAL)
    );
}

#[test]
fn kernel_side_open() {
    let w = World::new();
    let f = w.cx.open(b"/bin/app", RDONLY, 0).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(f.read_at(0, &mut crate::ReadBuf::kernel(&mut buf)), Ok(4));
    assert_eq!(&buf, b"\x7fELF");
    assert_eq!(
        w.cx.open(b"/bin/nope", RDONLY, 0).err(),
        Some(Errno::ENOENT)
    );
    let made = w.cx.mkdir_all(b"/var/lib/x", 0o700).unwrap();
    assert!(made.is_dir());
    assert!(w.cx.mkdir_all(b"/var/lib/x", 0o700).is_ok(), "idempotent");
    assert_eq!(
        w.cx.mkdir_all(b"/etc/motd/x", 0o700).err(),
        Some(Errno::ENOTDIR)
    );
}
