//! getdents64, mkdir, rmdir, unlink, rename, getcwd, chdir, fchdir, symlink, link, truncate.

use super::*;
use oxv_abi::linux::fs::{AT_FDCWD, AtFlags, Dirent64Header, RenameFlags, S_IFDIR, SEEK_SET, dt};

/// A parsed record: (ino, d_off, type, name).
type Dirent = (u64, i64, u8, Vec<u8>);

/// Parses getdents64 output back into records.
fn parse_dirents(bytes: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (h, _) = Dirent64Header::read_from_prefix(&bytes[at..]).unwrap();
        let reclen = h.d_reclen as usize;
        assert_eq!(reclen % 8, 0, "records are 8-byte aligned");
        let name_area = &bytes[at + size_of::<Dirent64Header>()..at + reclen];
        let nul = name_area
            .iter()
            .position(|&b| b == 0)
            .expect("names are NUL-terminated");
        assert!(name_area[nul..].iter().all(|&b| b == 0), "padding is zero");
        out.push((h.d_ino, h.d_off, h.d_type, name_area[..nul].to_vec()));
        at += reclen;
    }
    out
}

fn getdents(w: &mut World, fd: i32, len: u64) -> Result<Vec<Dirent>, Errno> {
    let n = getdents::getdents64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, len))?;
    Ok(parse_dirents(&w.mem.peek(BUF, n)))
}

fn names(entries: &[Dirent]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8(e.3.clone()).unwrap())
        .collect()
}

#[test]
fn getdents64_lists_and_resumes() {
    let mut w = World::new();
    let fd = w.fd("/etc", OpenFlags::DIRECTORY);
    let all = getdents(&mut w, fd, 4096).unwrap();
    assert_eq!(
        names(&all),
        [
            ".",
            "..",
            "motd",
            "noexec",
            "motd.link",
            "abs.link",
            "dir.link",
            "dangling",
            "loop"
        ]
    );
    let motd = w.stat("/etc/motd").unwrap();
    assert_eq!(all[2].0, motd.st_ino);
    assert_eq!(all[2].2, dt::REG);
    assert_eq!(all[0].2, dt::DIR);
    assert_eq!(all[4].2, dt::LNK);
    assert_eq!(all[1].0, w.stat("/").unwrap().st_ino, "`..` is the parent");
    assert_eq!(getdents(&mut w, fd, 4096).unwrap(), [], "0 at the end");
    // Rewind, then read in small pieces: a 48-byte buffer fits two short records.
    lseek::lseek(&w.files, fd, 0, SEEK_SET).unwrap();
    let first = getdents(&mut w, fd, 48).unwrap();
    assert_eq!(names(&first), [".", ".."]);
    // d_off of a record is where to seek to continue after it.
    lseek::lseek(&w.files, fd, all[3].1, SEEK_SET).unwrap();
    assert_eq!(names(&getdents(&mut w, fd, 4096).unwrap())[0], "motd.link");
}

#[test]
fn getdents64_errors() {
    let mut w = World::new();
    let dir = w.fd("/etc", RDONLY);
    let file = w.fd("/etc/motd", RDONLY);
    assert_eq!(getdents(&mut w, file, 4096), Err(Errno::ENOTDIR));
    assert_eq!(getdents(&mut w, 99, 4096), Err(Errno::EBADF));
    assert_eq!(
        getdents(&mut w, dir, 10),
        Err(Errno::EINVAL),
        "too small for one record"
    );
    assert_eq!(
        getdents(&mut w, 0, 4096),
        Err(Errno::ENOTDIR),
        "the console"
    );
    let p = w.fd("/etc", OpenFlags::PATH);
    assert_eq!(getdents(&mut w, p, 4096), Err(Errno::EBADF));
    // A fault keeps the position: the next call lists from the start.
    assert_eq!(
        getdents::getdents64(&w.files, &mut w.mem, dir, UserBuf::new(RO, 4096)),
        Err(Errno::EFAULT)
    );
    assert_eq!(names(&getdents(&mut w, dir, 4096).unwrap())[0], ".");
}

#[test]
fn getdents64_while_the_directory_changes() {
    let mut w = World::new();
    for n in ["a", "b", "c"] {
        w.fd(&format!("/tmp/{n}"), CREAT | WRONLY);
    }
    let fd = w.fd("/tmp", RDONLY);
    let part = getdents(&mut w, fd, 72).unwrap();
    assert_eq!(names(&part), [".", "..", "a"]);
    w.unlink("/tmp/b").unwrap();
    w.fd("/tmp/d", CREAT | WRONLY);
    assert_eq!(names(&getdents(&mut w, fd, 4096).unwrap()), ["c", "d"]);
}

