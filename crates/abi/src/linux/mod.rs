//! Linux x86_64 struct layouts and flag values, as `#[repr(C)]` views that copy to and from
//! user memory with `zerocopy`. Every layout is pinned to `linux-raw-sys` (or to the kernel's
//! documented layout) by compile-time size and offset asserts.

pub mod fs;
pub mod mm;
pub mod net;
pub mod process;
pub mod sigframe;
pub mod signal;
pub mod system;
pub mod time;
pub mod timer;
