//! memfd_create(2) and file sealing (fcntl's `F_ADD_SEALS`/`F_GET_SEALS`).
//!
//! A memfd is a tmpfs file in no directory: each lives in a small tmpfs of its own, created
//! and unlinked at once, with its data in the embedder's [`FileMemory`] (so that it can be
//! mapped shared), and goes away with its last fd. As Linux's `mm/memfd.c`:
//!
//! - flags other than `MFD_CLOEXEC`, `MFD_ALLOW_SEALING`, `MFD_HUGETLB` (with its size bits),
//!   `MFD_NOEXEC_SEAL` and `MFD_EXEC` are `EINVAL`, as are `MFD_EXEC` with
//!   `MFD_NOEXEC_SEAL`; the name is copied in (`EFAULT`) and may have at most 249 bytes
//!   (`EINVAL`); `MFD_HUGETLB` gets ordinary pages;
//! - the file is open read-write with `O_LARGEFILE`, mode 0777 (0666 with
//!   `MFD_NOEXEC_SEAL`);
//! - without `MFD_ALLOW_SEALING` it carries `F_SEAL_SEAL`, so no seal can be added (`EPERM`);
//!   `F_ADD_SEALS` needs a writable fd (`EPERM`) and known seal bits (`EINVAL`);
//! - seals act on writes and truncation: `F_SEAL_WRITE`/`F_SEAL_FUTURE_WRITE` refuse writes,
//!   `F_SEAL_GROW` growth, `F_SEAL_SHRINK` shrinking (all `EPERM`). Sealing does not yet look
//!   at existing shared writable mappings (Linux's `EBUSY`).

use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::file::{FileOps, OpenFile, RegularFile};
use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::{FileSystem, Vfs};
use crate::node::{DeviceId, Inode, Metadata, NewAttrs, NewNode};
use crate::tmpfs::{FileMemory, Tmpfs, TmpfsLimits};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};
use linux_raw_sys::general as g;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::{Errno, SysResult, UserAddr, UserCStr, UserMemory};

/// The longest memfd name (Linux's `MFD_NAME_MAX_LEN`: `NAME_MAX` minus `"memfd:"`).
pub const NAME_MAX_LEN: usize = 255 - 6;

const ALL_FLAGS: u32 =
    g::MFD_CLOEXEC | g::MFD_ALLOW_SEALING | g::MFD_HUGETLB | g::MFD_NOEXEC_SEAL | g::MFD_EXEC;
const HUGE_BITS: u32 = g::MFD_HUGE_MASK << g::MFD_HUGE_SHIFT;
/// Every seal Linux knows (`F_ALL_SEALS`).
pub const ALL_SEALS: u32 = g::F_SEAL_SEAL
    | g::F_SEAL_SHRINK
    | g::F_SEAL_GROW
    | g::F_SEAL_WRITE
    | g::F_SEAL_FUTURE_WRITE
    | g::F_SEAL_EXEC;

/// The device number memfds show (Linux's shmem mount is an anonymous device).
pub const MEMFD_DEVICE: DeviceId = DeviceId::new(0, 1);

/// An open memfd: a regular tmpfs file with seals.
pub struct MemfdFile {
    file: Arc<RegularFile>,
    inode: Arc<dyn Inode>,
    seals: AtomicU32,
}

impl MemfdFile {
    /// The seals in force.
    pub fn seals(&self) -> u32 {
        self.seals.load(Ordering::Acquire)
    }

    /// `F_ADD_SEALS` on a file opened `writable`.
    pub fn add_seals(&self, writable: bool, seals: u32) -> Result<(), Errno> {
        if !writable {
            return Err(Errno::EPERM);
        }
        if seals & !ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
        self.seals
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                (old & g::F_SEAL_SEAL == 0).then_some(old | seals)
            })
            .map(|_| ())
            .map_err(|_| Errno::EPERM)
    }

    fn size(&self) -> u64 {
        self.inode.metadata().size
    }
}

impl FileOps for MemfdFile {
    fn read(&self, offset: u64, dst: &mut ReadBuf<'_>, nonblocking: bool) -> Result<usize, Errno> {
        self.file.read(offset, dst, nonblocking)
    }

