//! `#!` interpreter lines, as Linux's `binfmt_script` reads them.
//!
//! A file whose first two bytes are `#!` runs the program named on the rest of its first
//! line: the interpreter's path, then at most one argument — everything after the path,
//! trimmed of blanks, spaces inside kept (`#!/usr/bin/env python3 -u` passes `python3 -u` as
//! one argument, as on Linux). Only the first [`BINPRM_BUF_SIZE`] bytes are looked at.
//!
//! This module only parses. Building the new argument list (`interpreter [arg] script
//! args[1..]`) and loading the interpreter are the kernel's job.

use alloc::vec::Vec;

/// Linux's `BINPRM_BUF_SIZE`: how much of the file is read for its first line.
pub const BINPRM_BUF_SIZE: usize = 256;

/// Why a `#!` line cannot be used (`ENOEXEC`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// No interpreter after `#!`.
    #[error("no interpreter after #!")]
    NoInterpreter,
    /// The first line does not end within [`BINPRM_BUF_SIZE`] bytes.
    #[error("the #! line is longer than {BINPRM_BUF_SIZE} bytes")]
    LineTooLong,
}

/// A parsed `#!` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter's path.
    pub interpreter: Vec<u8>,
    /// Its single optional argument.
    pub argument: Option<Vec<u8>>,
}

fn is_blank(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

/// Parses the start of a file: `None` if it is not a script, else its interpreter line.
pub fn parse_shebang(head: &[u8]) -> Option<Result<Shebang, ScriptError>> {
    let rest = head.strip_prefix(b"#!")?;
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => &rest[..end],
        None if head.len() >= BINPRM_BUF_SIZE => return Some(Err(ScriptError::LineTooLong)),
        None => rest,
    };
    let Some(start) = line.iter().position(|b| !is_blank(b)) else {
        return Some(Err(ScriptError::NoInterpreter));
    };
    let line = &line[start..];
    let end = line.iter().position(is_blank).unwrap_or(line.len());
    let argument = line[end..].iter().position(|b| !is_blank(b)).map(|a| {
        let arg = &line[end + a..];
        let last = arg.iter().rposition(|b| !is_blank(b)).unwrap_or(0);
        arg[..=last].to_vec()
    });
    Some(Ok(Shebang {
        interpreter: line[..end].to_vec(),
        argument,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(head: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let s = parse_shebang(head).unwrap().unwrap();
        (s.interpreter, s.argument)
    }

    #[test]
    fn not_a_script() {
        assert_eq!(parse_shebang(b"\x7fELF\x02\x01"), None);
        assert_eq!(parse_shebang(b"#"), None);
        assert_eq!(parse_shebang(b""), None);
    }

    #[test]
    fn interpreter_and_argument() {
        assert_eq!(ok(b"#!/bin/sh\necho hi\n"), (b"/bin/sh".to_vec(), None));
        assert_eq!(ok(b"#!/bin/sh"), (b"/bin/sh".to_vec(), None));
        assert_eq!(
            ok(b"#! /usr/bin/env  python3 -u \t\nprint()"),
            (b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec()))
        );
        assert_eq!(ok(b"#!/bin/sh \n"), (b"/bin/sh".to_vec(), None));
    }

    #[test]
    fn bad_lines() {
        assert_eq!(
            parse_shebang(b"#!\n"),
            Some(Err(ScriptError::NoInterpreter))
        );
        assert_eq!(
            parse_shebang(b"#!   \t\n"),
            Some(Err(ScriptError::NoInterpreter))
        );
        let mut long = b"#!/bin/".to_vec();
        long.resize(BINPRM_BUF_SIZE, b'x');
        assert_eq!(parse_shebang(&long), Some(Err(ScriptError::LineTooLong)));
    }
}
