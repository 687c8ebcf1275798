//! The ext2 on-disk format: the superblock, group descriptors, inodes and directory entries,
//! as "The Second Extended File System" (Poirier) and e2fsprogs' `lib/ext2fs/ext2_fs.h`
//! describe them. Every multi-byte field is little-endian; each struct's size and the offsets
//! the rest of the module relies on are pinned with compile-time asserts.
//!
//! This module only knows bytes: what the fields mean for a mounted file system is decided in
//! [`super::fs`]. Feature bits oxv does not know are kept as they are on disk.

use core::mem::{offset_of, size_of};
use zerocopy::byteorder::{LE, U16, U32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

pub(crate) type Le16 = U16<LE>;
pub(crate) type Le32 = U32<LE>;

/// `s_magic`.
pub(crate) const MAGIC: u16 = linux_raw_sys::general::EXT2_SUPER_MAGIC as u16;
/// Byte offset of the superblock on the device, whatever the block size.
pub(crate) const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the superblock.
pub(crate) const SUPERBLOCK_SIZE: usize = 1024;
/// The root directory's inode number.
pub(crate) const ROOT_INO: u32 = 2;
/// `s_rev_level` of the original format (fixed 128-byte inodes, first inode 11).
pub(crate) const GOOD_OLD_REV: u32 = 0;
/// Inode size of [`GOOD_OLD_REV`] file systems, and the base part of every inode.
pub(crate) const GOOD_OLD_INODE_SIZE: usize = 128;
/// First non-reserved inode of [`GOOD_OLD_REV`] file systems.
pub(crate) const GOOD_OLD_FIRST_INO: u32 = 11;
/// Direct block pointers in `i_block`; then one single, one double, one triple indirect.
pub(crate) const DIRECT_BLOCKS: usize = 12;
/// Entries of `i_block`.
pub(crate) const N_BLOCKS: usize = 15;
/// A symlink target shorter than this lives in `i_block` itself (a "fast" symlink).
pub(crate) const FAST_SYMLINK_MAX: usize = N_BLOCKS * 4;
/// `s_state`: unmounted cleanly.
pub(crate) const STATE_VALID: u16 = 1;
/// Linux ext2's `EXT2_LINK_MAX`: the most hard links an inode may have.
pub(crate) const LINK_MAX: u16 = 32000;
/// Magic of an extended-attribute block (`h_magic`).
pub(crate) const XATTR_MAGIC: u32 = 0xEA02_0000;

/// `s_feature_compat` bits oxv looks at. Compat features may be ignored by a driver that
/// writes; `dir_index` is handled by dropping the index of each directory oxv changes.
pub(crate) mod compat {
    /// Reserved GDT blocks for online resize (inode 7).
    pub const RESIZE_INODE: u32 = 0x0010;
}

/// `s_feature_incompat` bits. A driver must refuse to mount with any bit it does not know.
pub(crate) mod incompat {
    /// Directory entries carry the file type.
    pub const FILETYPE: u32 = 0x0002;
    /// Every feature oxv implements.
    pub const SUPPORTED: u32 = FILETYPE;
    /// The names e2fsprogs gives the bits, for error messages.
    pub const NAMES: &[(u32, &str)] = &[
        (0x0001, "compression"),
        (0x0002, "filetype"),
        (0x0004, "needs_recovery"),
        (0x0008, "journal_dev"),
        (0x0010, "meta_bg"),
        (0x0040, "extent"),
        (0x0080, "64bit"),
        (0x0100, "mmp"),
        (0x0200, "flex_bg"),
        (0x0400, "ea_inode"),
        (0x1000, "dirdata"),
        (0x2000, "metadata_csum_seed"),
        (0x4000, "large_dir"),
        (0x8000, "inline_data"),
        (0x10000, "encrypt"),
        (0x20000, "casefold"),
    ];
}

/// `s_feature_ro_compat` bits. A driver may mount read-only with bits it does not know.
pub(crate) mod ro_compat {
    /// Backup superblocks only in groups 0, 1 and powers of 3, 5 and 7.
    pub const SPARSE_SUPER: u32 = 0x0001;
    /// Files may be 2 GiB or larger (`i_size_high` is used).
    pub const LARGE_FILE: u32 = 0x0002;
    /// Every feature oxv implements.
    pub const SUPPORTED: u32 = SPARSE_SUPER | LARGE_FILE;
    /// The names e2fsprogs gives the bits, for error messages.
    pub const NAMES: &[(u32, &str)] = &[
        (0x0001, "sparse_super"),
        (0x0002, "large_file"),
        (0x0004, "btree_dir"),
        (0x0008, "huge_file"),
        (0x0010, "uninit_bg"),
        (0x0020, "dir_nlink"),
        (0x0040, "extra_isize"),
        (0x0100, "quota"),
        (0x0200, "bigalloc"),
        (0x0400, "metadata_csum"),
        (0x1000, "read-only"),
        (0x2000, "project"),
        (0x8000, "verity"),
        (0x10000, "orphan_present"),
    ];
}

/// Writes the names of the feature `bits` from `names` (hex for unnamed ones), separated by
/// spaces.
pub(crate) fn write_features(
    f: &mut core::fmt::Formatter<'_>,
    bits: u32,
    names: &[(u32, &str)],
) -> core::fmt::Result {
    let mut first = true;
    for i in 0..32 {
        let bit = 1u32 << i;
        if bits & bit == 0 {
            continue;
        }
        if !first {
            f.write_str(" ")?;
        }
        first = false;
        match names.iter().find(|(b, _)| *b == bit) {
            Some((_, name)) => f.write_str(name)?,
            None => write!(f, "{bit:#x}")?,
        }
    }
    Ok(())
}

/// Inode flags (`i_flags`) oxv looks at; the values are Linux's `FS_*_FL` of ioctl_iflags(2).
pub(crate) mod iflags {
    /// The directory has a hashed index (htree) in its first block.
    pub const INDEX: u32 = linux_raw_sys::general::FS_INDEX_FL;
}

/// `file_type` of a directory entry (with the `FILETYPE` feature); 0 is unknown.
pub(crate) mod ftype {
    /// Unknown type (no `FILETYPE` feature).
    pub const UNKNOWN: u8 = 0;
    /// Regular file.
    pub const REG: u8 = 1;
    /// Directory.
    pub const DIR: u8 = 2;
    /// Character device.
    pub const CHR: u8 = 3;
    /// Block device.
    pub const BLK: u8 = 4;
    /// FIFO.
    pub const FIFO: u8 = 5;
    /// Socket.
    pub const SOCK: u8 = 6;
    /// Symbolic link.
    pub const SYMLINK: u8 = 7;
}

/// The superblock: 1024 bytes at byte 1024 of the device. Fields past `s_flags` (ext4's) are
/// carried in `rest` untouched.
#[derive(Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct Superblock {
    pub s_inodes_count: Le32,
    pub s_blocks_count: Le32,
    pub s_r_blocks_count: Le32,
    pub s_free_blocks_count: Le32,
    pub s_free_inodes_count: Le32,
    pub s_first_data_block: Le32,
    pub s_log_block_size: Le32,
    pub s_log_frag_size: Le32,
    pub s_blocks_per_group: Le32,
    pub s_frags_per_group: Le32,
    pub s_inodes_per_group: Le32,
    pub s_mtime: Le32,
    pub s_wtime: Le32,
    pub s_mnt_count: Le16,
    pub s_max_mnt_count: Le16,
    pub s_magic: Le16,
    pub s_state: Le16,
    pub s_errors: Le16,
    pub s_minor_rev_level: Le16,
    pub s_lastcheck: Le32,
    pub s_checkinterval: Le32,
    pub s_creator_os: Le32,
    pub s_rev_level: Le32,
    pub s_def_resuid: Le16,
    pub s_def_resgid: Le16,
    pub s_first_ino: Le32,
    pub s_inode_size: Le16,
    pub s_block_group_nr: Le16,
    pub s_feature_compat: Le32,
    pub s_feature_incompat: Le32,
    pub s_feature_ro_compat: Le32,
    pub s_uuid: [u8; 16],
    pub s_volume_name: [u8; 16],
    pub s_last_mounted: [u8; 64],
    pub s_algorithm_usage_bitmap: Le32,
    pub s_prealloc_blocks: u8,
    pub s_prealloc_dir_blocks: u8,
    pub s_reserved_gdt_blocks: Le16,
    pub s_journal_uuid: [u8; 16],
    pub s_journal_inum: Le32,
    pub s_journal_dev: Le32,
    pub s_last_orphan: Le32,
    pub s_hash_seed: [Le32; 4],
    pub s_def_hash_version: u8,
    pub s_jnl_backup_type: u8,
    pub s_desc_size: Le16,
    pub s_default_mount_opts: Le32,
    pub s_first_meta_bg: Le32,
    pub s_mkfs_time: Le32,
    pub s_jnl_blocks: [Le32; 17],
    pub s_blocks_count_hi: Le32,
    pub s_r_blocks_count_hi: Le32,
    pub s_free_blocks_hi: Le32,
    pub s_min_extra_isize: Le16,
    pub s_want_extra_isize: Le16,
    pub s_flags: Le32,
    pub rest: [u8; 668],
}

