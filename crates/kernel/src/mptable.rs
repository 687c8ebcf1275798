//! The Intel MultiProcessor Specification table: the CPUs of a machine without ACPI.
//!
//! QEMU's `microvm` lists its virtio-mmio devices on the kernel command line only with
//! `acpi=off`, and then gives no RSDP; its firmware (qboot) still writes an MP table, as
//! Linux's `find_smp_config` expects. Without this the kernel would run on one CPU whenever
//! the VM has devices. MultiProcessor Specification 1.4, chapter 4: a 16-byte floating
//! pointer signed `_MP_`, on a 16-byte boundary in the first KiB of the EBDA, the last KiB
//! of base memory or the BIOS ROM (0xF0000-0xFFFFF), points to a configuration table signed
//! `PCMP` whose entries list processors (type 0, 20 bytes), buses, I/O APICs and interrupt
//! assignments (types 1-4, 8 bytes). Only the processors are read: the kernel finds its I/O
//! APICs at their fixed addresses.
//!
//! As with the MADT, every read goes through the caller's physical-memory reader and every
//! length is checked, with both checksums verified: a corrupt table gives `None` or fewer
//! entries. A "default configuration" (a floating pointer without a table, feature byte 1
//! non-zero) is not supported: no VM uses one.

use crate::acpi::{Madt, ReadPhys};
use alloc::vec;

const FLOATING_LEN: usize = 16;
const HEADER_LEN: usize = 44;
/// More than any VM's table; bounds the work on a corrupt one.
const MAX_TABLE_LEN: usize = 1 << 16;

fn sum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Where the specification says the floating pointer may be: the first KiB of the EBDA
/// (its segment is the BIOS data area's word at 0x40E), the last KiB of 640 KiB of base
/// memory, and the BIOS ROM.
fn search_ranges(read: ReadPhys<'_>) -> [(u64, usize); 3] {
    let mut seg = [0u8; 2];
    let ebda = if read(0x40e, &mut seg) {
        u64::from(u16::from_le_bytes(seg)) << 4
    } else {
        0
    };
    [(ebda, 1024), (0x9fc00, 1024), (0xf0000, 0x10000)]
}

/// Finds the floating pointer; returns the configuration table's address.
fn find_floating(read: ReadPhys<'_>) -> Option<u64> {
    for (base, len) in search_ranges(read) {
        if base == 0 {
            continue;
        }
        let mut area = vec![0u8; len];
        if !read(base, &mut area) {
            continue;
        }
        for p in area.chunks_exact(FLOATING_LEN) {
            // Length is in 16-byte units: 1 for every revision so far.
            if &p[..4] == b"_MP_" && p[8] == 1 && sum(p) == 0 {
                let table = u64::from(u32_at(p, 4));
                if table == 0 || p[11] != 0 {
                    return None; // a default configuration: no table to read
                }
                return Some(table);
            }
        }
    }
    None
}

/// Reads the MP configuration table, if the machine has one.
pub fn read(read: ReadPhys<'_>) -> Option<Madt> {
    let at = find_floating(read)?;
    let mut header = [0u8; HEADER_LEN];
    if !read(at, &mut header) || &header[..4] != b"PCMP" {
        return None;
    }
    let len = usize::from(u16_at(&header, 4));
    if !(HEADER_LEN..=MAX_TABLE_LEN).contains(&len) {
        return None;
    }
    let mut t = vec![0u8; len];
    if !read(at, &mut t) || sum(&t) != 0 {
        return None;
    }
    Some(parse(&t))
}

