//! execve(2) and execveat(2): replacing a process's program.
//!
//! In Linux's order: the path and the argument and environment strings are copied in (each
//! string at most `MAX_ARG_STRLEN`, all of them at most a quarter of the stack limit:
//! `E2BIG`); the file is opened for execution (`EACCES` unless it is a regular file with an
//! execute bit on a mount without `noexec`; `ENOENT`, `ENOTDIR`, `ELOOP` from the walk; `ETXTBSY` if it is open for
//! writing, and from then on until the exec ends, writing it is `ETXTBSY`); a `#!` script runs its
//! interpreter (at most four levels of interpreters, then `ELOOP`); an ELF file (and its
//! dynamic linker) is loaded into a new address space (`ENOEXEC` for a file that is neither).
//! Until then nothing has changed and an error returns to the caller.
//!
//! Then, past the point of no return: the caller's other threads end, the new address space
//! replaces the old one (which a vfork parent may still use), caught signals go back to
//! `SIG_DFL`, `O_CLOEXEC` files close, POSIX timers are deleted, the alternate signal stack
//! is forgotten, a vfork parent is released, and the thread starts at the new entry point
//! with cleared registers and the initial FPU state. The pid, the mask, pending signals,
//! interval timers, the cwd and the other files stay.

use crate::arch::context;
use crate::arch::gdt::{USER_CS, USER_DS};
use crate::arch::trap::TrapFrame;
use crate::arch::user_pt::UserPageTable;
use crate::arch::{cpu, usercopy::CurrentUserMemory};
use crate::exec::{self, ExecFailure};
use crate::mem::KernelFrames;
use crate::process::{self, Process, UserSpace};
use crate::sched;
use crate::sync::SleepMutex;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::user::{PATH_MAX, read_path};
use oxv_abi::{Errno, SysResult, UserAddr, UserCStr, UserMemory, UserPtr};
use oxv_mm::AddressSpace;
use oxv_vfs::write_access::DenyWrite;
use oxv_vfs::{FileKind, OpenFile};

/// `AT_FDCWD`.
const AT_FDCWD: i32 = linux_raw_sys::general::AT_FDCWD;
/// execveat(2) flags.
const AT_EMPTY_PATH: i32 = linux_raw_sys::general::AT_EMPTY_PATH as i32;
const AT_SYMLINK_NOFOLLOW: i32 = linux_raw_sys::general::AT_SYMLINK_NOFOLLOW as i32;

/// Linux's `MAX_ARG_STRLEN`: the longest single argument or environment string, NUL
/// included.
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// How much of a file is read to tell a script from an ELF file.
const BINPRM_BUF_SIZE: usize = oxv_abi::script::BINPRM_BUF_SIZE;
/// How many interpreters may be chained (`#!` to `#!`) before `ELOOP`.
const MAX_INTERPRETER_DEPTH: usize = 4;

/// execve(2).
pub fn execve(
    frame: &mut TrapFrame,
    pathname: UserCStr,
    argv: UserAddr,
    envp: UserAddr,
) -> SysResult {
    execveat(frame, AT_FDCWD, pathname, argv, envp, 0)
}

/// execveat(2).
pub fn execveat(
    frame: &mut TrapFrame,
    dirfd: i32,
    pathname: UserCStr,
    argv: UserAddr,
    envp: UserAddr,
    flags: i32,
) -> SysResult {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let mem = &CurrentUserMemory;
    let p = process::current();
    let mut buf = [0u8; PATH_MAX];
    let path = read_path(mem, pathname, &mut buf)?.to_vec();
    let stack_limit = p
        .limits
        .lock()
        .soft(oxv_abi::linux::system::RlimitResource::Stack);
    let budget = usize::try_from(stack_limit / 4)
        .unwrap_or(usize::MAX)
        .max(32 * 4096);
    let mut used = 0usize;
    let args = read_strings(mem, argv, &mut used, budget)?;
    let env = read_strings(mem, envp, &mut used, budget)?;
    let file = open_for_exec(&p, dirfd, &path, flags)?;
    let deny = exec::deny_write(&file)?;
    let exe = if path.is_empty() {
        Vec::new()
    } else {
        path.clone()
    };
    exec_image(frame, &p, (file, deny), exe, args, env, 0)
}