const _: () = assert!(size_of::<Superblock>() == SUPERBLOCK_SIZE);
const _: () = assert!(offset_of!(Superblock, s_magic) == 56);
const _: () = assert!(offset_of!(Superblock, s_rev_level) == 76);
const _: () = assert!(offset_of!(Superblock, s_feature_compat) == 92);
const _: () = assert!(offset_of!(Superblock, s_uuid) == 104);
const _: () = assert!(offset_of!(Superblock, s_reserved_gdt_blocks) == 206);
const _: () = assert!(offset_of!(Superblock, s_desc_size) == 254);
const _: () = assert!(offset_of!(Superblock, s_jnl_blocks) == 268);
const _: () = assert!(offset_of!(Superblock, s_want_extra_isize) == 350);

/// A block group descriptor (the 32-byte form; ext4's checksum fields stay zero in ext2).
#[derive(Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct GroupDesc {
    pub bg_block_bitmap: Le32,
    pub bg_inode_bitmap: Le32,
    pub bg_inode_table: Le32,
    pub bg_free_blocks_count: Le16,
    pub bg_free_inodes_count: Le16,
    pub bg_used_dirs_count: Le16,
    pub bg_flags: Le16,
    pub rest: [u8; 12],
}

/// Size of a group descriptor without the `64BIT` feature.
pub(crate) const GROUP_DESC_SIZE: usize = 32;
const _: () = assert!(size_of::<GroupDesc>() == GROUP_DESC_SIZE);
const _: () = assert!(offset_of!(GroupDesc, bg_used_dirs_count) == 16);

