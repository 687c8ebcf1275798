//! The plan for loading an ELF executable: what to map where, and what the initial stack's
//! auxiliary vector must say about it.
//!
//! [`plan`] reads an x86_64 ELF file's header and program headers (with `goblin`'s ELF64
//! definitions) and validates everything a loader relies on, the way Linux's
//! `fs/binfmt_elf.c` does, so that mapping the result cannot fail on a malformed file and a
//! malformed file is a typed [`ExecError`] (`ENOEXEC` at the execve edge), never a panic. It
//! does not map anything, choose a load address, or open the interpreter: the kernel does
//! that with the [`ExecPlan`], then plans the interpreter (itself an `ET_DYN` file) the same
//! way.
//!
//! Addresses in the plan are the file's own (*unbiased*). For [`ElfKind::Exec`] they are
//! final. For [`ElfKind::Dyn`] (PIE, static-PIE, and the dynamic linker) the kernel picks a
//! load bias, a page-aligned amount added to every address, so that [`ExecPlan::span`] lands
//! on free memory.
//!
//! Section headers are ignored, as Linux ignores them: a stripped or section-less file loads.
//!
//! Differences from Linux, all stricter: two `PT_LOAD`s whose bytes overlap are rejected
//! (Linux lets the later mapping win); a `PT_LOAD` whose file offset and address are not
//! congruent modulo the page size is rejected up front (Linux fails later, in mmap, with
//! `EINVAL`); an empty interpreter path is rejected.

use crate::errno::Errno;
use crate::user::{PATH_MAX, USER_END};
use alloc::vec::Vec;
use bitflags::bitflags;
use core::ops::Range;
use goblin::container::Endian;
use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_DYN, ET_EXEC, SELFMAG,
};
use goblin::elf::program_header::{
    PF_R, PF_W, PF_X, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_PHDR, PT_TLS,
};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use linux_raw_sys::general as raw;

/// The page size segments are aligned to.
pub const PAGE_SIZE: u64 = 4096;

/// The most program headers accepted: Linux reads the table only if it fits in one page.
pub const MAX_PHNUM: usize = PAGE_SIZE as usize / SIZEOF_PHDR;

/// What kind of executable the file is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: linked at fixed addresses; load exactly there.
    Exec,
    /// `ET_DYN`: position-independent (PIE, static-PIE, or a shared object such as the
    /// dynamic linker); the kernel chooses a load bias.
    Dyn,
}

bitflags! {
    /// A segment's access rights, with the `PROT_*` values mmap(2) takes.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct SegmentProt: u32 {
        /// Readable (`PF_R`).
        const READ = raw::PROT_READ;
        /// Writable (`PF_W`).
        const WRITE = raw::PROT_WRITE;
        /// Executable (`PF_X`).
        const EXEC = raw::PROT_EXEC;
    }
}

impl SegmentProt {
    /// The rights of an ELF `p_flags` word; unknown bits are ignored, as Linux does.
    pub const fn from_p_flags(p_flags: u32) -> SegmentProt {
        let mut p = SegmentProt::empty();
        if p_flags & PF_R != 0 {
            p = p.union(SegmentProt::READ);
        }
        if p_flags & PF_W != 0 {
            p = p.union(SegmentProt::WRITE);
        }
        if p_flags & PF_X != 0 {
            p = p.union(SegmentProt::EXEC);
        }
        p
    }
}

/// One `PT_LOAD` segment: `file_size` bytes from `file_offset` at `vaddr`, then zeros up to
/// `mem_size` (the `.bss`).
///
/// Validated: `file_size <= mem_size`, the file range lies in the file, `vaddr + mem_size`
/// does not overflow and stays below [`USER_END`], and (when `file_size > 0`)
/// `vaddr % PAGE_SIZE == file_offset % PAGE_SIZE`, so the file pages can be mapped directly.
/// Two segments may share a page (their bytes never overlap): the loader must then give that
/// page the union of both rights and both contents.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First address (unbiased).
    pub vaddr: u64,
    /// Size in memory, `>= file_size`, never 0.
    pub mem_size: u64,
    /// Offset of the contents in the file.
    pub file_offset: u64,
    /// Bytes taken from the file.
    pub file_size: u64,
    /// Access rights.
    pub prot: SegmentProt,
}

