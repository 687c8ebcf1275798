//! The command line of `oxv`: subcommands, options and their help text.
//!
//! This is a public interface: every option is documented here, in `--help`, and parsed into
//! typed values ([`MemSize`], [`EnvVar`], [`FileMapping`], [`Duration`]) so that the rest of
//! the tool never sees raw strings. Values clap cannot check alone are rejected by their
//! `FromStr` with a message; clap then exits with status 2.

use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::accel::AccelChoice;
use crate::compat::Variant;
use crate::qemu::{DiskSpec, Machine, NetChoice, PortForward};
use crate::size::MemSize;
use crate::suite::Stage;

/// oxv: run unmodified static Linux x86_64 programs in a tiny unikernel VM (QEMU).
#[derive(Debug, Parser)]
#[command(name = "oxv", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Run `oxv <COMMAND> --help` for a command's options.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a Linux program in oxv under QEMU, with its stdin/stdout/stderr connected to ours.
    Run(RunArgs),
    /// Run all checks: fmt, clippy, unit tests, guest tests, compat suite; print a summary.
    Test(TestArgs),
    /// Run the compat suite: each compat-tests/*.c on the host and in oxv, outputs compared.
    Compat(CompatArgs),
    /// Benchmark oxv against a Linux guest in the same QEMU; writes target/oxv-bench/report.json.
    Bench(crate::bench::BenchArgs),
    /// Write a bundle that boots a program without cargo: kernel, initramfs, command line,
    /// run.sh (plain QEMU) and a Firecracker VM config.
    Image(ImageArgs),
    /// Boot a bundle written by `oxv image`, like `oxv run` does.
    Boot(BootBundleArgs),
}

const RUN_AFTER_HELP: &str = "\
The program is a Linux x86_64 ELF executable: static, static-PIE or dynamically linked. It
is placed in the guest's initramfs at its canonical host path, which is also argv[0]; the
guest's environment is exactly the --env entries given (none by default), its cwd is /.
A dynamically linked program brings its interpreter and every library it needs (searched
like ld.so does: RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache, default directories), at
their host paths with symlinks kept, plus /etc/nsswitch.conf (files only), /etc/passwd,
/etc/group, /etc/hosts and /etc/resolv.conf. Files it opens at run time (a language's
library directory, plugins) are not found automatically: add them with --dir or --file.
With --rootfs DIR, the image is DIR and PROGRAM is a path inside it.

Exit status:
  0-255  the program's exit status (128+N when it was killed by signal N)
  2      usage or input error, missing host requirement or failed build (nothing booted)
  101    the kernel panicked (message and symbolized backtrace on stderr)
  102    the VM stopped without reporting an exit (triple fault, QEMU failure)
  124    --timeout expired

Environment:
  OXV_KERNEL=PATH   boot this prebuilt kernel ELF instead of building crates/kernel

Examples:
  oxv run                                   build and run the bundled demo app
  oxv run ./hello
  oxv run /usr/bin/sqlite3 -version
  oxv run --dir /usr/lib/python3.11 --mem 512M python3 -c 'print(42)'
  oxv run --rootfs ./debian-root /usr/bin/lua5.4 -e 'print(1)'
  printf 'data' | oxv run --env LANG=C --timeout 10 -- ./cat-clone -n
  oxv run --file ./assets:/srv/assets --mem 512M --cpus 2 ./server";

/// Options of `oxv run`.
#[derive(Debug, Args)]
#[command(after_help = RUN_AFTER_HELP)]
pub struct RunArgs {
    /// Guest memory: a number with a K, M, G or T suffix (powers of 1024); a plain number is
    /// MiB. Default: 128M, or enough for a large image (twice its size plus 96M).
    #[arg(short, long, value_name = "SIZE")]
    pub mem: Option<MemSize>,

    /// Number of virtual CPUs (1-255).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub cpus: u32,

    /// Accelerator: `auto` uses KVM only if /dev/kvm opens and the CPU has vmx/svm, else TCG.
    #[arg(long, value_enum, value_name = "ACCEL", default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,

    /// QEMU machine type.
    #[arg(long, value_enum, value_name = "MACHINE", default_value_t = Machine::Microvm)]
    pub machine: Machine,

