//! Loading an ELF program into a fresh address space, the way Linux's `binfmt_elf` lays it
//! out: segments at their addresses (plus a randomized bias for `ET_DYN`), the program break
//! just above the image, the stack at the top of the user half, `mmap` allocations below the
//! stack, and the System V initial stack (argv, envp, auxv) built by `oxv_abi::stack`.
//!
//! A program with `PT_INTERP` gets its interpreter (the dynamic linker, e.g. glibc's
//! `/lib64/ld-linux-x86-64.so.2`) loaded too, from the file system, at an address the
//! address space picks below the mmap base like Linux's `load_elf_interp`; the thread starts
//! at the interpreter's entry with `AT_BASE` saying where it is, and `AT_ENTRY`/`AT_PHDR`
//! describing the program, which the interpreter then relocates and runs.
//!
//! The program's file cannot be written while the image lives (`ETXTBSY`, see
//! [`oxv_vfs::write_access`]): its segment mappings hold the denial, so it ends when the
//! address space goes (exec or exit) and a fork's copy keeps it. The interpreter is denied
//! only while it loads, as on Linux since 5.15.
//!
//! Only the headers are read at exec time ([`oxv_abi::exec::plan_prefix`]); segments are
//! private file mappings, paged in on first touch, with the bss tail of the last file page
//! zeroed and the rest of the bss anonymous, as Linux does. Two segments may share a page
//! (their bytes never overlap): the page gets both segments' bytes and the union of their
//! permissions.

use crate::file_map::{FileMapSource, read_full};
use crate::random;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::exec::{ElfKind, ExecError, ExecPlan, SegmentProt};
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::mm::{MAP_FIXED, MAP_PRIVATE};
use oxv_abi::stack::{StackError, auxv::*, build_initial_stack};
use oxv_mm::{AddressSpace, MapSource, MmapArgs, PageTable, Platform, Prot, VmaKind};
use oxv_mm::{MapIdentity, SharedFile};
use oxv_vfs::write_access::DenyWrite;
use oxv_vfs::{FsContext, MountFlags, OpenFile};

/// Size of the main thread's stack mapping (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;
const PAGE: u64 = 4096;
/// Where Linux puts `ET_DYN` programs run without an interpreter-chosen address:
/// ELF_ET_DYN_BASE, two thirds of the 47-bit user space.
const ET_DYN_BASE: u64 = 0x5555_5555_4000;
const USER_STACK_TOP: u64 = 0x7fff_ffff_f000;

/// Why exec failed.
#[derive(Debug)]
pub enum ExecFailure {
    /// The file is not a loadable ELF program.
    Elf(ExecError),
    /// The arguments and environment do not fit.
    Stack(StackError),
    /// Mapping failed (out of memory).
    Map(Errno),
    /// The interpreter named by `PT_INTERP` cannot be opened.
    Interpreter(Vec<u8>, Errno),
    /// The interpreter is not a loadable ELF shared object.
    BadInterpreter(Vec<u8>, ExecError),
    /// Reading the file failed.
    Io(Errno),
}

impl core::fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExecFailure::Elf(e) => write!(f, "{e}"),
            ExecFailure::Stack(e) => write!(f, "{e}"),
            ExecFailure::Map(e) => write!(f, "cannot map the program: {e}"),
            ExecFailure::Interpreter(path, e) => write!(
                f,
                "cannot open its interpreter {}: {e}",
                alloc::string::String::from_utf8_lossy(path)
            ),
            ExecFailure::BadInterpreter(path, e) => write!(
                f,
                "its interpreter {} cannot be loaded: {e}",
                alloc::string::String::from_utf8_lossy(path)
            ),
            ExecFailure::Io(e) => write!(f, "cannot read the program: {e}"),
        }
    }
}

/// CPU facts that go into the auxiliary vector.
pub struct CpuAux {
    /// AT_HWCAP: CPUID.1:EDX.
    pub hwcap: u64,
    /// AT_HWCAP2 (bit 1: FSGSBASE usable).
    pub hwcap2: u64,
    /// AT_MINSIGSTKSZ.
    pub minsigstksz: u64,
}

