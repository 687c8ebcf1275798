//! openat2(2): `struct open_how` versions, its stricter checks, and the `RESOLVE_*` walks.

use super::*;
use crate::walk::Resolve;
use oxv_abi::linux::fs::AT_FDCWD;

/// Where the test's `struct open_how` goes.
const HOW: u64 = OUT + 0x1000;

fn openat2(
    w: &mut World,
    dirfd: i32,
    p: &str,
    flags: OpenFlags,
    mode: u64,
    r: Resolve,
) -> SysResult {
    let mut how = [0u8; 24];
    how[..8].copy_from_slice(&(flags.bits() as u64).to_ne_bytes());
    how[8..16].copy_from_slice(&mode.to_ne_bytes());
    how[16..].copy_from_slice(&r.bits().to_ne_bytes());
    w.mem.poke(HOW, &how);
    let path = w.path(p);
    openat2::openat2(
        &w.cx,
        &w.files,
        &mut w.mem,
        dirfd,
        path,
        UserAddr::new(HOW),
        24,
    )
}

#[test]
fn open_how_sizes_are_versioned() {
    let mut w = World::new();
    let path = w.path("/etc/motd");
    let call = |w: &mut World, size: usize| {
        openat2::openat2(
            &w.cx,
            &w.files,
            &mut w.mem,
            AT_FDCWD,
            path,
            UserAddr::new(HOW),
            size,
        )
    };
    w.mem.poke(HOW, &[0u8; 64]);
    assert_eq!(call(&mut w, 23), Err(Errno::EINVAL));
    assert_eq!(call(&mut w, 4097), Err(Errno::E2BIG));
    assert!(call(&mut w, 64).is_ok(), "a zero tail is fine");
    w.mem.poke(HOW + 63, &[1]);
    assert_eq!(call(&mut w, 64), Err(Errno::E2BIG));
    assert!(call(&mut w, 63).is_ok());
    let r = openat2::openat2(
        &w.cx,
        &w.files,
        &mut w.mem,
        AT_FDCWD,
        path,
        UserAddr::new(UNMAPPED),
        24,
    );
    assert_eq!(r, Err(Errno::EFAULT));
}

#[test]
fn flags_and_mode_are_checked_strictly() {
    let mut w = World::new();
    let none = Resolve::empty();
    let how = |flags: u64, mode: u64, resolve: u64| openat2::OpenHow {
        flags,
        mode,
        resolve,
    };
    let check = |h: openat2::OpenHow| openat2::check_open_how(&h).map(|_| ());
    assert_eq!(check(how(1 << 32, 0, 0)), Err(Errno::EINVAL));
    assert_eq!(check(how(0, 0, 0x40)), Err(Errno::EINVAL));
    assert_eq!(
        check(how(0, 0, (Resolve::BENEATH | Resolve::IN_ROOT).bits())),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check(how(0, 0o644, 0)),
        Err(Errno::EINVAL),
        "mode without O_CREAT"
    );
    assert_eq!(
        check(how(CREAT.bits() as u64, 0o10644, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check(how((OpenFlags::PATH | RDWR).bits() as u64, 0, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check(how((OpenFlags::TMPFILE).bits() as u64, 0, 0)),
        Err(Errno::EINVAL)
    );
    let cached = Resolve::CACHED.bits();
    assert_eq!(
        check(how((CREAT | WRONLY).bits() as u64, 0, cached)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        check(how(
            (OpenFlags::PATH | OpenFlags::CLOEXEC).bits() as u64,
            0,
            cached
        )),
        Ok(())
    );
    let fd = openat2(
        &mut w,
        AT_FDCWD,
        "/tmp/new",
        CREAT | WRONLY | OpenFlags::CLOEXEC,
        0o600,
        none,
    )
    .unwrap();
    assert_eq!(w.stat("/tmp/new").unwrap().st_mode & 0o7777, 0o600);
    assert!(w.files.cloexec(fd as i32).unwrap());
}

#[test]
fn resolve_restrictions() {
    let mut w = World::new();
    mkdir_p(&mut w, "/tmp/d/sub");
    w.fd("/tmp/d/sub/file", CREAT | WRONLY);
    symlink(&mut w, "sub/file", "/tmp/d/rel");
    symlink(&mut w, "/tmp/d/sub/file", "/tmp/d/abs");
    symlink(&mut w, "/sub/file", "/tmp/d/inroot");
    let d = w.fd("/tmp/d", RDONLY | OpenFlags::DIRECTORY);
    let r = |w: &mut World, p: &str, res: Resolve| openat2(w, d, p, RDONLY, 0, res).map(|_| ());

    assert_eq!(r(&mut w, "rel", Resolve::NO_SYMLINKS), Err(Errno::ELOOP));
    assert_eq!(r(&mut w, "sub/file", Resolve::NO_SYMLINKS), Ok(()));
    assert_eq!(r(&mut w, "rel", Resolve::NO_MAGICLINKS), Ok(()));
    let p = openat2(
        &mut w,
        AT_FDCWD,
        "/proc/self/exe",
        RDONLY,
        0,
        Resolve::NO_MAGICLINKS,
    );
    assert_eq!(p, Err(Errno::ELOOP));

    assert_eq!(
        r(&mut w, "../d/sub/file", Resolve::BENEATH),
        Err(Errno::EXDEV)
    );
    assert_eq!(r(&mut w, "sub/../sub/file", Resolve::BENEATH), Ok(()));
    assert_eq!(
        r(&mut w, "/tmp/d/sub/file", Resolve::BENEATH),
        Err(Errno::EXDEV)
    );
    assert_eq!(r(&mut w, "abs", Resolve::BENEATH), Err(Errno::EXDEV));
    assert_eq!(r(&mut w, "rel", Resolve::BENEATH), Ok(()));

    assert_eq!(r(&mut w, "/sub/file", Resolve::IN_ROOT), Ok(()));
    assert_eq!(r(&mut w, "../../sub/file", Resolve::IN_ROOT), Ok(()));
    assert_eq!(r(&mut w, "inroot", Resolve::IN_ROOT), Ok(()));
    assert_eq!(r(&mut w, "abs", Resolve::IN_ROOT), Err(Errno::ENOENT));

    assert_eq!(r(&mut w, "sub/file", Resolve::NO_XDEV), Ok(()));
    assert_eq!(
        r(&mut w, "..", Resolve::NO_XDEV),
        Ok(()),
        "/tmp is the same mount"
    );
    assert_eq!(
        r(&mut w, "../..", Resolve::NO_XDEV),
        Err(Errno::EXDEV),
        "out of it"
    );
    let x = openat2(&mut w, AT_FDCWD, "/tmp/d", RDONLY, 0, Resolve::NO_XDEV);
    assert_eq!(x, Err(Errno::EXDEV), "into the /tmp mount");
}

fn mkdir_p(w: &mut World, p: &str) {
    w.cx.mkdir_all(p.as_bytes(), 0o755).unwrap();
}

fn symlink(w: &mut World, target: &str, at: &str) {
    let t = w.path(target);
    let a = w.path(at);
    link::symlink(&w.cx, &w.files, &mut w.mem, t, a).unwrap();
}
