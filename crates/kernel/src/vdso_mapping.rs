//! The vDSO's frames and their place in each address space.
//!
//! At boot the image ([`vdso::image_pages`]) is copied into frames of its own and the data
//! page is filled from the kernel's clock; every process then maps those same frames (no
//! copies): `[vvar]` read-only and `[vdso]` read + exec, adjacent, at an address the address
//! space picks like any mmap (see the layout contract in [`crate::vdso`]). The frames are
//! never freed: the kernel keeps one reference on each.
//!
//! Not here: updating the data page when the wall clock is set (oxv has no settimeofday or
//! clock_settime yet; the page is written once).

use crate::arch::user_pt::DirectMapBytes;
use crate::mem::KernelFrames;
use crate::vdso::{self, GetcpuSource, VvarConfig};
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::mm::MAP_PRIVATE;
use oxv_mm::{
    AddressSpace, FrameBytes, FrameSource, MmapArgs, PageError, PageTable, PhysFrame, Platform,
    Prot, SharedMapSource, VmaKind,
};
use spin::Once;

const PAGE: u64 = vdso::PAGE_SIZE as u64;

/// Frames the kernel owns and lends to every process's page tables.
struct KernelPages {
    frames: Vec<PhysFrame>,
}

impl KernelPages {
    /// Frames holding `bytes` (a whole number of pages); `None` when out of memory.
    fn new(bytes: &[u8]) -> Option<KernelPages> {
        let mut frames = Vec::new();
        for page in bytes.chunks(vdso::PAGE_SIZE) {
            let f = KernelFrames.allocate_frame()?;
            DirectMapBytes.write(f, 0, page);
            frames.push(f);
        }
        Some(KernelPages { frames })
    }

    fn frame(&self, offset: u64) -> Result<PhysFrame, PageError> {
        let i = usize::try_from(offset / PAGE).map_err(|_| PageError::Beyond)?;
        self.frames.get(i).copied().ok_or(PageError::Beyond)
    }
}

impl SharedMapSource for KernelPages {
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        _bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        let f = self.frame(offset)?;
        frames.add_ref(f).map_err(|_| PageError::Io)?;
        Ok(f)
    }

    fn is_resident(&self, offset: u64) -> bool {
        self.frame(offset).is_ok()
    }

    fn read(&self, offset: u64, buf: &mut [u8], bytes: &dyn FrameBytes) -> Result<(), PageError> {
        let f = self.frame(offset)?;
        bytes.read(f, (offset % PAGE) as usize, buf);
        Ok(())
    }
}

struct Pages {
    vvar: Arc<KernelPages>,
    image: Arc<KernelPages>,
}

static PAGES: Once<Option<Pages>> = Once::new();

/// Copies the image into frames and fills the data page from the kernel's clock (call once,
/// after the clock is calibrated and the `cpus` CPUs are online). Out of memory leaves processes without a vDSO: libcs then
/// make the system calls.
pub fn init(cpus: usize) {
    PAGES.call_once(|| {
        let mut data = [0u8; vdso::PAGE_SIZE];
        let getcpu = if cpus == 1 {
            // One CPU: the page itself says which.
            GetcpuSource::Fixed { cpu: 0, node: 0 }
        } else if crate::arch::smp::has_rdtscp() {
            // Each CPU's TSC_AUX holds its number (set at its start).
            GetcpuSource::TscAux
        } else {
            GetcpuSource::Syscall
        };
        let config = VvarConfig {
            tsc_usable: true,
            getcpu,
        };
        vdso::fill(&mut data, crate::time::clock(), config);
        Some(Pages {
            vvar: Arc::new(KernelPages::new(&data)?),
            image: Arc::new(KernelPages::new(vdso::image_pages())?),
        })
    });
}

/// Maps `[vvar]` and `[vdso]` into `mm`; returns `AT_SYSINFO_EHDR`, or `None` when there is
/// no vDSO (see [`init`]).
pub fn map<P: PageTable>(
    mm: &mut AddressSpace<P>,
    plat: &mut Platform<'_>,
) -> Result<Option<u64>, Errno> {
    let Some(Some(pages)) = PAGES.get() else {
        return Ok(None);
    };
    // A free range for both, from the mmap allocator, then the two special mappings over it.
    let len = (vdso::MAPPING_PAGES * vdso::PAGE_SIZE) as u64;
    let base = mm.mmap(MmapArgs::anonymous(0, len, 0, MAP_PRIVATE), plat)?;
    let data_len = (vdso::DATA_PAGES * vdso::PAGE_SIZE) as u64;
    mm.map_special(
        base,
        data_len,
        Prot::READ,
        VmaKind::Vvar,
        pages.vvar.clone(),
        plat,
    )?;
    let image_base = vdso::image_base(base);
    mm.map_special(
        image_base,
        len - data_len,
        Prot::READ | Prot::EXEC,
        VmaKind::Vdso,
        pages.image.clone(),
        plat,
    )?;
    Ok(Some(image_base))
}
