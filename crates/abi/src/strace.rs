//! strace-style lines for the kernel's `strace` option.
//!
//! [`format_call`] prints a decoded call the way strace(1) does with its default options:
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`, `write(1, "hi\n", 3)`,
//! `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`.
//! [`format_result`] prints what follows: `= 3`, `= 0x7f0000001000` for calls that return an
//! address, `= -1 ENOENT (No such file or directory)`. [`format_line`] prints both, and
//! also shows what an output buffer received (`read(3, "abc", 64) = 3`), as strace does when
//! a call returns.
//!
//! Conventions, as in strace: strings are quoted and escaped (`\n`, `\t`, `\"`, octal for
//! other non-printable bytes) and cut to [`MAX_STRING`] bytes with `...` after the closing
//! quote; paths are shown up to `PATH_MAX` bytes; a string or struct the kernel cannot read
//! is shown as its address; null pointers are `NULL`; flags are `NAME|NAME|0x...`. Numbers
//! without a name are decimal, addresses hexadecimal. Unlike strace, output structs that the
//! call fills in (`stat`, `uname`, `timespec` results) are shown as addresses.
//!
//! Nothing here allocates: it reads user memory into small stack buffers and writes to the
//! given [`fmt::Write`]. It does read user memory, so it is for the tracing path only.

mod calls;
mod files;
mod names;
mod socket;

pub use names::errno_message;

use crate::errno::SysResult;
use crate::linux::fs::Iovec;
use crate::linux::signal::{KernelSigaction, NSIG, SIG_DFL, SIG_IGN, SigSet, Signal, StackT};
use crate::linux::system::{RLIM_INFINITY, Rlimit64};
use crate::linux::time::Timespec;
use crate::syscall::Syscall;
use crate::user::{CStrError, PATH_MAX, UserAddr, UserBuf, UserCStr, UserMemory, UserPtr};
use core::fmt::{self, Write};
use linux_raw_sys::general as g;
use names::*;

/// The longest string shown before `...` (strace's default `-s 32`).
pub const MAX_STRING: usize = 32;

/// The most `iovec` entries shown for readv(2)/writev(2).
const MAX_IOVECS: u64 = 8;

/// Writes the call, from the syscall name to the closing parenthesis, as strace would on
/// entry. Output buffers are shown as addresses.
pub fn format_call(call: &Syscall, mem: &dyn UserMemory, out: &mut dyn Write) -> fmt::Result {
    Printer {
        mem,
        out,
        result: None,
    }
    .call(call)
}

/// Writes ` = result` for `call`'s result `r` (with the leading `= `, no leading space).
pub fn format_result(call: &Syscall, r: SysResult, out: &mut dyn Write) -> fmt::Result {
    match r {
        Err(e) => write!(out, "= -1 {} ({})", e.name(), errno_message(e)),
        Ok(_) if matches!(call, Syscall::Exit { .. } | Syscall::ExitGroup { .. }) => {
            out.write_str("= ?")
        }
        Ok(v) => match call {
            Syscall::Mmap { .. } | Syscall::Mremap { .. } | Syscall::Brk { .. } => {
                write!(out, "= {v:#x}")
            }
            Syscall::Umask { .. } => write!(out, "= 0{v:02o}"),
            _ => write!(out, "= {v}"),
        },
    }
}

/// Writes the whole line strace prints when `call` returns `r`: the call, with output
/// buffers shown as filled in (`read(3, "abc", 64) = 3`), then the result.
pub fn format_line(
    call: &Syscall,
    r: SysResult,
    mem: &dyn UserMemory,
    out: &mut dyn Write,
) -> fmt::Result {
    Printer {
        mem,
        out: &mut *out,
        result: r.ok(),
    }
    .call(call)?;
    out.write_char(' ')?;
    format_result(call, r, out)
}

struct Printer<'a> {
    mem: &'a dyn UserMemory,
    out: &'a mut dyn Write,
    /// The call's successful result, when printing a call that has returned.
    result: Option<usize>,
}

