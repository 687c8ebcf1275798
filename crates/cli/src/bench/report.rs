//! The bench's results: collected per metric and kernel, written as
//! `target/oxv-bench/report.json` and printed as a table.
//!
//! JSON shape (documented in `docs/performance.md`):
//!
//! ```text
//! {"machine": {...}, "accel": "tcg", "quick": true, "runs": 3, ...,
//!  "metrics":        [{"name", "unit", "better", "oxv", "linux", ...}],   wall clock
//!  "metrics_icount": [{...}]}                                            instructions
//! ```
//!
//! `oxv` and `linux` are medians, or `null` with `oxv_unsupported`/`linux_unsupported`
//! saying why (the guest's own reason, or a failure). `advantage` is how many times better
//! oxv is (above 1) or worse (below 1) in the metric's direction. The JSON writer is a few
//! lines here rather than a dependency: the shape is fixed and small.

use std::fmt::Write as _;

use super::catalog::Metric;
use super::stats::Summary;

/// What one kernel gave for one metric across the runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The figures of the runs that produced one.
    pub values: Vec<f64>,
    /// Why the guest could not run it (from the guest, first seen).
    pub unsupported: Option<String>,
    /// Why a run failed (VM crash, timeout, missing line), first seen.
    pub failure: Option<String>,
    /// Remarks from the program or the bench (deduplicated).
    pub notes: Vec<String>,
}

impl Cell {
    /// Adds a note unless it is already there.
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// The summary of the figures, if any.
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.values)
    }

    /// Why there is no figure: unsupported first, then a failure.
    pub fn missing_reason(&self) -> String {
        if let Some(why) = &self.unsupported {
            format!("unsupported: {why}")
        } else if let Some(why) = &self.failure {
            format!("failed: {why}")
        } else {
            "not measured".into()
        }
    }
}

/// One metric's row.
#[derive(Debug, Clone)]
pub struct Row {
    /// The metric.
    pub metric: &'static Metric,
    /// The unit of the figures (differs from the metric's in instruction-counting runs).
    pub unit: String,
    /// oxv's figures.
    pub oxv: Cell,
    /// The Linux guest's figures.
    pub linux: Cell,
}

impl Row {
    /// An empty row for `metric` in `unit`.
    pub fn new(metric: &'static Metric, unit: impl Into<String>) -> Self {
        Row {
            metric,
            unit: unit.into(),
            oxv: Cell::default(),
            linux: Cell::default(),
        }
    }

    /// How many times better oxv is, when both have figures.
    pub fn advantage(&self) -> Option<f64> {
        let (o, l) = (self.oxv.summary()?, self.linux.summary()?);
        self.metric.better.advantage(o.median, l.median)
    }
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Facts about the host and the VMs, in order.
    pub machine: Vec<(String, String)>,
    /// `tcg` or `kvm`.
    pub accel: String,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Wall-clock rounds.
    pub runs: usize,
    /// Instruction-counting rounds (0 under KVM).
    pub icount_runs: usize,
    /// When the bench started (UTC, RFC 3339).
    pub date: String,
    /// How long the bench took, in seconds.
    pub duration_s: f64,
    /// Wall-clock figures.
    pub wall: Vec<Row>,
    /// Instruction-count figures.
    pub icount: Vec<Row>,
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number (`null` when not finite), with at most 4 decimals.
pub fn json_num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => {
            let s = format!("{:.4}", x);
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" { "0".into() } else { s.into() }
        }
        _ => "null".into(),
    }
}

