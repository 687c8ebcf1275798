//! Reading `/etc/ld.so.cache`, the index of libraries that ldconfig(8) builds from the
//! directories in `/etc/ld.so.conf` and that glibc's dynamic loader consults after
//! `LD_LIBRARY_PATH` and `DT_RUNPATH` (ld.so(8), "the compiled list of candidate shared
//! objects").
//!
//! The file format is glibc's, undocumented outside its source, and was read here from
//! files on disk. Two layouts exist:
//!
//! - **new** (glibc 2.32 and later write only this): a 48-byte header starting with
//!   `glibc-ld.so.cache1.1` (20 bytes), then `nlibs: u32`, `len_strings: u32`, a byte-order
//!   flag, padding, `extension_offset: u32` and 12 unused bytes; then `nlibs` entries of 24
//!   bytes: `flags: i32, key: u32, value: u32, osversion: u32, hwcap: u64`. `key` (the
//!   soname) and `value` (the path) are offsets of NUL-terminated strings **from the start
//!   of this header**.
//! - **old** (`ld.so-1.7.0`, padded to 12 bytes, `nlibs: u32`, entries of 12 bytes
//!   `flags, key, value`; offsets from the end of the entries), optionally followed, at the
//!   next 8-byte boundary, by a whole new-format cache. When the new one is there it wins.
//!
//! Only entries whose flags say "ELF, glibc 6, x86-64 64-bit" are used, as a loader built for
//! x86_64 does. Entries with a non-zero `hwcap` name variants in `glibc-hwcaps/`
//! subdirectories; [`LdCache::lookup`] prefers the baseline entry, which every CPU can use.
//! Nothing here panics on a malformed file: bad offsets skip the entry, a bad header is an
//! error.

/// Magic of the new format, including its version.
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// Magic of the old format.
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// Size of the new-format header.
const NEW_HEADER: usize = 48;
/// Size of one new-format entry.
const NEW_ENTRY: usize = 24;
/// Size of the old-format header (11-byte magic padded to 12, then `nlibs`).
const OLD_HEADER: usize = 16;
/// Size of one old-format entry.
const OLD_ENTRY: usize = 12;
/// `FLAG_ELF_LIBC6`: an ELF library for glibc 6 (the low byte of `flags`).
const FLAG_ELF_LIBC6: i32 = 0x0003;
/// `FLAG_X8664_LIB64`: built for x86-64's 64-bit ABI (the second byte of `flags`).
const FLAG_X8664_LIB64: i32 = 0x0300;
/// The only `flags` an x86_64 glibc loader accepts.
const X86_64_LIBC6: i32 = FLAG_ELF_LIBC6 | FLAG_X8664_LIB64;

/// One library of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The name a `DT_NEEDED` entry asks for (the library's soname).
    pub name: String,
    /// Where the library is (an absolute path).
    pub path: String,
    /// Non-zero for a variant that only some CPUs may load.
    pub hwcap: u64,
}

/// A parsed cache: the x86-64 entries in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LdCache {
    entries: Vec<CacheEntry>,
}

/// Why a cache file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LdCacheError {
    /// Neither magic.
    #[error("not an ld.so.cache file")]
    BadMagic,
    /// The header promises more entries than the file holds.
    #[error("truncated ld.so.cache file")]
    Truncated,
}

impl LdCache {
    /// Parses a cache file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<LdCache, LdCacheError> {
        if bytes.starts_with(NEW_MAGIC) {
            return parse_new(bytes);
        }
        if !bytes.starts_with(OLD_MAGIC) {
            return Err(LdCacheError::BadMagic);
        }
        let nlibs = u32_at(bytes, 12).ok_or(LdCacheError::Truncated)? as usize;
        let end = nlibs
            .checked_mul(OLD_ENTRY)
            .and_then(|n| n.checked_add(OLD_HEADER))
            .filter(|&end| end <= bytes.len())
            .ok_or(LdCacheError::Truncated)?;
        let new_at = end.next_multiple_of(8);
        if let Some(new) = bytes.get(new_at..).filter(|b| b.starts_with(NEW_MAGIC)) {
            return parse_new(new);
        }
        let strings = &bytes[end..];
        let entries = (0..nlibs)
            .filter_map(|i| {
                let at = OLD_HEADER + i * OLD_ENTRY;
                entry(bytes, at, strings, 0)
            })
            .collect();
        Ok(LdCache { entries })
    }

    /// The path of the library named `name` (baseline entry first, else any variant).
    pub fn lookup(&self, name: &str) -> Option<&str> {
        let mut matching = self.entries.iter().filter(|e| e.name == name);
        let first = matching.clone().next()?;
        Some(
            matching
                .find(|e| e.hwcap == 0)
                .unwrap_or(first)
                .path
                .as_str(),
        )
    }

    /// Every usable entry, in file order.
    #[cfg(test)]
    pub fn entries(&self) -> &[CacheEntry] {
        &self.entries
    }
}

fn parse_new(bytes: &[u8]) -> Result<LdCache, LdCacheError> {
    let nlibs = u32_at(bytes, 20).ok_or(LdCacheError::Truncated)? as usize;
    nlibs
        .checked_mul(NEW_ENTRY)
        .and_then(|n| n.checked_add(NEW_HEADER))
        .filter(|&end| end <= bytes.len())
        .ok_or(LdCacheError::Truncated)?;
    let entries = (0..nlibs)
        .filter_map(|i| {
            let at = NEW_HEADER + i * NEW_ENTRY;
            let hwcap = u64::from_le_bytes(bytes.get(at + 16..at + 24)?.try_into().ok()?);
            entry(bytes, at, bytes, hwcap)
        })
        .collect();
    Ok(LdCache { entries })
}

