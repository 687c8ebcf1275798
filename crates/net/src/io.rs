//! Where a socket's data comes from and goes to: [`Source`] and [`Sink`], over one buffer
//! (the VFS's [`WriteBuf`]/[`ReadBuf`], for write(2) and read(2)) or over an iovec array
//! ([`IoVecs`], for sendmsg(2)/recvmsg(2), kept as the list of user segments).
//!
//! Both copy in user-page pieces, so a fault part-way gives a short count and `EFAULT` only
//! when nothing moved, as everywhere in oxv. Sockets copy through them outside the stack's
//! lock (see [`crate::stack`]), into or out of a per-socket staging buffer.

use alloc::vec::Vec;
use oxv_abi::linux::fs::{Iovec, MAX_RW_COUNT, UIO_MAXIOV};
use oxv_abi::{Errno, UserBuf, UserMemory, UserPtr};
use oxv_vfs::{ReadBuf, WriteBuf};

/// Bytes to be sent.
pub trait Source {
    /// Total length.
    fn len(&self) -> usize;

    /// Whether there is nothing to send.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies bytes from offset `at` into `dst` (cut to what is left); a short count on a
    /// fault part-way, `EFAULT` when the first byte faults.
    fn fetch(&self, at: usize, dst: &mut [u8]) -> Result<usize, Errno>;
}

/// Room for received bytes.
pub trait Sink {
    /// Total room.
    fn len(&self) -> usize;

    /// Whether there is no room.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `src` at offset `at` (cut to the room); a short count on a fault part-way,
    /// `EFAULT` when the first byte faults.
    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno>;
}

impl Source for WriteBuf<'_> {
    fn len(&self) -> usize {
        WriteBuf::len(self)
    }

    fn fetch(&self, at: usize, dst: &mut [u8]) -> Result<usize, Errno> {
        WriteBuf::fetch(self, at, dst)
    }
}

impl Sink for ReadBuf<'_> {
    fn len(&self) -> usize {
        ReadBuf::len(self)
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        ReadBuf::fill(self, at, src)
    }
}

impl Source for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn fetch(&self, at: usize, dst: &mut [u8]) -> Result<usize, Errno> {
        let src = self.get(at..).unwrap_or(&[]);
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

/// The segments of an iovec array, read in once (Linux's `import_iovec`).
#[derive(Clone, Debug, Default)]
pub struct IoVecs {
    segs: Vec<UserBuf>,
    total: usize,
}

impl IoVecs {
    /// Reads `count` `struct iovec`s at `iov`: more than `UIO_MAXIOV` is `EMSGSIZE` (the
    /// socket calls' error), a length negative as `ssize_t` is `EINVAL`, and the total is
    /// clamped to `MAX_RW_COUNT` (later segments are cut), as `import_iovec` does.
    pub fn read(mem: &dyn UserMemory, iov: UserPtr<Iovec>, count: u64) -> Result<IoVecs, Errno> {
        if count > UIO_MAXIOV as u64 {
            return Err(Errno::EMSGSIZE);
        }
        let mut segs = Vec::with_capacity(count as usize);
        let mut total = 0usize;
        for i in 0..count {
            let v = UserPtr::<Iovec>::new(iov.addr().get() + i * size_of::<Iovec>() as u64)
                .read(mem)?;
            if (v.iov_len as i64) < 0 {
                return Err(Errno::EINVAL);
            }
            let len = (v.iov_len as usize).min(MAX_RW_COUNT - total);
            total += len;
            segs.push(UserBuf::new(v.iov_base, len as u64));
        }
        Ok(IoVecs { segs, total })
    }

    /// One segment.
    pub fn single(buf: UserBuf) -> IoVecs {
        let len = buf.len.min(MAX_RW_COUNT);
        IoVecs {
            segs: alloc::vec![UserBuf::new(buf.addr.get(), len as u64)],
            total: len,
        }
    }

    /// Total length.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether the total is zero.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The segments with their offset in the whole, from the one holding byte `at`.
    fn from(&self, at: usize) -> impl Iterator<Item = (usize, UserBuf)> + '_ {
        let mut start = 0usize;
        self.segs.iter().filter_map(move |s| {
            let here = start;
            start += s.len;
            (here + s.len > at && s.len > 0).then_some((here, *s))
        })
    }
}

/// An iovec array in user memory as a [`Source`].
pub struct IovSource<'a> {
    /// The app's memory.
    pub mem: &'a dyn UserMemory,
    /// The segments.
    pub iov: &'a IoVecs,
}

