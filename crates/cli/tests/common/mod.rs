//! What the guest test files share: building the static C programs they boot, and running
//! `oxv` with a hang limit.

// Each test file that includes this module uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file name no other test thread or process uses: tests build in parallel, and a build
/// writes under a unique name, then renames into place (atomically), so no test ever reads
/// a half-written file.
pub fn unique(path: &Path) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    PathBuf::from(name)
}

/// Compiles `source` with `gcc -static -O1` as `name` under the test target directory's
/// `group`; returns the binary's canonical path.
pub fn build_c(group: &str, name: &str, source: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    std::fs::create_dir_all(&dir).expect("create the test's build directory");
    let src = unique(&dir.join(format!("{name}.c")));
    std::fs::write(&src, source).expect("write the C source");
    let bin = dir.join(name);
    let tmp = unique(&bin);
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-x", "c", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .expect("gcc must be installed (oxv test installs it)");
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("move the binary into place");
    let _ = std::fs::remove_file(&src);
    bin.canonicalize().expect("the binary exists")
}

/// What a finished `oxv` run gave: its exit code (`None` if a signal ended it), stdout and
/// stderr.
pub struct OxvRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `oxv ARGS...` with no stdin and its output captured; fails the test if it is still
/// running after `limit` (a hang), killing it first.
pub fn run_oxv(args: &[&str], limit: std::time::Duration) -> OxvRun {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oxv");
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for oxv") {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oxv {args:?} hung: still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    OxvRun {
        code,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// A new ext2 image at `img` of `size` (`mke2fs -t ext2` with `extra` options, e2fsprogs),
/// holding the tree `files` if given (`-d`).
pub fn mke2fs(img: &Path, size: &str, extra: &[&str], files: Option<&Path>) {
    let mut cmd = Command::new("mke2fs");
    cmd.args(["-q", "-F", "-t", "ext2"]).args(extra);
    if let Some(files) = files {
        cmd.arg("-d").arg(files);
    }
    let out = cmd
        .arg(img)
        .arg(size)
        .output()
        .expect("mke2fs (e2fsprogs) must be installed");
    assert!(
        out.status.success(),
        "mke2fs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The checksum the guest programs print for a file (`reclaim_map`, `oom_ext2_cache`):
/// FNV-1a over its little-endian 64-bit words.
pub fn fnv1a_words(data: &[u8]) -> u64 {
    data.chunks_exact(8).fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(0x0100_0000_01b3)
    })
}