fn row_json(row: &Row) -> String {
    let mut fields: Vec<(String, String)> = vec![
        ("name".into(), json_str(row.metric.name)),
        ("unit".into(), json_str(&row.unit)),
        ("better".into(), json_str(row.metric.better.as_str())),
    ];
    for (key, cell) in [("oxv", &row.oxv), ("linux", &row.linux)] {
        let s = cell.summary();
        fields.push((key.into(), json_num(s.map(|s| s.median))));
        if let Some(s) = s {
            fields.push((format!("{key}_min"), json_num(Some(s.min))));
            fields.push((format!("{key}_max"), json_num(Some(s.max))));
            fields.push((format!("{key}_runs"), s.runs.to_string()));
        } else {
            fields.push((
                format!("{key}_unsupported"),
                json_str(&cell.missing_reason()),
            ));
        }
        if !cell.notes.is_empty() {
            fields.push((format!("{key}_note"), json_str(&cell.notes.join("; "))));
        }
    }
    fields.push(("advantage".into(), json_num(row.advantage())));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_str(k)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// The report as pretty JSON (one metric per line).
pub fn to_json(report: &Report) -> String {
    let mut out = String::from("{\n");
    let machine: Vec<String> = report
        .machine
        .iter()
        .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
        .collect();
    let _ = writeln!(out, "  \"machine\": {{{}}},", machine.join(", "));
    let _ = writeln!(out, "  \"accel\": {},", json_str(&report.accel));
    let _ = writeln!(out, "  \"quick\": {},", report.quick);
    let _ = writeln!(out, "  \"runs\": {},", report.runs);
    let _ = writeln!(out, "  \"icount_runs\": {},", report.icount_runs);
    let _ = writeln!(out, "  \"date\": {},", json_str(&report.date));
    let _ = writeln!(
        out,
        "  \"duration_s\": {},",
        json_num(Some(report.duration_s))
    );
    for (i, (key, rows)) in [
        ("metrics", &report.wall),
        ("metrics_icount", &report.icount),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = writeln!(out, "  {}: [", json_str(key));
        for (j, row) in rows.iter().enumerate() {
            let comma = if j + 1 < rows.len() { "," } else { "" };
            let _ = writeln!(out, "    {}{comma}", row_json(row));
        }
        let _ = writeln!(out, "  ]{}", if i == 0 { "," } else { "" });
    }
    out.push_str("}\n");
    out
}

/// A figure with 3-4 significant digits.
pub fn figure(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn cell_text(cell: &Cell) -> String {
    match cell.summary() {
        Some(s) if s.runs > 1 && s.min != s.max => {
            format!("{} ({}–{})", figure(s.median), figure(s.min), figure(s.max))
        }
        Some(s) => figure(s.median),
        None if cell.unsupported.is_some() => "unsupported".into(),
        None if cell.failure.is_some() => "FAILED".into(),
        None => "-".into(),
    }
}

fn advantage_text(row: &Row) -> String {
    match row.advantage() {
        Some(r) if r >= 1.0 => format!("{} better", ratio(r)),
        Some(r) => format!("{} worse", ratio(1.0 / r)),
        None => String::new(),
    }
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.2}x")
    }
}

