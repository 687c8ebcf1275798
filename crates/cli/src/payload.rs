//! What goes into the guest for one program: the [`Image`] and the argv that `oxv run` boots
//! and `oxv image` bundles.
//!
//! Two ways to build it:
//!
//! - **From the host** (the default): the program, found by its host path (or on `PATH`),
//!   goes in at its canonical path, which is also argv[0] (when it was named through a
//!   symlink, the link goes in too and is argv[0], as on Linux). A dynamically linked
//!   program also gets its interpreter and every library it needs ([`crate::deps`]), each at the host path
//!   the loader will open, with the symlinks on the way kept as symlinks (so
//!   `/lib64/ld-linux-x86-64.so.2` works exactly as on the host), and the few files glibc
//!   reads at run time ([`RUNTIME_FILES`]; generated, not the host's, so that no host
//!   account or resolver setting leaks into an image).
//! - **From a root directory** (`--rootfs DIR`): every file under DIR goes in, and the
//!   program is a path inside DIR (symlinks resolved inside it; a bare name is searched in
//!   the guest's `PATH`). Its libraries must be in DIR: they are checked, not added.
//!
//! Either way the `--file` and `--dir` trees are added last (a later file replaces an earlier
//! one), and ELF objects in them (Python extension modules, plugins) get their libraries
//! too, since the program may `dlopen` them; a library only they miss is a warning.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{FileMapping, RunArgs};
use crate::deps::{self, Found, Resolver, Root, Walk};
use crate::error::CliError;
use crate::image::Image;
use crate::setup::{self, Requirement};
use crate::workspace::{Workspace, find_in_path};

