//! Memory sizes as the user writes them (`--mem 128M`).
//!
//! Accepted: a decimal number with an optional binary suffix `K`, `M`, `G` or `T` (any case,
//! optionally followed by `B` or `iB`); all suffixes are powers of 1024, like QEMU's `-m`.
//! A plain number means MiB, again like QEMU's `-m`. Not accepted: fractions (`1.5G`),
//! zero, signs, and anything that overflows a `u64` byte count.

use std::fmt;
use std::str::FromStr;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// A guest memory size in bytes; always a non-zero multiple of 1 KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemSize(u64);

/// Why a size string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Empty, or no digits in front of the suffix.
    #[error("expected a number with an optional K, M, G or T suffix (e.g. 128M, 1G)")]
    NotANumber,
    /// The suffix is not one of K, M, G, T (with optional B/iB).
    #[error("unknown size suffix {0:?} (use K, M, G or T)")]
    BadSuffix(String),
    /// Zero bytes.
    #[error("the size must be greater than zero")]
    Zero,
    /// More than a u64 can count.
    #[error("the size is too large")]
    TooLarge,
}

impl MemSize {
    /// The default guest memory: 128 MiB.
    pub const DEFAULT: MemSize = MemSize(128 * MIB);

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The size as QEMU's `-m` takes it, in the largest exact unit (`128M`, `640K`).
    pub fn qemu_arg(self) -> String {
        if self.0 % MIB == 0 {
            format!("{}M", self.0 / MIB)
        } else {
            format!("{}K", self.0 / KIB)
        }
    }
}

impl FromStr for MemSize {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Self, SizeError> {
        let s = s.trim();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(digits_end);
        if digits.is_empty() {
            return Err(SizeError::NotANumber);
        }
        let unit = match suffix.to_ascii_lowercase().as_str() {
            "" => MIB,
            "k" | "kb" | "kib" => KIB,
            "m" | "mb" | "mib" => MIB,
            "g" | "gb" | "gib" => GIB,
            "t" | "tb" | "tib" => TIB,
            _ => return Err(SizeError::BadSuffix(suffix.to_string())),
        };
        // All digits, so the only possible parse failure is overflow.
        let n: u64 = digits.parse().map_err(|_| SizeError::TooLarge)?;
        if n == 0 {
            return Err(SizeError::Zero);
        }
        n.checked_mul(unit).map(MemSize).ok_or(SizeError::TooLarge)
    }
}

impl fmt::Display for MemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.qemu_arg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<u64, SizeError> {
        s.parse::<MemSize>().map(MemSize::bytes)
    }

    #[test]
    fn suffixes_are_binary_and_case_insensitive() {
        assert_eq!(parse("512K"), Ok(512 * KIB));
        assert_eq!(parse("128M"), Ok(128 * MIB));
        assert_eq!(parse("1G"), Ok(GIB));
        assert_eq!(parse("1g"), Ok(GIB));
        assert_eq!(parse("2GiB"), Ok(2 * GIB));
        assert_eq!(parse("64mb"), Ok(64 * MIB));
        assert_eq!(parse("1T"), Ok(TIB));
    }

    #[test]
    fn a_plain_number_is_mib() {
        assert_eq!(parse("256"), Ok(256 * MIB));
        assert_eq!(parse(" 64 "), Ok(64 * MIB));
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert_eq!(parse(""), Err(SizeError::NotANumber));
        assert_eq!(parse("M"), Err(SizeError::NotANumber));
        assert_eq!(parse("-1M"), Err(SizeError::NotANumber));
        assert_eq!(parse("1.5G"), Err(SizeError::BadSuffix(".5G".into())));
        assert_eq!(parse("12Q"), Err(SizeError::BadSuffix("Q".into())));
        assert_eq!(parse("0"), Err(SizeError::Zero));
        assert_eq!(parse("0K"), Err(SizeError::Zero));
        assert_eq!(parse("99999999999999999999"), Err(SizeError::TooLarge));
        assert_eq!(parse("17179869184T"), Err(SizeError::TooLarge));
    }

    #[test]
    fn qemu_arg_uses_the_largest_exact_unit() {
        assert_eq!(MemSize::DEFAULT.qemu_arg(), "128M");
        assert_eq!("1G".parse::<MemSize>().unwrap().qemu_arg(), "1024M");
        assert_eq!("1536K".parse::<MemSize>().unwrap().qemu_arg(), "1536K");
        assert_eq!("2048K".parse::<MemSize>().unwrap().qemu_arg(), "2M");
    }
}