impl Segment {
    /// The end address (exclusive), unbiased.
    pub const fn end(&self) -> u64 {
        self.vaddr + self.mem_size
    }

    /// The page-aligned address range the segment occupies, unbiased.
    pub const fn pages(&self) -> Range<u64> {
        page_down(self.vaddr)..page_up(self.end())
    }

    /// The segment's file contents within `elf` (the same bytes given to [`plan`]); `None`
    /// if `elf` is shorter than the file that was planned.
    pub fn file_bytes<'a>(&self, elf: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.file_offset).ok()?;
        let end = start.checked_add(usize::try_from(self.file_size).ok()?)?;
        elf.get(start..end)
    }
}

/// The thread-local storage template of `PT_TLS`: each thread's TLS block starts as a copy
/// of `file_size` bytes at `vaddr`, then zeros up to `mem_size`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TlsTemplate {
    /// Address of the initialization image (unbiased).
    pub vaddr: u64,
    /// Bytes of initialized data (`.tdata`).
    pub file_size: u64,
    /// Total size of the block (`.tdata` + `.tbss`).
    pub mem_size: u64,
    /// Required alignment: 0, 1 or a power of two.
    pub align: u64,
}

/// Everything the kernel needs to map an executable and describe it in the auxiliary vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan {
    /// `ET_EXEC` or `ET_DYN`.
    pub kind: ElfKind,
    /// `e_entry`, unbiased (`AT_ENTRY` is `entry + bias` for the program itself).
    pub entry: u64,
    /// The `PT_LOAD` segments with a non-zero memory size, sorted by address.
    pub segments: Vec<Segment>,
    /// Where the program headers are in memory, unbiased (`AT_PHDR` is this plus the bias):
    /// `PT_PHDR`'s address, or else computed from the `PT_LOAD` whose file range holds the
    /// table, as Linux does. `None` if neither exists (the table is not mapped; static libcs
    /// then cannot find their TLS segment).
    pub phdr_vaddr: Option<u64>,
    /// `e_phentsize` (`AT_PHENT`), always 56.
    pub phent: u16,
    /// `e_phnum` (`AT_PHNUM`).
    pub phnum: u16,
    /// The `PT_INTERP` path without its NUL (`/lib64/ld-linux-x86-64.so.2`), if any.
    pub interp: Option<Vec<u8>>,
    /// Whether `PT_GNU_STACK` asks for an executable stack. Without `PT_GNU_STACK` the
    /// stack is not executable, as on Linux for 64-bit programs.
    pub stack_exec: bool,
    /// The `PT_TLS` template, if any (the first one, as libcs use).
    pub tls: Option<TlsTemplate>,
    /// The page-aligned range covering every segment, unbiased: a `Dyn` file needs
    /// `span.end - span.start` bytes of free address space at `span.start + bias`.
    pub span: Range<u64>,
}

