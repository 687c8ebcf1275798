//! The memory calls: thin conversions into oxv-mm's `AddressSpace`, plus file lookup for
//! file-backed mappings (an open file is a `MapSource` through [`FileMapSource`]).

use crate::file_map::FileMapSource;
use crate::process::{Process, with_platform};
use alloc::sync::Arc;
use oxv_abi::linux::mm::{MADV_DONTNEED, MADV_FREE, MAP_ANONYMOUS, is_known_advice};
use oxv_abi::{Errno, SysResult, UserAddr};
use oxv_mm::{MapSource, MmapArgs, VmaKind};
use oxv_vfs::FileKind;
use oxv_vfs::device::memory::ZERO_DEVICE;

/// mmap(2).
pub fn mmap(
    p: &Process,
    addr: UserAddr,
    length: usize,
    prot: u64,
    flags: u64,
    fd: i32,
    offset: u64,
) -> SysResult {
    oxv_mm::aspace::map::check_offset(offset)?;
    let flags = flags as u32;
    let (addr, len, prot) = (addr.get(), length as u64, prot as u32);
    let mut args = MmapArgs::anonymous(addr, len, prot, flags);
    if flags & MAP_ANONYMOUS == 0 {
        let file = p.files.get(fd)?;
        if !file.is_readable() {
            return Err(Errno::EACCES);
        }
        let meta = file.stat()?;
        if meta.kind == FileKind::CharDevice && meta.rdev == ZERO_DEVICE {
            // A private map of /dev/zero is anonymous memory (the old way to get some);
            // `args` already says so.
        } else if meta.kind == FileKind::Regular {
            // Read on demand, a page at a time.
            let source: Arc<dyn MapSource> = Arc::new(FileMapSource(file));
            args = MmapArgs::file(addr, len, prot, flags, source, offset);
        } else {
            // Pipes, sockets, directories and other devices cannot be mapped.
            return Err(Errno::ENODEV);
        }
    }
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.mmap(args, plat)).map(|a| a as usize)
}

/// munmap(2).
pub fn munmap(p: &Process, addr: UserAddr, length: usize) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.munmap(addr.get(), length as u64, plat)).map(|()| 0)
}

/// mprotect(2).
pub fn mprotect(p: &Process, addr: UserAddr, len: usize, prot: u64) -> SysResult {
    if prot > u32::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.mprotect(addr.get(), len as u64, prot as u32, plat)).map(|()| 0)
}

/// brk(2): returns the new break, or the old one when the request cannot be met.
pub fn brk(p: &Process, addr: UserAddr) -> SysResult {
    let mut mm = p.mm.lock();
    Ok(with_platform(|plat| mm.brk(addr.get(), plat)) as usize)
}

/// madvise(2). Hints are accepted for mapped ranges; `MADV_DONTNEED` and `MADV_FREE` drop the
/// pages of anonymous mappings (they read back as zeros), as Linux does for private anonymous
/// memory; on other mappings they are refused with EINVAL (see docs/syscalls.md).
pub fn madvise(p: &Process, addr: UserAddr, length: usize, advice: i32) -> SysResult {
    let start = addr.get();
    if start % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    if !is_known_advice(advice) {
        return Err(Errno::EINVAL);
    }
    let len = (length as u64)
        .checked_next_multiple_of(4096)
        .ok_or(Errno::EINVAL)?;
    if len == 0 {
        return Ok(0);
    }
    let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
    let mut mm = p.mm.lock();
    // Every page of the range must be mapped (ENOMEM otherwise), as on Linux.
    let mut at = start;
    let mut pieces = alloc::vec::Vec::new();
    while at < end {
        let v = mm.find_vma(at).ok_or(Errno::ENOMEM)?;
        let piece_end = v.end().min(end);
        pieces.push((at, piece_end, v.prot(), v.kind()));
        at = piece_end;
    }
    if advice as u32 == MADV_DONTNEED || advice as u32 == MADV_FREE {
        if pieces
            .iter()
            .any(|&(_, _, _, k)| !matches!(k, VmaKind::Anonymous | VmaKind::Heap | VmaKind::Stack))
        {
            return Err(Errno::EINVAL);
        }
        with_platform(|plat| -> Result<(), Errno> {
            for &(s, e, prot, kind) in &pieces {
                if kind == VmaKind::Stack {
                    // Keep the stack VMA (it may grow down): drop pages by remapping in place.
                    mm.munmap(s, e - s, plat)?;
                    mm.map_fixed(s, e - s, prot, VmaKind::Stack, plat)?;
                } else {
                    mm.munmap(s, e - s, plat)?;
                    mm.map_fixed(s, e - s, prot, kind, plat)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(0)
}
