//! fcntl record locks and flock(2), chmod/chown/utimensat, extended attributes, fallocate and
//! SEEK_DATA/SEEK_HOLE, sendfile, copy_file_range, splice, vmsplice and tee, driven through
//! the handlers.

use super::*;
use crate::fake::FakeBlocker;
use crate::syscalls::lock::{Flock, LockCaller};
use crate::syscalls::{chmod, chown, fallocate, lock, lseek, sendfile, splice, utimes, xattr};
use linux_raw_sys::general as g;
use oxv_abi::linux::fs::{S_IFREG, SEEK_DATA, SEEK_HOLE};
use oxv_abi::linux::time::Timespec;
use zerocopy::IntoBytes;

fn caller(b: &FakeBlocker) -> LockCaller<'_> {
    LockCaller { pid: 7, blocker: b }
}

fn flock_at(w: &mut World, ty: u32, start: i64, len: i64) -> u64 {
    let f = Flock {
        l_type: ty as i16,
        l_start: start,
        l_len: len,
        ..Flock::default()
    };
    w.mem.poke(OUT, f.as_bytes());
    OUT
}

fn fcntl(w: &mut World, files: &FdTable, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let b = FakeBlocker::new();
    lock::fcntl(&w.cx, files, &mut w.mem, caller(&b), fd, cmd, arg)
}

fn flock_out(w: &World) -> Flock {
    Flock::read_from_bytes(&w.mem.peek(OUT, size_of::<Flock>())).unwrap()
}

#[test]
fn record_locks_between_two_fd_tables() {
    let mut w = World::new();
    let fd = w.fd("/tmp/locked", RDWR | CREAT);
    let (a, other) = (w.files.fork(), w.files.fork());
    let arg = flock_at(&mut w, g::F_WRLCK, 0, 10);
    assert_eq!(fcntl(&mut w, &a, fd, g::F_SETLK, arg), Ok(0));
    let arg = flock_at(&mut w, g::F_RDLCK, 5, 1);
    assert_eq!(
        fcntl(&mut w, &other, fd, g::F_SETLK, arg),
        Err(Errno::EAGAIN)
    );
    drop(a);
    let arg = flock_at(&mut w, g::F_RDLCK, 5, 1);
    assert_eq!(
        fcntl(&mut w, &other, fd, g::F_SETLK, arg),
        Ok(0),
        "a table's locks go with it"
    );
    let arg = flock_at(&mut w, g::F_UNLCK, 0, 0);
    assert_eq!(fcntl(&mut w, &other, fd, g::F_SETLK, arg), Ok(0));

    let a = w.files.fork();
    let arg = flock_at(&mut w, g::F_WRLCK, 0, 10);
    assert_eq!(fcntl(&mut w, &a, fd, g::F_SETLK, arg), Ok(0));
    let arg = flock_at(&mut w, g::F_RDLCK, 0, 0);
    assert_eq!(fcntl(&mut w, &other, fd, g::F_GETLK, arg), Ok(0));
    let got = flock_out(&w);
    assert_eq!(
        (got.l_type as u32, got.l_start, got.l_len, got.l_pid),
        (g::F_WRLCK, 0, 10, 7)
    );
    // Closing any fd of the file releases the owner's locks.
    let p = w.path("/tmp/locked");
    let fd2 = open::open(&w.cx, &a, &mut w.mem, p, 0, 0).unwrap() as i32;
    open::close(&a, fd2).unwrap();
    let arg = flock_at(&mut w, g::F_WRLCK, 0, 0);
    assert_eq!(fcntl(&mut w, &other, fd, g::F_SETLK, arg), Ok(0));
}

