//! `oxv run`: check the program on the host, build what is stale, boot, report.
//!
//! The order matters for the user: everything that can be refused without a VM (bad ELF,
//! dynamic executable, missing `--file`, conflicting guest paths) is refused first, with
//! status 2 and before any build or setup; then host requirements, the kernel build and the
//! accelerator; then the initramfs and the boot. Temporary files live in
//! `target/oxv-run/<pid>-<n>/` and are removed when the run ends (also on Ctrl-C); leftovers
//! of runs whose process is gone are removed by the next run.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use oxv_abi::cmdline::BootArgs;

use crate::accel::{self, Accel, HostFacts};
use crate::cli::{EnvVar, RunArgs};
use crate::error::{CliError, EXIT_NO_RECORD, EXIT_PANIC, EXIT_TIMEOUT};
use crate::image::Image;
use crate::qemu::{VmConfig, fits_sockaddr};
use crate::setup::{self, Requirement};
use crate::symbolize::SymbolTable;
use crate::vm::{self, Ending, Outcome, VmOptions};
use crate::workspace::{Workspace, find_in_path};

/// Kernel-log lines shown in a failure report (the full log is shown live with --verbose).
const KLOG_TAIL: usize = 200;

/// Runs `oxv run`; returns the exit status.
pub fn run(args: RunArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let verbose = args.verbose;
    let mut command = args.command.into_iter();

    // 1. What can be refused without a VM.
    let (program_path, program_bytes) = match command.next() {
        Some(program) => {
            let path = resolve_program(&program);
            let bytes = std::fs::read(&path).map_err(|source| CliError::ReadProgram {
                path: path.clone(),
                source,
            })?;
            (path, bytes)
        }
        None => {
            setup::ensure(&ws, Requirement::RUN, verbose)?;
            let path = build_or_retry(&ws, verbose, |ws| ws.demo(verbose))?;
            let bytes = std::fs::read(&path).map_err(|source| CliError::ReadProgram {
                path: path.clone(),
                source,
            })?;
            (path, bytes)
        }
    };
    check_elf(&program_path, &program_bytes)?;
    let guest_program = guest_path_of(&program_path)?;
    let mode = std::fs::metadata(&program_path)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    let mut image = Image::new();
    // The guest execs it whatever the host copy's bits say: its owner must read and run it.
    image.add_bytes(&guest_program, mode.unwrap_or(0o755) | 0o500, program_bytes)?;
    for file in &args.files {
        let guest = match &file.guest {
            Some(g) => g.clone(),
            None => absolute_utf8(&file.host)?,
        };
        image.add_host(&file.host, &guest)?;
    }
    let mut argv: Vec<Vec<u8>> = vec![guest_program.clone().into_bytes()];
    argv.extend(command.map(OsString::into_vec));

    // 2. The host side: requirements, kernel, accelerator.
    setup::ensure(&ws, Requirement::RUN, verbose)?;
    let kernel = build_or_retry(&ws, verbose, |ws| ws.kernel(verbose))?;
    let accel = accel::decide(args.accel, HostFacts::probe)?;
    // Under TCG the guest reads the host's TSC: tell it the frequency (see host_tsc).
    let tsc_khz = match accel.accel {
        Accel::Tcg => crate::host_tsc::host_tsc_khz(&ws.target_dir()),
        Accel::Kvm => None,
    };
    let host = HostTerminal {
        tsc_khz,
        ..HostTerminal::detect()
    };
    let cmdline = kernel_cmdline_for(&host, args.strace, verbose, &args.env, argv)?;
    if verbose {
        eprintln!("oxv: accel: {} ({})", accel.accel, accel.reason);
        eprintln!("oxv: kernel: {}", kernel.display());
        eprintln!("oxv: cmdline: {cmdline}");
    }

    // 3. Boot.
    let dir = RunDir::create(&ws)?;
    let initrd = dir.path.join("initramfs.cpio");
    let cpio = image.to_cpio()?;
    std::fs::write(&initrd, &cpio)
        .map_err(|e| CliError::io(format!("cannot write {}", initrd.display()), e))?;
    if verbose {
        eprintln!(
            "oxv: initramfs: {} bytes, {} entries",
            cpio.len(),
            image.paths().count()
        );
    }
    check_memory_fits(&kernel, cpio.len() as u64, args.mem.bytes())?;
    let config = VmConfig {
        machine: args.machine,
        accel: accel.accel,
        mem: args.mem,
        cpus: args.cpus,
        kernel: kernel.clone(),
        initrd,
        cmdline,
        socket_dir: dir.socket_dir.clone(),
    };
    let outcome = vm::run(
        &config,
        &VmOptions {
            verbose,
            timeout: args.timeout,
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
        &guest_program,
        &kernel,
        verbose,
        args.timeout,
    ))
}

/// A program name without a slash that is not in the current directory is looked up on
/// `PATH`, as a shell would; anything else is a path.
fn resolve_program(program: &OsString) -> PathBuf {
    let path = PathBuf::from(program);
    let bare = !program.as_encoded_bytes().contains(&b'/');
    if bare && !path.exists() {
        if let Some(found) = program.to_str().and_then(find_in_path) {
            return found;
        }
    }
    path
}

