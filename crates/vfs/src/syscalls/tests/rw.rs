//! read, write, pread64, pwrite64, readv, writev, lseek.

use super::*;
use oxv_abi::linux::fs::{Iovec, MAX_RW_COUNT, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET};
use oxv_abi::{Fault, UserAddr, UserMemory};

fn lseek(w: &World, fd: i32, off: i64, whence: u32) -> SysResult {
    lseek::lseek(&w.files, fd, off, whence)
}

#[test]
fn create_write_seek_read() {
    let mut w = World::new();
    let fd = w.fd("/tmp/f", CREAT | RDWR);
    assert_eq!(w.write(fd, b"hello world"), Ok(11));
    assert_eq!(lseek(&w, fd, 0, SEEK_CUR), Ok(11));
    assert_eq!(w.read(fd, 10).unwrap(), b"", "at the end");
    assert_eq!(lseek(&w, fd, 6, SEEK_SET), Ok(6));
    assert_eq!(w.read(fd, 100).unwrap(), b"world");
    assert_eq!(lseek(&w, fd, -5, SEEK_END), Ok(6));
    assert_eq!(w.write(fd, b"WORLD!"), Ok(6));
    assert_eq!(w.contents("/tmp/f").unwrap(), b"hello WORLD!");
    // A seek past the end leaves a hole that reads as zeros.
    assert_eq!(lseek(&w, fd, 20, SEEK_SET), Ok(20));
    assert_eq!(w.write(fd, b"!"), Ok(1));
    let data = w.contents("/tmp/f").unwrap();
    assert_eq!(data.len(), 21);
    assert_eq!(&data[12..20], &[0; 8]);
    assert_eq!(w.fstat(fd).unwrap().st_mtime, BOOT);
}

#[test]
fn seek_errors() {
    let mut w = World::new();
    let fd = w.fd("/etc/motd", RDONLY);
    assert_eq!(lseek(&w, fd, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(lseek(&w, fd, 0, 5), Err(Errno::EINVAL));
    assert_eq!(lseek(&w, fd, 0, 99), Err(Errno::EINVAL));
    assert_eq!(lseek(&w, fd, 3, SEEK_DATA), Ok(3));
    assert_eq!(lseek(&w, fd, 3, SEEK_HOLE), Ok(12));
    assert_eq!(lseek(&w, fd, 12, SEEK_DATA), Err(Errno::ENXIO));
    assert_eq!(
        lseek(&w, 0, 0, SEEK_SET),
        Err(Errno::ESPIPE),
        "the console is a stream"
    );
    assert_eq!(lseek(&w, 77, 0, SEEK_SET), Err(Errno::EBADF));
    assert_eq!(
        lseek(&w, 77, 0, 99),
        Err(Errno::EBADF),
        "EBADF before EINVAL"
    );
    let dir = w.fd("/etc", RDONLY);
    assert_eq!(
        lseek(&w, dir, 0, SEEK_END),
        Err(Errno::EINVAL),
        "directories seek by cursor only"
    );
    assert_eq!(lseek(&w, dir, 0, SEEK_SET), Ok(0));
}

#[test]
fn access_mode_and_error_order() {
    let mut w = World::new();
    let ro = w.fd("/etc/motd", RDONLY);
    let wo = w.fd("/tmp/w", CREAT | WRONLY);
    assert_eq!(w.write(ro, b"x"), Err(Errno::EBADF));
    assert_eq!(w.read(wo, 1), Err(Errno::EBADF));
    // EBADF comes before EFAULT.
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, 99, UserBuf::new(UNMAPPED, 4)),
        Err(Errno::EBADF)
    );
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, -1, UserBuf::new(BUF, 4)),
        Err(Errno::EBADF)
    );
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, wo, UserBuf::new(KERNEL, 4)),
        Err(Errno::EBADF)
    );
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, ro, UserBuf::new(UNMAPPED, 4)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, ro, UserBuf::new(RO, 4)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        read_write::write(&w.files, &mut w.mem, wo, UserBuf::new(UNMAPPED, 4)),
        Err(Errno::EFAULT)
    );
    // A directory: EFAULT for a kernel pointer (access_ok), else EISDIR even if unmapped.
    let dir = w.fd("/etc", RDONLY);
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, dir, UserBuf::new(KERNEL, 4)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        read_write::read(&w.files, &mut w.mem, dir, UserBuf::new(UNMAPPED, 4)),
        Err(Errno::EISDIR)
    );
    assert_eq!(w.read(dir, 0), Err(Errno::EISDIR));
    // A failed read leaves the offset alone.
    assert_eq!(w.read(ro, 5).unwrap(), b"Hello");
    // Writing a read-only page into the file is fine: it is only read.
    w.mem.poke(RO, b"");
    assert_eq!(
        read_write::write(&w.files, &mut w.mem, wo, UserBuf::new(RO, 3)),
        Ok(3)
    );
}

