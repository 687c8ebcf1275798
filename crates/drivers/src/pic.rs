//! The legacy 8259A interrupt controller pair, only to get it out of the way.
//!
//! Firmware leaves the PICs mapping IRQ 0-7 to vectors 8-15, which collide with CPU
//! exceptions (IRQ 0 would look like a double fault). oxv routes interrupts through the local
//! APIC and I/O APIC, so it moves the PICs to vectors 0x20-0x2f and masks every line.

use crate::port::PortIo;

const MASTER_CMD: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_CMD: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;

/// Remaps the PICs to vectors `base..base + 16` and masks all 16 lines.
pub fn remap_and_mask(ports: &impl PortIo, base: u8) {
    ports.write8(MASTER_CMD, 0x11); // ICW1: init, expect ICW4
    ports.write8(SLAVE_CMD, 0x11);
    ports.write8(MASTER_DATA, base); // ICW2: vector base
    ports.write8(SLAVE_DATA, base + 8);
    ports.write8(MASTER_DATA, 0x04); // ICW3: slave on IRQ 2
    ports.write8(SLAVE_DATA, 0x02);
    ports.write8(MASTER_DATA, 0x01); // ICW4: 8086 mode
    ports.write8(SLAVE_DATA, 0x01);
    ports.write8(MASTER_DATA, 0xff); // mask everything
    ports.write8(SLAVE_DATA, 0xff);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;

    #[test]
    fn ends_fully_masked_at_the_new_base() {
        let p = FakePorts::new();
        remap_and_mask(&p, 0x20);
        assert_eq!(p.written(MASTER_DATA), [0x20, 0x04, 0x01, 0xff]);
        assert_eq!(p.written(SLAVE_DATA), [0x28, 0x02, 0x01, 0xff]);
    }
}
