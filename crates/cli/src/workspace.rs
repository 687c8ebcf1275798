//! The oxv source tree `oxv` was built from, and the artifacts built from it.
//!
//! `oxv` is a development tool: it runs from the workspace (`cargo oxv ...`), finds the
//! workspace root from its own manifest directory, and builds what it boots with cargo,
//! leaving staleness to cargo. The kernel can be overridden with `OXV_KERNEL=path` (a prebuilt
//! PVH kernel ELF), which also skips the build. Build output is captured and shown only when
//! the build fails or with `--verbose`; it always goes to stderr, because stdout belongs to
//! the app.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::CliError;

/// The kernel's target triple.
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";
/// The target the demo app (and Rust test apps) are built for.
pub const APP_TARGET: &str = "x86_64-unknown-linux-musl";
/// Environment variable naming a prebuilt kernel ELF to boot instead of building one.
pub const KERNEL_ENV: &str = "OXV_KERNEL";

/// The workspace `oxv` belongs to.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace this binary was built from (`crates/cli/../..`).
    pub fn locate() -> Self {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.join("../..");
        let root = root.canonicalize().unwrap_or(root);
        Workspace { root }
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cargo's target directory (honours `CARGO_TARGET_DIR`).
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => self.root.join(dir),
            _ => self.root.join("target"),
        }
    }

    /// The kernel ELF to boot: `$OXV_KERNEL` (as is), or the workspace's `oxv-kernel` built (if
    /// stale) with `cargo build --release -p oxv-kernel --target x86_64-unknown-none`, then
    /// given its KASLR table ([`crate::kaslr::prepare`]: `oxv-kernel.kaslr` beside it).
    pub fn kernel(&self, verbose: bool) -> Result<PathBuf, CliError> {
        if let Some(path) = std::env::var_os(KERNEL_ENV).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Ok(path),
                Ok(_) => Err(CliError::Usage(format!(
                    "{KERNEL_ENV}={}: not a file",
                    path.display()
                ))),
                Err(e) => Err(CliError::HostFile {
                    context: format!("{KERNEL_ENV}={}", path.display()),
                    source: e,
                }),
            };
        }
        let mut cmd = cargo();
        cmd.args([
            "build",
            "--release",
            "-p",
            "oxv-kernel",
            "--target",
            KERNEL_TARGET,
        ]);
        self.build(cmd, "the kernel (oxv-kernel)", verbose)?;
        let linked = self
            .target_dir()
            .join(KERNEL_TARGET)
            .join("release")
            .join("oxv-kernel");
        // The bootable kernel is the linked one with its KASLR table filled in.
        crate::kaslr::prepare(&linked)
            .map_err(|e| CliError::Build(format!("KASLR relocation table: {e}")))
    }

    /// The demo app, built (if stale) for `x86_64-unknown-linux-musl` from `apps/demo`.
    pub fn demo(&self, verbose: bool) -> Result<PathBuf, CliError> {
        let manifest = self.root.join("apps/demo/Cargo.toml");
        let mut cmd = cargo();
        cmd.args([
            "build",
            "--release",
            "--target",
            APP_TARGET,
            "--manifest-path",
        ])
        .arg(&manifest);
        self.build(cmd, "the demo app (apps/demo)", verbose)?;
        Ok(self
            .root
            .join("apps/demo/target")
            .join(APP_TARGET)
            .join("release")
            .join("oxv-demo"))
    }

    /// Runs a build command in the workspace root; see the module doc for its output.
    fn build(&self, mut cmd: Command, what: &str, verbose: bool) -> Result<(), CliError> {
        cmd.current_dir(&self.root).stdin(Stdio::null());
        if verbose {
            eprintln!("oxv: building {what}");
            let status = cmd
                .stdout(std::io::stderr())
                .stderr(Stdio::inherit())
                .status()
                .map_err(|e| CliError::io("cannot run cargo", e))?;
            return if status.success() {
                Ok(())
            } else {
                Err(CliError::Build(format!(
                    "building {what} failed ({status})"
                )))
            };
        }
        let out = cmd
            .output()
            .map_err(|e| CliError::io("cannot run cargo", e))?;
        if out.status.success() {
            return Ok(());
        }
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
        Err(CliError::Build(format!(
            "building {what} failed ({})",
            out.status
        )))
    }
}

/// A `cargo` command: the cargo that runs us (`$CARGO`), or the one on `PATH`. Its `PATH`
/// has the system directories too ([`search_path`]): the tests it runs call mke2fs, e2fsck
/// and debugfs by name.
pub fn cargo() -> Command {
    let mut cmd =
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    cmd.env("PATH", search_path());
    cmd
}

/// Where root's commands live: Debian leaves them off an ordinary user's `PATH`, and
/// e2fsprogs, nginx and lighttpd install there.
const SYSTEM_DIRS: [&str; 2] = ["/usr/sbin", "/sbin"];

/// `PATH`, with [`SYSTEM_DIRS`] appended where it lacks them.
pub fn search_path() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    // An empty entry would mean the current directory: not for tools run as root.
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    for dir in SYSTEM_DIRS {
        if !dirs.iter().any(|d| d == Path::new(dir)) {
            dirs.push(PathBuf::from(dir));
        }
    }
    std::env::join_paths(dirs).unwrap_or(path)
}

/// Finds an executable on `PATH`, like `command -v` (a few `stat`s, no process).
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    find_on(&std::env::var_os("PATH")?, name)
}

/// Finds a tool the tests and setup need, on [`search_path`] (`PATH` and the system
/// directories).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    find_on(&search_path(), name)
}

fn find_on(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_found_only_where_the_path_says_and_as_executables() {
        let dir = std::env::temp_dir().join(format!("oxv-find-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tool = dir.join("a-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths(["/nonexistent", dir.to_str().unwrap()]).unwrap();
        assert_eq!(find_on(&path, "a-tool"), None, "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_on(&path, "a-tool"), Some(tool));
        assert_eq!(
            find_on(std::ffi::OsStr::new("/nonexistent"), "a-tool"),
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_search_path_has_the_system_directories() {
        let dirs: Vec<PathBuf> = std::env::split_paths(&search_path()).collect();
        for dir in SYSTEM_DIRS {
            assert!(
                dirs.iter().any(|d| d == Path::new(dir)),
                "{dir} in {dirs:?}"
            );
        }
        assert!(dirs.iter().all(|d| !d.as_os_str().is_empty()));
    }
}
