//! `oxv bench`: oxv against a Linux guest, side by side in one run (issue 8).
//!
//! Both kernels boot in the same QEMU with the same machine, accelerator, CPU model, memory
//! and devices ([`guest`]), and run the same static benchmark programs of `bench/` with the
//! same argv ([`kernels`]); each program prints its own result line ([`output`]). The Linux
//! guest is Debian's cloud kernel, fetched on first use ([`linux`]).
//!
//! Method: rounds alternate the kernels (oxv, Linux, oxv, Linux, ...), so slow phases of a
//! shared machine hit both; each figure is the median of the rounds with min and max
//! ([`stats`]). Under TCG a second series of rounds runs with `-icount shift=0,sleep=off`,
//! where the guest clock counts instructions: those figures are deterministic and do not
//! depend on the host's load. `http_rps` boots a server with a forwarded port in each
//! kernel and loads it from the host ([`http`]); its instruction-counting figure runs under
//! `sleep=on` instead and comes from the guest's busy time per request (see [`served`]); the
//! same server moves a TCP stream each way for `tcp_host_to_guest` and `tcp_guest_to_host`.
//! Then `min_ram_hello` ([`bisect`]) and `kernel_size`. The
//! results go to `target/oxv-bench/report.json` and to stdout as a table ([`report`]).
//! `docs/performance.md` describes the metrics ([`catalog`]) and the latest figures.

mod bisect;
mod catalog;
mod guest;
mod http;
mod kernels;
mod linux;
mod output;
mod programs;
mod report;
mod served;
mod stats;
mod stream;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;

use crate::accel::{self, Accel, AccelChoice, HostFacts};
use crate::error::CliError;
use crate::qemu::Machine;
use crate::setup::{self, Requirement};
use crate::size::MemSize;
use crate::workspace::{KERNEL_TARGET, Workspace};

use catalog::{HELLO, Kind, METRICS, Metric};
use kernels::{Invocation, Kernel, RunResult, Runner};
use output::SampleOutcome;
use report::{Report, Row};

/// Options of `oxv bench`.
#[derive(Debug, Args)]
#[command(
    after_help = "Metrics: boot, boot_guest, null_syscall, vdso_clock_gettime,
futex_pingpong_same_cpu, futex_pingpong_cross_cpu, wakeup_latency, wakeup_latency_crowded,
page_fault_minor, mmap_munmap, file_create_unlink, file_random_read, pipe_throughput,
tcp_loopback_throughput, tcp_stream_2cpu, udp_flows_2cpu, tcp_idle_connections, fork_exit_wait,
posix_spawn_wait, http_rps, tcp_host_to_guest, tcp_guest_to_host, min_ram_hello, kernel_size
(see docs/performance.md).

The Linux guest's kernel (Debian's linux-image-cloud-amd64) is fetched with apt-get on
first use and cached in target/oxv-bench/linux/. Results: a table on stdout and
target/oxv-bench/report.json."
)]
pub struct BenchArgs {
    /// Fewer rounds and shorter loops (about 3 minutes under TCG).
    #[arg(long)]
    pub quick: bool,

    /// Only this metric (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,

    /// Wall-clock rounds per kernel (default 5, 3 with --quick); instruction-counting
    /// rounds are at most 3 (1 with --quick), since they hardly vary.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: Option<u32>,

    /// Print every VM run and its time.
    #[arg(short, long)]
    pub verbose: bool,

    /// Append an option to oxv's kernel command line in every oxv run, as `oxv run
    /// --kernel-opt` does (repeatable); the Linux guest's runs are unchanged.
    #[arg(long = "kernel-opt", value_name = "OPT")]
    pub kernel_opts: Vec<crate::cli::KernelOption>,
}

