//! Making sure the host has what `oxv` needs, installing it on a fresh Debian machine.
//!
//! Requirements: QEMU (`qemu-system-x86_64`, Debian package `qemu-system-x86`), the Rust
//! targets the kernel and the apps are built for, and for `oxv test` also `gcc` (with the
//! static glibc of `libc6-dev`), `musl-gcc` (`musl-tools`) and cargo's `rustfmt` and `clippy`;
//! for `oxv test --apps`, the Debian programs the app tests run ([`Requirement::APPS`]).
//! Missing Debian packages are installed with `apt-get` when we are root (running
//! `apt-get update` first only when the package lists are empty, or when an install fails);
//! otherwise the error says which command to run. Missing Rust targets and components are
//! added with `rustup`. Every action is printed to stderr.
//!
//! The check must cost a `run` almost nothing when all is present, so what was found is
//! recorded in a stamp file in the target directory, keyed by the toolchain and `PATH`; a
//! requirement in the stamp is not checked again (except QEMU, whose binary is looked up on
//! `PATH` each time: a few `stat`s). [`forget`] drops the stamp, for when a build fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::CliError;
use crate::workspace::{self, APP_TARGET, KERNEL_TARGET, Workspace, find_tool};

/// Something the host must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `qemu-system-x86_64`.
    Qemu,
    /// A Rust target's standard library (via `rustup target add`).
    RustTarget(&'static str),
    /// `gcc` able to link `-static` glibc programs.
    Gcc,
    /// `musl-gcc`; optional: the compat runner skips its variant without it.
    MuslGcc,
    /// `cargo fmt` and `cargo clippy`.
    CargoTools,
    /// A program the app tests run, and the Debian package that installs it.
    AppPackage {
        /// The command (looked up on `PATH`).
        command: &'static str,
        /// Its Debian package.
        package: &'static str,
    },
}

impl Requirement {
    /// What `oxv run` needs.
    pub const RUN: &'static [Requirement] = &[
        Requirement::Qemu,
        Requirement::RustTarget(KERNEL_TARGET),
        Requirement::RustTarget(APP_TARGET),
    ];
    /// What `oxv test` needs (a superset of [`Self::RUN`]).
    pub const TEST: &'static [Requirement] = &[
        Requirement::Qemu,
        Requirement::RustTarget(KERNEL_TARGET),
        Requirement::RustTarget(APP_TARGET),
        Requirement::Gcc,
        Requirement::MuslGcc,
        Requirement::CargoTools,
    ];

    /// What `oxv test --apps` needs on top of [`Self::TEST`]: the Debian programs the app
    /// tests run (crates/cli/tests/apps.rs).
    pub const APPS: &'static [Requirement] = &[
        Requirement::AppPackage {
            command: "busybox",
            package: "busybox-static",
        },
        Requirement::AppPackage {
            command: "sqlite3",
            package: "sqlite3",
        },
        Requirement::AppPackage {
            command: "lua5.4",
            package: "lua5.4",
        },
        Requirement::AppPackage {
            command: "python3",
            package: "python3",
        },
        Requirement::AppPackage {
            command: "redis-server",
            package: "redis-server",
        },
        Requirement::AppPackage {
            command: "redis-benchmark",
            package: "redis-tools",
        },
        Requirement::AppPackage {
            command: "nginx",
            package: "nginx-light",
        },
        Requirement::AppPackage {
            command: "lighttpd",
            package: "lighttpd",
        },
        // The sqlite WAL test makes its ext2 disk and checks it afterwards (mke2fs, e2fsck,
        // debugfs); in /usr/sbin, which `workspace::search_path` adds.
        Requirement::AppPackage {
            command: "debugfs",
            package: "e2fsprogs",
        },
    ];

    fn stamp_id(self) -> String {
        match self {
            Requirement::Qemu => "qemu".into(),
            Requirement::RustTarget(t) => format!("target:{t}"),
            Requirement::Gcc => "gcc".into(),
            Requirement::MuslGcc => "musl-gcc".into(),
            Requirement::CargoTools => "cargo-tools".into(),
            Requirement::AppPackage { package, .. } => format!("package:{package}"),
        }
    }
}

