//! The Linux guest of the bench: Debian's cloud kernel, its initramfs and command line.
//!
//! The kernel is Debian's `linux-image-cloud-amd64` (a metapackage; its dependency
//! `linux-image-<release>-cloud-amd64` holds the kernel), fetched on first use with
//! `apt-get download`, unpacked with `dpkg-deb -x` into `target/oxv-bench/linux/`, and
//! cached there. From the compressed `vmlinuz` the bench extracts the ELF `vmlinux` that it
//! wraps: Debian's kernel has `CONFIG_PVH`, so QEMU enters it through PVH like oxv, which is
//! Linux's fastest path on microvm (it skips the firmware's bzImage loader and the in-guest
//! decompressor, about 0.5 s under TCG). If the extraction fails the `vmlinuz` is booted.
//!
//! The initramfs holds `/init` (`bench/linux_init.c`), the benchmark programs at the same
//! paths as in oxv, `/dev/console` (so init has fds 0-2) and a world-writable `/tmp`. The
//! command line makes the console the 16550 and quiet, reboots at once on a panic, trusts
//! the TSC, and gives its frequency (`tsc_early_khz=`, without which Linux often hangs
//! calibrating on microvm under TCG); the programs and their arguments follow `--`,
//! separated by `::`.
//!
//! **Network.** Debian builds virtio, virtio-mmio and virtio-net as modules, so the fetch
//! keeps those ([`NET_MODULES`], in load order) in `target/oxv-bench/linux/modules/`; a run
//! that needs the network (`http_rps`) puts them in its initramfs under `/modules` with
//! `/modules/order`, and the init loads them and configures `eth0` as QEMU user
//! networking's DHCP would (10.0.2.15/24). The kernel does not read virtio-mmio devices from
//! its command line (`CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES` is off): it finds them in
//! microvm's ACPI tables, so its VM has `-machine acpi=on` where oxv's has `acpi=off` (the
//! only difference; oxv takes the devices from the command line, which QEMU writes only
//! without ACPI).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oxv_vfs::initramfs::Writer;
use oxv_vfs::node::DeviceId;

use crate::error::CliError;
use crate::workspace::find_in_path;

/// The Debian metapackage naming the current cloud kernel.
pub const METAPACKAGE: &str = "linux-image-cloud-amd64";

/// The modules the network needs, relative to `lib/modules/<release>/`, in load order
/// (each after those it depends on, per their `depends=` modinfo).
pub const NET_MODULES: [&str; 6] = [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
];

/// The separator of commands on the init's argument list.
pub const COMMAND_SEPARATOR: &str = "::";

/// The unpacked kernel.
#[derive(Debug, Clone)]
pub struct LinuxKernel {
    /// What QEMU boots: the extracted `vmlinux` (PVH), or the `vmlinuz`.
    pub image: PathBuf,
    /// The compressed kernel as packaged.
    pub vmlinuz: PathBuf,
    /// The package it came from, e.g. `linux-image-6.1.0-56-cloud-amd64`.
    pub package: String,
    /// The kernel release, e.g. `6.1.0-56-cloud-amd64`.
    pub release: String,
    /// Whether `image` is the PVH-entered `vmlinux`.
    pub pvh: bool,
    /// The [`NET_MODULES`], in load order.
    pub modules: Vec<PathBuf>,
}

