//! Writer/reader round trips, strictness, robustness against damaged archives, GNU cpio
//! agreement, and unpacking into a tmpfs.

use super::*;
use crate::io::ReadBuf;
use crate::mount::FileSystem;
use crate::node::{DeviceId, FileKind, Inode};
use crate::time::Timestamp;
use crate::tmpfs::Tmpfs;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.set_mtime(1_600_000_000);
    w.add_dir("usr", 0o755).unwrap();
    w.add_dir("usr/bin", 0o700).unwrap();
    w.add_file("usr/bin/app", 0o755, b"\x7fELF...").unwrap();
    w.add_file("empty", 0o600, b"").unwrap();
    w.add_file("odd", 0o644, b"12345").unwrap();
    w.add_symlink("bin", "usr/bin").unwrap();
    w.add_char_device("null", 0o666, DeviceId::new(1, 3))
        .unwrap();
    w.finish()
}

fn entries(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
    Reader::new(archive).collect()
}

/// A field of the header at `entry_offset`, as written.
fn field_at(entry_offset: usize, field: usize) -> core::ops::Range<usize> {
    let at = entry_offset + 6 + 8 * field;
    at..at + 8
}

mod round_trip {
    use super::*;

    #[test]
    fn every_field_survives() {
        let archive = sample();
        assert_eq!(archive.len() % 4, 0);
        let es = entries(&archive).unwrap();
        let names: Vec<&[u8]> = es.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                &b"usr"[..],
                b"usr/bin",
                b"usr/bin/app",
                b"empty",
                b"odd",
                b"bin",
                b"null"
            ]
        );
        let app = &es[2];
        assert_eq!(app.kind(), Some(FileKind::Regular));
        assert_eq!(app.perm(), 0o755);
        assert_eq!(app.data, b"\x7fELF...");
        assert_eq!(
            (app.uid, app.gid, app.nlink, app.mtime),
            (0, 0, 1, 1_600_000_000)
        );
        assert_eq!(es[0].kind(), Some(FileKind::Directory));
        assert_eq!(es[0].nlink, 2);
        assert_eq!(es[1].perm(), 0o700);
        assert_eq!(es[5].kind(), Some(FileKind::Symlink));
        assert_eq!(es[5].data, b"usr/bin");
        assert_eq!(es[6].kind(), Some(FileKind::CharDevice));
        assert_eq!(es[6].rdev, DeviceId::new(1, 3));
        let inos: Vec<u32> = es.iter().map(|e| e.ino).collect();
        assert_eq!(inos, [1, 2, 3, 4, 5, 6, 7]);
        for e in &es {
            assert_eq!(e.offset % 4, 0);
        }
        let mut r = Reader::new(&archive);
        assert_eq!(r.by_ref().count(), 7);
        assert_eq!(r.position(), archive.len(), "the trailer is the last thing");
        assert!(r.next().is_none(), "fused");
    }

    #[test]
    fn empty_archive_is_just_a_trailer() {
        let archive = Writer::new().finish();
        assert_eq!(
            archive.len(),
            124,
            "110-byte header + 11-byte name, padded to 4"
        );
        assert_eq!(entries(&archive).unwrap(), []);
        assert_eq!(&archive[..6], MAGIC_NEWC);
    }

    #[test]
    fn writer_refuses_bad_entries() {
        let mut w = Writer::new();
        assert_eq!(w.add_file("", 0o644, b""), Err(WriteError::EmptyPath));
        assert_eq!(w.add_file("a\0b", 0o644, b""), Err(WriteError::NulInPath));
        assert_eq!(
            w.add_dir("TRAILER!!!", 0o755),
            Err(WriteError::ReservedName)
        );
        assert_eq!(w.add_symlink("l", ""), Err(WriteError::BadTarget));
        assert_eq!(w.add_symlink("l", "a\0"), Err(WriteError::BadTarget));
        assert_eq!(
            entries(&w.finish()).unwrap(),
            [],
            "refused entries leave no trace"
        );
        assert_eq!(
            WriteError::TooLarge.to_string(),
            "path or data longer than 4 GiB"
        );
    }

    #[test]
    fn mode_type_bits_from_the_caller_are_ignored() {
        let mut w = Writer::new();
        w.add_file("f", 0o120644, b"x").unwrap();
        let a = w.finish();
        let e = entries(&a).unwrap()[0];
        assert_eq!(e.mode, 0o100644);
    }
}

