//! Inodes: what a file system stores, seen the same way whatever the file system.
//!
//! An [`Inode`] is one file-system object (directory, regular file, symlink, device node...).
//! It is what a path names; it is not an open file (that is an
//! [`OpenFile`](crate::OpenFile) with its own offset and flags). The trait plays the role of
//! Linux's `inode_operations` plus the data half of `file_operations` for regular files:
//! lookup, create, unlink, rename and directory listing on directories; `read_at`/`write_at`
//! on regular files; `read_link` on symlinks. Every method has a default that fails the way
//! Linux fails when the object is of the wrong kind (`ENOTDIR`, `EINVAL`...) or the file system
//! lacks the operation (`EPERM` for a namespace change in a read-only-by-design directory), so
//! a file system implements only what its objects support.
//!
//! Inode methods are the file system's mechanism only: they do not check permissions, mount
//! flags (read-only), mountpoints or path syntax (`.`/`..`, trailing slashes). The path walk
//! and the syscall layer do that before calling them. Names passed in are single components:
//! non-empty, without `/` or NUL, not `.` or `..`, at most [`NAME_MAX`] bytes.
//!
//! Operations that change a file take `now`, the time to stamp; none reads a clock.

use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::time::Timestamp;
use crate::write_access::WriteCount;
use crate::xattr::XattrSet;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use oxv_abi::Errno;
use oxv_abi::linux::fs::{
    NAME_MAX, RenameFlags, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
    Stat, Statx, StatxMask, dt,
};

/// The type of a file system object (the `S_IFMT` part of a mode).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix-domain socket node.
    Socket,
}

impl FileKind {
    /// The `S_IF*` bits.
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileKind::Regular => S_IFREG,
            FileKind::Directory => S_IFDIR,
            FileKind::Symlink => S_IFLNK,
            FileKind::CharDevice => S_IFCHR,
            FileKind::BlockDevice => S_IFBLK,
            FileKind::Fifo => S_IFIFO,
            FileKind::Socket => S_IFSOCK,
        }
    }

    /// The kind named by the `S_IFMT` bits of `mode`, if they name one.
    pub const fn from_mode(mode: u32) -> Option<FileKind> {
        Some(match mode & S_IFMT {
            S_IFREG => FileKind::Regular,
            S_IFDIR => FileKind::Directory,
            S_IFLNK => FileKind::Symlink,
            S_IFCHR => FileKind::CharDevice,
            S_IFBLK => FileKind::BlockDevice,
            S_IFIFO => FileKind::Fifo,
            S_IFSOCK => FileKind::Socket,
            _ => return None,
        })
    }

    /// The `d_type` getdents64(2) reports.
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileKind::Regular => dt::REG,
            FileKind::Directory => dt::DIR,
            FileKind::Symlink => dt::LNK,
            FileKind::CharDevice => dt::CHR,
            FileKind::BlockDevice => dt::BLK,
            FileKind::Fifo => dt::FIFO,
            FileKind::Socket => dt::SOCK,
        }
    }
}

/// A device number: which file system holds a file (`st_dev`) or which driver a device node
/// opens (`st_rdev`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId {
    /// Major number (the driver), 12 bits in Linux's encoding.
    pub major: u32,
    /// Minor number (the instance), 20 bits in Linux's encoding.
    pub minor: u32,
}

impl DeviceId {
    /// A device number.
    pub const fn new(major: u32, minor: u32) -> Self {
        DeviceId { major, minor }
    }

    /// The 32-bit form `struct stat` carries (`new_encode_dev`): minor bits 0..8 in bits 0..8,
    /// the major in bits 8..20, minor bits 8..20 in bits 20..32. glibc's `major()`/`minor()`
    /// decode it.
    pub const fn encode(self) -> u64 {
        let (ma, mi) = (self.major as u64 & 0xfff, self.minor as u64 & 0xf_ffff);
        (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12)
    }

    /// The inverse of [`DeviceId::encode`].
    pub const fn decode(v: u64) -> Self {
        DeviceId {
            major: ((v >> 8) & 0xfff) as u32,
            minor: ((v & 0xff) | ((v >> 12) & 0xfff00)) as u32,
        }
    }
}

/// Everything stat(2) reports about an inode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The device of the file system that holds the inode.
    pub dev: DeviceId,
    /// Inode number, unique within the file system.
    pub ino: u64,
    /// Object type.
    pub kind: FileKind,
    /// Permission bits (`mode & 0o7777`).
    pub perm: u32,
    /// Hard links; 0 once the last name is gone (the inode lives while files are open).
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// For device nodes, the device they open.
    pub rdev: DeviceId,
    /// Size in bytes (for symlinks, the target length).
    pub size: u64,
    /// Storage used, in 512-byte units.
    pub blocks: u64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// Last access.
    pub atime: Timestamp,
    /// Last data change.
    pub mtime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
}

