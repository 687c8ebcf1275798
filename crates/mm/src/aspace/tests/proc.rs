//! /proc/self/maps and smaps, byte for byte against what Linux 6.18 printed for the same
//! mappings; the address space's meminfo numbers.

use super::*;
use crate::fake::{FakeFile, FakePageCache};
use crate::vma::MapIdentity;
use linux_raw_sys::general::MAP_LOCKED;
use std::string::String;

fn cat() -> Arc<FakePageCache> {
    FakePageCache::new(
        vec![0x7f; 3 * PAGE_SIZE],
        MapIdentity {
            dev_major: 0xfe,
            dev_minor: 0,
            inode: 247030,
            path: "/usr/bin/cat".into(),
        },
    )
}

#[test]
fn maps_lines_match_linux() {
    let (mut m, mut a) = setup(64);
    let file = cat();
    let text = 0x5602_08b3_e000;
    a.mmap(
        MmapArgs::file(
            text,
            2 * PG,
            PROT_READ,
            MAP_PRIVATE | MAP_FIXED,
            FakeFile::open(&file, false),
            0,
        ),
        &mut m.platform(),
    )
    .unwrap();
    a.mmap(
        MmapArgs::file(
            text + 2 * PG,
            PG,
            PROT_READ | PROT_EXEC,
            MAP_PRIVATE | MAP_FIXED,
            FakeFile::open(&file, false),
            2 * PG,
        ),
        &mut m.platform(),
    )
    .unwrap();
    a.init_brk(0x5602_091a_f000);
    a.brk(0x5602_091d_0000, &mut m.platform());
    anon(
        &mut a,
        &mut m,
        0x7f01_94c5_0000,
        0x22000,
        RW,
        PRIV | MAP_FIXED,
    )
    .unwrap();
    anon(
        &mut a,
        &mut m,
        0x7f38_c612_1000,
        PG,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
    )
    .unwrap();
    a.map_fixed(
        0x7fe5_20b0_a000,
        4 * PG,
        Prot::READ,
        VmaKind::Vvar,
        &mut m.platform(),
    )
    .unwrap();
    a.map_fixed(
        0x7fe5_20b1_0000,
        2 * PG,
        Prot::READ | Prot::EXEC,
        VmaKind::Vdso,
        &mut m.platform(),
    )
    .unwrap();
    a.map_stack(0x7ffd_dbb3_e000, 0x21000, &mut m.platform())
        .unwrap();
    let mut out = String::new();
    a.render_maps(&mut out).unwrap();
    let expected = "\
560208b3e000-560208b40000 r--p 00000000 fe:00 247030                     /usr/bin/cat
560208b40000-560208b41000 r-xp 00002000 fe:00 247030                     /usr/bin/cat
5602091af000-5602091d0000 rw-p 00000000 00:00 0                          [heap]
7f0194c50000-7f0194c72000 rw-p 00000000 00:00 0 
7f38c6121000-7f38c6122000 rw-s 00000000 00:01 1                          /dev/zero (deleted)
7fe520b0a000-7fe520b0e000 r--p 00000000 00:00 0                          [vvar]
7fe520b10000-7fe520b12000 r-xp 00000000 00:00 0                          [vdso]
7ffddbb1d000-7ffddbb3e000 rw-p 00000000 00:00 0                          [stack]
";
    assert_eq!(out, expected);
    a.teardown(&mut m.platform());
}

#[test]
fn low_addresses_are_padded_to_eight_digits() {
    let (mut m, mut a) = setup(64);
    anon(&mut a, &mut m, 0x40_0000, PG, PROT_NONE, PRIV | MAP_FIXED).unwrap();
    let mut out = String::new();
    a.render_maps(&mut out).unwrap();
    assert_eq!(out, "00400000-00401000 ---p 00000000 00:00 0 \n");
}

/// The kB values of one smaps block that vary in these tests.
struct Sizes {
    size: u64,
    rss: u64,
    pss: u64,
    shared_dirty: u64,
    private_dirty: u64,
    anon: u64,
    locked: u64,
}

