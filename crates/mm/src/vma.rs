//! Virtual memory areas: the ranges of an address space and what backs them.
//!
//! A [`Vma`] is a page-aligned, non-empty range `[start, end)` with one protection, one set of
//! [`VmaFlags`] (Linux's `vm_flags` that matter here), a [`VmaKind`] (what created it, for
//! `/proc/self/maps` and for `brk`) and a [`Backing`]: zero-filled memory, a private copy of an
//! object's pages, or an object's own pages shared with everyone who maps them. VMAs are
//! Linux's `vm_area_struct` in miniature; the page table holds only what has been touched, and
//! a VMA says what a fault may bring in.
//!
//! Two seams reach file systems, and oxv-mm knows nothing of files:
//!
//! - [`MapSource`]: an object a *private* mapping copies pages from (`read_at`, like pread(2)).
//! - [`SharedMapSource`]: an object whose page-cache frames a
//!   *shared* mapping maps directly; a `MapSource` hands one out through
//!   [`MapSource::shared`] when the object supports `MAP_SHARED`.

use crate::addr::PAGE_SIZE_U64;
use crate::shared::{SharedAnon, SharedMapSource};
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use linux_raw_sys::general as linux;
use oxv_abi::Errno;

bitflags::bitflags! {
    /// Memory protection, with Linux's `PROT_*` values (mmap(2), mprotect(2)).
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
    pub struct Prot: u32 {
        /// `PROT_READ`.
        const READ = linux::PROT_READ;
        /// `PROT_WRITE`.
        const WRITE = linux::PROT_WRITE;
        /// `PROT_EXEC`.
        const EXEC = linux::PROT_EXEC;
    }
}

impl Prot {
    /// Whether any access is allowed. On x86_64 every accessible page is readable: a
    /// `PROT_WRITE` or `PROT_EXEC` page can be read, as on Linux.
    pub const fn is_accessible(self) -> bool {
        !self.is_empty()
    }
}

bitflags::bitflags! {
    /// Properties of a VMA beyond its protection: the subset of Linux's `vm_flags` oxv keeps.
    /// Like Linux, VMAs with different flags never merge, and madvise/mlock split VMAs to set
    /// them on part of one.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
    pub struct VmaFlags: u32 {
        /// `MAP_SHARED` (Linux's `VM_MAYSHARE`, the `s` in `/proc/self/maps`).
        const SHARED = 1 << 0;
        /// Not backed by a file: pages start zero-filled (private), or come from shared
        /// anonymous memory.
        const ANONYMOUS = 1 << 1;
        /// Grows down on faults just below it (`MAP_GROWSDOWN`, the main stack).
        const GROWS_DOWN = 1 << 2;
        /// `VM_MAYREAD`: mprotect may add `PROT_READ`.
        const MAY_READ = 1 << 3;
        /// `VM_MAYWRITE`: mprotect may add `PROT_WRITE` (not for a shared mapping of a file
        /// opened read-only).
        const MAY_WRITE = 1 << 4;
        /// `VM_MAYEXEC`: mprotect may add `PROT_EXEC`.
        const MAY_EXEC = 1 << 5;
        /// `VM_LOCKED`: mlock(2)ed; pages are populated and madvise(MADV_DONTNEED) refuses.
        const LOCKED = 1 << 6;
        /// `VM_LOCKONFAULT`: locked without populating (`MLOCK_ONFAULT`).
        const LOCK_ON_FAULT = 1 << 7;
        /// `VM_SEQ_READ` (`MADV_SEQUENTIAL`).
        const SEQ_READ = 1 << 8;
        /// `VM_RAND_READ` (`MADV_RANDOM`).
        const RAND_READ = 1 << 9;
        /// `VM_DONTCOPY` (`MADV_DONTFORK`): not inherited by fork.
        const DONT_COPY = 1 << 10;
        /// `VM_DONTEXPAND`: mremap may not grow it (the vDSO).
        const DONT_EXPAND = 1 << 11;
        /// `VM_ACCOUNT`: counted in `Committed_AS` (private writable, without `MAP_NORESERVE`).
        const ACCOUNT = 1 << 12;
        /// `VM_NORESERVE` (`MAP_NORESERVE`).
        const NORESERVE = 1 << 13;
        /// `VM_WIPEONFORK` (`MADV_WIPEONFORK`): the child of a fork sees zeros.
        const WIPE_ON_FORK = 1 << 14;
        /// `VM_DONTDUMP` (`MADV_DONTDUMP`).
        const DONT_DUMP = 1 << 15;
        /// `VM_HUGEPAGE` (`MADV_HUGEPAGE`): use 2 MiB pages where they fit.
        const HUGEPAGE = 1 << 16;
        /// `VM_NOHUGEPAGE` (`MADV_NOHUGEPAGE`): never use 2 MiB pages.
        const NO_HUGEPAGE = 1 << 17;
    }
}