    fn write(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        nonblocking: bool,
    ) -> Result<Written, Errno> {
        let seals = self.seals();
        if seals & (g::F_SEAL_WRITE | g::F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        if seals & g::F_SEAL_GROW != 0 && !src.is_empty() {
            let size = self.size();
            let at = match pos {
                WritePos::At(o) => o,
                WritePos::Append => size,
            };
            if at.saturating_add(src.len() as u64) > size {
                return Err(Errno::EPERM);
            }
        }
        self.file.write(pos, src, nonblocking)
    }

    fn is_positioned(&self) -> bool {
        true
    }

    fn seek(&self, current: u64, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.file.seek(current, offset, whence)
    }

    fn stat(&self) -> Result<Metadata, Errno> {
        self.file.stat()
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let seals = self.seals();
        let size = self.size();
        if (len < size && seals & g::F_SEAL_SHRINK != 0)
            || (len > size && seals & g::F_SEAL_GROW != 0)
        {
            return Err(Errno::EPERM);
        }
        self.file.truncate(len)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// The name argument: at most [`NAME_MAX_LEN`] bytes before the NUL (`EINVAL`), `EFAULT`.
fn copy_name(mem: &dyn UserMemory, name: UserCStr) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut at = name.0.get();
    loop {
        let mut b = [0u8; 1];
        mem.copy_in(UserAddr::new(at), &mut b)?;
        if b[0] == 0 {
            return Ok(out);
        }
        if out.len() == NAME_MAX_LEN {
            return Err(Errno::EINVAL);
        }
        out.push(b[0]);
        at = at.wrapping_add(1);
    }
}

/// memfd_create(2); the file's data lives in `memory`.
pub fn memfd_create(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    memory: &Arc<dyn FileMemory>,
    name: UserCStr,
    flags: u32,
) -> SysResult {
    let allowed = if flags & g::MFD_HUGETLB != 0 {
        ALL_FLAGS | HUGE_BITS
    } else {
        ALL_FLAGS
    };
    if flags & !allowed != 0 || (flags & g::MFD_EXEC != 0 && flags & g::MFD_NOEXEC_SEAL != 0) {
        return Err(Errno::EINVAL);
    }
    let name = copy_name(mem, name)?;
    if !files.has_free_fd() {
        return Err(Errno::EMFILE);
    }
    let now = cx.vfs().now();
    // Linux's internal shm mount has no size limit: memfds are bounded by RAM only (a
    // fallocate(2) larger than RAM is ENOSPC at once, a smaller one that runs out is undone).
    let limits = TmpfsLimits::UNLIMITED;
    let fs = Tmpfs::with_limits(MEMFD_DEVICE, 0o755, now, memory.clone(), limits);
    let root = fs.root();
    let noexec = flags & g::MFD_NOEXEC_SEAL != 0;
    let attrs = NewAttrs {
        perm: if noexec { 0o666 } else { 0o777 },
        uid: 0,
        gid: 0,
        now,
    };
    // The name is only for show (Linux's "memfd:<name>"); inside its own tmpfs it cannot
    // clash, and an empty name is stood in for.
    let entry: &[u8] = if name.is_empty() { b"memfd" } else { &name };
    let entry: Vec<u8> = entry
        .iter()
        .map(|&b| if b == b'/' { b'_' } else { b })
        .collect();
    let inode = root.create(&entry, NewNode::Regular, &attrs)?;
    let vfs = Vfs::new(fs, cx.vfs().clock().clone());
    let location = vfs.root().with_inode(inode.clone());
    root.unlink(&entry, now)?;
    let seals = if noexec {
        g::F_SEAL_EXEC
    } else if flags & g::MFD_ALLOW_SEALING != 0 {
        0
    } else {
        g::F_SEAL_SEAL
    };
    let ops = Arc::new(MemfdFile {
        file: RegularFile::new(inode.clone(), cx.vfs().clock().clone()),
        inode,
        seals: AtomicU32::new(seals),
    });
    let file = OpenFile::new(ops, OpenFlags::RDWR, Some(location));
    Ok(files.insert(file, flags & g::MFD_CLOEXEC != 0)? as usize)
}

/// The memfd behind `file`, if it is one.
pub fn memfd_of(file: &OpenFile) -> Option<&MemfdFile> {
    file.ops().as_any()?.downcast_ref::<MemfdFile>()
}
