//! Booting one benchmark VM, oxv or Linux, with the same QEMU command line as `oxv run`.
//!
//! The arguments are [`VmConfig::args`], the very list `oxv run` passes, with two changes:
//! the four channel chardevs write to files instead of connecting to `oxv`'s sockets (the
//! bench reads the outputs after the run, so no pumps run while it is timed), and
//! `-icount shift=0,sleep=off` is added for instruction-counting runs (`sleep=on` for a guest
//! that a host program talks to, see [`ICOUNT_REALTIME_ARGS`]). The Linux guest gets
//! the same list with its own kernel, initramfs and command line: it writes its console to
//! COM1 and ignores the debugcon ports, so machine, accelerator, CPU model, memory and
//! devices are identical for both kernels.
//!
//! The wall time is from spawning QEMU to its exit: VMM start, firmware or PVH entry, the
//! kernel's boot, the program, and power-off.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::CliError;
use crate::qemu::{Channel, QEMU, VmConfig};

/// QEMU's arguments for instruction counting: the guest clock advances one nanosecond per
/// instruction executed, and idle time is skipped rather than slept.
pub const ICOUNT_ARGS: [&str; 2] = ["-icount", "shift=0,sleep=off"];

/// Instruction counting for a guest that a host program talks to in real time
/// (`http_rps`): one nanosecond per instruction while the guest runs, but while it is idle
/// its clock follows the host's, so its timers fire when the host expects them.
pub const ICOUNT_REALTIME_ARGS: [&str; 2] = ["-icount", "shift=0,sleep=on"];

/// What a finished VM left behind.
#[derive(Debug)]
pub struct Finished {
    /// Spawn to exit.
    pub wall: Duration,
    /// QEMU was killed at the deadline.
    pub timed_out: bool,
    /// QEMU's exit status, when it exited by itself.
    pub status: Option<ExitStatus>,
    /// COM1 (oxv's early log; Linux's console).
    pub com1: String,
    /// oxv's app stdout.
    pub stdout: String,
    /// oxv's app stderr.
    pub stderr: String,
    /// oxv's kernel log and control records.
    pub klog: String,
    /// QEMU's own stdout and stderr.
    pub qemu: String,
}

/// The arguments for `cfg`, with file chardevs and optionally instruction counting.
pub fn qemu_args(cfg: &VmConfig, icount: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = cfg
        .args()
        .into_iter()
        .map(
            |arg| match arg.to_str().and_then(|s| s.strip_prefix("socket,id=")) {
                Some(rest) => format!("file,id={rest}").into(),
                None => arg,
            },
        )
        .collect();
    if icount {
        args.extend(ICOUNT_ARGS.iter().map(OsString::from));
    }
    args
}

/// Boots `cfg` and waits for QEMU to exit, killing it after `timeout`. The channel files
/// go to `cfg.socket_dir`, which must exist; they are overwritten.
pub fn boot(cfg: &VmConfig, icount: bool, timeout: Duration) -> Result<Finished, CliError> {
    spawn(cfg, &qemu_args(cfg, icount))?.wait(timeout)
}

/// A VM started by [`spawn`], running while the host does its part (e.g. generates load).
pub struct Running {
    started: Instant,
    pid: u32,
    done: mpsc::Receiver<(io::Result<ExitStatus>, Instant)>,
    waiter: Option<std::thread::JoinHandle<()>>,
    cfg: VmConfig,
    qemu_log: PathBuf,
}

/// Starts QEMU with `args` (from [`qemu_args`] for `cfg`, possibly adjusted) and returns at
/// once. The channel files go to `cfg.socket_dir`, which must exist; they are overwritten.
pub fn spawn(cfg: &VmConfig, args: &[OsString]) -> Result<Running, CliError> {
    for channel in Channel::ALL {
        remove_if_present(&cfg.socket_path(channel))?;
    }
    let qemu_log = cfg.socket_dir.join("qemu.log");
    let log = std::fs::File::create(&qemu_log)
        .map_err(|e| CliError::io(format!("cannot create {}", qemu_log.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| CliError::io("cannot duplicate a file handle", e))?;
    let mut cmd = Command::new(QEMU);
    cmd.args(args).stdin(Stdio::null()).stdout(log).stderr(log2);
    // SAFETY: the closure runs between fork and exec and only calls prctl, which is
    // async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            // An orphaned VM must not outlive an interrupted bench.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CliError::Setup(format!("{QEMU} not found")),
        _ => CliError::io(format!("cannot start {QEMU}"), e),
    })?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        // The receiver is gone only if the bench itself is unwinding.
        let _ = tx.send((status, Instant::now()));
    });
    Ok(Running {
        started,
        pid,
        done: rx,
        waiter: Some(waiter),
        cfg: cfg.clone(),
        qemu_log,
    })
}

