//! The 8254 programmable interval timer, as a 1.193182 MHz reference for TSC calibration.
//!
//! Channel 0 is used because its gate is always high: channel 2's gate and output live behind
//! port 0x61, which QEMU implements in its PC-speaker device — absent on `microvm`. The method:
//! load channel 0 with 0xffff in mode 0, latch and read its count, read the counter under
//! test, spin until the count has dropped by the window's worth of ticks, read the counter
//! again. A machine without a PIT never shows a falling count; the loop is bounded and
//! calibration reports `None` instead of hanging. IRQ 0 fires at the end of the count, so the
//! embedder keeps the legacy PIC masked.

use crate::port::PortIo;

/// The PIT's input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;

const CHANNEL0: u16 = 0x40;
const COMMAND: u16 = 0x43;

/// The PIT.
pub struct Pit<P> {
    ports: P,
}

impl<P: PortIo> Pit<P> {
    /// The PIT at its fixed ports.
    pub const fn new(ports: P) -> Self {
        Pit { ports }
    }

    fn count(&self) -> u16 {
        self.ports.write8(COMMAND, 0x00); // latch channel 0
        let lo = self.ports.read8(CHANNEL0) as u16;
        let hi = self.ports.read8(CHANNEL0) as u16;
        (hi << 8) | lo
    }

    /// Measures the frequency of `counter` (e.g. the TSC) in Hz over a window of about
    /// `micros` microseconds (at most 40 ms). `None` if the PIT does not count.
    pub fn calibrate(&self, micros: u32, counter: impl Fn() -> u64) -> Option<u64> {
        let window = (PIT_HZ * micros.min(40_000) as u64 / 1_000_000).max(1) as u16;
        // Channel 0, lobyte/hibyte access, mode 0 (interrupt on terminal count), binary.
        self.ports.write8(COMMAND, 0x30);
        self.ports.write8(CHANNEL0, 0xff);
        self.ports.write8(CHANNEL0, 0xff);
        let first = self.count();
        // Start on a tick edge so the window is measured in whole PIT ticks.
        let mut polls = 0u32;
        let mut start = first;
        // A counting PIT changes within one tick (838 ns), a few polls; a missing one never.
        while start == first {
            start = self.count();
            polls += 1;
            if polls > 10_000 {
                return None;
            }
        }
        let t0 = counter();
        loop {
            let c = self.count();
            let elapsed = start.wrapping_sub(c);
            if elapsed >= window && elapsed < 0x8000 {
                let t1 = counter();
                return Some((t1 - t0) * PIT_HZ / elapsed as u64);
            }
            polls += 1;
            if polls > 20_000_000 {
                return None;
            }
            core::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;
    use core::cell::Cell;

    #[test]
    fn computes_frequency_from_the_window() {
        let p = FakePorts::new();
        // Counts (lo, hi pairs): 0xffff, then 0xfffe (the edge), then 0xfffe - 2000.
        let after = 0xfffeu16 - 2000;
        p.queue_reads(
            CHANNEL0,
            &[0xff, 0xff, 0xfe, 0xff, after as u8, (after >> 8) as u8],
        );
        let t = Cell::new(0u64);
        let counter = || {
            let v = t.get();
            t.set(v + 10_000_000); // 10M counter ticks between the two samples
            v
        };
        // 2000 PIT ticks = 1.676 ms; 10M counts over it is ~5.97 GHz.
        let hz = Pit::new(&p).calibrate(1600, counter).unwrap();
        assert_eq!(hz, 10_000_000 * PIT_HZ / 2000);
        assert_eq!(p.written(COMMAND)[0], 0x30);
    }

    #[test]
    fn a_counter_that_never_moves_is_no_pit() {
        let p = FakePorts::new(); // floating bus: always 0xffff
        assert_eq!(Pit::new(&p).calibrate(1000, || 0), None);
    }
}
