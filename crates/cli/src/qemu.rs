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
//!
//! ## Disks and network ([`Devices`])
//!
//! Each `--disk IMG[:MOUNTPOINT][:ro]` becomes a raw `-drive` (`readonly=on` for `:ro`) and a
//! virtio-blk device whose serial number is `oxv-disk<N>` (N counts from 0 in command-line
//! order): the kernel orders its disks by that serial, so disk N is `/dev/vd<a+N>` whatever
//! bus order the machine gives. The kernel learns mount points from one option per disk, in
//! the same order ([`Devices::kernel_options`]):
//!
//! ```text
//! disk=/mnt      disk N is mounted on /mnt (read-only when the device is: `:ro`)
//! disk           disk N is attached but not mounted
//! ```
//!
//! The network is one virtio-net device on a QEMU `-netdev`: `user` (slirp NAT: guest
//! 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3) with a `hostfwd` per `-p HOSTPORT:GUESTPORT`
//! (all host addresses, like `docker -p`), or `tap` on an existing host tap device.
//!
//! On `microvm` the devices are `virtio-*-device` on virtio-mmio transports, switched to the
//! modern (virtio 1.x) register layout (`virtio-mmio.force-legacy=false`); QEMU lists them on
//! the kernel command line itself, which it does only without ACPI (`acpi=off`; the kernel
//! reads no ACPI tables). On `q35` they are `virtio-*-pci` functions on the root bus.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
    /// The initramfs (cpio newc); `None` when the root file system is a disk (`disk=/`).
    pub initrd: Option<PathBuf>,
    /// The kernel command line.
    pub cmdline: String,
    /// The directory holding the channel sockets (`<dir>/<channel id>`).
    pub socket_dir: PathBuf,
    /// Disks and network.
    pub devices: Devices,
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
        args.extend(self.devices.qemu_args(self.machine));
        // -kernel, -initrd and -append take their value verbatim (no option-list parsing).
        args.push("-kernel".into());
        args.push(self.kernel.clone().into_os_string());
        if let Some(initrd) = &self.initrd {
            args.push("-initrd".into());
            args.push(initrd.clone().into_os_string());
        }
        args.push("-append".into());
        args.push(self.cmdline.clone().into());
        args
    }
}

/// `--disk IMG[:MOUNTPOINT][:ro]`: a raw disk image for a virtio-blk device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// The host image file.
    pub image: PathBuf,
    /// Where the guest mounts it (absolute), if anywhere.
    pub mount: Option<String>,
    /// Attach it read-only.
    pub read_only: bool,
}

impl FromStr for DiskSpec {
    type Err = String;

    /// `:ro` is a trailing suffix; the mount point is what follows the last `:` when it is an
    /// absolute path, so image paths containing `:` still work.
    fn from_str(s: &str) -> Result<Self, String> {
        let (rest, read_only) = match s.strip_suffix(":ro") {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        let (image, mount) = match rest.rsplit_once(':') {
            Some((image, mount)) if mount.starts_with('/') && !image.is_empty() => {
                (image, Some(mount.to_string()))
            }
            _ => (rest, None),
        };
        if image.is_empty() {
            return Err("the image path is empty (expected IMG[:MOUNTPOINT][:ro])".into());
        }
        if mount
            .as_deref()
            .is_some_and(|m| m.bytes().any(|b| b <= b' '))
        {
            return Err("the mount point contains a space or control character".into());
        }
        Ok(DiskSpec {
            image: image.into(),
            mount,
            read_only,
        })
    }
}

/// `-p HOSTPORT:GUESTPORT[/udp]`: a host port forwarded to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortForward {
    /// The host port.
    pub host: u16,
    /// The guest port.
    pub guest: u16,
    /// UDP instead of TCP.
    pub udp: bool,
}

impl FromStr for PortForward {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ports, udp) = match s.rsplit_once('/') {
            Some((ports, "udp")) => (ports, true),
            Some((ports, "tcp")) => (ports, false),
            Some((_, proto)) => return Err(format!("unknown protocol {proto:?} (tcp or udp)")),
            None => (s, false),
        };
        let port = |p: &str| match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("{p:?} is not a port number (1-65535)")),
            Ok(n) => Ok(n),
        };
        let (host, guest) = ports
            .split_once(':')
            .ok_or_else(|| format!("expected HOSTPORT:GUESTPORT, got {s:?}"))?;
        Ok(PortForward {
            host: port(host)?,
            guest: port(guest)?,
            udp,
        })
    }
}

/// `--net`: the guest's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetChoice {
    /// No network device.
    None,
    /// QEMU user networking (NAT through the host's sockets).
    User,
    /// An existing host tap device.
    Tap(String),
}

