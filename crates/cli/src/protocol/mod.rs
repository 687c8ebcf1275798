//! The host side of the host <-> guest byte protocol (`notes/protocol.md`).
//!
//! The guest talks to `oxv` over four byte channels: app stdout and stderr (raw), the kernel
//! log (lines, some of which are control records), and COM1, which carries framed stdin to
//! the guest and early kernel messages back. This module holds the pure, testable parts:
//! [`record`] parses control records, [`lines`] splits a byte stream into log lines, and
//! [`stdin`] frames the app's stdin. Moving the bytes (sockets, threads) is `vm`'s job.

pub mod lines;
pub mod record;
pub mod stdin;
