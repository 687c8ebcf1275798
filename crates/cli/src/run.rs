//! `oxv run`: check the program on the host, build what is stale, boot, report.
//!
//! The order matters for the user: everything that can be refused without a VM (bad ELF,
//! missing libraries, missing `--file`, conflicting guest paths) is refused first, with
//! status 2 and before any build or setup; then host requirements, the kernel build and the
//! accelerator; then the initramfs and the boot. Temporary files live in
//! `target/oxv-run/<pid>-<n>/` and are removed when the run ends (also on Ctrl-C); leftovers
//! of runs whose process is gone are removed by the next run.
//!
//! [`boot_with`] is the part `oxv boot` shares: from a kernel, an initramfs and the app's part of
//! the command line to the exit status.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use oxv_abi::cmdline::BootArgs;

use crate::accel::{self, Accel, AccelChoice, HostFacts};
use crate::cli::{EnvVar, KernelOption, RunArgs};
use crate::error::{CliError, EXIT_NO_RECORD, EXIT_PANIC, EXIT_TIMEOUT};
use crate::payload;
use crate::qemu::{Devices, Machine, VmConfig, fits_sockaddr};
use crate::setup::{self, Requirement};
use crate::size::MemSize;
use crate::symbolize::SymbolTable;
use crate::vm::{self, Ending, Outcome, VmOptions};
use crate::workspace::Workspace;

/// Kernel-log lines shown in a failure report (the full log is shown live with --verbose).
const KLOG_TAIL: usize = 200;

/// Runs `oxv run`; returns the exit status.
pub fn run(args: RunArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let verbose = args.verbose;

    // 1. What can be refused without a VM.
    let payload = payload::build(&args, &ws)?;
    let devices = run_devices(&args)?;
    if let Some(mem) = args.mem {
        // Files larger than the memory cannot fit whatever the kernel: refuse before
        // building anything (the exact check, with the kernel's size, comes below).
        let file_bytes: u64 = payload.image.files().map(|(_, n)| n).sum();
        if file_bytes >= mem.bytes() {
            return Err(CliError::Usage(format!(
                "--mem {} KiB is too small for this image: its files alone take {} KiB",
                mem.bytes() / 1024,
                file_bytes.div_ceil(1024)
            )));
        }
    }

    // 2. The host side: requirements, kernel.
    setup::ensure(&ws, Requirement::RUN, verbose)?;
    let kernel = build_or_retry(&ws, verbose, |ws| ws.kernel(verbose))?;
    let mut body = app_cmdline(args.strace, verbose, &args.env, payload.argv)?;
    body.options.extend(devices.kernel_options());
    if args.net_selftest {
        body.options.push(("net_selftest".into(), None));
    }
    if let Some(name) = &args.selftest {
        body.options
            .push(("selftest".into(), Some(name.clone().into_bytes())));
    }
    body.options.extend(user_kernel_options(&args));
    body.check()
        .map_err(|e| CliError::Usage(format!("cannot pass these arguments to the guest: {e}")))?;

    // A --mem too small for the files is refused from their sizes, before reading them.
    if args.mem.is_some() {
        let file_bytes = payload.image.files().map(|(_, n)| n).sum();
        guest_memory(args.mem, &kernel, file_bytes)?;
    }

    // 3. Boot.
    let dir = RunDir::create(&ws)?;
    let initrd = dir.path.join("initramfs.cpio");
    let cpio = payload::write_cpio(&payload.image)?;
    std::fs::write(&initrd, &cpio)
        .map_err(|e| CliError::io(format!("cannot write {}", initrd.display()), e))?;
    if verbose {
        eprintln!(
            "oxv: initramfs: {} bytes, {} entries",
            cpio.len(),
            payload.image.paths().count()
        );
    }
    let mem = guest_memory(args.mem, &kernel, cpio.len() as u64)?;
    boot_with(
        &ws,
        &Boot {
            kernel,
            initrd: Some(initrd),
            body,
            mem,
            cpus: args.cpus,
            machine: args.machine,
            accel: args.accel,
            timeout: args.timeout,
            verbose,
            program: payload.program,
        },
        &devices,
        Some(dir),
    )
}

