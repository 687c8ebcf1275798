//! The 16550 UART (PC serial port), polled.
//!
//! Registers per the National Semiconductor PC16550D data sheet: data at `base+0`, interrupt
//! enable `+1`, FIFO control `+2`, line control `+3`, modem control `+4`, line status `+5`,
//! scratch `+7`. oxv reads the app's stdin from COM1 and, on a plain console, writes
//! everything there too. Transmission waits for the holding register to empty, so a slow host
//! side never makes QEMU drop bytes from its FIFO.

use crate::port::PortIo;

/// The I/O base of COM1.
pub const COM1: u16 = 0x3f8;

const DATA: u16 = 0;
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const SCRATCH: u16 = 7;

const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
const LCR_DLAB: u8 = 0x80;
const LCR_8N1: u8 = 0x03;

/// One 16550 at an I/O base.
pub struct Uart16550<P> {
    ports: P,
    base: u16,
}

impl<P: PortIo> Uart16550<P> {
    /// The UART at `base` (not touched until [`Uart16550::init`]).
    pub const fn new(ports: P, base: u16) -> Self {
        Uart16550 { ports, base }
    }

    /// Probes the scratch register, then programs 115200 8N1 with FIFOs on and interrupts off.
    /// Returns `false` (and leaves the port alone) when no UART answers.
    pub fn init(&self) -> bool {
        self.ports.write8(self.base + SCRATCH, 0x5a);
        if self.ports.read8(self.base + SCRATCH) != 0x5a {
            return false;
        }
        self.ports.write8(self.base + IER, 0x00);
        self.ports.write8(self.base + LCR, LCR_DLAB);
        self.ports.write8(self.base + DATA, 1); // divisor 1: 115200 baud
        self.ports.write8(self.base + IER, 0);
        self.ports.write8(self.base + LCR, LCR_8N1);
        self.ports.write8(self.base + FCR, 0xc7); // enable + clear both FIFOs, 14-byte trigger
        self.ports.write8(self.base + MCR, 0x0b); // DTR, RTS, OUT2
        true
    }

    /// Raises the UART's interrupt line when a byte arrives (IER bit 0); the line is routed by
    /// the embedder's interrupt controller.
    pub fn enable_rx_interrupt(&self) {
        self.ports.write8(self.base + IER, 0x01);
    }

    /// Sends one byte, waiting for room in the transmitter.
    pub fn write_byte(&self, b: u8) {
        while self.ports.read8(self.base + LSR) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        self.ports.write8(self.base + DATA, b);
    }

    /// Sends all of `bytes`.
    pub fn write(&self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&self) -> Option<u8> {
        if self.ports.read8(self.base + LSR) & LSR_DATA_READY != 0 {
            Some(self.ports.read8(self.base + DATA))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;

    #[test]
    fn absent_uart_is_left_alone() {
        let p = FakePorts::new();
        assert!(!Uart16550::new(&p, COM1).init());
        assert!(p.written(COM1 + LCR).is_empty());
    }

    #[test]
    fn init_programs_115200_8n1() {
        let p = FakePorts::new();
        p.queue_reads(COM1 + SCRATCH, &[0x5a]);
        assert!(Uart16550::new(&p, COM1).init());
        assert_eq!(p.written(COM1 + LCR), [LCR_DLAB, LCR_8N1]);
        assert_eq!(p.written(COM1 + DATA), [1]);
    }

    #[test]
    fn rx_interrupt_sets_ier_bit_0() {
        let p = FakePorts::new();
        Uart16550::new(&p, COM1).enable_rx_interrupt();
        assert_eq!(p.written(COM1 + IER), [0x01]);
    }

    #[test]
    fn write_waits_for_the_transmitter() {
        let p = FakePorts::new();
        p.queue_reads(COM1 + LSR, &[0, 0, LSR_THR_EMPTY]);
        Uart16550::new(&p, COM1).write_byte(b'x');
        assert_eq!(p.written(COM1), b"x");
    }

    #[test]
    fn read_only_when_data_ready() {
        let p = FakePorts::new();
        p.queue_reads(COM1 + LSR, &[0, LSR_DATA_READY]);
        p.queue_reads(COM1, b"q");
        let u = Uart16550::new(&p, COM1);
        assert_eq!(u.try_read_byte(), None);
        assert_eq!(u.try_read_byte(), Some(b'q'));
    }
}