impl VmaFlags {
    /// `VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC`, what every mapping starts with.
    pub const MAY_ALL: VmaFlags = VmaFlags::MAY_READ
        .union(VmaFlags::MAY_WRITE)
        .union(VmaFlags::MAY_EXEC);
    /// The mlock state (`VM_LOCKED_MASK`).
    pub const LOCK_MASK: VmaFlags = VmaFlags::LOCKED.union(VmaFlags::LOCK_ON_FAULT);
}

/// What created a VMA: the name `/proc/self/maps` shows for it, and what `brk` may touch.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum VmaKind {
    /// An anonymous `mmap`.
    Anonymous,
    /// A file `mmap`.
    File,
    /// The `brk` heap (`[heap]`).
    Heap,
    /// The main thread's stack (`[stack]`).
    Stack,
    /// A segment of the loaded ELF image (or of the interpreter).
    ElfSegment,
    /// The vDSO's code (`[vdso]`).
    Vdso,
    /// The vDSO's data page(s) (`[vvar]`).
    Vvar,
}

/// How a mapped object appears in `/proc/<pid>/maps`: device, inode and path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapIdentity {
    /// Major number of the device holding the object.
    pub dev_major: u32,
    /// Minor number of that device.
    pub dev_minor: u32,
    /// Inode number.
    pub inode: u64,
    /// The path shown (what `readlink` of `/proc/<pid>/map_files/...` would give); empty for
    /// none.
    pub path: String,
}

/// A file opened so that it can back `MAP_SHARED` mappings, as [`MapSource::shared`] hands it
/// out.
#[derive(Clone)]
pub struct SharedFile {
    /// The object whose page-cache frames shared mappings map.
    pub object: Arc<dyn SharedMapSource>,
    /// Whether the file was opened for writing: without it, `MAP_SHARED` with `PROT_WRITE`
    /// (and a later mprotect adding it) fails with `EACCES`, as on Linux.
    pub writable: bool,
}

impl fmt::Debug for SharedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedFile(writable: {})", self.writable)
    }
}

/// An object that can back a private mapping: a file, a device. Implemented by the VFS.
///
/// Pages are read on demand, when the app first touches them (or at `mmap` time with
/// `MAP_POPULATE`).
pub trait MapSource: Send + Sync {
    /// Reads bytes at `offset` into `buf`, like pread(2): returns how many were read, fewer
    /// than `buf.len()` only at the end of the object (0 at or past it). An `Err` makes the
    /// faulting access a `SIGBUS`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;

    /// The object's page cache for `MAP_SHARED` mappings, or `None` if it cannot be mapped
    /// shared (mmap then fails with `ENODEV`). The default is `None`.
    fn shared(&self) -> Option<SharedFile> {
        None
    }

    /// Device, inode and path for `/proc/<pid>/maps`. The default shows nothing (`00:00 0`).
    fn identity(&self) -> MapIdentity {
        MapIdentity::default()
    }

    /// Whether the object's page at `offset` is in memory (mincore(2) of a page the mapping
    /// has not touched yet). The default says no.
    fn is_cached(&self, offset: u64) -> bool {
        let _ = offset;
        false
    }

    /// The object's page cache, if it has one: a read fault on a private mapping then maps
    /// the cache's own frame read-only and the first write copies it (as Linux does), so
    /// every process running a program shares its text and no fault copies a page that is
    /// only read. `None` (the default): faults copy through [`MapSource::read_at`].
    fn page_cache(&self) -> Option<&dyn SharedMapSource> {
        None
    }

    /// Whether mappings of the object may ever be executable. `false` for a file on a
    /// `noexec` mount: the mapping then lacks [`VmaFlags::MAY_EXEC`], so mprotect(2) adding
    /// `PROT_EXEC` fails with `EACCES`, as Linux's `do_mmap` clears `VM_MAYEXEC` there. The
    /// default is `true`.
    fn may_exec(&self) -> bool {
        true
    }
}

/// The file (or device) behind a private file VMA and the offset of the VMA's first byte in it.
#[derive(Clone)]
pub struct FileBacking {
    /// The mapped object.
    pub source: Arc<dyn MapSource>,
    /// Offset in the object of the VMA's `start`, page aligned.
    pub offset: u64,
}

impl fmt::Debug for FileBacking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileBacking(offset {:#x})", self.offset)
    }
}

/// The object whose frames a shared VMA maps.
#[derive(Clone)]
pub enum SharedObject {
    /// `MAP_SHARED | MAP_ANONYMOUS` memory, owned by oxv-mm.
    Anonymous(Arc<SharedAnon>),
    /// A file's page cache, owned by the VFS.
    File(Arc<dyn SharedMapSource>),
}

impl SharedObject {
    /// The object as the trait every shared object implements.
    pub fn source(&self) -> &dyn SharedMapSource {
        match self {
            SharedObject::Anonymous(a) => &**a,
            SharedObject::File(f) => &**f,
        }
    }

