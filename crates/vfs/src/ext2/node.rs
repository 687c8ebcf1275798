//! [`Ext2Node`]: an ext2 inode as the VFS sees it ([`Inode`]).
//!
//! A node is a handle: the inode itself lives in its inode-table block in the buffer cache,
//! and every operation reads and writes it there under the file system's lock. There is at
//! most one node per inode at a time, so an inode unlinked while open is freed (its blocks
//! and its number) only when its last node is dropped, as Linux frees it at the last `iput`.
//!
//! Data moves between the cache and the caller's buffer through a bounce buffer, in chunks,
//! with the lock released while user memory is touched: a page fault in the copy may read a
//! file of this same file system (a private mapping of it), which needs the lock. A node's
//! `io` lock serializes writes and truncations of one file (so `O_APPEND` writes and
//! truncate(2) are atomic with respect to each other) and is held across those user copies;
//! no fault path takes it.
//!
//! A regular file that was mapped has a page cache ([`super::pages`]): reads copy its
//! resident pages over what the blocks hold, writes go to both, and truncation trims it and
//! then (without the file system's lock) unmaps the pages past the new end from every
//! address space.
//!
//! Timestamps: every mount behaves as `noatime` (see [`crate::time`]), so reads change
//! nothing on disk.

use super::Shared;
use super::cache::Phase;
use super::dir::Found;
use super::fs::FsState;
use super::layout::*;
use super::lock::SleepLock;
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::node::{
    DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata, NewAttrs, NewNode, SetAttr,
};
use crate::time::Timestamp;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;

/// Bytes moved per lock hold in reads and writes.
const CHUNK: usize = 64 * 1024;
/// How far past a read the cache reads ahead when the read misses.
const READ_AHEAD: u64 = 128 * 1024;
/// The size of a memory page (truncation unmaps whole pages).
const PAGE: u64 = oxv_mm::PAGE_SIZE as u64;
/// Directory entries listed per lock hold.
const LIST_BATCH: usize = 64;

/// An ext2 inode: a handle on an inode of a mounted [`Ext2`](super::Ext2). Nodes are made by
/// lookups and creations; at most one exists per inode at a time.
pub struct Ext2Node {
    ino: u32,
    kind: FileKind,
    fs: Arc<Shared>,
    io: SleepLock<()>,
    /// Writers and running programs (see [`crate::write_access`]); one per inode, as the
    /// node is.
    writes: crate::write_access::WriteCount,
    /// The file's page cache as mappings see it, made on first use: one object per file, so
    /// that truncation can find its mappings ([`oxv_mm::shared::unmap_object_beyond`]).
    mapped: spin::Once<Arc<super::pages::MappedPages>>,
}

impl Drop for Ext2Node {
    fn drop(&mut self) {
        // The file system may be locked by this very thread (a node dropped inside an
        // operation): note the release on the side; the next operation frees the inode if it
        // was the last link.
        self.fs.released.lock().push(self.ino);
    }
}

/// The node for inode `ino` (the existing one if it is alive).
pub(crate) fn node_for(
    shared: &Arc<Shared>,
    st: &mut FsState,
    ino: u32,
    kind: FileKind,
) -> Arc<Ext2Node> {
    if let Some(n) = st.nodes.get(&ino).and_then(|w| w.upgrade()) {
        return n;
    }
    let n = Arc::new(Ext2Node {
        ino,
        kind,
        fs: shared.clone(),
        io: SleepLock::new((), shared.state.sleeper()),
        writes: crate::write_access::WriteCount::new(),
        mapped: spin::Once::new(),
    });
    st.nodes.insert(ino, Arc::downgrade(&n));
    n
}

/// The kind an inode's mode says, `EIO` for a mode that names none (a corrupt inode).
fn kind_of(raw: &RawInode) -> Result<FileKind, Errno> {
    FileKind::from_mode(raw.i_mode.get() as u32).ok_or(Errno::EIO)
}

/// Offsets of the end of each `_extra` time field in a large inode.
const CTIME_EXTRA_END: usize = 136;
const MTIME_EXTRA_END: usize = 140;
const ATIME_EXTRA_END: usize = 144;
const CRTIME_EXTRA_END: usize = 152;

impl FsState {
    fn time(&self, raw: &RawInode, secs: u32, extra: u32, end: usize) -> Timestamp {
        let (s, n) = decode_time(secs, self.has_extra(raw, end).then_some(extra));
        Timestamp { secs: s, nanos: n }
    }

    fn set_atime(&self, raw: &mut RawInode, t: Timestamp) {
        let (s, x) = encode_time(t.secs, t.nanos);
        raw.i_atime.set(s);
        if self.has_extra(raw, ATIME_EXTRA_END) {
            raw.i_atime_extra.set(x);
        }
    }

