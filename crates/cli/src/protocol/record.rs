//! Control records: the kernel's structured messages to the host on the kernel-log channel.
//!
//! A record is one line: the byte 0x1E (ASCII "record separator"), `oxv:`, a kind, then
//! space-separated `key=value` pairs (`notes/protocol.md`). Numbers are decimal or `0x` hex.
//! Unknown kinds and unknown keys are kept or ignored, not rejected, so a newer kernel can
//! add records without breaking an older CLI; a known kind with a missing or unparsable
//! required value is a [`RecordError`], which the CLI logs and otherwise ignores.

use std::fmt;

/// The byte that starts a record.
pub const MARK: char = '\u{1e}';
const PREFIX: &str = "oxv:";

/// A parsed control record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `exit status=N`: the app called exit_group(N).
    Exit {
        /// 0..=255.
        status: u8,
    },
    /// `killed sig=N name=SIG addr=A rip=R`: the app died of a signal.
    Killed(Killed),
    /// `panic`: the kernel panicked; its message follows as plain log lines.
    Panic,
    /// `backtrace A B ...`: return addresses of the panic, innermost first, at their link-time
    /// addresses (the kernel takes its KASLR slide off), so the kernel ELF symbolizes them.
    Backtrace(Vec<u64>),
    /// `boot entry_to_app_us=N`: microseconds from kernel entry to the app's first instruction.
    Boot {
        /// The time, if the kernel gave it.
        entry_to_app_us: Option<u64>,
    },
    /// A kind this CLI does not know; shown in the log.
    Unknown {
        /// The kind word.
        kind: String,
    },
}

/// How the app died, from a `killed` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed {
    /// The signal number (1..=127).
    pub sig: u8,
    /// The signal's name (`SIGSEGV`), if given.
    pub name: Option<String>,
    /// The faulting address (SIGSEGV, SIGBUS).
    pub addr: Option<u64>,
    /// The instruction pointer at the fault.
    pub rip: Option<u64>,
}

impl Killed {
    /// The shell-style exit status for this death: 128 + signal.
    pub fn exit_status(&self) -> u8 {
        128u8.saturating_add(self.sig)
    }
}