static CPU_AUX: spin::Once<CpuAux> = spin::Once::new();

/// Records the CPU facts every exec puts in the auxiliary vector (once, at boot).
pub fn init_cpu_aux(aux: CpuAux) -> &'static CpuAux {
    CPU_AUX.call_once(|| aux)
}

/// The CPU facts for the auxiliary vector.
pub fn cpu_aux() -> &'static CpuAux {
    CPU_AUX
        .get()
        .expect("boot records the CPU facts before any exec")
}

/// Where the new program starts.
pub struct Entry {
    /// First instruction.
    pub rip: u64,
    /// Initial stack pointer (points at argc).
    pub rsp: u64,
}

fn prot_of(p: SegmentProt) -> Prot {
    Prot::from_bits_truncate(p.bits())
}

fn random_pages(bits: u32) -> u64 {
    (random::next_u64() & ((1u64 << bits) - 1)) * PAGE
}

/// The mmap base for a new address space: below the stack, its guard gap and a random gap
/// (Linux: 28 bits of page randomization).
pub fn mmap_base(stack_top: u64) -> u64 {
    (stack_top - STACK_SIZE - (128 << 20) - random_pages(28)) & !(PAGE - 1)
}

/// A new address space's layout for a stack at `stack_top`, with Linux's default overcommit
/// heuristic: no single request may commit more than the VM's RAM (there is no swap).
pub fn aspace_config(stack_top: u64) -> oxv_mm::AddressSpaceConfig {
    let mut config = oxv_mm::AddressSpaceConfig::new(mmap_base(stack_top));
    config.commit_limit = crate::mem::frame_stats().1 as u64 * PAGE;
    config
}

/// A randomized stack top (Linux: 22 bits of page randomization, 16-byte aligned).
pub fn stack_top() -> u64 {
    USER_STACK_TOP - random_pages(22)
}

/// The most of a file read to find its headers.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Reads the ELF headers of `file` and plans the load.
fn plan_file(file: &OpenFile, len: u64) -> Result<ExecPlan, ExecFailure> {
    let mut want = len.min(4096);
    loop {
        let mut head = vec![0u8; want as usize];
        let n = read_full(file, 0, &mut head).map_err(ExecFailure::Io)?;
        head.truncate(n);
        match oxv_abi::exec::plan_prefix(&head, len) {
            Err(ExecError::NeedMore { upto }) if upto > want && upto <= MAX_HEADER_BYTES => {
                want = upto
            }
            r => return r.map_err(ExecFailure::Elf),
        }
    }
}

/// A program's file as its segments map it, with writes to the file denied (`ETXTBSY`) for as
/// long as one of its mappings lives: until the address space (and every copy fork made of
/// it) execs again or exits. Linux keeps the same denial on `mm->exe_file`.
struct ProgramText {
    file: FileMapSource,
    _deny: DenyWrite,
}

impl MapSource for ProgramText {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.file.read_at(offset, buf)
    }

    fn shared(&self) -> Option<SharedFile> {
        self.file.shared()
    }

    fn identity(&self) -> MapIdentity {
        self.file.identity()
    }

    fn is_cached(&self, offset: u64) -> bool {
        self.file.is_cached(offset)
    }

    fn page_cache(&self) -> Option<&dyn oxv_mm::SharedMapSource> {
        self.file.page_cache()
    }
}

/// Whether `file` was opened through a `noexec` mount (Linux's `path_noexec`): exec of it is
/// `EACCES`, and mapping it with `PROT_EXEC` is `EPERM`.
pub fn on_noexec_mount(file: &OpenFile) -> bool {
    file.location()
        .is_some_and(|loc| loc.mount().flags().contains(MountFlags::NO_EXEC))
}

/// Denies writes to `file` while exec uses it (Linux's `deny_write_access` in
/// `do_open_execat`): `ETXTBSY` if it is open for writing.
pub fn deny_write(file: &OpenFile) -> Result<Option<DenyWrite>, Errno> {
    file.location()
        .map(|loc| DenyWrite::get(loc.inode()))
        .transpose()
}