impl Printer<'_> {
    fn s(&mut self, s: &str) -> fmt::Result {
        self.out.write_str(s)
    }

    fn sep(&mut self) -> fmt::Result {
        self.out.write_str(", ")
    }

    fn dec(&mut self, v: impl fmt::Display) -> fmt::Result {
        write!(self.out, "{v}")
    }

    fn hex(&mut self, v: u64) -> fmt::Result {
        if v == 0 {
            self.s("0")
        } else {
            write!(self.out, "{v:#x}")
        }
    }

    fn addr(&mut self, a: UserAddr) -> fmt::Result {
        if a.is_null() {
            self.s("NULL")
        } else {
            write!(self.out, "{:#x}", a.get())
        }
    }

    fn ptr<T>(&mut self, p: UserPtr<T>) -> fmt::Result {
        self.addr(p.addr())
    }

    fn mode(&mut self, mode: u32) -> fmt::Result {
        write!(self.out, "0{mode:02o}")
    }

    fn dirfd(&mut self, fd: i32) -> fmt::Result {
        if fd == g::AT_FDCWD {
            self.s("AT_FDCWD")
        } else {
            self.dec(fd)
        }
    }

    /// `NAME|NAME|0xrest`, or `zero` when `v` is 0.
    fn flags(&mut self, v: u64, table: Names, zero: &str) -> fmt::Result {
        if v == 0 {
            return self.s(zero);
        }
        let mut rest = v;
        let mut first = true;
        for &(name, bits) in table {
            if bits != 0 && rest & bits == bits {
                if !first {
                    self.s("|")?;
                }
                self.s(name)?;
                rest &= !bits;
                first = false;
            }
        }
        if rest != 0 {
            if !first {
                self.s("|")?;
            }
            write!(self.out, "{rest:#x}")?;
        }
        Ok(())
    }

    /// The name of a value, or the value in decimal.
    fn named(&mut self, v: i64, table: Names) -> fmt::Result {
        match u64::try_from(v).ok().and_then(|u| lookup(table, u)) {
            Some(n) => self.s(n),
            None => self.dec(v),
        }
    }

    fn open_flags(&mut self, flags: u32) -> fmt::Result {
        let flags = flags as u64;
        let acc = flags & g::O_ACCMODE as u64;
        match lookup(OPEN_ACCMODE, acc) {
            Some(n) => self.s(n)?,
            None => write!(self.out, "{acc:#x}")?,
        }
        let rest = flags & !(g::O_ACCMODE as u64);
        if rest != 0 {
            self.s("|")?;
            self.flags(rest, OPEN_FLAGS, "0")?;
        }
        Ok(())
    }

    fn signal(&mut self, sig: i32) -> fmt::Result {
        match Signal::try_from(sig) {
            Ok(s) => write!(self.out, "{s}"),
            Err(_) => self.dec(sig),
        }
    }

    /// A NUL-terminated string, at most `limit` bytes shown; the address if unreadable.
    fn cstr(&mut self, p: UserCStr, limit: usize) -> fmt::Result {
        let start = p.0;
        if start.is_null() {
            return self.s("NULL");
        }
        let mut chunk = [0u8; 64];
        // First pass: check the whole string is readable, so a fault prints only the address.
        let mut len = 0usize;
        let mut complete = false;
        while len < limit {
            let Some(a) = start.checked_add(len as u64) else {
                return self.addr(start);
            };
            let want = chunk.len().min(limit - len);
            match self.mem.read_cstr(a, &mut chunk[..want]) {
                Ok(n) => {
                    len += n;
                    complete = true;
                    break;
                }
                Err(CStrError::TooLong) => len += want,
                Err(CStrError::Fault(_)) => return self.addr(start),
            }
        }
        self.s("\"")?;
        let mut esc = Escaper::default();
        let mut done = 0usize;
        while done < len {
            let n = chunk.len().min(len - done);
            let a = UserAddr::new(start.get() + done as u64);
            if self.mem.copy_in(a, &mut chunk[..n]).is_err() {
                break; // Unmapped since the first pass; show what was read.
            }
            for &b in &chunk[..n] {
                esc.push(b, self.out)?;
            }
            done += n;
        }
        esc.finish(self.out)?;
        self.s("\"")?;
        if !complete { self.s("...") } else { Ok(()) }
    }

    fn path(&mut self, p: UserCStr) -> fmt::Result {
        self.cstr(p, PATH_MAX)
    }

    /// `len` bytes of data at `a`, at most [`MAX_STRING`] shown; the address if unreadable.
    fn bytes(&mut self, a: UserAddr, len: usize) -> fmt::Result {
        let mut data = [0u8; MAX_STRING];
        let n = len.min(MAX_STRING);
        if self.mem.copy_in(a, &mut data[..n]).is_err() {
            return self.addr(a);
        }
        self.s("\"")?;
        let mut esc = Escaper::default();
        for &b in &data[..n] {
            esc.push(b, self.out)?;
        }
        esc.finish(self.out)?;
        self.s("\"")?;
        if len > MAX_STRING {
            self.s("...")
        } else {
            Ok(())
        }
    }

    /// An output buffer: its contents once the call returned `n` bytes, else its address.
    fn out_buf(&mut self, buf: UserBuf) -> fmt::Result {
        match self.result {
            Some(n) => self.bytes(buf.addr, n.min(buf.len)),
            None => self.addr(buf.addr),
        }
    }

    fn timespec(&mut self, p: UserPtr<Timespec>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        match p.read(self.mem) {
            Ok(t) => write!(self.out, "{{tv_sec={}, tv_nsec={}}}", t.tv_sec, t.tv_nsec),
            Err(_) => self.ptr(p),
        }
    }

    /// strace's signal-set notation: `[INT TERM]`, or `~[...]` listing the missing signals
    /// when more than half are present.
    fn sigset(&mut self, set: SigSet) -> fmt::Result {
        let (set, prefix) = if set.0.count_ones() > NSIG / 2 {
            (SigSet(!set.0), "~[")
        } else {
            (set, "[")
        };
        self.s(prefix)?;
        for (i, sig) in set.iter().enumerate() {
            if i > 0 {
                self.s(" ")?;
            }
            write!(
                SkipPrefix {
                    out: self.out,
                    skip: 3
                },
                "{sig}"
            )?;
        }
        self.s("]")
    }

    fn sigset_ptr(&mut self, p: UserPtr<SigSet>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        match p.read(self.mem) {
            Ok(set) => self.sigset(set),
            Err(_) => self.ptr(p),
        }
    }

    fn sigaction(&mut self, p: UserPtr<KernelSigaction>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        let Ok(act) = p.read(self.mem) else {
            return self.ptr(p);
        };
        self.s("{sa_handler=")?;
        match act.handler {
            SIG_DFL => self.s("SIG_DFL")?,
            SIG_IGN => self.s("SIG_IGN")?,
            h => write!(self.out, "{h:#x}")?,
        }
        self.s(", sa_mask=")?;
        self.sigset(act.mask)?;
        self.s(", sa_flags=")?;
        self.flags(act.flags, SA_FLAGS, "0")?;
        if act.flags & g::SA_RESTORER as u64 != 0 {
            self.s(", sa_restorer=")?;
            self.addr(UserAddr::new(act.restorer))?;
        }
        self.s("}")
    }

    fn stack_t(&mut self, p: UserPtr<StackT>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        let Ok(ss) = p.read(self.mem) else {
            return self.ptr(p);
        };
        self.s("{ss_sp=")?;
        self.addr(UserAddr::new(ss.ss_sp))?;
        self.s(", ss_flags=")?;
        self.flags(ss.ss_flags as u32 as u64, SS_FLAGS, "0")?;
        write!(self.out, ", ss_size={}}}", ss.ss_size)
    }

    fn rlimit(&mut self, p: UserPtr<Rlimit64>) -> fmt::Result {
        if p.is_null() {
            return self.s("NULL");
        }
        let Ok(r) = p.read(self.mem) else {
            return self.ptr(p);
        };
        self.s("{rlim_cur=")?;
        self.rlim_value(r.rlim_cur)?;
        self.s(", rlim_max=")?;
        self.rlim_value(r.rlim_max)?;
        self.s("}")
    }

    fn rlim_value(&mut self, v: u64) -> fmt::Result {
        if v == RLIM_INFINITY {
            self.s("RLIM64_INFINITY")
        } else {
            self.dec(v)
        }
    }

    /// An `iovec` array. `data` is how many bytes to show the contents of (all of each
    /// buffer for writev, the returned count for a finished readv), or `None` for addresses.
    fn iovecs(&mut self, first: UserPtr<Iovec>, count: u64, data: Option<usize>) -> fmt::Result {
        if first.read(self.mem).is_err() {
            return self.ptr(first);
        }
        let mut left = data;
        self.s("[")?;
        for i in 0..count.min(MAX_IOVECS) {
            let Ok(Iovec {
                iov_base: base,
                iov_len: len,
            }) = first.add(i).read(self.mem)
            else {
                break;
            };
            if i > 0 {
                self.sep()?;
            }
            self.s("{iov_base=")?;
            match left {
                Some(n) => {
                    let shown = n.min(len as usize);
                    self.bytes(UserAddr::new(base), shown)?;
                    left = Some(n - shown);
                }
                None => self.addr(UserAddr::new(base))?,
            }
            write!(self.out, ", iov_len={len}}}")?;
        }
        if count > MAX_IOVECS {
            self.s(", ...")?;
        }
        self.s("]")
    }
}

