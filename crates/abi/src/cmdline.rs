//! The oxv boot command line: how the host `oxv` tool hands the guest its kernel options, the
//! app's environment and the app's argv, in the single NUL-terminated string that a PVH or
//! Linux boot protocol passes as the kernel command line.
//!
//! # Format
//!
//! Tokens separated by spaces (decoding accepts any run of ASCII whitespace, so extra or
//! trailing spaces and a bootloader's newline are harmless):
//!
//! ```text
//! [option ...] [env=NAME=VALUE ...] -- argv0 [argv1 ...]
//! option = key | key=value          e.g. strace   console=split
//! ```
//!
//! Every token is percent-encoded (`%XX`, two hex digits): a byte is encoded when it is a
//! control byte or space (`<= 0x20`), `0x7f` or above, `%` or `"`, and in option keys also
//! `=`. Any byte string therefore survives, and the encoded line is printable ASCII. Only the
//! first raw `=` of an option splits key from value, so `env=PATH=/bin:/usr/bin` is the
//! variable `PATH=/bin:/usr/bin`. The raw token `""` is the empty string (an empty argv
//! element would otherwise vanish between two spaces). The raw token `--` ends the options;
//! everything after it is argv, including further `--` tokens. An option whose key is
//! literally `env` or `--` is encoded so that it cannot be mistaken for those.
//!
//! A NUL byte can be encoded (`%00`) but is refused by [`BootArgs::decode`], as execve(2)
//! could not pass it on: [`BootArgs::check`] tells the host tool before it boots anything.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The token that separates options from argv.
pub const SEPARATOR: &str = "--";

/// The option key whose values are environment entries.
pub const ENV_KEY: &str = "env";

/// The decoded command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootArgs {
    /// Kernel options in order: `(key, None)` for `key`, `(key, Some(value))` for
    /// `key=value`.
    pub options: Vec<(String, Option<Vec<u8>>)>,
    /// The app's environment entries (`NAME=VALUE`), in order.
    pub env: Vec<Vec<u8>>,
    /// The app's argv; `argv[0]` is the program path. Never empty once decoded.
    pub argv: Vec<Vec<u8>>,
}

/// Why a command line could not be decoded. `token` counts whitespace-separated tokens
/// from 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CmdlineError {
    /// A `%` not followed by two hex digits.
    #[error("token {token}: bad percent escape")]
    BadEscape {
        /// The token's index.
        token: usize,
    },
    /// A token decodes to bytes containing NUL, which no C string can carry.
    #[error("token {token}: contains a NUL byte")]
    NulByte {
        /// The token's index.
        token: usize,
    },
    /// An option with an empty key (`=value`).
    #[error("token {token}: option with an empty key")]
    EmptyKey {
        /// The token's index.
        token: usize,
    },
    /// An option key that is not UTF-8.
    #[error("token {token}: option key is not UTF-8")]
    KeyNotUtf8 {
        /// The token's index.
        token: usize,
    },
    /// `env` without `=NAME=VALUE`.
    #[error("token {token}: `env` needs a value")]
    EnvWithoutValue {
        /// The token's index.
        token: usize,
    },
    /// No `--` token.
    #[error("no `--` before the program and its arguments")]
    MissingSeparator,
    /// Nothing after `--`.
    #[error("no program after `--`")]
    EmptyArgv,
    /// The encoded arguments and environment are longer than the kernel accepts.
    #[error("the arguments and environment take {len} bytes encoded; the limit is {max}", max = MAX_APP_LEN)]
    TooLong {
        /// The encoded length.
        len: usize,
    },
}

/// The largest `tsc_khz=` [`BootArgs::tsc_khz`] accepts: 100 GHz, far above any TSC.
pub const MAX_TSC_KHZ: u64 = 100_000_000;

/// The longest command line the kernel reads (its PVH parser's buffer), NUL excluded.
pub const MAX_LEN: usize = 64 * 1024 - 1;

/// The longest encoding [`BootArgs::check`] accepts: [`MAX_LEN`] minus room for the
/// options a launcher adds around the app's (console, terminal shape, clock).
pub const MAX_APP_LEN: usize = MAX_LEN - 1024;

impl BootArgs {
    /// Boot arguments that run `argv` with no options and an empty environment.
    pub fn new(argv: Vec<Vec<u8>>) -> BootArgs {
        BootArgs {
            argv,
            ..BootArgs::default()
        }
    }

