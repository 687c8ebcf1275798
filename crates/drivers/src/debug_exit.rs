//! QEMU's `isa-debug-exit`: a write of `v` ends QEMU with exit status `(v << 1) | 1`.
//!
//! oxv reports the app's real status on its log channel, because a process status (8 bits)
//! does not survive the `<< 1`; this device only stops the VM.

use crate::port::PortIo;

/// The debug-exit device at one I/O port (oxv's QEMU command line uses 0xf4, 4 bytes wide).
pub struct DebugExit<P> {
    ports: P,
    port: u16,
}

impl<P: PortIo> DebugExit<P> {
    /// The device at `port`.
    pub const fn new(ports: P, port: u16) -> Self {
        DebugExit { ports, port }
    }

    /// Asks QEMU to exit with status `(value << 1) | 1`. Returns only if no such device is
    /// present (e.g. on another VMM); the caller then halts.
    pub fn exit(&self, value: u32) {
        self.ports.write32(self.port, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;

    #[test]
    fn writes_a_dword() {
        let p = FakePorts::new();
        DebugExit::new(&p, 0xf4).exit(7);
        assert_eq!(p.written_raw(0xf4), [7]);
    }
}