/// Why a file cannot be executed. All are `ENOEXEC` at the execve edge except
/// [`ExecError::BadEntry`], which Linux reports as `EINVAL`; see [`ExecError::to_errno`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// The file ends inside the 64-byte ELF header.
    #[error("ELF header truncated: the file is {len} bytes")]
    Truncated {
        /// The file's length.
        len: usize,
    },
    /// `EI_CLASS` is not `ELFCLASS64`.
    #[error("not a 64-bit ELF file")]
    Not64Bit,
    /// `EI_DATA` is not `ELFDATA2LSB`.
    #[error("not a little-endian ELF file")]
    NotLittleEndian,
    /// `e_machine` is not `EM_X86_64`.
    #[error("not an x86_64 ELF file (e_machine {0})")]
    WrongMachine(u16),
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN` (an object file or a core dump).
    #[error("ELF type {0} is not executable (need ET_EXEC or ET_DYN)")]
    WrongType(u16),
    /// `e_phentsize` is not the size of an ELF64 program header.
    #[error("program header entry size is {0}, not 56")]
    BadPhentsize(u16),
    /// `e_phnum` is 0 or the table is larger than a page.
    #[error("{0} program headers (need 1 to {max})", max = MAX_PHNUM)]
    BadPhnum(u16),
    /// The program header table extends past the end of the file.
    #[error("program header table lies outside the file")]
    PhdrsOutsideFile,
    /// A segment's file contents extend past the end of the file.
    #[error("program header {index}: file contents lie outside the file")]
    SegmentOutsideFile {
        /// Index of the program header.
        index: usize,
    },
    /// A segment's `p_filesz` exceeds its `p_memsz`.
    #[error("program header {index}: file size exceeds memory size")]
    FileSizeExceedsMemSize {
        /// Index of the program header.
        index: usize,
    },
    /// A segment's address range wraps around or leaves the user half.
    #[error("program header {index}: address range overflows or leaves user space")]
    BadAddress {
        /// Index of the program header.
        index: usize,
    },
    /// A segment's address and file offset differ modulo the page size.
    #[error("program header {index}: address and file offset are not congruent modulo 4096")]
    Misaligned {
        /// Index of the program header.
        index: usize,
    },
    /// Two `PT_LOAD` segments cover the same bytes.
    #[error("program headers {first} and {second}: loadable segments overlap")]
    Overlap {
        /// The lower segment's index.
        first: usize,
        /// The higher segment's index.
        second: usize,
    },
    /// No `PT_LOAD` segment with a non-zero size.
    #[error("no loadable segment")]
    NoLoadSegments,
    /// `PT_INTERP` is shorter than 2 bytes or longer than `PATH_MAX`.
    #[error("interpreter path size {len} is out of range")]
    InterpreterLength {
        /// The segment's `p_filesz`.
        len: u64,
    },
    /// `PT_INTERP` does not end in a NUL byte.
    #[error("interpreter path is not NUL-terminated")]
    InterpreterUnterminated,
    /// `PT_INTERP` holds an empty string.
    #[error("interpreter path is empty")]
    InterpreterEmpty,
    /// `PT_TLS` is inconsistent (sizes, alignment, or address range).
    #[error("program header {index}: bad TLS segment")]
    BadTls {
        /// Index of the program header.
        index: usize,
    },
    /// The entry point is outside the user half.
    #[error("entry point {0:#x} is outside user space")]
    BadEntry(u64),
    /// [`plan_prefix`] was given too short a prefix: the headers it must read extend to byte
    /// `upto` of the file. Not a property of the file; call again with more bytes.
    #[error("the ELF headers extend to byte {upto}, past the prefix read")]
    NeedMore {
        /// How many bytes of the file the headers need.
        upto: u64,
    },
}

impl ExecError {
    /// The errno execve(2) returns for this error, as Linux does.
    pub const fn to_errno(&self) -> Errno {
        match self {
            ExecError::BadEntry(_) => Errno::EINVAL,
            _ => Errno::ENOEXEC,
        }
    }
}

impl From<ExecError> for Errno {
    fn from(e: ExecError) -> Errno {
        e.to_errno()
    }
}

const fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Rounds up; callers only pass values `<= USER_END`, which cannot overflow.
const fn page_up(a: u64) -> u64 {
    page_down(a + (PAGE_SIZE - 1))
}

/// The part of an executable the planner reads: a prefix of the file and the file's length.
#[derive(Copy, Clone)]
struct Image<'a> {
    head: &'a [u8],
    len: u64,
}

impl<'a> Image<'a> {
    /// Whether `[offset, offset + len)` lies inside the file.
    fn in_file(&self, offset: u64, len: u64) -> bool {
        matches!(offset.checked_add(len), Some(end) if end <= self.len)
    }

    /// The bytes `[offset, offset + len)`: `Ok(None)` if they lie outside the file,
    /// `NeedMore` if they are in the file but past the prefix.
    fn bytes(&self, offset: u64, len: u64) -> Result<Option<&'a [u8]>, ExecError> {
        if !self.in_file(offset, len) {
            return Ok(None);
        }
        let end = offset + len;
        if end > self.head.len() as u64 {
            return Err(ExecError::NeedMore { upto: end });
        }
        Ok(Some(&self.head[offset as usize..end as usize]))
    }
}

/// Whether `[vaddr, vaddr + len)` is a valid user range.
fn user_range(vaddr: u64, len: u64) -> bool {
    matches!(vaddr.checked_add(len), Some(end) if end <= USER_END)
}

/// Validates `elf` and describes how to load it. See the module docs for what is checked.
pub fn plan(elf: &[u8]) -> Result<ExecPlan, ExecError> {
    plan_prefix(elf, elf.len() as u64)
}

/// Like [`plan`], from the first bytes of a file of `file_len` bytes, so a kernel can plan
/// without reading the whole file: the ELF header, the program header table and the
/// interpreter path must lie in `head` (they are near the start in every linker's output);
/// if they do not, the error is [`ExecError::NeedMore`] with how much to read.
pub fn plan_prefix(head: &[u8], file_len: u64) -> Result<ExecPlan, ExecError> {
    let img = Image {
        head,
        len: file_len.max(head.len() as u64),
    };
    let elf = head;
    if file_len < SIZEOF_EHDR as u64 && elf.get(..SELFMAG) != Some(&ELFMAG[..]) {
        return Err(ExecError::NotElf);
    }
    if file_len < SIZEOF_EHDR as u64 {
        return Err(ExecError::Truncated {
            len: file_len as usize,
        });
    }
    if elf.len() < SIZEOF_EHDR {
        return Err(ExecError::NeedMore {
            upto: SIZEOF_EHDR as u64,
        });
    }
    if elf.get(..SELFMAG) != Some(&ELFMAG[..]) {
        return Err(ExecError::NotElf);
    }
    if elf[EI_CLASS] != ELFCLASS64 {
        return Err(ExecError::Not64Bit);
    }
    if elf[EI_DATA] != ELFDATA2LSB {
        return Err(ExecError::NotLittleEndian);
    }
    let eh = Header::parse(elf).map_err(|_| ExecError::Truncated { len: elf.len() })?;
    let kind = match eh.e_type {
        ET_EXEC => ElfKind::Exec,
        ET_DYN => ElfKind::Dyn,
        t => return Err(ExecError::WrongType(t)),
    };
    if eh.e_machine != EM_X86_64 {
        return Err(ExecError::WrongMachine(eh.e_machine));
    }
    if eh.e_phentsize as usize != SIZEOF_PHDR {
        return Err(ExecError::BadPhentsize(eh.e_phentsize));
    }
    let phnum = eh.e_phnum as usize;
    if phnum == 0 || phnum > MAX_PHNUM {
        return Err(ExecError::BadPhnum(eh.e_phnum));
    }
    let table_len = (phnum * SIZEOF_PHDR) as u64;
    let phoff = img
        .bytes(eh.e_phoff, table_len)?
        .map(|_| eh.e_phoff as usize)
        .ok_or(ExecError::PhdrsOutsideFile)?;
    let phdrs = ProgramHeader::parse(elf, phoff, phnum, Endian::Little)
        .map_err(|_| ExecError::PhdrsOutsideFile)?;

    // (phdr index, segment), for overlap errors that name the headers.
    let mut loads: Vec<(usize, Segment)> = Vec::new();
    let mut interp = None;
    let mut stack_exec = false;
    let mut tls = None;
    let mut pt_phdr = None;
    for (index, ph) in phdrs.iter().enumerate() {
        match ph.p_type {
            PT_LOAD => {
                if let Some(seg) = load_segment(&img, index, ph)? {
                    loads.push((index, seg));
                }
            }
            PT_INTERP if interp.is_none() => interp = Some(interpreter(&img, index, ph)?),
            PT_GNU_STACK => stack_exec = ph.p_flags & PF_X != 0,
            PT_TLS if tls.is_none() => tls = Some(tls_template(&img, index, ph)?),
            PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(ph.p_vaddr),
            _ => {}
        }
    }
    if loads.is_empty() {
        return Err(ExecError::NoLoadSegments);
    }
    loads.sort_by_key(|(_, s)| s.vaddr);
    let mut highest: (usize, u64) = (loads[0].0, 0);
    for (index, seg) in &loads {
        if seg.vaddr < highest.1 {
            return Err(ExecError::Overlap {
                first: highest.0,
                second: *index,
            });
        }
        if seg.end() > highest.1 {
            highest = (*index, seg.end());
        }
    }
    if eh.e_entry >= USER_END {
        return Err(ExecError::BadEntry(eh.e_entry));
    }
    let phdr_vaddr = pt_phdr.or_else(|| {
        loads.iter().find_map(|(_, s)| {
            let covers = s.file_offset <= eh.e_phoff
                && eh.e_phoff + table_len <= s.file_offset + s.file_size;
            covers.then(|| s.vaddr + (eh.e_phoff - s.file_offset))
        })
    });
    let span = page_down(loads[0].1.vaddr)..page_up(highest.1);
    Ok(ExecPlan {
        kind,
        entry: eh.e_entry,
        segments: loads.into_iter().map(|(_, s)| s).collect(),
        phdr_vaddr,
        phent: eh.e_phentsize,
        phnum: eh.e_phnum,
        interp,
        stack_exec,
        tls,
        span,
    })
}

fn load_segment(
    img: &Image<'_>,
    index: usize,
    ph: &ProgramHeader,
) -> Result<Option<Segment>, ExecError> {
    if ph.p_memsz == 0 {
        // Linux maps nothing for an empty segment; neither do we.
        return Ok(None);
    }
    if ph.p_filesz > ph.p_memsz {
        return Err(ExecError::FileSizeExceedsMemSize { index });
    }
    if !user_range(ph.p_vaddr, ph.p_memsz) {
        return Err(ExecError::BadAddress { index });
    }
    if ph.p_filesz > 0 {
        if !img.in_file(ph.p_offset, ph.p_filesz) {
            return Err(ExecError::SegmentOutsideFile { index });
        }
        if ph.p_vaddr % PAGE_SIZE != ph.p_offset % PAGE_SIZE {
            return Err(ExecError::Misaligned { index });
        }
    }
    Ok(Some(Segment {
        vaddr: ph.p_vaddr,
        mem_size: ph.p_memsz,
        file_offset: if ph.p_filesz > 0 { ph.p_offset } else { 0 },
        file_size: ph.p_filesz,
        prot: SegmentProt::from_p_flags(ph.p_flags),
    }))
}

/// The `PT_INTERP` path, checked as Linux checks it: `2 <= p_filesz <= PATH_MAX` and a NUL
/// in the last byte. Like Linux, the path ends at the first NUL.
fn interpreter(img: &Image<'_>, index: usize, ph: &ProgramHeader) -> Result<Vec<u8>, ExecError> {
    if ph.p_filesz < 2 || ph.p_filesz > PATH_MAX as u64 {
        return Err(ExecError::InterpreterLength { len: ph.p_filesz });
    }
    let bytes = img
        .bytes(ph.p_offset, ph.p_filesz)?
        .ok_or(ExecError::SegmentOutsideFile { index })?;
    if bytes.last() != Some(&0) {
        return Err(ExecError::InterpreterUnterminated);
    }
    let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if path.is_empty() {
        return Err(ExecError::InterpreterEmpty);
    }
    Ok(path.to_vec())
}

fn tls_template(
    img: &Image<'_>,
    index: usize,
    ph: &ProgramHeader,
) -> Result<TlsTemplate, ExecError> {
    let bad = ExecError::BadTls { index };
    if ph.p_filesz > ph.p_memsz || !user_range(ph.p_vaddr, ph.p_memsz) {
        return Err(bad);
    }
    if ph.p_align > 1 && !ph.p_align.is_power_of_two() {
        return Err(bad);
    }
    if ph.p_filesz > 0 && !img.in_file(ph.p_offset, ph.p_filesz) {
        return Err(ExecError::SegmentOutsideFile { index });
    }
    Ok(TlsTemplate {
        vaddr: ph.p_vaddr,
        file_size: ph.p_filesz,
        mem_size: ph.p_memsz,
        align: ph.p_align,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A minimal valid ET_EXEC image: header, `phdrs`, padded to `len` bytes.
    fn image(e_type: u16, phdrs: &[ProgramHeader], len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len.max(SIZEOF_EHDR + phdrs.len() * SIZEOF_PHDR)];
        f[..4].copy_from_slice(ELFMAG);
        f[EI_CLASS] = ELFCLASS64;
        f[EI_DATA] = ELFDATA2LSB;
        f[6] = 1; // EI_VERSION
        f[16..18].copy_from_slice(&e_type.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&0x40_1000u64.to_le_bytes()); // e_entry
        f[32..40].copy_from_slice(&(SIZEOF_EHDR as u64).to_le_bytes()); // e_phoff
        f[52..54].copy_from_slice(&(SIZEOF_EHDR as u16).to_le_bytes());
        f[54..56].copy_from_slice(&(SIZEOF_PHDR as u16).to_le_bytes());
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, ph) in phdrs.iter().enumerate() {
            let o = SIZEOF_EHDR + i * SIZEOF_PHDR;
            let fields = [
                ph.p_offset,
                ph.p_vaddr,
                ph.p_paddr,
                ph.p_filesz,
                ph.p_memsz,
                ph.p_align,
            ];
            f[o..o + 4].copy_from_slice(&ph.p_type.to_le_bytes());
            f[o + 4..o + 8].copy_from_slice(&ph.p_flags.to_le_bytes());
            for (j, v) in fields.iter().enumerate() {
                f[o + 8 + 8 * j..o + 16 + 8 * j].copy_from_slice(&v.to_le_bytes());
            }
        }
        f
    }

    fn load(offset: u64, vaddr: u64, filesz: u64, memsz: u64, flags: u32) -> ProgramHeader {
        ProgramHeader {
            p_type: PT_LOAD,
            p_flags: flags,
            p_offset: offset,
            p_vaddr: vaddr,
            p_paddr: vaddr,
            p_filesz: filesz,
            p_memsz: memsz,
            p_align: PAGE_SIZE,
        }
    }

    fn other(p_type: u32, offset: u64, filesz: u64) -> ProgramHeader {
        ProgramHeader {
            p_type,
            p_offset: offset,
            p_filesz: filesz,
            p_memsz: filesz,
            ..Default::default()
        }
    }

    #[test]
    fn minimal_exec_with_bss() {
        let f = image(
            ET_EXEC,
            &[
                load(0, 0x40_0000, 0x200, 0x200, PF_R | PF_X),
                load(0x1000, 0x40_1000, 0x10, 0x3000, PF_R | PF_W),
            ],
            0x1010,
        );
        let p = plan(&f).unwrap();
        assert_eq!(p.kind, ElfKind::Exec);
        assert_eq!(p.entry, 0x40_1000);
        assert_eq!(p.segments.len(), 2);
        assert_eq!(p.segments[0].prot, SegmentProt::READ | SegmentProt::EXEC);
        assert_eq!(p.segments[1].prot.bits(), raw::PROT_READ | raw::PROT_WRITE);
        assert_eq!(p.span, 0x40_0000..0x40_4000);
        assert_eq!(
            p.phdr_vaddr,
            Some(0x40_0040),
            "computed from the PT_LOAD at offset 0"
        );
        assert_eq!((p.phent, p.phnum), (56, 2));
        assert_eq!(p.interp, None);
        assert!(!p.stack_exec);
        assert_eq!(p.segments[1].file_bytes(&f).map(<[u8]>::len), Some(0x10));
        assert_eq!(p.segments[1].pages(), 0x40_1000..0x40_4000);
    }

    #[test]
    fn header_checks_in_linux_order() {
        let good = image(ET_EXEC, &[load(0, 0x40_0000, 0x100, 0x100, PF_R)], 0x100);
        assert!(plan(&good).is_ok());
        assert_eq!(plan(b"#!/bin/sh\n"), Err(ExecError::NotElf));
        assert_eq!(plan(&good[..3]), Err(ExecError::NotElf));
        assert_eq!(plan(&good[..40]), Err(ExecError::Truncated { len: 40 }));
        let mut f = good.clone();
        f[EI_CLASS] = 1;
        assert_eq!(plan(&f), Err(ExecError::Not64Bit));
        let mut f = good.clone();
        f[EI_DATA] = 2;
        assert_eq!(plan(&f), Err(ExecError::NotLittleEndian));
        let mut f = good.clone();
        f[16] = 1; // ET_REL
        assert_eq!(plan(&f), Err(ExecError::WrongType(1)));
        let mut f = good.clone();
        f[16] = 4; // ET_CORE
        assert_eq!(plan(&f), Err(ExecError::WrongType(4)));
        let mut f = good.clone();
        f[18] = 3; // EM_386
        assert_eq!(plan(&f), Err(ExecError::WrongMachine(3)));
        let mut f = good.clone();
        f[54] = 32;
        assert_eq!(plan(&f), Err(ExecError::BadPhentsize(32)));
        let mut f = good.clone();
        f[56..58].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(plan(&f), Err(ExecError::BadPhnum(0)));
        let mut f = good.clone();
        f[56..58].copy_from_slice(&74u16.to_le_bytes());
        assert_eq!(plan(&f), Err(ExecError::BadPhnum(74)));
        let mut f = good.clone();
        f[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(plan(&f), Err(ExecError::PhdrsOutsideFile));
        let mut f = good;
        f[24..32].copy_from_slice(&USER_END.to_le_bytes());
        assert_eq!(plan(&f), Err(ExecError::BadEntry(USER_END)));
        assert_eq!(ExecError::BadEntry(0).to_errno(), Errno::EINVAL);
        assert_eq!(ExecError::NotElf.to_errno(), Errno::ENOEXEC);
    }

    #[test]
    fn segment_checks() {
        let p = |phs: &[ProgramHeader]| plan(&image(ET_EXEC, phs, 0x2000));
        assert_eq!(
            p(&[load(0, 0x1000, 0x200, 0x100, PF_R)]),
            Err(ExecError::FileSizeExceedsMemSize { index: 0 })
        );
        assert_eq!(
            p(&[load(0x1800, 0x1800, 0x1000, 0x1000, PF_R)]),
            Err(ExecError::SegmentOutsideFile { index: 0 })
        );
        assert_eq!(
            p(&[load(u64::MAX, 0x1fff, 2, 2, PF_R)]),
            Err(ExecError::SegmentOutsideFile { index: 0 })
        );
        assert_eq!(
            p(&[load(0, u64::MAX - 10, 1, 100, PF_R)]),
            Err(ExecError::BadAddress { index: 0 })
        );
        assert_eq!(
            p(&[load(0, USER_END - 0x1000, 1, 0x2000, PF_R)]),
            Err(ExecError::BadAddress { index: 0 })
        );
        assert_eq!(
            p(&[load(0x10, 0x1000, 1, 1, PF_R)]),
            Err(ExecError::Misaligned { index: 0 })
        );
        assert_eq!(
            p(&[
                other(PT_NOTE_FOR_TEST, 0, 0),
                load(0, 0x1000, 0x100, 0x1000, PF_R),
                load(0x800, 0x1800, 0x10, 0x10, PF_R)
            ]),
            Err(ExecError::Overlap {
                first: 1,
                second: 2
            })
        );
        assert_eq!(
            p(&[load(0, 0x1000, 0, 0, PF_R)]),
            Err(ExecError::NoLoadSegments)
        );
        // Two segments may share a page as long as their bytes do not overlap.
        let ok = p(&[
            load(0, 0x1000, 0x100, 0x100, PF_R),
            load(0x100, 0x1100, 0x100, 0x100, PF_R | PF_W),
        ])
        .unwrap();
        assert_eq!(ok.span, 0x1000..0x2000);
        // Segments come back sorted by address, whatever the file order.
        let ok = p(&[
            load(0x1000, 0x5000, 0x10, 0x10, PF_R),
            load(0, 0x1000, 0x10, 0x10, PF_R),
        ])
        .unwrap();
        assert_eq!(ok.segments[0].vaddr, 0x1000);
        // A pure-bss segment needs no file range or congruence.
        let ok = p(&[
            load(0, 0x1000, 0x10, 0x10, PF_R),
            load(0x7777_7777, 0x9000, 0, 0x1000, PF_R | PF_W),
        ])
        .unwrap();
        assert_eq!(ok.segments[1].file_offset, 0);
    }

    const PT_NOTE_FOR_TEST: u32 = goblin::elf::program_header::PT_NOTE;

    #[test]
    fn interpreter_checks() {
        let with_interp = |bytes: &[u8], filesz: u64| {
            let mut f = image(
                ET_DYN,
                &[
                    other(PT_INTERP, 0x400, filesz),
                    load(0, 0, 0x800, 0x800, PF_R),
                ],
                0x800,
            );
            f[0x400..0x400 + bytes.len()].copy_from_slice(bytes);
            plan(&f)
        };
        let interp = b"/lib64/ld-linux-x86-64.so.2\0";
        assert_eq!(
            with_interp(interp, interp.len() as u64)
                .unwrap()
                .interp
                .as_deref(),
            Some(&interp[..27])
        );
        assert_eq!(
            with_interp(b"/a\0", 2),
            Err(ExecError::InterpreterUnterminated)
        );
        assert_eq!(
            with_interp(b"\0", 1),
            Err(ExecError::InterpreterLength { len: 1 })
        );
        assert_eq!(with_interp(b"\0\0", 2), Err(ExecError::InterpreterEmpty));
        assert_eq!(
            with_interp(b"", 5000),
            Err(ExecError::InterpreterLength { len: 5000 })
        );
        assert_eq!(
            with_interp(b"", 0x401),
            Err(ExecError::SegmentOutsideFile { index: 0 })
        );
        // Like Linux, the path ends at its first NUL.
        assert_eq!(
            with_interp(b"/x\0yz\0", 6).unwrap().interp.as_deref(),
            Some(&b"/x"[..])
        );
    }

    #[test]
    fn stack_tls_and_phdr() {
        let mut tls = other(PT_TLS, 0x100, 0x10);
        tls.p_vaddr = 0x1100;
        tls.p_memsz = 0x40;
        tls.p_align = 16;
        let mut stack = other(PT_GNU_STACK, 0, 0);
        stack.p_flags = PF_R | PF_W | PF_X;
        let mut phdr = other(PT_PHDR, 0x40, 0x100);
        phdr.p_vaddr = 0x1040;
        let f = image(
            ET_DYN,
            &[phdr, load(0, 0x1000, 0x800, 0x800, PF_R), tls, stack],
            0x800,
        );
        let p = plan(&f).unwrap();
        assert_eq!(p.kind, ElfKind::Dyn);
        assert!(p.stack_exec);
        assert_eq!(
            p.tls,
            Some(TlsTemplate {
                vaddr: 0x1100,
                file_size: 0x10,
                mem_size: 0x40,
                align: 16
            })
        );
        assert_eq!(p.phdr_vaddr, Some(0x1040));
        tls.p_align = 24;
        let f = image(ET_DYN, &[load(0, 0x1000, 0x800, 0x800, PF_R), tls], 0x800);
        assert_eq!(plan(&f), Err(ExecError::BadTls { index: 1 }));
        // No PT_PHDR and no PT_LOAD covering the table: unknown.
        let f = image(ET_DYN, &[load(0x1000, 0x1000, 0x10, 0x10, PF_R)], 0x1010);
        assert_eq!(plan(&f).unwrap().phdr_vaddr, None);
    }
}
