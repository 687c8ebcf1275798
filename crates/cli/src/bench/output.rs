//! Reading what a benchmark program printed: its `oxv-bench` result lines, and the Linux
//! init's per-program status lines.
//!
//! The programs in `bench/` print (see `bench/bench.h`):
//!
//! ```text
//! oxv-bench name=NAME value=V unit=UNIT [note=free text to the end of the line]
//! oxv-bench name=NAME unsupported reason=free text to the end of the line
//! ```
//!
//! Lines are found anywhere in the output (the Linux console mixes them with kernel
//! messages, with `\r\n` endings); a line that starts with `oxv-bench ` but does not parse is
//! an error, never silently dropped, so a broken program cannot pass for an unsupported one.

/// One result line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric, e.g. `null_syscall`.
    pub name: String,
    /// What the program measured.
    pub outcome: SampleOutcome,
}

/// A measured value, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleOutcome {
    /// A figure.
    Value {
        /// The number.
        value: f64,
        /// Its unit as printed (`ns`, `ms`, `MB/s`).
        unit: String,
        /// A remark worth carrying into the report.
        note: Option<String>,
    },
    /// The guest cannot run this benchmark; the reason comes from the guest.
    Unsupported(String),
}

const PREFIX: &str = "oxv-bench ";
const INIT_PREFIX: &str = "oxv-bench-init status=";

/// Every result line in `text`, in order; the error names the first malformed line.
pub fn samples(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter_map(|l| l.find(PREFIX).map(|at| &l[at + PREFIX.len()..]))
        .map(|body| parse_body(body).map_err(|e| format!("{e} in `oxv-bench {body}`")))
        .collect()
}

fn parse_body(body: &str) -> Result<Sample, String> {
    let mut name = None;
    let mut value = None;
    let mut unit = None;
    let mut note = None;
    let mut unsupported = false;
    let mut reason = None;
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (token, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        // `note=` and `reason=` take the rest of the line.
        if let Some(text) = rest.strip_prefix("note=") {
            note = Some(text.trim().to_string());
            break;
        }
        if let Some(text) = rest.strip_prefix("reason=") {
            reason = Some(text.trim().to_string());
            break;
        }
        match token.split_once('=') {
            Some(("name", v)) => name = Some(v.to_string()),
            Some(("value", v)) => {
                value = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| format!("bad value {v:?}"))?,
                )
            }
            Some(("unit", v)) => unit = Some(v.to_string()),
            None if token == "unsupported" => unsupported = true,
            // Unknown keys are for newer programs; ignore them.
            _ => {}
        }
        rest = tail.trim_start();
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("no name=".to_string())?;
    let outcome = if unsupported {
        SampleOutcome::Unsupported(reason.unwrap_or_else(|| "no reason given".into()))
    } else {
        SampleOutcome::Value {
            value: value.ok_or("no value=")?,
            unit: unit.ok_or("no unit=")?,
            note,
        }
    };
    Ok(Sample { name, outcome })
}

/// The exit statuses the Linux init reported, as `(program, status)`, in order.
pub fn init_statuses(console: &str) -> Vec<(String, u8)> {
    console
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter_map(|l| l.find(INIT_PREFIX).map(|at| &l[at + INIT_PREFIX.len()..]))
        .filter_map(|rest| {
            let (status, program) = rest.split_once(" program=")?;
            Some((program.trim().to_string(), status.trim().parse().ok()?))
        })
        .collect()
}

/// Whether the Linux init got to its end (all programs ran).
pub fn init_done(console: &str) -> bool {
    console
        .lines()
        .any(|l| l.trim_end_matches('\r').ends_with("oxv-bench-init done"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str, value: f64, unit: &str, note: Option<&str>) -> Sample {
        Sample {
            name: name.into(),
            outcome: SampleOutcome::Value {
                value,
                unit: unit.into(),
                note: note.map(Into::into),
            },
        }
    }

    #[test]
    fn values_notes_and_unsupported_lines_parse() {
        let text = "noise\r\n\
            oxv-bench name=null_syscall value=123.5 unit=ns\r\n\
            [    1.2] kernel line\n\
            oxv-bench name=vdso_clock_gettime value=9 unit=ns note=no vDSO: a syscall\n\
            oxv-bench name=futex_pingpong_same_cpu unsupported reason=pthread_create failed: x (errno 38)\n";
        assert_eq!(
            samples(text).unwrap(),
            [
                value("null_syscall", 123.5, "ns", None),
                value("vdso_clock_gettime", 9.0, "ns", Some("no vDSO: a syscall")),
                Sample {
                    name: "futex_pingpong_same_cpu".into(),
                    outcome: SampleOutcome::Unsupported(
                        "pthread_create failed: x (errno 38)".into()
                    )
                }
            ]
        );
    }

    #[test]
    fn a_line_glued_to_console_noise_is_still_found() {
        let s = samples("[  0.5] x oxv-bench name=a value=1 unit=ms future=1").unwrap();
        assert_eq!(s, [value("a", 1.0, "ms", None)]);
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "oxv-bench value=1 unit=ns",
            "oxv-bench name=a unit=ns",
            "oxv-bench name=a value=x unit=ns",
            "oxv-bench name=a value=inf unit=ns",
            "oxv-bench name=a value=1",
            "oxv-bench name= value=1 unit=ns",
        ] {
            assert!(samples(bad).is_err(), "{bad}");
        }
        assert_eq!(samples("no results here").unwrap(), []);
        // The init's own lines are not results.
        assert_eq!(samples("oxv-bench-init status=0 program=/x").unwrap(), []);
    }

    #[test]
    fn init_status_lines() {
        let console = "oxv-bench-init status=0 program=/bench/a\r\n\
            junk\n\
            oxv-bench-init status=139 program=/bench/b\n\
            oxv-bench-init status=x program=/bench/c\n";
        assert_eq!(
            init_statuses(console),
            [("/bench/a".to_string(), 0), ("/bench/b".to_string(), 139)]
        );
        assert!(!init_done(console));
        assert!(init_done("a\noxv-bench-init done\r\n"));
    }
}