#[test]
fn lock_argument_errors() {
    let mut w = World::new();
    let fd = w.fd("/tmp/l", RDONLY | CREAT);
    let files = w.files.fork();
    let arg = flock_at(&mut w, g::F_WRLCK, 0, 1);
    assert_eq!(
        fcntl(&mut w, &files, fd, g::F_SETLK, arg),
        Err(Errno::EBADF)
    );
    let arg = flock_at(&mut w, g::F_UNLCK, 0, 1);
    assert_eq!(
        fcntl(&mut w, &files, fd, g::F_GETLK, arg),
        Err(Errno::EINVAL)
    );
    let arg = flock_at(&mut w, g::F_RDLCK, -1, 1);
    assert_eq!(
        fcntl(&mut w, &files, fd, g::F_SETLK, arg),
        Err(Errno::EINVAL)
    );
    let arg = flock_at(&mut w, g::F_RDLCK, i64::MAX, 2);
    assert_eq!(
        fcntl(&mut w, &files, fd, g::F_SETLK, arg),
        Err(Errno::EOVERFLOW)
    );
    assert_eq!(
        fcntl(&mut w, &files, fd, g::F_SETLK, UNMAPPED),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        fcntl(&mut w, &files, 99, g::F_SETLK, UNMAPPED),
        Err(Errno::EBADF)
    );
    let b = FakeBlocker::new();
    assert_eq!(
        lock::flock(&w.cx, &files, caller(&b), fd, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        lock::flock(&w.cx, &files, caller(&b), fd, g::LOCK_SH),
        Ok(0)
    );
    // Another open file of the same inode conflicts; LOCK_NB fails, a blocking one is
    // interrupted by the fake blocker's "signal".
    let fd2 = w.fd("/tmp/l", RDONLY);
    let nb = g::LOCK_EX | g::LOCK_NB;
    assert_eq!(
        lock::flock(&w.cx, &w.files, caller(&b), fd2, nb),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        lock::flock(&w.cx, &w.files, caller(&b), fd2, g::LOCK_EX),
        Err(Errno::EINTR)
    );
}

#[test]
fn chmod_chown_and_times() {
    let mut w = World::new();
    let fd = w.fd("/tmp/m", RDWR | CREAT);
    w.clock.advance(100);
    let p = w.path("/tmp/m");
    assert_eq!(chmod::chmod(&w.cx, &w.files, &mut w.mem, p, 0o4755), Ok(0));
    let st = w.stat("/tmp/m").unwrap();
    assert_eq!(st.st_mode, S_IFREG | 0o4755);
    assert_eq!(st.st_ctime, BOOT + 100);
    assert_eq!(chown::fchown(&w.cx, &w.files, fd, 5, u32::MAX), Ok(0));
    let st = w.stat("/tmp/m").unwrap();
    assert_eq!((st.st_uid, st.st_gid, st.st_mode), (5, 0, S_IFREG | 0o755));
    let p = w.path("/ro/file");
    assert_eq!(
        chown::chown(&w.cx, &w.files, &mut w.mem, p, 1, 1),
        Err(Errno::EROFS)
    );
    let t = [
        Timespec {
            tv_sec: 10,
            tv_nsec: 5,
        },
        Timespec {
            tv_sec: 20,
            tv_nsec: g::UTIME_OMIT as i64,
        },
    ];
    w.mem.poke(OUT + 0x100, t.as_bytes());
    let p = w.path("/tmp/m");
    assert_eq!(
        utimes::utimensat(
            &w.cx,
            &w.files,
            &mut w.mem,
            AT_FDCWD,
            p,
            UserPtr::new(OUT + 0x100),
            0
        ),
        Ok(0)
    );
    let st = w.stat("/tmp/m").unwrap();
    assert_eq!((st.st_atime, st.st_atime_nsec, st.st_mtime), (10, 5, BOOT));
}

#[test]
fn xattrs_through_the_handlers() {
    let mut w = World::new();
    let fd = w.fd("/tmp/x", RDWR | CREAT);
    w.mem.poke(BUF, b"value");
    let name = w.path("user.k");
    let value = UserBuf::new(BUF, 5);
    assert_eq!(
        xattr::fsetxattr(&w.cx, &w.files, &mut w.mem, fd, name, value, 0),
        Ok(0)
    );
    let out = UserBuf::new(BUF + 0x100, 64);
    assert_eq!(
        xattr::fgetxattr(&w.cx, &w.files, &mut w.mem, fd, name, out),
        Ok(5)
    );
    assert_eq!(w.mem.peek(BUF + 0x100, 5), b"value");
    let small = UserBuf::new(BUF + 0x100, 2);
    assert_eq!(
        xattr::fgetxattr(&w.cx, &w.files, &mut w.mem, fd, name, small),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        xattr::flistxattr(&w.cx, &w.files, &mut w.mem, fd, UserBuf::new(BUF, 0)),
        Ok(7)
    );
    let bad = w.path("nope.k");
    assert_eq!(
        xattr::fsetxattr(&w.cx, &w.files, &mut w.mem, fd, bad, value, 0),
        Err(Errno::EOPNOTSUPP)
    );
    let p = w.path("/ro/file");
    assert_eq!(
        xattr::setxattr(&w.cx, &w.files, &mut w.mem, p, name, value, 0),
        Err(Errno::EROFS)
    );
    assert_eq!(
        xattr::fremovexattr(&w.cx, &w.files, &mut w.mem, fd, name),
        Ok(0)
    );
    assert_eq!(
        xattr::fremovexattr(&w.cx, &w.files, &mut w.mem, fd, name),
        Err(Errno::ENODATA)
    );
}

#[test]
fn fallocate_and_holes() {
    let mut w = World::new();
    let fd = w.fd("/tmp/sparse", RDWR | CREAT);
    let keep = g::FALLOC_FL_KEEP_SIZE as i32;
    let punch = (g::FALLOC_FL_PUNCH_HOLE | g::FALLOC_FL_KEEP_SIZE) as i32;
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, 0, 4096, 4096),
        Ok(0)
    );
    assert_eq!(w.fstat(fd).unwrap().st_size, 8192);
    assert_eq!(w.fstat(fd).unwrap().st_blocks, 8);
    assert_eq!(lseek::lseek(&w.files, fd, 0, SEEK_DATA), Ok(4096));
    assert_eq!(lseek::lseek(&w.files, fd, 0, SEEK_HOLE), Ok(0));
    assert_eq!(lseek::lseek(&w.files, fd, 4096, SEEK_HOLE), Ok(8192));
    assert_eq!(
        lseek::lseek(&w.files, fd, 8192, SEEK_DATA),
        Err(Errno::ENXIO)
    );
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, keep, 8192, 100),
        Ok(0)
    );
    assert_eq!(w.fstat(fd).unwrap().st_size, 8192);
    assert_eq!(w.fstat(fd).unwrap().st_blocks, 16);
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, punch, 0, 1 << 20),
        Ok(0)
    );
    assert_eq!(w.fstat(fd).unwrap().st_blocks, 0);
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, punch, 1 << 30, 1),
        Ok(0),
        "a hole past the end"
    );
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, g::FALLOC_FL_PUNCH_HOLE as i32, 0, 1),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, 0, 0, 0),
        Err(Errno::EINVAL)
    );
    let ro = w.fd("/tmp/sparse", RDONLY);
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, ro, 0, 0, 1),
        Err(Errno::EBADF)
    );
}