    /// The value of the last `key` option: `None` if absent, `Some(None)` for a bare `key`,
    /// `Some(Some(v))` for `key=v`.
    pub fn option(&self, key: &str) -> Option<Option<&[u8]>> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether `key` was given at all (as `key` or `key=anything`).
    pub fn has_option(&self, key: &str) -> bool {
        self.option(key).is_some()
    }

    /// The TSC frequency the `tsc_khz=N` option gives (it skips the kernel's calibration),
    /// `None` if absent or outside 1 kHz..=100 GHz: the kernel multiplies it by 1000 and
    /// divides by it, so `0` or a value near `u64::MAX` would divide by zero or overflow.
    pub fn tsc_khz(&self) -> Option<u64> {
        let v = core::str::from_utf8(self.option("tsc_khz")??).ok()?;
        v.parse().ok().filter(|k| (1..=MAX_TSC_KHZ).contains(k))
    }

    /// The terminal size `winsize=ROWSxCOLS` gives, `None` if absent or malformed (each a
    /// number up to 65535, as `struct winsize` holds).
    pub fn winsize(&self) -> Option<(u16, u16)> {
        let v = core::str::from_utf8(self.option("winsize")??).ok()?;
        let (rows, cols) = v.split_once('x')?;
        Some((rows.parse().ok()?, cols.parse().ok()?))
    }

    /// Whether [`BootArgs::encode`]'s output will decode back to `self` and fit the kernel:
    /// argv is not empty, no key is empty, no string contains NUL, and the encoding is at most
    /// [`MAX_APP_LEN`] bytes.
    pub fn check(&self) -> Result<(), CmdlineError> {
        let mut token = 0;
        for (k, v) in &self.options {
            if k.is_empty() {
                return Err(CmdlineError::EmptyKey { token });
            }
            if k.as_bytes().contains(&0) || v.as_ref().is_some_and(|v| v.contains(&0)) {
                return Err(CmdlineError::NulByte { token });
            }
            token += 1;
        }
        for e in &self.env {
            if e.contains(&0) {
                return Err(CmdlineError::NulByte { token });
            }
            token += 1;
        }
        token += 1; // the separator
        if self.argv.is_empty() {
            return Err(CmdlineError::EmptyArgv);
        }
        for a in &self.argv {
            if a.contains(&0) {
                return Err(CmdlineError::NulByte { token });
            }
            token += 1;
        }
        let len = self.encode().len();
        if len > MAX_APP_LEN {
            return Err(CmdlineError::TooLong { len });
        }
        Ok(())
    }

    /// The command line for these arguments (printable ASCII, no NUL).
    pub fn encode(&self) -> String {
        let mut line = String::new();
        for (k, v) in &self.options {
            if k.is_empty() {
                // Invalid (see `check`), but kept visible so that decoding reports it.
                line.push_str("\"\"");
            } else if k == ENV_KEY || k == SEPARATOR {
                // Encode one byte more than needed so the raw key cannot match.
                push_escape(&mut line, k.as_bytes()[0]);
                encode_into(&mut line, &k.as_bytes()[1..], true);
            } else {
                encode_into(&mut line, k.as_bytes(), true);
            }
            if let Some(v) = v {
                line.push('=');
                encode_into(&mut line, v, false);
            }
            line.push(' ');
        }
        for e in &self.env {
            line.push_str(ENV_KEY);
            line.push('=');
            encode_into(&mut line, e, false);
            line.push(' ');
        }
        line.push_str(SEPARATOR);
        for a in &self.argv {
            line.push(' ');
            if a.is_empty() {
                line.push_str("\"\"");
            } else {
                encode_into(&mut line, a, false);
            }
        }
        line
    }

    /// Parses a command line (see the module docs for the format).
    pub fn decode(line: &str) -> Result<BootArgs, CmdlineError> {
        BootArgs::decode_bytes(line.as_bytes())
    }

