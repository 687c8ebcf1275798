//! Framing of the app's stdin on COM1 (host -> guest).
//!
//! COM1 is a byte pipe with no out-of-band signal, so end-of-file needs an escape: data bytes
//! go as they are except 0xFF, which is doubled (`FF FF`); `FF 00` marks end of input, after
//! which the guest's reads of fd 0 return 0. Other `FF xx` pairs are reserved.

/// The escape byte.
pub const ESCAPE: u8 = 0xFF;

/// The two bytes that end the input.
pub const END_OF_INPUT: [u8; 2] = [ESCAPE, 0x00];

/// Appends `data`, framed, to `out`.
pub fn frame_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len() / 16);
    for &byte in data {
        out.push(byte);
        if byte == ESCAPE {
            out.push(ESCAPE);
        }
    }
}

/// Decodes a complete framed stream back into data, and whether it was ended with `FF 00`.
/// The guest does this; the host only needs it to test [`frame_into`]. Returns `None` for a
/// reserved or truncated escape.
#[cfg(test)]
pub fn unframe(framed: &[u8]) -> Option<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    let mut bytes = framed.iter();
    while let Some(&b) = bytes.next() {
        if b != ESCAPE {
            data.push(b);
            continue;
        }
        match bytes.next() {
            Some(&ESCAPE) => data.push(ESCAPE),
            Some(0x00) => return bytes.next().is_none().then_some((data, true)),
            _ => return None,
        }
    }
    Some((data, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_pass_unchanged() {
        let mut out = Vec::new();
        frame_into(b"hello\n\x00\xfe", &mut out);
        assert_eq!(out, b"hello\n\x00\xfe");
    }

    #[test]
    fn ff_is_doubled_and_eof_is_ff_00() {
        let mut out = Vec::new();
        frame_into(b"a\xffb", &mut out);
        frame_into(b"\xff\xff", &mut out);
        out.extend_from_slice(&END_OF_INPUT);
        assert_eq!(out, b"a\xff\xffb\xff\xff\xff\xff\xff\x00");
    }

    #[test]
    fn every_byte_value_round_trips() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let mut out = Vec::new();
        frame_into(&data, &mut out);
        out.extend_from_slice(&END_OF_INPUT);
        assert_eq!(unframe(&out), Some((data, true)));
        assert_eq!(unframe(b"a\xff"), None);
        assert_eq!(unframe(b"a\xff\x01"), None);
    }
}