/// An inode: the 128-byte base every revision has, then the fields of "large" inodes
/// (`s_inode_size` > 128) that oxv maintains, up to `i_crtime_extra`. A 128-byte inode is
/// read into this struct with the large part zeroed, and only its base is written back.
#[derive(Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct RawInode {
    pub i_mode: Le16,
    pub i_uid: Le16,
    pub i_size: Le32,
    pub i_atime: Le32,
    pub i_ctime: Le32,
    pub i_mtime: Le32,
    pub i_dtime: Le32,
    pub i_gid: Le16,
    pub i_links_count: Le16,
    /// 512-byte sectors in use, indirect and attribute blocks included.
    pub i_blocks: Le32,
    pub i_flags: Le32,
    pub i_osd1: Le32,
    pub i_block: [Le32; N_BLOCKS],
    pub i_generation: Le32,
    pub i_file_acl: Le32,
    /// `i_dir_acl` in revision 0; the high half of the size of regular files since.
    pub i_size_high: Le32,
    pub i_faddr: Le32,
    pub l_i_blocks_hi: Le16,
    pub l_i_file_acl_high: Le16,
    pub l_i_uid_high: Le16,
    pub l_i_gid_high: Le16,
    pub l_i_checksum_lo: Le16,
    pub l_i_reserved: Le16,
    // Large inodes only.
    pub i_extra_isize: Le16,
    pub i_checksum_hi: Le16,
    pub i_ctime_extra: Le32,
    pub i_mtime_extra: Le32,
    pub i_atime_extra: Le32,
    pub i_crtime: Le32,
    pub i_crtime_extra: Le32,
}

/// Bytes of [`RawInode`]: the base and the large-inode fields oxv knows.
pub(crate) const RAW_INODE_SIZE: usize = size_of::<RawInode>();
const _: () = assert!(offset_of!(RawInode, i_block) == 40);
const _: () = assert!(offset_of!(RawInode, i_file_acl) == 104);
const _: () = assert!(offset_of!(RawInode, l_i_uid_high) == 120);
const _: () = assert!(offset_of!(RawInode, i_extra_isize) == GOOD_OLD_INODE_SIZE);
const _: () = assert!(offset_of!(RawInode, i_crtime_extra) == 148);
const _: () = assert!(RAW_INODE_SIZE == 152);

