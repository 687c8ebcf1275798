//! Architecture support. Only x86_64 exists; `arch::x86_64` is re-exported flat so the rest of
//! the kernel says `arch::cpu`, `arch::paging`.

pub mod x86_64;

pub use x86_64::*;
