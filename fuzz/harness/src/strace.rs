//! Turns strace-style lines (what `cargo oxv run --strace` prints on stderr) into fuzz inputs,
//! for the seed corpus.
//!
//! The conversion keeps what matters for reaching deep states and approximates the rest:
//! strings become bytes poked into the scratch region and a pointer to them; fds and mmap
//! addresses that an earlier call returned become [`Arg::Result`] references (the fuzz
//! process returns different numbers); other addresses become pointers into scratch; symbolic
//! flags are summed from the names below (unknown names count as 0). Lines that do not parse,
//! and calls that end the process, are skipped.

use crate::input::{Arg, Op};
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl as io;
use oxv_abi::Sysno;
use std::str::FromStr;

/// Where converted strings go in scratch (the first 32 KiB; structs use the rest).
const STRING_AREA: (u16, u16) = (0x0000, 0x8000);
/// Where pointers to anything else go.
const STRUCT_AREA: u16 = 0xa000;

macro_rules! names {
    ($m:ident; $($n:ident),* $(,)?) => {
        &[$((stringify!($n), $m::$n as u64)),*]
    };
}

/// The symbolic names strace prints, with their values.
const NAMES: &[&[(&str, u64)]] = &[
    names!(g; O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND,
        O_NONBLOCK, O_SYNC, O_DSYNC, O_DIRECT, O_LARGEFILE, O_TMPFILE, O_DIRECTORY, O_NOFOLLOW,
        O_NOATIME, O_CLOEXEC, O_PATH),
    names!(g; PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, MAP_SHARED,
        MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_NORESERVE, MAP_POPULATE,
        MAP_STACK, MAP_FIXED_NOREPLACE, MAP_DENYWRITE),
    names!(g; AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH,
        AT_NO_AUTOMOUNT, AT_EACCESS, AT_STATX_SYNC_AS_STAT, R_OK, W_OK, X_OK, F_OK),
    names!(g; SEEK_SET, SEEK_CUR, SEEK_END, F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
        F_DUPFD_CLOEXEC, FD_CLOEXEC),
    names!(g; SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP,
        SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
        SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SS_ONSTACK, SS_DISABLE),
    names!(g; CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
        CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
        TIMER_ABSTIME),
    names!(g; RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS,
        RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS),
    names!(g; STATX_TYPE, STATX_MODE, STATX_NLINK, STATX_SIZE, STATX_BASIC_STATS, STATX_ALL,
        POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLPRI),
    names!(g; MADV_DONTNEED, MADV_FREE, MADV_NORMAL, FUTEX_WAIT, FUTEX_WAKE,
        FUTEX_PRIVATE_FLAG, GRND_NONBLOCK, GRND_RANDOM),
    names!(io; TCGETS, TCSETS, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, FIONREAD, FIONBIO),
];

fn name_value(name: &str) -> Option<u64> {
    match name {
        "AT_FDCWD" => return Some(g::AT_FDCWD as i64 as u64),
        "NULL" => return Some(0),
        "RLIM64_INFINITY" | "RLIM_INFINITY" => return Some(u64::MAX),
        _ => {}
    }
    NAMES
        .iter()
        .flat_map(|t| t.iter())
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

/// Splits the argument list at top-level commas (not inside quotes, braces or brackets).
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0usize);
    for (i, c) in s.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// The bytes of a C string literal as strace prints it (`\n`, `\t`, `\"`, `\\`, octal,