/// strace's string escaping. It holds one byte back, because an octal escape is written with
/// the fewest digits unless the next byte is itself an octal digit (`"\0"` vs `"\0001"`).
#[derive(Default)]
struct Escaper {
    held: Option<u8>,
}

impl Escaper {
    fn push(&mut self, b: u8, out: &mut dyn Write) -> fmt::Result {
        if let Some(prev) = self.held.replace(b) {
            escape(prev, Some(b), out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> fmt::Result {
        match self.held.take() {
            Some(prev) => escape(prev, None, out),
            None => Ok(()),
        }
    }
}

fn escape(b: u8, next: Option<u8>, out: &mut dyn Write) -> fmt::Result {
    match b {
        b'"' => out.write_str("\\\""),
        b'\\' => out.write_str("\\\\"),
        b'\n' => out.write_str("\\n"),
        b'\t' => out.write_str("\\t"),
        b'\r' => out.write_str("\\r"),
        0x0b => out.write_str("\\v"),
        0x0c => out.write_str("\\f"),
        0x20..=0x7e => out.write_char(b as char),
        _ if matches!(next, Some(b'0'..=b'7')) => write!(out, "\\{b:03o}"),
        _ => write!(out, "\\{b:o}"),
    }
}

/// A writer that drops the first `skip` bytes (to print `INT` for `SIGINT` in sets).
struct SkipPrefix<'a> {
    out: &'a mut dyn Write,
    skip: usize,
}

impl Write for SkipPrefix<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = self.skip.min(s.len());
        self.skip -= n;
        self.out.write_str(s.get(n..).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests;