    fn set_mtime(&self, raw: &mut RawInode, t: Timestamp) {
        let (s, x) = encode_time(t.secs, t.nanos);
        raw.i_mtime.set(s);
        if self.has_extra(raw, MTIME_EXTRA_END) {
            raw.i_mtime_extra.set(x);
        }
    }

    fn set_ctime(&self, raw: &mut RawInode, t: Timestamp) {
        let (s, x) = encode_time(t.secs, t.nanos);
        raw.i_ctime.set(s);
        if self.has_extra(raw, CTIME_EXTRA_END) {
            raw.i_ctime_extra.set(x);
        }
    }

    /// Sets mtime and ctime (a change of contents).
    pub(super) fn touch(&self, raw: &mut RawInode, now: Timestamp) {
        self.set_mtime(raw, now);
        self.set_ctime(raw, now);
    }

    /// Whether the inode's `i_block` holds block pointers (rather than a fast symlink's
    /// target or a device number).
    fn has_block_map(&self, raw: &RawInode) -> bool {
        match FileKind::from_mode(raw.i_mode.get() as u32) {
            Some(FileKind::Regular | FileKind::Directory) => true,
            Some(FileKind::Symlink) => !self.is_fast_symlink(raw),
            _ => false,
        }
    }

    /// Linux's test: a symlink whose blocks are only its attribute block (if any) keeps its
    /// target in `i_block`.
    fn is_fast_symlink(&self, raw: &RawInode) -> bool {
        let ea = if raw.i_file_acl.get() != 0 {
            self.geo.sectors_per_block
        } else {
            0
        };
        raw.i_blocks.get().saturating_sub(ea) == 0
    }

    fn metadata_of(&self, ino: u32, raw: &RawInode, dev: DeviceId) -> Result<Metadata, Errno> {
        let kind = kind_of(raw)?;
        let rdev = match kind {
            FileKind::CharDevice | FileKind::BlockDevice => decode_rdev(raw),
            _ => DeviceId::default(),
        };
        Ok(Metadata {
            dev,
            ino: ino as u64,
            kind,
            perm: raw.i_mode.get() as u32 & 0o7777,
            nlink: raw.i_links_count.get() as u64,
            uid: raw.uid(),
            gid: raw.gid(),
            rdev,
            size: raw.size(kind == FileKind::Regular),
            blocks: raw.i_blocks.get() as u64,
            blksize: self.geo.block_size as u32,
            atime: self.time(
                raw,
                raw.i_atime.get(),
                raw.i_atime_extra.get(),
                ATIME_EXTRA_END,
            ),
            mtime: self.time(
                raw,
                raw.i_mtime.get(),
                raw.i_mtime_extra.get(),
                MTIME_EXTRA_END,
            ),
            ctime: self.time(
                raw,
                raw.i_ctime.get(),
                raw.i_ctime_extra.get(),
                CTIME_EXTRA_END,
            ),
        })
    }

    /// A new inode in directory `parent`: allocated, initialized, not yet named.
    fn new_inode(
        &mut self,
        parent: u32,
        node: NewNode<'_>,
        attrs: &NewAttrs,
    ) -> Result<u32, Errno> {
        let kind = node.kind();
        let dir = kind == FileKind::Directory;
        let ino = self.alloc_inode(parent, dir)?;
        let mut raw = RawInode::zeroed();
        raw.i_mode
            .set((kind.mode_bits() | (attrs.perm & 0o7777)) as u16);
        raw.set_uid(attrs.uid);
        raw.set_gid(attrs.gid);
        raw.i_links_count.set(if dir { 2 } else { 1 });
        raw.i_generation.set(self.generation());
        raw.i_extra_isize.set(self.new_extra_isize());
        self.set_atime(&mut raw, attrs.now);
        self.touch(&mut raw, attrs.now);
        if self.has_extra(&raw, CRTIME_EXTRA_END) {
            let (s, x) = encode_time(attrs.now.secs, attrs.now.nanos);
            raw.i_crtime.set(s);
            raw.i_crtime_extra.set(x);
        }
        let filled = match node {
            NewNode::Directory => self.map_alloc(ino, &mut raw, 0).and_then(|(b, _)| {
                self.dir_init(b, ino, parent)?;
                raw.set_size(self.geo.block_size as u64, false);
                Ok(())
            }),
            NewNode::Symlink(target) if target.len() < FAST_SYMLINK_MAX => {
                let bytes = raw.i_block.as_mut_bytes_slice();
                bytes[..target.len()].copy_from_slice(target);
                raw.set_size(target.len() as u64, false);
                Ok(())
            }
            NewNode::Symlink(target) => self.map_alloc(ino, &mut raw, 0).and_then(|(b, _)| {
                self.cache.modify(b as u64, Phase::Data)?[..target.len()].copy_from_slice(target);
                raw.set_size(target.len() as u64, false);
                Ok(())
            }),
            NewNode::CharDevice(d) | NewNode::BlockDevice(d) => {
                encode_rdev(&mut raw, d);
                Ok(())
            }
            NewNode::Regular | NewNode::Fifo | NewNode::Socket => Ok(()),
        };
        if let Err(e) = filled {
            self.truncate_blocks(&mut raw, 0)?;
            self.free_inode(ino, dir)?;
            return Err(e);
        }
        self.write_inode(ino, &raw)?;
        Ok(ino)
    }