/// Maps `plan`'s segments from `file` with `bias` added to their addresses; returns the
/// page-aligned end of the image. With `deny`, the mappings hold it (the program itself);
/// without, writes to the file stay allowed (its interpreter, as on Linux since 5.15).
fn map_image<P: PageTable>(
    mm: &mut AddressSpace<P>,
    plat: &mut Platform<'_>,
    file: &Arc<OpenFile>,
    deny: Option<DenyWrite>,
    plan: &ExecPlan,
    bias: u64,
) -> Result<u64, ExecFailure> {
    let mapped = FileMapSource::new(file.clone());
    let source: Arc<dyn MapSource> = match deny {
        Some(deny) => Arc::new(ProgramText {
            file: mapped,
            _deny: deny,
        }),
        None => Arc::new(mapped),
    };
    let map_err = |e: Errno| ExecFailure::Map(e);

    let mut prev_end = 0u64;
    let mut prev_prot = Prot::empty();
    let mut image_end = 0u64;
    for seg in &plan.segments {
        let vstart = seg.vaddr + bias;
        let fend = vstart + seg.file_size;
        let mend = vstart + seg.mem_size;
        let page0 = vstart & !(PAGE - 1);
        let file_page_end = fend.next_multiple_of(PAGE);
        let mem_page_end = mend.next_multiple_of(PAGE);
        let prot = prot_of(seg.prot);
        let mut first = page0;
        if page0 < prev_end {
            // The first page is the previous segment's last: both rights, both contents.
            mm.mprotect(page0, PAGE, (prot | prev_prot).bits(), plat)
                .map_err(map_err)?;
            let page_end = page0 + PAGE;
            let mut bytes = vec![0u8; (page_end.min(mend) - vstart) as usize];
            let from_file = (fend.min(page_end) - vstart) as usize;
            read_full(file, seg.file_offset, &mut bytes[..from_file]).map_err(ExecFailure::Io)?;
            mm.write_bytes(vstart, &bytes, plat)
                .map_err(|e| map_err(e.into()))?;
            first = page_end;
        }
        if seg.file_size > 0 && first < file_page_end {
            // `first` and the segment's address are congruent to its file offset mod 4096.
            let offset = if first <= vstart {
                seg.file_offset - (vstart - first)
            } else {
                seg.file_offset + (first - vstart)
            };
            let args = MmapArgs {
                addr: first,
                len: file_page_end - first,
                prot: prot.bits(),
                flags: MAP_PRIVATE | MAP_FIXED,
                offset,
                file: Some(source.clone()),
            };
            mm.mmap(args, plat).map_err(map_err)?;
            // The bss starts inside the last file page: the whole rest of that page is zeros,
            // not whatever follows in the file (Linux's padzero; ld.so's early allocator
            // hands out the tail of that page and relies on it).
            if seg.mem_size > seg.file_size && fend % PAGE != 0 {
                let zeros = vec![0u8; (file_page_end - fend) as usize];
                mm.write_bytes(fend, &zeros, plat)
                    .map_err(|e| map_err(e.into()))?;
            }
        }
        let anon_start = if seg.file_size > 0 {
            first.max(file_page_end)
        } else {
            first
        };
        if anon_start < mem_page_end {
            mm.map_fixed(
                anon_start,
                mem_page_end - anon_start,
                prot,
                VmaKind::ElfSegment,
                plat,
            )
            .map_err(map_err)?;
        }
        prev_end = mem_page_end;
        prev_prot = prot;
        image_end = image_end.max(mem_page_end);
    }
    Ok(image_end)
}

