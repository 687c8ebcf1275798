//! Turning a kernel panic's return addresses into function names.
//!
//! The kernel reports raw return addresses (`backtrace` record, innermost first); the host
//! has the kernel ELF, so it looks each one up in the ELF's symbol table (`.symtab`; the
//! release profile keeps it) and demangles the Rust name. A return address points just
//! past its call instruction, which may be the first byte of the next function, so the
//! lookup uses `addr - 1` while the printed offset is from the return address itself, as
//! debuggers do. No line numbers: that would need DWARF parsing, and names are usually
//! enough to find a panic.

use std::fmt;
use std::path::Path;

use goblin::elf::Elf;
use goblin::elf::sym::{STT_FUNC, STT_NOTYPE};

/// A function symbol: start address, size (0 if unknown, e.g. an assembly label), name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Symbol {
    start: u64,
    size: u64,
    name: String,
}

/// A kernel's function symbols, sorted by address.
#[derive(Debug, Default)]
pub struct SymbolTable {
    symbols: Vec<Symbol>,
}

/// One symbolized backtrace frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The return address.
    pub addr: u64,
    /// The demangled function name and the offset of `addr` into it, if found.
    pub symbol: Option<(String, u64)>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.addr)?;
        match &self.symbol {
            Some((name, offset)) => write!(f, "  {name}+{offset:#x}"),
            None => f.write_str("  ??"),
        }
    }
}

impl SymbolTable {
    /// Reads the function symbols of the ELF at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the function symbols of an ELF image.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let elf = Elf::parse(bytes).map_err(|e| e.to_string())?;
        let mut symbols: Vec<Symbol> = elf
            .syms
            .iter()
            .filter(|s| (s.st_type() == STT_FUNC || s.st_type() == STT_NOTYPE) && s.st_value != 0)
            .filter_map(|s| {
                let name = elf
                    .strtab
                    .get_at(s.st_name)
                    .filter(|n| !n.is_empty() && !n.starts_with(".L"))?;
                Some(Symbol {
                    start: s.st_value,
                    size: s.st_size,
                    name: demangle(name),
                })
            })
            .collect();
        if symbols.is_empty() {
            return Err("no symbol table (stripped?)".into());
        }
        // Prefer sized (FUNC) symbols over labels at the same address.
        symbols.sort_by(|a, b| a.start.cmp(&b.start).then(b.size.cmp(&a.size)));
        symbols.dedup_by_key(|s| s.start);
        Ok(SymbolTable { symbols })
    }

    /// Symbolizes one return address.
    pub fn frame(&self, addr: u64) -> Frame {
        let probe = addr.saturating_sub(1);
        let idx = self.symbols.partition_point(|s| s.start <= probe);
        let symbol = idx
            .checked_sub(1)
            .map(|i| &self.symbols[i])
            .filter(|s| s.size == 0 || probe < s.start.saturating_add(s.size))
            .map(|s| (s.name.clone(), addr - s.start));
        Frame { addr, symbol }
    }
}

/// Demangles a Rust symbol (either scheme) without its hash; other names pass unchanged.
fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SymbolTable {
        let sym = |start, size, name: &str| Symbol {
            start,
            size,
            name: name.into(),
        };
        SymbolTable {
            symbols: vec![
                sym(0x1000, 0x100, "a"),
                sym(0x1100, 0x20, "b"),
                sym(0x2000, 0, "label"),
            ],
        }
    }

    #[test]
    fn return_addresses_resolve_to_the_calling_function() {
        let t = table();
        assert_eq!(t.frame(0x1010).symbol, Some(("a".into(), 0x10)));
        // Returning to the first byte after `a` still means the call was in `a`.
        assert_eq!(t.frame(0x1100).symbol, Some(("a".into(), 0x100)));
        assert_eq!(t.frame(0x1101).symbol, Some(("b".into(), 1)));
        assert_eq!(t.frame(0x1500).symbol, None);
        assert_eq!(t.frame(0x2345).symbol, Some(("label".into(), 0x345)));
        assert_eq!(t.frame(0x10).symbol, None);
        assert_eq!(t.frame(0).symbol, None);
    }

    #[test]
    fn frames_print_address_and_symbol() {
        let t = table();
        assert_eq!(t.frame(0x1010).to_string(), "0x0000000000001010  a+0x10");
        assert_eq!(t.frame(0x9).to_string(), "0x0000000000000009  ??");
    }

    #[test]
    fn rust_names_are_demangled_without_hash() {
        assert_eq!(
            demangle("_ZN10oxv_kernel5panic4halt17h0123456789abcdefE"),
            "oxv_kernel::panic::halt"
        );
        assert_eq!(demangle("memcpy"), "memcpy");
    }

    #[test]
    fn a_real_elf_symbolizes_its_own_functions() {
        // This test binary has a symbol table; `main` must be found at its own address.
        let exe = std::env::current_exe().unwrap();
        let bytes = std::fs::read(&exe).unwrap();
        let t = SymbolTable::parse(&bytes).unwrap();
        let main = t
            .symbols
            .iter()
            .find(|s| s.name == "main")
            .expect("main in symtab");
        assert_eq!(t.frame(main.start + 1).symbol, Some(("main".into(), 1)));
        assert!(SymbolTable::parse(b"not an elf").is_err());
    }
}