/// `\xHH`), without the quotes or a trailing `...`.
fn unescape(lit: &str) -> Vec<u8> {
    let body = lit.trim_end_matches("...");
    let body = body.strip_prefix('"').unwrap_or(body);
    let body = body.strip_suffix('"').unwrap_or(body);
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' => {
                let hex: String = b[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .map(|&c| c as char)
                    .collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
                i += hex.len();
            }
            b'0'..=b'7' => {
                let oct: String = b[i..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .map(|&c| c as char)
                    .collect();
                out.push(u8::from_str_radix(&oct, 8).unwrap_or(0));
                i += oct.len() - 1;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn number(tok: &str) -> Option<u64> {
    let (neg, t) = match tok.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, tok),
    };
    let v = if let Some(h) = t.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') && t.bytes().all(|c| c.is_ascii_digit()) {
        u64::from_str_radix(t, 8).ok()?
    } else {
        t.parse::<u64>().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// A flag expression `A|B|0x10`; `None` if any part is neither a name nor a number.
fn flags(tok: &str) -> Option<u64> {
    tok.split('|')
        .map(|part| {
            let part = part.trim();
            number(part).or_else(|| name_value(part)).or_else(|| {
                // Names oxv-abi prints that are missing from the table: count as 0.
                part.bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
                    .then_some(0)
            })
        })
        .try_fold(0u64, |acc, v| Some(acc | v?))
}

/// Converts a whole strace log; see the [module docs](self).
#[derive(Default)]
pub struct Converter {
    ops: Vec<Op>,
    /// The guest's result of each emitted syscall op (`None` for errors and `?`).
    results: Vec<Option<u64>>,
    /// Which of them returned an fd.
    fd_results: Vec<bool>,
    next_string: u16,
    /// The guest's first program break, so later brk(2) requests keep their offset from it.
    guest_brk: Option<u64>,
}

impl Converter {
    /// A converter with nothing converted yet.
    pub fn new() -> Converter {
        Converter {
            next_string: STRING_AREA.0,
            ..Converter::default()
        }
    }

    /// Converts one line (skipped if it is not a syscall line).
    pub fn line(&mut self, line: &str) {
        let _ = self.try_line(line.trim());
    }

    /// The operations so far.
    pub fn finish(self) -> Vec<Op> {
        self.ops
    }

    fn result_ref(&self, value: u64, fd_position: bool) -> Option<Arg> {
        let pos = self.results.iter().rposition(|r| *r == Some(value))?;
        if fd_position && !self.fd_results[pos] {
            return None;
        }
        let k = self.results.len() - 1 - pos;
        u8::try_from(k).ok().map(Arg::Result)
    }

    fn string_arg(&mut self, lit: &str) -> Arg {
        let mut bytes = unescape(lit);
        bytes.truncate(254);
        bytes.push(0);
        let len = bytes.len() as u16;
        if self.next_string + len > STRING_AREA.1 {
            self.next_string = STRING_AREA.0;
        }
        let off = self.next_string;
        self.next_string += len;
        self.ops.push(Op::Poke { off, bytes });
        Arg::Scratch(off)
    }

    fn arg(&mut self, tok: &str, index: usize, fd_first: bool) -> Arg {
        if tok.starts_with('"') {
            return self.string_arg(tok);
        }
        if tok.starts_with('{') || tok.starts_with('[') {
            return Arg::Scratch(STRUCT_AREA + 0x100 * index as u16);
        }
        if let Some(v) = number(tok) {
            if tok.starts_with("0x") && v >= 0x10000 {
                // An address: one an earlier call returned, or else a buffer.
                return self
                    .result_ref(v, false)
                    .unwrap_or(Arg::Scratch(STRUCT_AREA + 0x100 * index as u16));
            }
            if index == 0 && fd_first && v >= 3 {
                if let Some(r) = self.result_ref(v, true) {
                    return r;
                }
            }
            return match i8::try_from(v as i64) {
                Ok(small) => Arg::Small(small),
                Err(_) => Arg::Raw(v),
            };
        }
        match flags(tok) {
            Some(v) => Arg::Raw(v),
            None => Arg::Scratch(STRUCT_AREA + 0x100 * index as u16),
        }
    }

    fn try_line(&mut self, line: &str) -> Option<()> {
        let open = line.find('(')?;
        let name = &line[..open];
        if name.is_empty()
            || !name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        {
            return None;
        }
        let sysno = Sysno::from_str(name).ok()?;
        if matches!(sysno, Sysno::exit | Sysno::exit_group) {
            return None;
        }
        let close = line.rfind(") = ")?;
        let result = line[close + 4..].trim();
        let args = split_args(&line[open + 1..close]);
        let fd_first = !matches!(
            sysno,
            Sysno::mmap | Sysno::munmap | Sysno::mprotect | Sysno::brk | Sysno::madvise
        );
        let mut regs = [Arg::Small(0); 6];
        for (i, tok) in args.iter().take(6).enumerate() {
            regs[i] = self.arg(tok, i, fd_first);
        }
        if sysno == Sysno::brk {
            // The break lives elsewhere in the fuzz process: keep the offset from the start.
            let requested = args.first().and_then(|t| number(t)).unwrap_or(0);
            regs[0] = match self.guest_brk {
                Some(base) if requested >= base => {
                    Arg::Raw(crate::input::BRK_BASE + (requested - base))
                }
                _ => Arg::Raw(0),
            };
            if self.guest_brk.is_none() {
                self.guest_brk = result.split_whitespace().next().and_then(number);
            }
        }
        self.ops.push(Op::Syscall {
            nr: sysno.id() as u16,
            args: regs,
        });
        let value = result.split_whitespace().next().and_then(number);
        let ok = value.filter(|_| !result.starts_with("-1 "));
        self.results.push(ok);
        self.fd_results.push(matches!(
            sysno,
            Sysno::open
                | Sysno::openat
                | Sysno::creat
                | Sysno::dup
                | Sysno::dup2
                | Sysno::dup3
                | Sysno::fcntl
        ));
        Some(())
    }
}

/// Converts a log (one syscall per line).
pub fn convert(log: &str) -> Vec<Op> {
    let mut c = Converter::new();
    for line in log.lines() {
        if c.ops.len() >= crate::MAX_OPS {
            break;
        }
        c.line(line);
    }
    let mut ops = c.finish();
    ops.truncate(crate::MAX_OPS);
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_calls_with_strings_and_result_references() {
        let ops = convert(
            "openat(AT_FDCWD, \"/tmp/x\\n\", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 3\n\
             write(3, \"hi\"..., 2) = 2\n\
             garbage line\n\
             mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n\
             munmap(0x7f0000001000, 4096) = 0\n\
             exit_group(0) = ?\n",
        );
        let calls: Vec<_> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Syscall { nr, args } => Some((*nr, *args)),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 4);
        assert_eq!(i32::from(calls[0].0), Sysno::openat.id());
        assert_eq!(calls[0].1[0], Arg::Raw(g::AT_FDCWD as i64 as u64));
        assert_eq!(
            calls[0].1[2],
            Arg::Raw((g::O_RDWR | g::O_CREAT | g::O_CLOEXEC) as u64)
        );
        assert_eq!(calls[0].1[3], Arg::Raw(0o644));
        assert_eq!(calls[1].1[0], Arg::Result(0), "the fd openat returned");
        assert_eq!(calls[3].1[0], Arg::Result(0), "the address mmap returned");
        assert_eq!(
            ops[0],
            Op::Poke {
                off: 0,
                bytes: b"/tmp/x\n\0".to_vec()
            }
        );
    }

    #[test]
    fn escapes_and_splitting() {
        assert_eq!(
            unescape("\"a\\\"b\\\\c\\0\\177\\x41\"..."),
            b"a\"b\\c\0\x7fA"
        );
        assert_eq!(
            split_args("1, {a=1, b=[2, 3]}, \"x, y\", A|B"),
            ["1", "{a=1, b=[2, 3]}", "\"x, y\"", "A|B"]
        );
        assert_eq!(flags("O_RDONLY|0x80000"), Some(0x80000));
        assert_eq!(number("-100"), Some((-100i64) as u64));
    }
}
