//! initramfs: cpio archives in the "newc" format (magic `070701`), as Linux's
//! `Documentation/driver-api/early-userspace/buffer-format.rst` and cpio(5) describe them.
//!
//! The host tool packs the app with [`Writer`]; the kernel reads the archive with [`Reader`]
//! and fills its root file system with [`unpack`].
//!
//! An archive is a sequence of entries, each a 110-byte ASCII header (the magic, then thirteen
//! 8-digit hexadecimal fields), the NUL-terminated name, zero padding to a multiple of 4 bytes
//! from the start of the entry, the data (a regular file's contents, a symlink's target), and
//! zero padding to 4 again. An entry named `TRAILER!!!` ends it.
//!
//! The reader is strict where Linux is lenient: a field that is not exactly 8 hex digits, a name
//! size without a final NUL (or with one inside), non-zero padding, or data running past the
//! end is an error with its offset, never a panic or a silently different file. Checksums of
//! `070702` ("crc") archives are verified. Unlike Linux, the reader stops at the first trailer:
//! concatenated archives are not read.

mod reader;
mod unpack;
mod writer;

pub use reader::{Entry, Reader};
pub use unpack::{Archive, UnpackError, UnpackSummary, unpack, unpack_from};
pub use writer::{WriteError, Writer};

use core::fmt;

/// The magic of a newc archive entry.
pub const MAGIC_NEWC: &[u8; 6] = b"070701";
/// The magic of a newc entry with a checksum.
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// Size of an entry header.
pub const HEADER_LEN: usize = 110;
/// Name of the entry that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";

/// A header field, for error reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Field {
    Ino,
    Mode,
    Uid,
    Gid,
    Nlink,
    Mtime,
    FileSize,
    DevMajor,
    DevMinor,
    RdevMajor,
    RdevMinor,
    NameSize,
    Check,
}

/// The header fields in archive order.
pub(crate) const FIELDS: [Field; 13] = [
    Field::Ino,
    Field::Mode,
    Field::Uid,
    Field::Gid,
    Field::Nlink,
    Field::Mtime,
    Field::FileSize,
    Field::DevMajor,
    Field::DevMinor,
    Field::RdevMajor,
    Field::RdevMinor,
    Field::NameSize,
    Field::Check,
];

/// What is wrong with an archive.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CpioErrorKind {
    /// The archive ends inside an entry.
    Truncated,
    /// An entry does not start with `070701` or `070702`.
    BadMagic,
    /// A header field is not 8 hexadecimal digits.
    BadHex(Field),
    /// The name size is 0 or 1 (an empty name), or the name has a NUL before its end.
    BadName,
    /// The byte at `namesize - 1` is not NUL.
    NameNotTerminated,
    /// Padding after the name or the data is not zero.
    BadPadding,
    /// A `070702` entry's data does not add up to its checksum.
    BadChecksum,
    /// The data ends without a `TRAILER!!!` entry.
    MissingTrailer,
}

/// An invalid archive: what is wrong and the offset of the entry it is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CpioError {
    /// Byte offset of the entry header.
    pub offset: usize,
    /// The problem.
    pub kind: CpioErrorKind,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpio entry at offset {}: ", self.offset)?;
        match self.kind {
            CpioErrorKind::Truncated => f.write_str("archive ends inside the entry"),
            CpioErrorKind::BadMagic => f.write_str("bad magic (want 070701 or 070702)"),
            CpioErrorKind::BadHex(field) => write!(f, "field {field:?} is not 8 hex digits"),
            CpioErrorKind::BadName => f.write_str("empty name or NUL inside the name"),
            CpioErrorKind::NameNotTerminated => f.write_str("name is not NUL-terminated"),
            CpioErrorKind::BadPadding => f.write_str("non-zero padding"),
            CpioErrorKind::BadChecksum => f.write_str("data does not match the checksum"),
            CpioErrorKind::MissingTrailer => f.write_str("no TRAILER!!! entry"),
        }
    }
}

impl core::error::Error for CpioError {}

/// `n` rounded up to a multiple of 4.
const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

#[cfg(test)]
mod tests;
