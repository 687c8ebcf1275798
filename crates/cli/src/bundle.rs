//! Bundles: a directory that boots one program without cargo or the oxv source tree
//! (`oxv image` writes one, `oxv boot` and the bundle's own `run.sh` boot it).
//!
//! | file               | what                                                            |
//! |--------------------|-----------------------------------------------------------------|
//! | `oxv-kernel`       | the kernel ELF (PVH entry)                                      |
//! | `initramfs.cpio`   | the image, as `oxv run` builds it                               |
//! | `cmdline`          | the app's part of the kernel command line (options, env, argv)  |
//! | `bundle.conf`      | `MEM`, `CPUS`, `MACHINE`, `TIMEOUT` as shell assignments         |
//! | `run.sh`           | plain QEMU, [`RUN_SH`]                                          |
//! | `firecracker.json` | a Firecracker VM config                                         |
//!
//! The console differs by VMM. `run.sh` and `oxv boot` use the kernel's split console
//! (`console=split`: app stdout, app stderr and the kernel log on three debugcon ports, stdin
//! framed on COM1), so the app's output reaches the terminal byte for byte, apart from the
//! kernel log, and the exit status can be read from the log's records (notes/protocol.md).
//! `run.sh` gets there with stock QEMU chardevs: `file` chardevs on `/dev/stdout` and
//! `/dev/stderr`, a file for the log, and a `pipe` chardev (two FIFOs) for COM1 fed by a
//! tiny framer. Firecracker has only a serial port, so its config leaves the console in the
//! kernel's plain layout, where everything (app output and kernel log) shares COM1.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use oxv_abi::cmdline::BootArgs;

use crate::cli::{BootBundleArgs, ImageArgs, parse_timeout};
use crate::error::CliError;
use crate::payload;
use crate::qemu::Machine;
use crate::run::{self, Boot};
use crate::setup::{self, Requirement};
use crate::size::MemSize;
use crate::workspace::Workspace;

/// The kernel's file name in a bundle.
pub const KERNEL_FILE: &str = "oxv-kernel";
/// The initramfs's file name in a bundle.
pub const INITRD_FILE: &str = "initramfs.cpio";
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
}

impl BundleConf {
    /// The `bundle.conf` text: shell assignments of plain tokens (no quoting needed).
    pub fn to_text(&self) -> String {
        format!(
            "# Written by `oxv image`; read by run.sh and `oxv boot`.\nMEM={}\nCPUS={}\nMACHINE={}\nTIMEOUT={}\n",
            self.mem.qemu_arg(),
            self.cpus,
            self.machine,
            self.timeout.as_deref().unwrap_or("")
        )
    }

    /// Parses `bundle.conf` text (comments and unknown keys are ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut conf = BundleConf {
            mem: MemSize::DEFAULT,
            cpus: 1,
            machine: Machine::Microvm,
            timeout: None,
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("not KEY=VALUE: {line:?}"));
            };
            let bad = |what: &str| format!("{key}={value}: {what}");
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
                _ => {}
            }
        }
        Ok(conf)
    }
}

