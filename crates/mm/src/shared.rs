//! Shared mappings: objects whose own frames several mappings map at once.
//!
//! A `MAP_SHARED` mapping does not copy pages: every mapping of the object, in this address
//! space, in a forked child, or through read(2)/write(2) on the file, works on the same frames.
//! Linux keeps those frames in the object's page cache (`struct address_space`); oxv-mm asks
//! for them through [`SharedMapSource`]:
//!
//! - A page fault in a shared VMA calls [`get_page`](SharedMapSource::get_page), which returns
//!   the object's frame for that offset (bringing it in if needed) with one reference added
//!   for the page-table entry oxv-mm is about to create.
//! - For a file, pages are first mapped read-only; the first write through a mapping calls
//!   [`page_mkwrite`](SharedMapSource::page_mkwrite) (the file system marks the page dirty),
//!   then the entry becomes writable. msync(`MS_SYNC`) write-protects this address space's
//!   entries again and calls [`sync`](SharedMapSource::sync), so the next write is noticed.
//! - `MADV_REMOVE` calls [`punch_hole`](SharedMapSource::punch_hole) (fallocate(2)'s
//!   `FALLOC_FL_PUNCH_HOLE`).
//!
//! Writing pages back to storage, keeping read(2)/write(2) coherent with mappings (they go
//! through the same page cache) and file size changes are the file system's job.
//!
//! [`SharedAnon`] is this crate's own shared object, for `MAP_SHARED | MAP_ANONYMOUS` (Linux
//! backs those with a file on an internal tmpfs, shown as `/dev/zero (deleted)`). Its size is
//! fixed at mmap time: a mapping grown with mremap(2) gets `SIGBUS` past it, as on Linux.
//!
//! Truncation: an object that shrinks calls [`unmap_object_beyond`], and the embedder's
//! [`ObjectUnmapper`] walks every address space and unmaps the object's pages past the new
//! end ([`AddressSpace::unmap_object_beyond`](crate::AddressSpace::unmap_object_beyond), with
//! the TLB shootdown of munmap); the next access faults and gets `SIGBUS`. There is no
//! per-page reverse map: the walk visits every address space, which is cheap with the few a
//! unikernel runs. So msync still write-protects only the calling address space's entries (a
//! forked child's writes after that msync are not noticed).

use crate::addr::{PAGE_SIZE_U64, PhysFrame, page_floor};
use crate::frame::FrameSource;
use crate::paging::FrameBytes;
use crate::vma::MapIdentity;
use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;
use oxv_abi::Errno;

/// Why a shared object could not supply a page.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum PageError {
    /// The page lies wholly past the end of the object (`SIGBUS`).
    Beyond,
    /// The object could not be read or the page not made writable (`SIGBUS`).
    Io,
    /// No frame was available.
    OutOfMemory,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PageError::Beyond => "page past the end of the object",
            PageError::Io => "I/O error on the object",
            PageError::OutOfMemory => "out of memory",
        })
    }
}

impl core::error::Error for PageError {}

/// An object whose frames back `MAP_SHARED` mappings. See the [module docs](self).
///
/// Implementations are shared between address spaces and must lock inside. oxv-mm calls them
/// with the address space locked, so they must never take an address-space lock; they may
/// take the frame allocator's.
pub trait SharedMapSource: Send + Sync {
    /// The frame holding the object's page at `offset` (page aligned), with one reference
    /// added for the caller's page-table entry (released by oxv-mm when it unmaps it). A page
    /// not in memory is brought in: allocated from `frames`, filled through `bytes`.
    /// [`PageError::Beyond`] for a page wholly past the end of the object.
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError>;

    /// The page at `offset`, mapped, is about to become writable through a mapping: record it
    /// as dirty. An error makes the writing access a `SIGBUS`. The default accepts.
    fn page_mkwrite(&self, offset: u64) -> Result<(), PageError> {
        let _ = offset;
        Ok(())
    }

    /// Whether the object holds the page at `offset` in memory (mincore(2)).
    fn is_resident(&self, offset: u64) -> bool;

    /// Copies `buf.len()` bytes at `offset` (inside one page) into `buf` without mapping
    /// anything: the page's bytes, zeros for a page never written. For the kernel's own reads
    /// (`AddressSpace::read_bytes`) of a page this mapping has not touched.
    /// [`PageError::Beyond`] past the end of the object.
    fn read(&self, offset: u64, buf: &mut [u8], bytes: &dyn FrameBytes) -> Result<(), PageError>;

    /// msync(`MS_SYNC`): writes the dirty pages of `[offset, offset + len)` to storage, reading
    /// frames through `bytes`. May block; oxv-mm calls it with no lock held (see
    /// [`PendingSync`](crate::aspace::msync::PendingSync)). The default has nothing to write.
    fn sync(&self, offset: u64, len: u64, bytes: &dyn FrameBytes) -> Result<(), Errno> {
        let _ = (offset, len, bytes);
        Ok(())
    }

