//! Bundles: a directory that boots one program without cargo or the oxv source tree
//! (`oxv image` writes one, `oxv boot` and the bundle's own `run.sh` boot it).
//!
//! | file               | what                                                            |
//! |--------------------|-----------------------------------------------------------------|
//! | `oxv-kernel`       | the kernel ELF (PVH entry)                                      |
//! | `initramfs.cpio`   | the image, as `oxv run` builds it                               |
//! | `rootfs.ext2`      | instead, with `--disk-image`: the same tree on an ext2 disk     |
//! | `diskN.img`        | copies of the `--disk` images (N: the guest's disk number)      |
//! | `cmdline`          | the app's part of the kernel command line (options, env, argv)  |
//! | `bundle.conf`      | VM settings and devices as shell assignments ([`BundleConf`])   |
//! | `run.sh`           | plain QEMU, [`RUN_SH`]                                          |
//! | `firecracker.json` | a Firecracker VM config ([`firecracker`])                       |
//!
//! With `--disk-image` the root file system is disk 0 (`rootfs.ext2`, read-write, kernel
//! option `disk=/`, see `crates/kernel/src/boot.rs`), so what the app writes outside `/tmp`
//! persists from one boot of the bundle to the next. `--disk`, `-p`, `--net` and `--rng` are
//! carried in `bundle.conf` (`DISKS`, `PORTS`, `NET`, `RNG`) and the disks' mount points in
//! `cmdline` (`disk=` options, as `oxv run` passes them).
//!
//! The console differs by VMM. `run.sh` and `oxv boot` use the kernel's split console
//! (`console=split`: app stdout, app stderr and the kernel log on three debugcon ports, stdin
//! framed on COM1), so the app's output reaches the terminal byte for byte, apart from the
//! kernel log, and the exit status can be read from the log's records (notes/protocol.md).
//! `run.sh` gets there with stock QEMU chardevs: `file` chardevs on `/dev/stdout` and
//! `/dev/stderr`, a file for the log, and a `pipe` chardev (two FIFOs) for COM1 fed by a
//! tiny framer. Firecracker has only a serial port, so its config leaves the console in the
//! kernel's plain layout, where everything (app output and kernel log) shares COM1.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use oxv_abi::cmdline::BootArgs;

mod disk_image;
pub mod firecracker;

use crate::cli::{BootBundleArgs, ImageArgs, parse_timeout};
use crate::error::CliError;
use crate::payload;
use crate::qemu::{Devices, DiskSpec, Machine, Network, PortForward};
use crate::run::{self, Boot};
use crate::setup::{self, Requirement};
use crate::size::MemSize;
use crate::workspace::Workspace;

/// The kernel's file name in a bundle.
pub const KERNEL_FILE: &str = "oxv-kernel";
/// The initramfs's file name in a bundle.
pub const INITRD_FILE: &str = "initramfs.cpio";
/// The root disk's file name in a `--disk-image` bundle.
pub const ROOT_DISK_FILE: &str = "rootfs.ext2";
/// The command line's file name in a bundle.
pub const CMDLINE_FILE: &str = "cmdline";
/// The VM settings' file name in a bundle.
pub const CONF_FILE: &str = "bundle.conf";
/// The QEMU boot script's file name in a bundle.
pub const RUN_FILE: &str = "run.sh";
/// The Firecracker config's file name in a bundle.
pub const FIRECRACKER_FILE: &str = "firecracker.json";

/// The bundle's boot script. It reads `bundle.conf` and `cmdline` at run time, so it is the
/// same text in every bundle.
pub const RUN_SH: &str = include_str!("bundle/run.sh");