impl FromStr for NetChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NetChoice::None),
            "user" => Ok(NetChoice::User),
            _ => match s.strip_prefix("tap:") {
                Some(name) if !name.is_empty() && !name.contains(',') => {
                    Ok(NetChoice::Tap(name.to_string()))
                }
                Some(_) => Err("expected tap:NAME with a device name (no commas)".into()),
                None => Err(format!("expected none, user or tap:NAME, got {s:?}")),
            },
        }
    }
}

/// The network device's backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// QEMU user networking with these forwards.
    User(Vec<PortForward>),
    /// A host tap device.
    Tap(String),
}

/// The VM's disks and network device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Disks, in order (disk 0 is the guest's `/dev/vda`).
    pub disks: Vec<DiskSpec>,
    /// The network, if any.
    pub net: Option<Network>,
    /// A virtio-rng device (the kernel seeds its generator from it too).
    pub rng: bool,
}

impl Devices {
    /// The devices `--disk`, `--net` and `-p` ask for: `-p` implies user networking, which
    /// `--net none` and `--net tap:NAME` contradict.
    pub fn from_options(
        disks: &[DiskSpec],
        net: Option<&NetChoice>,
        ports: &[PortForward],
    ) -> Result<Devices, String> {
        let net = match (net, ports.is_empty()) {
            (None, true) | (Some(NetChoice::None), true) => None,
            (None | Some(NetChoice::User), _) => Some(Network::User(ports.to_vec())),
            (Some(NetChoice::Tap(name)), true) => Some(Network::Tap(name.clone())),
            (Some(other), false) => {
                return Err(format!(
                    "-p forwards ports through user networking, not --net {}",
                    match other {
                        NetChoice::Tap(name) => format!("tap:{name}"),
                        _ => "none".into(),
                    }
                ));
            }
        };
        Ok(Devices {
            disks: disks.to_vec(),
            net,
            rng: false,
        })
    }

    /// The kernel options that tell the guest about the disks (see the module docs).
    pub fn kernel_options(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.disks
            .iter()
            .map(|d| ("disk".to_string(), d.mount.clone().map(String::into_bytes)))
            .collect()
    }