/// Guest memory of the benchmark VMs (both kernels): `oxv run`'s default.
const MEM: MemSize = MemSize::DEFAULT;
/// Time limit of one oxv VM, and of one Linux VM.
const OXV_TIMEOUT: Duration = Duration::from_secs(120);
const LINUX_TIMEOUT: Duration = Duration::from_secs(300);
/// Time limit of one bisection probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Runs `oxv bench`; returns the exit status (0, or 1 when a run failed).
pub fn run(args: BenchArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    let date = report::rfc3339(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let selected = select(&args.only)?;
    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 }) as usize;

    let ws = Workspace::locate();
    setup::ensure(
        &ws,
        &[
            Requirement::Qemu,
            Requirement::RustTarget(KERNEL_TARGET),
            Requirement::Gcc,
        ],
        args.verbose,
    )?;
    let dir = ws.target_dir().join("oxv-bench");
    let names = catalog::programs();
    let built = programs::build(&ws.root().join("bench"), &dir.join("bin"), &names)?;
    let binaries: HashMap<&'static str, _> = names.iter().copied().zip(built).collect();
    eprintln!("oxv: bench: building the oxv kernel");
    let oxv_kernel = ws.kernel(args.verbose)?;
    let linux = linux::fetch(&dir.join("linux"))?;
    let decision = accel::decide(AccelChoice::Auto, HostFacts::probe)?;
    let tsc_khz = match decision.accel {
        Accel::Tcg => crate::host_tsc::host_tsc_khz(&ws.target_dir()),
        Accel::Kvm => None,
    };
    let icount_runs = match decision.accel {
        Accel::Tcg => runs.min(if args.quick { 1 } else { 3 }),
        Accel::Kvm => 0,
    };
    let mut runner = Runner::new(
        decision.accel,
        Machine::Microvm,
        oxv_kernel.clone(),
        linux.clone(),
        tsc_khz,
        binaries,
        dir.join("work"),
        args.verbose,
    )?;
    runner.oxv_options = args.kernel_opts.iter().map(|o| o.to_cmdline()).collect();

    let mut wall: Vec<Row> = selected.iter().map(|m| Row::new(m, m.unit)).collect();
    let mut icount: Vec<Row> = selected
        .iter()
        .filter(|m| m.has_icount() && icount_runs > 0)
        .map(|m| Row::new(m, catalog::icount_unit(m.unit)))
        .collect();
    let mut failed = false;
    for round in 0..runs {
        eprintln!(
            "oxv: bench: round {}/{runs} (wall clock), {:.0} s so far",
            round + 1,
            started.elapsed().as_secs_f64()
        );
        failed |= !measure_round(&mut runner, &mut wall, args.quick, false)?;
    }
    for round in 0..icount_runs {
        eprintln!(
            "oxv: bench: round {}/{icount_runs} (-icount), {:.0} s so far",
            round + 1,
            started.elapsed().as_secs_f64()
        );
        failed |= !measure_round(&mut runner, &mut icount, args.quick, true)?;
    }
    for row in &mut wall {
        match row.metric.kind {
            Kind::MinRam => {
                eprintln!(
                    "oxv: bench: min_ram_hello (bisection), {:.0} s so far",
                    started.elapsed().as_secs_f64()
                );
                min_ram(&mut runner, row, args.quick)?;
            }
            Kind::KernelSize => kernel_size(&oxv_kernel, &linux, row),
            _ => {}
        }
    }

    let rep = Report {
        machine: machine_facts(&runner, &linux, tsc_khz),
        accel: decision.accel.to_string(),
        quick: args.quick,
        runs,
        icount_runs,
        date,
        duration_s: started.elapsed().as_secs_f64(),
        wall,
        icount,
    };
    let path = dir.join("report.json");
    std::fs::write(&path, report::to_json(&rep))
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
    print_tables(&rep);
    eprintln!(
        "oxv: bench: done in {:.0} s; report: {}",
        rep.duration_s,
        path.display()
    );
    Ok(u8::from(failed))
}

/// The metrics to measure: all, or those named with `--only`.
fn select(only: &[String]) -> Result<Vec<&'static Metric>, CliError> {
    if only.is_empty() {
        return Ok(METRICS.iter().collect());
    }
    let mut out = Vec::new();
    for name in only {
        let metric = catalog::find(name).ok_or_else(|| {
            let all: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
            CliError::Usage(format!(
                "--only {name}: no such metric (known: {})",
                all.join(", ")
            ))
        })?;
        if !out.contains(&metric) {
            out.push(metric);
        }
    }
    // Report order, whatever the order of the options.
    out.sort_by_key(|m| METRICS.iter().position(|o| o.name == m.name));
    Ok(out)
}

/// The program invocation measuring `metric`, if a program measures it.
fn invocation(metric: &Metric, quick: bool) -> Option<(Invocation, u32)> {
    match metric.kind {
        Kind::Program {
            program,
            args,
            quick_args,
            cpus,
        } => {
            let args = if quick { quick_args } else { args };
            Some((
                Invocation {
                    program,
                    args: args.iter().map(|a| a.to_string()).collect(),
                },
                cpus,
            ))
        }
        Kind::BootWall | Kind::BootGuest => Some((
            Invocation {
                program: HELLO,
                args: Vec::new(),
            },
            1,
        )),
        _ => None,
    }
}

