//! Choosing QEMU's accelerator: KVM or TCG.
//!
//! `auto` takes KVM only when `/dev/kvm` opens read-write *and* `/proc/cpuinfo` shows `vmx`
//! or `svm`. The second check matters: some hosts expose a `/dev/kvm` backed by a software
//! hypervisor (no hardware virtualization) under which ring-0 guest code is emulated slowly
//! and some instructions fail outright (`shared/MACHINE-NOTES.md`); TCG is both faster and
//! correct there. `kvm` insists on KVM (and fails if `/dev/kvm` cannot be opened); `tcg`
//! never probes.

use std::fmt;
use std::io;

use crate::error::CliError;

/// What the user asked for (`--accel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when the CPU has hardware virtualization and /dev/kvm is usable, else TCG.
    Auto,
    /// KVM; an error if /dev/kvm cannot be opened.
    Kvm,
    /// QEMU's software emulator.
    Tcg,
}

/// The accelerator that will be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualization: `-accel kvm -cpu host`.
    Kvm,
    /// Emulation: `-accel tcg -cpu max` (max gives SMEP/SMAP/RDRAND/XSAVE).
    Tcg,
}

impl Accel {
    /// QEMU arguments selecting this accelerator and its CPU model.
    pub fn qemu_args(self) -> [&'static str; 4] {
        match self {
            Accel::Kvm => ["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => ["-accel", "tcg", "-cpu", "max"],
        }
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// The decision and the reason for it (shown with `--verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelDecision {
    /// The accelerator.
    pub accel: Accel,
    /// Why, e.g. `no vmx/svm in /proc/cpuinfo`.
    pub reason: String,
}

/// What the host offers, as far as the decision is concerned. Probed for real by
/// [`HostFacts::probe`]; built by hand in tests.
#[derive(Debug)]
pub struct HostFacts {
    /// Whether `/dev/kvm` opened read-write.
    pub kvm_open: io::Result<()>,
    /// The contents of `/proc/cpuinfo`.
    pub cpuinfo: io::Result<String>,
}

impl HostFacts {
    /// Opens `/dev/kvm` and reads `/proc/cpuinfo`.
    pub fn probe() -> Self {
        let kvm_open = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .map(drop);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo");
        HostFacts { kvm_open, cpuinfo }
    }
}

/// Whether some `flags` line of a cpuinfo text lists `vmx` (Intel VT-x) or `svm` (AMD-V).
pub fn has_hw_virtualization(cpuinfo: &str) -> bool {
    cpuinfo.lines().any(|line| {
        line.split_once(':').is_some_and(|(key, flags)| {
            key.trim() == "flags"
                && flags
                    .split_ascii_whitespace()
                    .any(|f| f == "vmx" || f == "svm")
        })
    })
}

/// Decides the accelerator. `facts` is only called when the choice needs it.
pub fn decide(
    choice: AccelChoice,
    facts: impl FnOnce() -> HostFacts,
) -> Result<AccelDecision, CliError> {
    let decision = |accel, reason: &str| {
        Ok(AccelDecision {
            accel,
            reason: reason.to_string(),
        })
    };
    match choice {
        AccelChoice::Tcg => decision(Accel::Tcg, "--accel tcg"),
        AccelChoice::Kvm => match facts().kvm_open {
            Ok(()) => decision(Accel::Kvm, "--accel kvm"),
            Err(e) => Err(CliError::Kvm(e)),
        },
        AccelChoice::Auto => {
            let facts = facts();
            if let Err(e) = &facts.kvm_open {
                return Ok(AccelDecision {
                    accel: Accel::Tcg,
                    reason: format!("/dev/kvm not usable: {e}"),
                });
            }
            match &facts.cpuinfo {
                Ok(text) if has_hw_virtualization(text) => {
                    decision(Accel::Kvm, "/dev/kvm usable and vmx/svm in /proc/cpuinfo")
                }
                Ok(_) => decision(Accel::Tcg, "no vmx/svm in /proc/cpuinfo"),
                Err(e) => Ok(AccelDecision {
                    accel: Accel::Tcg,
                    reason: format!("cannot read /proc/cpuinfo: {e}"),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL: &str = "processor\t: 0\nflags\t\t: fpu vme de pse vmx smx est\nbugs\t\t:\n";
    const AMD: &str = "processor\t: 0\nflags\t\t: fpu svm lm\n";
    const SOFT: &str = "processor\t: 0\nflags\t\t: fpu vme hypervisor lm\nmodel name\t: vmx-like\n";

    fn facts(kvm: bool, cpuinfo: Option<&str>) -> impl FnOnce() -> HostFacts {
        let cpuinfo = cpuinfo.map(str::to_string);
        move || HostFacts {
            kvm_open: if kvm {
                Ok(())
            } else {
                Err(io::Error::from(io::ErrorKind::PermissionDenied))
            },
            cpuinfo: cpuinfo.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn auto(kvm: bool, cpuinfo: Option<&str>) -> AccelDecision {
        decide(AccelChoice::Auto, facts(kvm, cpuinfo)).expect("auto never fails")
    }

    #[test]
    fn flags_are_matched_as_whole_words_on_the_flags_line() {
        assert!(has_hw_virtualization(INTEL));
        assert!(has_hw_virtualization(AMD));
        assert!(!has_hw_virtualization(SOFT));
        assert!(!has_hw_virtualization("flags : vmxx svm2\n"));
        assert!(!has_hw_virtualization(""));
    }

    #[test]
    fn auto_needs_both_kvm_and_hardware_flags() {
        assert_eq!(auto(true, Some(INTEL)).accel, Accel::Kvm);
        assert_eq!(auto(true, Some(AMD)).accel, Accel::Kvm);
        let soft = auto(true, Some(SOFT));
        assert_eq!(soft.accel, Accel::Tcg);
        assert_eq!(soft.reason, "no vmx/svm in /proc/cpuinfo");
        assert_eq!(auto(false, Some(INTEL)).accel, Accel::Tcg);
        assert_eq!(auto(true, None).accel, Accel::Tcg);
    }

    #[test]
    fn forced_kvm_fails_only_when_dev_kvm_does_not_open() {
        let d = decide(AccelChoice::Kvm, facts(true, Some(SOFT))).unwrap();
        assert_eq!(d.accel, Accel::Kvm);
        assert!(matches!(
            decide(AccelChoice::Kvm, facts(false, Some(INTEL))),
            Err(CliError::Kvm(_))
        ));
    }

    #[test]
    fn forced_tcg_does_not_probe() {
        let d = decide(AccelChoice::Tcg, || panic!("probed")).unwrap();
        assert_eq!(d.accel, Accel::Tcg);
        assert_eq!(Accel::Tcg.qemu_args(), ["-accel", "tcg", "-cpu", "max"]);
        assert_eq!(Accel::Kvm.qemu_args(), ["-accel", "kvm", "-cpu", "host"]);
    }
}
