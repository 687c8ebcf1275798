//! The compat suite: every `compat-tests/*.c` built three ways, each binary run on the host
//! and in oxv, both required to pass and to print the same.
//!
//! The host run proves the test right, the oxv run proves oxv matches Linux. Both runs get
//! the same argv (argv[0] = the binary's absolute path), exactly the same environment (the
//! host run's is cleared first), cwd `/` and the same stdin. A run passes when its status is
//! the expected one and its stdout has no line starting with `TFAIL`; then what the header
//! asks to compare must be byte-identical (oxv's own `oxv: ` lines are not part of stderr
//! for that). One line per (test, variant) is printed as results arrive, and the last line
//! is exactly `N passed, M failed`.
//!
//! The oxv runs use our own binary (`oxv run`), with the kernel built once up front and
//! passed down in `OXV_KERNEL`.

mod captured;
mod compile;
mod diff;
mod header;

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub use compile::Variant;

use crate::cli::CompatArgs;
use crate::error::{CliError, EXIT_FAILED};
use crate::setup::{self, Requirement};
use crate::workspace::{KERNEL_ENV, Workspace, find_in_path};
use captured::Captured;
use header::TestSpec;

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Only tests whose name contains this.
    pub filter: Option<String>,
    /// The variants to build (all when empty).
    pub variants: Vec<Variant>,
    /// Parallel jobs.
    pub jobs: u32,
    /// Per-run time limit.
    pub timeout: Duration,
    /// Show both runs' stderr on failure.
    pub verbose: bool,
    /// Virtual CPUs of each oxv run.
    pub cpus: u32,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            filter: None,
            variants: Vec::new(),
            jobs: 2,
            timeout: Duration::from_secs(60),
            verbose: false,
            cpus: 1,
        }
    }
}

/// The counts printed on the last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// (test, variant) pairs that passed.
    pub passed: usize,
    /// Pairs that failed (including build failures and bad headers).
    pub failed: usize,
}

/// `oxv compat`: runs the suite; exit status 1 if anything failed.
pub fn run(args: CompatArgs) -> Result<u8, CliError> {
    let opts = SuiteOptions {
        filter: args.filter,
        variants: args.variants,
        jobs: args.jobs,
        timeout: args.timeout,
        verbose: args.verbose,
        cpus: args.cpus,
    };
    let ws = Workspace::locate();
    setup::ensure(
        &ws,
        &[
            Requirement::Qemu,
            Requirement::RustTarget(crate::workspace::KERNEL_TARGET),
            Requirement::Gcc,
            Requirement::MuslGcc,
        ],
        false,
    )?;
    let summary = run_suite(&ws, &opts)?;
    Ok(if summary.failed == 0 { 0 } else { EXIT_FAILED })
}

/// One (test, variant) to run.
struct Job {
    name: String,
    source: PathBuf,
    spec: Arc<TestSpec>,
    variant: Variant,
}