/// Copies a NULL-terminated array of string pointers in (a null array is empty, as Linux
/// allows), counting the bytes against `budget`.
fn read_strings(
    mem: &dyn UserMemory,
    array: UserAddr,
    used: &mut usize,
    budget: usize,
) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if array.get() == 0 {
        return Ok(out);
    }
    let mut buf = vec![0u8; MAX_ARG_STRLEN];
    for i in 0u64.. {
        let at = array.get().checked_add(i * 8).ok_or(Errno::EFAULT)?;
        let ptr = UserPtr::<u64>::new(at).read(mem)?;
        if ptr == 0 {
            break;
        }
        let n = match mem.read_cstr(UserAddr::new(ptr), &mut buf) {
            Ok(n) => n,
            Err(oxv_abi::user::CStrError::TooLong) => return Err(Errno::E2BIG),
            Err(oxv_abi::user::CStrError::Fault(_)) => return Err(Errno::EFAULT),
        };
        // Each string also costs its pointer on the new stack.
        *used += n + 1 + 8;
        if *used > budget {
            return Err(Errno::E2BIG);
        }
        out.push(buf[..n].to_vec());
    }
    Ok(out)
}

/// Opens what execveat(2) names: `path` from `dirfd` (or the fd itself with `AT_EMPTY_PATH`
/// and an empty path), which must be a regular file with an execute bit.
fn open_for_exec(p: &Process, dirfd: i32, path: &[u8], flags: i32) -> Result<Arc<OpenFile>, Errno> {
    let file = if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        p.files.get(dirfd)?
    } else {
        let start = if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
            p.fs.cwd()
        } else {
            let dir = p.files.get(dirfd)?;
            let loc = dir.location().ok_or(Errno::ENOTDIR)?.clone();
            if !loc.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            loc
        };
        let mut open_flags = OpenFlags::empty();
        if flags & AT_SYMLINK_NOFOLLOW != 0 {
            open_flags |= OpenFlags::NOFOLLOW;
        }
        oxv_vfs::syscalls::open::open_at(&p.fs, &start, path, open_flags, 0)?
    };
    check_executable(&file)?;
    Ok(file)
}

/// Opens a script's interpreter for exec: executable, and (`ETXTBSY`) not open for writing;
/// writes to it are denied for the rest of the exec.
fn open_interpreter(p: &Process, path: &[u8]) -> Result<ExecFile, Errno> {
    let file = p.fs.open(path, OpenFlags::empty(), 0)?;
    check_executable(&file)?;
    let deny = exec::deny_write(&file)?;
    Ok((file, deny))
}

/// A file being exec'd, with the denial of writes to it (Linux's `deny_write_access` in
/// `do_open_execat`) that lasts for the exec; the loaded image takes its own.
type ExecFile = (Arc<OpenFile>, Option<DenyWrite>);