    /// Set an environment variable of the program (repeatable). Nothing else is passed.
    #[arg(short, long = "env", value_name = "K=V")]
    pub env: Vec<EnvVar>,

    /// Put a host file, or a directory tree, in the guest at GUEST (default: the same absolute
    /// path); parent directories are created (repeatable).
    #[arg(short, long = "file", value_name = "HOST[:GUEST]")]
    pub files: Vec<FileMapping>,

    /// Put a host directory tree in the guest at GUEST (default: the same absolute path);
    /// ELF files in it get their libraries too (repeatable).
    #[arg(short = 'd', long = "dir", value_name = "HOST[:GUEST]")]
    pub dirs: Vec<FileMapping>,

    /// Use this directory as the guest's root file system (an extracted container image, a
    /// debootstrap tree): every file under it goes in the image, and PROGRAM is a path
    /// inside it (or a name on its PATH).
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,

    /// Print the program's system calls, decoded, to stderr (the kernel's strace option).
    #[arg(long)]
    pub strace: bool,

    /// Show what oxv does: builds, accelerator, QEMU command line, kernel log, QEMU's stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// Stop the VM after SECS seconds (decimals allowed) and exit with status 124.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Attach a raw disk image as a virtio-blk disk (repeatable: /dev/vda, /dev/vdb... in
    /// order). With MOUNTPOINT the guest mounts it there; `:ro` attaches it read-only.
    #[arg(long = "disk", value_name = "IMG[:MOUNTPOINT][:ro]")]
    pub disks: Vec<DiskSpec>,

    /// Forward a host port to a guest port (TCP, or UDP with `/udp`; repeatable), through
    /// QEMU user networking.
    #[arg(short = 'p', long = "publish", value_name = "HOSTPORT:GUESTPORT[/udp]")]
    pub ports: Vec<PortForward>,

    /// The guest's network device: `none`, `user` (QEMU user networking: NAT, guest
    /// 10.0.2.15, gateway 10.0.2.2) or `tap:NAME` (an existing host tap device). Default:
    /// `user` when -p is given, else none.
    #[arg(long, value_name = "none|user|tap:NAME")]
    pub net: Option<NetChoice>,

    /// Attach a virtio-rng device; the kernel mixes 32 bytes from it into the seed of its
    /// random generator (with RDSEED/RDRAND and TSC jitter).
    #[arg(long)]
    pub rng: bool,

    /// Have the kernel check the network device at boot (an ARP request to 10.0.2.2; the
    /// answer is logged).
    #[arg(long, hide = true)]
    pub net_selftest: bool,
    /// Runs a kernel self-test at boot (`stack-overflow`: overflow a kernel stack onto its
    /// guard page); for tests.
    #[arg(long, hide = true, value_name = "NAME")]
    pub selftest: Option<String>,
    /// Boot the kernel at its link address instead of a random one (the kernel option
    /// `nokaslr`, as on Linux); e.g. to compare addresses across runs.
    #[arg(long)]
    pub nokaslr: bool,

    /// Append an option to the kernel command line, `KEY` or `KEY=VALUE` (repeatable; the
    /// last of a key wins): e.g. `nounlockednet` (socket calls under the kernel lock) or
    /// `nokaslr`, to compare kernel behaviours. KEY is letters, digits, `_`, `-`, `.`;
    /// VALUE is printable ASCII without spaces.
    #[arg(long = "kernel-opt", value_name = "OPT")]
    pub kernel_opts: Vec<KernelOption>,