/// Runs the suite (requirements must already be met) and prints its report.
pub fn run_suite(ws: &Workspace, opts: &SuiteOptions) -> Result<Summary, CliError> {
    let tests_dir = ws.root().join("compat-tests");
    let data_dir = tests_dir.join("data");
    let data = data_dir
        .to_str()
        .ok_or_else(|| CliError::Usage("the compat-tests path must be UTF-8".into()))?;
    let out_dir = ws.target_dir().join("compat");
    let kernel = ws.kernel(false)?;
    let oxv = std::env::current_exe().map_err(|e| CliError::io("cannot find the oxv binary", e))?;
    // `oxv test` rebuilds the workspace (the unit stage) before this stage runs, which can
    // replace our own binary: Linux then names it "PATH (deleted)", and PATH holds the new one.
    let oxv = match oxv.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => oxv,
    };
    let musl_ok = find_in_path("musl-gcc").is_some();
    let variants: Vec<Variant> = if opts.variants.is_empty() {
        Variant::ALL.to_vec()
    } else {
        opts.variants.clone()
    };

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .map_err(|e| CliError::io(format!("cannot list {}", tests_dir.display()), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    let newest_header = newest_header(&tests_dir);

    let mut summary = Summary::default();
    let mut jobs = VecDeque::new();
    for source in sources {
        let name = source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !name.contains(f.as_str()))
        {
            continue;
        }
        let spec = std::fs::read_to_string(&source)
            .map_err(|e| e.to_string())
            .and_then(|text| header::parse(&text, data).map_err(|e| e.to_string()));
        let spec = match spec {
            Ok(spec) => Arc::new(spec),
            Err(e) => {
                println!("FAIL {name}: bad header: {e}");
                summary.failed += 1;
                continue;
            }
        };
        for &variant in &variants {
            if variant == Variant::Musl && !musl_ok {
                println!(
                    "SKIP {name} [{variant}]: musl-gcc not found (apt-get install musl-tools)"
                );
                continue;
            }
            jobs.push_back(Job {
                name: name.clone(),
                source: source.clone(),
                spec: spec.clone(),
                variant,
            });
        }
    }

    let context = Arc::new(Context {
        oxv,
        kernel,
        tests_dir,
        out_dir,
        newest_header,
        timeout: opts.timeout,
        verbose: opts.verbose,
        cpus: opts.cpus,
    });
    let queue = Arc::new(Mutex::new(jobs));
    let totals = Arc::new(Mutex::new(Summary::default()));
    let workers: Vec<_> = (0..opts.jobs.max(1))
        .map(|_| {
            let (queue, totals, context) = (queue.clone(), totals.clone(), context.clone());
            std::thread::spawn(move || {
                loop {
                    let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                        return;
                    };
                    let verdict = context.run(&job);
                    let mut out = std::io::stdout().lock();
                    // A closed stdout loses the report, not the verdict (the exit status).
                    let _ = match &verdict {
                        Ok(()) => writeln!(out, "PASS {} [{}]", job.name, job.variant),
                        Err(why) => writeln!(out, "FAIL {} [{}]: {why}", job.name, job.variant),
                    };
                    let _ = out.flush();
                    if let Ok(mut t) = totals.lock() {
                        match verdict {
                            Ok(()) => t.passed += 1,
                            Err(_) => t.failed += 1,
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        if worker.join().is_err() {
            summary.failed += 1;
        }
    }
    let totals = totals.lock().map(|t| *t).unwrap_or_default();
    summary.passed += totals.passed;
    summary.failed += totals.failed;
    println!("{} passed, {} failed", summary.passed, summary.failed);
    Ok(summary)
}

/// The newest modification time of the shared headers (`compat-tests/*.h`).
fn newest_header(dir: &Path) -> SystemTime {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "h"))
        .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// What every job shares.
struct Context {
    oxv: PathBuf,
    kernel: PathBuf,
    tests_dir: PathBuf,
    out_dir: PathBuf,
    newest_header: SystemTime,
    timeout: Duration,
    verbose: bool,
    cpus: u32,
}

impl Context {
    /// Builds and runs one job; `Err` is the failure line's reason (possibly with detail
    /// lines after it).
    fn run(&self, job: &Job) -> Result<(), String> {
        let binary = compile::build(
            &job.source,
            &job.name,
            job.variant,
            &self.out_dir,
            self.newest_header,
        )
        .map_err(|e| format!("build failed: {}", indent_rest(&e)))?;
        let binary = std::path::absolute(&binary).map_err(|e| e.to_string())?;
        let spec = &job.spec;

        let mut host = Command::new(&binary);
        host.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir("/");
        let host = captured::run(&mut host, &spec.stdin, self.timeout)?;
        if let Err(why) = self.judge(&host, spec.exit, false) {
            return Err(format!("host run: {why}"));
        }

        let mut guest = Command::new(&self.oxv);
        guest
            .env(KERNEL_ENV, &self.kernel)
            .arg("run")
            .arg("--timeout")
            .arg(self.timeout.as_secs_f64().to_string())
            .arg("--cpus")
            .arg(self.cpus.to_string());
        for file in &spec.files {
            guest.arg("--file").arg(self.tests_dir.join(file));
        }
        for (k, v) in &spec.env {
            guest.arg("--env").arg(format!("{k}={v}"));
        }
        guest.arg("--").arg(&binary).args(&spec.args);
        // oxv's own timeout fires first; this one only guards against oxv itself hanging.
        let oxv = captured::run(
            &mut guest,
            &spec.stdin,
            self.timeout + Duration::from_secs(30),
        )?;
        if let Err(why) = self.judge(&oxv, spec.exit, true) {
            return Err(format!("oxv run: {why}"));
        }

        let mut problems = Vec::new();
        if spec.compare.status && host.status != oxv.status {
            problems.push(format!(
                "status differs: host {:?}, oxv {:?}",
                host.status, oxv.status
            ));
        }
        if spec.compare.stdout && host.stdout != oxv.stdout {
            problems.push(format!(
                "stdout differs:\n{}",
                diff::render(&host.stdout, &oxv.stdout)
            ));
        }
        let oxv_stderr = without_oxv_lines(&oxv.stderr);
        if spec.compare.stderr && host.stderr != oxv_stderr {
            problems.push(format!(
                "stderr differs:\n{}",
                diff::render(&host.stderr, &oxv_stderr)
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n  ").trim_end().to_string())
        }
    }

    /// Whether one run passed on its own: expected status, no TFAIL line.
    fn judge(&self, run: &Captured, expected: u8, is_oxv: bool) -> Result<(), String> {
        let stdout = String::from_utf8_lossy(&run.stdout);
        let tfails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("TFAIL")).collect();
        let mut why = match run.status {
            None => format!("timed out after {} s", self.timeout.as_secs_f64()),
            Some(s) if s != expected => format!("exit status {s}, expected {expected}"),
            Some(_) if !tfails.is_empty() => format!("{} TFAIL line(s)", tfails.len()),
            Some(_) => return Ok(()),
        };
        for line in tfails.iter().take(10) {
            why.push_str(&format!("\n  {line}"));
        }
        if tfails.is_empty() && !stdout.is_empty() {
            // No TFAIL to explain the status: the end of the output is the next best clue.
            let lines: Vec<&str> = stdout.lines().collect();
            why.push_str("\n  stdout:");
            for line in &lines[lines.len().saturating_sub(10)..] {
                why.push_str(&format!("\n  > {line}"));
            }
        }
        // For oxv, its stderr holds the reason (kernel log, panic, QEMU errors).
        if is_oxv || self.verbose {
            let stderr = String::from_utf8_lossy(&run.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let keep = if self.verbose { lines.len() } else { 30 };
            if !lines.is_empty() {
                why.push_str("\n  stderr:");
                for line in &lines[lines.len().saturating_sub(keep)..] {
                    why.push_str(&format!("\n  | {line}"));
                }
            }
        }
        Err(why)
    }
}

/// Removes `oxv: ...` lines (oxv's own messages) from an oxv run's stderr.
fn without_oxv_lines(stderr: &[u8]) -> Vec<u8> {
    stderr
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"oxv: "))
        .flatten()
        .copied()
        .collect()
}

fn indent_rest(text: &str) -> String {
    text.replace('\n', "\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oxv_lines_are_removed_from_stderr_only_at_line_starts() {
        let s = b"err 1\noxv: /x killed by SIGSEGV\nsay oxv: hi\noxv: warning";
        assert_eq!(without_oxv_lines(s), b"err 1\nsay oxv: hi\n");
    }

    fn ctx() -> Context {
        Context {
            oxv: "oxv".into(),
            kernel: "k".into(),
            tests_dir: "t".into(),
            out_dir: "o".into(),
            newest_header: SystemTime::UNIX_EPOCH,
            timeout: Duration::from_secs(60),
            verbose: false,
            cpus: 1,
        }
    }

    #[test]
    fn a_run_passes_with_the_expected_status_and_no_tfail() {
        let run = |status, out: &str| Captured {
            status,
            stdout: out.into(),
            stderr: b"e\n".to_vec(),
        };
        let c = ctx();
        assert_eq!(c.judge(&run(Some(0), "TPASS: a\n"), 0, false), Ok(()));
        assert_eq!(c.judge(&run(Some(139), "TPASS: a\n"), 139, false), Ok(()));
        assert_eq!(
            c.judge(&run(Some(1), ""), 0, false),
            Err("exit status 1, expected 0".into())
        );
        assert_eq!(
            c.judge(&run(Some(0), "TPASS\nTFAIL: x\n"), 0, false),
            Err("1 TFAIL line(s)\n  TFAIL: x".into())
        );
        assert_eq!(
            c.judge(&run(None, ""), 0, false),
            Err("timed out after 60 s".into())
        );
        assert_eq!(
            c.judge(&run(Some(2), ""), 0, true),
            Err("exit status 2, expected 0\n  stderr:\n  | e".into())
        );
    }
}