/// Files glibc reads at run time, written into the image of a dynamic program from the
/// host: name service switch with local files only (nsswitch.conf(5); no NSS module needs
/// loading), a root and a nobody account, and `/etc/hosts` for localhost. `resolv.conf`
/// names the DNS server of QEMU's user-mode network (10.0.2.3). `--file` replaces any of them.
pub const RUNTIME_FILES: [(&str, &str); 5] = [
    (
        "/etc/nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n\
         protocols: files\nservices: files\nethers: files\nrpc: files\n",
    ),
    (
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    ("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    (
        "/etc/hosts",
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    ),
    ("/etc/resolv.conf", "nameserver 10.0.2.3\n"),
];

/// Images larger than this get their size and packing progress shown on stderr.
pub const LARGE_IMAGE: u64 = 20 << 20;

/// The search path for a bare program name in a root directory when `--env PATH` is not
/// given (Debian's default for root).
const ROOTFS_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The guest's files and argv.
#[derive(Debug)]
pub struct Payload {
    /// The initramfs contents.
    pub image: Image,
    /// argv; argv[0] is the program's guest path.
    pub argv: Vec<Vec<u8>>,
    /// The program's guest path.
    pub program: String,
}

/// Builds the payload `args` describe. Without a program, the demo app is built first (the
/// only case that needs setup before the image exists).
pub fn build(args: &RunArgs, ws: &Workspace) -> Result<Payload, CliError> {
    let verbose = args.verbose;
    let mut command = args.command.iter();
    let root = match &args.rootfs {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(CliError::Usage(format!(
                    "--rootfs {}: not a directory",
                    dir.display()
                )));
            }
            let dir = dir
                .canonicalize()
                .map_err(|e| CliError::io(format!("--rootfs {}", dir.display()), e))?;
            Root::new(dir)
        }
        None => Root::host(),
    };
    // The name the program was invoked by, when it is a symlink to `program` (multi-call
    // binaries such as redis-server -> redis-check-rdb look at argv[0]).
    let mut invoked_as: Option<String> = None;
    let (program, bytes) = match command.next() {
        Some(p) if root.is_host() => {
            let (program, bytes, link) = read_host_program(p)?;
            invoked_as = link;
            (program, bytes)
        }
        Some(p) => read_rootfs_program(&root, p, guest_env(args, "PATH"))?,
        None if root.is_host() => {
            setup::ensure(ws, Requirement::RUN, verbose)?;
            let path = crate::run::build_or_retry(ws, verbose, |ws| ws.demo(verbose))?;
            let (program, bytes, _) = read_host_program(path.as_os_str())?;
            (program, bytes)
        }
        None => {
            return Err(CliError::Usage(
                "--rootfs needs a PROGRAM (a path inside the root directory)".into(),
            ));
        }
    };
    let plan = oxv_abi::exec::plan(&bytes).map_err(|e| CliError::BadElf {
        path: program.clone().into(),
        reason: e.to_string(),
    })?;
    let dynamic = plan.interp.is_some();

    let mut image = Image::new();
    if root.is_host() {
        let mode = std::fs::metadata(&program)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
        // The guest execs it whatever the host copy's bits say: its owner must read and run it.
        image.add_bytes(&program, mode.unwrap_or(0o755) | 0o500, bytes.clone())?;
        if dynamic {
            for (path, text) in RUNTIME_FILES {
                image.add_bytes(path, 0o644, text.as_bytes().to_vec())?;
            }
        }
    } else {
        if verbose {
            eprintln!("oxv: rootfs: {}", root.dir().display());
        }
        image.add_host(root.dir(), "/")?;
    }
    add_mappings(&mut image, &args.files, "--file", false)?;
    add_mappings(&mut image, &args.dirs, "--dir", true)?;

    let library_path = guest_env(args, "LD_LIBRARY_PATH");
    let host_library_path = std::env::var("LD_LIBRARY_PATH").ok();
    let library_path_used = library_path
        .map(str::to_string)
        .or_else(|| host_library_path.clone().filter(|_| root.is_host()));
    let resolver = Resolver::new(&root, library_path_used.as_deref());
    let extras = if root.is_host() {
        elf_objects(&image, &program)
    } else {
        Vec::new()
    };
    let closure = resolver.resolve(&program, &bytes, &extras)?;
    if root.is_host() {
        let mut packed = 0;
        for object in closure.interp.iter().chain(&closure.libs) {
            packed += pack(&mut image, &root, &object.walk)?;
        }
        for (_, walk) in &closure.variants {
            packed += pack(&mut image, &root, walk)?;
        }
        if closure.needs_ld_cache() && !image.contains("/etc/ld.so.cache") {
            if let Ok(walk) = root.walk("/etc/ld.so.cache") {
                image.add_host_file(&root.host_path(&walk.real), "/etc/ld.so.cache")?;
            }
        }
        if verbose && dynamic {
            eprintln!(
                "oxv: {program}: interpreter {} and {} libraries ({packed} files added)",
                closure.interp.as_ref().map_or("-", |o| o.path.as_str()),
                closure.libs.len()
            );
            for lib in &closure.libs {
                eprintln!("oxv:   {} => {} ({:?})", lib.name, lib.walk.real, lib.found);
            }
        }
        let via_host_env = closure
            .libs
            .iter()
            .filter(|o| o.found == Found::LibraryPath)
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>();
        if library_path.is_none() && !via_host_env.is_empty() {
            eprintln!(
                "oxv: warning: {} found through the host's LD_LIBRARY_PATH, which the guest \
                 does not see; pass --env LD_LIBRARY_PATH=... if its loader cannot find them",
                via_host_env.join(", ")
            );
        }
    }
    if !closure.extra_missing.is_empty() {
        let list: Vec<String> = closure
            .extra_missing
            .iter()
            .map(|m| format!("{} (needed by {})", m.name, m.needed_by))
            .collect();
        eprintln!(
            "oxv: warning: libraries not found for ELF files added to the image; loading \
             those files will fail: {}",
            list.join(", ")
        );
    }

    // Linux execs the link and the program sees the link's name as argv[0]; so does oxv.
    let program = match invoked_as {
        Some(link) => {
            image.add_symlink(&link, &program)?;
            link
        }
        None => program,
    };
    let mut argv = vec![program.clone().into_bytes()];
    argv.extend(command.cloned().map(OsString::into_vec));
    Ok(Payload {
        image,
        argv,
        program,
    })
}