#[test]
fn faults_part_way_give_short_counts() {
    let mut w = World::new();
    let fd = w.fd("/tmp/f", CREAT | RDWR);
    w.write(fd, &[b'z'; 100]).unwrap();
    lseek(&w, fd, 0, SEEK_SET).unwrap();
    // Only the buffer's first 10 bytes are mapped: 10 bytes are read, the offset moves by 10.
    let end = PATHS + 4 * PATH_SLOT;
    let got = read_write::read(&w.files, &mut w.mem, fd, UserBuf::new(end - 10, 50));
    assert_eq!(got, Ok(10));
    assert_eq!(lseek(&w, fd, 0, SEEK_CUR), Ok(10));
    // Writing from a buffer that runs off the mapping writes the mapped part.
    w.mem.poke(end - 4, b"tail");
    lseek(&w, fd, 0, SEEK_SET).unwrap();
    assert_eq!(
        read_write::write(&w.files, &mut w.mem, fd, UserBuf::new(end - 4, 40)),
        Ok(4)
    );
    assert_eq!(&w.contents("/tmp/f").unwrap()[..6], b"tailzz");
}

/// A user memory that accepts any copy in the user half and stores nothing.
struct Bottomless(usize);

impl UserMemory for Bottomless {
    fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault> {
        if !src.range_is_user(dst.len() as u64) {
            return Err(Fault { addr: src });
        }
        dst.fill(0);
        Ok(())
    }

    fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault> {
        if !dst.range_is_user(src.len() as u64) {
            return Err(Fault { addr: dst });
        }
        self.0 += src.len();
        Ok(())
    }
}

#[test]
fn counts_are_clamped_to_max_rw_count() {
    let mut w = World::new();
    let null = w.fd("/dev/null", RDWR);
    let mut mem = Bottomless(0);
    let huge = UserBuf::new(0x1000, 0x1_0000_0000);
    assert_eq!(
        read_write::write(&w.files, &mut mem, null, huge),
        Ok(MAX_RW_COUNT)
    );
    assert_eq!(
        read_write::write(&w.files, &mut mem, null, UserBuf::new(0x1000, u64::MAX)),
        Err(Errno::EFAULT)
    );
    let f = w.fd("/tmp/big", CREAT | RDWR);
    lseek(&w, f, 5, SEEK_SET).unwrap();
    assert_eq!(
        read_write::write(&w.files, &mut mem, f, UserBuf::new(0x1000, 3)),
        Ok(3)
    );
    assert_eq!(read_write::pread64(&w.files, &mut mem, f, huge, 0), Ok(8));
    assert_eq!(mem.0, 8);
}

#[test]
fn append_mode() {
    let mut w = World::new();
    let a = w.fd("/tmp/log", CREAT | WRONLY | OpenFlags::APPEND);
    let b = w.fd("/tmp/log", WRONLY);
    w.write(b, b"1234567890").unwrap();
    w.write(a, b"AB").unwrap();
    assert_eq!(
        lseek(&w, a, 0, SEEK_CUR),
        Ok(12),
        "the offset follows the end"
    );
    lseek(&w, a, 0, SEEK_SET).unwrap();
    w.write(a, b"CD").unwrap();
    w.mem.poke(BUF, b"EF");
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, a, UserBuf::new(BUF, 2), 0),
        Ok(2)
    );
    assert_eq!(
        w.contents("/tmp/log").unwrap(),
        b"1234567890ABCDEF",
        "O_APPEND wins over pwrite's offset"
    );
}

