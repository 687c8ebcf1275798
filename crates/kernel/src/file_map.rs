//! Open files as the backing of memory mappings: this adapts a VFS [`OpenFile`] to oxv-mm's
//! [`MapSource`] (private mappings read pages on demand) and hands out the file's page cache,
//! named, for `MAP_SHARED` mappings ([`SharedMapSource`]).
//!
//! It also supplies what page caches need from the kernel: frames for ext2's (given on the
//! first mapping of an ext2 file) and [`AllAddressSpaces`], which unmaps a shrunken file's
//! pages past its new end from every process (truncate(2) on a mapped file) and
//! write-protects a file's pages in every process before msync(2) marks them clean.
//!
//! The name `/proc/self/maps` shows is found once, on first use (see
//! [`oxv_vfs::names::path_of_file`]: a search of the file's mount). Device and inode numbers come from the file's mount and inode, without
//! taking any file lock: they are asked for with the address space locked.

use alloc::string::String;
use alloc::sync::Arc;
use oxv_abi::Errno;
use oxv_mm::shared::ObjectUnmapper;
use oxv_mm::{FrameBytes, FrameSource, MapIdentity, MapSource, PageError, PhysFrame};
use oxv_mm::{SharedFile, SharedMapSource};
use oxv_vfs::{OpenFile, ReadBuf};
use spin::Once;

/// An open file that backs mappings. See the [module docs](self).
pub struct FileMapSource {
    file: Arc<OpenFile>,
    name: Arc<MappedName>,
    /// The file's pages, if its file system has a page cache (tmpfs, ext2).
    page_cache: Option<Arc<dyn SharedMapSource>>,
    /// The file's mount was `noexec` when it was mapped (Linux decides at mmap time too).
    noexec: bool,
}

impl FileMapSource {
    /// Maps `file`; its name is looked up when first shown.
    pub fn new(file: Arc<OpenFile>) -> Self {
        // Once something is mapped, truncation must be able to unmap it.
        oxv_mm::shared::set_object_unmapper(&AllAddressSpaces);
        // An ext2 file system has frames for its page caches from its mount (`disks`).
        let page_cache = file.location().and_then(|l| l.inode().page_cache());
        let noexec = crate::exec::on_noexec_mount(&file);
        FileMapSource {
            noexec,
            name: Arc::new(MappedName {
                file: file.clone(),
                path: Once::new(),
            }),
            file,
            page_cache,
        }
    }
}

impl MapSource for FileMapSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        read_full(&self.file, offset, buf)
    }

    fn shared(&self) -> Option<SharedFile> {
        let cache = self.page_cache.clone()?;
        Some(SharedFile {
            object: Arc::new(NamedPageCache {
                cache,
                name: self.name.clone(),
            }),
            writable: self.file.is_writable(),
        })
    }

    fn identity(&self) -> MapIdentity {
        self.name.identity()
    }

    fn is_cached(&self, offset: u64) -> bool {
        self.page_cache
            .as_ref()
            .is_some_and(|c| c.is_resident(offset))
    }

    fn page_cache(&self) -> Option<&dyn SharedMapSource> {
        self.page_cache.as_deref()
    }

    fn may_exec(&self) -> bool {
        !self.noexec
    }
}

/// What `/proc/self/maps` names a mapped file by.
struct MappedName {
    file: Arc<OpenFile>,
    /// Found on first use.
    path: Once<String>,
}

impl MappedName {
    fn identity(&self) -> MapIdentity {
        let Some(loc) = self.file.location() else {
            return MapIdentity::default();
        };
        let dev = loc.mount().fs().device();
        let path = self.path.call_once(|| {
            let cx = &crate::process::current().fs;
            oxv_vfs::names::path_of_file(cx, loc)
                .map(|p| String::from_utf8_lossy(&p).into())
                .unwrap_or_default()
        });
        MapIdentity {
            dev_major: dev.major,
            dev_minor: dev.minor,
            inode: loc.inode().ino(),
            path: path.clone(),
        }
    }
}

/// A file's page cache as shared mappings see it: the file system's pages, under the file's
/// name.
struct NamedPageCache {
    cache: Arc<dyn SharedMapSource>,
    name: Arc<MappedName>,
}

impl SharedMapSource for NamedPageCache {
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        self.cache.get_page(offset, frames, bytes)
    }

    fn page_mkwrite(&self, offset: u64) -> Result<(), PageError> {
        self.cache.page_mkwrite(offset)
    }

    fn is_resident(&self, offset: u64) -> bool {
        self.cache.is_resident(offset)
    }

    fn reclaimable(&self, offset: u64, frame: PhysFrame) -> bool {
        self.cache.reclaimable(offset, frame)
    }

    fn read(&self, offset: u64, buf: &mut [u8], bytes: &dyn FrameBytes) -> Result<(), PageError> {
        self.cache.read(offset, buf, bytes)
    }

    fn sync(&self, offset: u64, len: u64, bytes: &dyn FrameBytes) -> Result<(), Errno> {
        self.cache.sync(offset, len, bytes)
    }

    fn punch_hole(&self, offset: u64, len: u64, frames: &mut dyn FrameSource) -> Result<(), Errno> {
        self.cache.punch_hole(offset, len, frames)
    }

    fn identity(&self) -> MapIdentity {
        self.name.identity()
    }

    fn object_id(&self) -> usize {
        self.cache.object_id()
    }
}

/// Every address space, for unmapping the pages of a file that shrank and write-protecting
/// a file's pages before msync(2) marks them clean (the [`ObjectUnmapper`] of oxv-mm): each
/// process's in turn, locked, with the TLB shootdown of munmap (mprotect's for msync).
/// Threads and vfork children share an address space; doing it twice is harmless.
struct AllAddressSpaces;

impl ObjectUnmapper for AllAddressSpaces {
    fn unmap_beyond(&self, object: usize, from: u64) {
        for p in crate::process::all() {
            let mut mm = p.mm.lock();
            crate::process::with_platform(|plat| mm.unmap_object_beyond(object, from, plat));
        }
    }

    fn write_protect(&self, object: usize, offset: u64, len: u64) {
        for p in crate::process::all() {
            let mut mm = p.mm.lock();
            crate::process::with_platform(|plat| {
                mm.write_protect_object(object, offset, len, plat)
            });
        }
    }
}

/// Reads `buf.len()` bytes at `offset`, short only at end of file.
pub fn read_full(file: &OpenFile, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.read_at(offset + done as u64, &mut ReadBuf::kernel(&mut buf[done..]))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}
