//! Time: TSC calibration at boot and the clocks built on it.
//!
//! The TSC is the only time source read on hot paths. Its frequency comes from `tsc_khz=` on
//! the command line when given (like Linux's `tsc_early_khz=`), else from the first source
//! that answers, in order of exactness: CPUID leaf 0x15 (crystal ratio), the
//! hypervisor timing leaf 0x40000010 (KVM, VMware), a 5 ms window of the PIT, CPUID leaf 0x16
//! (nominal MHz). QEMU 7.2's microvm has no HPET and TCG no kvmclock, so the kernel never
//! insists on one source; a guess is logged as such. The wall clock starts from the CMOS RTC.

use crate::arch::cpu::{self, Features, cpuid};
use crate::arch::port::X86Ports;
use oxv_drivers::pit::Pit;
use oxv_drivers::rtc::CmosRtc;
use oxv_sched::clock::{NSEC_PER_SEC, TscClock};
use spin::Once;

static CLOCK: Once<TscClock> = Once::new();

/// Where the TSC frequency came from.
#[derive(Copy, Clone, Debug)]
pub enum TscSource {
    /// `tsc_khz=` on the command line (the host measured the TSC the guest shares).
    CommandLine,
    /// CPUID leaf 0x15.
    CrystalRatio,
    /// CPUID leaf 0x40000010.
    Hypervisor,
    /// Measured against the PIT.
    Pit,
    /// CPUID leaf 0x16 nominal frequency.
    Nominal,
    /// Nothing answered: 1 GHz assumed.
    Guess,
}

fn tsc_hz(f: &Features, cmdline_khz: Option<u64>) -> (u64, TscSource) {
    if let Some(khz) = cmdline_khz.filter(|&k| k > 0) {
        return (khz * 1000, TscSource::CommandLine);
    }
    let max = cpuid(0, 0).eax;
    if max >= 0x15 {
        let l = cpuid(0x15, 0);
        if l.eax != 0 && l.ebx != 0 && l.ecx != 0 {
            return (
                l.ecx as u64 * l.ebx as u64 / l.eax as u64,
                TscSource::CrystalRatio,
            );
        }
    }
    if f.hypervisor && cpuid(0x4000_0000, 0).eax >= 0x4000_0010 {
        let khz = cpuid(0x4000_0010, 0).eax as u64;
        if khz != 0 {
            return (khz * 1000, TscSource::Hypervisor);
        }
    }
    if let Some(hz) = Pit::new(X86Ports).calibrate(5000, cpu::rdtsc) {
        if hz > 0 {
            return (hz, TscSource::Pit);
        }
    }
    if max >= 0x16 {
        let mhz = cpuid(0x16, 0).eax as u64;
        if mhz != 0 {
            return (mhz * 1_000_000, TscSource::Nominal);
        }
    }
    (1_000_000_000, TscSource::Guess)
}

/// Calibrates the TSC (unless the command line gave its frequency) and reads the RTC.
/// `boot_tsc` is the TSC at kernel entry.
pub fn init(f: &Features, boot_tsc: u64, cmdline_khz: Option<u64>) {
    let (hz, source) = tsc_hz(f, cmdline_khz);
    let wall = CmosRtc::new(X86Ports)
        .read()
        .map(|t| t.unix_seconds())
        .unwrap_or(0);
    // The RTC has one-second resolution: the wall clock is "now", not boot time, so subtract
    // the time since entry.
    let clock = TscClock::new(hz, boot_tsc, 0);
    let since_boot = clock.monotonic_ns(cpu::rdtsc()) as i128;
    let clock = TscClock::new(
        hz,
        boot_tsc,
        wall as i128 * NSEC_PER_SEC as i128 - since_boot,
    );
    CLOCK.call_once(|| clock);
    kdebug!(
        "oxv: tsc {} MHz ({:?}), wall clock {} s",
        hz / 1_000_000,
        source,
        wall
    );
}

/// The boot clock.
pub fn clock() -> &'static TscClock {
    CLOCK
        .get()
        .expect("time::init runs before anything reads the clock")
}

/// Nanoseconds since kernel entry.
pub fn monotonic_ns() -> u64 {
    clock().monotonic_ns(cpu::rdtsc())
}