mod strictness {
    use super::*;

    fn kind_of(archive: &[u8]) -> CpioErrorKind {
        entries(archive).unwrap_err().kind
    }

    #[test]
    fn bad_magic_and_hex() {
        let mut a = sample();
        a[5] = b'3';
        assert_eq!(
            entries(&a).unwrap_err(),
            CpioError {
                offset: 0,
                kind: CpioErrorKind::BadMagic
            }
        );
        let mut a = sample();
        a[field_at(0, 1).start + 3] = b'g';
        assert_eq!(kind_of(&a), CpioErrorKind::BadHex(Field::Mode));
        let mut a = sample();
        a[field_at(0, 12).start] = b' ';
        assert_eq!(kind_of(&a), CpioErrorKind::BadHex(Field::Check));
        assert_eq!(kind_of(b"garbage"), CpioErrorKind::BadMagic);
        assert_eq!(kind_of(b"0707"), CpioErrorKind::Truncated);
        assert_eq!(kind_of(b""), CpioErrorKind::MissingTrailer);
    }

    #[test]
    fn names() {
        // "usr" has namesize 4; claim 3 so the byte before the end is 'r', not NUL.
        let mut a = sample();
        a[field_at(0, 11)].copy_from_slice(b"00000003");
        assert_eq!(kind_of(&a), CpioErrorKind::NameNotTerminated);
        let mut a = sample();
        a[field_at(0, 11)].copy_from_slice(b"00000001");
        assert_eq!(kind_of(&a), CpioErrorKind::BadName);
        let mut a = sample();
        a[HEADER_LEN + 1] = 0;
        assert_eq!(kind_of(&a), CpioErrorKind::BadName);
    }

    #[test]
    fn padding_and_bounds() {
        // "usr\0" ends at 114: no name padding; the next entry starts at 116 after... no data.
        // Entry 0 is 110 + 4 = 114 bytes, padded to 116: bytes 114..116 are padding.
        let mut a = sample();
        a[114] = 1;
        assert_eq!(kind_of(&a), CpioErrorKind::BadPadding);
        let mut a = sample();
        a[field_at(0, 6)].copy_from_slice(b"FFFFFFFF");
        assert_eq!(kind_of(&a), CpioErrorKind::Truncated);
    }

    #[test]
    fn missing_trailer() {
        let full = sample();
        let es = entries(&full).unwrap();
        let trailer_at = full.len() - 124;
        assert_eq!(
            entries(&full[..trailer_at]).unwrap_err(),
            CpioError {
                offset: trailer_at,
                kind: CpioErrorKind::MissingTrailer
            }
        );
        // What precedes the error is still delivered.
        let got: Vec<_> = Reader::new(&full[..trailer_at])
            .take_while(|r| r.is_ok())
            .collect();
        assert_eq!(got.len(), es.len());
    }

    #[test]
    fn crc_archives_are_checked() {
        let mut w = Writer::new();
        w.add_file("f", 0o644, b"\x01\x02\x03").unwrap();
        let mut a = w.finish();
        a[..6].copy_from_slice(MAGIC_CRC);
        assert_eq!(kind_of(&a), CpioErrorKind::BadChecksum);
        a[field_at(0, 12)].copy_from_slice(b"00000006");
        assert_eq!(entries(&a).unwrap()[0].data, b"\x01\x02\x03");
    }

    #[test]
    fn errors_display_their_offset() {
        let e = CpioError {
            offset: 116,
            kind: CpioErrorKind::BadHex(Field::NameSize),
        };
        assert_eq!(
            e.to_string(),
            "cpio entry at offset 116: field NameSize is not 8 hex digits"
        );
    }
}

mod robustness {
    use super::*;

