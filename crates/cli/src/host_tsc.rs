//! The host's TSC frequency, for the guest's clock under TCG.
//!
//! QEMU's TCG returns the host's TSC from the guest's `rdtsc` (without `-icount`), so the
//! guest's TSC frequency is the host's. Measuring it once here and passing `tsc_khz=` on the
//! kernel command line (like Linux's `tsc_early_khz=`) saves the guest a 5 ms PIT
//! calibration on every boot. Only done when the host TSC is invariant (`constant_tsc` and
//! `nonstop_tsc`), and cached per host boot in `target/oxv-host-tsc`.

use std::path::Path;
use std::time::{Duration, Instant};

/// Whether `/proc/cpuinfo` says the TSC ticks at a constant rate.
pub fn invariant_tsc(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| {
            let flags: Vec<&str> = l.split_whitespace().collect();
            flags.contains(&"constant_tsc") && flags.contains(&"nonstop_tsc")
        })
}

#[cfg(target_arch = "x86_64")]
fn measure_once(window: Duration) -> u64 {
    // SAFETY: rdtsc has no preconditions in user mode on Linux (CR4.TSD is clear).
    let tsc = || unsafe { core::arch::x86_64::_rdtsc() };
    let (t0, c0) = (Instant::now(), tsc());
    while t0.elapsed() < window {
        std::hint::spin_loop();
    }
    let (c1, dt) = (tsc(), t0.elapsed());
    ((c1 - c0) as u128 * 1_000_000 / dt.as_nanos()) as u64
}

/// Measures the host TSC in kHz (median of 5 windows of 10 ms).
#[cfg(target_arch = "x86_64")]
pub fn measure() -> u64 {
    let mut v: Vec<u64> = (0..5)
        .map(|_| measure_once(Duration::from_millis(10)))
        .collect();
    v.sort_unstable();
    v[2]
}

/// The host TSC frequency in kHz, if the TSC is invariant; cached under `target_dir`.
#[cfg(target_arch = "x86_64")]
pub fn host_tsc_khz(target_dir: &Path) -> Option<u64> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    if !invariant_tsc(&cpuinfo) {
        return None;
    }
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let cache = target_dir.join("oxv-host-tsc");
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if let Some((id, khz)) = text.trim().split_once(' ') {
            if id == boot_id.trim() {
                if let Ok(khz) = khz.parse() {
                    return Some(khz);
                }
            }
        }
    }
    let khz = measure();
    let _ = std::fs::write(&cache, format!("{} {khz}\n", boot_id.trim()));
    Some(khz)
}

/// Not an x86_64 host: no TSC to share.
#[cfg(not(target_arch = "x86_64"))]
pub fn host_tsc_khz(_target_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_both_flags() {
        assert!(invariant_tsc(
            "flags\t: fpu tsc constant_tsc nonstop_tsc rdtscp\n"
        ));
        assert!(!invariant_tsc("flags\t: fpu tsc constant_tsc\n"));
        assert!(!invariant_tsc("model name : x\n"));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn measurement_is_plausible() {
        let khz = measure();
        assert!((100_000..20_000_000).contains(&khz), "{khz} kHz");
    }
}