#[test]
fn sendfile_copy_file_range_and_splice() {
    let mut w = World::new();
    let src = w.fd("/tmp/src", RDWR | CREAT);
    w.write(src, b"0123456789").unwrap();
    let dst = w.fd("/tmp/dst", RDWR | CREAT);
    let b = FakeBlocker::new();
    let off = UserPtr::<i64>::new(OUT);
    w.mem.poke(OUT, &2i64.to_le_bytes());
    assert_eq!(
        sendfile::sendfile(&w.files, &mut w.mem, &b, dst, src, off, 100),
        Ok(8)
    );
    assert_eq!(off.read(&w.mem), Ok(10));
    assert_eq!(w.contents("/tmp/dst").unwrap(), b"23456789");
    let none = UserPtr::<i64>::new(0);
    assert_eq!(
        sendfile::copy_file_range(&w.files, &mut w.mem, src, none, dst, none, 4, 0),
        Ok(0),
        "src's offset is at its end"
    );
    w.mem.poke(OUT, &0i64.to_le_bytes());
    assert_eq!(
        sendfile::copy_file_range(&w.files, &mut w.mem, src, off, dst, none, 4, 0),
        Ok(4)
    );
    assert_eq!(w.contents("/tmp/dst").unwrap(), b"234567890123");
    let etc = w.fd("/etc/motd", RDONLY);
    assert_eq!(
        sendfile::copy_file_range(&w.files, &mut w.mem, etc, none, dst, none, 4, 0),
        Err(Errno::EXDEV)
    );
    // A pipe in between.
    let pipe_blocker: Arc<dyn crate::Blocker> = Arc::new(b.clone());
    let fds = UserPtr::new(OUT + 0x10);
    crate::syscalls::pipe::pipe(&w.cx, &w.files, &mut w.mem, &pipe_blocker, fds).unwrap();
    let [r, wr] = UserPtr::<[i32; 2]>::new(OUT + 0x10).read(&w.mem).unwrap();
    w.mem.poke(OUT, &1i64.to_le_bytes());
    assert_eq!(
        splice::splice(&w.files, &mut w.mem, &b, src, off, wr, none, 3, 0),
        Ok(3)
    );
    assert_eq!(
        splice::splice(&w.files, &mut w.mem, &b, r, none, dst, none, 100, 0),
        Ok(3)
    );
    assert_eq!(w.contents("/tmp/dst").unwrap(), b"234567890123123");
    assert_eq!(
        splice::splice(
            &w.files,
            &mut w.mem,
            &b,
            r,
            none,
            dst,
            none,
            100,
            splice::SPLICE_F_NONBLOCK
        ),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        splice::splice(&w.files, &mut w.mem, &b, src, none, dst, none, 1, 0),
        Err(Errno::EINVAL),
        "no pipe"
    );
}

