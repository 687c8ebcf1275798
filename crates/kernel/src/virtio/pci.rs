//! PCI configuration space through the legacy I/O ports (configuration mechanism #1, PCI
//! Local Bus Specification 3.0 section 3.2.2.3.2): an address written to 0xcf8 selects a
//! dword of some function's 256-byte header, read or written at 0xcfc.
//!
//! Enough for QEMU's q35 and pc, whose firmware (SeaBIOS) has already assigned the BARs; no
//! ECAM, no extended (PCIe) space, no bridges below bus 0. Used at boot only, on one CPU, so
//! the two-step access needs no lock.

use core::arch::asm;
use oxv_drivers::virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
/// The Interrupt Pin register (1 = INTA# .. 4 = INTD#, 0 = none): the byte at 0x3d.
pub const INTERRUPT_DWORD: u8 = 0x3c;

/// Configuration mechanism #1.
pub struct PortCam;

fn select(df: DeviceFunction, offset: u8) {
    let address = 0x8000_0000
        | u32::from(df.bus) << 16
        | u32::from(df.device) << 11
        | u32::from(df.function) << 8
        | u32::from(offset & 0xfc);
    // SAFETY: writing CONFIG_ADDRESS only selects a configuration register; it touches no
    // memory.
    unsafe {
        asm!("out dx, eax", in("dx") CONFIG_ADDRESS, in("eax") address,
            options(nomem, nostack, preserves_flags))
    };
}

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        select(df, offset);
        let v: u32;
        // SAFETY: reads the selected configuration dword; no memory effects.
        unsafe {
            asm!("in eax, dx", in("dx") CONFIG_DATA, out("eax") v,
                options(nomem, nostack, preserves_flags))
        };
        v
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        select(df, offset);
        // SAFETY: writes the selected configuration dword; device side effects (enabling
        // bus mastering, say) are the caller's intent.
        unsafe {
            asm!("out dx, eax", in("dx") CONFIG_DATA, in("eax") data,
                options(nomem, nostack, preserves_flags))
        };
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}