    /// Frees an inode that has no links left and no node: its blocks, its attribute block,
    /// its number. Stamps `i_dtime` so e2fsck sees a deleted inode.
    pub(crate) fn delete_inode(&mut self, ino: u32) -> Result<(), Errno> {
        let mut raw = self.read_inode(ino)?;
        if raw.i_links_count.get() != 0 || raw.i_dtime.get() != 0 || !self.inode_in_use(ino)? {
            return Ok(());
        }
        let dir = FileKind::from_mode(raw.i_mode.get() as u32) == Some(FileKind::Directory);
        if self.has_block_map(&raw) {
            self.truncate_blocks(&mut raw, 0)?;
        }
        raw.i_block = Default::default();
        self.release_xattr_block(&mut raw)?;
        raw.set_size(0, true);
        raw.i_blocks.set(0);
        raw.i_dtime.set(self.last_time.max(1) as u32);
        self.write_inode(ino, &raw)?;
        self.free_inode(ino, dir)
    }

    /// Drops the inode's reference to its extended-attribute block, freeing the block when
    /// it was the last (attribute blocks are shared between inodes with equal attributes).
    fn release_xattr_block(&mut self, raw: &mut RawInode) -> Result<(), Errno> {
        let b = raw.i_file_acl.get();
        raw.i_file_acl.set(0);
        if b == 0 || !self.is_data_block(b) {
            return Ok(());
        }
        let block = self.cache.read(b as u64)?;
        let magic = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        let refs = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
        if magic != XATTR_MAGIC {
            return Ok(());
        }
        if refs <= 1 {
            self.free_block(b)
        } else {
            self.cache.modify(b as u64, Phase::Inode)?[4..8]
                .copy_from_slice(&(refs - 1).to_le_bytes());
            Ok(())
        }
    }

    /// After inode `ino` lost a link: deletes it now if that was the last and nothing holds it
    /// open, else leaves it for the last node's release.
    fn unlinked(&mut self, ino: u32) -> Result<(), Errno> {
        let open = self.nodes.get(&ino).is_some_and(|w| w.strong_count() > 0);
        if open { Ok(()) } else { self.delete_inode(ino) }
    }

