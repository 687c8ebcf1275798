//! `oxv test`: every check the project has, in order, with a summary.
//!
//! Stages: `fmt` (cargo fmt --check), `clippy` (host workspace, then the kernel for its
//! target, warnings denied), `unit` (cargo test --workspace), `guest` (the `#[ignore]`d
//! integration tests that boot VMs: crates/cli/tests/{guest,virtio,net,ext2_crash}.rs),
//! `compat` (the compat suite, on 1 and on 2 vCPUs), and with `--apps` also `apps` (the
//! `#[ignore]`d tests in crates/cli/tests/apps.rs: Debian programs and a dynamically linked
//! C program in oxv; the packages are installed with apt first when missing), and with
//! `--fuzz` also `fuzz` (a 2-minute campaign of fuzz/run.sh against the syscall layer). All
//! selected stages run even after a failure, so one run shows everything that is broken; the
//! exit status is 1 if any failed. Commands' output goes to stderr, except the compat report,
//! which is ours and goes to stdout.

use std::fmt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::TestArgs;
use crate::compat::{self, SuiteOptions};
use crate::error::{CliError, EXIT_FAILED};
use crate::setup::{self, Requirement};
use crate::workspace::{KERNEL_ENV, KERNEL_TARGET, Workspace, cargo};

/// A stage of `oxv test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// cargo fmt --all --check
    Fmt,
    /// cargo clippy (workspace, and the kernel for x86_64-unknown-none), -D warnings
    Clippy,
    /// cargo test --workspace
    Unit,
    /// the guest integration tests (crates/cli/tests/{guest,virtio,net,ext2_crash}.rs), which
    /// boot oxv in QEMU
    Guest,
    /// the compat suite (compat-tests/*.c on the host and in oxv, on 1 and 2 vCPUs)
    Compat,
    /// the app tests (crates/cli/tests/apps.rs): real programs in oxv; slow, not run by default
    Apps,
    /// a 2-minute syscall fuzzing campaign (fuzz/run.sh); not run by default
    Fuzz,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Fmt,
        Stage::Clippy,
        Stage::Unit,
        Stage::Guest,
        Stage::Compat,
    ];
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Fmt => "fmt",
            Stage::Clippy => "clippy",
            Stage::Unit => "unit",
            Stage::Guest => "guest",
            Stage::Compat => "compat",
            Stage::Apps => "apps",
            Stage::Fuzz => "fuzz",
        })
    }
}

