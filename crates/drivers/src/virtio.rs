//! What the virtio drivers share: the seam through which a driver sleeps until its device
//! interrupts, and the parsing of the `virtio_mmio.device=` command-line entries through
//! which a VMM announces virtio-mmio devices.
//!
//! Specifications: *Virtual I/O Device (VIRTIO) Version 1.2*, sections 2 (basic facilities),
//! 4.2 (virtio over MMIO) and 4.1 (virtio over PCI). The rings and transports themselves come
//! from [`virtio_drivers`], with notification suppression (event indexes) added by
//! [`notify`]; the drivers here ([`crate::virtio_blk`], [`crate::virtio_net`]) are
//! generic over its [`Hal`](virtio_drivers::Hal) (DMA memory, the embedder's) and
//! [`Transport`](virtio_drivers::transport::Transport) (MMIO or PCI).
//!
//! This module does not probe buses or route interrupts: that is the embedder's (oxv-kernel's
//! `virtio` module), which knows the machine.

use alloc::vec::Vec;

#[cfg(test)]
pub(crate) mod fake;
pub mod notify;

/// How a driver waits for its device. The embedder implements it over its scheduler: a wait
/// queue that the device's interrupt handler wakes.
///
/// A driver calls [`wait_until`](InterruptWait::wait_until) with a condition on the device's
/// rings ("my request is in the used ring"); the embedder's interrupt handler acknowledges
/// the device and calls [`wake`](InterruptWait::wake), and so does a driver that frees
/// something other waiters want (the request slot).
pub trait InterruptWait: Send + Sync {
    /// Blocks the calling thread until `done()` returns true. `done` is checked before the
    /// first sleep and after every wake-up; an implementation must not lose a wake-up that
    /// comes between a check and the sleep. Not interruptible: a request in flight owns
    /// memory that must stay put until the device answers.
    fn wait_until(&self, done: &mut dyn FnMut() -> bool);

    /// Wakes every thread in [`wait_until`](InterruptWait::wait_until) so that it checks
    /// again. Callable from an interrupt handler.
    fn wake(&self);
}

/// The command-line option through which Linux learns of a virtio-mmio device
/// (`Documentation/admin-guide/kernel-parameters.txt`, `virtio_mmio.device=`), and which QEMU's
/// microvm and Firecracker append to the kernel command line, one per device.
pub const MMIO_DEVICE_OPTION: &str = "virtio_mmio.device";

/// A virtio-mmio device as the command line describes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MmioDevice {
    /// Physical address of its register window.
    pub base: u64,
    /// Size of the window in bytes (512 on QEMU).
    pub size: u64,
    /// The interrupt line (a GSI: an I/O APIC input on x86).
    pub irq: u32,
}

impl MmioDevice {
    /// Parses the value of one `virtio_mmio.device=<size>@<base>:<irq>[:<id>]` option. The
    /// size takes Linux's `memparse` suffixes (`K`, `M`, `G`), numbers are decimal or `0x` hex;
    /// the optional platform-device id is ignored. `None` if malformed.
    pub fn parse(value: &[u8]) -> Option<MmioDevice> {
        let value = core::str::from_utf8(value).ok()?;
        let (size, rest) = value.split_once('@')?;
        let mut parts = rest.split(':');
        let base = parse_number(parts.next()?)?;
        let irq = u32::try_from(parse_number(parts.next()?)?).ok()?;
        if let Some(id) = parts.next() {
            parse_number(id)?;
        }
        if parts.next().is_some() {
            return None;
        }
        let size = parse_size(size)?;
        if size == 0 || base.checked_add(size).is_none() {
            return None;
        }
        Some(MmioDevice { base, size, irq })
    }
}

/// A decimal or `0x`-prefixed hexadecimal number.
fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A number with an optional binary-unit suffix, as Linux's `memparse`.
fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    parse_number(digits)?.checked_mul(1 << shift)
}