/// The VM settings of a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleConf {
    /// Guest RAM.
    pub mem: MemSize,
    /// vCPUs.
    pub cpus: u32,
    /// Machine type.
    pub machine: Machine,
    /// Time limit in seconds, as given to `--timeout`.
    pub timeout: Option<String>,
    /// The initramfs's file name, or `None` when the root is a disk (`--disk-image`).
    pub initrd: Option<String>,
    /// The disks, in order (disk 0 is the guest's `/dev/vda`). Where the guest mounts them
    /// is in the command line (`disk=` options), which the kernel reads.
    pub disks: Vec<BundleDisk>,
    /// The network device, if any.
    pub net: Option<Network>,
    /// A virtio-rng device.
    pub rng: bool,
}

/// One disk of a bundle: a file in the bundle directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleDisk {
    /// The image's file name in the bundle (a plain name: letters, digits, `.`, `_`, `-`).
    pub file: String,
    /// Attached read-only.
    pub read_only: bool,
}

impl BundleConf {
    /// Default settings: no devices, the initramfs root.
    fn new(mem: MemSize, cpus: u32, machine: Machine) -> Self {
        BundleConf {
            mem,
            cpus,
            machine,
            timeout: None,
            initrd: Some(INITRD_FILE.into()),
            disks: Vec::new(),
            net: None,
            rng: false,
        }
    }

    /// The `bundle.conf` text: shell assignments of plain tokens (no quoting needed; lists
    /// are comma-separated).
    pub fn to_text(&self) -> String {
        let disks: Vec<String> = self
            .disks
            .iter()
            .map(|d| format!("{}{}", d.file, if d.read_only { ":ro" } else { "" }))
            .collect();
        let (net, ports) = match &self.net {
            None => (String::new(), Vec::new()),
            Some(Network::User(ports)) => (
                "user".to_string(),
                ports
                    .iter()
                    .map(|p| {
                        let proto = if p.udp { "udp" } else { "tcp" };
                        format!("{proto}:{}:{}", p.host, p.guest)
                    })
                    .collect(),
            ),
            Some(Network::Tap(name)) => (format!("tap:{name}"), Vec::new()),
        };
        format!(
            "# Written by `oxv image`; read by run.sh and `oxv boot`.\nMEM={}\nCPUS={}\nMACHINE={}\n\
             TIMEOUT={}\nINITRD={}\nDISKS={}\nNET={net}\nPORTS={}\nRNG={}\n",
            self.mem.qemu_arg(),
            self.cpus,
            self.machine,
            self.timeout.as_deref().unwrap_or(""),
            self.initrd.as_deref().unwrap_or(""),
            disks.join(","),
            ports.join(","),
            u8::from(self.rng),
        )
    }

