//! Building the benchmark programs of `bench/` with `gcc -static`.
//!
//! One static glibc binary per `bench/NAME.c`, into `target/oxv-bench/bin/NAME`, rebuilt when
//! the source or `bench/bench.h` is newer. The same binary runs in both guests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::error::CliError;

/// Where the program `name` is in both guests.
pub fn guest_path(name: &str) -> String {
    format!("/bench/{name}")
}

/// Builds `names` from `src` into `out`; returns each binary's path, in order.
pub fn build(src: &Path, out: &Path, names: &[&str]) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::io(format!("cannot create {}", out.display()), e))?;
    let header = mtime(&src.join("bench.h"));
    names
        .iter()
        .map(|name| {
            let source = src.join(format!("{name}.c"));
            let binary = out.join(name);
            let newest = mtime(&source).max(header);
            if mtime(&binary) > newest {
                return Ok(binary);
            }
            let result = Command::new("gcc")
                .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
                .arg(&binary)
                .arg(&source)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| CliError::io("cannot run gcc", e))?;
            if !result.status.success() {
                eprint!("{}", String::from_utf8_lossy(&result.stderr));
                return Err(CliError::Build(format!(
                    "gcc -static {} failed ({})",
                    source.display(),
                    result.status
                )));
            }
            Ok(binary)
        })
        .collect()
}

/// A file's modification time; the epoch when it is missing (so it counts as stale).
fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_are_the_same_in_both_guests() {
        assert_eq!(guest_path("hello"), "/bench/hello");
    }

    #[test]
    fn a_missing_file_is_older_than_anything() {
        assert_eq!(mtime(Path::new("/nonexistent/x")), SystemTime::UNIX_EPOCH);
    }
}
