//! dup, dup2, dup3, fcntl, ioctl's generic requests.

use super::*;
use oxv_abi::linux::fs::{
    F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, FIOCLEX, FIONBIO,
    FIONCLEX, FIONREAD, SEEK_CUR, SEEK_SET, TCGETS,
};

fn fcntl(w: &World, fd: i32, cmd: u32, arg: u64) -> SysResult {
    fcntl::fcntl(&w.files, fd, cmd, arg)
}

#[test]
fn dup_shares_the_offset_not_the_cloexec_flag() {
    let mut w = World::new();
    let a = w.fd("/etc/motd", OpenFlags::CLOEXEC);
    let b = dup::dup(&w.files, a).unwrap() as i32;
    assert_eq!(b, a + 1);
    assert_eq!(w.files.cloexec(b), Ok(false));
    assert_eq!(w.read(a, 6).unwrap(), b"Hello,");
    assert_eq!(w.read(b, 4).unwrap(), b" oxv", "one offset for both fds");
    assert_eq!(lseek::lseek(&w.files, b, 0, SEEK_CUR), Ok(10));
    w.close(a).unwrap();
    assert_eq!(
        w.read(b, 10).unwrap(),
        b"!\n",
        "the file outlives the first fd"
    );
    assert_eq!(dup::dup(&w.files, 99), Err(Errno::EBADF));
}

#[test]
fn dup2_and_dup3() {
    let mut w = World::new();
    let f = w.fd("/etc/motd", RDONLY);
    assert_eq!(dup::dup2(&w.files, f, 1), Ok(1), "replaces stdout");
    assert_eq!(w.read(1, 5).unwrap(), b"Hello");
    assert_eq!(dup::dup2(&w.files, f, f), Ok(f as usize));
    assert_eq!(dup::dup2(&w.files, 99, 99), Err(Errno::EBADF));
    assert_eq!(dup::dup2(&w.files, 99, 5), Err(Errno::EBADF));
    assert_eq!(
        dup::dup2(&w.files, f, 1024),
        Err(Errno::EBADF),
        "at RLIMIT_NOFILE"
    );
    assert_eq!(dup::dup2(&w.files, f, -1), Err(Errno::EBADF));
    assert_eq!(dup::dup2(&w.files, f, 1023), Ok(1023));
    assert_eq!(
        dup::dup3(&w.files, f, 10, OpenFlags::CLOEXEC.bits()),
        Ok(10)
    );
    assert_eq!(w.files.cloexec(10), Ok(true));
    assert_eq!(dup::dup3(&w.files, f, f, 0), Err(Errno::EINVAL));
    assert_eq!(
        dup::dup3(&w.files, 99, 99, 0),
        Err(Errno::EINVAL),
        "EINVAL before EBADF"
    );
    assert_eq!(
        dup::dup3(&w.files, f, 11, OpenFlags::NONBLOCK.bits()),
        Err(Errno::EINVAL)
    );
    assert_eq!(dup::dup3(&w.files, 99, 11, 0), Err(Errno::EBADF));
}

#[test]
fn fcntl_fd_flags_and_dupfd() {
    let mut w = World::new();
    let f = w.fd("/etc/motd", RDONLY);
    assert_eq!(fcntl(&w, f, F_GETFD, 0), Ok(0));
    assert_eq!(fcntl(&w, f, F_SETFD, FD_CLOEXEC as u64), Ok(0));
    assert_eq!(fcntl(&w, f, F_GETFD, 0), Ok(FD_CLOEXEC as usize));
    assert_eq!(fcntl(&w, f, F_SETFD, 0xfe), Ok(0));
    assert_eq!(fcntl(&w, f, F_GETFD, 0), Ok(0), "only FD_CLOEXEC is kept");
    assert_eq!(fcntl(&w, f, F_DUPFD, 10), Ok(10));
    assert_eq!(fcntl(&w, f, F_DUPFD, 10), Ok(11));
    assert_eq!(fcntl(&w, f, F_DUPFD_CLOEXEC, 0), Ok(4));
    assert_eq!(w.files.cloexec(4), Ok(true));
    assert_eq!(fcntl(&w, f, F_DUPFD, 1024), Err(Errno::EINVAL));
    assert_eq!(fcntl(&w, f, F_DUPFD, u64::MAX), Err(Errno::EINVAL));
    assert_eq!(fcntl(&w, f, 9999, 0), Err(Errno::EINVAL));
    assert_eq!(fcntl(&w, 99, F_GETFD, 0), Err(Errno::EBADF));
    w.files.set_limit(12);
    assert_eq!(fcntl(&w, f, F_DUPFD, 5), Ok(5));
    for fd in 6..10 {
        assert_eq!(fcntl(&w, f, F_DUPFD, 5), Ok(fd));
    }
    assert_eq!(fcntl(&w, f, F_DUPFD, 5), Err(Errno::EMFILE));
}