    /// Reads everything the reader yields; panics are the failure being tested for.
    fn drain(archive: &[u8]) -> (usize, bool) {
        let mut n = 0;
        for r in Reader::new(archive) {
            match r {
                Ok(e) => {
                    assert!(e.offset < archive.len());
                    n += 1;
                }
                Err(_) => return (n, false),
            }
        }
        (n, true)
    }

    #[test]
    fn every_truncation_is_an_error() {
        let full = sample();
        for len in 0..full.len() {
            let (_, ok) = drain(&full[..len]);
            assert!(
                !ok,
                "a {len}-byte prefix of {} must not read as complete",
                full.len()
            );
        }
        assert_eq!(drain(&full), (7, true));
    }

    #[test]
    fn random_corruption_never_panics() {
        let full = sample();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let fs = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH);
        for round in 0..3000 {
            let mut a = full.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                let i = (next() % a.len() as u64) as usize;
                a[i] = if round % 2 == 0 {
                    next() as u8
                } else {
                    b"0123456789abcdefF\0"[(next() % 18) as usize]
                };
            }
            drain(&a);
            // Unpacking a damaged archive must fail cleanly too.
            let _ = unpack(&a, &fs.root(), Timestamp::EPOCH);
        }
    }
}

/// Lists an archive with GNU cpio, if the host has it.
fn gnu_cpio_list(archive: &[u8]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("cpio")
        .args(["-t", "-H", "newc", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(archive).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "GNU cpio rejected the archive");
    Some(String::from_utf8(out.stdout).expect("cpio prints the UTF-8 names we wrote"))
}

#[test]
fn gnu_cpio_lists_what_the_writer_wrote() {
    let Some(listing) = gnu_cpio_list(&sample()) else {
        std::eprintln!("skipped: no `cpio` on this host");
        return;
    };
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(
        names,
        [
            "usr",
            "usr/bin",
            "usr/bin/app",
            "empty",
            "odd",
            "bin",
            "null"
        ]
    );
}

#[test]
fn reader_reads_what_gnu_cpio_wrote() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(std::format!("oxv-vfs-cpio-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/file"), b"contents\n").unwrap();
    std::os::unix::fs::symlink("sub/file", dir.join("link")).unwrap();
    let child = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        std::eprintln!("skipped: no `cpio` on this host");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sub\nsub/file\nlink\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    assert_eq!(
        out.stdout.len() % 512,
        0,
        "GNU cpio pads to blocks after the trailer"
    );
    let es = entries(&out.stdout).unwrap();
    let names: Vec<&[u8]> = es.iter().map(|e| e.name).collect();
    assert_eq!(names, [&b"sub"[..], b"sub/file", b"link"]);
    assert_eq!(es[0].kind(), Some(FileKind::Directory));
    assert_eq!(es[1].data, b"contents\n");
    assert_eq!(es[2].kind(), Some(FileKind::Symlink));
    assert_eq!(es[2].data, b"sub/file");
}

mod unpacking {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn at(root: &Arc<dyn Inode>, path: &str) -> Arc<dyn Inode> {
        path.split('/')
            .fold(root.clone(), |d, c| d.lookup(c.as_bytes()).unwrap())
    }

    fn contents(n: &Arc<dyn Inode>) -> Vec<u8> {
        let mut buf = vec![0u8; n.metadata().size as usize];
        n.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
        buf
    }

    fn root() -> Arc<dyn Inode> {
        Tmpfs::new(DeviceId::new(0, 1), t(1)).root()
    }

    #[test]
    fn builds_the_tree() {
        let r = root();
        let s = unpack(&sample(), &r, t(99)).unwrap();
        assert_eq!(
            s,
            UnpackSummary {
                entries: 7,
                bytes: 12
            }
        );
        let app = at(&r, "usr/bin/app");
        assert_eq!(contents(&app), b"\x7fELF...");
        let m = app.metadata();
        assert_eq!((m.perm, m.mtime, m.ctime), (0o755, t(1_600_000_000), t(99)));
        assert_eq!(at(&r, "usr/bin").metadata().perm, 0o700);
        assert_eq!(
            at(&r, "usr").metadata().mtime,
            t(1_600_000_000),
            "directory times are set last"
        );
        assert_eq!(at(&r, "bin").read_link().unwrap(), b"usr/bin");
        assert_eq!(at(&r, "null").metadata().rdev, DeviceId::new(1, 3));
        assert_eq!(at(&r, "empty").metadata().size, 0);
    }