/// Linux's smaps block for a VMA (a 6.18 host's output, minus `ProtectionKey`).
fn smaps_block(header: &str, sizes: Sizes, flags: &str) -> String {
    let Sizes {
        size,
        rss,
        pss,
        shared_dirty,
        private_dirty,
        anon,
        locked,
    } = sizes;
    let mut s = String::new();
    s.push_str(header);
    s.push('\n');
    let lines: [(&str, u64); 22] = [
        ("Size:", size),
        ("KernelPageSize:", 4),
        ("MMUPageSize:", 4),
        ("Rss:", rss),
        ("Pss:", pss),
        ("Pss_Dirty:", pss),
        ("Shared_Clean:", 0),
        ("Shared_Dirty:", shared_dirty),
        ("Private_Clean:", 0),
        ("Private_Dirty:", private_dirty),
        ("Referenced:", rss),
        ("Anonymous:", anon),
        ("KSM:", 0),
        ("LazyFree:", 0),
        ("AnonHugePages:", 0),
        ("ShmemPmdMapped:", 0),
        ("FilePmdMapped:", 0),
        ("Shared_Hugetlb:", 0),
        ("Private_Hugetlb:", 0),
        ("Swap:", 0),
        ("SwapPss:", 0),
        ("Locked:", locked),
    ];
    for (l, v) in lines {
        s.push_str(&format!("{l:<16}{v:>8} kB\n"));
    }
    s.push_str("THPeligible:           0\n");
    s.push_str(flags);
    s.push('\n');
    s
}

#[test]
fn smaps_after_fork_matches_linux() {
    // The mappings of a C program run on Linux 6.18: a locked page, a shared anonymous
    // page and two private pages (one touched), all written, then fork().
    let (mut m, mut a) = setup(64);
    let l = anon(
        &mut a,
        &mut m,
        0x7f38_c611_f000,
        PG,
        RW,
        PRIV | MAP_LOCKED | MAP_FIXED,
    )
    .unwrap();
    a.write_bytes(l, &[1], &mut m.platform()).unwrap();
    let s = anon(
        &mut a,
        &mut m,
        0x7f38_c612_1000,
        PG,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
    )
    .unwrap();
    a.write_bytes(s, &[1], &mut m.platform()).unwrap();
    let p = anon(
        &mut a,
        &mut m,
        0x7f38_c630_0000,
        2 * PG,
        RW,
        PRIV | MAP_FIXED,
    )
    .unwrap();
    a.write_bytes(p, &[1], &mut m.platform()).unwrap();
    let child = a
        .fork_copy(FakePageTable::new(), &mut m.platform())
        .unwrap();
    let mut out = String::new();
    a.render_smaps(&m.frames, &mut out).unwrap();
    let expected = [
        smaps_block(
            "7f38c611f000-7f38c6120000 rw-p 00000000 00:00 0 ",
            Sizes { size: 4, rss: 4, pss: 2, shared_dirty: 4, private_dirty: 0, anon: 4, locked: 2 },
            "VmFlags: rd wr mr mw me lo ac ",
        ),
        smaps_block(
            "7f38c6121000-7f38c6122000 rw-s 00000000 00:01 1                          /dev/zero (deleted)",
            Sizes { size: 4, rss: 4, pss: 4, shared_dirty: 0, private_dirty: 4, anon: 0, locked: 0 },
            "VmFlags: rd wr sh mr mw me ms ",
        ),
        smaps_block(
            "7f38c6300000-7f38c6302000 rw-p 00000000 00:00 0 ",
            Sizes { size: 8, rss: 4, pss: 2, shared_dirty: 4, private_dirty: 0, anon: 4, locked: 0 },
            "VmFlags: rd wr mr mw me ac ",
        ),
    ]
    .concat();
    assert_eq!(out, expected);
    child.teardown(&mut m.platform());
    a.teardown(&mut m.platform());
}

