//! The MC146818-compatible CMOS real-time clock, read once for the wall-clock time.
//!
//! The RTC counts seconds in BCD or binary (status register B bit 2) and hours in 12- or 24-hour
//! form (bit 1). Reads race with the once-a-second update, so the time is read until two
//! consecutive reads agree, outside the update-in-progress window (status A bit 7). QEMU keeps
//! the century in register 0x32; a missing or implausible century means 20xx.

use crate::port::PortIo;

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;

/// A calendar time as the RTC holds it (UTC on VMs).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct RtcTime {
    /// Full year, e.g. 2026.
    pub year: u32,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=59.
    pub second: u32,
}

impl RtcTime {
    /// Seconds since the Unix epoch (proleptic Gregorian calendar).
    pub fn unix_seconds(&self) -> i64 {
        // Days from 1970-01-01 by shifting the year to start in March, so leap days fall last.
        let (y, m) = if self.month <= 2 {
            (self.year as i64 - 1, self.month as i64 + 9)
        } else {
            (self.year as i64, self.month as i64 - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64
    }
}

/// The CMOS RTC.
pub struct CmosRtc<P> {
    ports: P,
}

impl<P: PortIo> CmosRtc<P> {
    /// The RTC at its fixed ports.
    pub const fn new(ports: P) -> Self {
        CmosRtc { ports }
    }

    fn reg(&self, r: u8) -> u8 {
        self.ports.write8(INDEX, r);
        self.ports.read8(DATA)
    }

    fn raw(&self) -> [u8; 7] {
        // Wait out an update in progress (bounded: an absent RTC reads 0xff forever).
        for _ in 0..100_000 {
            if self.reg(0x0a) & 0x80 == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        [
            self.reg(0x00),
            self.reg(0x02),
            self.reg(0x04),
            self.reg(0x07),
            self.reg(0x08),
            self.reg(0x09),
            self.reg(0x32),
        ]
    }

    /// Reads the current time; `None` if no RTC answers or its values are not a valid date.
    pub fn read(&self) -> Option<RtcTime> {
        let mut prev = self.raw();
        let mut tries = 0;
        loop {
            let cur = self.raw();
            if cur == prev {
                break;
            }
            prev = cur;
            tries += 1;
            if tries > 5 {
                return None;
            }
        }
        let status_b = self.reg(0x0b);
        decode(prev, status_b)
    }
}

fn bcd(v: u8) -> Option<u32> {
    let (hi, lo) = (v >> 4, v & 0x0f);
    (hi < 10 && lo < 10).then_some(hi as u32 * 10 + lo as u32)
}

fn decode(raw: [u8; 7], status_b: u8) -> Option<RtcTime> {
    let binary = status_b & 0x04 != 0;
    let h24 = status_b & 0x02 != 0;
    let conv = |v: u8| if binary { Some(v as u32) } else { bcd(v) };
    let [s, mi, h, d, mo, y, c] = raw;
    let pm = !h24 && h & 0x80 != 0;
    let mut hour = conv(h & 0x7f)?;
    if !h24 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = conv(c).filter(|c| (19..=30).contains(c)).unwrap_or(20);
    let t = RtcTime {
        year: century * 100 + conv(y)?,
        month: conv(mo)?,
        day: conv(d)?,
        hour,
        minute: conv(mi)?,
        second: conv(s)?,
    };
    let valid = (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60
        && t.year % 100 < 100;
    valid.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::fake::FakePorts;

    #[test]
    fn epoch_arithmetic() {
        let t = |year, month, day, hour, minute, second| RtcTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        assert_eq!(t(1970, 1, 1, 0, 0, 0).unix_seconds(), 0);
        assert_eq!(t(2000, 3, 1, 0, 0, 0).unix_seconds(), 951_868_800);
        assert_eq!(t(2026, 11, 27, 12, 40, 14).unix_seconds(), 1_795_783_214);
        assert_eq!(t(2024, 2, 29, 23, 59, 59).unix_seconds(), 1_709_251_199);
    }

    #[test]
    fn decodes_bcd_12_hour() {
        // 2026-11-27 12:40:14 PM stored as 12-hour BCD: hour 0x12 with PM bit.
        let raw = [0x14, 0x40, 0x92, 0x27, 0x11, 0x26, 0x20];
        let t = decode(raw, 0x00).unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 27, 12, 40, 14)
        );
        // 12 AM is hour 0.
        assert_eq!(decode([0, 0, 0x12, 1, 1, 0x26, 0x20], 0).unwrap().hour, 0);
    }

    #[test]
    fn decodes_binary_24_hour_and_rejects_garbage() {
        let t = decode([14, 40, 23, 27, 11, 26, 20], 0x06).unwrap();
        assert_eq!((t.year, t.hour), (2026, 23));
        assert_eq!(decode([0xff; 7], 0x02), None);
        assert_eq!(decode([0, 0, 0, 0, 13, 0, 0x20], 0x02), None);
    }

    #[test]
    fn absent_rtc_reads_none() {
        let p = FakePorts::new();
        assert_eq!(CmosRtc::new(&p).read(), None);
    }
}