#[test]
fn vmsplice_and_tee_through_pipes() {
    let mut w = World::new();
    let b = FakeBlocker::new();
    let pipe_blocker: Arc<dyn crate::Blocker> = Arc::new(b.clone());
    let pipe = |w: &mut World, at: u64| {
        let fds = UserPtr::new(at);
        crate::syscalls::pipe::pipe(&w.cx, &w.files, &mut w.mem, &pipe_blocker, fds).unwrap();
        UserPtr::<[i32; 2]>::new(at).read(&w.mem).unwrap()
    };
    let [r, wr] = pipe(&mut w, OUT + 0x10);
    let [r2, wr2] = pipe(&mut w, OUT + 0x18);
    let iov = UserPtr::<oxv_abi::linux::fs::Iovec>::new(OUT + 0x40);
    w.mem.poke(OUT + 0x100, b"hello");
    w.mem.poke(OUT + 0x40, &(OUT + 0x100).to_le_bytes());
    w.mem.poke(OUT + 0x48, &5u64.to_le_bytes());
    let nb = splice::SPLICE_F_NONBLOCK;
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, wr, iov, 1, splice::SPLICE_F_GIFT),
        Ok(5)
    );
    // tee copies without consuming; vmsplice then reads both pipes.
    assert_eq!(splice::tee(&w.files, &b, r, wr2, 100, 0), Ok(5));
    w.mem.poke(OUT + 0x100, b".....");
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, r2, iov, 1, nb),
        Ok(5)
    );
    assert_eq!(w.mem.peek(OUT + 0x100, 5), b"hello");
    w.mem.poke(OUT + 0x100, b".....");
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, r, iov, 1, nb),
        Ok(5)
    );
    assert_eq!(w.mem.peek(OUT + 0x100, 5), b"hello");
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, r, iov, 1, nb),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        splice::tee(&w.files, &b, r, wr2, 100, nb),
        Err(Errno::EAGAIN)
    );
    // Errors, in Linux's order.
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, wr, iov, 1, 0x10),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, 99, iov, 1025, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, wr, iov, 1025, 0),
        Err(Errno::EINVAL)
    );
    let file = w.fd("/tmp/v", RDWR | CREAT);
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, file, iov, 0, 0),
        Ok(0)
    );
    assert_eq!(
        splice::vmsplice(&w.files, &mut w.mem, &b, file, iov, 1, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(splice::tee(&w.files, &b, r, r2, 1, 0), Err(Errno::EBADF));
    assert_eq!(splice::tee(&w.files, &b, r, wr, 1, 0), Err(Errno::EINVAL));
    assert_eq!(splice::tee(&w.files, &b, r, file, 1, 0), Err(Errno::EINVAL));
}

#[test]
fn files_an_app_makes_in_dev_stop_at_half_of_ram() {
    // devfs keeps their data in the embedder's RAM (`DevfsDevices::memory`, 4 MiB here), with
    // devtmpfs's limit: before, it was an unlimited heap tmpfs, and a fallocate(2) of 2^56
    // bytes there took the whole kernel heap (a panic, found by the fuzzer).
    let mut w = World::new();
    let fd = w.fd("/dev/big", RDWR | CREAT);
    let keep = g::FALLOC_FL_KEEP_SIZE as i32;
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, keep, 0, 1 << 56),
        Err(Errno::ENOSPC)
    );
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, 0, 0, 4 << 20),
        Err(Errno::ENOSPC),
        "more than half of the 4 MiB"
    );
    assert_eq!(
        fallocate::fallocate(&w.cx, &w.files, fd, 0, 0, 1 << 20),
        Ok(0)
    );
    let chunk = [7u8; 4096];
    let mut written: usize = 1 << 20;
    assert_eq!(
        lseek::lseek(&w.files, fd, written as i64, g::SEEK_SET),
        Ok(written)
    );
    while let Ok(n) = w.write(fd, &chunk) {
        if n == 0 {
            break;
        }
        written += n;
    }
    assert_eq!(written, 2 << 20, "writes stop at half of RAM");
    assert_eq!(w.write(fd, &chunk), Err(Errno::ENOSPC));
}