/// The entries of a checked table, walked by the table's length as Linux does: qboot leaves
/// the header's entry count at 0.
fn parse(t: &[u8]) -> Madt {
    let mut madt = Madt::default();
    let mut at = HEADER_LEN;
    while let Some(&kind) = t.get(at) {
        let len = match kind {
            0 => 20,
            1..=4 => 8,
            _ => break, // unknown entry: its length is unknown too
        };
        let Some(e) = t.get(at..at + len) else { break };
        if kind == 0 && e[3] & 1 != 0 {
            madt.apic_ids.push(u32::from(e[1]));
        }
        at += len;
    }
    madt.apic_ids.dedup();
    madt
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn fix(b: &mut [u8], at: usize) {
        b[at] = 0;
        b[at] = 0u8.wrapping_sub(sum(b));
    }

    fn cpu(id: u8, flags: u8) -> Vec<u8> {
        let mut e = vec![0u8; 20];
        e[0] = 0;
        e[1] = id;
        e[2] = 0x14;
        e[3] = flags;
        e
    }

    fn table(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut t = vec![0u8; HEADER_LEN];
        t[..4].copy_from_slice(b"PCMP");
        t[6] = 4;
        t[34..36].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        t[36..40].copy_from_slice(&0xfee0_0000u32.to_le_bytes());
        for e in entries {
            t.extend_from_slice(e);
        }
        let len = t.len() as u16;
        t[4..6].copy_from_slice(&len.to_le_bytes());
        fix(&mut t, 7);
        t
    }

    fn floating(table_at: u32) -> Vec<u8> {
        let mut f = vec![0u8; 16];
        f[..4].copy_from_slice(b"_MP_");
        f[4..8].copy_from_slice(&table_at.to_le_bytes());
        f[8] = 1;
        f[9] = 4;
        fix(&mut f, 10);
        f
    }

    /// Physical memory: zeros except the given pieces.
    fn reader(pieces: Vec<(u64, Vec<u8>)>) -> impl FnMut(u64, &mut [u8]) -> bool {
        move |pa, buf| {
            if pa + buf.len() as u64 > 0x10_0000 {
                return false;
            }
            buf.fill(0);
            for (base, bytes) in &pieces {
                for (i, b) in buf.iter_mut().enumerate() {
                    let a = pa + i as u64;
                    if a >= *base && a < base + bytes.len() as u64 {
                        *b = bytes[(a - base) as usize];
                    }
                }
            }
            true
        }
    }

    fn ioapic(addr: u32, flags: u8) -> Vec<u8> {
        let mut e = vec![2u8, 0, 0x11, flags];
        e.extend_from_slice(&addr.to_le_bytes());
        e
    }

    #[test]
    fn finds_the_table_in_the_last_kib_of_base_memory_as_qboot_writes_it() {
        let bus = vec![1u8, 0, b'I', b'S', b'A', b' ', b' ', b' '];
        let t = table(&[cpu(0, 3), cpu(1, 1), cpu(2, 0), bus, ioapic(0xfec0_0000, 1)]);
        let mut read = reader(vec![(0x9fc00, floating(0x9fc10)), (0x9fc10, t)]);
        let m = super::read(&mut read).unwrap();
        assert_eq!(m.apic_ids, [0, 1], "disabled CPU 2 is not listed");
    }

    #[test]
    fn the_ebda_and_the_bios_rom_are_searched_too() {
        let t = table(&[cpu(0, 3), cpu(5, 1)]);
        let seg = (0x8_0000u32 >> 4) as u16;
        let mut read = reader(vec![
            (0x40e, seg.to_le_bytes().to_vec()),
            (0x8_0000, floating(0x7_0000)),
            (0x7_0000, t.clone()),
        ]);
        assert_eq!(super::read(&mut read).unwrap().apic_ids, [0, 5]);
        let mut read = reader(vec![(0xf_5a30, floating(0x7_0000)), (0x7_0000, t)]);
        assert_eq!(super::read(&mut read).unwrap().apic_ids, [0, 5]);
    }

    #[test]
    fn corrupt_or_missing_tables_give_nothing_or_fewer_entries() {
        assert!(super::read(&mut reader(vec![])).is_none());
        // Not on a 16-byte boundary: not a floating pointer (qboot's own code holds the
        // string too).
        let t = table(&[cpu(0, 3)]);
        let mut read = reader(vec![(0x9fc04, floating(0x9fd00)), (0x9fd00, t.clone())]);
        assert!(super::read(&mut read).is_none());
        // A bad table checksum.
        let mut bad = t.clone();
        bad[50] ^= 1;
        let mut read = reader(vec![(0x9fc00, floating(0x9fd00)), (0x9fd00, bad)]);
        assert!(super::read(&mut read).is_none());
        // A default configuration (feature byte 1 set).
        let mut f = floating(0);
        f[11] = 5;
        fix(&mut f, 10);
        assert!(super::read(&mut reader(vec![(0x9fc00, f)])).is_none());
        // The entry count is not trusted (qboot leaves it at 0); an entry cut by the table's
        // end, and an unknown entry type, end the walk.
        let mut uncounted = table(&[cpu(0, 3), cpu(1, 1)]);
        uncounted[34] = 0;
        fix(&mut uncounted, 7);
        let mut read = reader(vec![(0x9fc00, floating(0x9fd00)), (0x9fd00, uncounted)]);
        assert_eq!(super::read(&mut read).unwrap().apic_ids, [0, 1]);
        let mut cut = table(&[cpu(0, 3), cpu(1, 1)]);
        cut.truncate(cut.len() - 4);
        let len = cut.len() as u16;
        cut[4..6].copy_from_slice(&len.to_le_bytes());
        fix(&mut cut, 7);
        let mut read = reader(vec![(0x9fc00, floating(0x9fd00)), (0x9fd00, cut)]);
        assert_eq!(super::read(&mut read).unwrap().apic_ids, [0]);
        let odd = table(&[cpu(0, 3), vec![9u8; 8], cpu(1, 1)]);
        let mut read = reader(vec![(0x9fc00, floating(0x9fd00)), (0x9fd00, odd)]);
        assert_eq!(super::read(&mut read).unwrap().apic_ids, [0]);
    }
}