    /// The program (a host path) and its arguments; everything after PROGRAM goes to it.
    /// Without PROGRAM, the demo app (apps/demo) is built and run.
    #[arg(value_name = "PROGRAM [ARGS]", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// Options of `oxv image`.
#[derive(Debug, Args)]
#[command(after_help = "\
The bundle directory gets:
  oxv-kernel        the kernel ELF (PVH)
  initramfs.cpio    the program and its files (as `oxv run` would build them)
  rootfs.ext2       instead, with --disk-image: the same files on an ext2 disk, the root
                    file system, read-write: what the app writes outside /tmp persists
  diskN.img         copies of the --disk images
  cmdline           the kernel command line: options, environment, argv, disk mount points
  bundle.conf       memory, CPUs, machine, timeout, disks, network, rng (shell variables)
  run.sh            boots it with plain QEMU: the app's stdin, stdout and stderr are the
                    script's, and its exit status is the app's
  firecracker.json  a Firecracker VM config (run `firecracker --no-api --config-file
                    firecracker.json` in the bundle directory; Firecracker needs KVM)
`oxv boot DIR` boots a bundle the way `oxv run` boots a program. Firecracker has no user
networking, port forwarding or q35 machine: those are left out of firecracker.json with a
warning.

Examples:
  oxv image -o sqlite-bundle -- /usr/bin/sqlite3 /tmp/db 'select 1;'
  sqlite-bundle/run.sh
  oxv image -o notes --disk-image -- /usr/bin/sqlite3 /notes.db 'create table t(x);'")]
pub struct ImageArgs {
    /// The bundle directory to write (created; files in it are replaced).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,

    /// Put the root file system on an ext2 disk image (rootfs.ext2, attached read-write as
    /// disk 0) instead of an initramfs: files the app writes (outside /tmp, a tmpfs) persist
    /// across boots of the bundle.
    #[arg(long)]
    pub disk_image: bool,

    /// The size of the --disk-image disk (K, M, G suffixes; a plain number is MiB). Default:
    /// the files plus a quarter, plus 64M free.
    #[arg(long, value_name = "SIZE", requires = "disk_image")]
    pub disk_size: Option<MemSize>,

    /// What to put in the bundle: the same options and PROGRAM [ARGS] as `oxv run`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of `oxv boot`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: as for `oxv run`.")]
pub struct BootBundleArgs {
    /// The bundle directory (written by `oxv image`).
    #[arg(value_name = "DIR")]
    pub bundle: PathBuf,

    /// Accelerator: `auto` uses KVM only if /dev/kvm opens and the CPU has vmx/svm, else TCG.
    #[arg(long, value_enum, value_name = "ACCEL", default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,

    /// Stop the VM after SECS seconds (default: the bundle's timeout, if it has one).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Show what oxv does: accelerator, QEMU command line, kernel log.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Options of `oxv test`.
#[derive(Debug, Args)]
#[command(
    after_help = "Stages, in order: fmt, clippy, unit, guest, compat (and apps with --apps).
Exit status: 0 when every stage passed, 1 otherwise, 2 on a setup error."
)]
pub struct TestArgs {
    /// Skip the stages that boot VMs (guest, compat): fmt, clippy and unit tests only.
    #[arg(long, conflicts_with = "only")]
    pub quick: bool,

    /// Also run the app tests (slow): Debian programs (busybox, sqlite3, lua, python3) and a
    /// dynamically linked C program in oxv, installed with apt when missing.
    #[arg(long, conflicts_with = "only")]
    pub apps: bool,

    /// Also run a 2-minute syscall fuzzing campaign (fuzz/run.sh; needs g++ for libFuzzer).
    #[arg(long, conflicts_with = "only")]
    pub fuzz: bool,

    /// Run only this stage.
    #[arg(long, value_enum, value_name = "STAGE")]
    pub only: Option<Stage>,
}

/// Options of `oxv compat`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each compat-tests/NAME.c is built with gcc -static, gcc -static-pie and
musl-gcc -static into target/compat/, then run on the host and in oxv with the same argv,
environment, cwd (/) and stdin; both must pass, and the compared outputs must be identical.
Header comments in the .c file configure a test: oxv-args, oxv-env, oxv-stdin, oxv-file,
oxv-exit, oxv-compare (see compat-tests/README.md or crates/cli/src/compat/header.rs).
The last line printed is `N passed, M failed`; exit status 1 if any failed."
)]
pub struct CompatArgs {
    /// Only tests whose name contains FILTER.
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,

    /// Only these build variants (repeatable; default: all).
    #[arg(long = "variant", value_enum, value_name = "VARIANT")]
    pub variants: Vec<Variant>,

    /// How many tests run at once.
    #[arg(short, long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,