/// Loads the interpreter at `path` wherever the address space has room; returns its bias
/// (`AT_BASE`, as its first segment starts at 0) and its entry point.
fn load_interpreter<P: PageTable>(
    mm: &mut AddressSpace<P>,
    plat: &mut Platform<'_>,
    cx: &FsContext,
    path: &[u8],
) -> Result<(u64, u64), ExecFailure> {
    let file = cx
        .open(path, OpenFlags::empty(), 0)
        .map_err(|e| ExecFailure::Interpreter(path.to_vec(), e))?;
    if on_noexec_mount(&file) {
        return Err(ExecFailure::Interpreter(path.to_vec(), Errno::EACCES));
    }
    // Denied only while it loads (Linux's open_exec and allow_write_access in load_elf_binary).
    let _loading = deny_write(&file).map_err(|e| ExecFailure::Interpreter(path.to_vec(), e))?;
    let len = file.stat().map_err(ExecFailure::Io)?.size;
    let plan = plan_file(&file, len).map_err(|e| match e {
        ExecFailure::Elf(e) => ExecFailure::BadInterpreter(path.to_vec(), e),
        e => e,
    })?;
    let bias = match plan.kind {
        // Linux accepts a fixed-address interpreter too.
        ElfKind::Exec => 0,
        ElfKind::Dyn => {
            // Reserve the whole span (inaccessible) so the segments and the holes between
            // them land in one free range, then map the segments over it.
            let span = plan.span.end - plan.span.start;
            let reserve = MmapArgs::anonymous(0, span, 0, MAP_PRIVATE);
            let base = mm.mmap(reserve, plat).map_err(ExecFailure::Map)?;
            base - plan.span.start
        }
    };
    map_image(mm, plat, &file, None, &plan, bias)?;
    kdebug!(
        "oxv: interpreter {} at {:#x}",
        alloc::string::String::from_utf8_lossy(path),
        bias
    );
    Ok((bias, plan.entry + bias))
}

/// Loads the program open as `file` (whose guest path is `path`) into `mm`, with its
/// interpreter from `cx` if it names one, and builds its initial stack. Writes to `file` are
/// denied (`ETXTBSY`) while `mm` maps it; `ETXTBSY` if it is open for writing.
#[allow(clippy::too_many_arguments)]
pub fn load<P: PageTable>(
    mm: &mut AddressSpace<P>,
    plat: &mut Platform<'_>,
    cx: &FsContext,
    file: Arc<OpenFile>,
    path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    stack_top: u64,
    cpu: &CpuAux,
) -> Result<Entry, ExecFailure> {
    let deny = deny_write(&file).map_err(ExecFailure::Io)?;
    let len = file.stat().map_err(ExecFailure::Io)?.size;
    let plan = plan_file(&file, len)?;
    let bias = match plan.kind {
        ElfKind::Exec => 0,
        ElfKind::Dyn => ET_DYN_BASE + random_pages(28) - plan.span.start,
    };
    let image_end = map_image(mm, plat, &file, deny, &plan, bias)?;
    let (interp_base, entry) = match &plan.interp {
        Some(interp) => load_interpreter(mm, plat, cx, interp)?,
        None => (0, plan.entry + bias),
    };

    // The program break starts just above the image, at a random offset (Linux: up to 32 MiB).
    mm.init_brk(image_end + random_pages(13));

    mm.map_stack(stack_top, STACK_SIZE, plat)
        .map_err(ExecFailure::Map)?;
    let vdso = crate::vdso_mapping::map(mm, plat).map_err(ExecFailure::Map)?;

    let mut aux: Vec<(u64, u64)> = Vec::with_capacity(20);
    if let Some(ehdr) = vdso {
        aux.push((AT_SYSINFO_EHDR, ehdr));
    }
    if let Some(phdr) = plan.phdr_vaddr {
        aux.push((AT_PHDR, phdr + bias));
    }
    aux.extend_from_slice(&[
        (AT_PHENT, plan.phent as u64),
        (AT_PHNUM, plan.phnum as u64),
        (AT_PAGESZ, PAGE),
        (AT_BASE, interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, plan.entry + bias),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_HWCAP, cpu.hwcap),
        (AT_HWCAP2, cpu.hwcap2),
        (AT_CLKTCK, 100),
        (AT_MINSIGSTKSZ, cpu.minsigstksz),
    ]);
    let mut rnd = [0u8; 16];
    random::fill(&mut rnd);
    let image = build_initial_stack(stack_top, argv, envp, &aux, path, b"x86_64", &rnd)
        .map_err(ExecFailure::Stack)?;
    mm.write_bytes(image.sp, &image.bytes, plat)
        .map_err(|e| ExecFailure::Map(e.into()))?;
    Ok(Entry {
        rip: entry,
        rsp: image.sp,
    })
}
