//! The header lines of a compat test: how to run it and what to compare.
//!
//! A test's first comment block (the `//` lines at the top of the file, blank lines
//! allowed before it) may hold these lines; other comment lines are prose and ignored:
//!
//! | line                                  | meaning                                            |
//! |---------------------------------------|----------------------------------------------------|
//! | `// oxv-args: ARGS`                   | argv after argv[0] (repeatable: words append)      |
//! | `// oxv-env: K=V`                     | one environment variable (repeatable)              |
//! | `// oxv-stdin: TEXT`                  | stdin bytes (repeatable: concatenated)             |
//! | `// oxv-file: PATH`                   | a file under compat-tests/ for the guest (repeat.) |
//! | `// oxv-exit: N`                      | expected exit status, default 0                    |
//! | `// oxv-compare: stdout,stderr,status`| what must be identical, default `stdout,status`    |
//!
//! ARGS are shell-like words: whitespace separates them, `"double quotes"` group (and can
//! make an empty word); inside quotes `\"` and `\\` are a quote and a backslash; outside,
//! a backslash is literal. `@DATA@` in a word is replaced by the absolute path of
//! `compat-tests/data`. TEXT takes C escapes: `\n \t \r \0 \\ \" \xNN`. Values are trimmed
//! (write `\x20` for a significant space in TEXT). An unknown `oxv-` key, a repeated
//! `oxv-exit`/`oxv-compare` or a malformed value is an error, so typos do not silently
//! change a test.

/// What to compare between the host run and the oxv run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    /// Compare stdout bytes.
    pub stdout: bool,
    /// Compare stderr bytes (oxv's own `oxv: ` lines excluded).
    pub stderr: bool,
    /// Compare exit statuses.
    pub status: bool,
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            stdout: true,
            stderr: false,
            status: true,
        }
    }
}

/// A compat test's run configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestSpec {
    /// argv[1..].
    pub args: Vec<String>,
    /// The whole environment, in order.
    pub env: Vec<(String, String)>,
    /// stdin bytes.
    pub stdin: Vec<u8>,
    /// Files to pass to the guest, relative to compat-tests/.
    pub files: Vec<String>,
    /// Expected exit status.
    pub exit: u8,
    /// What must match.
    pub compare: Compare,
}

/// A header line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct HeaderError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses the header of a test's source; `data_dir` replaces `@DATA@`.
pub fn parse(source: &str, data_dir: &str) -> Result<TestSpec, HeaderError> {
    let mut spec = TestSpec::default();
    let (mut exit_seen, mut compare_seen) = (false, false);
    let mut started = false;
    for (index, raw) in source.lines().enumerate() {
        let line = raw.trim();
        let Some(comment) = line.strip_prefix("//") else {
            if line.is_empty() && !started {
                continue;
            }
            break;
        };
        started = true;
        let Some((key, value)) = comment
            .trim_start()
            .strip_prefix("oxv-")
            .and_then(|r| r.split_once(':'))
        else {
            continue;
        };
        let value = value.trim();
        let err = |message: String| HeaderError {
            line: index + 1,
            message,
        };
        match key {
            "args" => spec.args.extend(
                split_words(value)
                    .map_err(err)?
                    .into_iter()
                    .map(|w| w.replace("@DATA@", data_dir)),
            ),
            "env" => match value.split_once('=') {
                Some((k, v)) if !k.is_empty() => spec.env.push((k.to_string(), v.to_string())),
                _ => return Err(err(format!("oxv-env: expected K=V, got {value:?}"))),
            },
            "stdin" => spec.stdin.extend(unescape(value).map_err(err)?),
            "file" => {
                if value.is_empty() || value.starts_with('/') || value.split('/').any(|c| c == "..")
                {
                    return Err(err(format!(
                        "oxv-file: {value:?} must be a relative path under compat-tests/"
                    )));
                }
                spec.files.push(value.to_string());
            }
            "exit" => {
                if std::mem::replace(&mut exit_seen, true) {
                    return Err(err("oxv-exit given twice".into()));
                }
                spec.exit = value
                    .parse()
                    .map_err(|_| err(format!("oxv-exit: {value:?} is not a status 0-255")))?;
            }
            "compare" => {
                if std::mem::replace(&mut compare_seen, true) {
                    return Err(err("oxv-compare given twice".into()));
                }
                spec.compare = parse_compare(value).map_err(err)?;
            }
            other => return Err(err(format!("unknown header key oxv-{other}"))),
        }
    }
    Ok(spec)
}