/// Ensures `needs` are met, installing what is missing. An unmet optional requirement
/// (`MuslGcc`) is a warning, not an error. Returns whether anything was installed.
pub fn ensure(ws: &Workspace, needs: &[Requirement], verbose: bool) -> Result<bool, CliError> {
    let mut stamp = Stamp::load(ws);
    let qemu_present = find_tool(crate::qemu::QEMU).is_some();
    let todo: Vec<Requirement> = needs
        .iter()
        .copied()
        .filter(|r| match r {
            Requirement::Qemu => !qemu_present,
            other => !stamp.has(*other),
        })
        .collect();
    if todo.is_empty() {
        return Ok(false);
    }
    let mut installed = false;
    if verbose {
        eprintln!(
            "oxv: setup: checking {}",
            todo.iter()
                .map(|r| r.stamp_id())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let targets: Vec<&'static str> = todo
        .iter()
        .filter_map(|r| {
            if let Requirement::RustTarget(t) = r {
                Some(*t)
            } else {
                None
            }
        })
        .collect();
    if !targets.is_empty() {
        installed |= ensure_rust_targets(&targets)?;
        targets
            .iter()
            .for_each(|t| stamp.add(Requirement::RustTarget(t)));
    }
    for req in todo {
        match req {
            Requirement::Qemu => {
                installed |= ensure_command(crate::qemu::QEMU, &["qemu-system-x86"])?
            }
            Requirement::Gcc => installed |= ensure_command("gcc", &["gcc", "libc6-dev"])?,
            Requirement::MuslGcc => match ensure_command("musl-gcc", &["musl-tools"]) {
                Ok(new) => installed |= new,
                Err(e) => {
                    eprintln!(
                        "oxv: warning: {e}; the musl variants of the compat tests will be skipped"
                    );
                    continue;
                }
            },
            Requirement::CargoTools => installed |= ensure_cargo_tools()?,
            Requirement::AppPackage { command, package } => {
                installed |= ensure_command(command, &[package])?
            }
            Requirement::RustTarget(_) => continue,
        }
        stamp.add(req);
    }
    stamp.save();
    Ok(installed)
}

/// Drops the stamp so the next [`ensure`] checks everything again.
pub fn forget(ws: &Workspace) {
    // A missing stamp is the goal, so a failure to remove one that is not there is fine.
    let _ = std::fs::remove_file(Stamp::path(ws));
}

/// The record of requirements already found present.
struct Stamp {
    path: PathBuf,
    key: String,
    present: Vec<String>,
}

impl Stamp {
    fn path(ws: &Workspace) -> PathBuf {
        ws.target_dir().join("oxv-setup.stamp")
    }

    /// What invalidates the stamp: another cargo/toolchain or another PATH.
    fn key() -> String {
        let var = |k: &str| {
            std::env::var_os(k)
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        format!(
            "{}|{}|{}",
            var("CARGO"),
            var("RUSTUP_TOOLCHAIN"),
            var("PATH")
        )
    }

    fn load(ws: &Workspace) -> Self {
        let path = Self::path(ws);
        let key = Self::key();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines = text.lines();
        let present = if lines.next() == Some(key.as_str()) {
            lines.map(str::to_string).collect()
        } else {
            Vec::new()
        };
        Stamp { path, key, present }
    }

    fn has(&self, req: Requirement) -> bool {
        self.present.contains(&req.stamp_id())
    }

    fn add(&mut self, req: Requirement) {
        if !self.has(req) {
            self.present.push(req.stamp_id());
        }
    }

    fn save(&self) {
        let mut text = self.key.clone();
        for id in &self.present {
            text.push('\n');
            text.push_str(id);
        }
        // The stamp is only a cache: failing to write it costs a re-check next time.
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&self.path, text);
    }
}

/// Ensures the command `name` is on `PATH`, installing `packages` with apt-get if not.
fn ensure_command(name: &str, packages: &[&str]) -> Result<bool, CliError> {
    if name == "gcc" {
        // gcc alone is not enough: `-static` needs libc.a from libc6-dev.
        if find_tool(name).is_some()
            && std::path::Path::new("/usr/lib/x86_64-linux-gnu/libc.a").exists()
        {
            return Ok(false);
        }
    } else if find_tool(name).is_some() {
        return Ok(false);
    }
    apt_install(packages, name)?;
    if find_tool(name).is_some() {
        Ok(true)
    } else {
        Err(CliError::Setup(format!(
            "{name} is still missing after installing {}",
            packages.join(" ")
        )))
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Installs Debian packages, or explains how to when we cannot.
fn apt_install(packages: &[&str], missing: &str) -> Result<(), CliError> {
    let command = format!("apt-get install -y {}", packages.join(" "));
    if find_tool("apt-get").is_none() {
        return Err(CliError::Setup(format!(
            "{missing} not found, and this is not a Debian-like system (no apt-get); install the \
             equivalent of the Debian package(s) {}",
            packages.join(" ")
        )));
    }
    if !is_root() {
        return Err(CliError::Setup(format!(
            "{missing} not found; install it with: sudo {command}"
        )));
    }
    if !apt_lists_present() {
        run_apt(&["update"])?;
    }
    eprintln!("oxv: setup: {missing} not found; running: {command}");
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);
    if run_apt(&args).is_err() {
        // Stale lists are the usual cause; refresh once and retry.
        run_apt(&["update"])?;
        eprintln!("oxv: setup: retrying: {command}");
        run_apt(&args)?;
    }
    Ok(())
}

/// Whether apt has package lists (a fresh container has none until `apt-get update`).
fn apt_lists_present() -> bool {
    std::fs::read_dir("/var/lib/apt/lists")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
        })
        .unwrap_or(false)
}

fn run_apt(args: &[&str]) -> Result<(), CliError> {
    if args == ["update"] {
        eprintln!("oxv: setup: running: apt-get update");
    }
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| CliError::io("cannot run apt-get", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::Setup(format!(
            "apt-get {} failed ({status})",
            args.join(" ")
        )))
    }
}

