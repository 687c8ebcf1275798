//! Running benchmark programs on each kernel, and judging each run.
//!
//! oxv runs one program per VM (it has no `execve` or `fork`: the program is the VM), with
//! the command line and initramfs `oxv run` would build. The Linux guest runs one or more
//! programs per VM through its init, because its boot costs seconds under TCG; its per-op
//! figures are unaffected (each program warms up before it measures), and `boot` is
//! measured on runs of `hello` alone.
//!
//! A run's verdict: oxv's comes from its control records (`exit status=0`, or a kill, a
//! panic, no record); Linux's from its init's status lines and final `done` line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::accel::Accel;
use crate::error::CliError;
use crate::image::Image;
use crate::protocol::record::{Record, classify};
use crate::qemu::{Devices, Machine, VmConfig};
use crate::run::{HostTerminal, kernel_cmdline_for};
use crate::size::MemSize;

use super::guest::{self, Finished};
use super::linux::{self, LinuxKernel};
use super::output;
use super::programs::guest_path;

/// Which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// oxv.
    Oxv,
    /// The Debian Linux guest.
    Linux,
}

impl Kernel {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Oxv => "oxv",
            Kernel::Linux => "linux",
        }
    }
}

/// The TSC frequency a Linux guest under `-icount shift=0` sees: its TSC counts virtual
/// nanoseconds, one per instruction.
const ICOUNT_TSC_KHZ: u64 = 1_000_000;