/// One round over `rows`: hello on oxv then Linux (boot metrics), then every program on oxv
/// and the programs on Linux grouped by vCPU count. Returns false if a run failed.
fn measure_round(
    runner: &mut Runner,
    rows: &mut [Row],
    quick: bool,
    icount: bool,
) -> Result<bool, CliError> {
    let mut ok = true;
    let wants_hello = rows
        .iter()
        .any(|r| matches!(r.metric.kind, Kind::BootWall | Kind::BootGuest));
    if wants_hello {
        let hello = Invocation {
            program: HELLO,
            args: Vec::new(),
        };
        for kernel in [Kernel::Oxv, Kernel::Linux] {
            let result = match kernel {
                Kernel::Oxv => runner.oxv(&hello, MEM, 1, icount, OXV_TIMEOUT)?,
                Kernel::Linux => {
                    runner.linux(std::slice::from_ref(&hello), MEM, 1, icount, LINUX_TIMEOUT)?
                }
            };
            ok &= result.error.is_none();
            let boot_rows = rows
                .iter_mut()
                .filter(|r| matches!(r.metric.kind, Kind::BootWall | Kind::BootGuest));
            absorb(boot_rows, kernel, &result, !icount);
        }
    }
    let programs: Vec<(usize, Invocation, u32)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.metric.kind, Kind::Program { .. }))
        .filter_map(|(i, r)| invocation(r.metric, quick).map(|(inv, cpus)| (i, inv, cpus)))
        .collect();
    for (i, inv, cpus) in &programs {
        let result = runner.oxv(inv, MEM, *cpus, icount, OXV_TIMEOUT)?;
        ok &= result.error.is_none();
        absorb(std::iter::once(&mut rows[*i]), Kernel::Oxv, &result, false);
    }
    let mut cpu_counts: Vec<u32> = programs.iter().map(|p| p.2).collect();
    cpu_counts.sort_unstable();
    cpu_counts.dedup();
    for cpus in cpu_counts {
        let same_cpus: Vec<&(usize, Invocation, u32)> =
            programs.iter().filter(|p| p.2 == cpus).collect();
        for group in linux_batches(&same_cpus) {
            let invs: Vec<Invocation> = group.iter().map(|p| p.1.clone()).collect();
            let result = runner.linux(&invs, MEM, cpus, icount, LINUX_TIMEOUT)?;
            ok &= result.error.is_none();
            let indices: Vec<usize> = group.iter().map(|p| p.0).collect();
            let group_rows = rows
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| indices.contains(i))
                .map(|(_, r)| r);
            absorb(group_rows, Kernel::Linux, &result, false);
        }
    }
    for row in rows.iter_mut().filter(|r| served::is_served(r.metric.kind)) {
        for kernel in [Kernel::Oxv, Kernel::Linux] {
            let cell = match kernel {
                Kernel::Oxv => &mut row.oxv,
                Kernel::Linux => &mut row.linux,
            };
            match served::sample(runner, row.metric, kernel, quick, icount)? {
                Ok((value, note)) => {
                    cell.values.push(value);
                    if let Some(note) = note {
                        cell.note(note);
                    }
                }
                Err(e) => {
                    ok = false;
                    cell.failure.get_or_insert(e);
                }
            }
        }
    }
    Ok(ok)
}

/// Linux hands init at most 32 arguments (`MAX_INIT_ARGS`, argv[0] included) and panics on
/// more ("Too many boot init vars"); the benchmark commands go there, joined by a separator.
const LINUX_INIT_ARGS: usize = 31;

/// `programs` cut into runs of consecutive ones whose commands fit one Linux command line.
fn linux_batches<'a, T>(
    programs: &[&'a (usize, Invocation, T)],
) -> Vec<Vec<&'a (usize, Invocation, T)>> {
    let mut batches: Vec<Vec<&(usize, Invocation, T)>> = Vec::new();
    let mut used = 0;
    for p in programs {
        // Its argv, plus the separator before it unless it starts a batch.
        let need = p.1.argv().len();
        match batches.last_mut() {
            Some(batch) if used + 1 + need <= LINUX_INIT_ARGS => {
                batch.push(p);
                used += 1 + need;
            }
            _ => {
                batches.push(vec![p]);
                used = need;
            }
        }
    }
    batches
}

