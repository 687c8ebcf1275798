//! The oxv host tool.
fn main() {}