fn parse_compare(value: &str) -> Result<Compare, String> {
    let mut c = Compare {
        stdout: false,
        stderr: false,
        status: false,
    };
    for item in value.split(',').map(str::trim) {
        match item {
            "stdout" => c.stdout = true,
            "stderr" => c.stderr = true,
            "status" => c.status = true,
            _ => {
                return Err(format!(
                    "oxv-compare: unknown item {item:?} (use stdout, stderr, status)"
                ));
            }
        }
    }
    Ok(c)
}

/// Splits shell-like words (see the module doc).
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            '\\' if quoted => match chars.next() {
                Some(n @ ('"' | '\\')) => word.get_or_insert_with(String::new).push(n),
                Some(n) => word.get_or_insert_with(String::new).extend(['\\', n]),
                None => return Err("unterminated double quote".into()),
            },
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quoted {
        return Err("unterminated double quote".into());
    }
    words.extend(word);
    Ok(words)
}

/// Decodes C-style escapes into bytes.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("\\x needs two hex digits, got {hex:?}"))?;
                out.push(byte);
            }
            Some(other) => return Err(format!("unknown escape \\{other}")),
            None => return Err("a trailing backslash".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_group_with_double_quotes() {
        let w = split_words(
            r#"plain "two words" ünïcødé→✓ 100% %s%n key=value=more "  padded  " --flag=-x"#,
        )
        .unwrap();
        assert_eq!(
            w,
            [
                "plain",
                "two words",
                "ünïcødé→✓",
                "100%",
                "%s%n",
                "key=value=more",
                "  padded  ",
                "--flag=-x"
            ]
        );
        assert_eq!(
            split_words(r#"a"b c"d "" "q\"x\\" c:\dir"#).unwrap(),
            ["ab cd", "", r#"q"x\"#, r"c:\dir"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words(r#"a "b"#).is_err());
    }

    #[test]
    fn stdin_escapes() {
        assert_eq!(
            unescape(r"a\nb\t\\\xff\x00é").unwrap(),
            b"a\nb\t\\\xff\x00\xc3\xa9"
        );
        assert_eq!(unescape(r#"\r\0\""#).unwrap(), b"\r\0\"");
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\x4").is_err());
        assert!(unescape(r"\xzz").is_err());
        assert!(unescape("x\\").is_err());
    }

    #[test]
    fn a_full_header() {
        let src = "\n// oxv-args: @DATA@/f.txt \"x y\"\n// oxv-env: A=1\n// oxv-env: B=x=y\n// oxv-env: EMPTY=\n\
                   // oxv-stdin: hi\\n\n// oxv-stdin: \\xff\n// oxv-file: data/f.txt\n// oxv-exit: 139\n\
                   // oxv-compare: stdout, stderr\n//\n// Prose mentioning oxv-exit without a colon.\n\
                   #include <stdio.h>\n// oxv-exit: 5\n";
        let spec = parse(src, "/c/data").unwrap();
        assert_eq!(spec.args, ["/c/data/f.txt", "x y"]);
        assert_eq!(
            spec.env,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("EMPTY".into(), "".into())
            ]
        );
        assert_eq!(spec.stdin, b"hi\n\xff");
        assert_eq!(spec.files, ["data/f.txt"]);
        // The second oxv-exit is after the header block: ignored.
        assert_eq!(spec.exit, 139);
        assert_eq!(
            spec.compare,
            Compare {
                stdout: true,
                stderr: true,
                status: false
            }
        );
    }

    #[test]
    fn defaults_and_errors() {
        let spec = parse("#include <x.h>\n// oxv-exit: 3\n", "/d").unwrap();
        assert_eq!(spec, TestSpec::default());
        assert_eq!(
            spec.compare,
            Compare {
                stdout: true,
                stderr: false,
                status: true
            }
        );
        for (src, line) in [
            ("// oxv-exti: 1\n", 1),
            ("//\n// oxv-exit: 256\n", 2),
            ("// oxv-exit: 1\n// oxv-exit: 2\n", 2),
            ("// oxv-compare: stdout,exit\n", 1),
            ("// oxv-env: NOVALUE\n", 1),
            ("// oxv-file: /etc/passwd\n", 1),
            ("// oxv-file: ../x\n", 1),
            ("// oxv-args: \"open\n", 1),
            ("// oxv-stdin: \\k\n", 1),
        ] {
            assert_eq!(parse(src, "/d").map_err(|e| e.line), Err(line), "{src:?}");
        }
    }

    #[test]
    fn the_repository_tests_have_valid_headers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat-tests");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "c") {
                let src = std::fs::read_to_string(&path).unwrap();
                if let Err(e) = parse(&src, "/data") {
                    panic!("{}: {e}", path.display());
                }
            }
        }
    }
}
