//! Decoding the framed stdin stream the host CLI sends on COM1 in split-console mode.
//!
//! Bytes arrive as they are, except 0xFF, which is escaped: `FF FF` is a data byte 0xFF and
//! `FF 00` is end of input. Any other byte after `FF` is a protocol error; it is passed
//! through as data (the host never sends it). After end of input, further bytes are ignored.

/// The decoder's state.
#[derive(Default, Debug)]
pub struct StdinDecoder {
    escape: bool,
    eof: bool,
}

/// What one received byte means.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A data byte for the app.
    Data(u8),
    /// Nothing yet (the first half of an escape, or a byte after end of input).
    Nothing,
    /// End of input.
    Eof,
}

impl StdinDecoder {
    /// A decoder at the start of the stream.
    pub const fn new() -> Self {
        StdinDecoder {
            escape: false,
            eof: false,
        }
    }

    /// Feeds one byte from the wire.
    pub fn push(&mut self, b: u8) -> Decoded {
        if self.eof {
            return Decoded::Nothing;
        }
        if self.escape {
            self.escape = false;
            return if b == 0 {
                self.eof = true;
                Decoded::Eof
            } else {
                Decoded::Data(b)
            };
        }
        if b == 0xff {
            self.escape = true;
            Decoded::Nothing
        } else {
            Decoded::Data(b)
        }
    }

    /// Whether end of input was seen.
    pub fn at_eof(&self) -> bool {
        self.eof
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(wire: &[u8]) -> (Vec<u8>, bool) {
        let mut d = StdinDecoder::default();
        let mut out = Vec::new();
        for &b in wire {
            if let Decoded::Data(x) = d.push(b) {
                out.push(x);
            }
        }
        (out, d.at_eof())
    }

    #[test]
    fn plain_bytes_pass_through() {
        assert_eq!(decode(b"abc\n\x00\x01"), (b"abc\n\x00\x01".to_vec(), false));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            decode(&[0x61, 0xff, 0xff, 0x62, 0xff, 0x00]),
            (vec![0x61, 0xff, 0x62], true)
        );
        // An escape split across reads keeps its state.
        let mut d = StdinDecoder::default();
        assert_eq!(d.push(0xff), Decoded::Nothing);
        assert_eq!(d.push(0xff), Decoded::Data(0xff));
    }

    #[test]
    fn nothing_after_eof() {
        assert_eq!(decode(&[0xff, 0x00, b'x', 0xff, 0xff]), (vec![], true));
    }
}
