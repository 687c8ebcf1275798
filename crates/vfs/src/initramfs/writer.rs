//! Writing a newc archive (the host tool's side).

use super::{HEADER_LEN, MAGIC_NEWC, TRAILER, align4};
use crate::node::{DeviceId, FileKind};
use alloc::vec::Vec;
use core::fmt;

/// Why an entry could not be added.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The path is empty.
    EmptyPath,
    /// The path contains a NUL byte.
    NulInPath,
    /// The path is `TRAILER!!!`, which would end the archive.
    ReservedName,
    /// The path or data is longer than a header field can say (4 GiB).
    TooLarge,
    /// A symlink target is empty or contains a NUL byte.
    BadTarget,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteError::EmptyPath => "empty path",
            WriteError::NulInPath => "NUL byte in path",
            WriteError::ReservedName => "the name TRAILER!!! is reserved",
            WriteError::TooLarge => "path or data longer than 4 GiB",
            WriteError::BadTarget => "symlink target empty or containing NUL",
        })
    }
}

impl core::error::Error for WriteError {}

/// Builds a newc archive in memory. Entries are written in the order added; parents are not
/// added implicitly (add `usr` and `usr/bin` before `usr/bin/app` if their modes matter;
/// [`unpack`](super::unpack) creates missing parents with mode 0755). Every entry has uid and
/// gid 0, inode numbers counting from 1, and the mtime set with [`Writer::set_mtime`] (0 by
/// default, for reproducible images).
///
/// ```
/// use oxv_vfs::initramfs::{Reader, Writer};
///
/// let mut w = Writer::new();
/// w.add_dir("etc", 0o755)?;
/// w.add_file("etc/motd", 0o644, b"hi\n")?;
/// w.add_symlink("etc/issue", "motd")?;
/// let archive = w.finish();
/// let names: Vec<_> = Reader::new(&archive).map(|e| e.unwrap().name.to_vec()).collect();
/// assert_eq!(names, [&b"etc"[..], b"etc/motd", b"etc/issue"]);
/// # Ok::<(), oxv_vfs::initramfs::WriteError>(())
/// ```
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
    mtime: u32,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Writer {
            out: Vec::new(),
            next_ino: 1,
            mtime: 0,
        }
    }

    /// Sets the mtime of the entries added from now on.
    pub fn set_mtime(&mut self, mtime: u32) {
        self.mtime = mtime;
    }

    /// Adds a directory with permission bits `mode & 0o7777`.
    pub fn add_dir(&mut self, path: impl AsRef<[u8]>, mode: u32) -> Result<(), WriteError> {
        self.add(
            path.as_ref(),
            FileKind::Directory,
            mode,
            DeviceId::default(),
            b"",
        )
    }

    /// Adds a regular file with permission bits `mode & 0o7777` and contents `data`.
    pub fn add_file(
        &mut self,
        path: impl AsRef<[u8]>,
        mode: u32,
        data: &[u8],
    ) -> Result<(), WriteError> {
        self.add(
            path.as_ref(),
            FileKind::Regular,
            mode,
            DeviceId::default(),
            data,
        )
    }

    /// Adds a symlink (mode 0777) pointing at `target`.
    pub fn add_symlink(
        &mut self,
        path: impl AsRef<[u8]>,
        target: impl AsRef<[u8]>,
    ) -> Result<(), WriteError> {
        let target = target.as_ref();
        if target.is_empty() || target.contains(&0) {
            return Err(WriteError::BadTarget);
        }
        self.add(
            path.as_ref(),
            FileKind::Symlink,
            0o777,
            DeviceId::default(),
            target,
        )
    }

    /// Adds a character device node for device `rdev`.
    pub fn add_char_device(
        &mut self,
        path: impl AsRef<[u8]>,
        mode: u32,
        rdev: DeviceId,
    ) -> Result<(), WriteError> {
        self.add(path.as_ref(), FileKind::CharDevice, mode, rdev, b"")
    }

    /// Writes the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.header(0, 0, 1, DeviceId::default(), TRAILER.len() + 1, 0);
        self.name_and_data(TRAILER, b"");
        self.out
    }

    fn add(
        &mut self,
        path: &[u8],
        kind: FileKind,
        mode: u32,
        rdev: DeviceId,
        data: &[u8],
    ) -> Result<(), WriteError> {
        if path.is_empty() {
            return Err(WriteError::EmptyPath);
        }
        if path.contains(&0) {
            return Err(WriteError::NulInPath);
        }
        if path == TRAILER {
            return Err(WriteError::ReservedName);
        }
        let namesize = path.len() + 1;
        if u32::try_from(namesize).is_err() || u32::try_from(data.len()).is_err() {
            return Err(WriteError::TooLarge);
        }
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1);
        let nlink = if kind == FileKind::Directory { 2 } else { 1 };
        self.header(
            ino,
            kind.mode_bits() | (mode & 0o7777),
            nlink,
            rdev,
            namesize,
            data.len(),
        );
        self.name_and_data(path, data);
        Ok(())
    }

    fn header(
        &mut self,
        ino: u32,
        mode: u32,
        nlink: u32,
        rdev: DeviceId,
        namesize: usize,
        filesize: usize,
    ) {
        let start = self.out.len();
        self.out.extend_from_slice(MAGIC_NEWC);
        // The sizes were checked to fit in 32 bits by the caller.
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            self.mtime,
            filesize as u32,
            0,
            0,
            rdev.major,
            rdev.minor,
            namesize as u32,
            0,
        ];
        for v in fields {
            push_hex8(&mut self.out, v);
        }
        debug_assert_eq!(self.out.len() - start, HEADER_LEN);
    }

    fn name_and_data(&mut self, name: &[u8], data: &[u8]) {
        let entry_start = self.out.len() - HEADER_LEN;
        self.out.extend_from_slice(name);
        self.out.push(0);
        self.pad(entry_start);
        self.out.extend_from_slice(data);
        self.pad(entry_start);
    }

    /// Zero-pads to a multiple of 4 from the entry start (entries start 4-aligned, so this is
    /// also alignment in the archive).
    fn pad(&mut self, entry_start: usize) {
        let len = self.out.len() - entry_start;
        self.out.resize(entry_start + align4(len), 0);
    }
}

fn push_hex8(out: &mut Vec<u8>, v: u32) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for shift in (0..8).rev() {
        out.push(DIGITS[((v >> (shift * 4)) & 0xf) as usize]);
    }
}