/// Everything [`boot`] needs.
#[derive(Debug, Clone)]
pub struct Boot {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The initramfs file; `None` when the root is a disk (`disk=/`).
    pub initrd: Option<PathBuf>,
    /// The app's part of the command line ([`app_cmdline`]).
    pub body: BootArgs,
    /// Guest RAM.
    pub mem: MemSize,
    /// vCPUs.
    pub cpus: u32,
    /// Machine type.
    pub machine: Machine,
    /// Accelerator choice.
    pub accel: AccelChoice,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--verbose`.
    pub verbose: bool,
    /// The program's guest path, for messages.
    pub program: String,
}

/// The kernel options a user asks for by name: `--nokaslr`, then each `--kernel-opt` in
/// order. They go last on the command line, so a `--kernel-opt` wins over an option `oxv`
/// derived from another flag (the kernel reads the last of a key).
pub fn user_kernel_options(args: &RunArgs) -> Vec<(String, Option<Vec<u8>>)> {
    let nokaslr = args.nokaslr.then(|| ("nokaslr".to_string(), None));
    nokaslr
        .into_iter()
        .chain(args.kernel_opts.iter().map(KernelOption::to_cmdline))
        .collect()
}

/// The disks and network device that `--disk`, `--net` and `-p` ask for; the images must
/// exist.
fn run_devices(args: &RunArgs) -> Result<Devices, CliError> {
    let mut devices = Devices::from_options(&args.disks, args.net.as_ref(), &args.ports)
        .map_err(CliError::Usage)?;
    devices.rng = args.rng;
    for disk in &devices.disks {
        if !disk.image.is_file() {
            return Err(CliError::Usage(format!(
                "--disk {}: no such image file",
                disk.image.display()
            )));
        }
    }
    Ok(devices)
}

/// Boots `spec` with `devices` and the channels to this process and returns the exit status.
/// `dir` is the run directory if the caller made one already (it holds the initramfs).
pub fn boot_with(
    ws: &Workspace,
    spec: &Boot,
    devices: &Devices,
    dir: Option<RunDir>,
) -> Result<u8, CliError> {
    let verbose = spec.verbose;
    let accel = accel::decide(spec.accel, HostFacts::probe)?;
    // Under TCG the guest reads the host's TSC: tell it the frequency (see host_tsc).
    let tsc_khz = match accel.accel {
        Accel::Tcg => crate::host_tsc::host_tsc_khz(&ws.target_dir()),
        Accel::Kvm => None,
    };
    let host = HostTerminal {
        tsc_khz,
        ..HostTerminal::detect()
    };
    let cmdline = with_console(&host, &spec.body)?;
    if verbose {
        eprintln!("oxv: accel: {} ({})", accel.accel, accel.reason);
        eprintln!("oxv: kernel: {}", spec.kernel.display());
        eprintln!("oxv: cmdline: {cmdline}");
    }
    let dir = match dir {
        Some(dir) => dir,
        None => RunDir::create(ws)?,
    };
    let config = VmConfig {
        machine: spec.machine,
        accel: accel.accel,
        mem: spec.mem,
        cpus: spec.cpus,
        kernel: spec.kernel.clone(),
        initrd: spec.initrd.clone(),
        cmdline,
        socket_dir: dir.socket_dir.clone(),
        devices: devices.clone(),
    };
    let outcome = vm::run(
        &config,
        &VmOptions {
            verbose,
            timeout: spec.timeout,
        },
    )?;
    drop(dir);
    if verbose {
        let boot = outcome
            .boot_us
            .map(|us| format!(" (kernel entry to app: {us} µs)"))
            .unwrap_or_default();
        eprintln!("oxv: the VM ran for {} ms{boot}", outcome.wall.as_millis());
    }
    Ok(report(
        &outcome,
        &spec.program,
        &spec.kernel,
        verbose,
        spec.timeout,
    ))
}

/// The end of the kernel's memory image (highest `p_paddr + p_memsz` of its loadable
/// segments).
fn kernel_phys_end(elf: &[u8]) -> Option<u64> {
    let elf = goblin::elf::Elf::parse(elf).ok()?;
    elf.program_headers
        .iter()
        .filter(|ph| ph.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|ph| ph.p_paddr + ph.p_memsz)
        .max()
}

/// The smallest guest RAM in which QEMU can place `initrd_len` bytes of initramfs above a
/// kernel image ending at `kernel_end` (QEMU loads the initramfs at the top of RAM, on the pc
/// and q35 machines below the 160 KiB kept for ACPI tables, and does not check that it misses
/// the kernel), plus room between the two for the frame allocator's table (12 bytes per 4 KiB
/// frame) and 16 KiB of slack.
///
/// The kernel's page tables fall back to the first MiB's RAM when that gap is too small, and
/// everything else comes from memory boot gives back: the first MiB (about 600 KiB) and the
/// archive's pages as it is unpacked. So a static hello runs at this size (measured with
/// archives of 0.7, 2.8 and 6.9 MiB, docs/performance.md). An archive of many small files
/// needs more (each file takes whole pages); the kernel then stops with an "out of memory at
/// boot" message naming the step.
pub fn min_mem_for(kernel_end: u64, initrd_len: u64) -> u64 {
    const ACPI_TOP: u64 = 160 << 10;
    const SLACK: u64 = 16 << 10;
    let end = (kernel_end + initrd_len).next_multiple_of(4096);
    let frame_table = ((end + ACPI_TOP) / 4096 * 12).next_multiple_of(4096);
    end + ACPI_TOP + frame_table + SLACK
}

/// The guest memory when `--mem` is not given: the default, or for a large image twice the
/// archive with 96 MiB to spare, in 32 MiB steps (the kernel reuses the archive's pages for
/// the files as it unpacks, but small files take whole pages, so the files can need more
/// than the archive).
pub fn default_mem_for(kernel_end: u64, initrd_len: u64) -> MemSize {
    const STEP: u64 = 32 << 20;
    let want = (kernel_end + 2 * initrd_len + (96 << 20)).next_multiple_of(STEP);
    let default = MemSize::DEFAULT;
    if want <= default.bytes() {
        return default;
    }
    format!("{}M", want >> 20).parse().unwrap_or(default)
}

/// The guest memory for an image of `initrd_len` bytes: `--mem` if given (refused when too
/// small for the image, with the size that would work, instead of booting a VM whose
/// initramfs overwrites the kernel), else [`default_mem_for`].
pub fn guest_memory(
    mem: Option<MemSize>,
    kernel: &Path,
    initrd_len: u64,
) -> Result<MemSize, CliError> {
    let end = std::fs::read(kernel)
        .ok()
        .and_then(|bytes| kernel_phys_end(&bytes));
    let Some(mem) = mem else {
        let chosen = default_mem_for(end.unwrap_or(0), initrd_len);
        if chosen != MemSize::DEFAULT {
            eprintln!(
                "oxv: guest memory: {} for a {} image (--mem sets it)",
                chosen.qemu_arg(),
                payload::mib(initrd_len)
            );
        }
        return Ok(chosen);
    };
    let Some(end) = end else {
        return Ok(mem);
    };
    let need = min_mem_for(end, initrd_len);
    if mem.bytes() < need {
        return Err(CliError::Usage(format!(
            "--mem {} KiB is too small for this image: the kernel and the {} KiB initramfs need at least {} KiB",
            mem.bytes() / 1024,
            initrd_len / 1024,
            need.div_ceil(1024)
        )));
    }
    Ok(mem)
}

/// What the guest should know about the host: which of our fds 0-2 are terminals and the
/// terminal's size (the guest's fds 0-2 are terminals exactly when ours are, so `isatty` in
/// the app agrees with the shell), and the TSC frequency when the guest shares our TSC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostTerminal {
    /// The digits of the fds that are terminals (`"012"` interactive, `""` fully piped).
    pub ttys: String,
    /// Rows and columns, if one of them is a terminal.
    pub winsize: Option<(u16, u16)>,
    /// The TSC frequency the guest sees, when the host knows it (TCG: the host's own).
    pub tsc_khz: Option<u64>,
}

impl HostTerminal {
    /// Asks the host about fds 0, 1 and 2.
    pub fn detect() -> HostTerminal {
        let mut t = HostTerminal::default();
        for fd in 0..3 {
            // SAFETY: isatty only inspects the descriptor.
            if unsafe { libc::isatty(fd) } == 1 {
                t.ttys.push(char::from(b'0' + fd as u8));
                if t.winsize.is_none() {
                    let mut ws = libc::winsize {
                        ws_row: 0,
                        ws_col: 0,
                        ws_xpixel: 0,
                        ws_ypixel: 0,
                    };
                    // SAFETY: TIOCGWINSZ writes one `winsize` into the buffer we pass.
                    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
                        t.winsize = Some((ws.ws_row, ws.ws_col));
                    }
                }
            }
        }
        t
    }
}

/// The kernel command line: `console=split`, the host terminal's shape, `strace`/`verbose` as
/// asked, `options` (e.g. [`user_kernel_options`]), the environment (exactly `env`), then
/// argv.
pub fn kernel_cmdline_for(
    term: &HostTerminal,
    strace: bool,
    verbose: bool,
    options: &[(String, Option<Vec<u8>>)],
    env: &[EnvVar],
    argv: Vec<Vec<u8>>,
) -> Result<String, CliError> {
    let mut body = app_cmdline(strace, verbose, env, argv)?;
    body.options.extend_from_slice(options);
    with_console(term, &body)
}

/// The app's part of the command line: `strace`/`verbose` as asked, the environment
/// (exactly `env`), argv. It does not depend on the host, so a bundle stores it.
pub fn app_cmdline(
    strace: bool,
    verbose: bool,
    env: &[EnvVar],
    argv: Vec<Vec<u8>>,
) -> Result<BootArgs, CliError> {
    let mut boot = BootArgs::new(argv);
    if strace {
        boot.options.push(("strace".into(), None));
    }
    if verbose {
        boot.options.push(("verbose".into(), None));
    }
    boot.env = env
        .iter()
        .map(|v| format!("{}={}", v.name, v.value).into_bytes())
        .collect();
    boot.check()
        .map_err(|e| CliError::Usage(format!("cannot pass these arguments to the guest: {e}")))?;
    Ok(boot)
}

/// `body` with the options of a run connected to this process put first: `console=split`
/// and the host terminal's shape. Encoded.
pub fn with_console(term: &HostTerminal, body: &BootArgs) -> Result<String, CliError> {
    let mut options: Vec<(String, Option<Vec<u8>>)> =
        vec![("console".into(), Some(b"split".to_vec()))];
    if !term.ttys.is_empty() {
        options.push(("tty".into(), Some(term.ttys.clone().into_bytes())));
    }
    if let Some(khz) = term.tsc_khz {
        options.push(("tsc_khz".into(), Some(khz.to_string().into_bytes())));
    }
    if let Some((rows, cols)) = term.winsize {
        options.push((
            "winsize".into(),
            Some(format!("{rows}x{cols}").into_bytes()),
        ));
    }
    let mut boot = body.clone();
    boot.options
        .retain(|(k, _)| !options.iter().any(|(o, _)| o == k));
    options.append(&mut boot.options);
    boot.options = options;
    boot.check()
        .map_err(|e| CliError::Usage(format!("cannot pass these arguments to the guest: {e}")))?;
    Ok(boot.encode())
}

/// Runs a build; if it fails, checks the host requirements again (a Rust target may have
/// been removed since the setup stamp was written) and retries once if something had to be
/// installed.
pub fn build_or_retry(
    ws: &Workspace,
    verbose: bool,
    build: impl Fn(&Workspace) -> Result<PathBuf, CliError>,
) -> Result<PathBuf, CliError> {
    match build(ws) {
        Ok(path) => Ok(path),
        Err(CliError::Build(msg)) => {
            setup::forget(ws);
            if setup::ensure(ws, Requirement::RUN, verbose)? {
                eprintln!("oxv: setup installed something; retrying the build");
                return build(ws);
            }
            Err(CliError::Build(msg))
        }
        Err(e) => Err(e),
    }
}

/// Prints what the user must know about the run's end and returns the exit status.
fn report(
    outcome: &Outcome,
    program: &str,
    kernel: &Path,
    verbose: bool,
    timeout: Option<std::time::Duration>,
) -> u8 {
    for warning in &outcome.warnings {
        eprintln!("oxv: warning: {warning}");
    }
    let dump = |why: &str| {
        if !verbose {
            dump_klog(&outcome.klog, outcome.klog_dropped);
            if !outcome.qemu_output.trim().is_empty() {
                eprintln!("oxv: QEMU's output:");
                eprint!("{}", indent(&outcome.qemu_output));
            }
        }
        eprintln!("oxv: error: {why}");
    };
    match &outcome.ending {
        Ending::Exit(status) => *status,
        Ending::Killed(k) => {
            eprintln!("oxv: {program} killed by {k}");
            k.exit_status()
        }
        Ending::Panic { message, backtrace } => {
            if !verbose {
                dump_klog(&outcome.klog, outcome.klog_dropped);
            }
            eprintln!("oxv: kernel panic:");
            for line in message {
                eprintln!("  {line}");
            }
            match backtrace {
                Some(addrs) => print_backtrace(addrs, kernel),
                None => eprintln!("oxv: (no backtrace record)"),
            }
            EXIT_PANIC
        }
        Ending::NoRecord {
            qemu,
            before_connect,
        } => {
            let status = qemu.map(|s| format!(" (QEMU {s})")).unwrap_or_default();
            if *before_connect {
                dump(&format!("QEMU failed to start{status}"));
            } else {
                dump(&format!("the VM stopped without an exit record{status}"));
            }
            EXIT_NO_RECORD
        }
        Ending::Timeout => {
            let secs = timeout.map(|t| t.as_secs_f64()).unwrap_or_default();
            dump(&format!("timed out after {secs} s; the VM was stopped"));
            EXIT_TIMEOUT
        }
        // The reader of our output went away: end quietly, as a program killed by SIGPIPE.
        Ending::StdoutClosed => 128 + libc::SIGPIPE as u8,
        Ending::Interrupted(sig) => {
            eprintln!("oxv: interrupted; the VM was stopped");
            128u8.saturating_add(u8::try_from(*sig).unwrap_or(0))
        }
    }
}

fn dump_klog(klog: &VecDeque<String>, dropped: usize) {
    if klog.is_empty() {
        eprintln!("oxv: the kernel log is empty");
        return;
    }
    let skip = klog.len().saturating_sub(KLOG_TAIL);
    eprintln!("oxv: kernel log:");
    if skip + dropped > 0 {
        eprintln!(
            "  ... ({} earlier lines; --verbose shows them all)",
            skip + dropped
        );
    }
    for line in klog.iter().skip(skip) {
        eprintln!("  {line}");
    }
}

fn print_backtrace(addrs: &[u64], kernel: &Path) {
    eprintln!("oxv: backtrace:");
    let table = SymbolTable::load(kernel).unwrap_or_else(|e| {
        eprintln!("oxv: warning: cannot symbolize: {e}");
        SymbolTable::default()
    });
    for (i, addr) in addrs.iter().enumerate() {
        eprintln!("  {i:>2}: {}", table.frame(*addr));
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A run's temporary directory, removed on drop.
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    /// Where the channel sockets go: `path`, or a short directory under /tmp when `path` is
    /// too long for a socket address.
    socket_dir: PathBuf,
}

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

impl RunDir {
    /// Creates a fresh run directory under `target/oxv-run`.
    pub fn create(ws: &Workspace) -> Result<Self, CliError> {
        let base = ws.target_dir().join("oxv-run");
        remove_stale(&base);
        let name = format!(
            "{}-{}",
            std::process::id(),
            RUN_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = base.join(&name);
        std::fs::create_dir_all(&path)
            .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
        let mut dir = RunDir {
            socket_dir: path.clone(),
            path,
        };
        if !fits_sockaddr(&dir.path.join("stdout")) {
            let short = std::env::temp_dir().join(format!("oxv-{name}"));
            std::fs::create_dir_all(&short)
                .map_err(|e| CliError::io(format!("cannot create {}", short.display()), e))?;
            dir.socket_dir = short;
        }
        Ok(dir)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // Best effort: a leftover is removed by a later run (remove_stale).
        let _ = std::fs::remove_dir_all(&self.path);
        if self.socket_dir != self.path {
            let _ = std::fs::remove_dir_all(&self.socket_dir);
        }
    }
}

/// Removes run directories whose owning process no longer exists.
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                // Best effort, like Drop.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
        pairs
            .iter()
            .map(|(n, v)| EnvVar {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_cmdline_carries_options_exact_env_and_argv() {
        let argv = vec![
            b"/bin/app".to_vec(),
            b"a b".to_vec(),
            b"".to_vec(),
            b"100%".to_vec(),
            b"--".to_vec(),
        ];
        let line = kernel_cmdline_for(
            &HostTerminal::default(),
            true,
            false,
            &[],
            &env(&[("A", "1"), ("B", "x=y z")]),
            argv.clone(),
        )
        .unwrap();
        let decoded = BootArgs::decode(&line).unwrap();
        assert_eq!(decoded.option("console"), Some(Some(&b"split"[..])));
        assert!(decoded.has_option("strace"));
        assert!(!decoded.has_option("verbose"));
        assert_eq!(decoded.env, [b"A=1".to_vec(), b"B=x=y z".to_vec()]);
        assert_eq!(decoded.argv, argv);
    }

    #[test]
    fn nothing_implicit_without_flags() {
        let line = kernel_cmdline_for(
            &HostTerminal::default(),
            false,
            false,
            &[],
            &[],
            vec![b"/p".to_vec()],
        )
        .unwrap();
        let term = HostTerminal {
            ttys: "12".into(),
            winsize: Some((50, 132)),
            tsc_khz: Some(2_400_000),
        };
        let with_tty = BootArgs::decode(
            &kernel_cmdline_for(&term, false, false, &[], &[], vec![b"/p".to_vec()]).unwrap(),
        )
        .unwrap();
        assert_eq!(with_tty.option("tty"), Some(Some(&b"12"[..])));
        assert_eq!(with_tty.option("winsize"), Some(Some(&b"50x132"[..])));
        assert_eq!(with_tty.option("tsc_khz"), Some(Some(&b"2400000"[..])));
        // The ACPI area, a two-page frame table and slack between kernel and initramfs.
        assert_eq!(min_mem_for(0x18c000, 0x1000), 0x18d000 + (184 << 10));
        // The static hello: 2847 KiB of kernel and 746 KiB of initramfs fit in 3.75 MiB.
        assert!(min_mem_for(2847 << 10, 746 << 10) <= 3840 << 10);
        // The frame table grows with the memory: 12 bytes per frame.
        let big = min_mem_for(2 << 20, 62 << 20);
        assert!(((64 << 20) + (160 << 10) + (192 << 10)..65 << 20).contains(&big));
        assert_eq!(with_tty.option("tsc_khz"), Some(Some(&b"2400000"[..])));
        let decoded = BootArgs::decode(&line).unwrap();
        assert_eq!(
            decoded.options,
            [("console".to_string(), Some(b"split".to_vec()))]
        );
        assert!(decoded.env.is_empty());
        assert_eq!(decoded.argv, [b"/p".to_vec()]);
        assert!(
            BootArgs::decode(
                &kernel_cmdline_for(
                    &HostTerminal::default(),
                    false,
                    true,
                    &[],
                    &[],
                    vec![b"/p".to_vec()]
                )
                .unwrap()
            )
            .unwrap()
            .has_option("verbose")
        );
    }

    #[test]
    fn kernel_options_go_last_in_order_and_survive_encoding() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "oxv",
            "run",
            "--nokaslr",
            "--kernel-opt",
            "nounlockednet",
            "--kernel-opt",
            "k=a%22b\"c=d",
            "--kernel-opt",
            "verbose",
            "p",
        ])
        .expect("valid arguments");
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("not a run: {:?}", cli.command)
        };
        let mut body = app_cmdline(false, false, &[], vec![b"/p".to_vec()]).unwrap();
        body.options.push(("strace".into(), None));
        body.options.extend(user_kernel_options(&args));
        let decoded =
            BootArgs::decode(&with_console(&HostTerminal::default(), &body).unwrap()).unwrap();
        let keys: Vec<&str> = decoded.options.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "console",
                "strace",
                "nokaslr",
                "nounlockednet",
                "k",
                "verbose"
            ]
        );
        assert_eq!(decoded.option("k"), Some(Some(&b"a%22b\"c=d"[..])));
        assert_eq!(decoded.argv, [b"/p".to_vec()]);
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(
            kernel_cmdline_for(
                &HostTerminal::default(),
                false,
                false,
                &[],
                &[],
                vec![b"/p".to_vec(), b"a\0b".to_vec()]
            )
            .is_err()
        );
    }
}
