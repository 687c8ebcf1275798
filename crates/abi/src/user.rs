//! The app's memory as the kernel sees it: addresses that are only allegations until a copy
//! checks them.
//!
//! A system call hands the kernel raw numbers. [`UserAddr`], [`UserPtr`], [`UserBuf`] and
//! [`UserCStr`] wrap them without checking anything: building one never fails. Access happens
//! only through a [`UserMemory`] implementation, which copies bytes in or out and reports the
//! first address it could not reach as a [`Fault`]; `?` turns that into `EFAULT`.
//!
//! The kernel never holds a Rust reference into user pages (another thread may change or unmap
//! them at any time): it copies in once, validates the copy, and copies results out.
//!
//! [`fake::FakeUserMemory`] stands in for an address space in host tests.

use crate::errno::Errno;
use core::marker::PhantomData;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The end of the user half of the x86_64 address space (exclusive), with 4-level paging.
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// An address in the app's address space, exactly as the app passed it.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UserAddr(u64);

impl UserAddr {
    /// The null address.
    pub const NULL: UserAddr = UserAddr(0);

    /// Wraps a raw register value.
    pub const fn new(raw: u64) -> Self {
        UserAddr(raw)
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this is the null pointer.
    pub const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// `self + n`, or `None` on overflow.
    pub const fn checked_add(self, n: u64) -> Option<UserAddr> {
        match self.0.checked_add(n) {
            Some(v) => Some(UserAddr(v)),
            None => None,
        }
    }

    /// Whether `[self, self + len)` lies entirely in the user half. An empty range at any
    /// address up to [`USER_END`] is in range.
    pub const fn range_is_user(self, len: u64) -> bool {
        match self.0.checked_add(len) {
            Some(end) => end <= USER_END,
            None => false,
        }
    }
}

impl core::fmt::Debug for UserAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A user address the kernel could not read or write: the first byte that failed.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Fault {
    /// The first address that could not be accessed.
    pub addr: UserAddr,
}

impl From<Fault> for Errno {
    fn from(_: Fault) -> Errno {
        Errno::EFAULT
    }
}

/// Why a NUL-terminated string could not be read.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CStrError {
    /// The string runs into memory the app cannot access (`EFAULT`).
    Fault(Fault),
    /// No NUL within the buffer (`ENAMETOOLONG` for paths, `E2BIG` for exec strings).
    TooLong,
}

impl From<Fault> for CStrError {
    fn from(f: Fault) -> Self {
        CStrError::Fault(f)
    }
}

/// The running app's memory as the kernel may touch it.
///
/// The kernel implements it over the live address space (a fault during the copy is caught and
/// returned, never a kernel crash); tests use [`fake::FakeUserMemory`].
///
/// Implementations must reject any range that leaves the user half ([`USER_END`]), so a
/// pointer into kernel memory is a [`Fault`] like any unmapped one.
pub trait UserMemory {
    /// Copies `dst.len()` bytes from user address `src`. On `Err`, `dst` holds an unspecified
    /// prefix of the data.
    fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault>;

    /// Copies `src` to user address `dst`. On `Err`, some prefix may have been written, as
    /// on Linux.
    fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault>;

    /// Reads a NUL-terminated string starting at `src` into `buf` and returns its length
    /// (without the NUL). Fails with [`CStrError::TooLong`] when `buf` fills before a NUL.
    ///
    /// The default reads in small chunks that never cross a page boundary, so a string that
    /// ends just before an unmapped page is read without a fault.
    fn read_cstr(&self, src: UserAddr, buf: &mut [u8]) -> Result<usize, CStrError> {
        let mut done = 0usize;
        while done < buf.len() {
            let addr = src
                .checked_add(done as u64)
                .ok_or(CStrError::Fault(Fault { addr: src }))?;
            let to_page_end = 4096 - (addr.get() % 4096) as usize;
            let n = to_page_end.min(buf.len() - done).min(256);
            self.copy_in(addr, &mut buf[done..done + n])?;
            if let Some(pos) = buf[done..done + n].iter().position(|&b| b == 0) {
                return Ok(done + pos);
            }
            done += n;
        }
        Err(CStrError::TooLong)
    }
}

/// A typed pointer into user memory. `T` is a plain-old-data Linux struct.
pub struct UserPtr<T> {
    addr: UserAddr,
    _ty: PhantomData<fn() -> T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserPtr<T> {}

impl<T> PartialEq for UserPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}
impl<T> Eq for UserPtr<T> {}

impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.addr.fmt(f)
    }
}

impl<T> UserPtr<T> {
    /// Wraps a raw register value.
    pub const fn new(raw: u64) -> Self {
        UserPtr {
            addr: UserAddr(raw),
            _ty: PhantomData,
        }
    }

    /// The address.
    pub const fn addr(self) -> UserAddr {
        self.addr
    }

    /// Whether this is the null pointer (many calls treat null as "absent").
    pub const fn is_null(self) -> bool {
        self.addr.is_null()
    }

