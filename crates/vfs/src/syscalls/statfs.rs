//! statfs(2) and fstatfs(2): statistics of the file system holding a file.
//!
//! As Linux: statfs follows symlinks and checks the path before the buffer (`ENOENT` comes
//! before `EFAULT`); fstatfs accepts `O_PATH` fds (Linux's `fdget_raw`). `f_flags` carries
//! `ST_VALID`, the mount's `ST_RDONLY`, `ST_NOSUID`, `ST_NODEV` and `ST_NOEXEC`, and
//! `ST_NOATIME` (every oxv mount behaves that way; Linux's default mounts say `ST_RELATIME`). Files with no place in the tree
//! (pipes, sockets, event fds, the console on fds 0-2) report the pseudo file system Linux
//! keeps them on: pipefs, sockfs, devpts, anon_inodefs.

use super::{copy_nonempty_path, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::{FsStats, Mount};
use crate::node::FileKind;
use oxv_abi::linux::fs::{AT_FDCWD, ST_NOATIME, ST_VALID, Statfs};
use oxv_abi::{SysResult, UserCStr, UserMemory, UserPtr};

/// The `struct statfs` for `stats`, seen through `mount` (`None` for a pseudo file system).
pub fn to_statfs(stats: &FsStats, mount: Option<&Mount>) -> Statfs {
    let flags = mount.map_or(ST_VALID | ST_NOATIME, Mount::statfs_flags);
    let long = |v: u64| v.min(i64::MAX as u64) as i64;
    Statfs {
        f_type: long(stats.magic),
        f_bsize: long(stats.block_size),
        f_blocks: long(stats.blocks),
        f_bfree: long(stats.free_blocks),
        f_bavail: long(stats.avail_blocks),
        f_files: long(stats.files),
        f_ffree: long(stats.free_files),
        f_fsid: [stats.fsid[0] as i32, stats.fsid[1] as i32],
        f_namelen: long(stats.name_max),
        f_frsize: long(stats.block_size),
        f_flags: flags as i64,
        f_spare: [0; 4],
    }
}

/// statfs(2).
pub fn statfs(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    buf: UserPtr<Statfs>,
) -> SysResult {
    let path = copy_nonempty_path(mem, path)?;
    let loc = lookup_at(cx, files, AT_FDCWD, &path, true)?;
    let out = to_statfs(&loc.mount().fs().stats(), Some(loc.mount()));
    buf.write(mem, &out)?;
    Ok(0)
}

/// fstatfs(2).
pub fn fstatfs(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    buf: UserPtr<Statfs>,
) -> SysResult {
    let file = files.get(fd)?;
    let out = match file.location() {
        Some(loc) => to_statfs(&loc.mount().fs().stats(), Some(loc.mount())),
        None => {
            let pseudo = match file.stat()?.kind {
                FileKind::Fifo => "pipefs",
                FileKind::Socket => "sockfs",
                FileKind::CharDevice => "devpts",
                _ => "anon_inodefs",
            };
            to_statfs(&pseudo_stats(pseudo), None)
        }
    };
    buf.write(mem, &out)?;
    Ok(0)
}

/// The statistics of Linux's internal pseudo file systems.
fn pseudo_stats(name: &str) -> FsStats {
    use linux_raw_sys::general as g;
    let magic = match name {
        "pipefs" => g::PIPEFS_MAGIC,
        "sockfs" => g::SOCKFS_MAGIC,
        "devpts" => g::DEVPTS_SUPER_MAGIC,
        _ => g::ANON_INODE_FS_MAGIC,
    };
    FsStats {
        magic: magic as u64,
        ..FsStats::without_size(name)
    }
}

#[cfg(all(test, feature = "ext2"))]
mod tests {
    use super::*;
    use crate::syscalls::sync::tests::world;
    use oxv_abi::Errno;
    use oxv_abi::linux::fs::OpenFlags;
    use oxv_abi::user::fake::FakeUserMemory;

    #[test]
    fn statfs_reports_the_file_system_of_the_path() {
        let (cx, files, _disk) = world();
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x2000, true);
        mem.poke(0x1000, b"/mnt/lost+found\0");
        let out = UserPtr::<Statfs>::new(0x2000);
        assert_eq!(
            statfs(&cx, &files, &mut mem, UserCStr::new(0x1000), out),
            Ok(0)
        );
        let s = out.read(&mem).unwrap();
        assert_eq!(s.f_type, linux_raw_sys::general::EXT2_SUPER_MAGIC as i64);
        assert_eq!((s.f_bsize, s.f_frsize, s.f_namelen), (1024, 1024, 255));
        assert!(s.f_bfree > 0 && s.f_bfree <= s.f_blocks && s.f_bavail < s.f_bfree);
        assert_eq!(s.f_flags as u64, ST_VALID | ST_NOATIME);
        assert!(s.f_files > 0 && s.f_ffree == s.f_files - 11);

        mem.poke(0x1000, b"/\0");
        assert_eq!(
            statfs(&cx, &files, &mut mem, UserCStr::new(0x1000), out),
            Ok(0)
        );
        let s = out.read(&mem).unwrap();
        assert_eq!(s.f_type, linux_raw_sys::general::TMPFS_MAGIC as i64);

        // The path is checked before the buffer.
        mem.poke(0x1000, b"/nope\0");
        let bad = UserPtr::<Statfs>::new(0x9000);
        assert_eq!(
            statfs(&cx, &files, &mut mem, UserCStr::new(0x1000), bad),
            Err(Errno::ENOENT)
        );
        mem.poke(0x1000, b"/mnt\0");
        assert_eq!(
            statfs(&cx, &files, &mut mem, UserCStr::new(0x1000), bad),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn fstatfs_takes_path_fds_and_refuses_closed_ones() {
        let (cx, files, _disk) = world();
        let mut mem = FakeUserMemory::new();
        mem.map(0x2000, 0x1000, true);
        let out = UserPtr::<Statfs>::new(0x2000);
        let f = cx.open(b"/mnt", OpenFlags::PATH, 0).unwrap();
        let fd = files.insert(f, false).unwrap();
        assert_eq!(fstatfs(&files, &mut mem, fd, out), Ok(0));
        assert_eq!(out.read(&mem).unwrap().f_type, 0xef53);
        assert_eq!(fstatfs(&files, &mut mem, 77, out), Err(Errno::EBADF));
    }
}