impl Running {
    /// Whether QEMU has exited already (the VM's own end, or a failure to start).
    pub fn has_exited(&self) -> bool {
        self.waiter.as_ref().is_none_or(|w| w.is_finished())
    }

    /// Waits for QEMU to exit, killing it after `timeout` (from now).
    pub fn wait(mut self, timeout: Duration) -> Result<Finished, CliError> {
        let (status, ended, timed_out) = match self.done.recv_timeout(timeout) {
            Ok((status, at)) => (status, at, false),
            Err(_) => {
                self.kill();
                let (status, at) = self
                    .done
                    .recv()
                    .map_err(|_| CliError::io("lost QEMU's waiter", io::ErrorKind::Other.into()))?;
                (status, at, true)
            }
        };
        // The waiter has sent, so it is finishing.
        if let Some(w) = self.waiter.take() {
            let _ = w.join();
        }
        let status = status.map_err(|e| CliError::io("cannot wait for QEMU", e))?;
        let read =
            |p: PathBuf| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into();
        let cfg = &self.cfg;
        Ok(Finished {
            wall: ended - self.started,
            timed_out,
            status: (!timed_out).then_some(status),
            com1: read(cfg.socket_path(Channel::Com1)),
            stdout: read(cfg.socket_path(Channel::Stdout)),
            stderr: read(cfg.socket_path(Channel::Stderr)),
            klog: read(cfg.socket_path(Channel::Klog)),
            qemu: read(self.qemu_log.clone()),
        })
    }

    fn kill(&self) {
        if self.has_exited() {
            return;
        }
        let pid = libc::pid_t::try_from(self.pid).expect("a child's pid fits in pid_t");
        // SAFETY: kill only sends a signal; the child is not reaped until the waiter's wait
        // returns, and the waiter is still running, so the pid still names it.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A VM abandoned on an error path must not run on.
        if self.waiter.is_some() {
            self.kill();
        }
    }
}

fn remove_if_present(path: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io(format!("cannot remove {}", path.display()), e)),
    }
}

/// The last `n` lines of `text`, indented, for failure reports.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {}\n", l.trim_end_matches('\r')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accel::Accel;
    use crate::qemu::Machine;
    use crate::size::MemSize;

    fn config() -> VmConfig {
        VmConfig {
            machine: Machine::Microvm,
            accel: Accel::Tcg,
            mem: MemSize::DEFAULT,
            cpus: 1,
            kernel: "/k".into(),
            initrd: Some("/i".into()),
            cmdline: "x".into(),
            socket_dir: "/w".into(),
            devices: Default::default(),
        }
    }

    #[test]
    fn every_channel_becomes_a_file_and_nothing_else_changes() {
        let run = config().args();
        let bench = qemu_args(&config(), false);
        assert_eq!(run.len(), bench.len());
        let chardevs: Vec<String> = bench
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|a| a.contains(",id="))
            .collect();
        assert_eq!(chardevs.len(), Channel::ALL.len());
        for channel in Channel::ALL {
            let want = format!("file,id={},path=/w/{}", channel.id(), channel.id());
            assert!(chardevs.contains(&want), "{want} not in {chardevs:?}");
        }
        let changed = run.iter().zip(&bench).filter(|(a, b)| a != b).count();
        assert_eq!(changed, Channel::ALL.len());
    }

    #[test]
    fn icount_is_appended_only_when_asked() {
        let with = qemu_args(&config(), true);
        assert_eq!(with[with.len() - 2..], ICOUNT_ARGS.map(OsString::from));
        assert!(!qemu_args(&config(), false).contains(&OsString::from("-icount")));
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail("a\nb\r\nc\n", 2), "    b\n    c\n");
        assert_eq!(tail("", 3), "");
    }
}
