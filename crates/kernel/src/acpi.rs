//! The little of ACPI the kernel reads: the CPUs and I/O APICs listed in the MADT.
//!
//! The path is RSDP → XSDT (or RSDT on ACPI 1.0) → the table signed `APIC` (the Multiple
//! APIC Description Table), whose entries list one local APIC per CPU (type 0, or type 9
//! for x2APIC ids) and the I/O APICs (type 1). ACPI 6.5, sections 5.2.5 (RSDP), 5.2.7-8
//! (RSDT/XSDT) and 5.2.12 (MADT). A CPU counts if its entry is enabled (flags bit 0);
//! "online capable" ones (bit 1, hot-pluggable) are not started.
//!
//! Everything is read through a caller-supplied physical-memory reader, and every length
//! and count is checked: a malformed or hostile table gives an error or fewer CPUs, never
//! a wild read or a loop. Checksums are verified, as Linux does for the RSDP and the MADT.

use alloc::vec::Vec;

/// What the MADT says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Madt {
    /// The enabled CPUs' local APIC ids, in table order (the boot CPU is usually first).
    pub apic_ids: Vec<u32>,
    /// The I/O APICs: (physical address, first global system interrupt).
    pub io_apics: Vec<(u64, u32)>,
}

/// Why the MADT could not be read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No RSDP at the given address (bad signature or checksum).
    BadRsdp,
    /// A table could not be read or its header is inconsistent.
    BadTable,
    /// The root table lists no MADT.
    NoMadt,
}

/// Reads physical memory: fills `buf` from `pa`, false if that memory cannot be read.
pub type ReadPhys<'a> = &'a mut dyn FnMut(u64, &mut [u8]) -> bool;

const SDT_HEADER: usize = 36;
/// More entries than any VM has; bounds the work on a corrupt table.
const MAX_ROOT_ENTRIES: usize = 256;
const MAX_TABLE_LEN: u32 = 1 << 20;

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

fn checksum_ok(b: &[u8]) -> bool {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0
}

/// Reads a whole table at `pa` (header first, for its length) and checks its checksum.
fn read_table(pa: u64, read: ReadPhys<'_>) -> Result<Vec<u8>, AcpiError> {
    let mut header = [0u8; SDT_HEADER];
    if !read(pa, &mut header) {
        return Err(AcpiError::BadTable);
    }
    let len = u32_at(&header, 4);
    if (len as usize) < SDT_HEADER || len > MAX_TABLE_LEN {
        return Err(AcpiError::BadTable);
    }
    let mut table = alloc::vec![0u8; len as usize];
    if !read(pa, &mut table) || !checksum_ok(&table) {
        return Err(AcpiError::BadTable);
    }
    Ok(table)
}

/// Finds and parses the MADT from the RSDP at `rsdp_pa`.
pub fn read_madt(rsdp_pa: u64, read: ReadPhys<'_>) -> Result<Madt, AcpiError> {
    let mut rsdp = [0u8; 36];
    if rsdp_pa == 0 || !read(rsdp_pa, &mut rsdp[..20]) {
        return Err(AcpiError::BadRsdp);
    }
    if &rsdp[..8] != b"RSD PTR " || !checksum_ok(&rsdp[..20]) {
        return Err(AcpiError::BadRsdp);
    }
    let revision = rsdp[15];
    // ACPI 2.0+: the XSDT's 64-bit pointers; else the RSDT's 32-bit ones.
    let (root_pa, entry_size) = if revision >= 2
        && read(rsdp_pa, &mut rsdp)
        && checksum_ok(&rsdp)
        && u64_at(&rsdp, 24) != 0
    {
        (u64_at(&rsdp, 24), 8)
    } else {
        (u64::from(u32_at(&rsdp, 16)), 4)
    };
    let root = read_table(root_pa, read)?;
    let entries = ((root.len() - SDT_HEADER) / entry_size).min(MAX_ROOT_ENTRIES);
    for i in 0..entries {
        let at = SDT_HEADER + i * entry_size;
        let pa = if entry_size == 8 {
            u64_at(&root, at)
        } else {
            u64::from(u32_at(&root, at))
        };
        let mut sig = [0u8; 4];
        if pa == 0 || !read(pa, &mut sig) || &sig != b"APIC" {
            continue;
        }
        return parse_madt(&read_table(pa, read)?);
    }
    Err(AcpiError::NoMadt)
}