/// Takes what `result` says about `rows` into their cells for `kernel`: the program's
/// figures, its unsupported reasons, the VM's wall time for `boot` (when `wall_boot`), or
/// the failure when a row got nothing.
fn absorb<'a>(
    rows: impl Iterator<Item = &'a mut Row>,
    kernel: Kernel,
    result: &RunResult,
    wall_boot: bool,
) {
    let samples = output::samples(&result.output);
    for row in rows {
        let cell = match kernel {
            Kernel::Oxv => &mut row.oxv,
            Kernel::Linux => &mut row.linux,
        };
        if row.metric.kind == Kind::BootWall {
            if !wall_boot {
                continue;
            }
            match &result.error {
                None => cell.values.push(result.wall.as_secs_f64() * 1e3),
                Some(e) => {
                    cell.failure.get_or_insert_with(|| e.clone());
                }
            }
            continue;
        }
        let mut got = false;
        match &samples {
            Ok(samples) => {
                // The first line for the metric counts (a Linux run of several programs
                // has one `boot_guest` per program; the first is hello's when it ran alone).
                if let Some(s) = samples.iter().find(|s| s.name == row.metric.name) {
                    got = true;
                    match &s.outcome {
                        SampleOutcome::Value { value, unit, note } => {
                            if unit == row.metric.unit {
                                cell.values.push(*value);
                            } else {
                                cell.failure.get_or_insert_with(|| {
                                    format!(
                                        "the program reported {unit}, expected {}",
                                        row.metric.unit
                                    )
                                });
                            }
                            if let Some(n) = note {
                                cell.note(n.clone());
                            }
                        }
                        SampleOutcome::Unsupported(why) => {
                            cell.unsupported.get_or_insert_with(|| why.clone());
                        }
                    }
                }
            }
            Err(e) => {
                cell.failure
                    .get_or_insert_with(|| format!("unreadable output: {e}"));
            }
        }
        if !got {
            let why = result
                .error
                .clone()
                .unwrap_or_else(|| "the program printed no result line".into());
            cell.failure.get_or_insert(why);
        }
    }
}