/// Refuses what the kernel cannot load: not an ELF it understands, or a dynamic executable.
fn check_elf(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let plan = oxv_abi::exec::plan(bytes).map_err(|e| CliError::BadElf {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if let Some(interp) = &plan.interp {
        return Err(CliError::Dynamic {
            path: path.to_path_buf(),
            interp: String::from_utf8_lossy(interp).into_owned(),
        });
    }
    Ok(())
}

/// The program's guest path: its canonical host path (also argv[0]).
fn guest_path_of(path: &Path) -> Result<String, CliError> {
    let canonical = path
        .canonicalize()
        .map_err(|source| CliError::ReadProgram {
            path: path.to_path_buf(),
            source,
        })?;
    canonical.into_os_string().into_string().map_err(|p| {
        CliError::Usage(format!(
            "{}: guest paths must be UTF-8",
            Path::new(&p).display()
        ))
    })
}

/// A host path made absolute (not resolving symlinks), as a UTF-8 guest path.
fn absolute_utf8(path: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(path).map_err(|e| CliError::HostFile {
        context: path.display().to_string(),
        source: e,
    })?;
    abs.into_os_string().into_string().map_err(|p| {
        CliError::Usage(format!(
            "{}: guest paths must be UTF-8",
            Path::new(&p).display()
        ))
    })
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
/// kernel image ending at `kernel_end` (QEMU puts the initramfs at the top of RAM and does not
/// check that it misses the kernel), plus the 1 MiB the kernel needs to start.
pub fn min_mem_for(kernel_end: u64, initrd_len: u64) -> u64 {
    (kernel_end + initrd_len).next_multiple_of(4096) + (1 << 20)
}

/// Refuses a `--mem` too small for the image, with the size that would work, instead of
/// booting a VM whose initramfs overwrites the kernel.
fn check_memory_fits(kernel: &Path, initrd_len: u64, mem: u64) -> Result<(), CliError> {
    let Ok(bytes) = std::fs::read(kernel) else {
        return Ok(());
    };
    let Some(end) = kernel_phys_end(&bytes) else {
        return Ok(());
    };
    let need = min_mem_for(end, initrd_len);
    if mem < need {
        return Err(CliError::Usage(format!(
            "--mem {} KiB is too small for this image: the kernel and the {} KiB initramfs need at least {} KiB",
            mem / 1024,
            initrd_len / 1024,
            need.div_ceil(1024)
        )));
    }
    Ok(())
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
/// asked, the environment (exactly `env`), then argv.
pub fn kernel_cmdline_for(
    term: &HostTerminal,
    strace: bool,
    verbose: bool,
    env: &[EnvVar],
    argv: Vec<Vec<u8>>,
) -> Result<String, CliError> {
    let mut boot = BootArgs::new(argv);
    boot.options
        .push(("console".into(), Some(b"split".to_vec())));
    if !term.ttys.is_empty() {
        boot.options
            .push(("tty".into(), Some(term.ttys.clone().into_bytes())));
    }
    if let Some(khz) = term.tsc_khz {
        boot.options
            .push(("tsc_khz".into(), Some(khz.to_string().into_bytes())));
    }
    if let Some((rows, cols)) = term.winsize {
        boot.options.push((
            "winsize".into(),
            Some(format!("{rows}x{cols}").into_bytes()),
        ));
    }
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
    Ok(boot.encode())
}

/// Runs a build; if it fails, checks the host requirements again (a Rust target may have
/// been removed since the setup stamp was written) and retries once if something had to be
/// installed.
fn build_or_retry(
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
struct RunDir {
    path: PathBuf,
    /// Where the channel sockets go: `path`, or a short directory under /tmp when `path` is
    /// too long for a socket address.
    socket_dir: PathBuf,
}

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

impl RunDir {
    fn create(ws: &Workspace) -> Result<Self, CliError> {
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
            vec![b"/p".to_vec()],
        )
        .unwrap();
        let term = HostTerminal {
            ttys: "12".into(),
            winsize: Some((50, 132)),
            tsc_khz: Some(2_400_000),
        };
        let with_tty = BootArgs::decode(
            &kernel_cmdline_for(&term, false, false, &[], vec![b"/p".to_vec()]).unwrap(),
        )
        .unwrap();
        assert_eq!(with_tty.option("tty"), Some(Some(&b"12"[..])));
        assert_eq!(with_tty.option("winsize"), Some(Some(&b"50x132"[..])));
        assert_eq!(with_tty.option("tsc_khz"), Some(Some(&b"2400000"[..])));
        assert_eq!(min_mem_for(0x18c000, 0x1000), 0x18d000 + (1 << 20));
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
                    vec![b"/p".to_vec()]
                )
                .unwrap()
            )
            .unwrap()
            .has_option("verbose")
        );
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(
            kernel_cmdline_for(
                &HostTerminal::default(),
                false,
                false,
                &[],
                vec![b"/p".to_vec(), b"a\0b".to_vec()]
            )
            .is_err()
        );
    }
}
