//! Open files as the backing of memory mappings: oxv-mm reads a private file mapping's pages
//! on demand through [`MapSource`]; this adapts a VFS [`OpenFile`] to it.

use alloc::sync::Arc;
use oxv_abi::Errno;
use oxv_mm::MapSource;
use oxv_vfs::{OpenFile, ReadBuf};

/// An open file read on demand to fill private file mappings.
pub struct FileMapSource(pub Arc<OpenFile>);

impl MapSource for FileMapSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.read_at(offset, &mut ReadBuf::kernel(buf))
    }
}

/// Reads `buf.len()` bytes at `offset`, short only at end of file.
pub fn read_full(file: &OpenFile, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.read_at(offset + done as u64, &mut ReadBuf::kernel(&mut buf[done..]))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}