/// Parses a checked MADT (header included).
fn parse_madt(t: &[u8]) -> Result<Madt, AcpiError> {
    // Header, then the local APIC address (4) and flags (4), then the entries.
    let mut at = SDT_HEADER + 8;
    if t.len() < at {
        return Err(AcpiError::BadTable);
    }
    let mut madt = Madt::default();
    while at + 2 <= t.len() {
        let (kind, len) = (t[at], t[at + 1] as usize);
        if len < 2 || at + len > t.len() {
            break;
        }
        let e = &t[at..at + len];
        match kind {
            0 if len >= 8 && u32_at(e, 4) & 1 != 0 => madt.apic_ids.push(u32::from(e[3])),
            9 if len >= 16 && u32_at(e, 8) & 1 != 0 => madt.apic_ids.push(u32_at(e, 4)),
            1 if len >= 12 => madt.io_apics.push((u64::from(u32_at(e, 4)), u32_at(e, 8))),
            _ => {}
        }
        at += len;
    }
    madt.apic_ids.dedup();
    Ok(madt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_checksum(b: &mut [u8], at: usize) {
        b[at] = 0;
        let sum = b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
        b[at] = 0u8.wrapping_sub(sum);
    }

    fn table(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(sig);
        t.extend_from_slice(&((SDT_HEADER + body.len()) as u32).to_le_bytes());
        t.resize(SDT_HEADER, 0);
        t.extend_from_slice(body);
        fix_checksum(&mut t, 9);
        t
    }

    fn madt_body(entries: &[&[u8]]) -> Vec<u8> {
        let mut b = alloc::vec![0u8; 8]; // local APIC address, flags
        for e in entries {
            b.extend_from_slice(e);
        }
        b
    }

    fn lapic(id: u8, flags: u32) -> Vec<u8> {
        let mut e = alloc::vec![0u8, 8, id, id];
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }

    /// A fake physical memory: RSDP at 0x1000, root table at 0x2000, MADT at 0x3000.
    struct Memory(Vec<(u64, Vec<u8>)>);

    impl Memory {
        fn read(&self, pa: u64, buf: &mut [u8]) -> bool {
            for (base, bytes) in &self.0 {
                if pa >= *base && pa + buf.len() as u64 <= *base + bytes.len() as u64 {
                    let o = (pa - base) as usize;
                    buf.copy_from_slice(&bytes[o..o + buf.len()]);
                    return true;
                }
            }
            false
        }
    }

    fn machine(revision: u8, madt: Vec<u8>) -> Memory {
        let mut rsdp = alloc::vec![0u8; 36];
        rsdp[..8].copy_from_slice(b"RSD PTR ");
        rsdp[15] = revision;
        let root = if revision >= 2 {
            rsdp[24..32].copy_from_slice(&0x2000u64.to_le_bytes());
            rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
            table(b"XSDT", &0x3000u64.to_le_bytes())
        } else {
            rsdp[16..20].copy_from_slice(&0x2000u32.to_le_bytes());
            table(b"RSDT", &0x3000u32.to_le_bytes())
        };
        fix_checksum(&mut rsdp[..20], 8);
        fix_checksum(&mut rsdp, 32);
        Memory(alloc::vec![(0x1000, rsdp), (0x2000, root), (0x3000, madt)])
    }

    fn parse(m: &Memory) -> Result<Madt, AcpiError> {
        read_madt(0x1000, &mut |pa, buf| m.read(pa, buf))
    }

    #[test]
    fn lists_enabled_cpus_and_io_apics_through_the_xsdt() {
        let mut ioapic = alloc::vec![1u8, 12, 0, 0];
        ioapic.extend_from_slice(&0xfec0_0000u32.to_le_bytes());
        ioapic.extend_from_slice(&24u32.to_le_bytes());
        let body = madt_body(&[&lapic(0, 1), &lapic(1, 1), &lapic(2, 2), &ioapic]);
        let m = machine(2, table(b"APIC", &body));
        let madt = parse(&m).unwrap();
        assert_eq!(madt.apic_ids, [0, 1], "online-capable CPU 2 is not started");
        assert_eq!(madt.io_apics, [(0xfec0_0000, 24)]);
    }

    #[test]
    fn acpi_1_uses_the_rsdt_and_x2apic_entries_count() {
        let mut x2 = alloc::vec![9u8, 16, 0, 0];
        x2.extend_from_slice(&300u32.to_le_bytes());
        x2.extend_from_slice(&1u32.to_le_bytes());
        x2.extend_from_slice(&0u32.to_le_bytes());
        let body = madt_body(&[&lapic(0, 1), &x2]);
        let madt = parse(&machine(0, table(b"APIC", &body))).unwrap();
        assert_eq!(madt.apic_ids, [0, 300]);
    }

    #[test]
    fn corrupt_tables_are_refused_or_cut_short() {
        let body = madt_body(&[&lapic(0, 1)]);
        let mut bad = table(b"APIC", &body);
        bad[40] ^= 1; // checksum no longer matches
        assert_eq!(parse(&machine(2, bad)), Err(AcpiError::BadTable));
        // An entry claiming more bytes than the table has ends the walk.
        let mut short = lapic(1, 1);
        short[1] = 200;
        let body = madt_body(&[&lapic(0, 1), &short]);
        assert_eq!(
            parse(&machine(2, table(b"APIC", &body))).unwrap().apic_ids,
            [0]
        );
        // A zero-length entry does not loop forever.
        let body = madt_body(&[&lapic(0, 1), &[0u8, 0]]);
        assert_eq!(
            parse(&machine(2, table(b"APIC", &body))).unwrap().apic_ids,
            [0]
        );
        assert_eq!(
            read_madt(0x5000, &mut |_, _| false),
            Err(AcpiError::BadRsdp)
        );
        assert_eq!(
            parse(&machine(2, table(b"FACP", &[]))),
            Err(AcpiError::NoMadt)
        );
    }
}