    /// Parses `bundle.conf` text (comments and unknown keys are ignored; a bundle written
    /// before a key existed gets its default).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut conf = BundleConf::new(MemSize::DEFAULT, 1, Machine::Microvm);
        let mut net = String::new();
        let mut ports = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("not KEY=VALUE: {line:?}"));
            };
            let bad = |what: &str| format!("{key}={value}: {what}");
            let list = || value.split(',').filter(|s| !s.is_empty());
            match key {
                "MEM" => conf.mem = value.parse().map_err(|e| bad(&format!("{e}")))?,
                "CPUS" => {
                    conf.cpus = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=255).contains(n))
                        .ok_or_else(|| bad("expected 1-255"))?
                }
                "MACHINE" => conf.machine = Machine::from_str(value, true).map_err(|e| bad(&e))?,
                "TIMEOUT" if value.is_empty() => conf.timeout = None,
                "TIMEOUT" => {
                    parse_timeout(value).map_err(|e| bad(&e))?;
                    conf.timeout = Some(value.to_string());
                }
                "INITRD" if value.is_empty() => conf.initrd = None,
                "INITRD" if is_plain_name(value) => conf.initrd = Some(value.to_string()),
                "INITRD" => return Err(bad("not a file name in the bundle")),
                "DISKS" => {
                    conf.disks = list()
                        .map(|d| {
                            let (file, read_only) = match d.strip_suffix(":ro") {
                                Some(file) => (file, true),
                                None => (d, false),
                            };
                            if !is_plain_name(file) {
                                return Err(bad("not a file name in the bundle"));
                            }
                            Ok(BundleDisk {
                                file: file.to_string(),
                                read_only,
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                "NET" => net = value.to_string(),
                "PORTS" => {
                    ports = list()
                        .map(|p| {
                            let (proto, ports) = p.split_once(':').ok_or_else(|| bad(p))?;
                            format!("{ports}/{proto}")
                                .parse::<PortForward>()
                                .map_err(|e| bad(&e))
                        })
                        .collect::<Result<_, _>>()?
                }
                "RNG" => conf.rng = value == "1",
                _ => {}
            }
        }
        conf.net = match (net.as_str(), ports.is_empty()) {
            ("", true) => None,
            ("user", _) => Some(Network::User(ports)),
            (tap, true) if tap.starts_with("tap:") && is_plain_name(&tap[4..]) => {
                Some(Network::Tap(tap[4..].to_string()))
            }
            _ => {
                return Err(format!(
                    "NET={net}: expected user or tap:NAME (PORTS needs user)"
                ));
            }
        };
        Ok(conf)
    }

    /// The devices of `oxv boot` for a bundle in `dir`.
    fn devices(&self, dir: &Path) -> Devices {
        Devices {
            disks: self
                .disks
                .iter()
                .map(|d| DiskSpec {
                    image: absolute(&dir.join(&d.file)),
                    mount: None,
                    read_only: d.read_only,
                })
                .collect(),
            net: self.net.clone(),
            rng: self.rng,
        }
    }
}

/// Whether `name` is safe as a bare word in `bundle.conf` and `run.sh` (a file name in the
/// bundle, a tap device name).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Runs `oxv image`; returns the exit status.
pub fn image(args: ImageArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let run = &args.run;
    let verbose = run.verbose;
    let mut payload = payload::build(run, &ws)?;
    let mut devices =
        Devices::from_options(&run.disks, run.net.as_ref(), &run.ports).map_err(CliError::Usage)?;
    devices.rng = run.rng;
    if let Some(Network::Tap(name)) = &devices.net {
        if !is_plain_name(name) {
            return Err(CliError::Usage(format!(
                "--net tap:{name}: bundles take tap names of letters, digits, '.', '_', '-'"
            )));
        }
    }
    for disk in &devices.disks {
        if !disk.image.is_file() {
            return Err(CliError::Usage(format!(
                "--disk {}: no such image file",
                disk.image.display()
            )));
        }
        if args.disk_image && disk.mount.as_deref() == Some("/") {
            return Err(CliError::Usage(format!(
                "--disk {}:/ and --disk-image both give the root file system",
                disk.image.display()
            )));
        }
    }
    if args.disk_image {
        // The kernel mounts /sys there; on a read-write disk it could make it, but the
        // image should boot read-only too.
        payload.image.add_dir("/sys", 0o755)?;
    }
    setup::ensure(&ws, Requirement::RUN, verbose)?;
    let kernel = run::build_or_retry(&ws, verbose, |ws| ws.kernel(verbose))?;
    let mut body = run::app_cmdline(run.strace, verbose, &run.env, payload.argv.clone())?;
    if run.mem.is_some() && !args.disk_image {
        let file_bytes = payload.image.files().map(|(_, n)| n).sum();
        run::guest_memory(run.mem, &kernel, file_bytes)?;
    }
    let cpio = payload::write_cpio(&payload.image)?;
    let initrd_len = if args.disk_image {
        0
    } else {
        cpio.len() as u64
    };
    let mem = run::guest_memory(run.mem, &kernel, initrd_len)?;
    let mut conf = BundleConf::new(mem, run.cpus, run.machine);
    conf.timeout = run.timeout.map(|t| format!("{}", t.as_secs_f64()));
    conf.net = devices.net.clone();
    conf.rng = devices.rng;

    let dir = &args.output;
    let io = |what: &Path, e| CliError::io(format!("cannot write {}", what.display()), e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let write = |name: &str, bytes: &[u8], mode: u32| -> Result<(), CliError> {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(&path, e))
    };
    let kernel_bytes = std::fs::read(&kernel)
        .map_err(|e| CliError::io(format!("cannot read {}", kernel.display()), e))?;
    write(KERNEL_FILE, &kernel_bytes, 0o644)?;
    let root_size;
    if args.disk_image {
        let size = match args.disk_size {
            Some(s) => s.bytes(),
            None => disk_image::default_size(cpio.len() as u64),
        };
        disk_image::write(&dir.join(ROOT_DISK_FILE), &cpio, size)?;
        conf.initrd = None;
        conf.disks.push(BundleDisk {
            file: ROOT_DISK_FILE.into(),
            read_only: false,
        });
        body.options.push(("disk".into(), Some(b"/".to_vec())));
        root_size = format!("{} ext2 root disk {ROOT_DISK_FILE}", payload::mib(size));
    } else {
        write(INITRD_FILE, &cpio, 0o644)?;
        root_size = format!("{} initramfs", payload::mib(cpio.len() as u64));
    }
    // The user's disks are copied in: the bundle boots from its own files only.
    for disk in &devices.disks {
        let file = format!("disk{}.img", conf.disks.len());
        let to = dir.join(&file);
        std::fs::copy(&disk.image, &to).map_err(|e| io(&to, e))?;
        conf.disks.push(BundleDisk {
            file,
            read_only: disk.read_only,
        });
    }
    body.options.extend(devices.kernel_options());
    body.options.extend(run::user_kernel_options(run));
    body.check()
        .map_err(|e| CliError::Usage(format!("cannot pass these arguments to the guest: {e}")))?;
    write(
        CMDLINE_FILE,
        format!("{}\n", body.encode()).as_bytes(),
        0o644,
    )?;
    write(CONF_FILE, conf.to_text().as_bytes(), 0o644)?;
    write(RUN_FILE, RUN_SH.as_bytes(), 0o755)?;
    let (json, warnings) = firecracker::config(&body, &conf);
    write(FIRECRACKER_FILE, json.as_bytes(), 0o644)?;
    for warning in warnings {
        eprintln!("oxv: warning: {FIRECRACKER_FILE}: {warning}");
    }
    eprintln!(
        "oxv: bundle {}: {} ({} kernel, {root_size}, {} guest memory); boot it with \
         {}/{RUN_FILE} or `cargo oxv boot {}`",
        dir.display(),
        payload.program,
        payload::mib(kernel_bytes.len() as u64),
        mem.qemu_arg(),
        dir.display(),
        dir.display()
    );
    Ok(0)
}

/// Runs `oxv boot`; returns the exit status.
pub fn boot(args: BootBundleArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let dir = &args.bundle;
    let bad = |reason: String| CliError::Bundle {
        dir: dir.clone(),
        reason,
    };
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| bad(format!("cannot read {name}: {e}")))
    };
    let conf =
        BundleConf::parse(&read(CONF_FILE)?).map_err(|e| bad(format!("{CONF_FILE}: {e}")))?;
    let body = BootArgs::decode(read(CMDLINE_FILE)?.trim())
        .map_err(|e| bad(format!("{CMDLINE_FILE}: {e}")))?;
    let files = std::iter::once(KERNEL_FILE)
        .chain(conf.initrd.as_deref())
        .chain(conf.disks.iter().map(|d| d.file.as_str()));
    for name in files {
        if !dir.join(name).is_file() {
            return Err(bad(format!("{name} is missing")));
        }
    }
    let program = String::from_utf8_lossy(&body.argv[0]).into_owned();
    let timeout = match (args.timeout, &conf.timeout) {
        (Some(t), _) => Some(t),
        (None, Some(t)) => Some(parse_timeout(t).map_err(bad)?),
        (None, None) => None,
    };
    setup::ensure(&ws, &[Requirement::Qemu], args.verbose)?;
    let spec = Boot {
        kernel: absolute(&dir.join(KERNEL_FILE)),
        initrd: conf.initrd.as_ref().map(|f| absolute(&dir.join(f))),
        body,
        mem: conf.mem,
        cpus: conf.cpus,
        machine: conf.machine,
        accel: args.accel,
        timeout,
        verbose: args.verbose,
        program,
    };
    run::boot_with(&ws, &spec, &conf.devices(dir), None)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_round_trips_and_refuses_bad_values() {
        let conf = BundleConf {
            timeout: Some("2.5".into()),
            ..BundleConf::new("512M".parse().unwrap(), 2, Machine::Q35)
        };
        assert_eq!(BundleConf::parse(&conf.to_text()).unwrap(), conf);
        let none = BundleConf {
            timeout: None,
            ..conf.clone()
        };
        assert_eq!(BundleConf::parse(&none.to_text()).unwrap(), none);
        let devices = BundleConf {
            initrd: None,
            disks: vec![
                BundleDisk {
                    file: ROOT_DISK_FILE.into(),
                    read_only: false,
                },
                BundleDisk {
                    file: "disk1.img".into(),
                    read_only: true,
                },
            ],
            net: Some(Network::User(vec![
                "8080:80".parse().unwrap(),
                "53:5353/udp".parse().unwrap(),
            ])),
            rng: true,
            ..conf.clone()
        };
        let text = devices.to_text();
        assert!(
            text.contains("\nINITRD=\nDISKS=rootfs.ext2,disk1.img:ro\nNET=user\nPORTS=tcp:8080:80,udp:53:5353\nRNG=1\n"),
            "{text}"
        );
        assert_eq!(BundleConf::parse(&text).unwrap(), devices);
        let tap = BundleConf {
            net: Some(Network::Tap("tap0".into())),
            ..conf.clone()
        };
        assert_eq!(BundleConf::parse(&tap.to_text()).unwrap(), tap);
        // A bundle written before the device keys existed boots as it did.
        let old = BundleConf::parse("MEM=200M\nCPUS=1\nMACHINE=microvm\nTIMEOUT=\n").unwrap();
        assert_eq!(old.initrd.as_deref(), Some(INITRD_FILE));
        assert!(old.disks.is_empty() && old.net.is_none() && !old.rng);
        let dev = devices.devices(Path::new("/b"));
        assert_eq!(dev.disks[1].image, Path::new("/b/disk1.img"));
        assert!(dev.disks[1].read_only && dev.disks[0].mount.is_none() && dev.rng);
        for bad in [
            "MEM=lots",
            "CPUS=0",
            "MACHINE=pc99",
            "TIMEOUT=-1",
            "garbage",
            "DISKS=../x",
            "DISKS=a b",
            "INITRD=/etc/passwd",
            "NET=tap:a;b",
            "NET=bridge",
            "PORTS=tcp:1:2",
            "NET=user\nPORTS=sctp:1:2",
        ] {
            assert!(BundleConf::parse(bad).is_err(), "{bad}");
        }
        assert!(BundleConf::parse("# c\n\nOTHER=1\n").is_ok());
    }

    #[test]
    fn run_sh_reads_the_bundle_files_and_uses_the_split_console() {
        for needle in [
            CONF_FILE,
            CMDLINE_FILE,
            KERNEL_FILE,
            "$INITRD",
            "$DISKS",
            "$PORTS",
            "virtio-blk-device",
            "virtio-net-pci",
            "virtio-rng-device",
            "serial=oxv-disk",
            "console=split",
            "isa-debugcon,iobase=0xe9",
            "isa-debugcon,iobase=0xea",
            "isa-debugcon,iobase=0xeb",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-nodefaults -no-user-config -nographic -no-reboot",
            "oxv:exit status=",
        ] {
            assert!(RUN_SH.contains(needle), "{needle} not in run.sh");
        }
        assert!(RUN_SH.starts_with("#!/bin/sh\n"));
    }
}