impl Metadata {
    /// The full `st_mode`: type bits and permission bits.
    pub const fn mode(&self) -> u32 {
        self.kind.mode_bits() | (self.perm & 0o7777)
    }

    /// The `struct stat` view.
    pub fn to_stat(&self) -> Stat {
        Stat {
            st_dev: self.dev.encode(),
            st_ino: self.ino,
            st_nlink: self.nlink,
            st_mode: self.mode(),
            st_uid: self.uid,
            st_gid: self.gid,
            st_rdev: self.rdev.encode(),
            st_size: self.size.min(i64::MAX as u64) as i64,
            st_blksize: self.blksize as i64,
            st_blocks: self.blocks.min(i64::MAX as u64) as i64,
            st_atime: self.atime.secs,
            st_atime_nsec: self.atime.nanos as u64,
            st_mtime: self.mtime.secs,
            st_mtime_nsec: self.mtime.nanos as u64,
            st_ctime: self.ctime.secs,
            st_ctime_nsec: self.ctime.nanos as u64,
            ..Stat::default()
        }
    }

    /// The `struct statx` view. Like Linux on tmpfs, every basic field is filled whatever the
    /// caller asked for, and `stx_mask` says so; `mnt_id` is the mount the file was found on.
    pub fn to_statx(&self, mnt_id: u64) -> Statx {
        Statx {
            stx_mask: (StatxMask::BASIC_STATS | StatxMask::MNT_ID).bits(),
            stx_blksize: self.blksize,
            stx_nlink: self.nlink.min(u32::MAX as u64) as u32,
            stx_uid: self.uid,
            stx_gid: self.gid,
            stx_mode: self.mode() as u16,
            stx_ino: self.ino,
            stx_size: self.size,
            stx_blocks: self.blocks,
            stx_atime: self.atime.to_statx(),
            stx_ctime: self.ctime.to_statx(),
            stx_mtime: self.mtime.to_statx(),
            stx_rdev_major: self.rdev.major,
            stx_rdev_minor: self.rdev.minor,
            stx_dev_major: self.dev.major,
            stx_dev_minor: self.dev.minor,
            stx_mnt_id: mnt_id,
            ..Statx::default()
        }
    }
}

/// What [`Inode::create`] makes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NewNode<'a> {
    /// An empty regular file.
    Regular,
    /// An empty directory.
    Directory,
    /// A symlink to this target (non-empty, no NUL).
    Symlink(&'a [u8]),
    /// A character device node.
    CharDevice(DeviceId),
    /// A block device node.
    BlockDevice(DeviceId),
    /// A named pipe.
    Fifo,
    /// A socket node.
    Socket,
}

impl NewNode<'_> {
    /// The kind of object this makes.
    pub const fn kind(&self) -> FileKind {
        match self {
            NewNode::Regular => FileKind::Regular,
            NewNode::Directory => FileKind::Directory,
            NewNode::Symlink(_) => FileKind::Symlink,
            NewNode::CharDevice(_) => FileKind::CharDevice,
            NewNode::BlockDevice(_) => FileKind::BlockDevice,
            NewNode::Fifo => FileKind::Fifo,
            NewNode::Socket => FileKind::Socket,
        }
    }
}

/// The initial attributes of a new inode; all its times are set to `now`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NewAttrs {
    /// Permission bits, already filtered through the umask.
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Creation time.
    pub now: Timestamp,
}

/// A change of attributes (chmod, chown, truncate, utimens). `None` leaves a field alone;
/// `ctime` is always set.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits.
    pub perm: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (regular files only; `EISDIR` for directories, `EINVAL` otherwise).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<Timestamp>,
    /// New modification time.
    pub mtime: Option<Timestamp>,
    /// The status-change time to record.
    pub ctime: Timestamp,
}

/// One directory entry as [`Inode::read_dir`] reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Inode number of the entry.
    pub ino: u64,
    /// Type of the entry.
    pub kind: FileKind,
    /// Name (`.` and `..` included, first).
    pub name: &'a [u8],
    /// The cursor to pass to `read_dir` to continue after this entry (getdents64's `d_off`).
    pub next: u64,
}

/// Called once per entry by [`Inode::read_dir`]; returns `false` to stop (the entry it was
/// given is then not consumed).
pub type DirSink<'s> = dyn FnMut(&DirEntry<'_>) -> bool + 's;

/// A file-system object. See the [module docs](self) for the contract.
pub trait Inode: Send + Sync {
    /// This inode as `Any`, so a file system can recognise its own inodes (rename, link).
    fn as_any(&self) -> &dyn Any;