/// The `i_extra_isize` oxv gives new inodes when there is room: every field up to
/// `i_crtime_extra`, rounded to 4 bytes as e2fsck wants (and what mke2fs writes).
pub(crate) const WANT_EXTRA_ISIZE: u16 = 32;

impl RawInode {
    /// A zeroed inode.
    pub fn zeroed() -> RawInode {
        RawInode::new_zeroed()
    }

    /// The full size: `i_size` and, for regular files, `i_size_high`.
    pub fn size(&self, regular: bool) -> u64 {
        let hi = if regular {
            self.i_size_high.get() as u64
        } else {
            0
        };
        (hi << 32) | self.i_size.get() as u64
    }

    /// Sets the size; `i_size_high` only for regular files (a directory's is not a size).
    pub fn set_size(&mut self, size: u64, regular: bool) {
        self.i_size.set(size as u32);
        if regular {
            self.i_size_high.set((size >> 32) as u32);
        }
    }

    /// The owner, with the high 16 bits Linux keeps in `osd2`.
    pub fn uid(&self) -> u32 {
        self.i_uid.get() as u32 | (self.l_i_uid_high.get() as u32) << 16
    }

    /// The group, with its high 16 bits.
    pub fn gid(&self) -> u32 {
        self.i_gid.get() as u32 | (self.l_i_gid_high.get() as u32) << 16
    }

    /// Sets the owner, both halves.
    pub fn set_uid(&mut self, uid: u32) {
        self.i_uid.set(uid as u16);
        self.l_i_uid_high.set((uid >> 16) as u16);
    }

    /// Sets the group, both halves.
    pub fn set_gid(&mut self, gid: u32) {
        self.i_gid.set(gid as u16);
        self.l_i_gid_high.set((gid >> 16) as u16);
    }

    /// The block pointer at `i` of `i_block`.
    pub fn block(&self, i: usize) -> u32 {
        self.i_block[i].get()
    }
}

/// Encodes a time for a 32-bit seconds field and its `_extra` companion: the low 32 bits of
/// the seconds, and in the extra word two epoch bits (seconds 2^32 beyond the signed 32-bit
/// range) and the nanoseconds shifted left by 2 (ext4's `ext4_encode_extra_time`).
pub(crate) fn encode_time(secs: i64, nanos: u32) -> (u32, u32) {
    let lo = secs as u32;
    let epoch = ((secs - lo as i32 as i64) >> 32) as u32 & 3;
    (lo, epoch | (nanos.min(999_999_999) << 2))
}

/// The inverse of [`encode_time`]; `extra` is `None` when the inode has no such field (the
/// seconds are then the signed 32-bit value, as in the original format).
pub(crate) fn decode_time(lo: u32, extra: Option<u32>) -> (i64, u32) {
    let base = lo as i32 as i64;
    match extra {
        None => (base, 0),
        Some(x) => {
            let epoch = (x & 3) as i64;
            let nanos = (x >> 2).min(999_999_999);
            (base + (epoch << 32), nanos)
        }
    }
}

/// The fixed part of a directory entry: inode, record length, name length, file type (the
/// high byte of the name length in revision 0 without `FILETYPE`, always 0 in practice).
pub(crate) const DIRENT_HEADER: usize = 8;

/// The smallest record that holds a name of `name_len` bytes: header plus name, rounded up to
/// 4 bytes.
pub(crate) const fn dirent_size(name_len: usize) -> usize {
    (DIRENT_HEADER + name_len + 3) & !3
}

/// One directory entry, decoded from a directory block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dirent {
    /// Inode number; 0 for an unused record.
    pub inode: u32,
    /// Bytes from this entry to the next.
    pub rec_len: usize,
    /// Length of the name.
    pub name_len: usize,
    /// `ftype::*`.
    pub file_type: u8,
}

impl Dirent {
    /// Decodes the entry at `off` of `block`, checking what e2fsck checks so that a bad
    /// block cannot make the caller read out of bounds or loop: the record is at least
    /// [`DIRENT_HEADER`] bytes, a multiple of 4, inside the block, and holds its name, which is
    /// not empty if the entry is in use.
    pub fn parse(block: &[u8], off: usize) -> Option<Dirent> {
        let h = block.get(off..off + DIRENT_HEADER)?;
        let inode = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let rec_len = decode_rec_len(u16::from_le_bytes([h[4], h[5]]), block.len());
        let name_len = h[6] as usize;
        let file_type = h[7];
        // An entry in use with an empty name is corrupt too (e2fsck's "zero-length name"):
        // it could be neither looked up nor told apart in a getdents(2) listing.
        if rec_len < DIRENT_HEADER
            || rec_len % 4 != 0
            || off + rec_len > block.len()
            || DIRENT_HEADER + name_len > rec_len
            || (inode != 0 && name_len == 0)
        {
            return None;
        }
        Some(Dirent {
            inode,
            rec_len,
            name_len,
            file_type,
        })
    }