    fn same_as(&self, other: &SharedObject) -> bool {
        match (self, other) {
            (SharedObject::Anonymous(a), SharedObject::Anonymous(b)) => Arc::ptr_eq(a, b),
            (SharedObject::File(a), SharedObject::File(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A shared VMA's object and the offset of the VMA's first byte in it.
#[derive(Clone)]
pub struct SharedBacking {
    /// The mapped object.
    pub object: SharedObject,
    /// Offset in the object of the VMA's `start`, page aligned.
    pub offset: u64,
}

/// What backs a VMA's pages.
#[derive(Clone)]
pub enum Backing {
    /// Private zero-filled memory (anonymous `MAP_PRIVATE`, the heap, the stack, `.bss`).
    Anonymous,
    /// Private copies of an object's pages (`MAP_PRIVATE` of a file): read on first touch,
    /// writes stay in this mapping.
    File(FileBacking),
    /// The object's own pages (`MAP_SHARED`): every mapping sees every write.
    Shared(SharedBacking),
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backing::Anonymous => f.write_str("Anonymous"),
            Backing::File(b) => write!(f, "{b:?}"),
            Backing::Shared(s) => match &s.object {
                SharedObject::Anonymous(_) => write!(f, "SharedAnon(offset {:#x})", s.offset),
                SharedObject::File(_) => write!(f, "SharedFile(offset {:#x})", s.offset),
            },
        }
    }
}

/// One virtual memory area. Built and changed only by [`AddressSpace`](crate::AddressSpace).
#[derive(Clone, Debug)]
pub struct Vma {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) prot: Prot,
    pub(crate) flags: VmaFlags,
    pub(crate) kind: VmaKind,
    pub(crate) backing: Backing,
}

impl Vma {
    /// First address (page aligned).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// End address, exclusive (page aligned).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Always false: VMAs are never empty (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// The protection.
    pub fn prot(&self) -> Prot {
        self.prot
    }

    /// The flags.
    pub fn flags(&self) -> VmaFlags {
        self.flags
    }

    /// What created it.
    pub fn kind(&self) -> VmaKind {
        self.kind
    }

    /// What backs its pages.
    pub fn backing(&self) -> &Backing {
        &self.backing
    }

    /// The backing object, for a private file mapping.
    pub fn file(&self) -> Option<&FileBacking> {
        match &self.backing {
            Backing::File(f) => Some(f),
            _ => None,
        }
    }

    /// The backing object, for a shared mapping.
    pub fn shared(&self) -> Option<&SharedBacking> {
        match &self.backing {
            Backing::Shared(s) => Some(s),
            _ => None,
        }
    }

    /// The offset in its object of the VMA's first byte (`vm_pgoff` in bytes; 0 for private
    /// anonymous memory, as `/proc/self/maps` shows it).
    pub fn object_offset(&self) -> u64 {
        match &self.backing {
            Backing::Anonymous => 0,
            Backing::File(f) => f.offset,
            Backing::Shared(s) => s.offset,
        }
    }

    /// Whether this is private anonymous memory (Linux's `vma_is_anonymous`).
    pub fn is_private_anonymous(&self) -> bool {
        matches!(self.backing, Backing::Anonymous)
    }

    /// Linux's `VM_SHARED`: shared, and writes may reach the object.
    pub(crate) fn is_write_shared(&self) -> bool {
        self.flags.contains(VmaFlags::SHARED | VmaFlags::MAY_WRITE)
    }

    /// Whether present pages are mapped read-only until the first write, so a write is
    /// noticed: private file pages (clean copies until written) and shared file pages (the
    /// page cache must learn they are dirty).
    pub(crate) fn tracks_writes(&self) -> bool {
        matches!(
            &self.backing,
            Backing::File(_)
                | Backing::Shared(SharedBacking {
                    object: SharedObject::File(_),
                    ..
                })
        )
    }

    /// The part of `self` from `at` on, leaving `[start, at)` in `self`. `at` must lie strictly
    /// inside and be page aligned.
    pub(crate) fn split_off(&mut self, at: u64) -> Vma {
        debug_assert!(self.start < at && at < self.end && at % PAGE_SIZE_U64 == 0);
        let mut upper = self.clone();
        upper.start = at;
        upper.advance_offset(at - self.start);
        self.end = at;
        upper
    }

    /// Moves the backing offset forward by `delta` bytes (the VMA's start moved up by that).
    pub(crate) fn advance_offset(&mut self, delta: u64) {
        match &mut self.backing {
            Backing::Anonymous => {}
            Backing::File(f) => f.offset += delta,
            Backing::Shared(s) => s.offset += delta,
        }
    }

    /// Whether `next` (starting where `self` ends) can be folded into `self`.
    pub(crate) fn can_merge(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.flags == next.flags
            && self.kind == next.kind
            && match (&self.backing, &next.backing) {
                (Backing::Anonymous, Backing::Anonymous) => true,
                (Backing::File(a), Backing::File(b)) => {
                    Arc::ptr_eq(&a.source, &b.source) && a.offset + self.len() == b.offset
                }
                (Backing::Shared(a), Backing::Shared(b)) => {
                    a.object.same_as(&b.object) && a.offset + self.len() == b.offset
                }
                _ => false,
            }
    }

    /// The offset in the backing object of `addr` (inside the VMA), for any object mapping.
    pub(crate) fn offset_of(&self, addr: u64) -> u64 {
        self.object_offset() + (addr - self.start)
    }
}
