//! Corrupt images (issue #9): images made by `mke2fs -d`, mutated at random and at the
//! structures a driver trusts (superblock, group descriptors, bitmaps, inodes, directory
//! blocks, indirect blocks), then mounted and exercised by [`super::super::exercise`]. No
//! mutation may panic, hang, or fail with anything but a `MountError` or an errno a file
//! system answers. Deterministic: a failure names its case, which reruns alone with
//! `OXV_EXT2_CASE=N` and leaves the image in the temporary directory; `OXV_EXT2_CASES=N`
//! runs N cases instead of 600.

use super::*;
use crate::ext2::exercise::{self, Limits, Report};
use std::os::unix::fs::symlink;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Mutations per image and block size (`OXV_EXT2_CASES=N` for a longer campaign).
const CASES: u64 = 600;

/// Longer than any case takes in a debug build on a busy machine (well under a second).
const WATCHDOG: Duration = Duration::from_secs(30);

/// xorshift64*: the test needs reproducible numbers, not good ones.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Where an image keeps what a driver trusts, found by reading it as mke2fs wrote it.
struct Map {
    block_size: usize,
    groups: usize,
    gdt: usize,
    /// (inode number, byte offset of the inode) of every inode in use.
    inodes: Vec<(u32, usize)>,
    /// Byte offsets of directory blocks.
    dir_blocks: Vec<usize>,
    /// Byte offsets of indirect (and double-indirect) blocks.
    indirect_blocks: Vec<usize>,
    /// (block bitmap, inode bitmap) byte offsets per group.
    bitmaps: Vec<(usize, usize)>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

impl Map {
    fn of(img: &[u8]) -> Map {
        let sb = 1024;
        let block_size = 1024usize << le32(img, sb + 24);
        let blocks = le32(img, sb + 4) as usize;
        let first_data = le32(img, sb + 20) as usize;
        let per_group = le32(img, sb + 32) as usize;
        let ipg = le32(img, sb + 40) as usize;
        let inode_size = le16(img, sb + 88) as usize;
        let groups = (blocks - first_data).div_ceil(per_group);
        let gdt = (first_data + 1) * block_size;
        let mut map = Map {
            block_size,
            groups,
            gdt,
            inodes: Vec::new(),
            dir_blocks: Vec::new(),
            indirect_blocks: Vec::new(),
            bitmaps: Vec::new(),
        };
        for g in 0..groups {
            let d = gdt + g * 32;
            map.bitmaps.push((
                le32(img, d) as usize * block_size,
                le32(img, d + 4) as usize * block_size,
            ));
            let table = le32(img, d + 8) as usize * block_size;
            for i in 0..ipg {
                let at = table + i * inode_size;
                let ino = (g * ipg + i + 1) as u32;
                let mode = le16(img, at);
                if mode == 0 || le16(img, at + 26) == 0 {
                    continue;
                }
                map.inodes.push((ino, at));
                let ptr = |k: usize| le32(img, at + 40 + 4 * k) as usize;
                let kind = mode & 0xf000;
                if kind == 0x4000 {
                    for k in 0..12 {
                        if ptr(k) != 0 {
                            map.dir_blocks.push(ptr(k) * block_size);
                        }
                    }
                }
                if kind == 0x8000 || kind == 0x4000 {
                    if ptr(12) != 0 {
                        map.indirect_blocks.push(ptr(12) * block_size);
                    }
                    if ptr(13) != 0 {
                        let dind = ptr(13) * block_size;
                        map.indirect_blocks.push(dind);
                        let first = le32(img, dind) as usize;
                        if first != 0 {
                            map.indirect_blocks.push(first * block_size);
                        }
                    }
                }
            }
        }
        map
    }
}

/// Values a corrupt field likes to hold.
fn odd_value(rng: &mut Rng, old: u32, here: u32) -> u32 {
    match rng.below(12) {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => u32::MAX,
        4 => 0x8000_0000,
        5 => 0x7fff_ffff,
        6 => old.wrapping_add(1),
        7 => old.wrapping_sub(1),
        8 => old ^ (1 << rng.below(32)),
        9 => here,
        10 => rng.below(64) as u32,
        _ => rng.next() as u32,
    }
}

fn put32(img: &mut [u8], at: usize, v: u32) {
    img[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(img: &mut [u8], at: usize, v: u16) {
    img[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Mutates `img` in one of the ways a broken disk or a hostile image would; says how.
fn mutate(img: &mut [u8], map: &Map, rng: &mut Rng) -> String {
    let bs = map.block_size;
    match rng.below(9) {
        0 => {
            let n = 1 + rng.below(32);
            let meta_end = (map.gdt + 64 * bs).min(img.len());
            for _ in 0..n {
                let at = rng.below(meta_end);
                img[at] = rng.next() as u8;
            }
            std::format!("{n} random bytes in the first {meta_end} bytes")
        }
        1 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.below(img.len());
                img[at] ^= 1 << rng.below(8);
            }
            std::format!("{n} bit flips anywhere")
        }
        2 => {
            // s_inodes_count, s_blocks_count, s_r_blocks_count, s_free_blocks_count,
            // s_free_inodes_count, s_first_data_block, s_log_block_size, s_log_frag_size,
            // s_blocks_per_group, s_frags_per_group, s_inodes_per_group, s_state/s_errors,
            // s_rev_level, s_first_ino, s_inode_size, the three feature words,
            // s_reserved_gdt_blocks.
            let field = rng.pick(&[
                0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 56, 58, 76, 84, 88, 92, 96, 100, 206,
            ]);
            let at = 1024 + field;
            let (old, v) = if field == 58 || field == 88 || field == 206 {
                let old = le16(img, at) as u32;
                let v = odd_value(rng, old, 0) as u16;
                put16(img, at, v);
                (old, v as u32)
            } else {
                let old = le32(img, at);
                let v = odd_value(rng, old, 0);
                put32(img, at, v);
                (old, v)
            };
            std::format!("superblock field {field}: {old:#x} -> {v:#x}")
        }
        3 => {
            let g = rng.below(map.groups);
            let field = rng.pick(&[0, 4, 8, 12, 14, 16]);
            let at = map.gdt + g * 32 + field;
            let old = le32(img, at);
            let v = odd_value(rng, old, (at / bs) as u32);
            if field >= 12 {
                put16(img, at, v as u16);
            } else {
                put32(img, at, v);
            }
            std::format!("group {g} descriptor field {field}: {old:#x} -> {v:#x}")
        }
        4 => {
            let g = rng.below(map.groups);
            let (bb, ib) = map.bitmaps[g];
            let (which, at) = if rng.below(2) == 0 {
                ("block", bb)
            } else {
                ("inode", ib)
            };
            let fill = rng.pick(&[0u8, 0xff, 0x55]);
            if at + bs <= img.len() {
                img[at..at + bs].fill(fill);
            }
            std::format!("group {g} {which} bitmap filled with {fill:#x}")
        }
        5 => {
            let (ino, at) = map.inodes[rng.below(map.inodes.len())];
            // i_mode, i_size, i_links_count, i_blocks, i_flags, i_block[0..15], i_file_acl,
            // i_size_high.
            let mut fields = std::vec![0usize, 4, 26, 28, 32, 104, 108];
            fields.extend((0..15).map(|k| 40 + 4 * k));
            let field = rng.pick(&fields);
            let old = le32(img, at + field);
            let v = if field == 0 {
                let kinds = [
                    0x1000, 0x2000, 0x4000, 0x6000, 0x8000, 0xa000, 0xc000, 0xf000,
                ];
                (old & 0xffff_0fff & 0xffff) | rng.pick(&kinds) | (old & 0xffff_0000)
            } else {
                odd_value(rng, old, ((at + field) / bs) as u32)
            };
            if field == 0 || field == 26 {
                put16(img, at + field, v as u16);
            } else {
                put32(img, at + field, v);
            }
            std::format!("inode {ino} field {field}: {old:#x} -> {v:#x}")
        }
        6 | 7 => {
            let Some(&block) = map.dir_blocks.get(rng.below(map.dir_blocks.len())) else {
                return "nothing (no directory block)".into();
            };
            // Follow the entry chain a random number of steps, then break one field.
            let mut at = block;
            for _ in 0..rng.below(8) {
                let rec = le16(img, at + 4) as usize;
                if rec < 8 || at + rec + 8 > block + bs {
                    break;
                }
                at += rec;
            }
            let field = rng.pick(&[0usize, 4, 6, 7]);
            let old = le32(img, at + field);
            match field {
                0 => {
                    let v = odd_value(rng, old, 2);
                    put32(img, at, v);
                    std::format!("dirent at {at:#x} inode {old:#x} -> {v:#x}")
                }
                4 => {
                    let v = rng.pick(&[0u16, 1, 4, 8, 12, 13, bs as u16, bs as u16 + 4, u16::MAX]);
                    put16(img, at + 4, v);
                    std::format!("dirent at {at:#x} rec_len -> {v}")
                }
                6 => {
                    let any = rng.next() as u8;
                    let v = rng.pick(&[0u8, 1, 255, any]);
                    img[at + 6] = v;
                    std::format!("dirent at {at:#x} name_len -> {v}")
                }
                _ => {
                    let v = rng.next() as u8;
                    img[at + 7] = v;
                    std::format!("dirent at {at:#x} file_type -> {v}")
                }
            }
        }
        _ => {
            let Some(&block) = map
                .indirect_blocks
                .get(rng.below(map.indirect_blocks.len()))
            else {
                return "nothing (no indirect block)".into();
            };
            let slot = rng.below(bs / 4);
            let at = block + slot * 4;
            let old = le32(img, at);
            let v = odd_value(rng, old, (block / bs) as u32);
            put32(img, at, v);
            std::format!(
                "indirect block {:#x} slot {slot}: {old:#x} -> {v:#x}",
                block / bs
            )
        }
    }
}

/// The tree every image holds: files of every layout, both symlink kinds, a directory of
/// many entries (hashed after `e2fsck -D`), a nested one.
fn host_tree(scratch: &Scratch, block_size: usize) -> PathBuf {
    let root = scratch.path("src");
    for d in ["many", "sub/deeper"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let put = |p: &str, data: &[u8]| std::fs::write(root.join(p), data).expect("write");
    put("small", b"hello, ext2\n");
    put("medium", &pattern(1, 30 * 1024));
    put("sub/deeper/note", b"deep\n");
    for i in 0..120 {
        put(&std::format!("many/entry-{i:04}"), b"x");
    }
    // Double indirect: past 12 + 256 blocks at 1 KiB; at 4 KiB a sparse file reaches past
    // 12 + 1024 blocks with a few blocks of data.
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::File::create(root.join("large")).expect("create");
    if block_size == 1024 {
        f.write_all(&pattern(2, 300 * 1024)).expect("write");
    } else {
        f.write_all(&pattern(2, 60 * 1024)).expect("write");
        f.seek(SeekFrom::Start(5 << 20)).expect("seek");
        f.write_all(b"tail").expect("write");
    }
    drop(f);
    symlink("small", root.join("fast")).expect("symlink");
    symlink("y".repeat(150), root.join("slow")).expect("symlink");
    root
}

fn image(block_size: usize) -> Vec<u8> {
    let scratch = Scratch::new("corrupt");
    let src = host_tree(&scratch, block_size);
    let size_kib = if block_size == 1024 { 1024 } else { 2048 };
    let mut img = mke2fs(&scratch, Some(&src), size_kib, block_size, &["-N", "256"]);
    e2fsck_index_dirs(&scratch, &mut img);
    img
}

/// Runs one case under a watchdog; the panic message or "hang" on failure.
fn guarded(img: Vec<u8>, read_only: bool) -> Result<Report, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| exercise::exercise(img, read_only, Limits::default()));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(Ok(report))) => Ok(report),
        Ok(Ok(Err(v))) => Err(std::format!("violation: {v}")),
        Ok(Err(p)) => Err(std::format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(std::format!("hang: no result after {WATCHDOG:?}")),
    }
}

fn run_cases(block_size: usize) {
    let test = std::format!("corrupt_images_{block_size}");
    if !have_e2fsprogs(&test) {
        return;
    }
    let pristine = image(block_size);
    let map = Map::of(&pristine);
    // The unmutated image must pass and be walked in full.
    let clean = guarded(pristine.clone(), false).expect("the pristine image");
    assert!(clean.mount_error.is_none() && clean.remount_error.is_none());
    assert!(clean.nodes > 2 * 120, "walked only {} inodes", clean.nodes);

    let only: Option<u64> = std::env::var("OXV_EXT2_CASE")
        .ok()
        .map(|v| v.parse().unwrap());
    let cases: u64 = std::env::var("OXV_EXT2_CASES")
        .ok()
        .map_or(CASES, |v| v.parse().unwrap());
    let started = Instant::now();
    let (mut refused, mut failed_calls, mut calls) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in 0..cases {
        if only.is_some_and(|c| c != case) {
            continue;
        }
        let mut rng = Rng::new(case ^ ((block_size as u64) << 32));
        let mut img = pristine.clone();
        let mut how = Vec::new();
        for _ in 0..1 + rng.below(3) {
            how.push(mutate(&mut img, &map, &mut rng));
        }
        let read_only = case % 3 == 0;
        match guarded(img.clone(), read_only) {
            Ok(r) => {
                refused += r.mount_error.is_some() as usize;
                calls += r.calls;
                failed_calls += r.errors;
            }
            Err(e) => {
                let path = std::env::temp_dir().join(std::format!("oxv-ext2-{test}-{case}.img"));
                let _ = std::fs::write(&path, &img);
                failures.push(std::format!(
                    "case {case} ({}, read_only {read_only}): {e}; image {}",
                    how.join("; "),
                    path.display()
                ));
            }
        }
    }
    std::println!(
        "{test}: {cases} cases in {:?}: {refused} refused at mount, {calls} calls, {failed_calls} failed with an errno",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corrupt_images_1k_blocks() {
    run_cases(1024);
}

#[test]
fn corrupt_images_4k_blocks() {
    run_cases(4096);
}