#[test]
fn pread_pwrite() {
    let mut w = World::new();
    let fd = w.fd("/etc/motd", RDONLY);
    assert_eq!(
        read_write::pread64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 7),
        Ok(3)
    );
    assert_eq!(w.mem.peek(BUF, 3), b"oxv");
    assert_eq!(
        lseek(&w, fd, 0, SEEK_CUR),
        Ok(0),
        "pread leaves the offset alone"
    );
    // Negative offset: EINVAL even before EBADF.
    assert_eq!(
        read_write::pread64(&w.files, &mut w.mem, 99, UserBuf::new(BUF, 3), -1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        read_write::pread64(&w.files, &mut w.mem, 99, UserBuf::new(BUF, 3), 0),
        Err(Errno::EBADF)
    );
    // A stream: ESPIPE before the access mode is looked at.
    assert_eq!(
        read_write::pread64(&w.files, &mut w.mem, 1, UserBuf::new(BUF, 3), 0),
        Err(Errno::ESPIPE)
    );
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        read_write::pread64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 100),
        Ok(0)
    );
    let t = w.fd("/tmp/p", CREAT | RDWR);
    w.mem.poke(BUF, b"xyz");
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, t, UserBuf::new(BUF, 3), 4),
        Ok(3)
    );
    assert_eq!(w.contents("/tmp/p").unwrap(), b"\0\0\0\0xyz");
    assert_eq!(lseek(&w, t, 0, SEEK_CUR), Ok(0));
}

fn put_iovecs(w: &mut World, at: u64, v: &[(u64, u64)]) -> UserPtr<Iovec> {
    for (i, &(base, len)) in v.iter().enumerate() {
        UserPtr::<Iovec>::new(at)
            .add(i as u64)
            .write(
                &mut w.mem,
                &Iovec {
                    iov_base: base,
                    iov_len: len,
                },
            )
            .unwrap();
    }
    UserPtr::new(at)
}

#[test]
fn readv_writev_scatter_and_gather() {
    let mut w = World::new();
    let fd = w.fd("/tmp/v", CREAT | RDWR);
    w.mem.poke(BUF, b"abc");
    w.mem.poke(BUF + 100, b"defgh");
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 3), (0, 0), (BUF + 100, 5)]);
    assert_eq!(read_write::writev(&w.files, &mut w.mem, fd, iov, 3), Ok(8));
    assert_eq!(w.contents("/tmp/v").unwrap(), b"abcdefgh");
    lseek(&w, fd, 0, SEEK_SET).unwrap();
    let iov = put_iovecs(&mut w, OUT, &[(BUF + 200, 2), (BUF + 300, 10)]);
    assert_eq!(read_write::readv(&w.files, &mut w.mem, fd, iov, 2), Ok(8));
    assert_eq!(w.mem.peek(BUF + 200, 2), b"ab");
    assert_eq!(w.mem.peek(BUF + 300, 6), b"cdefgh");
    let iov = put_iovecs(&mut w, OUT, &[(BUF + 200, 4)]);
    assert_eq!(
        read_write::preadv(&w.files, &mut w.mem, fd, iov, 1, 4),
        Ok(4)
    );
    assert_eq!(w.mem.peek(BUF + 200, 4), b"efgh");
    assert_eq!(
        read_write::pwritev(&w.files, &mut w.mem, fd, iov, 1, 0),
        Ok(4)
    );
    assert_eq!(w.contents("/tmp/v").unwrap(), b"efghefgh");
}