#[test]
fn fcntl_status_flags() {
    let mut w = World::new();
    let f = w.fd(
        "/tmp/f",
        CREAT | RDWR | OpenFlags::NONBLOCK | OpenFlags::CLOEXEC | OpenFlags::EXCL,
    );
    let largefile = OpenFlags::LARGEFILE.bits() as usize;
    let got = fcntl(&w, f, F_GETFL, 0).unwrap();
    assert_eq!(
        got,
        2 | OpenFlags::NONBLOCK.bits() as usize | largefile,
        "creation flags are not kept"
    );
    let set = OpenFlags::APPEND | OpenFlags::WRONLY | OpenFlags::TRUNC;
    assert_eq!(fcntl(&w, f, F_SETFL, set.bits() as u64), Ok(0));
    assert_eq!(
        fcntl(&w, f, F_GETFL, 0),
        Ok(2 | OpenFlags::APPEND.bits() as usize | largefile),
        "access mode and O_TRUNC ignored"
    );
    w.write(f, b"a").unwrap();
    lseek::lseek(&w.files, f, 0, SEEK_SET).unwrap();
    w.write(f, b"b").unwrap();
    assert_eq!(
        w.contents("/tmp/f").unwrap(),
        b"ab",
        "O_APPEND set by F_SETFL applies"
    );
    let p = w.fd("/etc", OpenFlags::PATH);
    assert_eq!(
        fcntl(&w, p, F_GETFL, 0),
        Ok(OpenFlags::PATH.bits() as usize)
    );
    assert_eq!(fcntl(&w, p, F_SETFL, 0), Err(Errno::EBADF));
    assert!(fcntl(&w, p, F_DUPFD, 0).is_ok());
    assert_eq!(fcntl(&w, 0, F_GETFL, 0), Ok(2 | largefile));
}

#[test]
fn ioctl_generic_requests() {
    let mut w = World::new();
    let f = w.fd("/etc/motd", RDONLY);
    let ioctl = |w: &mut World, fd, req, arg| ioctl::ioctl(&w.files, &mut w.mem, fd, req, arg);
    assert_eq!(ioctl(&mut w, f, FIOCLEX, 0), Ok(0));
    assert_eq!(w.files.cloexec(f), Ok(true));
    assert_eq!(ioctl(&mut w, f, FIONCLEX, 0), Ok(0));
    assert_eq!(w.files.cloexec(f), Ok(false));
    w.read(f, 5).unwrap();
    assert_eq!(ioctl(&mut w, f, FIONREAD, OUT), Ok(0));
    assert_eq!(
        UserPtr::<i32>::new(OUT).read(&w.mem),
        Ok(7),
        "bytes left after the offset"
    );
    UserPtr::<i32>::new(OUT).write(&mut w.mem, &1).unwrap();
    assert_eq!(ioctl(&mut w, f, FIONBIO, OUT), Ok(0));
    assert!(w.files.get(f).unwrap().is_nonblocking());
    UserPtr::<i32>::new(OUT).write(&mut w.mem, &0).unwrap();
    assert_eq!(ioctl(&mut w, f, FIONBIO, OUT), Ok(0));
    assert!(!w.files.get(f).unwrap().is_nonblocking());
    assert_eq!(ioctl(&mut w, f, FIONBIO, UNMAPPED), Err(Errno::EFAULT));
    assert_eq!(
        ioctl(&mut w, f, TCGETS, OUT),
        Err(Errno::ENOTTY),
        "not a terminal"
    );
    assert_eq!(ioctl(&mut w, 99, TCGETS, OUT), Err(Errno::EBADF));
    let p = w.fd("/etc", OpenFlags::PATH);
    assert_eq!(ioctl(&mut w, p, FIOCLEX, 0), Err(Errno::EBADF));
}

#[test]
fn getfl_values_match_a_linux_host() {
    // fcntl(F_GETFL) results read on Linux 6.18 for the same open(2) flags.
    let mut w = World::new();
    let cases = [
        (
            "/etc/motd",
            OpenFlags::CLOEXEC | OpenFlags::NOFOLLOW,
            0x28000,
        ),
        ("/etc", OpenFlags::DIRECTORY, 0x18000),
        (
            "/etc",
            OpenFlags::PATH | OpenFlags::NOFOLLOW | OpenFlags::DIRECTORY,
            0x230000,
        ),
        (
            "/tmp/s",
            CREAT | WRONLY | OpenFlags::TRUNC | OpenFlags::EXCL | OpenFlags::SYNC,
            0x109001,
        ),
    ];
    for (path, flags, want) in cases {
        let fd = w.fd(path, flags);
        assert_eq!(fcntl(&w, fd, F_GETFL, 0), Ok(want), "{path} {flags:?}");
    }
}