/// Linux's `may_open(MAY_EXEC)` for root: a regular file with at least one execute bit, not
/// on a `noexec` mount.
///
/// `nosuid` needs nothing here: oxv runs everything as root and never changes credentials
/// at exec, so there are no set-id bits to ignore.
fn check_executable(file: &OpenFile) -> Result<(), Errno> {
    let meta = file.stat()?;
    if meta.kind != FileKind::Regular || meta.perm & 0o111 == 0 || exec::on_noexec_mount(file) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Loads `file` (a script's interpreter in its place) and, if that works, replaces the
/// calling process's program with it. `exe` is the path as given (a script's name goes in
/// the interpreter's arguments). `file` comes with the denial of writes that lasts for the
/// exec.
fn exec_image(
    frame: &mut TrapFrame,
    p: &Arc<Process>,
    (file, _exec_deny): ExecFile,
    exe: Vec<u8>,
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    depth: usize,
) -> SysResult {
    let mut head = [0u8; BINPRM_BUF_SIZE];
    let n = crate::file_map::read_full(&file, 0, &mut head)?;
    if let Some(shebang) = oxv_abi::script::parse_shebang(&head[..n]) {
        let shebang = shebang.map_err(|_| Errno::ENOEXEC)?;
        let (interp, arg) = (shebang.interpreter, shebang.argument);
        if depth >= MAX_INTERPRETER_DEPTH {
            return Err(Errno::ELOOP);
        }
        let interp_file = open_interpreter(p, &interp)?;
        let mut new_args = vec![interp.clone()];
        new_args.extend(arg);
        new_args.push(exe);
        new_args.extend(args.into_iter().skip(1));
        return exec_image(frame, p, interp_file, interp, new_args, env, depth + 1);
    }

    // Build the new image off to the side; the old one is untouched if this fails.
    let pt = UserPageTable::new(crate::mem::kernel_page_table(), &mut KernelFrames)
        .ok_or(Errno::ENOMEM)?;
    let stack_top = exec::stack_top();
    let aspace = AddressSpace::new(pt, exec::aspace_config(stack_top));
    let mut space = UserSpace::new(aspace);
    let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let envp: Vec<&[u8]> = env.iter().map(Vec::as_slice).collect();
    let entry = process::with_platform(|plat| {
        exec::load(
            &mut *space,
            plat,
            &p.fs,
            file,
            &exe,
            &argv,
            &envp,
            stack_top,
            exec::cpu_aux(),
        )
    })
    .map_err(failure_errno)?;

    // The point of no return.
    end_other_threads(p);
    let me = sched::current();
    // The futexes the thread holds in the old memory are released as at its exit (Linux's
    // futex_exec_release), while that memory is still the one mapped.
    let robust = me.robust_list.swap(0, Ordering::Relaxed);
    super::futex::robust::thread_exit(&me, robust);
    crate::rseq::set(&me, None);
    let ctid = me.clear_child_tid.swap(0, Ordering::Relaxed);
    if ctid != 0 && Arc::strong_count(&p.mm.get()) > 2 {
        // A vfork parent shares the old memory: it sees the child's tid cleared, as on Linux.
        let _ = UserPtr::<u32>::new(ctid).write(&mut CurrentUserMemory, &0);
        super::thread::futex_wake_one(ctid);
    }
    let root = space.root();
    let old = p.mm.replace(Arc::new(SleepMutex::new(space)));
    me.cr3.store(root, Ordering::Relaxed);
    // `root` is the new address space's page-table root, which maps the kernel half and
    // lives in the process's mm slot.
    crate::smp::load_root(root);
    drop(old);

    p.family.lock().did_exec = true;
    process::release_vfork_parent(p);
    p.actions.lock().reset_for_exec();
    {
        let mut st = me.signals.lock();
        st.reset_for_exec();
    }
    *me.saved_mask.lock() = None;
    drop(p.files.close_on_exec());
    p.timers.lock().delete_posix();
    *p.comm.lock() = comm_of(&exe);
    {
        let mut cmdline = Vec::new();
        for a in &args {
            cmdline.extend_from_slice(a);
            cmdline.push(0);
        }
        let mut environ = Vec::new();
        for e in &env {
            environ.extend_from_slice(e);
            environ.push(0);
        }
        *p.image.lock() = process::ImageInfo {
            exe,
            cmdline,
            environ,
        };
    }

    // A fresh thread state: no TLS, cleared registers, the initial FPU state.
    cpu::set_fs_base(0);
    me.fs_base.store(0, Ordering::Relaxed);
    // SAFETY: while the kernel runs, KERNEL_GS_BASE holds the app's GS base; 0 is valid.
    unsafe { cpu::wrmsr(cpu::msr::KERNEL_GS_BASE, 0) };
    me.gs_base.store(0, Ordering::Relaxed);
    context::reset_fpu();
    *frame = TrapFrame {
        rip: entry.rip,
        rsp: entry.rsp,
        rflags: 0x202,
        cs: USER_CS as u64,
        ss: USER_DS as u64,
        vector: frame.vector,
        ..TrapFrame::default()
    };
    Ok(0)
}

/// Ends every other thread of `p` and waits until they are gone (Linux's `de_thread`), so
/// that none runs on the old address space once it is replaced.
fn end_other_threads(p: &Arc<Process>) {
    let me = sched::current();
    loop {
        if me.killed.load(Ordering::Acquire) {
            // Another thread's exit_group or a fatal signal won the race.
            super::thread::exit_thread();
        }
        let others: Vec<_> = p.thread_list().into_iter().filter(|t| *t != me).collect();
        if others.is_empty() {
            return;
        }
        for t in &others {
            process::kill_thread(t);
        }
        sched::yield_now();
    }
}

/// The thread name exec gives: the file name's last component, truncated to 15 bytes.
fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut comm = [0u8; 16];
    let n = base.len().min(15);
    comm[..n].copy_from_slice(&base[..n]);
    comm
}

fn failure_errno(e: ExecFailure) -> Errno {
    match e {
        ExecFailure::Elf(e) => e.to_errno(),
        ExecFailure::Stack(_) => Errno::E2BIG,
        ExecFailure::Map(e) | ExecFailure::Io(e) | ExecFailure::Interpreter(_, e) => e,
        ExecFailure::BadInterpreter(..) => Errno::ELIBBAD,
    }
}