    /// The `i`-th element of an array starting here (wrapping: the copy will fault).
    pub const fn add(self, i: u64) -> Self {
        UserPtr::new(
            self.addr
                .0
                .wrapping_add(i.wrapping_mul(core::mem::size_of::<T>() as u64)),
        )
    }
}

impl<T: FromBytes + IntoBytes + Immutable + KnownLayout> UserPtr<T> {
    /// Copies a `T` in from user memory.
    pub fn read(self, mem: &dyn UserMemory) -> Result<T, Fault> {
        let mut v = T::new_zeroed();
        mem.copy_in(self.addr, v.as_mut_bytes())?;
        Ok(v)
    }

    /// Copies `v` out to user memory.
    pub fn write(self, mem: &mut dyn UserMemory, v: &T) -> Result<(), Fault> {
        mem.copy_out(self.addr, v.as_bytes())
    }
}

/// A byte range in user memory: a `(pointer, length)` pair from a syscall.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct UserBuf {
    /// Start address.
    pub addr: UserAddr,
    /// Length in bytes.
    pub len: usize,
}

impl UserBuf {
    /// Wraps raw register values.
    pub const fn new(addr: u64, len: u64) -> Self {
        UserBuf {
            addr: UserAddr(addr),
            len: len as usize,
        }
    }

    /// The same buffer, at most `max` bytes long (Linux clamps I/O to `MAX_RW_COUNT`).
    pub const fn clamp(self, max: usize) -> Self {
        UserBuf {
            addr: self.addr,
            len: if self.len < max { self.len } else { max },
        }
    }

    /// The sub-buffer starting `offset` bytes in (empty past the end).
    pub fn skip(self, offset: usize) -> Self {
        let offset = offset.min(self.len);
        UserBuf {
            addr: UserAddr(self.addr.0.wrapping_add(offset as u64)),
            len: self.len - offset,
        }
    }
}

/// A pointer to a NUL-terminated string (a path, an exec argument).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct UserCStr(pub UserAddr);

impl UserCStr {
    /// Wraps a raw register value.
    pub const fn new(raw: u64) -> Self {
        UserCStr(UserAddr(raw))
    }
}

/// Linux's `PATH_MAX`: the longest path including its NUL.
pub const PATH_MAX: usize = linux_raw_sys::general::PATH_MAX as usize;

/// Copies a path in. `buf` must hold [`PATH_MAX`] bytes. Empty paths are returned as empty;
/// callers decide between `ENOENT` and `AT_EMPTY_PATH`.
pub fn read_path<'b>(
    mem: &dyn UserMemory,
    path: UserCStr,
    buf: &'b mut [u8; PATH_MAX],
) -> Result<&'b [u8], Errno> {
    match mem.read_cstr(path.0, buf) {
        Ok(n) => Ok(&buf[..n]),
        Err(CStrError::Fault(_)) => Err(Errno::EFAULT),
        Err(CStrError::TooLong) => Err(Errno::ENAMETOOLONG),
    }
}

/// Fakes for host tests of code that takes a [`UserMemory`].
pub mod fake {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// One mapped region of a [`FakeUserMemory`].
    #[derive(Clone, Debug)]
    struct Region {
        base: u64,
        bytes: Vec<u8>,
        writable: bool,
    }

    /// A sparse user address space made of byte vectors. Addresses outside every region, or
    /// writes to a read-only region, fault at the first bad byte, exactly like real memory.
    #[derive(Clone, Debug, Default)]
    pub struct FakeUserMemory {
        regions: Vec<Region>,
    }

    impl FakeUserMemory {
        /// An address space with nothing mapped.
        pub fn new() -> Self {
            Self::default()
        }

        /// Maps `len` zero bytes at `base`.
        ///
        /// # Panics
        /// If the region overlaps an existing one or leaves the user half (a test bug).
        pub fn map(&mut self, base: u64, len: usize, writable: bool) -> &mut Self {
            assert!(
                UserAddr(base).range_is_user(len as u64),
                "fake region outside user half"
            );
            assert!(
                self.regions
                    .iter()
                    .all(|r| base + len as u64 <= r.base || r.base + r.bytes.len() as u64 <= base),
                "fake regions overlap"
            );
            self.regions.push(Region {
                base,
                bytes: vec![0; len],
                writable,
            });
            self
        }

        /// Writes bytes without permission checks (to set up test input).
        ///
        /// # Panics
        /// If the range is not mapped (a test bug).
        pub fn poke(&mut self, addr: u64, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                let (r, off) = self
                    .locate_mut(addr + i as u64)
                    .expect("poke outside fake memory");
                r.bytes[off] = *b;
            }
        }

