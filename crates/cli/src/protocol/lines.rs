//! Splitting a kernel-log byte stream into lines.
//!
//! The kernel writes log text a few bytes at a time and the socket hands them over in
//! arbitrary chunks, so a line may arrive in pieces. [`LineSplitter`] keeps the partial
//! tail between chunks. Lines end at `\n`; a `\r` before it is dropped (COM1 output may use
//! CRLF). Invalid UTF-8 is replaced, since log lines are only shown, never parsed as data
//! (control records are ASCII).

/// Accumulates bytes and yields complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

/// Longest line kept whole; a longer one is cut there so a runaway writer cannot grow the
/// buffer without bound.
const MAX_LINE: usize = 64 * 1024;

impl LineSplitter {
    /// A splitter with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `chunk` and calls `emit` for every line it completes (without the newline).
    pub fn push(&mut self, chunk: &[u8], mut emit: impl FnMut(String)) {
        for &b in chunk {
            if b == b'\n' {
                emit(self.take());
            } else {
                self.partial.push(b);
                if self.partial.len() >= MAX_LINE {
                    emit(self.take());
                }
            }
        }
    }

    /// Returns the unterminated tail, if any (call at end of stream).
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        String::from_utf8_lossy(&line).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new();
        let mut lines = Vec::new();
        for c in chunks {
            s.push(c, |l| lines.push(l));
        }
        lines.extend(s.finish());
        lines
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        assert_eq!(split(&[b"ab", b"c\nde", b"f\n"]), ["abc", "def"]);
    }

    #[test]
    fn crlf_and_empty_lines_and_tails() {
        assert_eq!(split(&[b"a\r\n\nb"]), ["a", "", "b"]);
        assert_eq!(split(&[b""]), Vec::<String>::new());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(split(&[b"x\xffy\n"]), ["x\u{fffd}y"]);
    }

    #[test]
    fn overlong_lines_are_cut() {
        let long = vec![b'a'; MAX_LINE + 10];
        let lines = split(&[&long, b"\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1].len(), 10);
    }
}
