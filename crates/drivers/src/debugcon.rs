//! QEMU's `isa-debugcon`: every byte written to its port goes to a host character device.
//!
//! Unlike a 16550 it has no FIFO to overrun: QEMU blocks the vCPU until the host side takes
//! the byte, so output is lossless without polling a status register. It is output-only.
//! oxv uses three of them (app stdout, app stderr, kernel log) when the host CLI asks for a
//! split console.

use crate::port::PortIo;

/// A debug console at one I/O port.
pub struct DebugCon<P> {
    ports: P,
    port: u16,
}

impl<P: PortIo> DebugCon<P> {
    /// The console at `port` (QEMU's default is 0xe9).
    pub const fn new(ports: P, port: u16) -> Self {
        DebugCon { ports, port }
    }

    /// Writes all of `bytes`.
    pub fn write(&self, bytes: &[u8]) {
        for &b in bytes {
            self.ports.write8(self.port, b);
        }
    }

    /// Whether a debug console answers at this port: QEMU's reads return 0xe9 (its
    /// "readback" value), a floating bus 0xff.
    pub fn is_present(&self) -> bool {
        self.ports.read8(self.port) == 0xe9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;

    #[test]
    fn writes_every_byte_in_order() {
        let p = FakePorts::new();
        let c = DebugCon::new(&p, 0xea);
        c.write(b"a\0\xffb");
        assert_eq!(p.written(0xea), b"a\0\xffb");
        assert!(p.written(0xe9).is_empty());
    }

    #[test]
    fn presence_is_the_readback_value() {
        let p = FakePorts::new();
        assert!(!DebugCon::new(&p, 0xe9).is_present());
        p.set_default(0xe9, 0xe9);
        assert!(DebugCon::new(&p, 0xe9).is_present());
    }
}