/// The rows as an aligned text table (also valid Markdown), then the reasons and notes.
pub fn table(rows: &[Row]) -> String {
    let header = ["metric", "unit", "oxv", "linux", "oxv vs linux"];
    let body: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.metric.name.to_string(),
                r.unit.clone(),
                cell_text(&r.oxv),
                cell_text(&r.linux),
                advantage_text(r),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for line in &body {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let render = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = render(&header.map(String::from));
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&render(&rule));
    for line in &body {
        out.push_str(&render(line));
    }
    let mut notes = String::new();
    for r in rows {
        for (kernel, cell) in [("oxv", &r.oxv), ("linux", &r.linux)] {
            if cell.summary().is_none() {
                let _ = writeln!(
                    notes,
                    "- {} on {kernel}: {}",
                    r.metric.name,
                    cell.missing_reason()
                );
            }
            for n in &cell.notes {
                let _ = writeln!(notes, "- {} on {kernel}: {n}", r.metric.name);
            }
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    out
}

/// `secs` since the Unix epoch as an RFC 3339 UTC timestamp (proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01, by 400-year eras of 146097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::catalog::find;

    fn row(name: &str, oxv: &[f64], linux: &[f64]) -> Row {
        let mut r = Row::new(find(name).unwrap(), find(name).unwrap().unit);
        r.oxv.values = oxv.to_vec();
        r.linux.values = linux.to_vec();
        r
    }

    #[test]
    fn strings_and_numbers_are_valid_json() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
        assert_eq!(json_num(Some(1.5)), "1.5");
        assert_eq!(json_num(Some(2.0)), "2");
        assert_eq!(json_num(Some(0.123456)), "0.1235");
        assert_eq!(json_num(Some(-0.00001)), "0");
        assert_eq!(json_num(Some(f64::NAN)), "null");
        assert_eq!(json_num(None), "null");
    }

    #[test]
    fn a_row_carries_medians_spread_and_reasons() {
        let mut r = row("null_syscall", &[100.0, 120.0, 110.0], &[]);
        r.linux.unsupported = Some("no such thing".into());
        r.oxv.note("a note");
        let j = row_json(&r);
        for want in [
            r#""name": "null_syscall""#,
            r#""unit": "ns""#,
            r#""better": "lower""#,
            r#""oxv": 110"#,
            r#""oxv_min": 100"#,
            r#""oxv_max": 120"#,
            r#""oxv_runs": 3"#,
            r#""oxv_note": "a note""#,
            r#""linux": null"#,
            r#""linux_unsupported": "unsupported: no such thing""#,
            r#""advantage": null"#,
        ] {
            assert!(j.contains(want), "{want} not in {j}");
        }
    }

    #[test]
    fn the_whole_report_has_the_issue_shape() {
        let report = Report {
            machine: vec![("cpu".into(), "x".into())],
            accel: "tcg".into(),
            quick: true,
            runs: 3,
            icount_runs: 2,
            date: rfc3339(0),
            duration_s: 1.0,
            wall: vec![row("boot", &[10.0], &[400.0])],
            icount: vec![],
        };
        let j = to_json(&report);
        assert!(j.starts_with("{\n  \"machine\": {\"cpu\": \"x\"},\n  \"accel\": \"tcg\","));
        assert!(j.contains(r#""advantage": 40"#), "{j}");
        assert!(j.contains("\"metrics_icount\": [\n  ]\n}"), "{j}");
        // Brackets balance (a cheap well-formedness check without a parser).
        let opens = j.matches(['{', '[']).count();
        let closes = j.matches(['}', ']']).count();
        assert_eq!(opens, closes);
    }

    #[test]
    fn advantage_reads_in_the_metric_direction() {
        assert_eq!(row("boot", &[10.0], &[400.0]).advantage(), Some(40.0));
        assert_eq!(
            row("pipe_throughput", &[100.0], &[400.0]).advantage(),
            Some(0.25)
        );
        assert_eq!(
            advantage_text(&row("boot", &[10.0], &[400.0])),
            "40x better"
        );
        assert_eq!(
            advantage_text(&row("pipe_throughput", &[100.0], &[400.0])),
            "4.00x worse"
        );
    }

    #[test]
    fn the_table_aligns_and_lists_reasons() {
        let mut r = row("futex_pingpong_same_cpu", &[], &[5000.0, 6000.0, 5500.0]);
        r.oxv.unsupported = Some("pthread_create failed".into());
        let t = table(&[row("boot", &[10.0, 12.0, 11.0], &[4000.0]), r]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("| metric "));
        assert_eq!(lines[0].chars().count(), lines[2].chars().count());
        assert!(lines[2].contains("11.00 (10.00–12.00)"), "{t}");
        assert!(lines[3].contains("unsupported") && lines[3].contains("5500 (5000–6000)"));
        assert!(t.contains("- futex_pingpong_same_cpu on oxv: unsupported: pthread_create failed"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn figures_keep_a_few_significant_digits() {
        assert_eq!(figure(12345.6), "12346");
        assert_eq!(figure(123.45), "123.5");
        assert_eq!(figure(12.345), "12.35");
        assert_eq!(figure(1.23456), "1.235");
    }
}