/// The value of `--env NAME=...`, if given (the last one wins, as in an environment).
fn guest_env<'a>(args: &'a RunArgs, name: &str) -> Option<&'a str> {
    args.env
        .iter()
        .rev()
        .find(|v| v.name == name)
        .map(|v| v.value.as_str())
}

/// The absolute path `path` names when its last component is a symlink to the `canonical`
/// program (its directories resolved, the link itself kept); `None` when `path` names the
/// file itself.
fn symlink_name(path: &Path, canonical: &str) -> Option<String> {
    if !std::fs::symlink_metadata(path)
        .ok()?
        .file_type()
        .is_symlink()
    {
        return None;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?.canonicalize().ok()?,
    };
    let named = dir
        .join(path.file_name()?)
        .into_os_string()
        .into_string()
        .ok()?;
    (named != canonical).then_some(named)
}

/// Reads a host program: a name without a slash that is not in the current directory is
/// looked up on `PATH`, as a shell would. Returns its canonical path (the guest path), its
/// bytes, and the name it was given when that is a symlink to it ([`symlink_name`]).
fn read_host_program(
    program: &std::ffi::OsStr,
) -> Result<(String, Vec<u8>, Option<String>), CliError> {
    let mut path = PathBuf::from(program);
    let bare = !program.as_encoded_bytes().contains(&b'/');
    if bare && !path.exists() {
        if let Some(found) = program.to_str().and_then(find_in_path) {
            path = found;
        }
    }
    let bytes = std::fs::read(&path).map_err(|source| CliError::ReadProgram {
        path: path.clone(),
        source,
    })?;
    let canonical = path
        .canonicalize()
        .map_err(|source| CliError::ReadProgram {
            path: path.clone(),
            source,
        })?;
    let guest = canonical.into_os_string().into_string().map_err(|p| {
        CliError::Usage(format!(
            "{}: guest paths must be UTF-8",
            Path::new(&p).display()
        ))
    })?;
    let link = symlink_name(&path, &guest);
    Ok((guest, bytes, link))
}

/// Reads a program inside a root directory: an absolute guest path, or a bare name searched
/// in `path` (the guest's `PATH`, or [`ROOTFS_PATH`]).
fn read_rootfs_program(
    root: &Root,
    program: &std::ffi::OsStr,
    path: Option<&str>,
) -> Result<(String, Vec<u8>), CliError> {
    let Some(name) = program.to_str() else {
        return Err(CliError::Usage("guest paths must be UTF-8".into()));
    };
    let not_found = |source: std::io::Error| CliError::ReadProgram {
        path: root.host_path(name),
        source,
    };
    let candidates: Vec<String> = if name.starts_with('/') {
        vec![name.to_string()]
    } else if name.contains('/') {
        return Err(CliError::Usage(format!(
            "{name}: with --rootfs, PROGRAM is an absolute path inside the root directory \
             or a name on its PATH"
        )));
    } else {
        path.unwrap_or(ROOTFS_PATH)
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .collect()
    };
    for candidate in &candidates {
        if let Ok((walk, bytes)) = root.read(candidate) {
            return Ok((walk.real, bytes));
        }
    }
    Err(not_found(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!(
            "not found inside the root directory {} (tried {})",
            root.dir().display(),
            candidates.join(", ")
        ),
    )))
}

