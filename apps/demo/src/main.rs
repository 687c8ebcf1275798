//! `oxv-demo`: the program `cargo oxv run` boots when it is given none.
//!
//! An ordinary static Linux binary (std on musl) that prints a banner: the
//! kernel as `uname(2)` reports it, how long after kernel start `main` ran
//! (`CLOCK_BOOTTIME`, so under oxv it is the boot time of the whole VM), the
//! CPU and hypervisor (`cpuid`), the CPUs it may use, its argv and
//! environment, and a short proof of life: heap allocation, arithmetic and a
//! file written to and read back from `/tmp` with `std::fs`.
//!
//! It is not an oxv test (those are `compat-tests/`): it also runs on a Linux
//! host unchanged, which is the point. Exit status 0 when the proof of life
//! checks out, 1 when it does not, 2 when stdout cannot be written.

mod cpu;
mod sys;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

/// Primes below this bound are counted by the proof of life.
const SIEVE_LIMIT: usize = 1_000_000;
/// π(10⁶): the number of primes below one million.
const PRIMES_BELOW_LIMIT: usize = 78_498;
/// The sum of the primes below one million.
const PRIME_SUM_BELOW_LIMIT: u64 = 37_550_402_023;

fn main() -> ExitCode {
    // First, before anything else: how long after kernel entry main started.
    let boot = sys::boottime_ms();
    let mut out = io::stdout().lock();
    match banner(&mut out, boot) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(_) => ExitCode::from(2),
    }
}

/// Prints the banner; returns whether the proof of life passed.
fn banner(out: &mut impl Write, boot: io::Result<f64>) -> io::Result<bool> {
    writeln!(out, "=== oxv demo: an unmodified static Linux binary ===")?;
    match sys::uname() {
        Ok(u) => {
            writeln!(
                out,
                "uname      {} {} ({})",
                u.sysname, u.release, u.machine
            )?;
            writeln!(out, "version    {}", u.version)?;
        }
        Err(e) => writeln!(out, "uname      failed: {e}")?,
    }
    match boot {
        Ok(ms) => writeln!(
            out,
            "main at    {ms:.2} ms after kernel start (CLOCK_BOOTTIME)"
        )?,
        Err(e) => writeln!(out, "main at    CLOCK_BOOTTIME failed: {e}")?,
    }
    let brand = cpu::brand().unwrap_or_else(|| "(no brand string)".to_string());
    writeln!(out, "cpu        {brand}")?;
    let hv = cpu::hypervisor().unwrap_or_else(|| "none (bare metal)".to_string());
    writeln!(out, "hypervisor {hv}")?;
    match sys::cpu_count() {
        Ok(n) => writeln!(out, "cpus       {n}")?,
        Err(e) => writeln!(out, "cpus       sched_getaffinity failed: {e}")?,
    }

    for (i, arg) in std::env::args_os().enumerate() {
        writeln!(out, "argv[{i}]    {:?}", arg.to_string_lossy())?;
    }
    let mut env_count = 0;
    for (key, value) in std::env::vars_os() {
        writeln!(
            out,
            "env        {}={:?}",
            key.to_string_lossy(),
            value.to_string_lossy()
        )?;
        env_count += 1;
    }
    if env_count == 0 {
        writeln!(out, "env        (empty)")?;
    }

    let computed_ok = proof_of_compute(out)?;
    let file_ok = proof_of_file(out)?;
    let ok = computed_ok && file_ok;
    writeln!(
        out,
        "{}",
        if ok {
            "all good."
        } else {
            "proof of life FAILED."
        }
    )?;
    out.flush()?;
    Ok(ok)
}

/// Heap and arithmetic: sieve the primes below a million in a 1 MB `Vec`.
fn proof_of_compute(out: &mut impl Write) -> io::Result<bool> {
    let start = Instant::now();
    let primes = primes_below(SIEVE_LIMIT);
    let sum: u64 = primes.iter().map(|&p| p as u64).sum();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let ok = primes.len() == PRIMES_BELOW_LIMIT && sum == PRIME_SUM_BELOW_LIMIT;
    writeln!(
        out,
        "compute    {} primes below {SIEVE_LIMIT}, sum {sum}, in {ms:.2} ms: {}",
        primes.len(),
        if ok { "correct" } else { "WRONG" }
    )?;
    Ok(ok)
}

/// The primes below `limit`, by the sieve of Eratosthenes.
fn primes_below(limit: usize) -> Vec<usize> {
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for n in 2..limit {
        if composite[n] {
            continue;
        }
        primes.push(n);
        for multiple in (n.saturating_mul(n)..limit).step_by(n) {
            composite[multiple] = true;
        }
    }
    primes
}

/// Files: write a file under /tmp, read it back, compare, remove it.
///
/// Removing is only cleanup (oxv's /tmp lives in memory and goes with the VM),
/// so a failed remove is shown but does not fail the proof of life.
fn proof_of_file(out: &mut impl Write) -> io::Result<bool> {
    let path = format!("/tmp/oxv-demo-{}.txt", std::process::id());
    let text: String = (1..=20)
        .map(|i| format!("line {i}: hello from oxv-demo\n"))
        .collect();
    let back = match std::fs::write(&path, &text).and_then(|()| std::fs::read_to_string(&path)) {
        Ok(back) => back,
        Err(e) => {
            writeln!(out, "files      /tmp round trip failed: {e}")?;
            return Ok(false);
        }
    };
    let removed = match std::fs::remove_file(&path) {
        Ok(()) => "removed".to_string(),
        Err(e) => format!("could not remove it: {e}"),
    };
    if back != text {
        writeln!(
            out,
            "files      /tmp file read back different bytes; {removed}"
        )?;
        return Ok(false);
    }
    writeln!(
        out,
        "files      wrote and read back {} bytes in /tmp, {removed}",
        text.len()
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sieve_small() {
        assert_eq!(primes_below(30), [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(primes_below(2).is_empty());
    }

    #[test]
    fn banner_reports_success_on_linux() {
        let mut buf = Vec::new();
        assert!(banner(&mut buf, Ok(1.5)).expect("writing to a Vec cannot fail"));
        let text = String::from_utf8(buf).expect("the banner is UTF-8");
        assert!(text.starts_with("=== oxv demo"));
        assert!(text.contains("main at    1.50 ms"));
        assert!(text.contains("78498 primes"));
        assert!(text.ends_with("all good.\n"));
    }
}