    /// `MADV_REMOVE`: frees the object's pages in `[offset, offset + len)`; later reads see
    /// zeros. oxv-mm has already unmapped them from the calling address space. The default
    /// fails with `EOPNOTSUPP`, like a file system without hole punching.
    fn punch_hole(&self, offset: u64, len: u64, frames: &mut dyn FrameSource) -> Result<(), Errno> {
        let _ = (offset, len, frames);
        Err(Errno::EOPNOTSUPP)
    }

    /// Device, inode and path for `/proc/<pid>/maps`. The default shows nothing.
    fn identity(&self) -> MapIdentity {
        MapIdentity::default()
    }

    /// Whether `frame` is the object's own frame for the page at `offset` and that page is
    /// clean (storage holds the same bytes), so that memory reclaim may take it out of
    /// mappings: a later access faults it in again. oxv-mm asks when the object found no
    /// frame for a fault (see [`AddressSpace::handle_fault`](crate::AddressSpace::handle_fault)).
    /// The default says no: the object's frames are the only copy of its data (tmpfs).
    fn reclaimable(&self, offset: u64, frame: PhysFrame) -> bool {
        let _ = (offset, frame);
        false
    }

    /// A number naming the object whose pages these are, for finding its mappings when it
    /// shrinks ([`unmap_object_beyond`]). The default is the address of `self`; a wrapper
    /// around another object returns that object's.
    fn object_id(&self) -> usize {
        self as *const Self as *const () as usize
    }
}

/// How an object that shrank reaches every address space mapping it: the embedder, which
/// knows them all (oxv-mm keeps no list of address spaces), implements it over
/// [`AddressSpace::unmap_object_beyond`](crate::AddressSpace::unmap_object_beyond).
///
/// Called with no address-space lock held; it locks each address space in turn. The caller
/// may hold its own object's locks only if page faults never take them (a fault in a
/// mapping of the object runs with its address space locked).
pub trait ObjectUnmapper: Sync {
    /// Unmaps the pages of object `object` (an [`object_id`](SharedMapSource::object_id)) at
    /// offsets from `from` (page aligned) on, from every address space.
    fn unmap_beyond(&self, object: usize, from: u64);

    /// Write-protects the pages of object `object` in `[offset, offset + len)` in every
    /// address space that maps it shared (over
    /// [`AddressSpace::write_protect_object`](crate::AddressSpace::write_protect_object)),
    /// so the next write through any of them is noticed (Linux's `page_mkclean`, which
    /// msync(2) relies on). The default does nothing.
    fn write_protect(&self, object: usize, offset: u64, len: u64) {
        let _ = (object, offset, len);
    }
}

static UNMAPPER: spin::Once<&'static dyn ObjectUnmapper> = spin::Once::new();

/// Installs the embedder's [`ObjectUnmapper`]; the first one stays.
pub fn set_object_unmapper(unmapper: &'static dyn ObjectUnmapper) {
    UNMAPPER.call_once(|| unmapper);
}

/// An object shrank to `size` bytes: its pages wholly past the new end are unmapped from
/// every address space, so the next access faults and gets `SIGBUS`, as Linux's
/// `truncate_pagecache` does (private copies of those pages included). Does nothing before
/// an [`ObjectUnmapper`] is installed (nothing can be mapped then).
pub fn unmap_object_beyond(object: usize, size: u64) {
    if let Some(u) = UNMAPPER.get() {
        u.unmap_beyond(object, size.next_multiple_of(PAGE_SIZE_U64));
    }
}

/// msync(`MS_SYNC`) is about to write `[offset, offset + len)` of `object` back and mark it
/// clean: every address space's shared entries for it are write-protected first (see
/// [`ObjectUnmapper::write_protect`]). Does nothing before an [`ObjectUnmapper`] is
/// installed.
pub fn write_protect_object(object: usize, offset: u64, len: u64) {
    if let Some(u) = UNMAPPER.get() {
        u.write_protect(object, offset, len);
    }
}

/// `MAP_SHARED | MAP_ANONYMOUS` memory: zero-filled pages shared by every mapping of it. See
/// the [module docs](self).
///
/// It holds one reference on each of its frames. They are released by
/// [`release_all`](Self::release_all) when the last mapping goes away (oxv-mm does this);
/// dropping a `SharedAnon` that still holds frames leaks them.
pub struct SharedAnon {
    size: u64,
    inode: u64,
    pages: spin::Mutex<BTreeMap<u64, PhysFrame>>,
}

impl fmt::Debug for SharedAnon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedAnon")
            .field("size", &self.size)
            .field("inode", &self.inode)
            .field("resident", &self.resident_pages())
            .finish()
    }
}

