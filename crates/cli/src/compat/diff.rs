//! A short, unified-diff-like view of two outputs, for compat failures.
//!
//! Lines are compared with a longest-common-subsequence table, which is quadratic, so
//! outputs longer than [`MAX_LINES`] lines fall back to showing the first differing line.
//! Changes are shown with two lines of context, `-` for the host side and `+` for oxv, and
//! the view is cut after [`MAX_SHOWN`] lines. Bytes that are not UTF-8 are shown replaced;
//! a difference only in the final newline is called out, since it is otherwise invisible.

const MAX_LINES: usize = 2000;
const MAX_SHOWN: usize = 40;
const CONTEXT: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same(usize),
    Del(usize),
    Add(usize),
}

/// Renders the differences between `host` and `oxv` (which should differ).
pub fn render(host: &[u8], oxv: &[u8]) -> String {
    let a = String::from_utf8_lossy(host);
    let b = String::from_utf8_lossy(oxv);
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut out = String::from("  --- host\n  +++ oxv\n");
    if a == b {
        let note = match (host.ends_with(b"\n"), oxv.ends_with(b"\n")) {
            (true, false) => "the oxv output lacks the final newline",
            (false, true) => "the host output lacks the final newline",
            _ => "the outputs differ only in line endings or invalid UTF-8 bytes",
        };
        out.push_str(&format!("  ({note})\n"));
        return out;
    }
    if a.len() > MAX_LINES || b.len() > MAX_LINES {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        out.push_str(&format!("  @@ first difference at line {} @@\n", at + 1));
        out.push_str(&format!(
            "  -{}\n  +{}\n",
            a.get(at).unwrap_or(&"<end>"),
            b.get(at).unwrap_or(&"<end>")
        ));
        return out;
    }
    let ops = diff(&a, &b);
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let mut shown = 0;
    let mut last_printed: Option<usize> = None;
    for (i, op) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(i) <= CONTEXT);
        if !near {
            continue;
        }
        if last_printed.is_some_and(|l| l + 1 != i) || (last_printed.is_none() && i > 0) {
            out.push_str("  @@\n");
        }
        if shown == MAX_SHOWN {
            out.push_str("  ... (more differences)\n");
            break;
        }
        let line = match *op {
            Op::Same(x) => format!("   {}\n", a[x]),
            Op::Del(x) => format!("  -{}\n", a[x]),
            Op::Add(y) => format!("  +{}\n", b[y]),
        };
        out.push_str(&line);
        shown += 1;
        last_printed = Some(i);
    }
    out
}

/// The edit script from `a` to `b` through their longest common subsequence.
fn diff(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same(i));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(Op::Del(i));
            i += 1;
        } else {
            ops.push(Op::Add(j));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_are_shown_with_context() {
        let host = b"1\n2\n3\n4\n5\n6\n7\n8\n";
        let oxv = b"1\n2\n3\n4\nFIVE\n6\n7\n8\n";
        assert_eq!(
            render(host, oxv),
            "  --- host\n  +++ oxv\n  @@\n   3\n   4\n  -5\n  +FIVE\n   6\n   7\n"
        );
    }

    #[test]
    fn insertions_and_deletions() {
        assert_eq!(
            render(b"a\nb\n", b"a\nx\nb\n"),
            "  --- host\n  +++ oxv\n   a\n  +x\n   b\n"
        );
        assert_eq!(
            render(b"a\nb\n", b"b\n"),
            "  --- host\n  +++ oxv\n  -a\n   b\n"
        );
        assert_eq!(
            render(b"", b"TFAIL: x\n"),
            "  --- host\n  +++ oxv\n  +TFAIL: x\n"
        );
    }

    #[test]
    fn invisible_differences_are_named() {
        assert!(render(b"a\n", b"a").contains("oxv output lacks the final newline"));
        assert!(render(b"a", b"a\n").contains("host output lacks the final newline"));
    }

    #[test]
    fn long_outputs_are_cut() {
        let host: String = (0..100).map(|i| format!("{i}\n")).collect();
        let oxv: String = (0..100).map(|i| format!("x{i}\n")).collect();
        let view = render(host.as_bytes(), oxv.as_bytes());
        assert!(view.ends_with("  ... (more differences)\n"), "{view}");
        let big: String = (0..MAX_LINES + 1).map(|i| format!("{i}\n")).collect();
        let view = render(big.as_bytes(), b"0\n1\nX\n");
        assert!(view.contains("first difference at line 3"), "{view}");
    }
}
