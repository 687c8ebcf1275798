//! The memory calls: thin conversions into oxv-mm's `AddressSpace`, plus file lookup for
//! file-backed mappings (an open file is a `MapSource` through [`FileMapSource`], whose page
//! cache backs `MAP_SHARED`).
//!
//! Locking: each call holds the address-space lock only around oxv-mm; nothing here copies to
//! or from user memory with it held (a page fault takes it), which is why msync finishes and
//! mincore writes its vector outside it.

use crate::arch::user_pt::DirectMapBytes;
use crate::file_map::FileMapSource;
use crate::process::{Process, with_platform};
use alloc::sync::Arc;
use oxv_abi::linux::mm::MAP_ANONYMOUS;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory};
use oxv_mm::{MapSource, MmapArgs};
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
        } else if meta.kind == FileKind::Regular
            && file.location().is_some_and(|l| l.inode().is_mappable())
        {
            // Linux's do_mmap: an executable mapping of a file on a noexec mount.
            if prot & oxv_abi::linux::mm::PROT_EXEC != 0 && crate::exec::on_noexec_mount(&file) {
                return Err(Errno::EPERM);
            }
            // Private: read on demand, a page at a time; shared: the file's own pages (a file
            // system without a page cache gets ENODEV from oxv-mm for MAP_SHARED).
            let source: Arc<dyn MapSource> = Arc::new(FileMapSource::new(file));
            args = MmapArgs::file(addr, len, prot, flags, source, offset);
        } else {
            // Pipes, sockets, directories, other devices and rendered files (procfs, sysfs)
            // cannot be mapped.
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

/// madvise(2): oxv-mm checks the advice and range and applies it VMA by VMA, as Linux does.
pub fn madvise(p: &Process, addr: UserAddr, length: usize, advice: i32) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.madvise(addr.get(), length as u64, advice, plat)).map(|()| 0)
}

/// mremap(2).
pub fn mremap(
    p: &Process,
    old_address: UserAddr,
    old_size: usize,
    new_size: usize,
    flags: u64,
    new_address: UserAddr,
) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| {
        mm.mremap(
            old_address.get(),
            old_size as u64,
            new_size as u64,
            flags,
            new_address.get(),
            plat,
        )
    })
    .map(|a| a as usize)
}

/// msync(2). The file writes happen after the address-space lock is dropped, because they
/// may block (as Linux drops `mmap_lock` around `vfs_fsync_range`).
pub fn msync(p: &Process, addr: UserAddr, length: usize, flags: i32) -> SysResult {
    let pending = {
        let mut mm = p.mm.lock();
        with_platform(|plat| mm.msync(addr.get(), length as u64, flags, plat))?
    };
    pending.finish(&DirectMapBytes).map(|()| 0)
}

/// mincore(2). The vector is written a chunk at a time with the address space unlocked, since
/// writing it may fault.
pub fn mincore(
    p: &Process,
    mem: &mut dyn UserMemory,
    addr: UserAddr,
    length: usize,
    vec: UserAddr,
) -> SysResult {
    oxv_mm::aspace::mincore::mincore(
        |start, out| p.mm.lock().mincore_chunk(start, out),
        mem,
        addr.get(),
        length as u64,
        vec,
    )
}

/// mlock(2) and mlock2(2) (`flags` 0 for mlock). The app runs as root, which has
/// `CAP_IPC_LOCK`: `RLIMIT_MEMLOCK` does not apply.
pub fn mlock(p: &Process, addr: UserAddr, len: usize, flags: i32) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.mlock(addr.get(), len as u64, flags, None, plat)).map(|()| 0)
}

/// munlock(2).
pub fn munlock(p: &Process, addr: UserAddr, len: usize) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.munlock(addr.get(), len as u64, plat)).map(|()| 0)
}

/// mlockall(2), for a caller with `CAP_IPC_LOCK` like [`mlock`].
pub fn mlockall(p: &Process, flags: i32) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.mlockall(flags, None, plat)).map(|()| 0)
}

/// munlockall(2).
pub fn munlockall(p: &Process) -> SysResult {
    let mut mm = p.mm.lock();
    with_platform(|plat| mm.munlockall(plat)).map(|()| 0)
}
