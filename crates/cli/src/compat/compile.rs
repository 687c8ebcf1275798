//! Building a compat test's C source in each variant.
//!
//! The three variants cover the three ways static Linux programs start: a static non-PIE
//! glibc binary (loaded at its link address), a static-PIE glibc binary (the kernel picks a
//! base, glibc relocates itself), and a static musl binary (another libc's startup and
//! syscall habits). Binaries go to `target/compat/<variant>/<name>` and are rebuilt only when
//! the source or a header in compat-tests/ is newer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// A way to build a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Variant {
    /// `gcc -static -O1`: static glibc, fixed address.
    Static,
    /// `gcc -static-pie -fPIE -O1`: static glibc, position-independent.
    StaticPie,
    /// `musl-gcc -static -O1`: static musl.
    Musl,
}

impl Variant {
    /// All variants, in report order.
    pub const ALL: [Variant; 3] = [Variant::Static, Variant::StaticPie, Variant::Musl];

    /// The compiler and its flags.
    pub fn compiler(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Variant::Static => ("gcc", &["-static", "-O1"]),
            Variant::StaticPie => ("gcc", &["-static-pie", "-fPIE", "-O1"]),
            Variant::Musl => ("musl-gcc", &["-static", "-O1"]),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Static => "static",
            Variant::StaticPie => "static-pie",
            Variant::Musl => "musl",
        })
    }
}

/// Builds `source` as `variant` into `out_dir/<variant>/<name>` unless it is up to date
/// (newer than the source and than `newest_header`). Returns the binary, or the compiler's
/// complaint.
pub fn build(
    source: &Path,
    name: &str,
    variant: Variant,
    out_dir: &Path,
    newest_header: SystemTime,
) -> Result<PathBuf, String> {
    let dir = out_dir.join(variant.to_string());
    let binary = dir.join(name);
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(bin), Some(src)) = (mtime(&binary), mtime(source)) {
        if bin >= src && bin >= newest_header {
            return Ok(binary);
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (cc, flags) = variant.compiler();
    // Build to a temporary name so an interrupted build never leaves a fresh-looking binary.
    let partial = dir.join(format!(".{name}.partial"));
    let out = Command::new(cc)
        .args(flags)
        .arg("-o")
        .arg(&partial)
        .arg(source)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let shown: Vec<&str> = text.lines().take(20).collect();
        return Err(format!(
            "{cc} failed ({}):\n{}",
            out.status,
            shown.join("\n")
        ));
    }
    std::fs::rename(&partial, &binary)
        .map_err(|e| format!("cannot rename to {}: {e}", binary.display()))?;
    Ok(binary)
}