    /// The name of the entry at `off`, which [`Dirent::parse`] accepted.
    pub fn name<'b>(&self, block: &'b [u8], off: usize) -> &'b [u8] {
        &block[off + DIRENT_HEADER..off + DIRENT_HEADER + self.name_len]
    }

    /// Writes the header (and the name, if given) at `off`.
    pub fn store(&self, block: &mut [u8], off: usize, name: Option<&[u8]>) {
        let bs = block.len();
        block[off..off + 4].copy_from_slice(&self.inode.to_le_bytes());
        block[off + 4..off + 6].copy_from_slice(&encode_rec_len(self.rec_len, bs).to_le_bytes());
        block[off + 6] = self.name_len as u8;
        block[off + 7] = self.file_type;
        if let Some(name) = name {
            block[off + DIRENT_HEADER..off + DIRENT_HEADER + name.len()].copy_from_slice(name);
        }
    }
}

/// `rec_len` as stored: a 64 KiB record (a whole 64 KiB block) is stored as 65535 or 0.
fn decode_rec_len(raw: u16, block_size: usize) -> usize {
    if block_size >= 65536 && (raw == 65535 || raw == 0) {
        block_size
    } else {
        raw as usize
    }
}

fn encode_rec_len(len: usize, block_size: usize) -> u16 {
    if len >= 65536 && block_size >= 65536 {
        65535
    } else {
        len as u16
    }
}

/// Whether block group `group` holds a backup of the superblock and group descriptors: all
/// groups, or with `SPARSE_SUPER` only 0, 1 and powers of 3, 5 and 7.
pub(crate) fn group_has_super(group: u32, sparse: bool) -> bool {
    if !sparse || group <= 1 {
        return true;
    }
    [3u32, 5, 7].iter().any(|&base| {
        let mut p = base;
        while p < group {
            match p.checked_mul(base) {
                Some(n) => p = n,
                None => return false,
            }
        }
        p == group
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_roundtrip_with_epoch_bits() {
        for (s, n) in [
            (0i64, 0u32),
            (1_700_000_000, 123_456_789),
            (-1, 999_999_999),
            (i32::MAX as i64 + 1, 5),
            ((1i64 << 33) + 7, 1),
            (i32::MIN as i64, 0),
        ] {
            let (lo, x) = encode_time(s, n);
            assert_eq!(decode_time(lo, Some(x)), (s, n), "{s}.{n}");
        }
        assert_eq!(decode_time(u32::MAX, None), (-1, 0));
    }

    #[test]
    fn sparse_super_groups() {
        let with: alloc::vec::Vec<u32> = (0..130).filter(|&g| group_has_super(g, true)).collect();
        assert_eq!(with, [0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125]);
        assert!(group_has_super(4, false));
    }

    #[test]
    fn dirents_parse_and_refuse_bad_records() {
        let mut b = alloc::vec![0u8; 1024];
        Dirent {
            inode: 12,
            rec_len: 1024,
            name_len: 3,
            file_type: ftype::REG,
        }
        .store(&mut b, 0, Some(b"abc"));
        let d = Dirent::parse(&b, 0).expect("valid entry");
        assert_eq!((d.inode, d.rec_len, d.name(&b, 0)), (12, 1024, &b"abc"[..]));
        // A record running past the block, a misaligned one and one too short for its name.
        b[4..6].copy_from_slice(&1028u16.to_le_bytes());
        assert_eq!(Dirent::parse(&b, 0), None);
        b[4..6].copy_from_slice(&10u16.to_le_bytes());
        assert_eq!(Dirent::parse(&b, 0), None);
        b[4..6].copy_from_slice(&8u16.to_le_bytes());
        assert_eq!(Dirent::parse(&b, 0), None);
        assert_eq!(
            Dirent::parse(&b, 1020),
            None,
            "a header cut by the block end"
        );
        assert_eq!(dirent_size(1), 12);
        assert_eq!(dirent_size(4), 12);
        assert_eq!(dirent_size(5), 16);
    }
}