#[test]
fn smaps_flags_and_huge_pages() {
    let mut config = AddressSpaceConfig::new(MMAP_BASE);
    config.thp = ThpMode::Always;
    let mut m = FakeMachine::new(2048);
    let mut a = AddressSpace::new(FakePageTable::with_huge(), config);
    let hp = crate::HUGE_PAGE_SIZE as u64;
    let x = anon(&mut a, &mut m, 0, hp, RW, PRIV | MAP_NORESERVE).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.madvise(
        x,
        hp,
        linux_raw_sys::general::MADV_DONTFORK as i32,
        &mut m.platform(),
    )
    .unwrap();
    let mut out = String::new();
    a.render_smaps(&m.frames, &mut out).unwrap();
    assert!(out.contains("\nRss:                2048 kB\n"), "{out}");
    assert!(out.contains("\nAnonHugePages:      2048 kB\n"), "{out}");
    assert!(out.contains("\nTHPeligible:           1\n"), "{out}");
    assert!(out.ends_with("VmFlags: rd wr mr mw me dc nr \n"), "{out}");
    a.teardown(&mut m.platform());
}

#[test]
fn memory_usage_counts_by_kind() {
    let (mut m, mut a) = setup(64);
    let x = anon(
        &mut a,
        &mut m,
        0x10_0000,
        3 * PG,
        RW,
        PRIV | MAP_FIXED | MAP_POPULATE,
    )
    .unwrap();
    a.mlock(x, PG, 0, None, &mut m.platform()).unwrap();
    let s = anon(&mut a, &mut m, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    touch(&mut a, &mut m, s, Access::Read).unwrap();
    let file = cat();
    let f = a
        .mmap(
            MmapArgs::file(
                0,
                2 * PG,
                PROT_READ,
                MAP_PRIVATE,
                FakeFile::open(&file, false),
                0,
            ),
            &mut m.platform(),
        )
        .unwrap();
    touch(&mut a, &mut m, f, Access::Read).unwrap();
    let u = a.memory_usage();
    assert_eq!(
        u,
        crate::aspace::proc::MemoryUsage {
            anon_pages: 3,
            file_pages: 1,
            shmem_pages: 1,
            locked_pages: 1,
            anon_huge_pages: 0,
            committed_bytes: 3 * PG,
            page_table_frames: a.page_table().table_frames() as u64,
        }
    );
    a.teardown(&mut m.platform());
}

#[test]
fn special_mappings_share_the_kernels_frames() {
    let (mut m, mut a) = setup(64);
    let vdso = FakePageCache::new(vec![0xc3; 2 * PAGE_SIZE], MapIdentity::default());
    let at = 0x7fe5_20b1_0000;
    a.map_special(
        at,
        2 * PG,
        Prot::READ | Prot::EXEC,
        VmaKind::Vdso,
        vdso.clone(),
        &mut m.platform(),
    )
    .unwrap();
    touch(&mut a, &mut m, at, Access::Execute).unwrap();
    let frame = pte(&a, at).unwrap().0;
    // The kernel updates its page; the process sees it at once.
    use crate::shared::SharedMapSource;
    let own = vdso.get_page(0, &mut m.frames, &m.bytes).unwrap();
    assert_eq!(own, frame);
    m.frames.release(own).unwrap();
    m.bytes.write(frame, 0, &[0x90]);
    assert_eq!(read(&a, &m, at, 2), [0x90, 0xc3]);
    let mut out = String::new();
    a.render_maps(&mut out).unwrap();
    assert_eq!(
        out,
        "7fe520b10000-7fe520b12000 r-xp 00000000 00:00 0                          [vdso]\n"
    );
    assert_eq!(
        a.mremap(
            at,
            2 * PG,
            3 * PG,
            linux_raw_sys::general::MREMAP_MAYMOVE as u64,
            0,
            &mut m.platform()
        ),
        Err(Errno::EFAULT),
        "VM_DONTEXPAND"
    );
    // A forked child maps the same frame; a (debugger) write copies instead of changing it.
    let mut c = a
        .fork_copy(FakePageTable::new(), &mut m.platform())
        .unwrap();
    assert_eq!(pte(&c, at).unwrap().0, frame);
    c.write_bytes(at, &[0xcc], &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, at, 1), [0x90]);
    assert_eq!(read(&c, &m, at, 1), [0xcc]);
    check_spaces(&[&a, &c], &m, 0);
    c.teardown(&mut m.platform());
    a.teardown(&mut m.platform());
    vdso.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}