/// The entry at `at` (flags, key, value), with strings at offsets into `strings`; `None`
/// for another architecture or bad offsets.
fn entry(bytes: &[u8], at: usize, strings: &[u8], hwcap: u64) -> Option<CacheEntry> {
    let flags = u32_at(bytes, at)? as i32;
    if flags != X86_64_LIBC6 {
        return None;
    }
    let name = c_str(strings, u32_at(bytes, at + 4)? as usize)?;
    let path = c_str(strings, u32_at(bytes, at + 8)? as usize)?;
    Some(CacheEntry { name, path, hwcap })
}

/// A little-endian u32 (the cache is written in the host's byte order; x86 is little).
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The UTF-8, NUL-terminated string at `at`.
fn c_str(bytes: &[u8], at: usize) -> Option<String> {
    let rest = bytes.get(at..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    String::from_utf8(rest[..len].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a new-format cache from (flags, name, path, hwcap) rows.
    fn new_format(rows: &[(i32, &str, &str, u64)]) -> Vec<u8> {
        let strings_at = NEW_HEADER + rows.len() * NEW_ENTRY;
        let mut strings = Vec::new();
        let mut table = Vec::new();
        for (flags, name, path, hwcap) in rows {
            let key = strings_at + strings.len();
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            let value = strings_at + strings.len();
            strings.extend_from_slice(path.as_bytes());
            strings.push(0);
            table.extend_from_slice(&flags.to_le_bytes());
            table.extend_from_slice(&(key as u32).to_le_bytes());
            table.extend_from_slice(&(value as u32).to_le_bytes());
            table.extend_from_slice(&0u32.to_le_bytes());
            table.extend_from_slice(&hwcap.to_le_bytes());
        }
        let mut out = NEW_MAGIC.to_vec();
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&[2, 0, 0, 0]);
        out.extend_from_slice(&[0; 16]);
        assert_eq!(out.len(), NEW_HEADER);
        out.extend(table);
        out.extend(strings);
        out
    }

    #[test]
    fn new_format_keeps_x86_64_entries_and_prefers_the_baseline() {
        let bytes = new_format(&[
            (X86_64_LIBC6, "libz.so.1", "/v3/libz.so.1", 1 << 62),
            (X86_64_LIBC6, "libz.so.1", "/lib/libz.so.1", 0),
            (0x0803, "libx32.so", "/libx32/libx32.so", 0),
            (0x0003, "libi386.so", "/lib32/libi386.so", 0),
        ]);
        let cache = LdCache::parse(&bytes).unwrap();
        assert_eq!(cache.entries().len(), 2);
        assert_eq!(cache.lookup("libz.so.1"), Some("/lib/libz.so.1"));
        assert_eq!(cache.lookup("libx32.so"), None);
        assert_eq!(cache.lookup("libi386.so"), None);
        let only_variant = new_format(&[(X86_64_LIBC6, "liba.so", "/v3/liba.so", 1 << 62)]);
        assert_eq!(
            LdCache::parse(&only_variant).unwrap().lookup("liba.so"),
            Some("/v3/liba.so")
        );
    }

    #[test]
    fn old_format_alone_and_with_a_new_cache_after_it() {
        // Old format: header, one entry, strings (offsets from the end of the entries).
        let mut old = OLD_MAGIC.to_vec();
        old.push(0);
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(&X86_64_LIBC6.to_le_bytes());
        old.extend_from_slice(&0u32.to_le_bytes());
        old.extend_from_slice(&8u32.to_le_bytes());
        old.extend_from_slice(b"libm.so\0/lib/libm.so\0");
        assert_eq!(
            LdCache::parse(&old).unwrap().lookup("libm.so"),
            Some("/lib/libm.so")
        );
        // Compat layout: the new cache at the next 8-byte boundary after the old entries.
        let mut compat = old[..OLD_HEADER + OLD_ENTRY].to_vec();
        compat.resize(compat.len().next_multiple_of(8), 0);
        compat.extend(new_format(&[(X86_64_LIBC6, "libm.so", "/new/libm.so", 0)]));
        assert_eq!(
            LdCache::parse(&compat).unwrap().lookup("libm.so"),
            Some("/new/libm.so")
        );
    }

    #[test]
    fn malformed_files_are_errors_or_skipped_entries() {
        assert_eq!(LdCache::parse(b"nope"), Err(LdCacheError::BadMagic));
        let mut bytes = new_format(&[(X86_64_LIBC6, "a", "/a", 0)]);
        bytes.truncate(NEW_HEADER + 10);
        assert_eq!(LdCache::parse(&bytes), Err(LdCacheError::Truncated));
        let mut huge = new_format(&[]);
        huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(LdCache::parse(&huge), Err(LdCacheError::Truncated));
        // A string offset past the end drops that entry only.
        let mut bad = new_format(&[(X86_64_LIBC6, "a", "/a", 0), (X86_64_LIBC6, "b", "/b", 0)]);
        bad[NEW_HEADER + 4..NEW_HEADER + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let cache = LdCache::parse(&bad).unwrap();
        assert_eq!((cache.lookup("a"), cache.lookup("b")), (None, Some("/b")));
    }

    #[test]
    fn the_host_cache_parses_and_names_libc() {
        let Ok(bytes) = std::fs::read("/etc/ld.so.cache") else {
            return;
        };
        let cache = LdCache::parse(&bytes).expect("the host's cache parses");
        let libc = cache
            .lookup("libc.so.6")
            .expect("libc.so.6 is in the cache");
        assert!(std::path::Path::new(libc).exists(), "{libc}");
    }
}
