//! lseek(2): `EBADF` (an `O_PATH` fd too), then `EINVAL` for a `whence` above `SEEK_MAX`, then
//! what the file says: `ESPIPE` for streams, `EINVAL` for a negative result, `ENXIO` for
//! `SEEK_DATA`/`SEEK_HOLE` past the end.

use super::io_file;
use crate::fd_table::FdTable;
use oxv_abi::linux::fs::SEEK_MAX;
use oxv_abi::{Errno, SysResult};

/// lseek(2): moves the shared offset and returns it.
pub fn lseek(files: &FdTable, fd: i32, offset: i64, whence: u32) -> SysResult {
    let file = io_file(files, fd)?;
    if whence > SEEK_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(file.seek(offset, whence)? as usize)
}
