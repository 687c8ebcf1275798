//! Reading a newc archive: an iterator of validated [`Entry`]s borrowing from the archive.

use super::{CpioError, CpioErrorKind, FIELDS, HEADER_LEN, MAGIC_CRC, MAGIC_NEWC, TRAILER};
use crate::node::{DeviceId, FileKind};

/// One archive member. Names and data borrow from the archive.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Byte offset of the entry's header in the archive.
    pub offset: usize,
    /// Inode number in the packing system (entries with equal `dev`/`ino` are hard links).
    pub ino: u32,
    /// File type and permission bits (`st_mode`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Device that held the file on the packing system.
    pub dev: DeviceId,
    /// For device nodes, the device number.
    pub rdev: DeviceId,
    /// The path, without its NUL (usually relative: `usr/bin/app`).
    pub name: &'a [u8],
    /// Contents of a regular file, target of a symlink, empty otherwise.
    pub data: &'a [u8],
    /// Byte offset of `data` in the archive.
    pub data_offset: usize,
    /// Byte offset of the next entry (just past this one's padding).
    pub end: usize,
}

impl Entry<'_> {
    /// The file type, if the mode names one.
    pub fn kind(&self) -> Option<FileKind> {
        FileKind::from_mode(self.mode)
    }

    /// The permission bits.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Iterates over the entries of an archive, stopping after the first error or at the trailer.
/// See the [module docs](super).
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `archive`.
    pub fn new(archive: &'a [u8]) -> Self {
        Reader {
            data: archive,
            pos: 0,
            done: false,
        }
    }

    /// The offset just past the trailer, once the iterator has returned `None`.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn entry(&mut self) -> Result<Option<Entry<'a>>, CpioErrorKind> {
        let parsed = parse_entry(&self.data[self.pos..], self.pos)?;
        self.pos = match &parsed {
            Parsed::Entry(e) => e.end,
            Parsed::Trailer { end } => *end,
        };
        Ok(match parsed {
            Parsed::Entry(e) => Some(e),
            Parsed::Trailer { .. } => None,
        })
    }
}

/// What [`parse_entry`] found.
pub(crate) enum Parsed<'a> {
    /// A member.
    Entry(Entry<'a>),
    /// The trailer, which ends at `end`.
    Trailer {
        /// Offset just past the trailer.
        end: usize,
    },
}

/// Parses and validates the entry at the start of `rest`, which is the archive from offset
/// `start` on.
pub(crate) fn parse_entry(rest: &[u8], start: usize) -> Result<Parsed<'_>, CpioErrorKind> {
    if rest.is_empty() {
        return Err(CpioErrorKind::MissingTrailer);
    }
    if rest.len() < HEADER_LEN {
        // A short fragment that could be the start of a header is truncation; one that
        // cannot is garbage.
        let m = rest.len().min(6);
        let magic_ok = MAGIC_NEWC[..m] == rest[..m] || MAGIC_CRC[..m] == rest[..m];
        return Err(if magic_ok {
            CpioErrorKind::Truncated
        } else {
            CpioErrorKind::BadMagic
        });
    }
    let magic = &rest[..6];
    let with_crc = if magic == MAGIC_NEWC {
        false
    } else if magic == MAGIC_CRC {
        true
    } else {
        return Err(CpioErrorKind::BadMagic);
    };
    let mut f = [0u32; 13];
    for (i, field) in FIELDS.iter().enumerate() {
        let at = 6 + 8 * i;
        f[i] = parse_hex8(&rest[at..at + 8]).ok_or(CpioErrorKind::BadHex(*field))?;
    }
    let [
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime,
        filesize,
        dev_major,
        dev_minor,
        rdev_major,
        rdev_minor,
        namesize,
        check,
    ] = f;
    let namesize = namesize as usize;
    if namesize < 2 {
        return Err(CpioErrorKind::BadName);
    }
    let name_end = HEADER_LEN
        .checked_add(namesize)
        .ok_or(CpioErrorKind::Truncated)?;
    let data_start = super::align4(name_end);
    let data_end = data_start
        .checked_add(filesize as usize)
        .ok_or(CpioErrorKind::Truncated)?;
    let next = super::align4(data_end);
    if rest.len() < name_end {
        return Err(CpioErrorKind::Truncated);
    }
    let name_nul = &rest[HEADER_LEN..name_end];
    if name_nul[namesize - 1] != 0 {
        return Err(CpioErrorKind::NameNotTerminated);
    }
    let name = &name_nul[..namesize - 1];
    if name.contains(&0) {
        return Err(CpioErrorKind::BadName);
    }
    if rest.len() < next {
        return Err(CpioErrorKind::Truncated);
    }
    if rest[name_end..data_start].iter().any(|&b| b != 0)
        || rest[data_end..next].iter().any(|&b| b != 0)
    {
        return Err(CpioErrorKind::BadPadding);
    }
    let data = &rest[data_start..data_end];
    if with_crc && data.iter().fold(0u32, |s, &b| s.wrapping_add(b as u32)) != check {
        return Err(CpioErrorKind::BadChecksum);
    }
    if name == TRAILER {
        return Ok(Parsed::Trailer { end: start + next });
    }
    Ok(Parsed::Entry(Entry {
        offset: start,
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime,
        dev: DeviceId::new(dev_major, dev_minor),
        rdev: DeviceId::new(rdev_major, rdev_minor),
        name,
        data,
        data_offset: start + data_start,
        end: start + next,
    }))
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        match self.entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(kind) => {
                self.done = true;
                Some(Err(CpioError { offset, kind }))
            }
        }
    }
}

impl core::iter::FusedIterator for Reader<'_> {}

/// Exactly 8 hexadecimal digits (either case).
fn parse_hex8(s: &[u8]) -> Option<u32> {
    if s.len() != 8 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some((acc << 4) | d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_fields() {
        assert_eq!(parse_hex8(b"0000001f"), Some(31));
        assert_eq!(parse_hex8(b"FFFFFFFF"), Some(u32::MAX));
        assert_eq!(parse_hex8(b"0000001g"), None);
        assert_eq!(parse_hex8(b" 0000001"), None);
        assert_eq!(parse_hex8(b"+0000001"), None);
        assert_eq!(parse_hex8(b"0000001"), None);
    }
}
