//! I/O-port instructions, behind `oxv_drivers::port::PortIo`.

use core::arch::asm;
use oxv_drivers::port::PortIo;

/// The CPU's I/O-port space.
#[derive(Copy, Clone)]
pub struct X86Ports;

impl PortIo for X86Ports {
    fn read8(&self, port: u16) -> u8 {
        let v: u8;
        // SAFETY: `in` has no memory effects; the drivers only address the legacy devices
        // they were built for.
        unsafe {
            asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags))
        };
        v
    }

    fn write8(&self, port: u16, value: u8) {
        // SAFETY: as above; device side effects are the drivers' intent.
        unsafe {
            asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
        };
    }

    fn write32(&self, port: u16, value: u32) {
        // SAFETY: as above.
        unsafe {
            asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
        };
    }
}
