//! x86 I/O ports, behind a trait.
//!
//! Port I/O is the only way to reach the legacy devices; the instructions are privileged and
//! `unsafe` (a write to the wrong port can reset the machine), so the embedder implements
//! [`PortIo`] in its arch code and the drivers here stay safe.

/// Byte, word and dword access to x86 I/O ports.
pub trait PortIo {
    /// Reads a byte from `port`.
    fn read8(&self, port: u16) -> u8;
    /// Writes a byte to `port`.
    fn write8(&self, port: u16, value: u8);
    /// Writes a dword to `port`.
    fn write32(&self, port: u16, value: u32);
}

impl<P: PortIo + ?Sized> PortIo for &P {
    fn read8(&self, port: u16) -> u8 {
        (**self).read8(port)
    }
    fn write8(&self, port: u16, value: u8) {
        (**self).write8(port, value)
    }
    fn write32(&self, port: u16, value: u32) {
        (**self).write32(port, value)
    }
}

/// A fake port space for host tests.
pub mod fake {
    use super::PortIo;
    use alloc::collections::{BTreeMap, VecDeque};
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// Records every write per port and answers reads from per-port queues (or a default).
    #[derive(Default)]
    pub struct FakePorts {
        writes: RefCell<BTreeMap<u16, Vec<u32>>>,
        reads: RefCell<BTreeMap<u16, VecDeque<u8>>>,
        defaults: RefCell<BTreeMap<u16, u8>>,
    }

    impl FakePorts {
        /// An empty port space: reads return 0xff like a floating ISA bus.
        pub fn new() -> Self {
            Self::default()
        }

        /// Queues values that successive reads of `port` return.
        pub fn queue_reads(&self, port: u16, values: &[u8]) {
            self.reads
                .borrow_mut()
                .entry(port)
                .or_default()
                .extend(values.iter().copied());
        }

        /// The value a read of `port` returns once its queue is empty.
        pub fn set_default(&self, port: u16, value: u8) {
            self.defaults.borrow_mut().insert(port, value);
        }

        /// Everything written to `port`, as bytes.
        pub fn written(&self, port: u16) -> Vec<u8> {
            self.writes
                .borrow()
                .get(&port)
                .map(|v| v.iter().map(|&x| x as u8).collect())
                .unwrap_or_default()
        }

        /// Everything written to `port`, as written.
        pub fn written_raw(&self, port: u16) -> Vec<u32> {
            self.writes.borrow().get(&port).cloned().unwrap_or_default()
        }
    }

    impl PortIo for FakePorts {
        fn read8(&self, port: u16) -> u8 {
            if let Some(v) = self
                .reads
                .borrow_mut()
                .get_mut(&port)
                .and_then(|q| q.pop_front())
            {
                return v;
            }
            self.defaults.borrow().get(&port).copied().unwrap_or(0xff)
        }
        fn write8(&self, port: u16, value: u8) {
            self.writes
                .borrow_mut()
                .entry(port)
                .or_default()
                .push(value as u32);
        }
        fn write32(&self, port: u16, value: u32) {
            self.writes
                .borrow_mut()
                .entry(port)
                .or_default()
                .push(value);
        }
    }
}