    /// Parses a command line given as raw bytes, as the kernel finds it in memory. Bytes
    /// outside printable ASCII that appear unencoded are taken literally, except NUL, which is
    /// refused as `%00` is.
    pub fn decode_bytes(line: &[u8]) -> Result<BootArgs, CmdlineError> {
        let mut args = BootArgs::default();
        let mut tokens = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .enumerate();
        let mut separated = false;
        for (token, raw) in tokens.by_ref() {
            if raw == SEPARATOR.as_bytes() {
                separated = true;
                break;
            }
            let (raw_key, raw_value) = match raw.iter().position(|&b| b == b'=') {
                Some(i) => (&raw[..i], Some(&raw[i + 1..])),
                None => (raw, None),
            };
            if raw_key == ENV_KEY.as_bytes() {
                let v = raw_value.ok_or(CmdlineError::EnvWithoutValue { token })?;
                args.env.push(decode_piece(v, token)?);
                continue;
            }
            let key = decode_piece(raw_key, token)?;
            if key.is_empty() {
                return Err(CmdlineError::EmptyKey { token });
            }
            let key = String::from_utf8(key).map_err(|_| CmdlineError::KeyNotUtf8 { token })?;
            let value = raw_value.map(|v| decode_piece(v, token)).transpose()?;
            args.options.push((key, value));
        }
        if !separated {
            return Err(CmdlineError::MissingSeparator);
        }
        for (token, raw) in tokens {
            args.argv.push(decode_piece(raw, token)?);
        }
        if args.argv.is_empty() {
            return Err(CmdlineError::EmptyArgv);
        }
        Ok(args)
    }
}

/// Whether `b` must be escaped (`=` only in keys).
const fn needs_escape(b: u8, in_key: bool) -> bool {
    b <= b' ' || b >= 0x7f || b == b'%' || b == b'"' || (in_key && b == b'=')
}

fn push_escape(line: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(line, "%{b:02X}");
}

fn encode_into(line: &mut String, bytes: &[u8], in_key: bool) {
    for &b in bytes {
        if needs_escape(b, in_key) {
            push_escape(line, b);
        } else {
            line.push(b as char);
        }
    }
}