    /// Inode number, unique within the file system. Cheap.
    fn ino(&self) -> u64;

    /// Object type; never changes. Cheap.
    fn kind(&self) -> FileKind;

    /// Current attributes.
    fn metadata(&self) -> Metadata;

    /// The count of writers and running programs of this inode (see
    /// [`crate::write_access`]), the same one for every handle on the inode. `None`, the
    /// default, for a file system whose files are never executed: writes are never denied.
    fn write_count(&self) -> Option<&WriteCount> {
        None
    }

    /// Changes attributes. The default refuses (`EPERM`), for file systems with fixed ones.
    fn set_attr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let _ = attr;
        Err(Errno::EPERM)
    }

    /// Regular files: reads up to `dst.len()` bytes at `offset`; 0 at or past the end. Holes
    /// read as zeros. Partial on a fault after some bytes, `EFAULT` if none could be stored.
    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        let _ = (offset, dst);
        Err(self.wrong_kind_for_data())
    }

    /// Regular files: writes `src` at `pos` (or at the end, atomically, for
    /// [`WritePos::Append`]), growing the file, and stamps mtime/ctime with `now` if anything
    /// was written.
    fn write_at(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        now: Timestamp,
    ) -> Result<Written, Errno> {
        let _ = (pos, src, now);
        Err(self.wrong_kind_for_data())
    }

    /// Directories: the entry called `name` (`ENOENT` if none).
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let _ = name;
        Err(Errno::ENOTDIR)
    }

    /// Directories: the parent directory, within this file system (the root is its own
    /// parent). `ENOENT` once the directory has been removed.
    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Directories: makes a new entry `name` (`EEXIST` if taken, `ENOENT` if this directory
    /// was removed).
    fn create(
        &self,
        name: &[u8],
        node: NewNode<'_>,
        attrs: &NewAttrs,
    ) -> Result<Arc<dyn Inode>, Errno> {
        let _ = (name, node, attrs);
        Err(self.unsupported_dir_op())
    }

    /// Directories: adds `name` as another link to `target`, an inode of the same file system
    /// (`EXDEV` otherwise, `EPERM` for directories).
    fn link(&self, name: &[u8], target: &dyn Inode, now: Timestamp) -> Result<(), Errno> {
        let _ = (name, target, now);
        Err(self.unsupported_dir_op())
    }

    /// Directories: removes the non-directory entry `name` (`EISDIR` for a directory).
    fn unlink(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        let _ = (name, now);
        Err(self.unsupported_dir_op())
    }

    /// Directories: removes the empty directory `name` (`ENOTDIR`, `ENOTEMPTY`).
    fn rmdir(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        let _ = (name, now);
        Err(self.unsupported_dir_op())
    }

    /// Directories: moves entry `old_name` to `new_name` in `new_dir` (a directory of the same
    /// file system, else `EXDEV`), replacing a compatible target as rename(2) does.
    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &dyn Inode,
        new_name: &[u8],
        flags: RenameFlags,
        now: Timestamp,
    ) -> Result<(), Errno> {
        let _ = (old_name, new_dir, new_name, flags, now);
        Err(self.unsupported_dir_op())
    }

    /// Directories: calls `sink` for each entry from `cursor` on (0 = the start, `.` first),
    /// until `sink` returns `false` or the entries run out. Cursors stay valid while entries
    /// are added and removed: an entry present for the whole listing is reported exactly
    /// once; one added, removed or renamed meanwhile may or may not be (as readdir(3) says).
    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        let _ = (cursor, sink);
        Err(Errno::ENOTDIR)
    }

    /// Symlinks: the target.
    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// Symlinks: whether this is a magic link, one that names an object rather than a path
    /// (procfs's `/proc/<pid>/exe`, `cwd`, `fd/N`), which openat2(2)'s
    /// `RESOLVE_NO_MAGICLINKS` refuses. The default says no.
    fn is_magic_link(&self) -> bool {
        false
    }

    /// Regular files: whether mmap(2) may map the file. Files whose contents are rendered
    /// on each read (procfs, sysfs) say no, as Linux's have no `mmap` operation (`ENODEV`):
    /// a fault would render them with the address space locked. The default says yes.
    fn is_mappable(&self) -> bool {
        true
    }

    /// Regular files: the pages `MAP_SHARED` mappings of the file map, which read and write
    /// use too (see [`oxv_mm::SharedMapSource`]). `None`, the default, for files that cannot
    /// be memory-mapped (mmap(2) then fails with `ENODEV`, as for most of `/proc`).
    fn page_cache(&self) -> Option<Arc<dyn oxv_mm::SharedMapSource>> {
        None
    }

    /// Extended attributes (see [`crate::xattr`]): the value of the attribute with the full
    /// name `name` (`user.x`), `ENODATA` if there is none. The default, for a file system
    /// without extended attributes, is `EOPNOTSUPP`.
    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let _ = name;
        Err(Errno::EOPNOTSUPP)
    }

    /// Sets attribute `name` to `value`, or removes it (`None`; `ENODATA` if absent), as `how`
    /// says, and stamps ctime with `now`. The default is `EOPNOTSUPP`.
    fn set_xattr(
        &self,
        name: &[u8],
        value: Option<&[u8]>,
        how: XattrSet,
        now: Timestamp,
    ) -> Result<(), Errno> {
        let _ = (name, value, how, now);
        Err(Errno::EOPNOTSUPP)
    }

    /// The names of every extended attribute, each followed by a NUL. The default is none.
    fn list_xattr(&self) -> Result<Vec<u8>, Errno> {
        Ok(Vec::new())
    }

    /// Regular files: fallocate(2) on `[offset, offset + len)`; `mode` is 0 (allocate, growing
    /// the file), `FALLOC_FL_KEEP_SIZE` (allocate only) or `FALLOC_FL_PUNCH_HOLE |
    /// FALLOC_FL_KEEP_SIZE` (free, reading as zeros); other modes are the file system's to
    /// refuse with `EOPNOTSUPP`. Stamps times with `now` as the file system does. The default,
    /// for file systems without the operation (Linux's ext2), is `EOPNOTSUPP`.
    fn allocate(&self, mode: u32, offset: u64, len: u64, now: Timestamp) -> Result<(), Errno> {
        let _ = (mode, offset, len, now);
        Err(Errno::EOPNOTSUPP)
    }

    /// Regular files: lseek(2) `SEEK_DATA` (`data`) or `SEEK_HOLE` from `offset`: the first
    /// offset at or after it that is data, or in a hole (the end of the file counts as a
    /// hole); `None` when `offset` is at or past the end (`ENXIO`). The default treats the
    /// whole file as data, as Linux's `generic_file_llseek` does.
    fn seek_data(&self, offset: u64, data: bool) -> Option<u64> {
        let size = self.metadata().size;
        if offset >= size {
            None
        } else if data {
            Some(offset)
        } else {
            Some(size)
        }
    }

    /// The error data I/O gets on an inode that is not a regular file.
    #[doc(hidden)]
    fn wrong_kind_for_data(&self) -> Errno {
        if self.kind() == FileKind::Directory {
            Errno::EISDIR
        } else {
            Errno::EINVAL
        }
    }

    /// The error a namespace change gets where the inode does not support it: `EPERM` on a
    /// directory of a file system that cannot change (Linux's "no `mkdir` operation"),
    /// `ENOTDIR` on anything else.
    #[doc(hidden)]
    fn unsupported_dir_op(&self) -> Errno {
        if self.kind() == FileKind::Directory {
            Errno::EPERM
        } else {
            Errno::ENOTDIR
        }
    }
}