/// The cached kernel in `dir`, fetching and unpacking it first if needed.
pub fn fetch(dir: &Path) -> Result<LinuxKernel, CliError> {
    let io = |what: &str, e| CliError::io(format!("{what} in {}", dir.display()), e);
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create the cache", e))?;
    if let Some(kernel) = cached(dir) {
        return Ok(kernel);
    }
    for tool in ["apt-get", "apt-cache", "dpkg-deb"] {
        if find_in_path(tool).is_none() {
            return Err(CliError::Setup(format!(
                "the Linux guest of `oxv bench` is Debian's {METAPACKAGE} kernel, fetched with \
                 apt-get and unpacked with dpkg-deb, but {tool} is not available here (not a \
                 Debian-like system?)"
            )));
        }
    }
    let package = match kernel_package() {
        Some(p) => p,
        None => {
            // A fresh container has no package lists until `apt-get update`.
            eprintln!("oxv: bench: running: apt-get update");
            apt(&["update"], dir)?;
            kernel_package().ok_or_else(|| {
                CliError::Setup(format!(
                    "apt-cache does not know {METAPACKAGE}'s kernel package (is Debian's main \
                     archive in the apt sources?)"
                ))
            })?
        }
    };
    eprintln!("oxv: bench: fetching the Linux guest's kernel: apt-get download {package}");
    apt(&["download", &package], dir)?;
    let deb = std::fs::read_dir(dir)
        .map_err(|e| io("cannot list", e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| CliError::Setup(format!("apt-get download {package} left no .deb")))?;
    let unpacked = dir.join("unpacked");
    // A leftover of an interrupted unpack is replaced.
    let _ = std::fs::remove_dir_all(&unpacked);
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb -x",
    )?;
    let boot = unpacked.join("boot");
    let vmlinuz_in = std::fs::read_dir(&boot)
        .map_err(|e| io("cannot list boot/ of the package", e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .ok_or_else(|| CliError::Setup(format!("{} has no boot/vmlinuz-*", deb.display())))?;
    let release = vmlinuz_in
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .unwrap_or_default()
        .to_string();
    let vmlinuz = dir.join("vmlinuz");
    std::fs::copy(&vmlinuz_in, &vmlinuz).map_err(|e| io("cannot copy the vmlinuz", e))?;
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).map_err(|e| io("cannot create modules/", e))?;
    for m in NET_MODULES {
        let from = unpacked.join("lib/modules").join(&release).join(m);
        std::fs::copy(&from, modules.join(module_name(m)))
            .map_err(|e| io(&format!("cannot copy {}", from.display()), e))?;
    }
    if let Ok(config) = std::fs::read(boot.join(format!("config-{release}"))) {
        // Only for the curious reader of the cache; the bench does not need it.
        let _ = std::fs::write(dir.join("config"), config);
    }
    match extract_vmlinux(&vmlinuz, &dir.join("vmlinux")) {
        Ok(()) => {}
        Err(why) => eprintln!(
            "oxv: bench: warning: cannot extract vmlinux from {} ({why}); Linux will boot \
             through the bzImage path, about 0.5 s slower under TCG",
            vmlinuz.display()
        ),
    }
    // The modules and the .deb are 130 MB the bench does not use.
    let _ = std::fs::remove_dir_all(&unpacked);
    let _ = std::fs::remove_file(&deb);
    std::fs::write(dir.join("kernel.txt"), format!("{package}\n{release}\n"))
        .map_err(|e| io("cannot write kernel.txt", e))?;
    cached(dir).ok_or_else(|| {
        CliError::Setup(format!(
            "the kernel cache in {} is incomplete",
            dir.display()
        ))
    })
}

fn cached(dir: &Path) -> Option<LinuxKernel> {
    let text = std::fs::read_to_string(dir.join("kernel.txt")).ok()?;
    let mut lines = text.lines();
    let package = lines.next()?.to_string();
    let release = lines.next()?.to_string();
    let vmlinuz = dir.join("vmlinuz");
    if !vmlinuz.is_file() {
        return None;
    }
    let vmlinux = dir.join("vmlinux");
    let pvh = vmlinux.is_file();
    // A cache from before the network modules were kept is fetched again.
    let modules: Vec<PathBuf> = NET_MODULES
        .iter()
        .map(|m| dir.join("modules").join(module_name(m)))
        .collect();
    if !modules.iter().all(|m| m.is_file()) {
        return None;
    }
    Some(LinuxKernel {
        image: if pvh { vmlinux } else { vmlinuz.clone() },
        vmlinuz,
        package,
        release,
        pvh,
        modules,
    })
}

/// The file name of a module path (`virtio_net.ko`).
fn module_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The kernel package the metapackage depends on, per `apt-cache depends`.
fn kernel_package() -> Option<String> {
    let out = Command::new("apt-cache")
        .args(["depends", METAPACKAGE])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    depends_kernel(&String::from_utf8_lossy(&out.stdout))
}

/// Picks `linux-image-*` from `apt-cache depends` output.
pub fn depends_kernel(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && !p.contains(' '))
        .map(str::to_string)
}