/// Percent-decodes one key, value or argv token; `""` is the empty string.
fn decode_piece(raw: &[u8], token: usize) -> Result<Vec<u8>, CmdlineError> {
    if raw == b"\"\"" {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .ok_or(CmdlineError::BadEscape { token })?;
            let v = core::str::from_utf8(hex)
                .ok()
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(CmdlineError::BadEscape { token })?;
            if v == 0 {
                return Err(CmdlineError::NulByte { token });
            }
            out.push(v);
            i += 3;
        } else if b == 0 {
            // As `%00`: a raw NUL (a loader that passes a length rather than a C string) would
            // otherwise cut the argument short when it becomes a C string for execve(2).
            return Err(CmdlineError::NulByte { token });
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;
    use alloc::vec;

    fn args(options: &[(&str, Option<&[u8]>)], env: &[&[u8]], argv: &[&[u8]]) -> BootArgs {
        BootArgs {
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(<[u8]>::to_vec)))
                .collect(),
            env: env.iter().map(|e| e.to_vec()).collect(),
            argv: argv.iter().map(|a| a.to_vec()).collect(),
        }
    }

    #[test]
    fn encodes_readably() {
        let a = args(
            &[("strace", None), ("console", Some(b"split"))],
            &[b"PATH=/bin:/usr/bin", b"GREETING=hello world"],
            &[b"/bin/prog", b"-x", b"100%", b""],
        );
        let line = a.encode();
        assert_eq!(
            line,
            "strace console=split env=PATH=/bin:/usr/bin env=GREETING=hello%20world -- /bin/prog -x 100%25 \"\""
        );
        assert_eq!(BootArgs::decode(&line), Ok(a));
    }

    #[test]
    fn decoding_tolerates_whitespace_and_lowercase_hex() {
        let a = BootArgs::decode("  strace \t verbose=1   --   /bin/prog  a%2fb \n").unwrap();
        assert_eq!(a.option("strace"), Some(None));
        assert_eq!(a.option("verbose"), Some(Some(&b"1"[..])));
        assert_eq!(a.option("quiet"), None);
        assert!(a.has_option("strace"));
        assert_eq!(a.argv, vec![b"/bin/prog".to_vec(), b"a/b".to_vec()]);
        assert!(a.env.is_empty());
    }

    #[test]
    fn later_options_win_and_dashes_after_the_separator_are_argv() {
        let a = BootArgs::decode("log=1 log=2 -- prog -- --x").unwrap();
        assert_eq!(a.option("log"), Some(Some(&b"2"[..])));
        assert_eq!(
            a.argv,
            vec![b"prog".to_vec(), b"--".to_vec(), b"--x".to_vec()]
        );
    }

    #[test]
    fn errors_are_typed() {
        use CmdlineError::*;
        assert_eq!(BootArgs::decode("strace /bin/prog"), Err(MissingSeparator));
        assert_eq!(BootArgs::decode(""), Err(MissingSeparator));
        assert_eq!(BootArgs::decode("strace --"), Err(EmptyArgv));
        assert_eq!(BootArgs::decode("strace --   "), Err(EmptyArgv));
        assert_eq!(BootArgs::decode("-- a%"), Err(BadEscape { token: 1 }));
        assert_eq!(BootArgs::decode("-- a%4"), Err(BadEscape { token: 1 }));
        assert_eq!(BootArgs::decode("-- a%zz"), Err(BadEscape { token: 1 }));
        assert_eq!(BootArgs::decode("-- a%+1"), Err(BadEscape { token: 1 }));
        assert_eq!(BootArgs::decode("x -- a%00"), Err(NulByte { token: 2 }));
        assert_eq!(BootArgs::decode("=v -- a"), Err(EmptyKey { token: 0 }));
        assert_eq!(
            BootArgs::decode("env -- a"),
            Err(EnvWithoutValue { token: 0 })
        );
        assert_eq!(BootArgs::decode("%FF -- a"), Err(KeyNotUtf8 { token: 0 }));
        // Multi-byte UTF-8 in an escape position is a bad escape, not a panic.
        assert_eq!(BootArgs::decode("-- %é"), Err(BadEscape { token: 1 }));
    }

    #[test]
    fn reserved_keys_are_encoded_apart() {
        let a = args(
            &[("env", Some(b"x")), ("--", None), ("a=b", Some(b"c=d"))],
            &[b"E=1"],
            &[b"p"],
        );
        let line = a.encode();
        assert_eq!(line, "%65nv=x %2D- a%3Db=c=d env=E=1 -- p");
        assert_eq!(BootArgs::decode(&line), Ok(a));
    }

    #[test]
    fn check_refuses_what_the_kernel_cannot_read() {
        let fits = BootArgs::new(vec![b"/p".to_vec(), vec![b'a'; MAX_APP_LEN - 10]]);
        assert_eq!(fits.check(), Ok(()));
        let long = BootArgs::new(vec![b"/p".to_vec(), vec![b'a'; 70_000]]);
        assert!(matches!(long.check(), Err(CmdlineError::TooLong { len }) if len > 70_000));
        // Escapes count at their encoded size.
        let escaped = BootArgs::new(vec![b"/p".to_vec(), vec![b' '; MAX_APP_LEN / 3 + 10]]);
        assert!(matches!(escaped.check(), Err(CmdlineError::TooLong { .. })));
    }

    #[test]
    fn check_reports_what_decode_would_refuse() {
        assert_eq!(BootArgs::new(vec![]).check(), Err(CmdlineError::EmptyArgv));
        assert_eq!(
            BootArgs::new(vec![b"a\0b".to_vec()]).check(),
            Err(CmdlineError::NulByte { token: 1 })
        );
        let bad = args(&[("", None)], &[], &[b"p"]);
        assert_eq!(bad.check(), Err(CmdlineError::EmptyKey { token: 0 }));
        assert_eq!(
            BootArgs::decode(&bad.encode()),
            Err(CmdlineError::EmptyKey { token: 0 })
        );
        let nul = args(&[], &[b"A=\0"], &[b"p"]);
        assert_eq!(nul.check(), Err(CmdlineError::NulByte { token: 0 }));
        assert_eq!(
            BootArgs::decode(&nul.encode()),
            Err(CmdlineError::NulByte { token: 0 })
        );
        assert!(BootArgs::new(vec![b"p".to_vec()]).check().is_ok());
    }

    /// xorshift64: a fixed-seed PRNG for the round-trip property.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }

        /// Non-NUL bytes, biased toward the characters the encoding cares about.
        fn bytes(&mut self, max_len: u64) -> Vec<u8> {
            const SPECIAL: &[u8] = b" %=\"-\t\n\x7f\xff\xc3\xa9e";
            (0..self.below(max_len + 1))
                .map(|_| match self.below(3) {
                    0 => SPECIAL[self.below(SPECIAL.len() as u64)],
                    _ => 1 + self.below(255) as u8,
                })
                .collect()
        }

        fn key(&mut self) -> String {
            const CHARS: &[char] = &[
                'a',
                'z',
                '=',
                ' ',
                '%',
                '-',
                '"',
                'é',
                '\u{1F600}',
                '_',
                '\t',
            ];
            let len = 1 + self.below(6);
            (0..len)
                .map(|_| CHARS[self.below(CHARS.len() as u64)])
                .collect()
        }
    }

    #[test]
    fn numeric_options_refuse_absurd_values() {
        let args = |line: &str| BootArgs::decode(line).unwrap();
        assert_eq!(args("tsc_khz=2999999 -- p").tsc_khz(), Some(2_999_999));
        for bad in [
            "0",
            "-1",
            "18446744073709551615",
            "100000001",
            "3e6",
            "",
            "0x10",
        ] {
            assert_eq!(args(&alloc::format!("tsc_khz={bad} -- p")).tsc_khz(), None);
        }
        assert_eq!(args("tsc_khz -- p").tsc_khz(), None);
        assert_eq!(args("winsize=50x132 -- p").winsize(), Some((50, 132)));
        for bad in ["65536x80", "24x", "x80", "24", "-1x80", "24x80x1", "%FFx80"] {
            assert_eq!(args(&alloc::format!("winsize={bad} -- p")).winsize(), None);
        }
    }

    /// Random bytes and mutated real lines: decoding never panics, and what it returns is
    /// never larger than its input (every piece is a decoded part of one token).
    #[test]
    fn decodes_random_bytes_without_panicking() {
        let mut rng = Rng(0x5eed_0fc0_ffee_4242);
        let real = b"console=split tty=012 winsize=24x80 tsc_khz=2995200 verbose disk=/ \
            disk=/mnt ip=10.0.2.15/24 env=HOME=/ env=PATH=/bin:/usr/bin -- /bin/app -x \"\" a%20b";
        let mut decoded = 0;
        for i in 0..20_000 {
            let line = if i % 2 == 0 {
                rng.bytes(200)
            } else {
                let mut l = real.to_vec();
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(l.len() as u64 + 1);
                    match rng.below(3) {
                        0 if at < l.len() => l[at] = rng.next() as u8,
                        1 if at < l.len() => drop(l.remove(at)),
                        _ => l.insert(at, b"%=- \"\0"[rng.below(6)]),
                    }
                }
                l
            };
            if let Ok(a) = BootArgs::decode_bytes(&line) {
                decoded += 1;
                assert!(!a.argv.is_empty());
                let pieces: usize = a
                    .options
                    .iter()
                    .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                    .sum::<usize>()
                    + a.env.iter().chain(&a.argv).map(Vec::len).sum::<usize>();
                assert!(pieces <= line.len(), "{line:?}");
                let _ = (a.tsc_khz(), a.winsize());
                // What decodes encodes back to a line that decodes the same.
                assert_eq!(BootArgs::decode(&a.encode()).as_ref(), Ok(&a), "{line:?}");
            }
        }
        assert!(decoded > 1000, "only {decoded} lines decoded");
    }

    #[test]
    fn round_trips_random_arguments() {
        let mut rng = Rng(0x0dd_ba11_cafe_f00d);
        for _ in 0..5000 {
            let options = (0..rng.below(4))
                .map(|_| {
                    let k = rng.key();
                    let v = if rng.below(2) == 0 {
                        None
                    } else {
                        Some(rng.bytes(12))
                    };
                    (k, v)
                })
                .collect();
            let env = (0..rng.below(4)).map(|_| rng.bytes(16)).collect();
            let argv = (0..1 + rng.below(5)).map(|_| rng.bytes(16)).collect();
            let a = BootArgs { options, env, argv };
            assert_eq!(a.check(), Ok(()));
            let line = a.encode();
            assert!(
                line.bytes().all(|b| (b' '..=b'~').contains(&b)),
                "not printable: {line:?}"
            );
            assert_eq!(BootArgs::decode(&line).as_ref(), Ok(&a), "line {line:?}");
            // Extra whitespace between and around tokens changes nothing.
            let spaced = alloc::format!("  {}\n", line.replace(' ', "  \t"));
            assert_eq!(BootArgs::decode(&spaced), Ok(a));
        }
    }
}
