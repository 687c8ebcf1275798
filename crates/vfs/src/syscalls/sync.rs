//! fsync(2), fdatasync(2), syncfs(2), sync(2): making written data durable.
//!
//! Each reaches the file system through [`crate::FileSystem::sync`], which
//! writes what it keeps dirty and flushes its device before returning; file systems in memory
//! have nothing to do. A file system syncs as a whole, so fsync(2) and fdatasync(2) of one
//! file also make every other change on that file system durable (more than Linux promises,
//! never less: ext2 needs it to keep the directory entry and bitmaps of a new file consistent
//! with its data).
//!
//! As Linux: fsync and fdatasync take any fd but `O_PATH` ones (`EBADF`), and fail with
//! `EINVAL` for files that cannot be synced (terminals, devices, pipes, sockets); a failed
//! write-back is `EIO`. syncfs(2) syncs the file system holding the fd's file (0 for files
//! without one, such as pipes) and reports write-back errors; sync(2) syncs every mounted
//! file system and never fails.

use super::io_file;
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::FileSystem;
use crate::node::FileKind;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::{Errno, SysResult};

/// fsync(2).
pub fn fsync(files: &FdTable, fd: i32) -> SysResult {
    let file = io_file(files, fd)?;
    match file.stat()?.kind {
        FileKind::Regular | FileKind::Directory => {}
        _ => return Err(Errno::EINVAL),
    }
    if let Some(loc) = file.location() {
        loc.mount().fs().sync()?;
    }
    Ok(0)
}

/// fdatasync(2): the same as [`fsync`] (the file system syncs everything anyway).
pub fn fdatasync(files: &FdTable, fd: i32) -> SysResult {
    fsync(files, fd)
}

/// syncfs(2).
pub fn syncfs(files: &FdTable, fd: i32) -> SysResult {
    let file = io_file(files, fd)?;
    if let Some(loc) = file.location() {
        loc.mount().fs().sync()?;
    }
    Ok(0)
}

/// sync(2): every mounted file system, each once even if mounted in several places.
pub fn sync(cx: &FsContext) -> SysResult {
    let mut done: Vec<Arc<dyn FileSystem>> = Vec::new();
    for mount in cx.vfs().mounts() {
        let fs = mount.fs();
        if done.iter().any(|d| Arc::ptr_eq(d, fs)) {
            continue;
        }
        // sync(2) has no way to report an error; syncfs(2) and fsync(2) do.
        let _ = fs.sync();
        done.push(fs.clone());
    }
    Ok(0)
}

#[cfg(all(test, feature = "ext2"))]
pub(crate) mod tests {
    use super::*;
    use crate::block::{FaultyDisk, RamDisk};
    use crate::ext2::{self, Ext2, FormatOptions, MountOptions};
    use crate::fake::FakeClock;
    use crate::mount::{MountFlags, Vfs};
    use crate::node::DeviceId;
    use crate::time::RealtimeClock;
    use crate::tmpfs::Tmpfs;
    use crate::{OpenFile, WriteBuf};
    use oxv_abi::linux::fs::OpenFlags;

    /// A tmpfs root with an ext2 on `/mnt` over a RAM disk that can be made to fail.
    pub(crate) fn world() -> (FsContext, FdTable, Arc<FaultyDisk<RamDisk>>) {
        let clock = FakeClock::at(1_700_000_000);
        let disk = RamDisk::new(4096);
        ext2::format(&disk, &FormatOptions::default(), clock.now()).unwrap();
        let disk = Arc::new(FaultyDisk::new(disk));
        let root = Tmpfs::new(DeviceId::new(0, 1), clock.now());
        let vfs = Vfs::new(root, clock.clone());
        let cx = FsContext::new(vfs.clone());
        let mnt = cx.mkdir_all(b"/mnt", 0o755).unwrap();
        let fs = Ext2::mount(
            disk.clone(),
            DeviceId::new(254, 0),
            MountOptions::default(),
            clock.now(),
        )
        .unwrap();
        vfs.mount(fs, &mnt, MountFlags::empty()).unwrap();
        (cx, FdTable::new(), disk)
    }

    fn open(cx: &FsContext, files: &FdTable, path: &[u8], flags: OpenFlags) -> i32 {
        let f: Arc<OpenFile> = cx.open(path, flags, 0o644).unwrap();
        files.insert(f, false).unwrap()
    }

    #[test]
    fn fsync_makes_ext2_writes_durable() {
        let (cx, files, disk) = world();
        let fd = open(&cx, &files, b"/mnt/f", OpenFlags::CREAT | OpenFlags::RDWR);
        files
            .get(fd)
            .unwrap()
            .write(&WriteBuf::kernel(b"durable bytes"))
            .unwrap();
        let flushes = disk.inner().flush_count();
        assert_eq!(fsync(&files, fd), Ok(0));
        assert!(
            disk.inner().flush_count() > flushes,
            "fsync flushed the device"
        );
        disk.inner().crash();
        let again = Ext2::mount(
            Arc::new(RamDisk::from_image(disk.inner().durable_contents())),
            DeviceId::new(254, 0),
            MountOptions::default(),
            Default::default(),
        )
        .unwrap();
        let f = again.root().lookup(b"f").unwrap();
        assert_eq!(f.metadata().size, 13);
    }

    #[test]
    fn errors_are_linux_errors() {
        let (cx, files, disk) = world();
        assert_eq!(fsync(&files, 9), Err(Errno::EBADF));
        assert_eq!(syncfs(&files, 9), Err(Errno::EBADF));
        let path = open(&cx, &files, b"/mnt", OpenFlags::PATH);
        assert_eq!(fsync(&files, path), Err(Errno::EBADF));
        let dir = open(&cx, &files, b"/mnt", OpenFlags::empty());
        assert_eq!(fsync(&files, dir), Ok(0));
        assert_eq!(fdatasync(&files, dir), Ok(0));
        let fd = open(&cx, &files, b"/mnt/g", OpenFlags::CREAT | OpenFlags::WRONLY);
        files
            .get(fd)
            .unwrap()
            .write(&WriteBuf::kernel(b"x"))
            .unwrap();
        disk.fail_flushes(true);
        assert_eq!(fsync(&files, fd), Err(Errno::EIO));
        assert_eq!(syncfs(&files, fd), Err(Errno::EIO));
        assert_eq!(sync(&cx), Ok(0), "sync(2) cannot fail");
        disk.fail_flushes(false);
        assert_eq!(syncfs(&files, dir), Ok(0));
        // A file of a file system in memory: nothing to do, still 0.
        let tmp = open(&cx, &files, b"/t", OpenFlags::CREAT | OpenFlags::WRONLY);
        assert_eq!(fsync(&files, tmp), Ok(0));
    }
}