impl fmt::Display for Killed {
    /// `SIGSEGV (address 0x10, rip 0x401136)`, as in the `killed by` message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => f.write_str(name)?,
            None => write!(f, "signal {}", self.sig)?,
        }
        let details: Vec<String> = [
            self.addr.map(|a| format!("address {a:#x}")),
            self.rip.map(|r| format!("rip {r:#x}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

/// A record of a known kind that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed `{kind}` record: {reason}")]
pub struct RecordError {
    /// The record's kind.
    pub kind: String,
    /// What was wrong.
    pub reason: String,
}

/// One kernel-log line, split into the plain text before a record mark and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// Text for the log (empty if the line was only a record).
    pub text: &'a str,
    /// The record that ended the line, if any.
    pub record: Option<Result<Record, RecordError>>,
}

/// Splits `line` (without its newline) into log text and an optional record. A record
/// normally starts the line, but the kernel may have left a partial line before it; that text
/// is kept for the log. A 0x1E not followed by `oxv:` is just text.
pub fn classify(line: &str) -> LogLine<'_> {
    if let Some(at) = line.find(MARK) {
        let body = &line[at + MARK.len_utf8()..];
        if let Some(body) = body.strip_prefix(PREFIX) {
            return LogLine {
                text: &line[..at],
                record: Some(parse_body(body)),
            };
        }
    }
    LogLine {
        text: line,
        record: None,
    }
}

/// Parses what follows `\x1eoxv:`.
pub fn parse_body(body: &str) -> Result<Record, RecordError> {
    let mut words = body.split_ascii_whitespace();
    let kind = words.next().unwrap_or("").to_string();
    let err = |reason: String| RecordError {
        kind: kind.clone(),
        reason,
    };
    match kind.as_str() {
        "exit" => {
            let fields = Fields::new(words);
            let status = fields.number("status").map_err(err)?;
            let status = u8::try_from(status)
                .map_err(|_| err(format!("status {status} is not in 0..=255")))?;
            Ok(Record::Exit { status })
        }
        "killed" => {
            let fields = Fields::new(words);
            let sig = fields.number("sig").map_err(err)?;
            let sig = u8::try_from(sig)
                .ok()
                .filter(|s| (1..=127).contains(s))
                .ok_or_else(|| err(format!("sig {sig} is not a signal number")))?;
            Ok(Record::Killed(Killed {
                sig,
                name: fields.get("name").map(str::to_string),
                addr: fields.optional_number("addr").map_err(err)?,
                rip: fields.optional_number("rip").map_err(err)?,
            }))
        }
        "panic" => Ok(Record::Panic),
        "backtrace" => words
            .map(|w| parse_number(w).ok_or_else(|| err(format!("bad address {w:?}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Record::Backtrace),
        "boot" => {
            let fields = Fields::new(words);
            Ok(Record::Boot {
                entry_to_app_us: fields.optional_number("entry_to_app_us").map_err(err)?,
            })
        }
        "" => Err(err("no kind".into())),
        _ => Ok(Record::Unknown { kind }),
    }
}

/// `key=value` words; words without `=` are ignored.
struct Fields<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Fields<'a> {
    fn new(words: impl Iterator<Item = &'a str>) -> Self {
        Self(words.filter_map(|w| w.split_once('=')).collect())
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn number(&self, key: &str) -> Result<u64, String> {
        self.optional_number(key)?
            .ok_or_else(|| format!("missing {key}="))
    }

    fn optional_number(&self, key: &str) -> Result<Option<u64>, String> {
        self.get(key)
            .map(|v| parse_number(v).ok_or_else(|| format!("{key}={v:?} is not a number")))
            .transpose()
    }
}

/// Decimal, or hexadecimal with `0x`.
fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: &str) -> Result<Record, RecordError> {
        classify(line).record.expect("a record")
    }

    #[test]
    fn exit_records() {
        assert_eq!(
            record("\x1eoxv:exit status=0"),
            Ok(Record::Exit { status: 0 })
        );
        assert_eq!(
            record("\x1eoxv:exit status=255"),
            Ok(Record::Exit { status: 255 })
        );
        assert!(record("\x1eoxv:exit status=256").is_err());
        assert!(record("\x1eoxv:exit").is_err());
        assert!(record("\x1eoxv:exit status=x").is_err());
    }

    #[test]
    fn killed_records_and_their_message() {
        let r = record("\x1eoxv:killed sig=11 name=SIGSEGV addr=0x10 rip=0x401136");
        let Ok(Record::Killed(k)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(k.exit_status(), 139);
        assert_eq!(k.to_string(), "SIGSEGV (address 0x10, rip 0x401136)");

        let r = record("\x1eoxv:killed sig=6 name=SIGABRT");
        let Ok(Record::Killed(k)) = r else {
            panic!("{r:?}")
        };
        assert_eq!((k.exit_status(), k.to_string()), (134, "SIGABRT".into()));

        let r = record("\x1eoxv:killed sig=4 rip=4198710");
        let Ok(Record::Killed(k)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(k.to_string(), "signal 4 (rip 0x401136)");

        let r = record("\x1eoxv:killed sig=11 name=SIGSEGV addr=0x0");
        let Ok(Record::Killed(k)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(k.to_string(), "SIGSEGV (address 0x0)");

        assert!(record("\x1eoxv:killed sig=0").is_err());
        assert!(record("\x1eoxv:killed sig=300").is_err());
        assert!(record("\x1eoxv:killed name=SIGSEGV").is_err());
        assert!(record("\x1eoxv:killed sig=11 addr=zz").is_err());
    }

    #[test]
    fn panic_backtrace_boot_and_unknown() {
        assert_eq!(record("\x1eoxv:panic"), Ok(Record::Panic));
        assert_eq!(
            record("\x1eoxv:backtrace 0xffffffff80101234 0xffffffff80105678"),
            Ok(Record::Backtrace(vec![
                0xffff_ffff_8010_1234,
                0xffff_ffff_8010_5678
            ]))
        );
        assert_eq!(record("\x1eoxv:backtrace"), Ok(Record::Backtrace(vec![])));
        assert!(record("\x1eoxv:backtrace 0xzz").is_err());
        assert_eq!(
            record("\x1eoxv:boot entry_to_app_us=1234"),
            Ok(Record::Boot {
                entry_to_app_us: Some(1234)
            })
        );
        assert_eq!(
            record("\x1eoxv:hello a=b"),
            Ok(Record::Unknown {
                kind: "hello".into()
            })
        );
        assert!(record("\x1eoxv:").is_err());
    }

    #[test]
    fn text_before_a_record_is_kept_and_plain_lines_have_none() {
        let l = classify("partial\x1eoxv:exit status=3");
        assert_eq!(l.text, "partial");
        assert_eq!(l.record, Some(Ok(Record::Exit { status: 3 })));
        let l = classify("[0.01] hello");
        assert_eq!((l.text, l.record), ("[0.01] hello", None));
        let l = classify("\x1enot a record");
        assert_eq!((l.text, l.record), ("\x1enot a record", None));
    }

    #[test]
    fn unknown_keys_are_ignored() {
        assert_eq!(
            record("\x1eoxv:exit code=9 status=4 extra"),
            Ok(Record::Exit { status: 4 })
        );
    }
}