/// Adds `--file`/`--dir` mappings; `dirs_only` refuses anything but a directory.
fn add_mappings(
    image: &mut Image,
    mappings: &[FileMapping],
    option: &str,
    dirs_only: bool,
) -> Result<(), CliError> {
    for m in mappings {
        if dirs_only && !m.host.is_dir() {
            return Err(CliError::HostFile {
                context: format!("{option} {}", m.host.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a directory (use --file for a file)",
                ),
            });
        }
        let guest = match &m.guest {
            Some(g) => g.clone(),
            None => host_path_in_image(image, &absolute_utf8(&m.host)?)?,
        };
        image.add_host(&m.host, &guest)?;
    }
    Ok(())
}

/// Where a host path goes when no guest path is given: the same path, with the symlinks
/// among its parent directories kept as symlinks in the image (so `--file /lib/x/libf.so`
/// on a merged-/usr host lands in `/usr/lib/x/` and `/lib -> usr/lib` is in the image, as
/// the libraries' own links are).
fn host_path_in_image(image: &mut Image, path: &str) -> Result<String, CliError> {
    let Some((parent, name)) = path.rsplit_once('/') else {
        return Ok(path.to_string());
    };
    let Ok(walk) = Root::host().walk(if parent.is_empty() { "/" } else { parent }) else {
        // Missing: adding the file reports it.
        return Ok(path.to_string());
    };
    for (link, target) in &walk.links {
        if !image.contains(link) {
            image.add_symlink(link, target)?;
        }
    }
    Ok(format!("{}/{name}", walk.real.trim_end_matches('/')))
}

/// A host path made absolute (not resolving symlinks), as a UTF-8 guest path.
fn absolute_utf8(path: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(path).map_err(|e| CliError::HostFile {
        context: path.display().to_string(),
        source: e,
    })?;
    abs.into_os_string().into_string().map_err(|p| {
        CliError::Usage(format!(
            "{}: guest paths must be UTF-8",
            Path::new(&p).display()
        ))
    })
}