/// Splits the `virtio_mmio.device=` entries a VMM appended off the end of a kernel command
/// line. Returns the line without them and the devices, in command-line order.
///
/// VMMs append these after everything else, which on oxv's command line is the app's argv
/// (`... -- app args`): left there they would become arguments. Only a trailing run is taken,
/// so an app argument of that form in the middle of argv is kept. A malformed entry ends the
/// run (it stays on the line, where the app will see it).
pub fn split_mmio_devices(cmdline: &[u8]) -> (&[u8], Vec<MmioDevice>) {
    let mut devices = Vec::new();
    let mut end = cmdline.len();
    loop {
        let head = &cmdline[..end];
        let trimmed = head.trim_ascii_end();
        let start = trimmed
            .iter()
            .rposition(|b| b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        let token = &trimmed[start..];
        let Some(value) = token
            .strip_prefix(MMIO_DEVICE_OPTION.as_bytes())
            .and_then(|t| t.strip_prefix(b"="))
        else {
            break;
        };
        let Some(device) = MmioDevice::parse(value) else {
            break;
        };
        devices.push(device);
        end = start;
    }
    devices.reverse();
    (cmdline[..end].trim_ascii_end(), devices)
}

/// The GSI that QEMU's q35 machine wires a root-bus PCI device's INTx pin to: INTA#..INTD#
/// of slot `slot` go to PIRQE..PIRQH rotated by the slot (`ich9_cc_init` in QEMU, matching the
/// `_PRT` of its DSDT), and PIRQA..H are I/O APIC inputs 16..23. `pin` is the Interrupt Pin
/// register (1 = INTA#); `None` for 0 (no interrupt) or a bad value.
pub fn q35_intx_gsi(slot: u8, pin: u8) -> Option<u32> {
    if !(1..=4).contains(&pin) || slot >= 32 {
        return None;
    }
    let pirq = 4 + (u32::from(slot) + u32::from(pin) - 1) % 4;
    Some(16 + pirq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_qemu_microvm_appends() {
        assert_eq!(
            MmioDevice::parse(b"512@0xfeb02e00:47"),
            Some(MmioDevice {
                base: 0xfeb0_2e00,
                size: 512,
                irq: 47
            })
        );
        assert_eq!(
            MmioDevice::parse(b"4K@0xd0000000:5:3"),
            Some(MmioDevice {
                base: 0xd000_0000,
                size: 4096,
                irq: 5
            })
        );
    }

    #[test]
    fn refuses_malformed_entries() {
        for bad in [
            &b""[..],
            b"512",
            b"512@0xfeb00000",
            b"512@zz:5",
            b"0@0x1000:5",
            b"512@0x1000:5:1:2",
            b"512@0xffffffffffffffff:5",
            b"512@0x1000:99999999999",
            b"\xff@1:2",
        ] {
            assert_eq!(MmioDevice::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn splits_only_the_trailing_run() {
        let line = b"verbose -- /app virtio_mmio.device=1@2:3 x \
            virtio_mmio.device=512@0xfeb02e00:47 virtio_mmio.device=512@0xfeb02c00:46 ";
        let (rest, devices) = split_mmio_devices(line);
        assert_eq!(rest, b"verbose -- /app virtio_mmio.device=1@2:3 x");
        assert_eq!(
            devices.iter().map(|d| (d.base, d.irq)).collect::<Vec<_>>(),
            [(0xfeb0_2e00, 47), (0xfeb0_2c00, 46)]
        );
    }

    #[test]
    fn a_line_without_devices_is_unchanged() {
        assert_eq!(
            split_mmio_devices(b"-- /app a"),
            (&b"-- /app a"[..], Vec::new())
        );
        assert_eq!(split_mmio_devices(b""), (&b""[..], Vec::new()));
        // A malformed trailing entry is left for the app to see.
        let (rest, devices) = split_mmio_devices(b"-- /app virtio_mmio.device=oops");
        assert_eq!(rest, b"-- /app virtio_mmio.device=oops");
        assert!(devices.is_empty());
    }

    #[test]
    fn q35_rotates_pins_over_pirq_e_to_h() {
        assert_eq!(q35_intx_gsi(0, 1), Some(20));
        assert_eq!(q35_intx_gsi(1, 1), Some(21));
        assert_eq!(q35_intx_gsi(3, 1), Some(23));
        assert_eq!(q35_intx_gsi(4, 1), Some(20));
        assert_eq!(q35_intx_gsi(2, 4), Some(21));
        assert_eq!(q35_intx_gsi(2, 0), None);
        assert_eq!(q35_intx_gsi(2, 5), None);
        assert_eq!(q35_intx_gsi(32, 1), None);
    }

    #[test]
    fn a_line_of_only_devices() {
        let (rest, devices) = split_mmio_devices(b"virtio_mmio.device=512@0x1000:5");
        assert_eq!(rest, b"");
        assert_eq!(devices.len(), 1);
    }
}