    /// QEMU's arguments for the devices on `machine`.
    pub fn qemu_args(&self, machine: Machine) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if self.disks.is_empty() && self.net.is_none() && !self.rng {
            return args;
        }
        let (blk, net, rng) = match machine {
            Machine::Microvm => {
                // QEMU lists virtio-mmio devices on the kernel command line only without
                // ACPI (with it, they are in the DSDT, which the kernel does not read).
                args.push("-machine".into());
                args.push("acpi=off".into());
                args.push("-global".into());
                args.push("virtio-mmio.force-legacy=false".into());
                (
                    "virtio-blk-device",
                    "virtio-net-device",
                    "virtio-rng-device",
                )
            }
            Machine::Q35 => ("virtio-blk-pci", "virtio-net-pci", "virtio-rng-pci"),
        };
        if self.rng {
            args.push("-device".into());
            args.push(rng.into());
        }
        for (i, disk) in self.disks.iter().enumerate() {
            let mut drive = OsString::from("file=");
            drive.push(escape_opt(disk.image.as_os_str()));
            drive.push(format!(",if=none,id=disk{i},format=raw,cache=writeback"));
            if disk.read_only {
                drive.push(",readonly=on");
            }
            args.push("-drive".into());
            args.push(drive);
            args.push("-device".into());
            args.push(format!("{blk},drive=disk{i},serial=oxv-disk{i}").into());
        }
        if let Some(network) = &self.net {
            let netdev = match network {
                Network::User(forwards) => {
                    let mut n = String::from("user,id=net0");
                    for f in forwards {
                        let proto = if f.udp { "udp" } else { "tcp" };
                        n.push_str(&format!(",hostfwd={proto}::{}-:{}", f.host, f.guest));
                    }
                    n
                }
                Network::Tap(name) => {
                    format!("tap,id=net0,ifname={name},script=no,downscript=no")
                }
            };
            args.push("-netdev".into());
            args.push(netdev.into());
            args.push("-device".into());
            args.push(format!("{net},netdev=net0").into());
        }
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
            initrd: Some("/t/initramfs.cpio".into()),
            cmdline: "console=split -- /bin/x a%20b".into(),
            socket_dir: "/t/s,x".into(),
            devices: Devices::default(),
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
        // A disk root boots without an initramfs.
        c.initrd = None;
        assert!(!joined(&c.args()).contains("-initrd"));
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let args: Vec<OsString> = vec!["-append".into(), "a b".into(), "it's".into(), "".into()];
        assert_eq!(display_command("q", &args), r"q -append 'a b' 'it'\''s' ''");
    }

    #[test]
    fn disk_specs_parse_mount_points_and_ro() {
        let d = |s: &str| s.parse::<DiskSpec>();
        assert_eq!(
            d("a.img"),
            Ok(DiskSpec {
                image: "a.img".into(),
                mount: None,
                read_only: false
            })
        );
        assert_eq!(
            d("x:y.img:/data:ro"),
            Ok(DiskSpec {
                image: "x:y.img".into(),
                mount: Some("/data".into()),
                read_only: true
            })
        );
        assert_eq!(
            d("a.img:ro").map(|d| (d.mount, d.read_only)),
            Ok((None, true))
        );
        assert!(d("").is_err());
        assert!(d(":ro").is_err());
        assert!(d("a.img:/my data").is_err());
    }

    #[test]
    fn port_forwards_and_net_choices_parse() {
        assert_eq!(
            "8080:80".parse(),
            Ok(PortForward {
                host: 8080,
                guest: 80,
                udp: false
            })
        );
        assert_eq!(
            "53:5353/udp".parse::<PortForward>().map(|p| p.udp),
            Ok(true)
        );
        assert_eq!("1:2/tcp".parse::<PortForward>().map(|p| p.udp), Ok(false));
        for bad in ["80", "0:80", "80:70000", "a:b", "1:2/sctp"] {
            assert!(bad.parse::<PortForward>().is_err(), "{bad}");
        }
        assert_eq!("tap:tap0".parse(), Ok(NetChoice::Tap("tap0".into())));
        assert_eq!("none".parse(), Ok(NetChoice::None));
        assert!("tap:".parse::<NetChoice>().is_err());
        assert!("bridge".parse::<NetChoice>().is_err());
    }

    #[test]
    fn ports_imply_user_networking() {
        let p: PortForward = "8080:80".parse().unwrap();
        let user = Devices::from_options(&[], None, &[p]).unwrap();
        assert_eq!(user.net, Some(Network::User(vec![p])));
        assert_eq!(Devices::from_options(&[], None, &[]).unwrap().net, None);
        assert_eq!(
            Devices::from_options(&[], Some(&NetChoice::User), &[])
                .unwrap()
                .net,
            Some(Network::User(vec![]))
        );
        assert!(Devices::from_options(&[], Some(&NetChoice::None), &[p]).is_err());
        assert!(Devices::from_options(&[], Some(&NetChoice::Tap("t".into())), &[p]).is_err());
    }

    #[test]
    fn devices_on_microvm_and_q35() {
        let devices = Devices {
            disks: vec![
                "/img/a,b.img:/data".parse().unwrap(),
                "/img/c.img:ro".parse().unwrap(),
            ],
            net: Some(Network::User(vec![
                "8080:80".parse().unwrap(),
                "53:53/udp".parse().unwrap(),
            ])),
            rng: true,
        };
        let mut c = config();
        c.devices = devices.clone();
        let line = joined(&c.args());
        for expected in [
            "-machine acpi=off -global virtio-mmio.force-legacy=false",
            "-drive file=/img/a,,b.img,if=none,id=disk0,format=raw,cache=writeback \
             -device virtio-blk-device,drive=disk0,serial=oxv-disk0",
            "-drive file=/img/c.img,if=none,id=disk1,format=raw,cache=writeback,readonly=on",
            "-netdev user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp::53-:53 \
             -device virtio-net-device,netdev=net0",
            "-device virtio-rng-device",
        ] {
            let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(line.contains(&expected), "{expected:?} not in {line:?}");
        }
        // The devices come before -kernel, whose value list ends the line.
        assert!(line.find("-netdev").unwrap() < line.find("-kernel").unwrap());

        c.machine = Machine::Q35;
        let line = joined(&c.args());
        assert!(line.contains("-device virtio-blk-pci,drive=disk1,serial=oxv-disk1"));
        assert!(line.contains("-device virtio-net-pci,netdev=net0"));
        assert!(line.contains("-device virtio-rng-pci"));
        assert!(!line.contains("force-legacy") && !line.contains("acpi=off"));

        assert_eq!(
            devices.kernel_options(),
            [
                ("disk".to_string(), Some(b"/data".to_vec())),
                ("disk".to_string(), None)
            ]
        );
        let tap = Devices {
            net: Some(Network::Tap("tap0".into())),
            ..Devices::default()
        };
        assert!(
            joined(&tap.qemu_args(Machine::Q35))
                .contains("-netdev tap,id=net0,ifname=tap0,script=no,downscript=no")
        );
        assert!(Devices::default().qemu_args(Machine::Microvm).is_empty());
        let rng = Devices {
            rng: true,
            ..Devices::default()
        };
        assert!(joined(&rng.qemu_args(Machine::Microvm)).contains("acpi=off"));
    }
}