/// `min_ram_hello`: bisection on the guest memory with `hello`, for both kernels.
fn min_ram(runner: &mut Runner, row: &mut Row, quick: bool) -> Result<(), CliError> {
    let hello = Invocation {
        program: HELLO,
        args: Vec::new(),
    };
    let top = MEM.bytes();
    for kernel in [Kernel::Oxv, Kernel::Linux] {
        // oxv: QEMU must fit the kernel and the initramfs (`oxv run` refuses less), so
        // the search starts there. Linux: from nothing, coarser with --quick (each probe
        // is a Linux boot).
        let (fails, step) = match kernel {
            Kernel::Oxv => {
                let (_, cpio_len) = runner.oxv_image(HELLO)?;
                let end = kernels::elf_extent(&runner.oxv_kernel).map_or(0, |e| e.0);
                (crate::run::min_mem_for(end, cpio_len) - 1, 256 * KIB)
            }
            Kernel::Linux => (0, if quick { MIB } else { 256 * KIB }),
        };
        let mut error = None;
        let found = bisect::smallest_working(fails, top, step, |bytes| {
            if error.is_some() {
                return false;
            }
            let mem: MemSize = match format!("{}K", bytes / KIB).parse() {
                Ok(m) => m,
                Err(_) => return false,
            };
            let result = match kernel {
                Kernel::Oxv => runner.oxv(&hello, mem, 1, false, PROBE_TIMEOUT),
                Kernel::Linux => {
                    runner.linux(std::slice::from_ref(&hello), mem, 1, false, PROBE_TIMEOUT)
                }
            };
            match result {
                Ok(r) => r.error.is_none() && r.output.contains("hello from oxv-bench"),
                Err(e) => {
                    error = Some(e);
                    false
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        let cell = match kernel {
            Kernel::Oxv => &mut row.oxv,
            Kernel::Linux => &mut row.linux,
        };
        match found.smallest {
            Some(bytes) => {
                cell.values.push(bytes as f64 / MIB as f64);
                cell.note(format!(
                    "resolution {} KiB, {} probes",
                    step / KIB,
                    found.probes.len()
                ));
            }
            None => {
                cell.failure = Some(format!("hello does not run even with {}", MEM));
            }
        }
    }
    Ok(())
}

/// `kernel_size`: the files QEMU is given (Linux: the packaged, compressed vmlinuz), with
/// the loaded images' sizes as notes.
fn kernel_size(oxv: &std::path::Path, linux: &linux::LinuxKernel, row: &mut Row) {
    let mib = |bytes: u64| bytes as f64 / MIB as f64;
    for (cell, file, elf) in [
        (&mut row.oxv, oxv, oxv),
        (
            &mut row.linux,
            linux.vmlinuz.as_path(),
            linux.image.as_path(),
        ),
    ] {
        match std::fs::metadata(file) {
            Ok(m) => cell.values.push(mib(m.len())),
            Err(e) => cell.failure = Some(format!("{}: {e}", file.display())),
        }
        if let Some((_, loaded)) = kernels::elf_extent(elf) {
            cell.note(format!(
                "loaded image (PT_LOAD memsz) {:.2} MiB",
                mib(loaded)
            ));
        }
    }
}

/// What the report says about the machine.
fn machine_facts(
    runner: &Runner,
    linux: &linux::LinuxKernel,
    tsc_khz: Option<u64>,
) -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let qemu = std::process::Command::new(crate::qemu::QEMU)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into());
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(Workspace::locate().root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    vec![
        ("host_cpu".into(), cpu),
        ("host_cores".into(), cores.to_string()),
        ("qemu".into(), qemu),
        ("qemu_machine".into(), runner.machine.to_string()),
        ("guest_mem".into(), MEM.to_string()),
        (
            "guest_cpus".into(),
            "1 (2 for futex_pingpong_cross_cpu, tcp_stream_2cpu and udp_flows_2cpu)".into(),
        ),
        (
            "oxv_kernel_opts".into(),
            runner
                .oxv_options
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={}", String::from_utf8_lossy(v)),
                    None => k.clone(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("oxv_commit".into(), commit),
        (
            "oxv_kernel".into(),
            runner.oxv_kernel.display().to_string()
                + if std::env::var_os(crate::workspace::KERNEL_ENV).is_some() {
                    " (from OXV_KERNEL, not built from oxv_commit)"
                } else {
                    ""
                },
        ),
        (
            "linux_kernel".into(),
            format!("{} (Debian package {})", linux.release, linux.package),
        ),
        (
            "linux_boot".into(),
            if linux.pvh {
                "PVH entry of the vmlinux extracted from the package's vmlinuz".into()
            } else {
                "the package's vmlinuz (bzImage) through QEMU's loader".into()
            },
        ),
        (
            "host_tsc_khz".into(),
            tsc_khz.map_or("unknown".into(), |k| k.to_string()),
        ),
    ]
}

fn print_tables(rep: &Report) {
    println!(
        "oxv bench: {} on {}, {} round(s), median (min–max); {}",
        rep.accel,
        rep.machine
            .iter()
            .find(|(k, _)| k == "host_cpu")
            .map_or("?", |(_, v)| v.as_str()),
        rep.runs,
        if rep.quick { "--quick" } else { "full run" }
    );
    if let Some((_, opts)) = rep
        .machine
        .iter()
        .find(|(k, v)| k == "oxv_kernel_opts" && !v.is_empty())
    {
        println!("oxv kernel options: {opts}");
    }
    println!();
    print!("{}", report::table(&rep.wall));
    if !rep.icount.is_empty() {
        println!();
        println!(
            "Instruction counts (-icount shift=0,sleep=off; http_rps: sleep=on and the \
             guest's busy time), {} round(s):",
            rep.icount_runs
        );
        println!();
        print!("{}", report::table(&rep.icount));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_batches_keep_each_command_line_under_the_init_argument_limit() {
        let inv = |n: usize| Invocation {
            program: "x",
            args: vec!["1".to_string(); n],
        };
        // argv lengths 3, 3, ..., 3 (2 args + the program): 12 of them.
        let programs: Vec<(usize, Invocation, u32)> = (0..12).map(|i| (i, inv(2), 1)).collect();
        let refs: Vec<&(usize, Invocation, u32)> = programs.iter().collect();
        let batches = linux_batches(&refs);
        for b in &batches {
            let args: usize = b.iter().map(|p| p.1.argv().len()).sum::<usize>() + b.len() - 1;
            assert!(args <= LINUX_INIT_ARGS, "{args}");
        }
        // Consecutive and complete: 8 fit in 31 (8 * 3 + 7 separators), a 9th would need 35.
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [8, 4]);
        let order: Vec<usize> = batches.iter().flatten().map(|p| p.0).collect();
        assert_eq!(order, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn only_selects_known_metrics_in_report_order() {
        let s = select(&["null_syscall".into(), "boot".into(), "boot".into()]).unwrap();
        let names: Vec<&str> = s.iter().map(|m| m.name).collect();
        assert_eq!(names, ["boot", "null_syscall"]);
        assert_eq!(select(&[]).unwrap().len(), METRICS.len());
        assert!(select(&["nope".into()]).is_err());
    }

    #[test]
    fn quick_invocations_are_shorter() {
        let m = catalog::find("null_syscall").unwrap();
        let (full, _) = invocation(m, false).unwrap();
        let (quick, _) = invocation(m, true).unwrap();
        assert_eq!(full.program, "null_syscall");
        assert!(quick.args[0].parse::<u64>().unwrap() < full.args[0].parse::<u64>().unwrap());
        let (_, cpus) =
            invocation(catalog::find("futex_pingpong_cross_cpu").unwrap(), true).unwrap();
        assert_eq!(cpus, 2);
        assert!(invocation(catalog::find("kernel_size").unwrap(), true).is_none());
    }

    fn result(output: &str, error: Option<&str>) -> RunResult {
        RunResult {
            wall: Duration::from_millis(250),
            output: output.into(),
            error: error.map(Into::into),
        }
    }

    fn rows(names: &[&str]) -> Vec<Row> {
        names
            .iter()
            .map(|n| {
                let m = catalog::find(n).unwrap();
                Row::new(m, m.unit)
            })
            .collect()
    }

    #[test]
    fn absorb_takes_values_walls_and_reasons() {
        let mut r = rows(&[
            "boot",
            "boot_guest",
            "null_syscall",
            "futex_pingpong_same_cpu",
        ]);
        let out = "oxv-bench name=boot_guest value=12.5 unit=ms\n\
                   oxv-bench name=null_syscall value=100 unit=ns\n\
                   oxv-bench name=boot_guest value=99 unit=ms\n\
                   oxv-bench name=futex_pingpong_same_cpu unsupported reason=no threads\n";
        absorb(r.iter_mut(), Kernel::Oxv, &result(out, None), true);
        assert_eq!(r[0].oxv.values, [250.0]);
        assert_eq!(r[1].oxv.values, [12.5]);
        assert_eq!(r[2].oxv.values, [100.0]);
        assert_eq!(r[3].oxv.unsupported.as_deref(), Some("no threads"));
        assert!(r.iter().all(|r| r.linux == Default::default()));
    }

    #[test]
    fn absorb_records_failures_and_unit_mismatches() {
        let mut r = rows(&["boot", "null_syscall"]);
        absorb(
            r.iter_mut(),
            Kernel::Linux,
            &result("", Some("crashed")),
            true,
        );
        assert_eq!(r[0].linux.failure.as_deref(), Some("crashed"));
        assert_eq!(r[1].linux.failure.as_deref(), Some("crashed"));
        assert!(r[0].linux.values.is_empty());

        let mut r = rows(&["boot", "null_syscall"]);
        let out = "oxv-bench name=null_syscall value=1 unit=ms\n";
        absorb(r.iter_mut(), Kernel::Oxv, &result(out, None), false);
        assert!(r[0].oxv.values.is_empty() && r[0].oxv.failure.is_none());
        assert!(r[1].oxv.failure.as_deref().unwrap().contains("expected ns"));

        let mut r = rows(&["null_syscall"]);
        absorb(r.iter_mut(), Kernel::Oxv, &result("nothing", None), false);
        assert_eq!(
            r[0].oxv.failure.as_deref(),
            Some("the program printed no result line")
        );
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// `--help` lists the metrics by hand: it must name every one in the catalog.
    #[test]
    fn help_names_every_metric() {
        let cmd = BenchArgs::augment_args(clap::Command::new("bench"));
        let help = cmd.get_after_help().expect("after_help is set").to_string();
        let listed: Vec<&str> = help
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        for m in METRICS {
            assert!(listed.contains(&m.name), "{} missing from --help", m.name);
        }
    }
}