    /// Reads up to `out.len()` bytes at `pos` of regular file `ino` into `out`; returns how
    /// many (0 at or past the end). Resident pages of the file's page cache are the data.
    pub(super) fn read_chunk(
        &mut self,
        ino: u32,
        pos: u64,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let raw = self.read_inode(ino)?;
        let size = raw.size(true);
        if pos >= size || out.is_empty() {
            return Ok(0);
        }
        let mut n = (out.len() as u64).min(size - pos) as usize;
        let bs = self.geo.block_size as u64;
        let first = pos / bs;
        let last = (pos + n as u64 - 1) / bs;
        let mut phys = Vec::with_capacity((last - first + 1) as usize);
        // A block that cannot be mapped or read (a corrupt block map, a bad sector) ends the
        // read there: the bytes before it are returned, as Linux's read(2) returns a short
        // count; only a read that gets nothing fails.
        for l in first..=last {
            match self.map_block(&raw, l) {
                Ok(b) => phys.push(b as u64),
                Err(e) if l == first => return Err(e),
                Err(_) => {
                    n = (l * bs - pos) as usize;
                    break;
                }
            }
        }
        if phys.iter().any(|&b| b != 0 && !self.cache_has(b)) {
            let end = (last + READ_AHEAD / bs).min((size - 1) / bs);
            let mut ahead = phys.clone();
            // Read-ahead is a guess: a block past the request that cannot be mapped only
            // ends it (it failed whole reads of the blocks before a broken indirect block).
            for l in last + 1..=end {
                match self.map_block(&raw, l) {
                    Ok(b) => ahead.push(b as u64),
                    Err(_) => break,
                }
            }
            self.cache.read_ahead(&ahead);
        }
        let mut done = 0;
        for (i, &b) in phys.iter().enumerate() {
            let l = first + i as u64;
            let start = if l == first { (pos % bs) as usize } else { 0 };
            let len = (bs as usize - start).min(n - done);
            let dst = &mut out[done..done + len];
            if b == 0 {
                dst.fill(0);
            } else {
                match self.cache.read(b) {
                    Ok(block) => dst.copy_from_slice(&block[start..start + len]),
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            done += len;
        }
        self.overlay_pages(ino, pos, &mut out[..done]);
        Ok(done)
    }

    /// As [`read_chunk`](Self::read_chunk), but a read cut short by an I/O error fails: a
    /// page of a mapping must be whole (the fault is `SIGBUS`, not a page of zeros).
    pub(super) fn read_chunk_whole(
        &mut self,
        ino: u32,
        pos: u64,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let size = self.read_inode(ino)?.size(true);
        let want = (out.len() as u64).min(size.saturating_sub(pos)) as usize;
        let n = self.read_chunk(ino, pos, out)?;
        if n < want {
            return Err(Errno::EIO);
        }
        Ok(n)
    }

    fn cache_has(&self, b: u64) -> bool {
        self.cache.contains(b)
    }

    /// Writes `data` at `pos` of regular file `ino`. Returns the bytes written: short if the
    /// disk filled up part-way (`ENOSPC` if nothing could be written).
    fn write_chunk(
        &mut self,
        ino: u32,
        pos: u64,
        data: &[u8],
        now: Timestamp,
    ) -> Result<usize, Errno> {
        let mut raw = self.read_inode(ino)?;
        let old_size = raw.size(true);
        let bs = self.geo.block_size;
        let mut done = 0;
        let mut err = None;
        while done < data.len() {
            let at = pos + done as u64;
            let lblk = at / bs as u64;
            let off = (at % bs as u64) as usize;
            let n = (bs - off).min(data.len() - done);
            let (b, _) = match self.map_alloc(ino, &mut raw, lblk) {
                Ok(m) => m,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            };
            let buf = if n == bs {
                // The whole block is overwritten: no need to read it first.
                self.cache.overwrite(b as u64)?
            } else {
                self.cache.modify(b as u64, Phase::Data)?
            };
            buf[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        self.write_through_pages(ino, old_size, pos, &data[..done]);
        let end = pos + done as u64;
        if end > raw.size(true) {
            raw.set_size(end, true);
            if end > i32::MAX as u64 {
                self.set_ro_compat(ro_compat::LARGE_FILE);
            }
        }
        if done > 0 {
            self.touch(&mut raw, now);
        }
        self.write_inode(ino, &raw)?;
        match (done, err) {
            (0, Some(e)) => Err(e),
            _ => Ok(done),
        }
    }

    /// Sets the size of regular file `ino`: frees what lies past a smaller size and zeroes
    /// the rest of the last block (so a later extension reads zeros there).
    fn set_size(&mut self, ino: u32, raw: &mut RawInode, size: u64) -> Result<(), Errno> {
        if size > self.geo.max_file_size {
            return Err(Errno::EFBIG);
        }
        let old = raw.size(true);
        let bs = self.geo.block_size as u64;
        if size < old {
            let tail = (size % bs) as usize;
            if tail != 0 {
                let b = self.map_block(raw, size / bs)?;
                if b != 0 {
                    self.cache.modify(b as u64, Phase::Data)?[tail..].fill(0);
                }
            }
            self.truncate_blocks(raw, size.div_ceil(bs))?;
        }
        self.resize_pages(ino, old, size);
        raw.set_size(size, true);
        if size > i32::MAX as u64 {
            self.set_ro_compat(ro_compat::LARGE_FILE);
        }
        Ok(())
    }

    /// Whether directory `ancestor` is `dir` or above it (walking `..` up to the root).
    fn is_ancestor(&mut self, ancestor: u32, mut dir: u32) -> Result<bool, Errno> {
        for _ in 0..=self.geo.inodes_count {
            if dir == ancestor {
                return Ok(true);
            }
            if dir == ROOT_INO {
                return Ok(false);
            }
            dir = self.dir_find(dir, b"..")?.ok_or(Errno::EIO)?.ino;
        }
        Err(Errno::EIO)
    }

    /// Adds `delta` to the link count of inode `ino` and stamps its ctime.
    fn add_links(&mut self, ino: u32, delta: i32, now: Timestamp) -> Result<u16, Errno> {
        let mut raw = self.read_inode(ino)?;
        let n = (raw.i_links_count.get() as i32 + delta).clamp(0, u16::MAX as i32) as u16;
        raw.i_links_count.set(n);
        self.set_ctime(&mut raw, now);
        self.write_inode(ino, &raw)?;
        Ok(n)
    }

    /// Stamps a directory's mtime and ctime (its entries changed) and adjusts its links.
    fn dir_changed(&mut self, dir: u32, link_delta: i32, now: Timestamp) -> Result<(), Errno> {
        let mut raw = self.read_inode(dir)?;
        let n = (raw.i_links_count.get() as i32 + link_delta).clamp(0, u16::MAX as i32);
        raw.i_links_count.set(n as u16);
        self.touch(&mut raw, now);
        self.write_inode(dir, &raw)
    }

    /// `ENOENT` if directory `dir` was removed.
    fn check_live_dir(&mut self, dir: u32) -> Result<(), Errno> {
        if self.read_inode(dir)?.i_links_count.get() == 0 {
            Err(Errno::ENOENT)
        } else {
            Ok(())
        }
    }

    /// Takes away one name of inode `ino` (found as `found` in `dir`) that is being
    /// replaced or removed: a directory loses its `..` link on the parent and all its own.
    fn drop_name_target(&mut self, dir: u32, ino: u32, now: Timestamp) -> Result<(), Errno> {
        let raw = self.read_inode(ino)?;
        if kind_of(&raw)? == FileKind::Directory {
            let mut raw = raw;
            self.truncate_blocks(&mut raw, 0)?;
            raw.set_size(0, false);
            raw.i_links_count.set(0);
            self.set_ctime(&mut raw, now);
            self.write_inode(ino, &raw)?;
            self.dir_changed(dir, -1, now)?;
        } else {
            self.add_links(ino, -1, now)?;
        }
        self.unlinked(ino)
    }

    fn rename_locked(
        &mut self,
        src_dir: u32,
        old_name: &[u8],
        dst_dir: u32,
        new_name: &[u8],
        flags: RenameFlags,
        now: Timestamp,
    ) -> Result<(), Errno> {
        self.check_live_dir(src_dir)?;
        self.check_live_dir(dst_dir)?;
        let src = self.dir_find(src_dir, old_name)?.ok_or(Errno::ENOENT)?;
        let dst = self.dir_find(dst_dir, new_name)?;
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        if exchange && dst.is_none() {
            return Err(Errno::ENOENT);
        }
        if flags.contains(RenameFlags::NOREPLACE) && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        if dst.is_some_and(|d| d.ino == src.ino) {
            return Ok(());
        }
        let src_kind = kind_of(&self.read_inode(src.ino)?)?;
        let src_is_dir = src_kind == FileKind::Directory;
        let dst_kind = match dst {
            Some(d) => Some(kind_of(&self.read_inode(d.ino)?)?),
            None => None,
        };
        let dst_is_dir = dst_kind == Some(FileKind::Directory);
        let cross = src_dir != dst_dir;
        if cross && src_is_dir && self.is_ancestor(src.ino, dst_dir)? {
            return Err(Errno::EINVAL);
        }
        if exchange {
            let (dst, dst_kind) = (dst.expect("checked above"), dst_kind.expect("with dst"));
            if cross && dst_is_dir && self.is_ancestor(dst.ino, src_dir)? {
                return Err(Errno::EINVAL);
            }
            self.dir_retarget(src_dir, &src, dst.ino, dst_kind)?;
            self.dir_retarget(dst_dir, &dst, src.ino, src_kind)?;
            if cross {
                if src_is_dir {
                    self.set_dotdot(src.ino, dst_dir)?;
                }
                if dst_is_dir {
                    self.set_dotdot(dst.ino, src_dir)?;
                }
            }
            let delta = if cross {
                dst_is_dir as i32 - src_is_dir as i32
            } else {
                0
            };
            self.dir_changed(src_dir, delta, now)?;
            if cross {
                self.dir_changed(dst_dir, -delta, now)?;
            }
            self.add_links(src.ino, 0, now)?;
            self.add_links(dst.ino, 0, now)?;
            return Ok(());
        }
        if let Some(d) = dst {
            match (src_is_dir, dst_is_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.dir_is_empty(d.ino)? => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        } else if cross && src_is_dir && self.read_inode(dst_dir)?.i_links_count.get() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        match dst {
            Some(d) => {
                self.dir_retarget(dst_dir, &d, src.ino, src_kind)?;
                self.drop_name_target(dst_dir, d.ino, now)?;
            }
            None => self.dir_add(dst_dir, new_name, src.ino, src_kind)?,
        }
        // The source entry may have moved within its block if the new one went next to it.
        let src_now = self.dir_find(src_dir, old_name)?.ok_or(Errno::EIO)?;
        self.dir_remove(src_dir, &src_now)?;
        if cross && src_is_dir {
            self.set_dotdot(src.ino, dst_dir)?;
            self.dir_changed(src_dir, -1, now)?;
            self.dir_changed(dst_dir, 1, now)?;
        } else {
            self.dir_changed(src_dir, 0, now)?;
            if cross {
                self.dir_changed(dst_dir, 0, now)?;
            }
        }
        self.add_links(src.ino, 0, now)?;
        Ok(())
    }

    /// Points directory `dir`'s `..` at `parent`.
    fn set_dotdot(&mut self, dir: u32, parent: u32) -> Result<(), Errno> {
        let found: Found = self.dir_find(dir, b"..")?.ok_or(Errno::EIO)?;
        self.dir_retarget(dir, &found, parent, FileKind::Directory)
    }
}

/// A device number from `i_block`: the old 16-bit encoding in `i_block[0]`, or Linux's
/// 32-bit one in `i_block[1]` (`ext2_set_inode`'s `old_encode_dev`/`new_encode_dev`).
fn decode_rdev(raw: &RawInode) -> DeviceId {
    let old = raw.block(0);
    if old != 0 {
        DeviceId::new((old >> 8) & 0xff, old & 0xff)
    } else {
        DeviceId::decode(raw.block(1) as u64)
    }
}

fn encode_rdev(raw: &mut RawInode, d: DeviceId) {
    if d.major < 256 && d.minor < 256 {
        raw.i_block[0].set((d.major << 8) | d.minor);
    } else {
        raw.i_block[1].set(d.encode() as u32);
    }
}

trait BlockBytes {
    fn as_mut_bytes_slice(&mut self) -> &mut [u8];
    fn as_bytes_slice(&self) -> &[u8];
}

impl BlockBytes for [Le32; N_BLOCKS] {
    fn as_mut_bytes_slice(&mut self) -> &mut [u8] {
        zerocopy::IntoBytes::as_mut_bytes(self)
    }
    fn as_bytes_slice(&self) -> &[u8] {
        zerocopy::IntoBytes::as_bytes(self)
    }
}

impl Ext2Node {
    fn same_fs(&self, other: &Ext2Node) -> bool {
        Arc::ptr_eq(&self.fs, &other.fs)
    }

    /// [`Ext2::set_page_memory`](super::Ext2::set_page_memory) on this node's file system,
    /// for an embedder that has a node at hand rather than the file system.
    pub fn set_page_memory(&self, memory: Arc<dyn crate::tmpfs::FileMemory>) {
        let mut st = self.fs.state.lock();
        if st.page_memory.is_none() {
            st.page_memory = Some(memory);
        }
    }

    /// The inode number.
    pub fn inode_number(&self) -> u32 {
        self.ino
    }
}

impl Inode for Ext2Node {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn write_count(&self) -> Option<&crate::write_access::WriteCount> {
        Some(&self.writes)
    }

    fn ino(&self) -> u64 {
        self.ino as u64
    }

    fn kind(&self) -> FileKind {
        self.kind
    }

    fn metadata(&self) -> Metadata {
        let mut st = self.fs.lock();
        let dev = self.fs.dev;
        match st
            .read_inode(self.ino)
            .and_then(|raw| st.metadata_of(self.ino, &raw, dev))
        {
            Ok(m) => m,
            // The trait cannot fail: an unreadable inode shows as empty, and the read or
            // write that follows reports the error.
            Err(_) => Metadata {
                dev,
                ino: self.ino as u64,
                kind: self.kind,
                perm: 0,
                nlink: 0,
                uid: 0,
                gid: 0,
                rdev: DeviceId::default(),
                size: 0,
                blocks: 0,
                blksize: st.geo.block_size as u32,
                atime: Timestamp::EPOCH,
                mtime: Timestamp::EPOCH,
                ctime: Timestamp::EPOCH,
            },
        }
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let _io = attr.size.map(|_| self.io.lock());
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(attr.ctime);
        let mut raw = st.read_inode(self.ino)?;
        let old_size = raw.size(true);
        if let Some(size) = attr.size {
            match self.kind {
                FileKind::Regular => st.set_size(self.ino, &mut raw, size)?,
                FileKind::Directory => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        if let Some(perm) = attr.perm {
            let mode = raw.i_mode.get() as u32;
            raw.i_mode.set(((mode & !0o7777) | (perm & 0o7777)) as u16);
        }
        if let Some(uid) = attr.uid {
            raw.set_uid(uid);
        }
        if let Some(gid) = attr.gid {
            raw.set_gid(gid);
        }
        if let Some(t) = attr.atime {
            st.set_atime(&mut raw, t);
        }
        if let Some(t) = attr.mtime {
            st.set_mtime(&mut raw, t);
        }
        st.set_ctime(&mut raw, attr.ctime);
        st.write_inode(self.ino, &raw)?;
        let result = st.write_back_if_needed();
        drop(st);
        if let (Some(size), Some(mapped)) = (attr.size, self.mapped.get())
            && size.div_ceil(PAGE) < old_size.div_ceil(PAGE)
        {
            // Whole pages went: unmap them everywhere. Without the file system's lock, which
            // faults in those mappings take with their address space locked.
            let object = oxv_mm::SharedMapSource::object_id(&**mapped);
            oxv_mm::shared::unmap_object_beyond(object, size);
        }
        result
    }

    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        if self.kind != FileKind::Regular {
            return Err(self.wrong_kind_for_data());
        }
        if let ReadBuf::Kernel(buf) = dst {
            // A kernel buffer cannot fault: fill it directly.
            let mut done = 0;
            while done < buf.len() {
                let end = buf.len().min(done + CHUNK);
                let n = match self.fs.lock().read_chunk(
                    self.ino,
                    offset + done as u64,
                    &mut buf[done..end],
                ) {
                    Ok(n) => n,
                    // After some bytes, an I/O error is a short read (as Linux's).
                    Err(_) if done > 0 => break,
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    break;
                }
                done += n;
            }
            return Ok(done);
        }
        let mut bounce = super::cache::zeroed(dst.len().min(CHUNK)).ok_or(Errno::ENOMEM)?;
        let mut done = 0;
        while done < dst.len() {
            let want = (dst.len() - done).min(CHUNK);
            let n =
                match self
                    .fs
                    .lock()
                    .read_chunk(self.ino, offset + done as u64, &mut bounce[..want])
                {
                    Ok(n) => n,
                    Err(_) if done > 0 => break,
                    Err(e) => return Err(e),
                };
            if n == 0 {
                break;
            }
            match dst.fill(done, &bounce[..n]) {
                Ok(got) => {
                    done += got;
                    if got < n {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write_at(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        now: Timestamp,
    ) -> Result<Written, Errno> {
        if self.kind != FileKind::Regular {
            return Err(self.wrong_kind_for_data());
        }
        let _io = self.io.lock();
        let (start, max) = {
            let mut st = self.fs.lock();
            st.check_writable()?;
            let raw = st.read_inode(self.ino)?;
            let start = match pos {
                WritePos::At(o) => o,
                WritePos::Append => raw.size(true),
            };
            (start, st.geo.max_file_size)
        };
        if src.is_empty() {
            return Ok(Written {
                count: 0,
                end: start,
            });
        }
        if start >= max {
            return Err(Errno::EFBIG);
        }
        let total = (src.len() as u64).min(max - start) as usize;
        let mut bounce = super::cache::zeroed(total.min(CHUNK)).ok_or(Errno::ENOMEM)?;
        let mut done = 0;
        while done < total {
            let want = (total - done).min(CHUNK);
            let got = match src.fetch(done, &mut bounce[..want]) {
                Ok(g) => g,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let mut st = self.fs.lock();
            st.stamp(now);
            let wrote = match st.write_chunk(self.ino, start + done as u64, &bounce[..got], now) {
                Ok(w) => w,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            done += wrote;
            st.write_back_if_needed()?;
            if wrote < got || got < want {
                break;
            }
        }
        Ok(Written {
            count: done,
            end: start + done as u64,
        })
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut st = self.fs.lock();
        st.check_live_dir(self.ino)?;
        let found = st.dir_find(self.ino, name)?.ok_or(Errno::ENOENT)?;
        let raw = st.read_inode(found.ino)?;
        let kind = kind_of(&raw)?;
        Ok(node_for(&self.fs, &mut st, found.ino, kind))
    }

    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut st = self.fs.lock();
        st.check_live_dir(self.ino)?;
        let up = st.dir_find(self.ino, b"..")?.ok_or(Errno::EIO)?;
        Ok(node_for(&self.fs, &mut st, up.ino, FileKind::Directory))
    }

    fn create(
        &self,
        name: &[u8],
        node: NewNode<'_>,
        attrs: &NewAttrs,
    ) -> Result<Arc<dyn Inode>, Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(attrs.now);
        if let NewNode::Symlink(target) = node {
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            if target.len() >= st.geo.block_size {
                return Err(Errno::ENAMETOOLONG);
            }
        }
        st.check_live_dir(self.ino)?;
        if st.dir_find(self.ino, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let kind = node.kind();
        if kind == FileKind::Directory && st.read_inode(self.ino)?.i_links_count.get() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let ino = st.new_inode(self.ino, node, attrs)?;
        if let Err(e) = st.dir_add(self.ino, name, ino, kind) {
            // Undo the inode: nothing names it.
            let mut raw = st.read_inode(ino)?;
            raw.i_links_count.set(0);
            st.write_inode(ino, &raw)?;
            st.delete_inode(ino)?;
            return Err(e);
        }
        let links = if kind == FileKind::Directory { 1 } else { 0 };
        st.dir_changed(self.ino, links, attrs.now)?;
        Ok(node_for(&self.fs, &mut st, ino, kind))
    }

    fn link(&self, name: &[u8], target: &dyn Inode, now: Timestamp) -> Result<(), Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let target = target
            .as_any()
            .downcast_ref::<Ext2Node>()
            .ok_or(Errno::EXDEV)?;
        if !self.same_fs(target) {
            return Err(Errno::EXDEV);
        }
        if target.kind == FileKind::Directory {
            return Err(Errno::EPERM);
        }
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(now);
        st.check_live_dir(self.ino)?;
        if st.dir_find(self.ino, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let links = st.read_inode(target.ino)?.i_links_count.get();
        if links == 0 {
            return Err(Errno::ENOENT);
        }
        if links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        st.dir_add(self.ino, name, target.ino, target.kind)?;
        st.add_links(target.ino, 1, now)?;
        st.dir_changed(self.ino, 0, now)
    }

    fn unlink(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(now);
        let found = st.dir_find(self.ino, name)?.ok_or(Errno::ENOENT)?;
        if kind_of(&st.read_inode(found.ino)?)? == FileKind::Directory {
            return Err(Errno::EISDIR);
        }
        st.dir_remove(self.ino, &found)?;
        st.dir_changed(self.ino, 0, now)?;
        st.add_links(found.ino, -1, now)?;
        st.unlinked(found.ino)
    }

    fn rmdir(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(now);
        let found = st.dir_find(self.ino, name)?.ok_or(Errno::ENOENT)?;
        if kind_of(&st.read_inode(found.ino)?)? != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        if !st.dir_is_empty(found.ino)? {
            return Err(Errno::ENOTEMPTY);
        }
        st.dir_remove(self.ino, &found)?;
        st.drop_name_target(self.ino, found.ino, now)
    }

    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &dyn Inode,
        new_name: &[u8],
        flags: RenameFlags,
        now: Timestamp,
    ) -> Result<(), Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let new_dir = new_dir
            .as_any()
            .downcast_ref::<Ext2Node>()
            .ok_or(Errno::EXDEV)?;
        if !self.same_fs(new_dir) {
            return Err(Errno::EXDEV);
        }
        if new_dir.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let known = RenameFlags::NOREPLACE | RenameFlags::EXCHANGE;
        if !(flags - known).is_empty() || flags.contains(known) {
            return Err(Errno::EINVAL);
        }
        let mut st = self.fs.lock();
        st.check_writable()?;
        st.stamp(now);
        st.rename_locked(self.ino, old_name, new_dir.ino, new_name, flags, now)
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        if self.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut cursor = cursor;
        loop {
            // Entries are collected under the lock and handed out without it.
            let batch = {
                let mut st = self.fs.lock();
                st.check_live_dir(self.ino)?;
                st.dir_list(self.ino, cursor, LIST_BATCH)?
            };
            if batch.is_empty() {
                return Ok(());
            }
            for e in &batch {
                let entry = DirEntry {
                    ino: e.ino as u64,
                    kind: e.kind,
                    name: &e.name,
                    next: e.next,
                };
                if !sink(&entry) {
                    return Ok(());
                }
                cursor = e.next;
            }
        }
    }

    /// Regular files of a file system given page memory ([`Ext2::set_page_memory`]): the
    /// file's page cache (see the `pages` module).
    ///
    /// [`Ext2::set_page_memory`]: super::Ext2::set_page_memory
    fn page_cache(&self) -> Option<Arc<dyn oxv_mm::SharedMapSource>> {
        if self.kind != FileKind::Regular || self.fs.state.lock().page_memory.is_none() {
            return None;
        }
        let mapped = self.mapped.call_once(|| {
            Arc::new(super::pages::MappedPages {
                shared: self.fs.clone(),
                ino: self.ino,
            })
        });
        Some(mapped.clone())
    }

    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        if self.kind != FileKind::Symlink {
            return Err(Errno::EINVAL);
        }
        let mut st = self.fs.lock();
        let raw = st.read_inode(self.ino)?;
        let len = raw.size(false) as usize;
        if st.is_fast_symlink(&raw) {
            let bytes = raw.i_block.as_bytes_slice();
            return bytes.get(..len).map(<[u8]>::to_vec).ok_or(Errno::EIO);
        }
        if len > st.geo.block_size {
            return Err(Errno::EIO);
        }
        match st.map_block(&raw, 0)? {
            0 => Err(Errno::EIO),
            b => Ok(st.cache.read(b as u64)?[..len].to_vec()),
        }
    }
}