/// Whether `name` is a component an inode method accepts (see the [module docs](self)).
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_encode_like_glibc_makedev() {
        // makedev(1, 3) == 0x103 (/dev/null); makedev(136, 0x12345) spreads the minor.
        assert_eq!(DeviceId::new(1, 3).encode(), 0x103);
        assert_eq!(DeviceId::new(8, 0x1_2345).encode(), 0x1230_0845);
        for d in [
            DeviceId::new(0, 0),
            DeviceId::new(5, 1),
            DeviceId::new(0xfff, 0xf_ffff),
        ] {
            assert_eq!(DeviceId::decode(d.encode()), d);
        }
    }

    #[test]
    fn kinds_roundtrip_through_mode_bits() {
        for k in [
            FileKind::Regular,
            FileKind::Directory,
            FileKind::Symlink,
            FileKind::CharDevice,
            FileKind::BlockDevice,
            FileKind::Fifo,
            FileKind::Socket,
        ] {
            assert_eq!(FileKind::from_mode(k.mode_bits() | 0o644), Some(k));
        }
        assert_eq!(FileKind::from_mode(0o644), None);
    }

    #[test]
    fn names() {
        assert!(is_valid_name(b"a"));
        assert!(is_valid_name(&[b'x'; 255]));
        assert!(!is_valid_name(&[b'x'; 256]));
        assert!(!is_valid_name(b""));
        assert!(!is_valid_name(b"."));
        assert!(!is_valid_name(b".."));
        assert!(!is_valid_name(b"a/b"));
        assert!(!is_valid_name(b"a\0"));
    }
}