impl SharedAnon {
    /// An object of `size` bytes (rounded up to pages), shown with inode number `inode`.
    pub fn new(size: u64, inode: u64) -> Self {
        SharedAnon {
            size: size.next_multiple_of(PAGE_SIZE_U64),
            inode,
            pages: spin::Mutex::new(BTreeMap::new()),
        }
    }

    /// The size in bytes; pages at or past it are `SIGBUS`.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many pages hold a frame.
    pub fn resident_pages(&self) -> usize {
        self.pages.lock().len()
    }

    /// Releases the object's reference on every frame (its last mapping is gone).
    pub fn release_all(self, frames: &mut dyn FrameSource) {
        for (_, frame) in self.pages.into_inner() {
            let released = frames.release(frame);
            debug_assert!(released.is_ok(), "a shared page is allocated: {released:?}");
        }
    }
}

impl SharedMapSource for SharedAnon {
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        let offset = page_floor(offset);
        if offset >= self.size {
            return Err(PageError::Beyond);
        }
        let mut pages = self.pages.lock();
        let frame = match pages.get(&offset) {
            Some(&f) => f,
            None => {
                let f = frames.allocate_frame().ok_or(PageError::OutOfMemory)?;
                bytes.zero_frame(f);
                pages.insert(offset, f);
                f
            }
        };
        frames.add_ref(frame).map_err(|_| PageError::OutOfMemory)?;
        Ok(frame)
    }

    fn is_resident(&self, offset: u64) -> bool {
        self.pages.lock().contains_key(&page_floor(offset))
    }

    fn read(&self, offset: u64, buf: &mut [u8], bytes: &dyn FrameBytes) -> Result<(), PageError> {
        if offset >= self.size {
            return Err(PageError::Beyond);
        }
        match self.pages.lock().get(&page_floor(offset)) {
            Some(&f) => bytes.read(f, (offset % PAGE_SIZE_U64) as usize, buf),
            None => buf.fill(0),
        }
        Ok(())
    }

    fn punch_hole(&self, offset: u64, len: u64, frames: &mut dyn FrameSource) -> Result<(), Errno> {
        let end = offset.saturating_add(len);
        let mut pages = self.pages.lock();
        let doomed: alloc::vec::Vec<u64> = pages.range(offset..end).map(|(&k, _)| k).collect();
        for k in doomed {
            if let Some(f) = pages.remove(&k) {
                let released = frames.release(f);
                debug_assert!(released.is_ok(), "a shared page is allocated: {released:?}");
            }
        }
        Ok(())
    }

    fn identity(&self) -> MapIdentity {
        MapIdentity {
            dev_major: 0,
            dev_minor: 1,
            inode: self.inode,
            path: String::from("/dev/zero (deleted)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeMachine;

    #[test]
    fn shared_anon_pages_are_zeroed_once_and_referenced_per_mapping() {
        let mut m = FakeMachine::new(16);
        let obj = SharedAnon::new(2 * PAGE_SIZE_U64 - 5, 7);
        assert_eq!(obj.size(), 2 * PAGE_SIZE_U64);
        let a = obj.get_page(0, &mut m.frames, &m.bytes).unwrap();
        assert_eq!(
            m.frames.ref_count(a),
            Some(2),
            "the object's and the mapping's"
        );
        m.bytes.write(a, 0, b"x");
        let b = obj.get_page(100, &mut m.frames, &m.bytes).unwrap();
        assert_eq!((a, m.frames.ref_count(a)), (b, Some(3)));
        assert_eq!(m.bytes.contents(b)[..2], [b'x', 0], "not zeroed again");
        assert_eq!(
            obj.get_page(2 * PAGE_SIZE_U64, &mut m.frames, &m.bytes),
            Err(PageError::Beyond)
        );
        assert!(obj.is_resident(10) && !obj.is_resident(PAGE_SIZE_U64));
        assert_eq!(obj.identity().path, "/dev/zero (deleted)");
        m.frames.release(a).unwrap();
        m.frames.release(a).unwrap();
        obj.release_all(&mut m.frames);
        assert_eq!(m.frames.free_frames(), 16);
    }

    #[test]
    fn punching_a_hole_frees_the_object_pages() {
        let mut m = FakeMachine::new(16);
        let obj = SharedAnon::new(4 * PAGE_SIZE_U64, 1);
        for i in 0..4 {
            let f = obj
                .get_page(i * PAGE_SIZE_U64, &mut m.frames, &m.bytes)
                .unwrap();
            m.frames.release(f).unwrap();
        }
        assert_eq!(m.frames.free_frames(), 12);
        obj.punch_hole(PAGE_SIZE_U64, 2 * PAGE_SIZE_U64, &mut m.frames)
            .unwrap();
        assert_eq!(obj.resident_pages(), 2);
        assert_eq!(m.frames.free_frames(), 14);
        obj.release_all(&mut m.frames);
        assert_eq!(m.frames.free_frames(), 16);
    }
}