        /// Reads bytes without permission checks (to inspect test output).
        ///
        /// # Panics
        /// If the range is not mapped (a test bug).
        pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
            (0..len)
                .map(|i| {
                    let (r, off) = self
                        .locate(addr + i as u64)
                        .expect("peek outside fake memory");
                    r.bytes[off]
                })
                .collect()
        }

        fn locate(&self, addr: u64) -> Option<(&Region, usize)> {
            self.regions
                .iter()
                .find(|r| addr >= r.base && addr < r.base + r.bytes.len() as u64)
                .map(|r| (r, (addr - r.base) as usize))
        }

        fn locate_mut(&mut self, addr: u64) -> Option<(&mut Region, usize)> {
            self.regions
                .iter_mut()
                .find(|r| addr >= r.base && addr < r.base + r.bytes.len() as u64)
                .map(|r| {
                    let off = (addr - r.base) as usize;
                    (r, off)
                })
        }
    }

    impl UserMemory for FakeUserMemory {
        fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault> {
            for (i, d) in dst.iter_mut().enumerate() {
                let a = src.0.checked_add(i as u64).ok_or(Fault { addr: src })?;
                if a >= USER_END {
                    return Err(Fault { addr: UserAddr(a) });
                }
                let (r, off) = self.locate(a).ok_or(Fault { addr: UserAddr(a) })?;
                *d = r.bytes[off];
            }
            Ok(())
        }

        fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault> {
            for (i, s) in src.iter().enumerate() {
                let a = dst.0.checked_add(i as u64).ok_or(Fault { addr: dst })?;
                if a >= USER_END {
                    return Err(Fault { addr: UserAddr(a) });
                }
                match self.locate_mut(a) {
                    Some((r, off)) if r.writable => r.bytes[off] = *s,
                    _ => return Err(Fault { addr: UserAddr(a) }),
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeUserMemory;
    use super::*;

    #[test]
    fn copy_faults_at_first_bad_byte() {
        let mut m = FakeUserMemory::new();
        m.map(0x1000, 0x1000, true);
        let mut buf = [0u8; 16];
        assert_eq!(
            m.copy_in(UserAddr::new(0x1ff8), &mut buf),
            Err(Fault {
                addr: UserAddr::new(0x2000)
            })
        );
        assert!(m.copy_in(UserAddr::new(0x1ff0), &mut buf).is_ok());
        assert_eq!(
            m.copy_out(UserAddr::new(0), &[1]),
            Err(Fault {
                addr: UserAddr::new(0)
            })
        );
    }

    #[test]
    fn read_only_regions_reject_writes() {
        let mut m = FakeUserMemory::new();
        m.map(0x1000, 0x1000, false);
        assert!(m.copy_out(UserAddr::new(0x1000), &[1]).is_err());
        let mut b = [0u8; 1];
        assert!(m.copy_in(UserAddr::new(0x1000), &mut b).is_ok());
    }

    #[test]
    fn kernel_addresses_fault() {
        let m = FakeUserMemory::new();
        let mut b = [0u8; 8];
        assert!(
            m.copy_in(UserAddr::new(0xffff_8000_0000_0000), &mut b)
                .is_err()
        );
        assert!(!UserAddr::new(USER_END - 4).range_is_user(8));
        assert!(!UserAddr::new(u64::MAX).range_is_user(2));
    }

    #[test]
    fn cstr_stops_before_unmapped_page() {
        let mut m = FakeUserMemory::new();
        m.map(0x1000, 0x1000, true);
        m.poke(0x1ffc, b"abc\0");
        let mut buf = [0u8; 64];
        assert_eq!(m.read_cstr(UserAddr::new(0x1ffc), &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"abc");
        m.poke(0x1ffc, b"abcd");
        assert!(matches!(
            m.read_cstr(UserAddr::new(0x1ffc), &mut buf),
            Err(CStrError::Fault(_))
        ));
        m.poke(0x1000, &[b'x'; 32]);
        let mut small = [0u8; 8];
        assert_eq!(
            m.read_cstr(UserAddr::new(0x1000), &mut small),
            Err(CStrError::TooLong)
        );
    }

    #[test]
    fn typed_pointers_roundtrip() {
        let mut m = FakeUserMemory::new();
        m.map(0x4000, 0x100, true);
        let p: UserPtr<u64> = UserPtr::new(0x4008);
        p.write(&mut m, &0xdead_beef).unwrap();
        assert_eq!(p.read(&m).unwrap(), 0xdead_beef);
        assert_eq!(p.add(1).addr().get(), 0x4010);
        assert_eq!(
            UserPtr::<u64>::new(0x40fc).read(&m),
            Err(Fault {
                addr: UserAddr::new(0x4100)
            })
        );
    }

    #[test]
    fn paths() {
        let mut m = FakeUserMemory::new();
        m.map(0x1000, 0x2000, true);
        m.poke(0x1000, b"/etc/passwd\0");
        let mut buf = [0u8; PATH_MAX];
        assert_eq!(
            read_path(&m, UserCStr::new(0x1000), &mut buf),
            Ok(&b"/etc/passwd"[..])
        );
        assert_eq!(
            read_path(&m, UserCStr::new(0), &mut buf),
            Err(Errno::EFAULT)
        );
        m.poke(0x1000, &[b'a'; PATH_MAX]);
        assert_eq!(
            read_path(&m, UserCStr::new(0x1000), &mut buf),
            Err(Errno::ENAMETOOLONG)
        );
    }
}
