//! The `ext2` fuzz target's input: an ext2 image, its trailing zeros cut off (they are put
//! back up to the size the superblock names, at most 16 MiB: see
//! [`oxv_vfs::ext2::exercise::disk_image`]), run through
//! [`oxv_vfs::ext2::exercise::exercise`] read-write with its default limits.

use oxv_vfs::ext2::exercise::{self, Limits, Report, Violation};

/// Mounts, walks, changes, remounts and walks the image `data`; a broken promise is `Err`
/// (a panic propagates).
pub fn run(data: &[u8]) -> Result<Report, Violation> {
    exercise::exercise(exercise::disk_image(data), false, Limits::default())
}

/// `data` without its trailing zeros: how seeds are stored.
pub fn trim(data: &[u8]) -> &[u8] {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &data[..end]
}
