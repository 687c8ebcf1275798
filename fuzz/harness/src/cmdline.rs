//! The `cmdline` fuzz target's input: a kernel command line as the kernel finds it in memory,
//! put through every parser the boot path runs on it, in the boot's order
//! (`crates/kernel/src/boot.rs`): the VMM's `virtio_mmio.device=` entries split off the end
//! ([`oxv_drivers::virtio::split_mmio_devices`]), [`BootArgs::decode_bytes`], then the option
//! readers: `tsc_khz`, `winsize`, the `disk=` mount points, the network options
//! ([`oxv_net::config::apply_option`]).
//!
//! Checks: no panic, and output bounded by the input: the line left after the split is a
//! prefix of the input and every device came from a token of at least 20 bytes; the decoded
//! pieces together are no longer than the line; a decoded line encodes back to one that
//! decodes the same; `tsc_khz` is in its range.

use oxv_abi::cmdline::{BootArgs, MAX_TSC_KHZ};

/// Runs `line` through the boot path's parsers; `Err` says which promise broke.
pub fn run(line: &[u8]) -> Result<(), String> {
    let (rest, devices) = oxv_drivers::virtio::split_mmio_devices(line);
    if !line.starts_with(rest) {
        return Err("the line left by split_mmio_devices is not a prefix of the input".into());
    }
    // `virtio_mmio.device=1@0:0` is the shortest entry: 24 bytes and a separator.
    if devices.len() * 25 > line.len() + 1 {
        return Err(format!(
            "{} devices from a {}-byte line",
            devices.len(),
            line.len()
        ));
    }
    for d in &devices {
        if d.size == 0 || d.base.checked_add(d.size).is_none() {
            return Err(format!("device with an impossible window: {d:?}"));
        }
    }
    let Ok(args) = BootArgs::decode_bytes(rest) else {
        return Ok(());
    };
    if args.argv.is_empty() {
        return Err("decoded with an empty argv".into());
    }
    let pieces: usize = args
        .options
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum::<usize>()
        + args
            .env
            .iter()
            .chain(&args.argv)
            .map(Vec::len)
            .sum::<usize>();
    if pieces > rest.len() {
        return Err(format!(
            "{pieces} decoded bytes from a {}-byte line",
            rest.len()
        ));
    }
    if BootArgs::decode(&args.encode()).as_ref() != Ok(&args) {
        return Err("the decoded line does not encode back to itself".into());
    }
    if args.tsc_khz().is_some_and(|k| k == 0 || k > MAX_TSC_KHZ) {
        return Err("tsc_khz out of its range".into());
    }
    let _ = args.winsize();
    // As `crate::virtio::disk_mount_points` in the kernel: every `disk=` option in order.
    let disks = args.options.iter().filter(|(k, _)| k == "disk").count();
    if disks > args.options.len() {
        return Err("more disks than options".into());
    }
    let mut cfg = oxv_net::stack::NicConfig::default();
    let options = args.options.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
    oxv_net::config::apply_options(&mut cfg, options, |_| {});
    Ok(())
}
