//! What the program runs on, as the CPU itself reports it through `cpuid`:
//! the brand string (leaves 0x8000_0002..=0x8000_0004) and, when the
//! hypervisor-present bit (leaf 1, ECX bit 31) is set, the hypervisor vendor
//! from leaf 0x4000_0000.
//!
//! `cpuid` is an unprivileged instruction, so this works the same on a Linux
//! host and inside oxv; it involves no syscall.

use core::arch::x86_64::{__cpuid, CpuidResult};

/// First extended leaf; its EAX is the highest extended leaf supported.
const EXTENDED_MAX_LEAF: u32 = 0x8000_0000;
/// The three leaves that hold the 48-byte processor brand string.
const BRAND_LEAVES: [u32; 3] = [0x8000_0002, 0x8000_0003, 0x8000_0004];
/// Leaf 1 ECX bit 31: "running under a hypervisor" (reserved as 0 on bare metal).
const HYPERVISOR_PRESENT: u32 = 1 << 31;
/// Hypervisor vendor leaf (EBX, ECX, EDX hold a 12-byte signature).
const HYPERVISOR_LEAF: u32 = 0x4000_0000;

// `__cpuid` is a safe fn since Rust 1.87 but unsafe in our MSRV (1.85).
#[allow(unused_unsafe)]
fn cpuid(leaf: u32) -> CpuidResult {
    // SAFETY: `cpuid` exists on every x86_64 CPU and only reads CPU state;
    // an unsupported leaf returns data, it does not fault.
    unsafe { __cpuid(leaf) }
}

/// The processor brand string, e.g. "AMD EPYC 7763 64-Core Processor",
/// or `None` when the CPU does not provide one.
pub fn brand() -> Option<String> {
    if cpuid(EXTENDED_MAX_LEAF).eax < BRAND_LEAVES[2] {
        return None;
    }
    let mut raw = Vec::with_capacity(48);
    for leaf in BRAND_LEAVES {
        let r = cpuid(leaf);
        for reg in [r.eax, r.ebx, r.ecx, r.edx] {
            raw.extend_from_slice(&reg.to_le_bytes());
        }
    }
    let text = trim_brand(&raw);
    (!text.is_empty()).then_some(text)
}

/// The hypervisor we run under, by name, or `None` on bare metal.
pub fn hypervisor() -> Option<String> {
    if cpuid(1).ecx & HYPERVISOR_PRESENT == 0 {
        return None;
    }
    let r = cpuid(HYPERVISOR_LEAF);
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&r.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&r.ecx.to_le_bytes());
    vendor[8..].copy_from_slice(&r.edx.to_le_bytes());
    Some(hypervisor_name(&vendor))
}

/// Brand bytes as text: NUL padding and the surrounding spaces some CPUs add
/// are dropped.
fn trim_brand(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).trim().to_string()
}

/// A readable name for a hypervisor signature; unknown ones are shown as-is.
fn hypervisor_name(vendor: &[u8; 12]) -> String {
    match vendor {
        b"TCGTCGTCGTCG" => "QEMU TCG".to_string(),
        b"KVMKVMKVM\0\0\0" => "KVM".to_string(),
        b"Microsoft Hv" => "Microsoft Hyper-V".to_string(),
        b"VMwareVMware" => "VMware".to_string(),
        b"XenVMMXenVMM" => "Xen".to_string(),
        b"bhyve bhyve " => "bhyve".to_string(),
        b"ACRNACRNACRN" => "ACRN".to_string(),
        b" lrpepyh  vr" => "Parallels".to_string(),
        b"VBoxVBoxVBox" => "VirtualBox".to_string(),
        _ => format!("unknown ({:?})", trim_brand(vendor)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_hypervisors() {
        assert_eq!(hypervisor_name(b"TCGTCGTCGTCG"), "QEMU TCG");
        assert_eq!(hypervisor_name(b"KVMKVMKVM\0\0\0"), "KVM");
    }

    #[test]
    fn shows_unknown_signature_without_padding() {
        assert_eq!(
            hypervisor_name(b"NewHV\0\0\0\0\0\0\0"),
            "unknown (\"NewHV\")"
        );
    }

    #[test]
    fn brand_drops_padding_and_spaces() {
        let mut raw = *b"  Intel(R) Xeon(R) CPU @ 2.20GHz\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(trim_brand(&raw), "Intel(R) Xeon(R) CPU @ 2.20GHz");
        raw.fill(0);
        assert_eq!(trim_brand(&raw), "");
    }

    #[test]
    fn brand_of_this_cpu_is_text() {
        // Every x86_64 CPU from the last 15 years reports a brand string.
        let brand = brand().expect("an x86_64 CPU with the brand string leaves");
        assert!(!brand.is_empty() && !brand.contains('\0'));
    }
}
