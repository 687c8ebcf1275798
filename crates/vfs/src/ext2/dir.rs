//! Directories: linear lists of variable-length entries in the directory's blocks.
//!
//! Each block is a chain of records (`inode`, `rec_len`, `name_len`, `file_type`, name)
//! whose lengths add up to the block size; a record with inode 0 is free space, and a record
//! may be longer than its name needs (the slack is free space too). Adding an entry uses the
//! first record with room for it, splitting off a record's slack, or appends a block;
//! removing one merges its record into the one before it in the block, or marks it free if it
//! starts the block. Blocks are never removed, so entries never move, and a getdents(2) cursor
//! (the byte offset of the next entry, as in Linux's ext2) stays meaningful across changes:
//! a cursor that no longer starts a record resumes at the next record that starts after it.
//!
//! Hashed indexes (htree, `DIR_INDEX`): an indexed directory is also a valid linear one (its
//! index blocks look like free records to a linear reader), so reads ignore the index, and a
//! change clears the directory's `INDEX` flag, as Linux does when it cannot keep the index
//! up to date, so e2fsck does not check a stale index.
//!
//! Every function works on directory inode numbers and re-reads the inode, so two changes in
//! one rename (source and target in the same directory) never work on stale copies.

use super::cache::Phase;
use super::fs::FsState;
use super::layout::{Dirent, RawInode, dirent_size, ftype, iflags};
use crate::node::FileKind;
use alloc::vec::Vec;
use oxv_abi::Errno;

/// A directory entry found by name.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Found {
    /// Its inode.
    pub ino: u32,
    /// Logical block of the directory holding it.
    pub lblk: u64,
    /// Byte offset in that block.
    pub off: usize,
    /// Offset of the record before it in the block, if any.
    pub prev: Option<usize>,
}

/// One entry of a listing.
pub(crate) struct Listed {
    pub ino: u32,
    pub kind: FileKind,
    pub name: Vec<u8>,
    /// The cursor just past this entry.
    pub next: u64,
}

/// The `file_type` of a kind.
pub(crate) fn file_type_of(kind: FileKind) -> u8 {
    match kind {
        FileKind::Regular => ftype::REG,
        FileKind::Directory => ftype::DIR,
        FileKind::CharDevice => ftype::CHR,
        FileKind::BlockDevice => ftype::BLK,
        FileKind::Fifo => ftype::FIFO,
        FileKind::Socket => ftype::SOCK,
        FileKind::Symlink => ftype::SYMLINK,
    }
}

fn kind_of_file_type(t: u8) -> Option<FileKind> {
    Some(match t {
        ftype::REG => FileKind::Regular,
        ftype::DIR => FileKind::Directory,
        ftype::CHR => FileKind::CharDevice,
        ftype::BLK => FileKind::BlockDevice,
        ftype::FIFO => FileKind::Fifo,
        ftype::SOCK => FileKind::Socket,
        ftype::SYMLINK => FileKind::Symlink,
        _ => return None,
    })
}

impl FsState {
    /// The `file_type` to store for `kind` (0 without the `FILETYPE` feature).
    pub fn stored_file_type(&self, kind: FileKind) -> u8 {
        if self.geo.filetype {
            file_type_of(kind)
        } else {
            ftype::UNKNOWN
        }
    }

    /// The directory's blocks in use (`i_size` in blocks).
    fn dir_len(&self, dir: &RawInode) -> u64 {
        dir.size(false) / self.geo.block_size as u64
    }

    /// The disk block of logical block `lblk` of a directory; a hole is corruption (`EIO`).
    fn dir_block(&mut self, dir: &RawInode, lblk: u64) -> Result<u64, Errno> {
        match self.map_block(dir, lblk)? {
            0 => Err(Errno::EIO),
            b => Ok(b as u64),
        }
    }

