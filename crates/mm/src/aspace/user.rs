//! A software [`UserMemory`]: the app's memory seen through its VMAs and page table.
//!
//! Copies walk the page table and go through [`FrameBytes`](crate::FrameBytes), checking
//! the VMA protection the way the MMU would for a user access: a read needs an accessible
//! VMA, a write a writable one (faulting pages in, growing stacks, breaking copy-on-write).
//! A failed check is a [`Fault`] at the first byte of the page that failed, which system
//! calls turn into `EFAULT`.
//!
//! This is slower than letting the CPU copy with an exception-table fixup, but needs neither,
//! so a kernel can use it from its first system call; host tests use it everywhere.

use super::{AddressSpace, Platform, page_of};
use crate::addr::{PAGE_SIZE, USER_TOP};
use crate::paging::PageTable;
use oxv_abi::{Fault, UserAddr, UserMemory};

use super::Access;

/// An [`AddressSpace`] with the [`Platform`] to reach its frames: a [`UserMemory`].
pub struct UserAccess<'a, 'p, P: PageTable> {
    aspace: &'a mut AddressSpace<P>,
    plat: &'a mut Platform<'p>,
}

impl<P: PageTable> AddressSpace<P> {
    /// This address space as [`UserMemory`], for system calls that copy in and out.
    pub fn user_memory<'a, 'p>(&'a mut self, plat: &'a mut Platform<'p>) -> UserAccess<'a, 'p, P> {
        UserAccess { aspace: self, plat }
    }
}

/// Splits `[start, start + len)` into per-page chunks `(addr, done, n)`, or the fault at the
/// first address that leaves the user half.
fn chunks(start: UserAddr, len: usize) -> impl Iterator<Item = Result<(u64, usize, usize), Fault>> {
    let mut done = 0usize;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let a = start.get().wrapping_add(done as u64);
        let Some(a) = start
            .get()
            .checked_add(done as u64)
            .filter(|&a| a < USER_TOP)
        else {
            done = len;
            return Some(Err(Fault {
                addr: UserAddr::new(a),
            }));
        };
        let n = (PAGE_SIZE - (a % PAGE_SIZE as u64) as usize).min(len - done);
        let item = (a, done, n);
        done += n;
        Some(Ok(item))
    })
}

impl<P: PageTable> UserMemory for UserAccess<'_, '_, P> {
    fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault> {
        for chunk in chunks(src, dst.len()) {
            let (a, done, n) = chunk?;
            let fault = Fault {
                addr: UserAddr::new(a),
            };
            match self.aspace.find_vma(a) {
                Some(v) if v.prot().is_accessible() => {}
                _ => return Err(fault),
            }
            self.aspace
                .read_bytes(a, &mut dst[done..done + n], self.plat.bytes)
                .map_err(|_| fault)?;
        }
        Ok(())
    }

    fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault> {
        for chunk in chunks(dst, src.len()) {
            let (a, done, n) = chunk?;
            let fault = Fault {
                addr: UserAddr::new(a),
            };
            self.aspace
                .handle_fault(a, Access::Write, self.plat)
                .map_err(|_| fault)?;
            let (frame, _) = self.aspace.page_table.translate(page_of(a)).ok_or(fault)?;
            self.plat
                .bytes
                .write(frame, (a % PAGE_SIZE as u64) as usize, &src[done..done + n]);
        }
        Ok(())
    }
}