/// Runs `oxv image`; returns the exit status.
pub fn image(args: ImageArgs) -> Result<u8, CliError> {
    let ws = Workspace::locate();
    let run = &args.run;
    let verbose = run.verbose;
    let payload = payload::build(run, &ws)?;
    if !run.disks.is_empty() || !run.ports.is_empty() || run.net.is_some() || run.rng {
        return Err(CliError::Usage(
            "bundles do not carry --disk, --publish, --net or --rng yet (run.sh has no devices \
             but the console); use `oxv run` for those"
                .into(),
        ));
    }
    setup::ensure(&ws, Requirement::RUN, verbose)?;
    let kernel = run::build_or_retry(&ws, verbose, |ws| ws.kernel(verbose))?;
    let body = run::app_cmdline(run.strace, verbose, &run.env, payload.argv.clone())?;
    if run.mem.is_some() {
        let file_bytes = payload.image.files().map(|(_, n)| n).sum();
        run::guest_memory(run.mem, &kernel, file_bytes)?;
    }
    let cpio = payload::write_cpio(&payload.image)?;
    let mem = run::guest_memory(run.mem, &kernel, cpio.len() as u64)?;
    let conf = BundleConf {
        mem,
        cpus: run.cpus,
        machine: run.machine,
        timeout: run.timeout.map(|t| format!("{}", t.as_secs_f64())),
    };

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
    write(INITRD_FILE, &cpio, 0o644)?;
    write(
        CMDLINE_FILE,
        format!("{}\n", body.encode()).as_bytes(),
        0o644,
    )?;
    write(CONF_FILE, conf.to_text().as_bytes(), 0o644)?;
    write(RUN_FILE, RUN_SH.as_bytes(), 0o755)?;
    write(
        FIRECRACKER_FILE,
        firecracker_config(&body, &conf).as_bytes(),
        0o644,
    )?;
    eprintln!(
        "oxv: bundle {}: {} ({} kernel, {} initramfs, {} guest memory); boot it with {}/{RUN_FILE} \
         or `cargo oxv boot {}`",
        dir.display(),
        payload.program,
        payload::mib(kernel_bytes.len() as u64),
        payload::mib(cpio.len() as u64),
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
    for name in [KERNEL_FILE, INITRD_FILE] {
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
        initrd: absolute(&dir.join(INITRD_FILE)),
        body,
        mem: conf.mem,
        cpus: conf.cpus,
        machine: conf.machine,
        accel: args.accel,
        timeout,
        verbose: args.verbose,
        program,
    };
    run::boot(&ws, &spec, None)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The Firecracker VM config: paths relative to the bundle directory (run Firecracker
/// there), the plain console (Firecracker has a serial port and nothing else).
pub fn firecracker_config(body: &BootArgs, conf: &BundleConf) -> String {
    let mut out = String::new();
    let mem_mib = conf.mem.bytes().div_ceil(1 << 20);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{{\n  \"boot-source\": {{\n    \"kernel_image_path\": {},\n    \"initrd_path\": {},\n    \
         \"boot_args\": {}\n  }},\n  \"drives\": [],\n  \"machine-config\": {{\n    \
         \"vcpu_count\": {},\n    \"mem_size_mib\": {mem_mib},\n    \"smt\": false\n  }}\n}}\n",
        json_string(KERNEL_FILE),
        json_string(INITRD_FILE),
        json_string(&body.encode()),
        conf.cpus,
    );
    out
}

/// A JSON string literal (RFC 8259, section 7).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_round_trips_and_refuses_bad_values() {
        let conf = BundleConf {
            mem: "512M".parse().unwrap(),
            cpus: 2,
            machine: Machine::Q35,
            timeout: Some("2.5".into()),
        };
        assert_eq!(BundleConf::parse(&conf.to_text()).unwrap(), conf);
        let none = BundleConf {
            timeout: None,
            ..conf.clone()
        };
        assert_eq!(BundleConf::parse(&none.to_text()).unwrap(), none);
        for bad in [
            "MEM=lots",
            "CPUS=0",
            "MACHINE=pc99",
            "TIMEOUT=-1",
            "garbage",
        ] {
            assert!(BundleConf::parse(bad).is_err(), "{bad}");
        }
        assert!(BundleConf::parse("# c\n\nOTHER=1\n").is_ok());
    }

    #[test]
    fn firecracker_config_is_json_with_the_plain_console() {
        let mut body = BootArgs::new(vec![b"/bin/app".to_vec(), b"a \"q\" \\".to_vec()]);
        body.env = vec![b"K=V".to_vec()];
        let conf = BundleConf::parse("MEM=200M\nCPUS=3").unwrap();
        let json = firecracker_config(&body, &conf);
        assert!(json.contains("\"vcpu_count\": 3"), "{json}");
        assert!(json.contains("\"mem_size_mib\": 200"), "{json}");
        assert!(
            json.contains("\"kernel_image_path\": \"oxv-kernel\""),
            "{json}"
        );
        assert!(!json.contains("console"), "{json}");
        // The boot_args string decodes back to the same command line.
        let start = json.find("\"boot_args\": \"").unwrap() + 14;
        let end = start + json[start..].find("\"\n").unwrap();
        let args = json[start..end].replace("\\\\", "\\");
        assert_eq!(BootArgs::decode(&args).unwrap(), body);
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn run_sh_reads_the_bundle_files_and_uses_the_split_console() {
        for needle in [
            CONF_FILE,
            CMDLINE_FILE,
            KERNEL_FILE,
            INITRD_FILE,
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