    /// Finds `name` in directory `dir_ino`.
    pub fn dir_find(&mut self, dir_ino: u32, name: &[u8]) -> Result<Option<Found>, Errno> {
        let dir = self.read_inode(dir_ino)?;
        for lblk in 0..self.dir_len(&dir) {
            let b = self.dir_block(&dir, lblk)?;
            let block = self.cache.read(b)?;
            let mut off = 0;
            let mut prev = None;
            while off < block.len() {
                let d = Dirent::parse(block, off).ok_or(Errno::EIO)?;
                if d.inode != 0 && d.name(block, off) == name {
                    return Ok(Some(Found {
                        ino: d.inode,
                        lblk,
                        off,
                        prev,
                    }));
                }
                prev = Some(off);
                off += d.rec_len;
            }
        }
        Ok(None)
    }

    /// Clears the directory's hashed-index flag: it is about to change in a way the index
    /// does not record.
    fn drop_index(&mut self, dir_ino: u32) -> Result<(), Errno> {
        let mut dir = self.read_inode(dir_ino)?;
        let flags = dir.i_flags.get();
        if flags & iflags::INDEX != 0 {
            dir.i_flags.set(flags & !iflags::INDEX);
            self.write_inode(dir_ino, &dir)?;
        }
        Ok(())
    }

    /// Adds the entry `name` → `ino` to directory `dir_ino` (which must not have it),
    /// growing the directory by a block if no record has room.
    pub fn dir_add(
        &mut self,
        dir_ino: u32,
        name: &[u8],
        ino: u32,
        kind: FileKind,
    ) -> Result<(), Errno> {
        let need = dirent_size(name.len());
        let file_type = self.stored_file_type(kind);
        self.drop_index(dir_ino)?;
        let dir = self.read_inode(dir_ino)?;
        for lblk in 0..self.dir_len(&dir) {
            let b = self.dir_block(&dir, lblk)?;
            let block = self.cache.read(b)?;
            let mut off = 0;
            let mut spot = None;
            while off < block.len() {
                let d = Dirent::parse(block, off).ok_or(Errno::EIO)?;
                if d.inode == 0 && d.rec_len >= need {
                    spot = Some((off, None, d.rec_len));
                    break;
                }
                let used = dirent_size(d.name_len);
                if d.inode != 0 && d.rec_len >= used + need {
                    spot = Some((off, Some((d, used)), d.rec_len - used));
                    break;
                }
                off += d.rec_len;
            }
            let Some((off, split, rec_len)) = spot else {
                continue;
            };
            let block = self.cache.modify(b, Phase::Names)?;
            let at = match split {
                Some((mut d, used)) => {
                    d.rec_len = used;
                    d.store(block, off, None);
                    off + used
                }
                None => off,
            };
            Dirent {
                inode: ino,
                rec_len,
                name_len: name.len(),
                file_type,
            }
            .store(block, at, Some(name));
            return Ok(());
        }
        // No room: a new block holding just this entry.
        let mut dir = self.read_inode(dir_ino)?;
        let lblk = self.dir_len(&dir);
        let (b, _) = self.map_alloc(dir_ino, &mut dir, lblk)?;
        let bs = self.geo.block_size;
        let block = self.cache.modify(b as u64, Phase::Names)?;
        Dirent {
            inode: ino,
            rec_len: bs,
            name_len: name.len(),
            file_type,
        }
        .store(block, 0, Some(name));
        dir.set_size((lblk + 1) * bs as u64, false);
        self.write_inode(dir_ino, &dir)
    }

    /// Removes the entry `found` (from [`FsState::dir_find`] on this directory, with no
    /// change to the directory since).
    pub fn dir_remove(&mut self, dir_ino: u32, found: &Found) -> Result<(), Errno> {
        self.drop_index(dir_ino)?;
        let dir = self.read_inode(dir_ino)?;
        let b = self.dir_block(&dir, found.lblk)?;
        let block = self.cache.modify(b, Phase::Names)?;
        let d = Dirent::parse(block, found.off).ok_or(Errno::EIO)?;
        match found.prev {
            Some(p) => {
                let mut prev = Dirent::parse(block, p).ok_or(Errno::EIO)?;
                prev.rec_len += d.rec_len;
                prev.store(block, p, None);
            }
            None => Dirent { inode: 0, ..d }.store(block, found.off, None),
        }
        Ok(())
    }