/// Runs `oxv test`; returns the exit status.
pub fn run(args: TestArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let mut stages: Vec<Stage> = match (args.only, args.quick) {
        (Some(stage), _) => vec![stage],
        (None, true) => vec![Stage::Fmt, Stage::Clippy, Stage::Unit],
        (None, false) => Stage::ALL.to_vec(),
    };
    if args.apps {
        stages.push(Stage::Apps);
    }
    if args.fuzz {
        stages.push(Stage::Fuzz);
    }
    setup::ensure(&ws, Requirement::TEST, false)?;
    if stages.contains(&Stage::Apps) {
        setup::ensure(&ws, Requirement::APPS, false)?;
    }

    let mut results = Vec::new();
    for stage in stages {
        eprintln!("\n==> oxv test: {stage}");
        let started = Instant::now();
        let passed = run_stage(&ws, stage);
        let elapsed = started.elapsed();
        if !passed {
            eprintln!("==> oxv test: {stage} FAILED");
        }
        results.push((stage, passed, elapsed));
    }

    eprintln!();
    eprintln!("oxv test summary:");
    for (stage, passed, elapsed) in &results {
        eprintln!(
            "  {}  {stage:<7} {}",
            if *passed { "PASS" } else { "FAIL" },
            seconds(*elapsed)
        );
    }
    let failed = results.iter().filter(|(_, passed, _)| !passed).count();
    eprintln!("stages: {} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 { 0 } else { EXIT_FAILED })
}

fn seconds(d: Duration) -> String {
    format!("{:>7.1} s", d.as_secs_f64())
}

/// Runs one stage; whether it passed.
fn run_stage(ws: &Workspace, stage: Stage) -> bool {
    match stage {
        Stage::Fmt => {
            let workspace = cargo_ok(ws, &["fmt", "--all", "--check"], None);
            let fuzz = cargo_ok(
                ws,
                &[
                    "fmt",
                    "--manifest-path",
                    "fuzz/Cargo.toml",
                    "-p",
                    "oxv-fuzz",
                    "-p",
                    "oxv-fuzz-harness",
                    "--check",
                ],
                None,
            );
            workspace && fuzz
        }
        Stage::Clippy => {
            let host = cargo_ok(
                ws,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                None,
            );
            let kernel = cargo_ok(
                ws,
                &[
                    "clippy",
                    "-p",
                    "oxv-kernel",
                    "--target",
                    KERNEL_TARGET,
                    "--",
                    "-D",
                    "warnings",
                ],
                None,
            );
            host && kernel && unsafe_audit(ws)
        }
        Stage::Unit => {
            let workspace = cargo_ok(ws, &["test", "--workspace"], None);
            // The fuzz harness is its own workspace (fuzz/): its replay of every saved input
            // runs here, without libFuzzer.
            let replay = cargo_ok(
                ws,
                &[
                    "test",
                    "--manifest-path",
                    "fuzz/Cargo.toml",
                    "--target-dir",
                    "target/fuzz",
                    "-p",
                    "oxv-fuzz-harness",
                ],
                None,
            );
            workspace && replay
        }
        Stage::Guest => {
            // Build the kernel once, visibly, instead of in every test.
            let kernel = match ws.kernel(false) {
                Ok(kernel) => kernel,
                Err(e) => {
                    eprintln!("oxv: error: {e}");
                    return false;
                }
            };
            let args = [
                "test",
                "-p",
                "oxv-cli",
                "--test",
                "guest",
                "--test",
                "virtio",
                "--test",
                "net",
                "--test",
                "ext2_crash",
                "--test",
                "ext2_corrupt",
                "--test",
                "oom",
                "--test",
                "robustness",
                "--test",
                "kaslr",
                "--test",
                "net_exit",
                "--test",
                "net_smp",
                "--test",
                "tmpfs_limits",
                "--test",
                "dma_pressure",
                "--test",
                "reclaim",
                "--test",
                "console_tty",
                "--",
                "--ignored",
                "--test-threads=2",
            ];
            cargo_ok(ws, &args, Some(kernel.as_os_str()))
        }
        Stage::Apps => match ws.kernel(false) {
            // One test at a time: each boots a VM that needs most of a core under TCG.
            Ok(kernel) => cargo_ok(
                ws,
                &[
                    "test",
                    "-p",
                    "oxv-cli",
                    "--test",
                    "apps",
                    "--",
                    "--ignored",
                    "--test-threads=1",
                ],
                Some(kernel.as_os_str()),
            ),
            Err(e) => {
                eprintln!("oxv: error: {e}");
                false
            }
        },
        Stage::Fuzz => {
            eprintln!("$ bash fuzz/run.sh 120");
            let mut cmd = Command::new("bash");
            cmd.arg("fuzz/run.sh")
                .arg("120")
                .current_dir(ws.root())
                .stdin(Stdio::null())
                .stdout(std::io::stderr());
            cmd.status().is_ok_and(|s| s.success())
        }
        // On one vCPU and on two: the thread, futex, signal and process tests must print
        // the same with app threads really running in parallel.
        Stage::Compat => [1, 2].iter().all(|&cpus| {
            let opts = SuiteOptions {
                cpus,
                ..SuiteOptions::default()
            };
            eprintln!("oxv: compat suite on {cpus} vCPU(s)");
            match compat::run_suite(ws, &opts) {
                Ok(summary) => summary.failed == 0,
                Err(e) => {
                    eprintln!("oxv: error: {e}");
                    false
                }
            }
        }),
    }
}

/// Runs `cargo ARGS` in the workspace root (its stdout to our stderr), optionally with
/// `OXV_KERNEL` set; whether it succeeded.
/// `scripts/unsafe-audit`: every `unsafe` in crates/ has its `// SAFETY:` comment or
/// `# Safety` section (docs/robustness.md, "The unsafe audit"). The script is Python; a host
/// without python3 (`oxv test --apps` installs it) skips the audit and says so.
fn unsafe_audit(ws: &Workspace) -> bool {
    if crate::workspace::find_tool("python3").is_none() {
        eprintln!("oxv test: unsafe audit skipped: python3 is not installed");
        return true;
    }
    eprintln!("$ scripts/unsafe-audit");
    let mut cmd = Command::new("python3");
    cmd.arg(ws.root().join("scripts/unsafe-audit"))
        .current_dir(ws.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("oxv: error: cannot run scripts/unsafe-audit: {e}");
            return false;
        }
    };
    // The listing is one line per `unsafe`: show the verdict and what is missing only.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("unsafe audit:") || l.contains("MISSING"))
        .for_each(|l| eprintln!("{l}"));
    out.status.success()
}

fn cargo_ok(ws: &Workspace, args: &[&str], kernel: Option<&std::ffi::OsStr>) -> bool {
    eprintln!("$ cargo {}", args.join(" "));
    let mut cmd = cargo();
    cmd.args(args)
        .current_dir(ws.root())
        .stdin(Stdio::null())
        .stdout(std::io::stderr());
    if let Some(kernel) = kernel {
        cmd.env(KERNEL_ENV, kernel);
    }
    run_ok(cmd)
}

fn run_ok(mut cmd: Command) -> bool {
    match cmd.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("oxv: error: cannot run {:?}: {e}", cmd.get_program());
            false
        }
    }
}