    #[test]
    fn creates_missing_parents_and_skips_dot() {
        let mut w = Writer::new();
        w.add_dir(".", 0o700).unwrap();
        w.add_file("./a/b/c/file", 0o640, b"deep").unwrap();
        w.add_file("/abs/x", 0o600, b"").unwrap();
        let r = root();
        unpack(&w.finish(), &r, t(2)).unwrap();
        assert_eq!(contents(&at(&r, "a/b/c/file")), b"deep");
        assert_eq!(at(&r, "a/b").metadata().perm, 0o755);
        assert!(
            r.lookup(b"abs").is_ok(),
            "a leading slash is relative to the target"
        );
        assert_eq!(r.metadata().perm, 0o755, "the `.` entry is not applied");
    }

    #[test]
    fn replaces_existing_entries() {
        let r = root();
        let mut w = Writer::new();
        w.add_file("x", 0o644, b"first").unwrap();
        w.add_dir("d", 0o755).unwrap();
        w.add_file("d/keep", 0o644, b"k").unwrap();
        unpack(&w.finish(), &r, t(2)).unwrap();
        let mut w = Writer::new();
        w.add_symlink("x", "elsewhere").unwrap();
        w.add_dir("d", 0o711).unwrap();
        unpack(&w.finish(), &r, t(3)).unwrap();
        assert_eq!(at(&r, "x").read_link().unwrap(), b"elsewhere");
        assert_eq!(at(&r, "d").metadata().perm, 0o711);
        assert_eq!(
            contents(&at(&r, "d/keep")),
            b"k",
            "an existing directory keeps its contents"
        );
        let mut w = Writer::new();
        w.add_file("d", 0o644, b"").unwrap();
        assert_eq!(
            unpack(&w.finish(), &r, t(4)),
            Err(UnpackError::Fs {
                offset: 0,
                errno: oxv_abi::Errno::ENOTEMPTY
            })
        );
    }

    #[test]
    fn hard_links_share_an_inode() {
        // As GNU cpio writes them: same ino, nlink 2, the data with the last name.
        let mut w = Writer::new();
        w.add_file("a", 0o644, b"").unwrap();
        w.add_file("b", 0o644, b"shared").unwrap();
        let mut archive = w.finish();
        let es: Vec<usize> = entries(&archive)
            .unwrap()
            .iter()
            .map(|e| e.offset)
            .collect();
        for &off in &es {
            archive[field_at(off, 0)].copy_from_slice(b"00000009");
            archive[field_at(off, 4)].copy_from_slice(b"00000002");
        }
        let r = root();
        unpack(&archive, &r, t(2)).unwrap();
        let (a, b) = (at(&r, "a"), at(&r, "b"));
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.metadata().nlink, 2);
        assert_eq!(contents(&a), b"shared");
    }

    #[test]
    fn refuses_dotdot_and_unknown_types() {
        let r = root();
        let mut w = Writer::new();
        w.add_file("ok", 0o644, b"").unwrap();
        w.add_file("a/../../escape", 0o644, b"").unwrap();
        let a = w.finish();
        let off = entries(&a).unwrap()[1].offset;
        assert_eq!(
            unpack(&a, &r, t(2)),
            Err(UnpackError::BadPath { offset: off })
        );
        assert!(
            r.lookup(b"ok").is_ok(),
            "entries before the bad one are in place"
        );
        let mut w = Writer::new();
        w.add_file("weird", 0o644, b"").unwrap();
        let mut a = w.finish();
        a[field_at(0, 1)].copy_from_slice(b"000001A4");
        assert_eq!(
            unpack(&a, &r, t(2)),
            Err(UnpackError::BadMode { offset: 0 })
        );
        assert!(
            UnpackError::BadMode { offset: 0 }
                .to_string()
                .contains("unknown file type")
        );
    }

    #[test]
    fn into_a_non_directory_path() {
        let r = root();
        let mut w = Writer::new();
        w.add_file("f", 0o644, b"").unwrap();
        w.add_file("f/g", 0o644, b"").unwrap();
        let a = w.finish();
        let off = entries(&a).unwrap()[1].offset;
        assert_eq!(
            unpack(&a, &r, t(2)),
            Err(UnpackError::Fs {
                offset: off,
                errno: oxv_abi::Errno::ENOTDIR
            })
        );
    }
}