    /// Points the entry `found` at another inode (rename over an existing name).
    pub fn dir_retarget(
        &mut self,
        dir_ino: u32,
        found: &Found,
        ino: u32,
        kind: FileKind,
    ) -> Result<(), Errno> {
        self.drop_index(dir_ino)?;
        let file_type = self.stored_file_type(kind);
        let dir = self.read_inode(dir_ino)?;
        let b = self.dir_block(&dir, found.lblk)?;
        let block = self.cache.modify(b, Phase::Names)?;
        let d = Dirent::parse(block, found.off).ok_or(Errno::EIO)?;
        Dirent {
            inode: ino,
            file_type,
            ..d
        }
        .store(block, found.off, None);
        Ok(())
    }

    /// Whether directory `dir_ino` has no entries but `.` and `..`.
    pub fn dir_is_empty(&mut self, dir_ino: u32) -> Result<bool, Errno> {
        let dir = self.read_inode(dir_ino)?;
        for lblk in 0..self.dir_len(&dir) {
            let b = self.dir_block(&dir, lblk)?;
            let block = self.cache.read(b)?;
            let mut off = 0;
            while off < block.len() {
                let d = Dirent::parse(block, off).ok_or(Errno::EIO)?;
                let name = d.name(block, off);
                if d.inode != 0 && !(lblk == 0 && (name == b"." || name == b"..")) {
                    return Ok(false);
                }
                off += d.rec_len;
            }
        }
        Ok(true)
    }

    /// Writes the first block of a new directory: `.` and `..`.
    pub fn dir_init(&mut self, b: u32, ino: u32, parent: u32) -> Result<(), Errno> {
        let bs = self.geo.block_size;
        let dt = self.stored_file_type(FileKind::Directory);
        let block = self.cache.modify(b as u64, Phase::Names)?;
        Dirent {
            inode: ino,
            rec_len: dirent_size(1),
            name_len: 1,
            file_type: dt,
        }
        .store(block, 0, Some(b"."));
        Dirent {
            inode: parent,
            rec_len: bs - dirent_size(1),
            name_len: 2,
            file_type: dt,
        }
        .store(block, dirent_size(1), Some(b".."));
        Ok(())
    }

    /// Up to about `max` entries of directory `dir_ino` from `cursor` on (whole blocks at a
    /// time, at least one entry if any is left), with the kind of each.
    pub fn dir_list(
        &mut self,
        dir_ino: u32,
        cursor: u64,
        max: usize,
    ) -> Result<Vec<Listed>, Errno> {
        let dir = self.read_inode(dir_ino)?;
        let bs = self.geo.block_size as u64;
        let mut out: Vec<(u32, u8, Vec<u8>, u64)> = Vec::new();
        let mut lblk = cursor / bs;
        let len = self.dir_len(&dir);
        while lblk < len && out.len() < max {
            let b = self.dir_block(&dir, lblk)?;
            let block = self.cache.read(b)?;
            let start = if lblk == cursor / bs { cursor % bs } else { 0 } as usize;
            let mut off = 0;
            while off < block.len() {
                let d = Dirent::parse(block, off).ok_or(Errno::EIO)?;
                if off >= start && d.inode != 0 {
                    let next = lblk * bs + (off + d.rec_len) as u64;
                    out.push((d.inode, d.file_type, d.name(block, off).to_vec(), next));
                }
                off += d.rec_len;
            }
            lblk += 1;
        }
        let mut listed = Vec::with_capacity(out.len());
        for (ino, t, name, next) in out {
            let kind = match kind_of_file_type(t).filter(|_| self.geo.filetype) {
                Some(k) => k,
                None => {
                    let raw = self.read_inode(ino)?;
                    FileKind::from_mode(raw.i_mode.get() as u32).ok_or(Errno::EIO)?
                }
            };
            listed.push(Listed {
                ino,
                kind,
                name,
                next,
            });
        }
        Ok(listed)
    }
}