/// One program to run, with its arguments after argv[0].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program name (`bench/NAME.c`).
    pub program: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Invocation {
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(guest_path(self.program))
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// How one VM run went.
#[derive(Debug)]
pub struct RunResult {
    /// QEMU's wall time.
    pub wall: Duration,
    /// What the programs printed (oxv: app stdout; Linux: the console).
    pub output: String,
    /// Why the run failed, if it did (with a tail of the log).
    pub error: Option<String>,
}

/// What every run shares.
pub struct Runner {
    /// Accelerator.
    pub accel: Accel,
    /// QEMU machine.
    pub machine: Machine,
    /// The oxv kernel ELF.
    pub oxv_kernel: PathBuf,
    /// The Linux kernel.
    pub linux: LinuxKernel,
    /// The host TSC frequency, passed to both kernels in wall-clock TCG runs.
    pub tsc_khz: Option<u64>,
    /// The built programs, by name.
    pub binaries: HashMap<&'static str, PathBuf>,
    /// Scratch directory: images and the VM's output files.
    pub work: PathBuf,
    /// Print each run.
    pub verbose: bool,
    /// Extra options for oxv's kernel command line (`oxv bench --kernel-opt`), last.
    pub oxv_options: Vec<(String, Option<Vec<u8>>)>,
    /// Initramfs files already written, by key.
    images: HashMap<String, PathBuf>,
}

impl Runner {
    /// A runner; `work` is created.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        accel: Accel,
        machine: Machine,
        oxv_kernel: PathBuf,
        linux: LinuxKernel,
        tsc_khz: Option<u64>,
        binaries: HashMap<&'static str, PathBuf>,
        work: PathBuf,
        verbose: bool,
    ) -> Result<Self, CliError> {
        std::fs::create_dir_all(work.join("vm"))
            .map_err(|e| CliError::io(format!("cannot create {}", work.display()), e))?;
        Ok(Runner {
            accel,
            machine,
            oxv_kernel,
            linux,
            tsc_khz,
            binaries,
            work,
            verbose,
            oxv_options: Vec::new(),
            images: HashMap::new(),
        })
    }

    fn binary(&self, program: &str) -> Result<Vec<u8>, CliError> {
        let path = self
            .binaries
            .get(program)
            .ok_or_else(|| CliError::Usage(format!("no benchmark program {program}")))?;
        std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))
    }

    /// The oxv initramfs holding `program`; its path and size.
    pub fn oxv_image(&mut self, program: &'static str) -> Result<(PathBuf, u64), CliError> {
        let key = format!("oxv-{program}");
        if let Some(path) = self.images.get(&key) {
            let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            return Ok((path.clone(), len));
        }
        let mut image = Image::new();
        image.add_bytes(&guest_path(program), 0o755, self.binary(program)?)?;
        let cpio = image.to_cpio()?;
        let path = self.work.join(format!("{key}.cpio"));
        std::fs::write(&path, &cpio)
            .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
        self.images.insert(key, path.clone());
        Ok((path, cpio.len() as u64))
    }

    fn linux_image(&mut self, programs: &[&'static str], net: bool) -> Result<PathBuf, CliError> {
        let key = format!(
            "linux-{}{}",
            programs.join("+"),
            if net { "-net" } else { "" }
        );
        if let Some(path) = self.images.get(&key) {
            return Ok(path.clone());
        }
        let mut unique: Vec<&'static str> = programs.to_vec();
        unique.dedup();
        let files = unique
            .iter()
            .map(|p| Ok((guest_path(p), self.binary(p)?)))
            .collect::<Result<Vec<_>, CliError>>()?;
        let modules = if net {
            self.linux
                .modules
                .iter()
                .map(|m| {
                    let name = m
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    std::fs::read(m)
                        .map(|bytes| (name, bytes))
                        .map_err(|e| CliError::io(format!("cannot read {}", m.display()), e))
                })
                .collect::<Result<Vec<_>, CliError>>()?
        } else {
            Vec::new()
        };
        let cpio = linux::initramfs(&self.binary(super::catalog::LINUX_INIT)?, &files, &modules)?;
        let path = self.work.join(format!("{key}.cpio"));
        std::fs::write(&path, &cpio)
            .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
        self.images.insert(key, path.clone());
        Ok(path)
    }

    fn config(
        &self,
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
        mem: MemSize,
        cpus: u32,
        devices: Devices,
    ) -> VmConfig {
        VmConfig {
            machine: self.machine,
            accel: self.accel,
            mem,
            cpus,
            kernel,
            initrd: Some(initrd),
            cmdline,
            socket_dir: self.work.join("vm"),
            devices,
        }
    }

    /// Runs one program on oxv.
    pub fn oxv(
        &mut self,
        inv: &Invocation,
        mem: MemSize,
        cpus: u32,
        icount: bool,
        timeout: Duration,
    ) -> Result<RunResult, CliError> {
        let cfg = self.oxv_config(inv, mem, cpus, icount, Devices::default())?;
        let done = guest::boot(&cfg, icount, timeout)?;
        Ok(self.oxv_result(inv, mem, icount, done))
    }

    fn oxv_config(
        &mut self,
        inv: &Invocation,
        mem: MemSize,
        cpus: u32,
        icount: bool,
        devices: Devices,
    ) -> Result<VmConfig, CliError> {
        let (initrd, _) = self.oxv_image(inv.program)?;
        // Under -icount the guest's TSC is not the host's: oxv calibrates it itself.
        let host = HostTerminal {
            tsc_khz: if icount { None } else { self.tsc_khz },
            ..HostTerminal::default()
        };
        let argv = inv.argv().into_iter().map(String::into_bytes).collect();
        let cmdline = kernel_cmdline_for(&host, false, false, &self.oxv_options, &[], argv)?;
        Ok(self.config(self.oxv_kernel.clone(), initrd, cmdline, mem, cpus, devices))
    }

    fn oxv_result(
        &self,
        inv: &Invocation,
        mem: MemSize,
        icount: bool,
        done: Finished,
    ) -> RunResult {
        let result = RunResult {
            wall: done.wall,
            error: oxv_verdict(&done).err(),
            output: done.stdout,
        };
        self.trace(Kernel::Oxv, &[inv.program], mem, icount, &result);
        result
    }

    /// Starts one program on `kernel` with `devices` (a server the host talks to) and
    /// returns while it runs; [`Runner::finish`] waits for it. With `icount`, under
    /// [`guest::ICOUNT_REALTIME_ARGS`]: the guest's clock counts instructions while it runs
    /// and follows the host's while it idles.
    pub fn start(
        &mut self,
        kernel: Kernel,
        inv: &Invocation,
        mem: MemSize,
        devices: Devices,
        icount: bool,
    ) -> Result<guest::Running, CliError> {
        let (cfg, mut args) = match kernel {
            Kernel::Oxv => {
                let cfg = self.oxv_config(inv, mem, 1, icount, devices)?;
                let args = guest::qemu_args(&cfg, false);
                (cfg, args)
            }
            Kernel::Linux => {
                let net = devices.net.is_some();
                let cfg =
                    self.linux_config(std::slice::from_ref(inv), mem, 1, icount, net, devices)?;
                let args = linux_qemu_args(&cfg, false);
                (cfg, args)
            }
        };
        if icount {
            args.extend(guest::ICOUNT_REALTIME_ARGS.iter().map(Into::into));
        }
        guest::spawn(&cfg, &args)
    }

    /// Waits for a VM [`Runner::start`] started (killing it after `timeout`) and judges it.
    pub fn finish(
        &self,
        kernel: Kernel,
        inv: &Invocation,
        mem: MemSize,
        running: guest::Running,
        timeout: Duration,
        icount: bool,
    ) -> Result<RunResult, CliError> {
        let done = running.wait(timeout)?;
        Ok(match kernel {
            Kernel::Oxv => self.oxv_result(inv, mem, icount, done),
            Kernel::Linux => self.linux_result(&[inv.program], mem, icount, done),
        })
    }

    /// Runs programs one after another in one Linux VM.
    pub fn linux(
        &mut self,
        invs: &[Invocation],
        mem: MemSize,
        cpus: u32,
        icount: bool,
        timeout: Duration,
    ) -> Result<RunResult, CliError> {
        let programs: Vec<&'static str> = invs.iter().map(|i| i.program).collect();
        let cfg = self.linux_config(invs, mem, cpus, icount, false, Devices::default())?;
        let done = guest::boot(&cfg, icount, timeout)?;
        Ok(self.linux_result(&programs, mem, icount, done))
    }

    fn linux_config(
        &mut self,
        invs: &[Invocation],
        mem: MemSize,
        cpus: u32,
        icount: bool,
        net: bool,
        devices: Devices,
    ) -> Result<VmConfig, CliError> {
        let programs: Vec<&'static str> = invs.iter().map(|i| i.program).collect();
        let initrd = self.linux_image(&programs, net)?;
        let tsc = if icount {
            Some(ICOUNT_TSC_KHZ)
        } else {
            self.tsc_khz
        };
        let commands: Vec<Vec<String>> = invs.iter().map(Invocation::argv).collect();
        let cmdline = linux::cmdline(tsc, &commands)?;
        Ok(self.config(
            self.linux.image.clone(),
            initrd,
            cmdline,
            mem,
            cpus,
            devices,
        ))
    }

    fn linux_result(
        &self,
        programs: &[&str],
        mem: MemSize,
        icount: bool,
        done: Finished,
    ) -> RunResult {
        let result = RunResult {
            wall: done.wall,
            error: linux_verdict(&done).err(),
            output: done.com1,
        };
        self.trace(Kernel::Linux, programs, mem, icount, &result);
        result
    }

    fn trace(&self, kernel: Kernel, programs: &[&str], mem: MemSize, icount: bool, r: &RunResult) {
        if !self.verbose {
            return;
        }
        let mode = if icount { " icount" } else { "" };
        eprintln!(
            "oxv: bench: {} {}{mode} -m {mem}: {} ms{}",
            kernel.name(),
            programs.join(","),
            r.wall.as_millis(),
            r.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
}

/// The Linux guest's QEMU arguments: oxv's, except that microvm keeps its ACPI tables,
/// where Linux finds the virtio-mmio devices (see the [`linux`] module docs).
pub fn linux_qemu_args(cfg: &VmConfig, icount: bool) -> Vec<std::ffi::OsString> {
    guest::qemu_args(cfg, icount)
        .into_iter()
        .map(|a| if a == "acpi=off" { "acpi=on".into() } else { a })
        .collect()
}

/// oxv's verdict from its kernel log: `Ok` only for `exit status=0`.
pub fn oxv_verdict(done: &Finished) -> Result<(), String> {
    let mut exit = None;
    let mut other = None;
    for line in done.klog.lines() {
        match classify(line).record {
            Some(Ok(Record::Exit { status })) => exit = Some(status),
            Some(Ok(Record::Killed(k))) => other = Some(format!("the program was killed by {k}")),
            Some(Ok(Record::Panic)) => other = Some("the kernel panicked".to_string()),
            _ => {}
        }
    }
    let why = match (other, exit) {
        (Some(why), _) => why,
        (None, Some(0)) => return Ok(()),
        (None, Some(status)) => format!("the program exited with status {status}"),
        (None, None) if done.timed_out => "timed out".to_string(),
        (None, None) => format!("the VM stopped without an exit record ({:?})", done.status),
    };
    Err(format!(
        "{why}\n  kernel log:\n{}  stderr:\n{}  QEMU:\n{}",
        guest::tail(&format!("{}{}", done.com1, done.klog), 15),
        guest::tail(&done.stderr, 5),
        guest::tail(&done.qemu, 5)
    ))
}

/// Linux's verdict from its console: `Ok` when init finished and every program exited 0.
pub fn linux_verdict(done: &Finished) -> Result<(), String> {
    let failed: Vec<String> = output::init_statuses(&done.com1)
        .into_iter()
        .filter(|(_, status)| *status != 0)
        .map(|(program, status)| format!("{program} exited with status {status}"))
        .collect();
    let why = if !failed.is_empty() {
        failed.join("; ")
    } else if output::init_done(&done.com1) {
        return Ok(());
    } else if done.timed_out {
        "timed out before init finished".into()
    } else {
        format!("the VM stopped before init finished ({:?})", done.status)
    };
    Err(format!(
        "{why}\n  console:\n{}  QEMU:\n{}",
        guest::tail(&done.com1, 15),
        guest::tail(&done.qemu, 5)
    ))
}

/// The end of the kernel's memory image (highest `p_paddr + p_memsz` of its loadable
/// segments) and the sum of their sizes.
pub fn elf_extent(path: &Path) -> Option<(u64, u64)> {
    let bytes = std::fs::read(path).ok()?;
    let elf = goblin::elf::Elf::parse(&bytes).ok()?;
    let loads = elf
        .program_headers
        .iter()
        .filter(|ph| ph.p_type == goblin::elf::program_header::PT_LOAD);
    let end = loads.clone().map(|ph| ph.p_paddr + ph.p_memsz).max()?;
    Some((end, loads.map(|ph| ph.p_memsz).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(klog: &str, com1: &str) -> Finished {
        Finished {
            wall: Duration::from_millis(1),
            timed_out: false,
            status: None,
            com1: com1.into(),
            stdout: String::new(),
            stderr: String::new(),
            klog: klog.into(),
            qemu: String::new(),
        }
    }

    #[test]
    fn oxv_runs_pass_only_with_exit_status_zero() {
        assert!(oxv_verdict(&finished("boot\n\x1eoxv:exit status=0\n", "")).is_ok());
        let e = oxv_verdict(&finished("\x1eoxv:exit status=3\n", "")).unwrap_err();
        assert!(e.starts_with("the program exited with status 3"), "{e}");
        let e = oxv_verdict(&finished("\x1eoxv:panic\nboom\n", "")).unwrap_err();
        assert!(
            e.starts_with("the kernel panicked") && e.contains("boom"),
            "{e}"
        );
        let e = oxv_verdict(&finished(
            "\x1eoxv:killed sig=11 name=SIGSEGV addr=0x10 rip=0x1\n\x1eoxv:exit status=0\n",
            "",
        ))
        .unwrap_err();
        assert!(e.contains("killed by SIGSEGV"), "{e}");
        let e = oxv_verdict(&finished("log only\n", "")).unwrap_err();
        assert!(
            e.starts_with("the VM stopped without an exit record"),
            "{e}"
        );
    }

    #[test]
    fn linux_runs_pass_when_init_finishes_cleanly() {
        let ok = "oxv-bench-init status=0 program=/bench/a\r\noxv-bench-init done\r\n";
        assert!(linux_verdict(&finished("", ok)).is_ok());
        let bad = "oxv-bench-init status=139 program=/bench/a\noxv-bench-init done\n";
        let e = linux_verdict(&finished("", bad)).unwrap_err();
        assert!(e.starts_with("/bench/a exited with status 139"), "{e}");
        let e = linux_verdict(&finished("", "Kernel panic - not syncing\n")).unwrap_err();
        assert!(e.starts_with("the VM stopped before init finished"), "{e}");
    }

    #[test]
    fn invocations_use_the_guest_path_as_argv0() {
        let inv = Invocation {
            program: "null_syscall",
            args: vec!["10".into()],
        };
        assert_eq!(inv.argv(), ["/bench/null_syscall", "10"]);
    }
}
