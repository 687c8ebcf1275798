//! The two ends of a data transfer: where read bytes go ([`ReadBuf`]) and where written bytes
//! come from ([`WriteBuf`]), each either user memory or a kernel slice.
//!
//! Files copy straight between their storage and the app's buffer, with no bounce buffer, and
//! the same file code serves kernel callers (the ELF loader reads through a kernel slice).
//!
//! User copies go through [`UserMemory`] in pieces that never cross a 4 KiB boundary of the
//! user address, so a fault part-way is reported at a known byte: like Linux, a transfer that
//! faults after moving some bytes returns the short count, and `EFAULT` only when it moved none.

use oxv_abi::{Errno, UserAddr, UserBuf, UserMemory};

/// Granularity of user copies: a fault is located to within one such piece.
const PIECE: u64 = 4096;

/// The pieces of `[addr, addr + len)` that do not cross a [`PIECE`] boundary, as
/// `(offset, len)` pairs relative to `addr`.
fn pieces(addr: UserAddr, len: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut done = 0usize;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let a = addr.get().wrapping_add(done as u64);
        let room = (PIECE - a % PIECE) as usize;
        let n = room.min(len - done);
        let piece = (done, n);
        done += n;
        Some(piece)
    })
}

/// Turns "copied `done` of `wanted`" into the Linux result: the count, or `EFAULT` if nothing
/// of a non-empty transfer was copied.
fn partial(done: usize, wanted: usize) -> Result<usize, Errno> {
    if done == 0 && wanted > 0 {
        Err(Errno::EFAULT)
    } else {
        Ok(done)
    }
}

/// The destination of a read.
pub enum ReadBuf<'a> {
    /// The app's buffer.
    User {
        /// The app's memory.
        mem: &'a mut dyn UserMemory,
        /// The buffer in it.
        buf: UserBuf,
    },
    /// A kernel buffer.
    Kernel(&'a mut [u8]),
}

impl<'a> ReadBuf<'a> {
    /// A destination in user memory.
    pub fn user(mem: &'a mut dyn UserMemory, buf: UserBuf) -> Self {
        ReadBuf::User { mem, buf }
    }

    /// A destination in kernel memory.
    pub fn kernel(buf: &'a mut [u8]) -> Self {
        ReadBuf::Kernel(buf)
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        match self {
            ReadBuf::User { buf, .. } => buf.len,
            ReadBuf::Kernel(b) => b.len(),
        }
    }

    /// Whether the capacity is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `src` at byte `at` of the destination, cut to its capacity. Returns the number of
    /// bytes stored: fewer than asked if user memory faulted part-way, `EFAULT` if it faulted
    /// before any byte.
    pub fn fill(&mut self, at: usize, src: &[u8]) -> Result<usize, Errno> {
        let n = src.len().min(self.len().saturating_sub(at));
        match self {
            ReadBuf::Kernel(_) if n == 0 => Ok(0),
            ReadBuf::Kernel(b) => {
                b[at..at + n].copy_from_slice(&src[..n]);
                Ok(n)
            }
            ReadBuf::User { mem, buf } => {
                let base = buf.addr.get().wrapping_add(at as u64);
                let mut done = 0;
                for (off, len) in pieces(UserAddr::new(base), n) {
                    let dst = UserAddr::new(base.wrapping_add(off as u64));
                    if mem.copy_out(dst, &src[off..off + len]).is_err() {
                        break;
                    }
                    done += len;
                }
                partial(done, n)
            }
        }
    }