impl Source for IovSource<'_> {
    fn len(&self) -> usize {
        self.iov.len()
    }

    fn fetch(&self, at: usize, dst: &mut [u8]) -> Result<usize, Errno> {
        let mut done = 0usize;
        for (start, seg) in self.iov.from(at) {
            if done == dst.len() {
                break;
            }
            let off = at + done - start;
            let want = (seg.len - off).min(dst.len() - done);
            let got = match WriteBuf::user(self.mem, seg).fetch(off, &mut dst[done..done + want]) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => 0,
            };
            done += got;
            if got < want {
                break;
            }
        }
        Ok(done)
    }
}

/// An iovec array in user memory as a [`Sink`].
pub struct IovSink<'a> {
    /// The app's memory.
    pub mem: &'a mut dyn UserMemory,
    /// The segments.
    pub iov: &'a IoVecs,
}

impl Sink for IovSink<'_> {
    fn len(&self) -> usize {
        self.iov.len()
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        let mut done = 0usize;
        let iov = self.iov;
        for (start, seg) in iov.from(at) {
            if done == src.len() {
                break;
            }
            let off = at + done - start;
            let want = (seg.len - off).min(src.len() - done);
            let got = match ReadBuf::user(&mut *self.mem, seg).fill(off, &src[done..done + want]) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => 0,
            };
            done += got;
            if got < want {
                break;
            }
        }
        Ok(done)
    }
}

/// A sink that keeps nothing (MSG_TRUNC on a stream socket discards data).
pub struct Discard(pub usize);

impl Sink for Discard {
    fn len(&self) -> usize {
        self.0
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        Ok(src.len().min(self.0.saturating_sub(at)))
    }
}

/// A kernel vector as a [`Sink`] (tests and in-kernel users).
impl Sink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        let n = src.len().min(Vec::len(self).saturating_sub(at));
        self[at..at + n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::user::fake::FakeUserMemory;
    use zerocopy::IntoBytes;

    fn iov(mem: &mut FakeUserMemory, at: u64, segs: &[(u64, u64)]) -> IoVecs {
        for (i, &(base, len)) in segs.iter().enumerate() {
            let v = Iovec {
                iov_base: base,
                iov_len: len,
            };
            mem.poke(at + 16 * i as u64, v.as_bytes());
        }
        IoVecs::read(mem, UserPtr::new(at), segs.len() as u64).unwrap()
    }

    #[test]
    fn gather_and_scatter_across_segments() {
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x2000, true);
        mem.poke(0x1100, b"abc");
        mem.poke(0x1200, b"defgh");
        let v = iov(&mut mem, 0x1000, &[(0x1100, 3), (0x1180, 0), (0x1200, 5)]);
        assert_eq!(v.len(), 8);
        let mut out = [0u8; 6];
        let src = IovSource { mem: &mem, iov: &v };
        assert_eq!(src.fetch(2, &mut out), Ok(6));
        assert_eq!(&out, b"cdefgh");
        let w = iov(&mut mem, 0x1800, &[(0x1300, 2), (0x1400, 4)]);
        let mut sink = IovSink {
            mem: &mut mem,
            iov: &w,
        };
        assert_eq!(sink.fill(1, b"xyz"), Ok(3));
        assert_eq!(mem.peek(0x1300, 2), b"\0x");
        assert_eq!(mem.peek(0x1400, 2), b"yz");
    }

    #[test]
    fn faults_give_short_counts() {
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, true);
        let v = iov(&mut mem, 0x1000, &[(0x1ffe, 2), (0x9000, 4)]);
        let mut out = [0u8; 6];
        let src = IovSource { mem: &mem, iov: &v };
        assert_eq!(src.fetch(0, &mut out), Ok(2));
        assert_eq!(src.fetch(2, &mut out), Err(Errno::EFAULT));
        let mut big = FakeUserMemory::new();
        big.map(0x1000, 0x1000, true);
        assert_eq!(
            IoVecs::read(&big, UserPtr::new(0x1000), UIO_MAXIOV as u64 + 1).err(),
            Some(Errno::EMSGSIZE)
        );
        big.poke(
            0x1000,
            Iovec {
                iov_base: 0,
                iov_len: u64::MAX,
            }
            .as_bytes(),
        );
        assert_eq!(
            IoVecs::read(&big, UserPtr::new(0x1000), 1).err(),
            Some(Errno::EINVAL)
        );
    }
}