/// Ensures the Rust targets' standard libraries are installed.
fn ensure_rust_targets(targets: &[&str]) -> Result<bool, CliError> {
    let Some(rustup) = find_tool("rustup") else {
        // Without rustup, accept a toolchain whose sysroot already has the targets.
        let missing: Vec<&str> = targets
            .iter()
            .copied()
            .filter(|t| !sysroot_has(t))
            .collect();
        return if missing.is_empty() {
            Ok(false)
        } else {
            Err(CliError::Setup(format!(
                "the Rust target(s) {} are not installed and rustup is not available to add them",
                missing.join(", ")
            )))
        };
    };
    let out = Command::new(&rustup)
        .args(["target", "list", "--installed"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::io("cannot run rustup", e))?;
    let installed = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    eprintln!(
        "oxv: setup: running: rustup target add {}",
        missing.join(" ")
    );
    let status = Command::new(&rustup)
        .args(["target", "add"])
        .args(&missing)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| CliError::io("cannot run rustup", e))?;
    if status.success() {
        Ok(true)
    } else {
        Err(CliError::Setup(format!(
            "rustup target add {} failed ({status})",
            missing.join(" ")
        )))
    }
}

/// Whether the current rustc's sysroot has the standard library for `target`.
fn sysroot_has(target: &str) -> bool {
    Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| std::path::Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_dir())
}

/// Ensures `cargo fmt` and `cargo clippy` work, adding the rustup components if not.
fn ensure_cargo_tools() -> Result<bool, CliError> {
    let works = |tool: &str| {
        workspace::cargo()
            .args([tool, "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("fmt") && works("clippy") {
        return Ok(false);
    }
    eprintln!("oxv: setup: running: rustup component add rustfmt clippy");
    let status = Command::new("rustup")
        .args(["component", "add", "rustfmt", "clippy"])
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| {
            CliError::Setup(format!(
                "cargo fmt/clippy missing and rustup cannot run: {e}"
            ))
        })?;
    if status.success() {
        Ok(true)
    } else {
        Err(CliError::Setup(format!(
            "rustup component add rustfmt clippy failed ({status})"
        )))
    }
}
