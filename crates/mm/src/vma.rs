//! Virtual memory areas: the ranges of an address space and what backs them.
//!
//! A [`Vma`] is a page-aligned, non-empty range `[start, end)` with one protection, one set of
//! flags, a [`VmaKind`] (what created it, for `/proc/self/maps` and for `brk`) and, for a file
//! mapping, a [`MapSource`] and offset. VMAs are Linux's `vm_area_struct` in miniature; the
//! page table holds only what has been touched, and a VMA says what a fault may bring in.
//!
//! [`MapSource`] is the seam to file systems: oxv-mm reads pages of a mapped object through it
//! and knows nothing of files. Only private file mappings exist yet (each page is read into a
//! private frame on first access); shared file mappings need a page cache and come with the
//! VFS.

use crate::addr::PAGE_SIZE_U64;
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
    /// Properties of a VMA beyond its protection.
    #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
    pub struct VmaFlags: u8 {
        /// `MAP_SHARED`. Anonymous shared mappings behave as private ones until the address
        /// space can be forked (there is no other process to share with).
        const SHARED = 1 << 0;
        /// Not backed by a file: pages start zero-filled.
        const ANONYMOUS = 1 << 1;
        /// Grows down on faults just below it (`MAP_GROWSDOWN`, the main stack).
        const GROWS_DOWN = 1 << 2;
    }
}

/// What created a VMA.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum VmaKind {
    /// An anonymous `mmap`.
    Anonymous,
    /// A file `mmap`.
    File,
    /// The `brk` heap.
    Heap,
    /// The main thread's stack.
    Stack,
    /// A segment of the loaded ELF image (or of the interpreter).
    ElfSegment,
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
}

/// The file (or device) behind a VMA and the offset of the VMA's first byte in it.
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

/// One virtual memory area. Built and changed only by [`AddressSpace`](crate::AddressSpace).
#[derive(Clone, Debug)]
pub struct Vma {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) prot: Prot,
    pub(crate) flags: VmaFlags,
    pub(crate) kind: VmaKind,
    pub(crate) file: Option<FileBacking>,
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

    /// The backing object, for a file mapping.
    pub fn file(&self) -> Option<&FileBacking> {
        self.file.as_ref()
    }

    /// The part of `self` from `at` on, leaving `[start, at)` in `self`. `at` must lie strictly
    /// inside and be page aligned.
    pub(crate) fn split_off(&mut self, at: u64) -> Vma {
        debug_assert!(self.start < at && at < self.end && at % PAGE_SIZE_U64 == 0);
        let mut upper = self.clone();
        upper.start = at;
        if let Some(f) = &mut upper.file {
            f.offset += at - self.start;
        }
        self.end = at;
        upper
    }

    /// Whether `next` (starting where `self` ends) can be folded into `self`.
    pub(crate) fn can_merge(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.flags == next.flags
            && self.kind == next.kind
            && match (&self.file, &next.file) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    Arc::ptr_eq(&a.source, &b.source) && a.offset + self.len() == b.offset
                }
                _ => false,
            }
    }

    /// The file offset of `addr` (inside the VMA), for a file mapping.
    pub(crate) fn file_offset(&self, addr: u64) -> Option<(&Arc<dyn MapSource>, u64)> {
        self.file
            .as_ref()
            .map(|f| (&f.source, f.offset + (addr - self.start)))
    }
}