mod letting_go {
    use super::*;
    use crate::io::ReadBuf;

    /// An archive whose consumed pages are overwritten, as the kernel reuses them, and which
    /// fails the test if read below what was consumed.
    struct Reused {
        bytes: Vec<u8>,
        consumed: usize,
        calls: Vec<usize>,
    }

    impl Archive for Reused {
        fn bytes_from(&self, offset: usize) -> &[u8] {
            assert!(
                offset >= self.consumed,
                "read at {offset} after {}",
                self.consumed
            );
            &self.bytes[offset..]
        }
        fn consumed(&mut self, offset: usize) {
            assert!(offset >= self.consumed, "consumed went back to {offset}");
            assert!(offset <= self.bytes.len());
            self.bytes[..offset & !4095].fill(0xa5);
            self.consumed = offset;
            self.calls.push(offset);
        }
    }

    #[test]
    fn consumed_pages_are_never_read_again() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = Writer::new();
        w.add_dir("bin", 0o755).unwrap();
        w.add_file("bin/big", 0o755, &big).unwrap();
        w.add_symlink("big", "bin/big").unwrap();
        w.add_file("small", 0o644, b"after the big one").unwrap();
        let bytes = w.finish();
        let len = bytes.len();
        let mut archive = Reused {
            bytes,
            consumed: 0,
            calls: Vec::new(),
        };
        let r = Tmpfs::new(DeviceId::new(0, 1), Timestamp::from_secs(1)).root();
        let s = unpack_from(&mut archive, &r, Timestamp::from_secs(2)).unwrap();
        assert_eq!(s.bytes, 300_000 + 17);
        assert_eq!(archive.consumed, len, "the trailer is consumed too");
        // The big file is let go of in 64 KiB pieces, not at its end only.
        let inside_big = archive.calls.iter().filter(|&&c| c < 300_000).count();
        assert!(inside_big >= 4, "{:?}", archive.calls);
        let file = r.lookup(b"bin").unwrap().lookup(b"big").unwrap();
        let mut got = vec![0u8; big.len()];
        file.read_at(0, &mut ReadBuf::kernel(&mut got)).unwrap();
        assert!(got == big, "the copy is intact");
        assert_eq!(file.metadata().mtime, Timestamp::from_secs(0));
        let small = r.lookup(b"small").unwrap();
        let mut got = vec![0u8; 17];
        small.read_at(0, &mut ReadBuf::kernel(&mut got)).unwrap();
        assert_eq!(got, b"after the big one");
        assert_eq!(r.lookup(b"big").unwrap().read_link().unwrap(), b"bin/big");
    }

    #[test]
    fn a_bad_entry_after_consumed_ones_is_still_reported_with_its_offset() {
        let mut w = Writer::new();
        w.add_file("a", 0o644, &[7u8; 10_000]).unwrap();
        w.add_file("b", 0o644, b"x").unwrap();
        let mut bytes = w.finish();
        let second = entries(&bytes).unwrap()[1].offset;
        bytes[second] = b'X';
        let mut archive = Reused {
            bytes,
            consumed: 0,
            calls: Vec::new(),
        };
        let r = Tmpfs::new(DeviceId::new(0, 1), Timestamp::from_secs(1)).root();
        assert_eq!(
            unpack_from(&mut archive, &r, Timestamp::from_secs(2)),
            Err(UnpackError::Archive(CpioError {
                offset: second,
                kind: CpioErrorKind::BadMagic
            }))
        );
        assert_eq!(r.lookup(b"a").unwrap().metadata().size, 10_000);
    }
}