#[test]
fn mkdir_and_rmdir() {
    let mut w = World::new();
    assert_eq!(w.mkdir("/tmp/d", 0o1777), Ok(0));
    let st = w.stat("/tmp/d").unwrap();
    assert_eq!(st.st_mode, S_IFDIR | 0o1755, "sticky kept, umask applied");
    assert_eq!(w.mkdir("/tmp/d", 0o755), Err(Errno::EEXIST));
    assert_eq!(w.mkdir("/tmp/d/", 0o755), Err(Errno::EEXIST));
    assert_eq!(w.mkdir("/tmp/e/", 0o755), Ok(0), "a trailing slash is fine");
    assert_eq!(w.mkdir("/tmp/x/y", 0o755), Err(Errno::ENOENT));
    assert_eq!(w.mkdir("/etc/motd/y", 0o755), Err(Errno::ENOTDIR));
    assert_eq!(w.mkdir("/etc/dangling", 0o755), Err(Errno::EEXIST));
    assert_eq!(w.mkdir("/", 0o755), Err(Errno::EEXIST));
    assert_eq!(w.mkdir("/tmp/.", 0o755), Err(Errno::EEXIST));
    assert_eq!(w.mkdir("", 0o755), Err(Errno::ENOENT));
    let tmp = w.fd("/tmp", RDONLY);
    let p = w.path("sub");
    assert_eq!(
        mkdir::mkdirat(&w.cx, &w.files, &mut w.mem, tmp, p, 0o700),
        Ok(0)
    );
    assert_eq!(w.stat("/tmp/d").unwrap().st_nlink, 2);
    assert_eq!(w.stat("/tmp").unwrap().st_nlink, 5);

    w.fd("/tmp/d/f", CREAT | WRONLY);
    assert_eq!(w.rmdir("/tmp/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(w.rmdir("/tmp/d/f"), Err(Errno::ENOTDIR));
    assert_eq!(w.rmdir("/tmp/d/."), Err(Errno::EINVAL));
    assert_eq!(w.rmdir("/tmp/d/.."), Err(Errno::ENOTEMPTY));
    assert_eq!(w.rmdir("/"), Err(Errno::EBUSY));
    assert_eq!(w.rmdir("/tmp"), Err(Errno::EBUSY), "a mountpoint");
    assert_eq!(w.rmdir("/tmp/nope"), Err(Errno::ENOENT));
    w.unlink("/tmp/d/f").unwrap();
    assert_eq!(w.rmdir("/tmp/d/"), Ok(0));
    assert_eq!(w.stat("/tmp/d"), Err(Errno::ENOENT));
}

#[test]
fn unlink_rules() {
    let mut w = World::new();
    let fd = w.fd("/tmp/f", CREAT | RDWR);
    w.write(fd, b"still here").unwrap();
    assert_eq!(w.unlink("/tmp/f/"), Err(Errno::ENOTDIR));
    assert_eq!(w.unlink("/tmp"), Err(Errno::EISDIR));
    assert_eq!(w.unlink("/tmp/."), Err(Errno::EISDIR));
    assert_eq!(w.unlink("/"), Err(Errno::EISDIR));
    assert_eq!(w.unlink("/tmp/nope"), Err(Errno::ENOENT));
    assert_eq!(w.unlink("/tmp/f"), Ok(0));
    assert_eq!(w.stat("/tmp/f"), Err(Errno::ENOENT));
    // The open file lives on.
    assert_eq!(w.fstat(fd).unwrap().st_nlink, 0);
    lseek::lseek(&w.files, fd, 0, SEEK_SET).unwrap();
    assert_eq!(w.read(fd, 100).unwrap(), b"still here");
    // unlink removes the symlink, not its target.
    assert_eq!(w.unlink("/etc/motd.link"), Ok(0));
    assert!(w.stat("/etc/motd").is_ok());
    let p = w.path("/tmp");
    assert_eq!(
        unlink::unlinkat(&w.cx, &w.files, &mut w.mem, AT_FDCWD, p, 0x100),
        Err(Errno::EINVAL)
    );
    w.mkdir("/tmp/d", 0o755).unwrap();
    let p = w.path("/tmp/d");
    assert_eq!(
        unlink::unlinkat(
            &w.cx,
            &w.files,
            &mut w.mem,
            AT_FDCWD,
            p,
            AtFlags::REMOVEDIR.bits()
        ),
        Ok(0)
    );
}

#[test]
fn rename_rules() {
    let mut w = World::new();
    w.fd("/tmp/a", CREAT | WRONLY);
    w.fd("/tmp/b", CREAT | WRONLY);
    w.mkdir("/tmp/d", 0o755).unwrap();
    w.mkdir("/tmp/e", 0o755).unwrap();
    w.fd("/tmp/e/x", CREAT | WRONLY);
    let a = w.stat("/tmp/a").unwrap().st_ino;
    assert_eq!(w.rename("/tmp/a", "/tmp/b"), Ok(0));
    assert_eq!(w.stat("/tmp/b").unwrap().st_ino, a);
    assert_eq!(w.stat("/tmp/a"), Err(Errno::ENOENT));
    assert_eq!(w.rename("/tmp/a", "/tmp/c"), Err(Errno::ENOENT));
    assert_eq!(w.rename("/tmp/b", "/tmp/d"), Err(Errno::EISDIR));
    assert_eq!(w.rename("/tmp/d", "/tmp/b"), Err(Errno::ENOTDIR));
    assert_eq!(w.rename("/tmp/d", "/tmp/e"), Err(Errno::ENOTEMPTY));
    assert_eq!(w.rename("/tmp/d", "/tmp/d/sub"), Err(Errno::EINVAL));
    assert_eq!(w.rename("/tmp/b/", "/tmp/c"), Err(Errno::ENOTDIR));
    assert_eq!(w.rename("/tmp/b", "/tmp/c/"), Err(Errno::ENOTDIR));
    assert_eq!(
        w.rename("/tmp/d/", "/tmp/f/"),
        Ok(0),
        "trailing slashes are fine on directories"
    );
    assert_eq!(w.rename("/tmp/b", "/etc/b"), Err(Errno::EXDEV));
    assert_eq!(w.rename("/tmp/.", "/tmp/z"), Err(Errno::EBUSY));
    assert_eq!(w.rename("/tmp/b", "/tmp/.."), Err(Errno::EBUSY));
    assert_eq!(w.rename("/etc", "/home/etc"), Ok(0), "directories move");
    assert!(w.stat("/home/etc/motd").is_ok());
    assert_eq!(w.rename("/tmp/b", "/tmp/b"), Ok(0));
    assert_eq!(w.rename("/ro/file", "/ro/other"), Err(Errno::EROFS));
    // renameat2 flags.
    let (o, n) = (w.path("/tmp/b"), w.path("/tmp/e/x"));
    let r2 = |w: &mut World, flags| {
        rename::renameat2(&w.cx, &w.files, &mut w.mem, AT_FDCWD, o, AT_FDCWD, n, flags)
    };
    assert_eq!(
        r2(&mut w, RenameFlags::NOREPLACE.bits()),
        Err(Errno::EEXIST)
    );
    assert_eq!(r2(&mut w, RenameFlags::EXCHANGE.bits()), Err(Errno::EINVAL));
    assert_eq!(r2(&mut w, 0x80), Err(Errno::EINVAL));
    assert_eq!(r2(&mut w, 0), Ok(0));
}

#[test]
fn cwd_follows_chdir_fchdir_and_renames() {
    let mut w = World::new();
    assert_eq!(w.getcwd().unwrap(), "/");
    w.chdir("/home/user").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/home/user");
    assert_eq!(w.contents("../../etc/motd").unwrap(), b"Hello, oxv!\n");
    w.fd("relative", CREAT | WRONLY);
    assert!(w.stat("/home/user/relative").is_ok());
    w.chdir("/etc/dir.link").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/home", "symlinks are resolved");
    w.rename("/home", "/house").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/house");
    w.mkdir("/tmp/deep", 0o755).unwrap();
    w.chdir("/tmp/deep").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/tmp/deep", "across a mount");
    w.chdir("..").unwrap();
    w.chdir("..").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/");
    assert_eq!(w.chdir("/etc/motd"), Err(Errno::ENOTDIR));
    assert_eq!(w.chdir("/nope"), Err(Errno::ENOENT));
    assert_eq!(w.chdir(""), Err(Errno::ENOENT));
    let etc = w.fd("/etc", OpenFlags::PATH);
    assert_eq!(cwd::fchdir(&w.cx, &w.files, etc), Ok(0));
    assert_eq!(w.getcwd().unwrap(), "/etc");
    let motd = w.fd("/etc/motd", RDONLY);
    assert_eq!(cwd::fchdir(&w.cx, &w.files, motd), Err(Errno::ENOTDIR));
    assert_eq!(cwd::fchdir(&w.cx, &w.files, 0), Err(Errno::ENOTDIR));
    assert_eq!(cwd::fchdir(&w.cx, &w.files, 99), Err(Errno::EBADF));
}

#[test]
fn getcwd_errors() {
    let mut w = World::new();
    w.chdir("/home/user").unwrap();
    assert_eq!(
        cwd::getcwd(&w.cx, &mut w.mem, UserBuf::new(BUF, 11)),
        Ok(11)
    );
    assert_eq!(
        cwd::getcwd(&w.cx, &mut w.mem, UserBuf::new(BUF, 10)),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        cwd::getcwd(&w.cx, &mut w.mem, UserBuf::new(BUF, 0)),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        cwd::getcwd(&w.cx, &mut w.mem, UserBuf::new(RO, 64)),
        Err(Errno::EFAULT)
    );
    w.mkdir("/tmp/gone", 0o755).unwrap();
    w.chdir("/tmp/gone").unwrap();
    w.rmdir("/tmp/gone").unwrap();
    assert_eq!(w.getcwd(), Err(Errno::ENOENT));
    assert_eq!(
        w.open("new", CREAT | WRONLY, 0o644),
        Err(Errno::ENOENT),
        "nothing can be created there"
    );
    assert_eq!(w.stat(".").unwrap().st_nlink, 0);
}

#[test]
fn symlinks_and_hard_links() {
    let mut w = World::new();
    assert_eq!(w.symlink("/etc/motd", "/tmp/l"), Ok(0));
    assert_eq!(w.contents("/tmp/l").unwrap(), b"Hello, oxv!\n");
    assert_eq!(w.symlink("x", "/tmp/l"), Err(Errno::EEXIST));
    assert_eq!(w.symlink("", "/tmp/m"), Err(Errno::ENOENT));
    assert_eq!(w.symlink("x", "/tmp/m/"), Err(Errno::ENOENT));
    assert_eq!(w.symlink("x", "/ro/l"), Err(Errno::EROFS));
    let link = |w: &mut World, old: &str, new: &str, flags: u32| {
        let (o, n) = (w.path(old), w.path(new));
        link::linkat(&w.cx, &w.files, &mut w.mem, AT_FDCWD, o, AT_FDCWD, n, flags)
    };
    w.fd("/tmp/f", CREAT | WRONLY);
    assert_eq!(link(&mut w, "/tmp/f", "/tmp/g", 0), Ok(0));
    assert_eq!(w.stat("/tmp/g").unwrap().st_nlink, 2);
    assert_eq!(link(&mut w, "/tmp/l", "/tmp/l2", 0), Ok(0));
    assert_eq!(
        w.lstat("/tmp/l2").unwrap().st_mode & 0o170000,
        0o120000,
        "links the symlink itself"
    );
    assert_eq!(link(&mut w, "/etc/motd", "/tmp/h", 0), Err(Errno::EXDEV));
    assert_eq!(link(&mut w, "/tmp", "/tmp/h", 0), Err(Errno::EPERM));
    assert_eq!(link(&mut w, "/tmp/f", "/tmp/g", 0), Err(Errno::EEXIST));
    assert_eq!(link(&mut w, "/tmp/f", "/tmp/h", 0x2), Err(Errno::EINVAL));
    let f = w.fd("/tmp/f", RDONLY);
    let (e, n) = (w.path(""), w.path("/tmp/byfd"));
    let flags = AtFlags::EMPTY_PATH.bits();
    assert_eq!(
        link::linkat(&w.cx, &w.files, &mut w.mem, f, e, AT_FDCWD, n, flags),
        Ok(0)
    );
    assert_eq!(w.stat("/tmp/f").unwrap().st_nlink, 3);
}

#[test]
fn truncate_and_ftruncate() {
    let mut w = World::new();
    let fd = w.fd("/tmp/t", CREAT | RDWR);
    w.write(fd, b"0123456789").unwrap();
    assert_eq!(truncate::ftruncate(&w.files, fd, 4), Ok(0));
    assert_eq!(w.contents("/tmp/t").unwrap(), b"0123");
    assert_eq!(truncate::ftruncate(&w.files, fd, -1), Err(Errno::EINVAL));
    let ro = w.fd("/tmp/t", RDONLY);
    assert_eq!(truncate::ftruncate(&w.files, ro, 0), Err(Errno::EINVAL));
    let dir = w.fd("/tmp", RDONLY);
    assert_eq!(truncate::ftruncate(&w.files, dir, 0), Err(Errno::EINVAL));
    assert_eq!(truncate::ftruncate(&w.files, 99, 0), Err(Errno::EBADF));
    let p = w.path("/tmp/t");
    assert_eq!(truncate::truncate(&w.cx, &w.files, &mut w.mem, p, 6), Ok(0));
    assert_eq!(w.contents("/tmp/t").unwrap(), b"0123\0\0");
    let p = w.path("/tmp");
    assert_eq!(
        truncate::truncate(&w.cx, &w.files, &mut w.mem, p, 0),
        Err(Errno::EISDIR)
    );
    let p = w.path("/ro/file");
    assert_eq!(
        truncate::truncate(&w.cx, &w.files, &mut w.mem, p, 0),
        Err(Errno::EROFS)
    );
    assert_eq!(truncate::fsync(&w.files, fd), Ok(0));
    assert_eq!(truncate::fdatasync(&w.files, dir), Ok(0));
    assert_eq!(truncate::fsync(&w.files, 1), Err(Errno::EINVAL));
}