    /// Like [`ReadBuf::fill`], with `n` zero bytes.
    pub fn fill_zeros(&mut self, at: usize, n: usize) -> Result<usize, Errno> {
        static ZEROS: [u8; 512] = [0; 512];
        let n = n.min(self.len().saturating_sub(at));
        let mut done = 0;
        while done < n {
            let k = (n - done).min(ZEROS.len());
            match self.fill(at + done, &ZEROS[..k]) {
                Ok(got) => {
                    done += got;
                    if got < k {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}

/// The source of a write.
pub enum WriteBuf<'a> {
    /// The app's buffer.
    User {
        /// The app's memory.
        mem: &'a dyn UserMemory,
        /// The buffer in it.
        buf: UserBuf,
    },
    /// A kernel buffer.
    Kernel(&'a [u8]),
}

impl<'a> WriteBuf<'a> {
    /// A source in user memory.
    pub fn user(mem: &'a dyn UserMemory, buf: UserBuf) -> Self {
        WriteBuf::User { mem, buf }
    }

    /// A source in kernel memory.
    pub fn kernel(buf: &'a [u8]) -> Self {
        WriteBuf::Kernel(buf)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            WriteBuf::User { buf, .. } => buf.len,
            WriteBuf::Kernel(b) => b.len(),
        }
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies bytes from byte `at` of the source into `dst` (cut to what the source has left).
    /// Returns the number copied: fewer if user memory faulted part-way, `EFAULT` if it
    /// faulted before any byte.
    pub fn fetch(&self, at: usize, dst: &mut [u8]) -> Result<usize, Errno> {
        let n = dst.len().min(self.len().saturating_sub(at));
        match self {
            WriteBuf::Kernel(_) if n == 0 => Ok(0),
            WriteBuf::Kernel(b) => {
                dst[..n].copy_from_slice(&b[at..at + n]);
                Ok(n)
            }
            WriteBuf::User { mem, buf } => {
                let base = buf.addr.get().wrapping_add(at as u64);
                let mut done = 0;
                for (off, len) in pieces(UserAddr::new(base), n) {
                    let src = UserAddr::new(base.wrapping_add(off as u64));
                    if mem.copy_in(src, &mut dst[off..off + len]).is_err() {
                        break;
                    }
                    done += len;
                }
                partial(done, n)
            }
        }
    }
}

/// Where a write goes in a file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WritePos {
    /// At this byte offset.
    At(u64),
    /// At the current end of the file, decided atomically with the write (`O_APPEND`).
    Append,
}

/// The outcome of a write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes written.
    pub count: usize,
    /// The offset just past the last byte written (the new file offset for a positioned file).
    pub end: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_abi::user::fake::FakeUserMemory;

    #[test]
    fn pieces_stop_at_page_boundaries() {
        let v: alloc::vec::Vec<_> = pieces(UserAddr::new(0x1ff0), 0x1020).collect();
        assert_eq!(v, [(0, 0x10), (0x10, 0x1000), (0x1010, 0x10)]);
        assert_eq!(pieces(UserAddr::new(0x1000), 0).count(), 0);
    }

    #[test]
    fn fill_reports_short_counts_and_efault() {
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, true);
        let data = [7u8; 0x20];
        // 0x10 bytes fit before the unmapped page.
        let mut dst = ReadBuf::user(&mut mem, UserBuf::new(0x1ff0, 0x20));
        assert_eq!(dst.fill(0, &data), Ok(0x10));
        assert_eq!(dst.fill(0x10, &data), Err(Errno::EFAULT));
        // Never past the capacity.
        assert_eq!(dst.fill(0x1c, &data), Err(Errno::EFAULT));
        let mut dst = ReadBuf::user(&mut mem, UserBuf::new(0x1000, 4));
        assert_eq!(dst.fill(2, &data), Ok(2));
        assert_eq!(dst.fill(4, &data), Ok(0));
        assert_eq!(mem.peek(0x1000, 5), [0, 0, 7, 7, 0]);
    }

    #[test]
    fn fetch_from_user_and_kernel() {
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, false);
        mem.poke(0x1ffe, b"ab");
        let src = WriteBuf::user(&mem, UserBuf::new(0x1ffe, 4));
        let mut out = [0u8; 4];
        assert_eq!(src.fetch(0, &mut out), Ok(2));
        assert_eq!(&out[..2], b"ab");
        assert_eq!(src.fetch(2, &mut out), Err(Errno::EFAULT));
        let k = WriteBuf::kernel(b"hello");
        assert_eq!(k.fetch(3, &mut out), Ok(2));
        assert_eq!(&out[..2], b"lo");
        assert_eq!(
            k.fetch(99, &mut out),
            Ok(0),
            "past the end is empty, not a panic"
        );
        let mut small = [0u8; 2];
        assert_eq!(ReadBuf::kernel(&mut small).fill(9, b"xyz"), Ok(0));
    }

    #[test]
    fn zeros_fill_large_buffers() {
        let mut big = alloc::vec![1u8; 2000];
        let mut dst = ReadBuf::kernel(&mut big);
        assert_eq!(dst.fill_zeros(10, 5000), Ok(1990));
        assert!(big[10..].iter().all(|&b| b == 0));
        assert_eq!(big[9], 1);
    }
}
