//! The QEMU command line for one oxv VM (`notes/protocol.md`, "Devices / channels").
//!
//! This module only builds arguments; `vm` spawns QEMU and moves the bytes. The VM has no
//! default devices (`-nodefaults`), no display, and exactly these channels, each a QEMU
//! chardev connected as a client to a Unix socket that `oxv` listens on:
//!
//! | chardev  | device                                   | carries                        |
//! |----------|------------------------------------------|--------------------------------|
//! | `com1`   | COM1 16550 (`-serial chardev:com1`)      | framed stdin in, early log out |
//! | `stdout` | `isa-debugcon` at port 0xe9              | app stdout                     |
//! | `stderr` | `isa-debugcon` at port 0xea              | app stderr                     |
//! | `klog`   | `isa-debugcon` at port 0xeb              | kernel log and control records |
//!
//! plus `isa-debug-exit` at 0xf4, through which the kernel powers off.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::accel::Accel;
use crate::size::MemSize;

/// The QEMU binary `oxv` runs.
pub const QEMU: &str = "qemu-system-x86_64";

/// The machine type (`--machine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Machine {
    /// QEMU's minimal machine: no PCI, no firmware to speak of; boots in milliseconds.
    Microvm,
    /// A modern PC (PCIe, AHCI, SeaBIOS); slower to boot, closer to real hardware.
    Q35,
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Machine::Microvm => "microvm",
            Machine::Q35 => "q35",
        })
    }
}

/// One of the four byte channels between `oxv` and the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// COM1: framed stdin to the guest; early kernel messages from it.
    Com1,
    /// App stdout (debugcon 0xe9).
    Stdout,
    /// App stderr (debugcon 0xea).
    Stderr,
    /// Kernel log and control records (debugcon 0xeb).
    Klog,
}

impl Channel {
    /// All channels, in a fixed order.
    pub const ALL: [Channel; 4] = [
        Channel::Com1,
        Channel::Stdout,
        Channel::Stderr,
        Channel::Klog,
    ];

    /// The chardev id, also used as the socket's file name.
    pub fn id(self) -> &'static str {
        match self {
            Channel::Com1 => "com1",
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
            Channel::Klog => "klog",
        }
    }

    /// The debugcon port, for the output-only channels.
    fn debugcon_port(self) -> Option<&'static str> {
        match self {
            Channel::Com1 => None,
            Channel::Stdout => Some("0xe9"),
            Channel::Stderr => Some("0xea"),
            Channel::Klog => Some("0xeb"),
        }
    }
}

/// Everything that goes into one QEMU command line.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Machine type.
    pub machine: Machine,
    /// Accelerator.
    pub accel: Accel,
    /// Guest RAM.
    pub mem: MemSize,
    /// Number of vCPUs.
    pub cpus: u32,
    /// The kernel ELF (PVH).
    pub kernel: PathBuf,
    /// The initramfs (cpio newc).
    pub initrd: PathBuf,
    /// The kernel command line.
    pub cmdline: String,
    /// The directory holding the channel sockets (`<dir>/<channel id>`).
    pub socket_dir: PathBuf,
}

impl VmConfig {
    /// The Unix socket path of `channel`.
    pub fn socket_path(&self, channel: Channel) -> PathBuf {
        self.socket_dir.join(channel.id())
    }

    /// QEMU's arguments (without the program name).
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["-M", &self.machine.to_string()]);
        push(&self.accel.qemu_args());
        push(&["-m", &self.mem.qemu_arg(), "-smp", &self.cpus.to_string()]);
        push(&["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"]);
        push(&["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        for channel in Channel::ALL {
            let mut chardev = OsString::from(format!("socket,id={},path=", channel.id()));
            chardev.push(escape_opt(self.socket_path(channel).as_os_str()));
            args.push("-chardev".into());
            args.push(chardev);
            let device = match channel.debugcon_port() {
                None => ["-serial".to_string(), format!("chardev:{}", channel.id())],
                Some(port) => [
                    "-device".to_string(),
                    format!("isa-debugcon,iobase={port},chardev={}", channel.id()),
                ],
            };
            args.extend(device.map(OsString::from));
        }
        // -kernel, -initrd and -append take their value verbatim (no option-list parsing).
        args.push("-kernel".into());
        args.push(self.kernel.clone().into_os_string());
        args.push("-initrd".into());
        args.push(self.initrd.clone().into_os_string());
        args.push("-append".into());
        args.push(self.cmdline.clone().into());
        args
    }
}

/// Escapes a value for a QEMU option list (`a=b,c=d`), where a literal comma is doubled.
fn escape_opt(value: &OsStr) -> OsString {
    let mut out = Vec::with_capacity(value.len());
    for &b in value.as_bytes() {
        out.push(b);
        if b == b',' {
            out.push(b',');
        }
    }
    OsString::from_vec(out)
}

/// Shell-quotes an argument list for `--verbose` display (not for execution).
pub fn display_command(program: &str, args: &[OsString]) -> String {
    let mut line = program.to_string();
    for arg in args {
        line.push(' ');
        let s = arg.to_string_lossy();
        if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,.:/@%+".contains(&b))
        {
            line.push_str(&s);
        } else {
            line.push('\'');
            line.push_str(&s.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}

/// Whether `path` fits in a Unix socket address (108 bytes including the NUL on Linux).
pub fn fits_sockaddr(path: &Path) -> bool {
    path.as_os_str().len() < 104
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VmConfig {
        VmConfig {
            machine: Machine::Microvm,
            accel: Accel::Tcg,
            mem: MemSize::DEFAULT,
            cpus: 2,
            kernel: "/k/oxv-kernel".into(),
            initrd: "/t/initramfs.cpio".into(),
            cmdline: "console=split -- /bin/x a%20b".into(),
            socket_dir: "/t/s,x".into(),
        }
    }

    fn joined(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn command_line_matches_the_protocol() {
        let line = joined(&config().args());
        for expected in [
            "-M microvm -accel tcg -cpu max -m 128M -smp 2",
            "-nodefaults -no-user-config -nographic -no-reboot",
            "-device isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-chardev socket,id=com1,path=/t/s,,x/com1 -serial chardev:com1",
            "-chardev socket,id=stdout,path=/t/s,,x/stdout -device isa-debugcon,iobase=0xe9,chardev=stdout",
            "-chardev socket,id=stderr,path=/t/s,,x/stderr -device isa-debugcon,iobase=0xea,chardev=stderr",
            "-chardev socket,id=klog,path=/t/s,,x/klog -device isa-debugcon,iobase=0xeb,chardev=klog",
            "-kernel /k/oxv-kernel -initrd /t/initramfs.cpio",
        ] {
            assert!(line.contains(expected), "{expected:?} not in {line:?}");
        }
        // The command line is one argument, passed verbatim.
        let args = config().args();
        assert_eq!(args.last().unwrap(), "console=split -- /bin/x a%20b");
    }

    #[test]
    fn kvm_and_q35_change_only_their_arguments() {
        let mut c = config();
        c.accel = Accel::Kvm;
        c.machine = Machine::Q35;
        let line = joined(&c.args());
        assert!(line.starts_with("-M q35 -accel kvm -cpu host "), "{line}");
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let args: Vec<OsString> = vec!["-append".into(), "a b".into(), "it's".into(), "".into()];
        assert_eq!(display_command("q", &args), r"q -append 'a b' 'it'\''s' ''");
    }
}