/// The ELF files of the image other than the program (their guest paths and bytes).
fn elf_objects(image: &Image, program: &str) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let paths: Vec<String> = image
        .files()
        .map(|(p, _)| p.to_string())
        .filter(|p| p != program)
        .collect();
    for path in paths {
        let Some(host) = image.host_source(&path) else {
            continue;
        };
        let mut magic = [0u8; 4];
        let is_elf = std::fs::File::open(host)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && deps::is_elf(&magic);
        if is_elf {
            if let Ok(bytes) = std::fs::read(host) {
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Adds a resolved file at its host path with the symlinks on the way; returns how many
/// entries were new.
fn pack(image: &mut Image, root: &Root, walk: &Walk) -> Result<usize, CliError> {
    let mut added = 0;
    for (link, target) in &walk.links {
        if !image.contains(link) {
            image.add_symlink(link, target)?;
            added += 1;
        }
    }
    if !image.contains(&walk.real) {
        image.add_host_file(&root.host_path(&walk.real), &walk.real)?;
        added += 1;
    }
    Ok(added)
}

/// Writes the image as a cpio archive; for a large image, its size, where the bytes are,
/// and (on a terminal) progress are shown on stderr.
pub fn write_cpio(image: &Image) -> Result<Vec<u8>, CliError> {
    let files: Vec<(&str, u64)> = image.files().collect();
    let total: u64 = files.iter().map(|(_, n)| n).sum();
    if total <= LARGE_IMAGE {
        return image.to_cpio();
    }
    eprintln!(
        "oxv: image: {} files, {}; largest directories: {}",
        files.len(),
        mib(total),
        largest_dirs(&files, 4)
    );
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = 0;
    let cpio = image.to_cpio_with_progress(|done| {
        let percent = done * 100 / total.max(1);
        if tty && percent >= shown + 5 {
            shown = percent;
            eprint!(
                "\roxv: packing {percent:>3}% ({} of {})",
                mib(done),
                mib(total)
            );
        }
    })?;
    if tty {
        eprint!("\r\x1b[K");
    }
    eprintln!(
        "oxv: initramfs: {} written in {:.1} s",
        mib(cpio.len() as u64),
        started.elapsed().as_secs_f64()
    );
    Ok(cpio)
}

/// The `n` directories holding the most file bytes, as `dir size` items.
fn largest_dirs(files: &[(&str, u64)], n: usize) -> String {
    let mut by_dir: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for (path, size) in files {
        let dir = path.rsplit_once('/').map_or("/", |(d, _)| d);
        *by_dir
            .entry(if dir.is_empty() { "/" } else { dir })
            .or_default() += size;
    }
    let mut dirs: Vec<(&str, u64)> = by_dir.into_iter().collect();
    dirs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    dirs.iter()
        .take(n)
        .map(|(d, s)| format!("{d} {}", mib(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A byte count in MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from(["oxv", "run"].iter().chain(args)).expect("valid");
        match cli.command {
            Command::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn ws() -> Workspace {
        Workspace::locate()
    }

    #[test]
    fn a_program_run_through_a_symlink_sees_the_links_name() {
        // Multi-call programs (redis-server -> redis-check-rdb) look at argv[0].
        let dir = std::env::temp_dir().join(format!("oxv-payload-argv0-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy("/bin/ls", dir.join("real-ls")).unwrap();
        std::os::unix::fs::symlink("real-ls", dir.join("alias")).unwrap();
        let dir = std::fs::canonicalize(&dir).unwrap();
        let link = dir.join("alias");
        let p = build(&run_args(&[link.to_str().unwrap(), "x"]), &ws()).unwrap();
        assert_eq!(p.argv, [link.to_str().unwrap().as_bytes(), b"x"]);
        assert_eq!(p.program, link.to_str().unwrap());
        assert!(p.image.contains(link.to_str().unwrap()));
        assert!(p.image.contains(dir.join("real-ls").to_str().unwrap()));
        // The file itself keeps its own name.
        let real = dir.join("real-ls");
        let p = build(&run_args(&[real.to_str().unwrap()]), &ws()).unwrap();
        assert_eq!(p.argv, [real.to_str().unwrap().as_bytes()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dynamic_host_program_brings_its_loader_libraries_and_etc_files() {
        let p = build(&run_args(&["/bin/ls", "-l", "/"]), &ws()).unwrap();
        let ls = std::fs::canonicalize("/bin/ls").unwrap();
        assert_eq!(p.program, ls.to_str().unwrap());
        assert_eq!(p.argv, [ls.to_str().unwrap().as_bytes(), b"-l", b"/"]);
        let paths: Vec<&str> = p.image.paths().collect();
        // The interpreter's path crosses symlinks on Debian (/lib64 -> usr/lib64, ...): the
        // image holds each link and the real file.
        let interp = Root::host().walk("/lib64/ld-linux-x86-64.so.2").unwrap();
        for (link, _) in &interp.links {
            assert!(
                paths.contains(&link.as_str()),
                "{link} missing from {paths:?}"
            );
        }
        for must in [
            interp.real.as_str(),
            "/etc/nsswitch.conf",
            "/etc/passwd",
            "/etc/group",
            "/etc/hosts",
            "/etc/resolv.conf",
        ] {
            assert!(paths.contains(&must), "{must} missing from {paths:?}");
        }
        // The loader's real file is in, and every library is reachable at its host path
        // through links that are in the image too.
        let loader = std::fs::canonicalize("/lib64/ld-linux-x86-64.so.2").unwrap();
        assert!(p.image.contains(loader.to_str().unwrap()));
        let libc = Resolver::new(&Root::host(), None)
            .resolve(p.program.as_str(), &std::fs::read(&ls).unwrap(), &[])
            .unwrap()
            .libs
            .into_iter()
            .find(|o| o.name == "libc.so.6")
            .unwrap();
        assert!(p.image.contains(&libc.walk.real));
        for (link, _) in &libc.walk.links {
            assert!(p.image.contains(link), "{link}");
        }
        // The host's ld.so.cache is not needed for libraries in the default directories.
        assert!(!p.image.contains("/etc/ld.so.cache"));
    }

    #[test]
    fn a_static_program_gets_no_runtime_files_and_a_file_overrides_them() {
        let p = build(&run_args(&["/bin/busybox", "true"]), &ws());
        let Ok(p) = p else {
            return; // busybox-static is not installed here.
        };
        assert!(!p.image.contains("/etc/passwd"));
        let dir = std::env::temp_dir().join(format!("oxv-payload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("passwd"), "me:x:5:5::/:/bin/sh\n").unwrap();
        let arg = format!("{}:/etc/passwd", dir.join("passwd").display());
        let p = build(&run_args(&["--file", &arg, "/bin/ls"]), &ws()).unwrap();
        assert_eq!(
            p.image.host_source("/etc/passwd"),
            Some(&*dir.join("passwd"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rootfs_programs_are_found_inside_and_bad_uses_are_refused() {
        let dir = std::env::temp_dir().join(format!("oxv-payload-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("usr/bin")).unwrap();
        let Ok(busybox) = std::fs::read("/bin/busybox") else {
            return;
        };
        std::fs::write(dir.join("usr/bin/busybox"), busybox).unwrap();
        std::os::unix::fs::symlink("/usr/bin/busybox", dir.join("usr/bin/sh")).unwrap();
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/motd"), "hi").unwrap();
        let root = dir.to_str().unwrap();
        let p = build(&run_args(&["--rootfs", root, "sh", "-c", "true"]), &ws()).unwrap();
        assert_eq!(p.program, "/usr/bin/busybox");
        assert!(p.image.contains("/etc/motd") && p.image.contains("/usr/bin/sh"));
        let p = build(&run_args(&["--rootfs", root, "/usr/bin/sh"]), &ws()).unwrap();
        assert_eq!(p.argv[0], b"/usr/bin/busybox");
        for bad in [
            &["--rootfs", root, "nothere"][..],
            &["--rootfs", root, "usr/bin/sh"],
            &["--rootfs", root],
            &["--rootfs", "/nonexistent-root", "sh"],
        ] {
            assert!(build(&run_args(bad), &ws()).is_err(), "{bad:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_guest_paths_keep_the_host_symlinks_of_their_parents() {
        let dir = std::env::temp_dir().join(format!("oxv-payload-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/data"), "x").unwrap();
        std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
        let real = std::fs::canonicalize(dir.join("real")).unwrap();
        let link_arg = dir.join("link/data");
        let p = build(
            &run_args(&["--file", link_arg.to_str().unwrap(), "/bin/ls"]),
            &ws(),
        )
        .unwrap();
        assert!(p.image.contains(&format!("{}/data", real.display())));
        let link = std::fs::canonicalize(&dir).unwrap().join("link");
        assert!(p.image.contains(link.to_str().unwrap()));
        // With /lib -> usr/lib on the host, a file under /lib and the libraries' links agree.
        if let Ok(walk) = Root::host().walk("/lib/x86_64-linux-gnu") {
            let libc = format!("{}/libc.so.6", walk.real);
            let arg = "/lib/x86_64-linux-gnu/libc.so.6";
            if std::path::Path::new(&libc).exists() {
                let p = build(&run_args(&["--file", arg, "/bin/ls"]), &ws()).unwrap();
                assert!(p.image.contains(&libc));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dir_mappings_must_be_directories() {
        let err = build(&run_args(&["--dir", "/bin/ls:/x", "/bin/ls"]), &ws()).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn largest_dirs_sum_by_parent() {
        let files = [("/a/x", 5u64), ("/a/y", 5), ("/b/z", 7), ("/top", 1)];
        assert_eq!(
            largest_dirs(&files, 2),
            format!("/a {}, /b {}", mib(10), mib(7))
        );
        assert_eq!(mib(3 << 20), "3.0 MiB");
    }
}