    /// Per-run time limit in seconds (host and oxv runs alike).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// On failure, also show the full stderr of both runs.
    #[arg(short, long)]
    pub verbose: bool,

    /// Virtual CPUs of each oxv run (the host run uses the host's CPUs).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub cpus: u32,
}

/// `--env K=V`: one environment entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The name (non-empty, no `=`).
    pub name: String,
    /// The value (may contain `=`).
    pub value: String,
}

impl FromStr for EnvVar {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok(EnvVar {
                name: name.to_string(),
                value: value.to_string(),
            }),
            Some(_) => Err("the variable name is empty (expected K=V)".into()),
            None => Err(format!(
                "expected K=V, got {s:?} (the host environment is never passed implicitly)"
            )),
        }
    }
}

/// `--kernel-opt KEY[=VALUE]`: one option for the kernel command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelOption {
    /// The key: ASCII letters, digits, `_`, `-`, `.`; not one `oxv` sets itself.
    pub key: String,
    /// The value after the first `=`, if any: printable ASCII, no spaces.
    pub value: Option<String>,
}

/// Keys `oxv` owns on the command line: the app's environment and argv, and the options
/// `oxv run` derives from the host terminal (a user's value would be dropped for its own).
const RESERVED_KERNEL_KEYS: &[(&str, &str)] = &[
    (oxv_abi::cmdline::ENV_KEY, "use --env"),
    ("console", "oxv connects the console itself"),
    ("tty", "oxv sets it from the host terminal"),
    ("winsize", "oxv sets it from the host terminal"),
    ("tsc_khz", "oxv sets it from the host under TCG"),
];

impl KernelOption {
    /// The `(key, value)` pair as the boot command line holds it.
    pub fn to_cmdline(&self) -> (String, Option<Vec<u8>>) {
        (
            self.key.clone(),
            self.value.as_ref().map(|v| v.clone().into_bytes()),
        )
    }
}

impl FromStr for KernelOption {
    type Err = String;

    /// The kernel splits its command line at whitespace and options at the first `=`; `oxv`
    /// percent-encodes what it passes, so any byte would survive, but a key outside
    /// `[A-Za-z0-9_.-]` or a value with spaces or control bytes is almost surely a quoting
    /// mistake, so it is refused rather than passed on.
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) = match s.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (s, None),
        };
        if key.is_empty() {
            return Err(format!("expected KEY or KEY=VALUE, got {s:?} (empty key)"));
        }
        if let Some(bad) = key
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(format!(
                "the key {key:?} has {bad:?}: keys are letters, digits, `_`, `-` and `.`"
            ));
        }
        if key.starts_with('-') {
            return Err(format!(
                "the key {key:?} starts with `-` (`--` ends the kernel options)"
            ));
        }
        if let Some((_, why)) = RESERVED_KERNEL_KEYS.iter().find(|(k, _)| *k == key) {
            return Err(format!("`{key}` is set by oxv: {why}"));
        }
        if let Some(bad) = value.and_then(|v| v.chars().find(|c| !c.is_ascii_graphic())) {
            return Err(format!(
                "the value of {key} has {bad:?}: values are printable ASCII without spaces"
            ));
        }
        Ok(KernelOption {
            key: key.to_string(),
            value: value.map(str::to_string),
        })
    }
}

/// `--file HOST[:GUEST]`: a host path and where the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMapping {
    /// The host file or directory.
    pub host: PathBuf,
    /// The absolute guest path, if given.
    pub guest: Option<String>,
}

impl FromStr for FileMapping {
    type Err = String;

    /// The guest part is what follows the last `:` when it is an absolute path, so host paths
    /// containing `:` still work (`a:b` is the host path `a:b`; `a:b:/g` maps `a:b` to `/g`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (host, guest) = match s.rsplit_once(':') {
            Some((host, guest)) if guest.starts_with('/') && !host.is_empty() => {
                (host, Some(guest.to_string()))
            }
            _ => (s, None),
        };
        if host.is_empty() {
            return Err("the host path is empty (expected HOST[:GUEST])".into());
        }
        Ok(FileMapping {
            host: host.into(),
            guest,
        })
    }
}