#[test]
fn vector_errors() {
    let mut w = World::new();
    let fd = w.fd("/tmp/v", CREAT | RDWR);
    assert_eq!(
        read_write::readv(&w.files, &mut w.mem, fd, UserPtr::new(OUT), 1025),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        read_write::readv(&w.files, &mut w.mem, fd, UserPtr::new(UNMAPPED), 2),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        read_write::readv(&w.files, &mut w.mem, 99, UserPtr::new(UNMAPPED), 2000),
        Err(Errno::EBADF)
    );
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 1), (BUF, 1 << 63)]);
    assert_eq!(
        read_write::writev(&w.files, &mut w.mem, fd, iov, 2),
        Err(Errno::EINVAL),
        "negative as ssize_t"
    );
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 1), (KERNEL, 1)]);
    assert_eq!(
        read_write::writev(&w.files, &mut w.mem, fd, iov, 2),
        Err(Errno::EFAULT)
    );
    // 1024 segments are fine; an empty vector reads nothing, even from a directory.
    let segs: Vec<(u64, u64)> = (0..1024).map(|i| (BUF + i, 1)).collect();
    let iov = put_iovecs(&mut w, OUT, &segs);
    assert_eq!(
        read_write::writev(&w.files, &mut w.mem, fd, iov, 1024),
        Ok(1024)
    );
    let dir = w.fd("/etc", RDONLY);
    assert_eq!(read_write::readv(&w.files, &mut w.mem, dir, iov, 0), Ok(0));
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 4)]);
    assert_eq!(
        read_write::readv(&w.files, &mut w.mem, dir, iov, 1),
        Err(Errno::EISDIR)
    );
    // A fault in the second segment after data in the first: the short count.
    lseek(&w, fd, 0, SEEK_SET).unwrap();
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 4), (UNMAPPED, 4)]);
    assert_eq!(read_write::readv(&w.files, &mut w.mem, fd, iov, 2), Ok(4));
}

#[test]
fn readv_on_a_stream_does_not_block_for_more() {
    let mut w = World::new();
    w.console.push_input(b"abcd");
    let iov = put_iovecs(&mut w, OUT, &[(BUF, 4), (BUF + 100, 4)]);
    // The fake console would return EINTR on a blocking read with nothing queued.
    assert_eq!(read_write::readv(&w.files, &mut w.mem, 0, iov, 2), Ok(4));
    assert_eq!(w.mem.peek(BUF, 4), b"abcd");
}

/// `RLIMIT_FSIZE` ([`crate::fsize`]): a write to a regular file stops at the limit and fails
/// with `EFBIG` at it (an empty one still succeeds), growing truncations fail, the terminal
/// is not limited, and `RLIM_INFINITY` lifts the limit.
#[test]
fn the_file_size_limit_cuts_writes_to_regular_files() {
    use oxv_abi::linux::system::RLIM_INFINITY;
    let mut w = World::new();
    let fd = w.fd("/tmp/limited", CREAT | RDWR);
    w.files.file_size_limit().set(10);
    assert_eq!(w.write(fd, b"01234567"), Ok(8));
    assert_eq!(w.write(fd, b"89abcdef"), Ok(2), "cut at the limit");
    assert_eq!(w.write(fd, b"x"), Err(Errno::EFBIG));
    assert_eq!(w.write(fd, b""), Ok(0));
    w.mem.poke(BUF, b"xyz");
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 20),
        Err(Errno::EFBIG)
    );
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 8),
        Ok(2)
    );
    assert_eq!(w.contents("/tmp/limited").unwrap(), b"01234567xy");
    assert_eq!(truncate::ftruncate(&w.files, fd, 11), Err(Errno::EFBIG));
    assert_eq!(truncate::ftruncate(&w.files, fd, 10), Ok(0));
    assert_eq!(truncate::ftruncate(&w.files, fd, 4), Ok(0));
    assert_eq!(w.write(1, b"to the terminal, past the limit"), Ok(31));
    w.files.file_size_limit().set(RLIM_INFINITY);
    assert_eq!(
        read_write::pwrite64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 3), 20),
        Ok(3)
    );
}