fn apt(args: &[&str], dir: &Path) -> Result<(), CliError> {
    let mut cmd = Command::new("apt-get");
    // Downloading into a directory the `_apt` user cannot write is fine as root; say so to
    // apt instead of getting its warning.
    cmd.args(["-q", "-o", "APT::Sandbox::User=root"])
        .args(args)
        .current_dir(dir)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut cmd, &format!("apt-get {}", args.join(" ")))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), CliError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::io(format!("cannot run {what}"), e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(CliError::Setup(format!(
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// A compression format a bzImage payload may use, by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// LZ4 legacy frames (`CONFIG_KERNEL_LZ4`, Debian's choice for 6.1).
    Lz4,
    /// Zstandard.
    Zstd,
    /// XZ.
    Xz,
    /// gzip.
    Gzip,
}

impl Payload {
    const ALL: [Payload; 4] = [Payload::Lz4, Payload::Zstd, Payload::Xz, Payload::Gzip];

    fn magic(self) -> &'static [u8] {
        match self {
            Payload::Lz4 => &[0x02, 0x21, 0x4c, 0x18],
            Payload::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            Payload::Xz => &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
            Payload::Gzip => &[0x1f, 0x8b, 0x08],
        }
    }

    /// The host tool that decompresses it to stdout.
    fn tool(self) -> [&'static str; 2] {
        match self {
            Payload::Lz4 => ["lz4", "-dc"],
            Payload::Zstd => ["zstd", "-dcq"],
            Payload::Xz => ["xz", "-dc"],
            Payload::Gzip => ["gzip", "-dc"],
        }
    }
}

/// Every place a compressed payload may start in `image`, in file order (the real one is
/// the first that decompresses to an ELF; a magic number can also occur by chance).
pub fn payload_candidates(image: &[u8]) -> Vec<(usize, Payload)> {
    let mut found: Vec<(usize, Payload)> = Payload::ALL
        .iter()
        .flat_map(|&p| {
            let magic = p.magic();
            image
                .windows(magic.len())
                .enumerate()
                .filter(move |(_, w)| *w == magic)
                .map(move |(at, _)| (at, p))
        })
        .collect();
    found.sort_by_key(|&(at, _)| at);
    found
}

/// Whether `elf` is a 64-bit ELF with a Xen `PHYS32_ENTRY` note, i.e. PVH-bootable.
pub fn is_pvh_elf(elf: &[u8]) -> bool {
    const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
    let Ok(parsed) = goblin::elf::Elf::parse(elf) else {
        return false;
    };
    parsed.is_64
        && parsed
            .iter_note_headers(elf)
            .into_iter()
            .flatten()
            .any(|n| n.is_ok_and(|n| n.name == "Xen" && n.n_type == XEN_ELFNOTE_PHYS32_ENTRY))
}

fn extract_vmlinux(vmlinuz: &Path, out: &Path) -> Result<(), String> {
    let image = std::fs::read(vmlinuz).map_err(|e| e.to_string())?;
    let mut tried = Vec::new();
    for (at, payload) in payload_candidates(&image).into_iter().take(8) {
        let [tool, flag] = payload.tool();
        if find_in_path(tool).is_none() {
            tried.push(format!("{tool} not installed"));
            continue;
        }
        let elf = decompress(tool, flag, &image[at..])?;
        if is_pvh_elf(&elf) {
            return std::fs::write(out, elf).map_err(|e| e.to_string());
        }
        tried.push(format!("{payload:?} at {at} is not a PVH ELF"));
    }
    Err(if tried.is_empty() {
        "no known compressed payload".into()
    } else {
        tried.join("; ")
    })
}

/// Runs `tool flag` with `input` on stdin; a decompressor may complain about the bytes after
/// the payload (the bzImage's tail), so only the output counts.
fn decompress(tool: &str, flag: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut child = Command::new(tool)
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = input.to_vec();
    // Written from a thread: the tool's output could fill its pipe while we still write.
    let feeder = std::thread::spawn(move || {
        // An early exit of the tool (trailing garbage) closes the pipe: not an error here.
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let _ = feeder.join();
    Ok(out.stdout)
}

/// The initramfs of a Linux run: `/init`, the programs at their guest paths, `/dev/console`
/// and `/tmp`, and the kernel `modules` (file name and contents, in load order) with
/// `/modules/order` when there are any.
pub fn initramfs(
    init: &[u8],
    programs: &[(String, Vec<u8>)],
    modules: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, CliError> {
    let bad = |e: oxv_vfs::initramfs::WriteError| {
        CliError::Usage(format!("cannot build the Linux initramfs: {e}"))
    };
    let mut w = Writer::new();
    w.add_dir("dev", 0o755).map_err(bad)?;
    // /dev/console is character device 5:1 (Documentation/admin-guide/devices.txt).
    w.add_char_device("dev/console", 0o600, DeviceId::new(5, 1))
        .map_err(bad)?;
    w.add_dir("tmp", 0o1777).map_err(bad)?;
    w.add_dir("proc", 0o555).map_err(bad)?;
    w.add_file("init", 0o755, init).map_err(bad)?;
    if !modules.is_empty() {
        w.add_dir("modules", 0o755).map_err(bad)?;
        let mut order = String::new();
        for (name, bytes) in modules {
            w.add_file(format!("modules/{name}"), 0o644, bytes)
                .map_err(bad)?;
            order.push_str(name);
            order.push('\n');
        }
        w.add_file("modules/order", 0o644, order.as_bytes())
            .map_err(bad)?;
    }
    let mut dirs: Vec<String> = Vec::new();
    for (path, bytes) in programs {
        let rel = path.trim_start_matches('/');
        // Parent directories, outermost first, once each.
        let mut parent = String::new();
        for part in rel
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, p)| p)
            .unwrap_or(&[])
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            if !dirs.contains(&parent) {
                w.add_dir(&parent, 0o755).map_err(bad)?;
                dirs.push(parent.clone());
            }
        }
        w.add_file(rel, 0o755, bytes).map_err(bad)?;
    }
    Ok(w.finish())
}

/// The kernel command line running `commands` (each a program path and its arguments).
pub fn cmdline(tsc_khz: Option<u64>, commands: &[Vec<String>]) -> Result<String, CliError> {
    // tsc=reliable: the guest's TSC is the host's invariant TSC (or, under -icount, the
    // virtual clock); without it Linux's clocksource watchdog sometimes condemns the TSC on
    // a loaded host and falls back to jiffies (4 ms resolution), which ruins every figure.
    let mut line = String::from("console=ttyS0 quiet panic=-1 tsc=reliable");
    if let Some(khz) = tsc_khz {
        line.push_str(&format!(" tsc_early_khz={khz}"));
    }
    line.push_str(" --");
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            line.push(' ');
            line.push_str(COMMAND_SEPARATOR);
        }
        for arg in command {
            // Linux splits its command line at spaces and treats quotes specially.
            if arg.is_empty()
                || arg == COMMAND_SEPARATOR
                || arg.contains(|c: char| c.is_whitespace() || c == '"')
            {
                return Err(CliError::Usage(format!(
                    "benchmark argument {arg:?} cannot be passed on a Linux command line"
                )));
            }
            line.push(' ');
            line.push_str(arg);
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_vfs::initramfs::Reader;

    #[test]
    fn the_kernel_package_comes_from_apt_cache_depends() {
        let text = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
        assert_eq!(
            depends_kernel(text).as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
        assert_eq!(depends_kernel("x\n  Depends: <virtual>\n"), None);
        assert_eq!(depends_kernel(""), None);
    }

    #[test]
    fn payload_magics_are_found_in_file_order() {
        let mut image = vec![0u8; 64];
        image[40..44].copy_from_slice(&[0x02, 0x21, 0x4c, 0x18]);
        image[10..13].copy_from_slice(&[0x1f, 0x8b, 0x08]);
        assert_eq!(
            payload_candidates(&image),
            [(10, Payload::Gzip), (40, Payload::Lz4)]
        );
        assert!(payload_candidates(&[0; 16]).is_empty());
    }

    #[test]
    fn garbage_is_not_a_pvh_elf() {
        assert!(!is_pvh_elf(b"\x7fELF not really"));
        assert!(!is_pvh_elf(&[]));
    }

    #[test]
    fn the_initramfs_has_init_console_tmp_and_the_programs() {
        let cpio = initramfs(
            b"INIT",
            &[
                ("/bench/a".into(), b"A".to_vec()),
                ("/bench/b".into(), b"B".to_vec()),
            ],
            &[],
        )
        .unwrap();
        let names: Vec<String> = Reader::new(&cpio)
            .map(|e| String::from_utf8_lossy(e.unwrap().name).into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "dev",
                "dev/console",
                "tmp",
                "proc",
                "init",
                "bench",
                "bench/a",
                "bench/b"
            ]
        );
        let console = Reader::new(&cpio)
            .map(|e| e.unwrap())
            .find(|e| e.name == b"dev/console")
            .unwrap();
        assert_eq!(console.kind(), Some(oxv_vfs::node::FileKind::CharDevice));
    }

    #[test]
    fn modules_go_in_with_their_load_order() {
        let cpio = initramfs(
            b"INIT",
            &[],
            &[
                ("b.ko".into(), b"B".to_vec()),
                ("a.ko".into(), b"A".to_vec()),
            ],
        )
        .unwrap();
        let order = Reader::new(&cpio)
            .map(|e| e.unwrap())
            .find(|e| e.name == b"modules/order")
            .map(|e| e.data.to_vec());
        assert_eq!(order.as_deref(), Some(&b"b.ko\na.ko\n"[..]));
        assert_eq!(module_name(NET_MODULES[5]), "virtio_net.ko");
    }

    #[test]
    fn the_cmdline_separates_commands() {
        let line = cmdline(
            Some(2_400_000),
            &[
                vec!["/bench/a".into(), "10".into()],
                vec!["/bench/b".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            line,
            "console=ttyS0 quiet panic=-1 tsc=reliable tsc_early_khz=2400000 -- /bench/a 10 :: /bench/b"
        );
        assert!(cmdline(None, &[vec!["/x".into(), "a b".into()]]).is_err());
        assert!(cmdline(None, &[vec!["/x".into(), "::".into()]]).is_err());
        assert!(
            !cmdline(None, &[vec!["/x".into()]])
                .unwrap()
                .contains("tsc_early_khz")
        );
    }
}