/// A positive number of seconds, decimals allowed (`0.5`, `60`).
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {s:?}"))?;
    if !(secs > 0.0 && secs <= 1e9) {
        return Err("the timeout must be a positive number of seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("oxv").chain(args.iter().copied()))
    }

    fn run(args: &[&str]) -> RunArgs {
        match parse(args).expect("valid arguments").command {
            Command::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults() {
        let r = run(&["run", "./prog"]);
        assert_eq!(r.mem, None);
        assert!(r.dirs.is_empty() && r.rootfs.is_none());
        assert_eq!(
            (r.cpus, r.accel, r.machine),
            (1, AccelChoice::Auto, Machine::Microvm)
        );
        assert!(r.env.is_empty() && r.files.is_empty() && !r.strace && !r.verbose);
        assert_eq!(r.timeout, None);
        assert_eq!(r.command, ["./prog"]);
        assert!(run(&["run"]).command.is_empty());
    }

    #[test]
    fn everything_after_the_program_belongs_to_it() {
        let r = run(&["run", "--strace", "./prog", "--verbose", "-x", "a b", "--"]);
        assert!(r.strace && !r.verbose);
        assert_eq!(r.command, ["./prog", "--verbose", "-x", "a b", "--"]);
        let r = run(&["run", "--", "-weird-name", "x"]);
        assert_eq!(r.command, ["-weird-name", "x"]);
    }

    #[test]
    fn run_options_parse() {
        let r = run(&[
            "run",
            "-m",
            "1G",
            "--cpus",
            "4",
            "--accel",
            "tcg",
            "--machine",
            "q35",
            "-e",
            "A=1",
            "--env",
            "B=x=y",
            "-f",
            "/h:/g",
            "--file",
            "/only",
            "--timeout",
            "2.5",
            "-v",
            "p",
        ]);
        assert_eq!(r.mem.map(MemSize::bytes), Some(1 << 30));
        assert_eq!(
            (r.cpus, r.accel, r.machine),
            (4, AccelChoice::Tcg, Machine::Q35)
        );
        assert_eq!(
            r.env[1],
            EnvVar {
                name: "B".into(),
                value: "x=y".into()
            }
        );
        assert_eq!(
            r.files[0],
            FileMapping {
                host: "/h".into(),
                guest: Some("/g".into())
            }
        );
        assert_eq!(
            r.files[1],
            FileMapping {
                host: "/only".into(),
                guest: None
            }
        );
        assert_eq!(r.timeout, Some(Duration::from_millis(2500)));
        assert!(r.verbose);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["run", "--mem", "12Q", "p"][..],
            &["run", "--mem", "0", "p"],
            &["run", "--cpus", "0", "p"],
            &["run", "--accel", "hvf", "p"],
            &["run", "--env", "NOVALUE", "p"],
            &["run", "--env", "=v", "p"],
            &["run", "--timeout", "-1", "p"],
            &["run", "--timeout", "soon", "p"],
            &["run", "--kernel-opt", "", "p"],
            &["run", "--kernel-opt", "a b", "p"],
            &["run", "--kernel-opt", "=v", "p"],
            &["run", "--bogus", "p"],
            &["test", "--only", "nothing"],
            &["test", "--quick", "--only", "fmt"],
        ] {
            let err = parse(args).expect_err(&format!("{args:?} must be refused"));
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn kernel_options_are_key_or_key_value_and_repeatable() {
        let r = run(&[
            "run",
            "--kernel-opt",
            "nounlockednet",
            "--kernel-opt",
            "selftest=a=b,c:/d",
            "p",
        ]);
        assert_eq!(
            r.kernel_opts,
            [
                KernelOption {
                    key: "nounlockednet".into(),
                    value: None
                },
                KernelOption {
                    key: "selftest".into(),
                    value: Some("a=b,c:/d".into())
                }
            ]
        );
        assert_eq!(
            r.kernel_opts[1].to_cmdline(),
            ("selftest".to_string(), Some(b"a=b,c:/d".to_vec()))
        );
        assert!(run(&["run", "p"]).kernel_opts.is_empty());
        let o = |s: &str| s.parse::<KernelOption>();
        assert_eq!(o("k=").unwrap().value.as_deref(), Some(""));
        for bad in [
            "",
            "=v",
            "a b",
            "k=a b",
            "k=\tx",
            "k=\u{e9}",
            "a%b",
            "--",
            "-x",
            "env=A=1",
            "console=serial",
            "tsc_khz=1",
            "k\n",
        ] {
            assert!(o(bad).is_err(), "{bad:?} must be refused");
        }
        let err = o("env=A=1").unwrap_err();
        assert!(err.contains("--env"), "{err}");
    }

    #[test]
    fn file_mappings_split_at_the_last_colon_before_an_absolute_path() {
        let m = |s: &str| s.parse::<FileMapping>();
        assert_eq!(
            m("a:b").unwrap(),
            FileMapping {
                host: "a:b".into(),
                guest: None
            }
        );
        assert_eq!(
            m("a:b:/g/h").unwrap(),
            FileMapping {
                host: "a:b".into(),
                guest: Some("/g/h".into())
            }
        );
        assert_eq!(
            m("rel/x:/abs").unwrap(),
            FileMapping {
                host: "rel/x".into(),
                guest: Some("/abs".into())
            }
        );
        assert!(m("").is_err());
        assert!(m(":/g").is_ok_and(|f| f.guest.is_none()));
    }

    #[test]
    fn image_takes_run_options_and_boot_takes_a_directory() {
        let Command::Image(i) = parse(&[
            "image", "-o", "out", "--mem", "256M", "--dir", "/d:/g", "--rootfs", "/r", "--",
            "/bin/p", "-x",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(i.output, PathBuf::from("out"));
        assert_eq!(i.run.mem.map(MemSize::bytes), Some(256 << 20));
        assert_eq!(i.run.dirs[0].guest.as_deref(), Some("/g"));
        assert_eq!(i.run.rootfs, Some(PathBuf::from("/r")));
        assert_eq!(i.run.command, ["/bin/p", "-x"]);
        assert!(parse(&["image", "/bin/p"]).is_err(), "-o is required");
        assert!(!i.disk_image && i.disk_size.is_none());
        let Command::Image(i) = parse(&[
            "image",
            "-o",
            "o",
            "--disk-image",
            "--disk-size",
            "1G",
            "-p",
            "80:80",
            "--rng",
            "/p",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert!(i.disk_image && i.run.rng && i.run.ports.len() == 1);
        assert_eq!(i.disk_size.map(MemSize::bytes), Some(1 << 30));
        assert!(
            parse(&["image", "-o", "o", "--disk-size", "1G", "/p"]).is_err(),
            "--disk-size needs --disk-image"
        );
        let Command::Boot(b) = parse(&["boot", "--timeout", "3", "dir"]).unwrap().command else {
            panic!()
        };
        assert_eq!(
            (b.bundle, b.timeout),
            (PathBuf::from("dir"), Some(Duration::from_secs(3)))
        );
        let Command::Test(t) = parse(&["test", "--apps"]).unwrap().command else {
            panic!()
        };
        assert!(t.apps && !t.quick && t.only.is_none());
        assert!(parse(&["test", "--apps", "--only", "fmt"]).is_err());
        assert!(parse(&["test", "--only", "apps"]).is_ok());
    }

    #[test]
    fn test_and_compat_options() {
        let Command::Test(t) = parse(&["test", "--only", "compat"]).unwrap().command else {
            panic!()
        };
        assert_eq!(t.only, Some(Stage::Compat));
        let Command::Compat(c) = parse(&["compat", "fork", "--variant", "musl", "-j", "1"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(
            (c.filter.as_deref(), c.variants.as_slice(), c.jobs),
            (Some("fork"), &[Variant::Musl][..], 1)
        );
        assert_eq!((c.timeout, c.cpus), (Duration::from_secs(60), 1));
        let Command::Compat(c) = parse(&["compat", "--cpus", "2"]).unwrap().command else {
            panic!()
        };
        assert_eq!(c.cpus, 2);
        assert!(parse(&["compat", "--cpus", "0"]).is_err());
    }
}
