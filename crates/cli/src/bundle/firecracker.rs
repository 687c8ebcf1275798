//! The bundle's Firecracker VM config (`firecracker --no-api --config-file firecracker.json`,
//! run in the bundle directory: paths are relative to it).
//!
//! Firecracker is not QEMU, and some run options have no Firecracker equivalent. They are
//! left out of the config with a warning (which `oxv image` prints), never silently:
//!
//! - **console**: Firecracker has one serial port and nothing else, so the kernel stays in
//!   its plain console layout, where app output and kernel log share COM1;
//! - **user networking and `-p`**: Firecracker has no NAT or port forwarding of its own (its
//!   network devices are host tap devices); `--net tap:NAME` maps to a network interface;
//! - **`--machine q35`**: Firecracker has one machine type, a microVM with virtio-mmio
//!   devices (which the kernel finds on the command line, as on QEMU's `microvm`).
//!
//! Disks: Firecracker answers virtio-blk's GET_ID with an id of its own, not the `oxv-diskN`
//! serial `oxv run` sets, so the kernel orders the disks as they are discovered, which is the
//! order of `drives` (Firecracker lists its virtio-mmio devices on the command line in the
//! order they were configured). No drive is the `is_root_device` one: that would make
//! Firecracker add `root=/dev/vda` to the command line, which oxv does not use; the root disk
//! of a `--disk-image` bundle is named by the `disk=/` option in `boot_args`.

use std::fmt::Write as _;

use oxv_abi::cmdline::BootArgs;

use super::{BundleConf, KERNEL_FILE};
use crate::qemu::{Machine, Network};

/// The config JSON and what it leaves out (one message per option).
pub fn config(body: &BootArgs, conf: &BundleConf) -> (String, Vec<String>) {
    let mut warnings = Vec::new();
    let mut out = String::new();
    let mem_mib = conf.mem.bytes().div_ceil(1 << 20);
    // Writing to a String cannot fail (here and below).
    let _ = write!(
        out,
        "{{\n  \"boot-source\": {{\n    \"kernel_image_path\": {},\n",
        json_string(KERNEL_FILE)
    );
    if let Some(initrd) = &conf.initrd {
        let _ = writeln!(out, "    \"initrd_path\": {},", json_string(initrd));
    }
    let _ = write!(
        out,
        "    \"boot_args\": {}\n  }},\n  \"drives\": [",
        json_string(&body.encode())
    );
    for (i, disk) in conf.disks.iter().enumerate() {
        let _ = write!(
            out,
            "{}\n    {{\n      \"drive_id\": {},\n      \"path_on_host\": {},\n      \
             \"is_root_device\": false,\n      \"is_read_only\": {}\n    }}",
            if i == 0 { "" } else { "," },
            json_string(&format!("oxv-disk{i}")),
            json_string(&disk.file),
            disk.read_only
        );
    }
    out.push_str(if conf.disks.is_empty() {
        "],\n"
    } else {
        "\n  ],\n"
    });
    match &conf.net {
        None => {}
        Some(Network::Tap(name)) => {
            let _ = write!(
                out,
                "  \"network-interfaces\": [\n    {{\n      \"iface_id\": \"net0\",\n      \
                 \"host_dev_name\": {}\n    }}\n  ],\n",
                json_string(name)
            );
        }
        Some(Network::User(ports)) => {
            warnings.push(
                "Firecracker has no user networking (NAT): no network device is configured; \
                 use --net tap:NAME for one"
                    .to_string(),
            );
            if !ports.is_empty() {
                warnings.push(format!(
                    "Firecracker cannot forward host ports: {} left out",
                    ports
                        .iter()
                        .map(|p| format!(
                            "-p {}:{}{}",
                            p.host,
                            p.guest,
                            if p.udp { "/udp" } else { "" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if conf.rng {
        out.push_str("  \"entropy\": {},\n");
    }
    if conf.machine == Machine::Q35 {
        warnings.push(
            "Firecracker has one machine type (a microVM, like QEMU's microvm): --machine q35 \
             does not apply"
                .to_string(),
        );
    }
    let _ = write!(
        out,
        "  \"machine-config\": {{\n    \"vcpu_count\": {},\n    \"mem_size_mib\": {mem_mib},\n    \
         \"smt\": false\n  }}\n}}\n",
        conf.cpus,
    );
    (out, warnings)
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
    use super::super::{BundleDisk, INITRD_FILE, ROOT_DISK_FILE};
    use super::*;

    #[test]
    fn config_is_json_with_the_plain_console() {
        let mut body = BootArgs::new(vec![b"/bin/app".to_vec(), b"a \"q\" \\".to_vec()]);
        body.env = vec![b"K=V".to_vec()];
        let conf = BundleConf::parse("MEM=200M\nCPUS=3").unwrap();
        let (json, warnings) = config(&body, &conf);
        assert!(warnings.is_empty());
        assert!(json.contains("\"vcpu_count\": 3"), "{json}");
        assert!(json.contains("\"mem_size_mib\": 200"), "{json}");
        assert!(
            json.contains("\"kernel_image_path\": \"oxv-kernel\""),
            "{json}"
        );
        assert!(json.contains(&format!("\"initrd_path\": \"{INITRD_FILE}\"")));
        assert!(json.contains("\"drives\": [],"), "{json}");
        assert!(
            !json.contains("console") && !json.contains("entropy"),
            "{json}"
        );
        // The boot_args string decodes back to the same command line.
        let start = json.find("\"boot_args\": \"").unwrap() + 14;
        let end = start + json[start..].find("\"\n").unwrap();
        let args = json[start..end].replace("\\\\", "\\");
        assert_eq!(BootArgs::decode(&args).unwrap(), body);
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn devices_map_to_firecracker_or_are_named_in_warnings() {
        let body = BootArgs::new(vec![b"/bin/app".to_vec()]);
        let mut conf =
            BundleConf::parse("MACHINE=q35\nNET=user\nPORTS=tcp:8080:80\nRNG=1").unwrap();
        conf.initrd = None;
        conf.disks = vec![
            BundleDisk {
                file: ROOT_DISK_FILE.into(),
                read_only: false,
            },
            BundleDisk {
                file: "disk1.img".into(),
                read_only: true,
            },
        ];
        let (json, warnings) = config(&body, &conf);
        assert!(!json.contains("initrd_path"), "{json}");
        assert!(
            json.contains(
                "\"drive_id\": \"oxv-disk0\",\n      \"path_on_host\": \"rootfs.ext2\",\n      \
                 \"is_root_device\": false,\n      \"is_read_only\": false\n    },"
            ),
            "{json}"
        );
        assert!(json.contains("\"path_on_host\": \"disk1.img\""), "{json}");
        assert!(json.contains("\"is_read_only\": true"), "{json}");
        assert!(json.contains("\"entropy\": {}"), "{json}");
        assert!(!json.contains("network-interfaces"), "{json}");
        let all = warnings.join("\n");
        assert!(all.contains("no user networking"), "{all}");
        assert!(all.contains("-p 8080:80 left out"), "{all}");
        assert!(all.contains("--machine q35"), "{all}");

        let tap = BundleConf::parse("NET=tap:tap0").unwrap();
        let (json, warnings) = config(&body, &tap);
        assert!(warnings.is_empty());
        assert!(json.contains("\"host_dev_name\": \"tap0\""), "{json}");
    }
}
